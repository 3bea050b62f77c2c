"""Fit one translated line into the original's speech window, at a natural pace.

:func:`fit_line` says the line with the embedded TTS and places it on its :class:`Window`:

1. **Natural pace.** The line is first synthesised at the voice's natural rate
   (:data:`voxpost.espeak.DEFAULT_RATE_WPM`). Its length against the window's speaking time
   gives the speed the line needs (``speed`` > 1: faster than natural).
2. **Pauses.** When the original pauses inside the line, the translation's words are split into
   as many groups, at the word boundaries (punctuation preferred) that give every group the most
   similar speed (dynamic programming), and each group is placed on its own speaking part.
3. **Pace bounds.** Each group's speed is held within ``min_speed..max_speed`` (0.8..1.25). A line
   whose overall speed falls outside is not squeezed: it is placed at the bound, from the start of
   its window, ``flagged``, and ``suggest_syllables`` says how many syllables to cut (negative) or
   add (positive) so it would fit.
4. **Rate, then stretch.** The line is synthesised again at the rate that gives the fitted length
   (secant search on espeak's rate, :func:`voxpost.voice.tts._fit_rate`); WSOLA
   (:func:`voxpost.voice.stretch.time_warp`) takes the small remainder, keeping pitch and formants.
5. **Bilabials.** The translation's own p, b, m (espeak's phoneme events) that land within
   ``anchor_s`` of a lip closure of the original are pulled onto it by the same warp, provided
   every piece stays within the pace bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voxpost.dub.windows import Window, bilabial_times

#: Pace bounds: the line's speed relative to the voice's natural pace.
MIN_SPEED, MAX_SPEED = 0.8, 1.25
#: Farthest a bilabial is moved onto a lip closure, seconds.
ANCHOR_S = 0.12
#: Kept around a group's words when it is cut out of the synthesis, seconds (before, after).
LEAD_S, TAIL_S = 0.01, 0.03
#: A fitted line ending later than this past its window is flagged, seconds.
OVERRUN_S = 0.1
#: Fade at every cut, seconds.
FADE_S = 0.004
_VOWEL_START = set("aeiouyAEIOUVY@3&0")


@dataclass
class FittedLine:
    """A line placed on its window: mono audio at the TTS rate starting at ``offset_s`` in the reel."""

    samples: np.ndarray
    sample_rate: int
    offset_s: float
    start_s: float                 # first word placed
    end_s: float                   # last word's end
    speed: float                   # natural duration / placed duration (of the spoken parts)
    status: str                    # ok | flagged
    rate_wpm: float
    syllables: int
    words: list[dict[str, Any]] = field(default_factory=list)
    bilabials: list[float] = field(default_factory=list)
    anchored: int = 0              # bilabials moved onto closures
    group_speeds: list[float] = field(default_factory=list)
    reason: str | None = None
    suggest_syllables: int | None = None
    measured_start_s: float | None = None     # set by the engine: onset measured in the rendered stem
    voice: str | None = None                  # set by the engine: the profile the line was converted to


def syllable_count(syn) -> int:
    """Vowel phonemes in an espeak synthesis (at least 1)."""
    n = sum(1 for name, _, _ in syn.phonemes if name.lstrip("'ˈˌ,")[:1] in _VOWEL_START)
    return max(1, n)


def _chunks(times: np.ndarray, groups: list[tuple[int, int]], span: tuple[float, float]) -> list[tuple[float, float]]:
    """``(start, end)`` seconds of each group's audio in a synthesis: its words plus a little margin,
    never past the middle of the gap to the neighbouring group."""
    out = []
    for g, (i, j) in enumerate(groups):
        a = span[0] if g == 0 else max(times[i, 0] - LEAD_S, (times[i - 1, 1] + times[i, 0]) / 2)
        b = span[1] if g == len(groups) - 1 else min(times[j - 1, 1] + TAIL_S, (times[j - 1, 1] + times[j, 0]) / 2)
        out.append((a, max(b, a + 0.02)))
    return out


def _partition(times: np.ndarray, tokens, segments: list[tuple[float, float]]) -> list[tuple[int, int]]:
    """Split ``n`` words into ``len(segments)`` consecutive groups whose natural lengths best match
    the segments' (sum of squared log speed); a break after punctuation is preferred."""
    n, g = len(tokens), len(segments)
    seg = np.array([b - a for a, b in segments])
    punct = np.array([bool(t.raw) and t.raw[-1] in ",.;:!?…" for t in tokens])
    cost = np.full((g + 1, n + 1), np.inf)
    back = np.zeros((g + 1, n + 1), np.int64)
    cost[0, 0] = 0.0
    for k in range(1, g + 1):
        for j in range(k, n - (g - k) + 1):
            for i in range(k - 1, j):
                if not np.isfinite(cost[k - 1, i]):
                    continue
                d = max(times[j - 1, 1] - times[i, 0], 0.05)
                c = cost[k - 1, i] + math.log(d / seg[k - 1]) ** 2
                if k < g and not punct[j - 1]:
                    c += 0.02
                if c < cost[k, j]:
                    cost[k, j], back[k, j] = c, i
    groups, j = [], n
    for k in range(g, 0, -1):
        i = int(back[k, j])
        groups.append((i, j))
        j = i
    return groups[::-1]


