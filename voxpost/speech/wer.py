"""Word error rate of a transcript against a reference, after the usual normalisation.

Both texts are lower-cased, digits are written out as English words the way read-speech
references write them (``25`` -> ``twenty five``, ``15th`` -> ``fifteenth``, ``K7`` -> ``k
seven``), hyphens and slashes split words, and every other punctuation mark is removed
(``don't`` -> ``dont`` on both sides). :func:`wer` is the Levenshtein distance over the words
(substitutions + deletions + insertions) divided by the number of reference words, summed over
all pairs when several are given (the corpus WER, not a mean of per-file rates).

>>> normalize("In the 15th century, 25 to 30 years -- K7 now!")
'in the fifteenth century twenty five to thirty years k seven now'
>>> round(wer("ask not what your country can do", "ask what your country can do for"), 3)
0.286
>>> counts("a b c", "a x c d")
{'words': 3, 'substitutions': 1, 'deletions': 0, 'insertions': 1}
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10 ** 9, "billion"), (10 ** 6, "million"), (1000, "thousand"), (100, "hundred"))
_ORDINAL = {"one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
            "nine": "ninth", "twelve": "twelfth"}


def number_words(n: int) -> str:
    """A non-negative integer in English words, without "and" (``105`` -> ``one hundred five``)."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        return _TENS[n // 10] + ("" if n % 10 == 0 else " " + _ONES[n % 10])
    for value, word in _SCALES:
        if n >= value:
            head, rest = divmod(n, value)
            return f"{number_words(head)} {word}" + ("" if rest == 0 else " " + number_words(rest))
    raise AssertionError(n)


def _ordinal(words: str) -> str:
    *head, last = words.split()
    if last in _ORDINAL:
        last = _ORDINAL[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join([*head, last])


def _spell(match: re.Match[str]) -> str:
    digits, suffix = match.group(1).replace(",", ""), match.group(2)
    if len(digits) > 12:
        return " ".join(_ONES[int(d)] for d in digits)
    words = number_words(int(digits))
    return f" {_ordinal(words) if suffix else words} "


def normalize(text: str) -> str:
    """Lower case, digits as words, punctuation removed, single spaces (see the module)."""
    t = unicodedata.normalize("NFKC", text).lower()
    t = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z](?![a-z]))", " ", t)     # k7 -> k 7 (not 15th)
    t = re.sub(r"(\d)\.(\d+)", lambda m: m.group(1) + " point " + " ".join(m.group(2)), t)
    t = re.sub(r"(\d[\d,]*\d|\d)(st|nd|rd|th)?\b", _spell, t)
    t = re.sub(r"[-/\u2010-\u2015]", " ", t)
    t = re.sub(r"[^\w\s]|_", "", t)
    return " ".join(t.split())


def counts(reference: str, hypothesis: str) -> dict[str, int]:
    """Reference word count and the edit operations of a minimal alignment, after normalisation."""
    ref, hyp = normalize(reference).split(), normalize(hypothesis).split()
    # cost, substitutions, deletions, insertions of aligning ref[:i] with hyp[:j]
    prev = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i in range(1, len(ref) + 1):
        row = [(i, 0, i, 0)]
        for j in range(1, len(hyp) + 1):
            c, s, d, n = prev[j - 1]
            best = (c, s, d, n) if ref[i - 1] == hyp[j - 1] else (c + 1, s + 1, d, n)
            c, s, d, n = prev[j]
            best = min(best, (c + 1, s, d + 1, n))
            c, s, d, n = row[j - 1]
            best = min(best, (c + 1, s, d, n + 1))
            row.append(best)
        prev = row
    _, s, d, n = prev[-1]
    return {"words": len(ref), "substitutions": s, "deletions": d, "insertions": n}


def wer(references: str | Sequence[str], hypotheses: str | Sequence[str]) -> float:
    """Word error rate (errors over reference words) of one pair or of lists of pairs."""
    if isinstance(references, str) != isinstance(hypotheses, str):
        raise TypeError("give two strings or two sequences of strings")
    if isinstance(references, str):
        references, hypotheses = [references], [hypotheses]
    if len(references) != len(hypotheses):
        raise ValueError(f"{len(references)} references but {len(hypotheses)} hypotheses")
    total = errors = 0
    for r, h in zip(references, hypotheses):
        c = counts(r, h)
        total += c["words"]
        errors += c["substitutions"] + c["deletions"] + c["insertions"]
    return errors / total if total else float(errors > 0)


def match_words(reference: Sequence[str], hypothesis: Sequence[str]) -> list[tuple[int, int]]:
    """Index pairs ``(i, j)`` of reference and hypothesis words that are the same word once
    normalised, along a longest matching alignment (to compare word times).

    >>> match_words(["And", "so,", "my", "fellow"], ["and", "so", "fellow"])
    [(0, 0), (1, 1), (3, 2)]
    """
    import difflib

    a, b = [normalize(w) for w in reference], [normalize(w) for w in hypothesis]
    blocks = difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_matching_blocks()
    return [(m.a + k, m.b + k) for m in blocks for k in range(m.size) if a[m.a + k]]


__all__ = ["counts", "match_words", "normalize", "number_words", "wer"]
