"""Where the original actually speaks each script line: its speech window and inner pauses.

An adaptor's timecodes are rough (a few hundred milliseconds off, cut to subtitle frames). For
each line, :func:`find_windows` looks for the original's real speech near them:

1. Speech regions of the whole original from the embedded VAD (:mod:`voxpost.speech.vad`), split
   at pauses of ``min_pause_s`` or more.
2. Every region edge is refined on a 5 ms energy envelope (VAD frames are 32 ms; its onsets lag
   quiet first syllables and its offsets hang over): speech starts at the first 30 ms run above
   the background + :data:`ONSET_DB` and the region's peak - :data:`BELOW_PEAK_DB` (see
   :func:`_refine`).
3. A line starts at the speech onset nearest its rough start (within ``search_s``, after the
   previous line) and ends at the offset nearest its rough end (before the next line). Where two
   lines run together with no pause, the split is the quietest 20 ms near the rough boundary.
4. With the original text of the line (``--original-script``), the window is aligned word by word
   (:func:`voxpost.speech.align.align`): it starts at the first word and ends at the last, pauses
   come from the gaps between words, and the original's bilabials (p, b, m) are placed by the
   original's own phonemes, giving lip-closure anchors.
5. With a mouth track from the picture (:mod:`voxpost.dub.video`), the closures seen on screen are
   the anchors of lines without aligned text (:func:`voxpost.dub.engine.dub`).

A line with nothing near its timecode keeps the script's own times and says so (``found`` False).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

#: Analysis rate and hop of the energy envelope used to refine VAD edges.
ENV_RATE = 16000
ENV_HOP_S = 0.005
#: How far a VAD edge may move, seconds: into the sound (VAD offsets hang over ~250 ms; a click can
#: trigger an onset early), and back along a sound the VAD joined late (far for onsets: Silero
#: misses quiet first syllables; little for offsets).
AHEAD_S = 0.29
REACH_BACK_S = 0.8
REACH_BACK_OFFSET_S = 0.12
#: An onset (offset) is where the envelope rises above (falls below) both the background plus
#: ``ONSET_DB`` and the region's loudest 5 ms minus ``BELOW_PEAK_DB``, and stays for ``RUN_S``.
ONSET_DB = 15.0
BELOW_PEAK_DB = 30.0
RUN_S = 0.03
#: The peak is taken over at least this much from a region's start, seconds.
PEAK_SPAN_S = 3.0
#: An aligned line edge this close to the energy edge takes the energy edge, seconds.
AGREE_S = 0.15
#: Letters whose phonemes close the lips.
BILABIAL_PHONEMES = ("p", "b", "m")


@dataclass
class Window:
    """The original's speech for one script line (seconds from the start of the original)."""

    start_s: float
    end_s: float
    pauses: list[tuple[float, float]] = field(default_factory=list)
    found: bool = True                      # speech was found near the timecode
    source: str = "vad"                     # vad | align | video | script
    original_words: list[dict[str, Any]] = field(default_factory=list)
    closures: list[float] = field(default_factory=list)   # lip-closure anchors inside the window

    def segments(self) -> list[tuple[float, float]]:
        """The speaking parts: the window minus its pauses."""
        out, t = [], self.start_s
        for a, b in self.pauses:
            if a > t:
                out.append((t, a))
            t = max(t, b)
        if self.end_s > t:
            out.append((t, self.end_s))
        return out or [(self.start_s, self.end_s)]


@dataclass
class Speech:
    """Speech regions of the original and its 5 ms energy envelope (dB), computed once."""

    regions: list[tuple[float, float]]
    env_db: np.ndarray
    duration_s: float

    def env_at(self, t0: float, t1: float) -> tuple[np.ndarray, np.ndarray]:
        i0 = max(0, int(t0 / ENV_HOP_S))
        i1 = min(self.env_db.size, int(np.ceil(t1 / ENV_HOP_S)))
        return np.arange(i0, max(i0, i1)) * ENV_HOP_S, self.env_db[i0:max(i0, i1)]