def _merge_segments(segments: list[tuple[float, float]], limit: int) -> list[tuple[float, float]]:
    """Bridge the shortest pauses until at most ``limit`` segments remain."""
    segs = list(segments)
    while len(segs) > max(limit, 1):
        k = min(range(len(segs) - 1), key=lambda i: segs[i + 1][0] - segs[i][1])
        segs[k:k + 2] = [(segs[k][0], segs[k + 1][1])]
    return segs


def _anchors(bil: list[float], closures: list[float], chunk: tuple[float, float], out_start: float,
             out_len: float, factor: float, min_speed: float, max_speed: float, anchor_s: float):
    """Pairs (input s from chunk start, output s from placement start) pulling bilabials onto closures.
    ``factor`` = natural length / fitted synthesis length: piece speed = factor * d_in / d_out."""
    d_in_total = chunk[1] - chunk[0]
    ratio = out_len / d_in_total
    pts_in, pts_out = [0.0], [0.0]
    for b in sorted(bil):
        x = b - chunk[0]
        if not 0.04 < x < d_in_total - 0.04:
            continue
        linear = out_start + x * ratio
        near = [c for c in closures if abs(c - linear) <= anchor_s and out_start + 0.04 < c < out_start + out_len - 0.04]
        if not near:
            continue
        y = min(near, key=lambda c: abs(c - linear)) - out_start
        if y <= pts_out[-1] + 0.04 or x <= pts_in[-1] + 0.04:
            continue
        ok = all(min_speed <= factor * di / do <= max_speed
                 for di, do in ((x - pts_in[-1], y - pts_out[-1]), (d_in_total - x, out_len - y)) if do > 0)
        if ok:
            pts_in.append(x)
            pts_out.append(y)
    return pts_in[1:], pts_out[1:]


