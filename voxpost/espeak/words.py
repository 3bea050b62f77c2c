"""Words of a script and where the embedded TTS speaks each of them.

:func:`script_words` splits a script into the words a subtitle or a timing file lists.
:func:`token_times` gives each of them its start and end in an espeak-ng synthesis, correcting two
things espeak reports differently from what an editor hears: function words spoken as one group
("in the") are split at their phonemes, and a word that begins with a stop consonant starts at
its silent closure, not at the burst where espeak places the phoneme event.

Used by ``voxpost speak --timings`` and by script alignment (:mod:`voxpost.speech.align`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_STOP_FIRST = set("ptkbdgc")


@dataclass(frozen=True)
class Token:
    """A word of the script: its text and character span."""

    text: str
    start: int
    end: int
    raw: str = ""            # the token as written, punctuation kept (for subtitles)


def script_words(text: str) -> list[Token]:
    """The words of a script: tokens separated by whitespace or dashes (not hyphens) that hold a
    letter or digit, punctuation around them stripped."""
    words = []
    for m in re.finditer(r"[^\s\u2013\u2014]+", text):
        tok = m.group()
        core = re.sub(r"^[^\w]+|[^\w]+$", "", tok)
        if core and any(ch.isalnum() for ch in core):
            off = tok.find(core)
            words.append(Token(core, m.start() + off, m.start() + off + len(core), tok))
    return words


def frame_db(x: np.ndarray, hop: int) -> np.ndarray:
    """Mean power per ``hop``-sample frame, dB."""
    n = x.size // hop
    if n == 0:
        return np.full(1, -120.0)
    e = (x[: n * hop].reshape(n, hop).astype(np.float64) ** 2).mean(1)
    return 10 * np.log10(e + 1e-12)


@lru_cache(maxsize=4096)
def phoneme_count(word: str, language: str) -> int:
    """Phonemes espeak-ng speaks for ``word`` alone (at least 1)."""
    from voxpost.espeak import synthesize

    syn = synthesize(word, language=language)
    return max(1, sum(1 for name, _, _ in syn.phonemes if not name.startswith("_")))


def token_times(syn, tokens: list[Token], language: str) -> np.ndarray:
    """``[len(tokens), 2]`` start and end, seconds, of each token in the synthesis ``syn``.

    ``syn`` is a :class:`voxpost.espeak.Synthesis` of the text the tokens index.
    """
    sr = syn.sample_rate
    ph_s = np.array([p[1] for p in syn.phonemes], np.int64)
    ph_pause = np.array([p[0].startswith("_") for p in syn.phonemes], bool)
    ph_name = [p[0] for p in syn.phonemes]
    times = np.full((len(tokens), 2), np.nan)
    owner: dict[int, list[int]] = {}
    groups = syn.words
    g_starts = np.array([g.char_start for g in groups]) if groups else np.zeros(0, int)
    for k, tok in enumerate(tokens):
        g = int(np.searchsorted(g_starts, tok.start, side="right")) - 1
        owner.setdefault(max(g, 0), []).append(k)
    db = frame_db(syn.samples, int(sr * 0.0025))
    for g, members in owner.items():
        if not groups:
            break
        grp = groups[g]
        inside = np.flatnonzero((ph_s >= grp.start) & (ph_s < max(grp.end, grp.start + 1)) & ~ph_pause)
        cuts = [grp.start]
        if len(members) > 1 and inside.size > 1:
            counts = np.array([phoneme_count(tokens[k].text, language) for k in members], float)
            bounds = np.cumsum(counts)[:-1] * inside.size / counts.sum()
            for b in bounds:
                idx = int(np.clip(round(b), 1, inside.size - 1))
                cuts.append(int(ph_s[inside[idx]]))
        elif len(members) > 1:
            span = grp.end - grp.start
            cuts += [grp.start + span * (i + 1) // len(members) for i in range(len(members) - 1)]
        cuts.append(max(grp.end, cuts[-1]))
        cuts = np.maximum.accumulate(np.array(cuts))
        for i, k in enumerate(members):
            s, e = int(cuts[i]), int(cuts[i + 1])
            if i == 0:
                s = _closure_start(s, ph_s, ph_pause, ph_name, db, sr)
            times[k] = (s / sr, e / sr)
    # Tokens espeak gave no group (should not happen): place them at their neighbours' edge.
    for k in range(len(tokens)):
        if np.isnan(times[k, 0]):
            prev = times[k - 1, 1] if k and not np.isnan(times[k - 1, 1]) else 0.0
            times[k] = (prev, prev)
    return times


def _closure_start(start: int, ph_s, ph_pause, ph_name, db: np.ndarray, sr: int) -> int:
    """Move a word start at a stop burst back to the start of the stop's silent closure."""
    i = int(np.searchsorted(ph_s, start))
    if i >= len(ph_s) or ph_s[i] != start or not ph_name[i] or ph_name[i][0] not in _STOP_FIRST:
        return start
    if i == 0 or ph_pause[i - 1]:
        return start                        # after a pause the closure is silence anyway
    hop = int(sr * 0.0025)
    f_end = start // hop
    f0 = max(0, f_end - int(0.1 / 0.0025), int(ph_s[i - 1]) // hop + 1)
    if f_end - f0 < 2:
        return start
    seg = db[f0:f_end]
    low = int(np.argmin(seg))
    floor = seg[low]
    k = low
    while k > 0 and seg[k - 1] < floor + 15.0:
        k -= 1
    return int((f0 + k) * hop)
