"""The words of a foley prompt: a light stemmer, number words, the model phrase lexicon, and
fuzzy lookup of misspelt sound names (:mod:`difflib`). :mod:`voxpost.foley.prompt` reads prompts
with them; the word lists themselves are data in :mod:`voxpost.foley.lexicon`.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

from voxpost.foley.lexicon import COUNT_PHRASES, NUMBERS, STOP, SYNONYMS
from voxpost.foley.model import SoundModel


def stem(word: str) -> str:
    """A light stemmer: plurals, -ing and -ed, a final e ("knocks"/"knocking" -> "knock"); the
    articles are one word ("on a door" reads as "on the door")."""
    w = word.lower()
    if w in ("a", "an", "the"):
        return "the"
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ied", "ed"):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            w = w[:-len(suffix)] + ("y" if suffix == "ied" else "")
            if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "lsz":
                w = w[:-1]
            break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return w


def tokens(text: str) -> list[str]:
    """Lower-case word tokens (letters, digits, a decimal point)."""
    return re.findall(r"[a-z0-9.]+", text.lower())


def number(text: str) -> float:
    """A number as a prompt writes it: digits, number words ("twenty five"), "a", "half", "a dozen"."""
    t = " ".join(text.split())
    if re.fullmatch(r"\d+(?:\.\d+)?", t):
        return float(t)
    if t in ("a", "an"):
        return 1.0
    if t.startswith("half"):
        return 0.5
    if t in COUNT_PHRASES:
        return float(COUNT_PHRASES[t])
    return float(sum(NUMBERS[w] for w in t.split()))


class Lexicon:
    """Phrase tables over stemmed tokens; a phrase at a position is found longest first."""

    def __init__(self, models: dict[str, SoundModel]) -> None:
        self.models = models
        self.names: dict[tuple[str, ...], list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
        for m in models.values():
            for phrase in (m.name, m.name.replace("_", " "), *m.keywords):
                self._add(phrase, (m.name,))
        for phrase, names in SYNONYMS.items():
            if all(n in models for n in names):
                self._add(phrase, names)

    def _add(self, phrase: str, names: tuple[str, ...]) -> None:
        words = tuple(tokens(phrase))
        if words:
            self.names.setdefault(tuple(stem(w) for w in words), []).append((words, names))

    def find(self, words: list[str], used: list[bool]) -> list[tuple[int, int, tuple[str, ...]]]:
        """Model phrases in ``words`` as (start, end, model names), marking them used."""
        stems, hits, i = [stem(w) for w in words], [], 0
        while i < len(words):
            for n in range(min(5, len(words) - i), 0, -1):
                entries = self.names.get(tuple(stems[i:i + n]))
                if entries and not any(used[i:i + n]):
                    exact = [e for e in entries if e[0] == tuple(words[i:i + n])]
                    hits.append((i, i + n, (exact or entries)[0][1]))
                    used[i:i + n] = [True] * n
                    i += n - 1
                    break
            i += 1
        return hits


def match_phrases(words: list[str], used: list[bool], table: dict[str, Any], *, stemmed: bool = True) -> list[Any]:
    """Values of ``table`` phrases (longest first) found among unused ``words``, marking them used;
    ``stemmed`` False compares the words as written."""
    f = stem if stemmed else (lambda w: w)
    stems, out = [f(w) for w in words], []
    keyed = sorted(((tuple(f(w) for w in tokens(k)), v) for k, v in table.items()), key=lambda kv: -len(kv[0]))
    for key, value in keyed:
        n = len(key)
        for i in range(len(words) - n + 1):
            if tuple(stems[i:i + n]) == key and not any(used[i:i + n]):
                used[i:i + n] = [True] * n
                out.append(value)
    return out


def closest(words: list[str], lex: Lexicon, n: int = 3) -> list[str]:
    """The ``n`` model names whose phrases look most like any of ``words`` (for "did you mean")."""
    scores: dict[str, float] = {}
    for stems, entries in lex.names.items():
        key = " ".join(stems)
        for w in words or [""]:
            r = difflib.SequenceMatcher(None, stem(w), key).ratio()
            for _, names in entries:
                for name in names:
                    scores[name] = max(scores.get(name, 0.0), r)
    return sorted(scores, key=lambda k: -scores[k])[:n]


def fuzzy_model(words: list[str], lex: Lexicon) -> tuple[tuple[str, ...], str, str] | None:
    """A misspelt model phrase among ``words``: (model names, what was read, as what)."""
    keys = {" ".join(s): e[0][1] for s, e in lex.names.items()}
    singles = [w for w in words if w not in STOP and not w[0].isdigit()]
    candidates = [(a + b, f"{a} {b}") for a, b in zip(singles, singles[1:])]
    candidates += [(w, w) for w in singles if len(w) >= 4]
    for probe, shown in candidates:
        hit = difflib.get_close_matches(stem(probe), list(keys), n=1, cutoff=0.8)
        if hit:
            return keys[hit[0]], shown, hit[0]
    return None