def fit_line(text: str, window: Window, *, language: str, min_speed: float = MIN_SPEED,
             max_speed: float = MAX_SPEED, anchor_s: float = ANCHOR_S, pitch: int = 50) -> FittedLine:
    """Place ``text`` on ``window``; see the module docstring.

    Examples
    --------
    >>> from voxpost.dub.windows import Window
    >>> line = fit_line("Bonjour, mon ami.", Window(1.0, 2.2), language="fr")
    >>> line.status, round(line.start_s, 2)
    ('ok', 1.0)
    """
    from voxpost.espeak import DEFAULT_RATE_WPM, synthesize
    from voxpost.voice.stretch import time_warp
    from voxpost.voice.tts import _fit_rate, _span, check_text
    from voxpost.espeak.words import script_words, token_times

    flat = check_text(text, language)
    tokens = script_words(flat)
    nat = synthesize(flat, language=language, rate_wpm=DEFAULT_RATE_WPM, pitch=pitch)
    sr = nat.sample_rate
    s0, e0 = _span(nat)
    t_nat = token_times(nat, tokens, language)
    syllables = syllable_count(nat)
    segments = _merge_segments([s for s in window.segments() if s[1] - s[0] >= 0.06] or window.segments(),
                               len(tokens))
    groups = _partition(t_nat, tokens, segments)
    nat_chunks = _chunks(t_nat, groups, (s0 / sr, e0 / sr))
    d_nat = np.array([b - a for a, b in nat_chunks])
    available = sum(b - a for a, b in segments)
    required = float(d_nat.sum() / available)
    status, reason, suggest = "ok", None, None
    if required > max_speed or required < min_speed:
        status = "flagged"
        bound = max_speed if required > max_speed else min_speed
        change = syllables * (bound / required - 1.0)
        suggest = -math.ceil(-change) if change < 0 else math.ceil(change)
        reason = (f"too long for its window: needs {required:.2f}x the natural pace (bound {max_speed:g}x)"
                  if required > max_speed else
                  f"too short for its window: would need {required:.2f}x the natural pace (bound {min_speed:g}x)")
        if required > max_speed:       # placed at the bound from the window start, as one group
            groups, segments = [(0, len(tokens))], [(window.start_s, window.start_s + (e0 - s0) / sr / max_speed)]
            nat_chunks, d_nat = [(s0 / sr, e0 / sr)], np.array([(e0 - s0) / sr])
    # each group's placed length: its segment, within the pace bounds
    speeds = np.clip(d_nat / np.array([b - a for a, b in segments]), min_speed, max_speed)
    placed = d_nat / speeds
    starts, t = [], -np.inf
    for (a, _), p in zip(segments, placed):
        s = max(a, t + 0.05)
        starts.append(s)
        t = s + p
    line_speed = float(d_nat.sum() / placed.sum())
    overrun = starts[-1] + placed[-1] - window.end_s
    if status == "ok" and overrun > OVERRUN_S:
        status, suggest = "flagged", -math.ceil(syllables * overrun / placed.sum())
        reason = (f"overruns its window by {overrun * 1000:.0f} ms: a part between pauses needs more than "
                  f"{max_speed:g}x the natural pace")
    # synthesise at the rate that gives the fitted length; the stretch takes only the remainder
    target = (e0 - s0) / sr / line_speed
    if abs(line_speed - 1.0) > 0.01:
        syn, s1, e1, _, rate = _fit_rate(flat, language, target, pitch, 0)
    else:
        syn, s1, e1, rate = nat, s0, e0, float(DEFAULT_RATE_WPM)
    t_fit = token_times(syn, tokens, language)
    chunks = _chunks(t_fit, groups, (s1 / sr, e1 / sr))
    bil_all = bilabial_times(syn, tokens, t_fit)
    offset = starts[0] - LEAD_S
    out_end = starts[-1] + placed[-1] + TAIL_S
    buf = np.zeros(int(math.ceil((out_end - offset) * sr)) + 1, np.float32)
    words: list[dict[str, Any]] = []
    bil_out: list[float] = []
    anchored = 0
    fade = max(1, int(FADE_S * sr))
    for g, ((i, j), (ca, cb), st, pl) in enumerate(zip(groups, chunks, starts, placed)):
        chunk = syn.samples[int(ca * sr):int(cb * sr)].astype(np.float32)
        n_out = max(int(round(pl * sr)), 1)
        factor = d_nat[g] / (cb - ca)
        b_in = [b for k, b in bil_all if i <= k < j]
        a_in, a_out = _anchors(b_in, window.closures, (ca, cb), st, n_out / sr, factor, min_speed, max_speed, anchor_s)
        anchored += len(a_in)
        y = time_warp(chunk, sr, a_in, a_out, frames=n_out) if chunk.size else np.zeros(n_out, np.float32)
        ramp = np.linspace(0.0, 1.0, min(fade, y.size // 2), dtype=np.float32)
        if ramp.size:
            y[:ramp.size] *= ramp
            y[-ramp.size:] *= ramp[::-1]
        k0 = int(round((st - offset) * sr))
        buf[k0:k0 + y.size] += y[:max(0, buf.size - k0)]
        xin = np.concatenate([[0.0], a_in, [cb - ca]])
        xout = np.concatenate([[0.0], a_out, [n_out / sr]])
        place = lambda t_s: float(st + np.interp(t_s - ca, xin, xout))  # noqa: E731
        for k in range(i, j):
            words.append({"word": tokens[k].text, "start": round(place(t_fit[k, 0]), 4),
                          "end": round(place(t_fit[k, 1]), 4)})
        bil_out += [round(place(b), 4) for b in b_in]
    return FittedLine(samples=buf, sample_rate=sr, offset_s=offset, start_s=starts[0],
                      end_s=float(starts[-1] + placed[-1]), speed=round(line_speed, 4), status=status,
                      rate_wpm=float(rate), syllables=syllables, words=words, bilabials=bil_out,
                      anchored=anchored, group_speeds=[round(float(s), 4) for s in speeds], reason=reason,
                      suggest_syllables=suggest)