def _mono16(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    from voxpost.resample import resample

    x = np.asarray(samples, np.float32)
    mono = x if x.ndim == 1 else x.mean(axis=0)
    if sample_rate != ENV_RATE:
        mono = resample(mono, sample_rate, ENV_RATE, quality="HQ")
    return mono


def analyse(samples: np.ndarray, sample_rate: int, *, min_pause_s: float = 0.15) -> Speech:
    """VAD regions (refined to the energy envelope) and the envelope of a whole original."""
    from voxpost.speech.vad import regions_from_probabilities, speech_probabilities
    from voxpost.espeak.words import frame_db

    mono = _mono16(samples, sample_rate)
    duration = np.asarray(samples).shape[-1] / sample_rate
    env = frame_db(mono, int(ENV_HOP_S * ENV_RATE))
    probs = speech_probabilities(mono, ENV_RATE)
    raw = regions_from_probabilities(probs, min_silence_ms=min_pause_s * 1000, min_speech_ms=100.0, pad_ms=0.0,
                                     duration_s=duration)
    speech = Speech([], env, duration)
    regions: list[tuple[float, float]] = []
    for a, b in raw:
        t, e = speech.env_at(a, max(b, a + PEAK_SPAN_S))      # a short first region is not the line
        peak = float(e.max()) if e.size else -120.0
        a, b = _refine(speech, a, rising=True, peak_db=peak), _refine(speech, b, rising=False, peak_db=peak)
        if b - a <= 0.05:
            continue
        if regions and a <= regions[-1][1]:          # the pause between them was refined away
            a = regions.pop()[0]
        regions.append((a, b))
    speech.regions = regions
    return speech


def _refine(speech: Speech, edge_s: float, *, rising: bool, peak_db: float) -> float:
    """Move a VAD edge to where the energy envelope rises out of (or falls into) the background.

    The background is the quietest level in the second before the edge (after it, for an offset).
    The sound around the edge is followed back to where it last sat in the background (at most
    ``REACH_BACK_S``: Silero misses quiet first syllables), and speech starts at the first
    ``RUN_S`` run from there over the level (background + ``ONSET_DB`` and the region's peak -
    ``BELOW_PEAK_DB``), so a noise bed, lone clicks and a plosive's burst alone do not start it.
    Offsets likewise, mirrored in time. With no quiet moment to find, the VAD edge stays.
    """
    t, e = speech.env_at(edge_s - 1.05, edge_s + 1.05)
    if e.size < 16:
        return edge_s
    if not rising:                           # mirror time: an offset is an onset of the reversed sound
        t, e, edge_s = -t[::-1], e[::-1], -edge_s
    back = (t >= edge_s - 1.0) & (t < edge_s)
    if not back.any():
        return edge_s if rising else -edge_s
    background = float(np.percentile(e[back], 10))
    level = max(background + ONSET_DB, peak_db - BELOW_PEAK_DB)
    reach_back = REACH_BACK_S if rising else REACH_BACK_OFFSET_S
    quiet = np.flatnonzero((e < background + 6.0) & (t >= edge_s - reach_back) & (t < edge_s))
    if quiet.size == 0:
        return edge_s if rising else -edge_s
    j0 = int(quiet[-1]) + 1                  # the sound block at the edge starts here
    run = max(1, int(round(RUN_S / ENV_HOP_S)))
    loud = (e >= level) & (np.arange(e.size) >= j0) & (t <= edge_s + AHEAD_S)
    held = np.convolve(loud.astype(np.int64), np.ones(run, np.int64), mode="full")[run - 1:]
    runs = np.flatnonzero(held == run)
    if runs.size == 0:
        return edge_s if rising else -edge_s
    k = int(runs[0])
    return round(float(t[k]) if rising else -float(t[k] - ENV_HOP_S), 4)


def _quietest(speech: Speech, t0: float, t1: float) -> float | None:
    """Centre of the quietest 20 ms between ``t0`` and ``t1`` (None if the span is too short)."""
    t, e = speech.env_at(t0, t1)
    if e.size < 4:
        return None
    smooth = np.convolve(e, np.ones(4) / 4, mode="same")
    return round(float(t[int(np.argmin(smooth))] + ENV_HOP_S / 2), 4)


def _speech_between(speech: Speech, t0: float, t1: float) -> list[tuple[float, float]]:
    return [(max(a, t0), min(b, t1)) for a, b in speech.regions if b > t0 and a < t1]


def _nearest(points: Sequence[float], target: float, lo: float, hi: float) -> float | None:
    cands = [p for p in points if lo <= p <= hi]
    return min(cands, key=lambda p: abs(p - target)) if cands else None


def find_windows(speech: Speech, lines: Sequence[Any], *, search_s: float = 0.5,
                 min_pause_s: float = 0.15) -> list[Window]:
    """A :class:`Window` for every line (objects with ``start_s`` and ``end_s``), in order, never
    overlapping: line ``k`` ends before line ``k + 1`` starts."""
    onsets = [a for a, _ in speech.regions]
    offsets = [b for _, b in speech.regions]
    n = len(lines)
    starts: list[float | None] = []
    prev_floor = 0.0
    for i, line in enumerate(lines):
        lo = max(prev_floor, line.start_s - search_s)
        hi = min(line.start_s + search_s, line.end_s, speech.duration_s)
        s = _nearest(onsets, line.start_s, lo, hi)
        if s is None and _speech_between(speech, line.start_s - 0.02, line.start_s + 0.02):
            # speech runs through the rough start: the line joins the previous one with no pause
            s = _quietest(speech, max(lo, line.start_s - search_s / 2), min(hi, line.start_s + search_s / 2))
        starts.append(s)
        if s is not None:
            prev_floor = s + 0.1
    windows = []
    for i, line in enumerate(lines):
        s = starts[i]
        nxt = next((starts[j] for j in range(i + 1, n) if starts[j] is not None), None)
        limit = min(nxt if nxt is not None else speech.duration_s, speech.duration_s)
        if nxt is not None and i + 1 < n:
            limit = min(limit, max(lines[i + 1].start_s + search_s, line.end_s))
        if s is None:
            spans = _speech_between(speech, line.start_s - search_s, min(line.end_s + search_s, limit))
            if not spans:
                windows.append(Window(line.start_s, min(line.end_s, limit), found=False, source="script"))
                continue
            s = spans[0][0]
        lo, hi = s + 0.1, limit
        e = _nearest(offsets, line.end_s, max(lo, line.end_s - search_s), min(hi, line.end_s + search_s))
        if e is None:
            if nxt is not None and _speech_between(speech, limit - 0.02, limit):
                e = limit              # speech runs into the next line: end where it starts
            else:
                ends = [b for b in offsets if lo <= b <= hi]
                e = min(ends, key=lambda b: abs(b - line.end_s)) if ends else min(line.end_s, hi)
        if nxt is not None:
            e = min(e, nxt)
        pauses = [(b0, a1) for (_, b0), (a1, _) in zip(speech.regions[:-1], speech.regions[1:])
                  if s < b0 and a1 < e and a1 - b0 >= min_pause_s]
        windows.append(Window(round(s, 4), round(max(e, s + 0.05), 4), pauses=pauses))
    return windows


def bilabial_times(syn, tokens, times: np.ndarray) -> list[tuple[int, float]]:
    """``(word index, seconds)`` of every p, b, m in an espeak synthesis, from its phoneme events
    (``times``: the tokens' ``[start, end]`` in the same synthesis)."""
    sr = syn.sample_rate
    out = []
    for name, sample, charpos in syn.phonemes:
        core = name.strip("'ˈˌ,:;#_")
        if core not in BILABIAL_PHONEMES:
            continue
        for k, tok in enumerate(tokens):
            if tok.start <= charpos < max(tok.end, tok.start + 1) or charpos == tok.start:
                out.append((k, sample / sr))
                break
        else:
            k = int(np.searchsorted([t.start for t in tokens], charpos, side="right")) - 1
            if 0 <= k < len(tokens):
                out.append((k, sample / sr))
    return out


def refine_with_text(window: Window, samples: np.ndarray, sample_rate: int, text: str, *, language: str,
                     min_pause_s: float = 0.15, margin_s: float = 0.25) -> Window:
    """Align the original text of a line inside its window (plus a margin): the window starts at the
    first word and ends at the last, pauses are the gaps between words, and the original's
    bilabials become closure anchors. Falls back to ``window`` when alignment is not confident."""
    from voxpost.speech.align import align
    from voxpost.espeak import synthesize
    from voxpost.espeak.words import script_words, token_times

    t0 = max(0.0, window.start_s - margin_s)
    t1 = min(np.asarray(samples).shape[-1] / sample_rate, window.end_s + margin_s)
    seg = np.asarray(samples)[..., int(t0 * sample_rate):int(t1 * sample_rate)]
    try:
        res = align(seg, sample_rate, text, language=language)
    except Exception:  # noqa: BLE001 - no speech / no words: keep the VAD window
        return window
    words = [dict(w, start=round(w["start"] + t0, 4), end=round(w["end"] + t0, 4)) for w in res["words"]]
    if not words or res.get("confidence", 0) < 0.18:
        return window
    # after silence the energy edge is sharper than the aligner's 10 ms frames: keep it when they agree
    start, end = words[0]["start"], words[-1]["end"]
    if abs(start - window.start_s) <= AGREE_S:
        start = words[0]["start"] = window.start_s
    if abs(end - window.end_s) <= AGREE_S:
        end = words[-1]["end"] = window.end_s
    pauses = [(a["end"], b["start"]) for a, b in zip(words[:-1], words[1:]) if b["start"] - a["end"] >= min_pause_s]
    # the original's bilabials: espeak's phonemes of the text, mapped into each aligned word
    syn = synthesize(" ".join(text.split()), language=language)
    tokens = script_words(" ".join(text.split()))
    closures = []
    if len(tokens) == len(words):
        st = token_times(syn, tokens, language)
        for k, t in bilabial_times(syn, tokens, st):
            a, b = st[k]
            frac = 0.0 if b <= a else min(max((t - a) / (b - a), 0.0), 1.0)
            closures.append(round(words[k]["start"] + frac * (words[k]["end"] - words[k]["start"]), 4))
    return Window(start, end, pauses=pauses, source="align",
                  original_words=[{"word": w["word"], "start": w["start"], "end": w["end"]} for w in words],
                  closures=closures or window.closures)
