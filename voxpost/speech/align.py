"""Forced alignment of a known script: where every word of the script falls in the recording.

The embedded method needs no model download and works in every language espeak-ng speaks:

1. The script is spoken by the embedded TTS (:mod:`voxpost.espeak`), which reports where
   each word starts, to the sample. The speaking rate is matched to the recording's.
2. Synthesis and recording become log-mel features (40 bands, 25 ms windows, 10 ms hop,
   normalised per file over speech), trimmed to their speech (silero VAD on the recording).
3. Dynamic time warping (:mod:`voxpost.dsp.dtw`) maps synthesis time to recording time. Long
   inputs are aligned coarse-to-fine: a 40 ms pass, in windows re-anchored at pauses when the
   file is long, then a 10 ms pass inside a band around it, so time and memory grow linearly.
4. Word boundaries of the synthesis are mapped through the warping path, after two corrections
   on the synthesis side: a word that begins with a stop consonant starts at its silent closure,
   not at the burst where espeak places it; and function words espeak speaks as one group
   ("in the") are split at their phonemes.
5. On the recording, pauses of 120 ms or more go to the nearest word boundary: the word before
   ends where the pause starts, the next one starts where it ends.

Every word of the script is in the result, in the script's order, with a confidence from the
DTW distance along it (low for a script that does not match the recording).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np

from voxpost.errors import VoxpostError
from voxpost.espeak.words import Token, frame_db, script_words, token_times  # noqa: F401 (re-exported)

#: Feature rate and shape.
RATE = 16000
HOP = 160                       # 10 ms
WIN = 400                       # 25 ms
N_FFT = 512
N_MELS = 40
FRAME_S = HOP / RATE
#: Coarse pass: frames averaged per coarse frame, and the fine band's half-width in frames.
COARSE = 4
FINE_RADIUS = 12
#: Largest DTW done in one piece, in cells; longer inputs are windowed.
FULL_CELLS = 12_000_000
#: Coarse windows for long files: synthesis frames per window and the part kept before re-anchoring.
WINDOW = 1500
KEEP = 1000
#: A pause in the recording this long or longer is given to the nearest word boundary.
PAUSE_S = 0.12


class AlignError(VoxpostError):
    """The script cannot be aligned to this recording (no speech, no words, ...)."""


# -- features -----------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _mel_basis(fmax: float) -> np.ndarray:
    import warnings

    import librosa

    with warnings.catch_warnings():   # narrow-band sources (1-4 kHz rates) leave some bands empty: fine
        warnings.simplefilter("ignore", UserWarning)
        return librosa.filters.mel(sr=RATE, n_fft=N_FFT, n_mels=N_MELS, fmin=60.0, fmax=fmax).astype(np.float32)


def logmel(x: np.ndarray, *, fmax: float = 7600.0, block_s: float = 60.0) -> np.ndarray:
    """Log-mel energies [frames, 40] of 16 kHz mono ``x``; frame ``k`` is centred at ``k * 10 ms``."""
    x = np.asarray(x, np.float32)
    n_frames = 1 + x.size // HOP
    padded = np.pad(x, (WIN // 2, WIN // 2 + HOP))
    window = np.hanning(WIN + 2)[1:-1].astype(np.float32)
    basis = _mel_basis(float(fmax))
    out = np.empty((n_frames, N_MELS), np.float32)
    step = int(block_s / FRAME_S)
    for f0 in range(0, n_frames, step):          # blocks bound the spectrum's memory
        f1 = min(n_frames, f0 + step)
        idx = (np.arange(f0, f1) * HOP)[:, None] + np.arange(WIN)[None, :]
        spec = np.abs(np.fft.rfft(padded[idx] * window, n=N_FFT, axis=1)) ** 2
        out[f0:f1] = np.log10(spec.astype(np.float32) @ basis.T + 1e-10)
    return out


def _normalise(feat: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    ref = feat if mask is None or not mask.any() else feat[mask]
    return ((feat - ref.mean(0)) / (ref.std(0) + 1e-5)).astype(np.float32)


# -- synthesis side -----------------------------------------------------------------------------
def _synth_word_times(text: str, tokens: list[Token], language: str, rate_wpm: float):
    """Speak the script; return (16 kHz samples, [start, end] in seconds per token)."""
    from voxpost.resample import resample
    from voxpost.espeak import synthesize

    syn = synthesize(text, language=language, rate_wpm=rate_wpm)
    times = token_times(syn, tokens, language)
    sr = syn.sample_rate
    x16 = resample(syn.samples, sr, RATE, quality="HQ") if sr != RATE else syn.samples
    return x16, times


# -- warping ------------------------------------------------------------------------------------
def _pool(feat: np.ndarray, factor: int) -> np.ndarray:
    n = len(feat) // factor
    if n == 0:
        return feat.mean(0, keepdims=True)
    return feat[: n * factor].reshape(n, factor, -1).mean(1)


def _coarse_path(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A DTW path between ``a`` and ``b``; windowed and re-anchored at pauses when large."""
    from voxpost.dsp.dtw import dtw_band

    n, m = len(a), len(b)
    if n * m <= FULL_CELLS:
        pi, pj, _ = dtw_band(a, b)
        return pi, pj
    energy = a[:, 0] if a.shape[1] else np.zeros(n)
    ratio = m / n
    out_i, out_j = [], []
    i0 = j0 = 0
    while True:
        i1 = min(n, i0 + WINDOW)
        last = i1 == n
        span = int((i1 - i0) * ratio * 1.5) + 200
        j1 = m if last or j0 + span >= m else j0 + span
        pi, pj, _ = dtw_band(a[i0:i1], b[j0:j1], open_end=not (last and j1 == m))
        if last:
            out_i.append(pi + i0)
            out_j.append(pj + j0)
            break
        # Re-anchor at the quietest synthesis frame (a pause) in the part kept.
        lo, hi = i0 + KEEP // 2, i0 + KEEP
        cut = lo + int(np.argmin(energy[lo:hi]))
        keep = pi + i0 < cut
        out_i.append(pi[keep] + i0)
        out_j.append(pj[keep] + j0)
        i0, j0 = cut, int(pj[keep][-1] + j0) + 1 if keep.any() else j0
        j0 = min(j0, m - 1)
    return np.concatenate(out_i), np.concatenate(out_j)


def warp(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coarse-to-fine DTW path from features ``a`` (synthesis) to ``b`` (recording)."""
    from voxpost.dsp.dtw import dtw_band

    n, m = len(a), len(b)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("DTW features must be finite")       # the compiled kernel does not check
    if n * m <= FULL_CELLS // 4:
        pi, pj, _ = dtw_band(a, b)
        return pi, pj
    ci, cj = _coarse_path(_pool(a, COARSE), _pool(b, COARSE))
    # Band for the fine pass: the coarse path scaled up, widened by FINE_RADIUS frames.
    lo = np.full(n, m, np.int64)
    hi = np.zeros(n, np.int64)
    rows = np.clip(ci * COARSE, 0, n - 1)
    for off in range(COARSE):
        r = np.clip(rows + off, 0, n - 1)
        np.minimum.at(lo, r, cj * COARSE)
        np.maximum.at(hi, r, cj * COARSE + COARSE)
    lo = np.minimum.accumulate(lo[::-1])[::-1]
    hi = np.maximum.accumulate(hi)
    lo = np.clip(lo - FINE_RADIUS, 0, m - 1)
    hi = np.clip(hi + FINE_RADIUS, 1, m)
    lo[0] = 0
    hi[-1] = m
    hi = np.maximum(hi, lo + 1)
    lo[1:] = np.minimum(lo[1:], hi[:-1])          # rows must overlap
    pi, pj, _ = dtw_band(a, b, lo, hi)
    return pi, pj


def _time_map(pi: np.ndarray, pj: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Synthesis frame -> recording frame, the mean recording frame per synthesis frame,
    linearly interpolated."""
    rows, first = np.unique(pi, return_index=True)
    sums = np.add.reduceat(pj.astype(np.float64), first)
    counts = np.diff(np.append(first, pj.size))
    jbar = sums / counts
    return lambda f: np.interp(f, rows, jbar)


# -- recording side -----------------------------------------------------------------------------
def _pauses(x: np.ndarray, lo_s: float, hi_s: float) -> list[tuple[float, float]]:
    """Silences of at least PAUSE_S inside [lo_s, hi_s] of 16 kHz ``x``, from frame energy."""
    db = frame_db(x, HOP)
    a, b = int(lo_s / FRAME_S), max(int(hi_s / FRAME_S), int(lo_s / FRAME_S) + 1)
    seg = db[a:b]
    if seg.size < 3:
        return []
    floor, level = np.percentile(seg, 5), np.percentile(seg, 90)
    quiet = seg < floor + max(6.0, 0.3 * (level - floor))
    edges = np.diff(np.concatenate([[0], quiet.astype(np.int8), [0]]))
    s, e = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    need = int(round(PAUSE_S / FRAME_S))
    return [((a + i) * FRAME_S, (a + j) * FRAME_S) for i, j in zip(s, e) if j - i >= need]


def _close_gaps(times: np.ndarray, pauses: list[tuple[float, float]]) -> np.ndarray:
    """Words follow each other without a gap unless the recording pauses between them: a gap
    the warping left between two words with no pause of the recording in it is closed by
    extending the earlier word to the next one's start (the synthesis' short breaths between
    words are not in the recording)."""
    t = times.copy()
    if len(t) < 2 or not len(pauses):
        t[:-1, 1] = t[1:, 0]
        return t
    ps = np.array(pauses)
    for k in range(len(t) - 1):
        a, b = t[k, 1], t[k + 1, 0]
        if b > a and not np.any((ps[:, 0] < b) & (ps[:, 1] > a)):
            t[k, 1] = b
    return t


def _assign_pauses(times: np.ndarray, pauses: list[tuple[float, float]]) -> np.ndarray:
    """Give each pause to the nearest word boundary (or to the edges of the first/last word)."""
    t = times.copy()
    n = len(t)
    if n == 0:
        return t
    for ps, pe in pauses:
        mid = 0.5 * (ps + pe)
        if pe <= t[0, 0] + 0.06 or mid < t[0, 0]:
            if pe < t[0, 1]:
                t[0, 0] = max(t[0, 0], pe)
            continue
        if ps >= t[-1, 1] - 0.06 or mid > t[-1, 1]:
            if ps > t[-1, 0]:
                t[-1, 1] = min(t[-1, 1], ps)
            continue
        gaps = 0.5 * (t[:-1, 1] + t[1:, 0])
        if gaps.size == 0:
            continue
        k = int(np.argmin(np.abs(gaps - mid)))
        if ps > t[k, 0] and pe < t[k + 1, 1]:
            t[k, 1] = ps
            t[k + 1, 0] = pe
    return t


def _read_16k_mono(path: str | os.PathLike) -> tuple[np.ndarray, dict[str, Any]]:
    from voxpost.stream import AudioReader

    with AudioReader(path) as r:
        x = r.read(sample_rate=RATE, mono=True, quality="HQ")[0]
        meta = {"sample_rate": r.sample_rate, "timecode_samples": r.timecode_samples, "fps": r.fps}
    return x, meta


# -- the task -----------------------------------------------------------------------------------
def align(samples: np.ndarray, sample_rate: int, text: str, *, language: str = "en",
          low_confidence: float = 0.18, source_rate: int | None = None) -> dict[str, Any]:
    """Align ``text`` to the recording; return ``{"words": [{"word", "start", "end",
    "confidence", "text"}], "confidence", "language", "method", "warnings"}``.

    ``word`` is the script word without surrounding punctuation, ``text`` the token as written
    (``"storm?"``), which subtitles use; times are seconds from the start of the recording.

    Parameters
    ----------
    samples : ndarray
        The recording, ``[frames]`` or ``[channels, frames]``, any rate.
    sample_rate : int
        Its rate in Hz. Narrow-band recordings (8 kHz telephone) are compared below their
        Nyquist frequency only.
    text : str
        The script. Every word (a token with a letter or digit) is in the result.
    language : str
        espeak-ng language code of the script.
    low_confidence : float
        Below this overall confidence a warning says the script may not match the recording.
    source_rate : int, optional
        The rate the recording was made at, when ``samples`` were resampled since; its Nyquist
        frequency bounds the features (default ``sample_rate``).

    Raises
    ------
    AlignError
        Empty script, or no speech in the recording.
    ParameterError
        A language espeak-ng does not speak.
    """
    from voxpost.speech.vad import speech_probabilities, regions_from_probabilities
    from voxpost.resample import resample
    from voxpost.stream import check_samples
    from voxpost.espeak import DEFAULT_RATE_WPM, MAX_RATE_WPM, MIN_RATE_WPM, check_language

    tokens = script_words(text)
    if not tokens:
        raise AlignError("the script has no words to align")
    check_language(language)
    x = np.asarray(samples, np.float32)
    x = x if x.ndim == 1 else x.mean(axis=0)
    check_samples(x)
    fmax = min(7600.0, 0.45 * (source_rate or sample_rate))
    if sample_rate != RATE:
        x = resample(x, sample_rate, RATE, quality="HQ")
    duration = x.size / RATE
    probs = speech_probabilities(x, RATE)
    regions = regions_from_probabilities(probs, duration_s=duration, pad_ms=0.0, min_speech_ms=60.0)
    if not regions:
        raise AlignError("no speech found in the recording (music, silence or noise?)")
    r0, r1 = regions[0][0], regions[-1][1]
    speech_s = sum(e - s for s, e in regions)

    flat = " ".join(text.split())
    tokens = script_words(flat)
    syn, stimes = _synth_word_times(flat, tokens, language, DEFAULT_RATE_WPM)
    syn_span = stimes[-1, 1] - stimes[0, 0]
    syn_speech = _speech_seconds(syn)
    ratio = speech_s / max(syn_speech, 1e-3)
    if not 0.87 < ratio < 1.15 and syn_span > 0:
        rate = float(np.clip(DEFAULT_RATE_WPM / ratio, MIN_RATE_WPM, MAX_RATE_WPM))
        syn, stimes = _synth_word_times(flat, tokens, language, rate)

    # Features, trimmed to speech on both sides (with a little margin).
    margin = 0.1
    s0, s1 = max(0.0, stimes[0, 0] - margin), min(syn.size / RATE, stimes[-1, 1] + margin)
    q0, q1 = max(0.0, r0 - margin), min(duration, r1 + margin)
    fa = logmel(syn[int(s0 * RATE): int(s1 * RATE)], fmax=fmax)
    fb = logmel(x[int(q0 * RATE): int(q1 * RATE)], fmax=fmax)
    fa, fb = _normalise(fa), _normalise(fb)
    pi, pj = warp(fa, fb)
    to_rec = _time_map(pi, pj)
    rel = (stimes - s0) / FRAME_S
    mapped = to_rec(rel.ravel()).reshape(rel.shape) * FRAME_S + q0
    mapped = np.clip(mapped, q0, q1)
    # Keep order: starts non-decreasing, each end at or after its start and before the next start.
    mapped[:, 0] = np.maximum.accumulate(mapped[:, 0])
    mapped[:, 1] = np.maximum(mapped[:, 1], mapped[:, 0])
    mapped[:-1, 1] = np.minimum(mapped[:-1, 1], mapped[1:, 0])
    pauses = _pauses(x, q0, q1)
    mapped = _close_gaps(mapped, pauses)
    mapped = _assign_pauses(mapped, pauses)
    conf = _confidence(fa, fb, pi, pj, rel)
    overall = float(np.median(conf)) if conf.size else 0.0
    warnings = []
    if overall < low_confidence:
        warnings.append(f"low alignment confidence {overall:.2f}: the script may not match the "
                        "recording, or the language may be wrong")
    words = [{"word": t.text, "start": round(float(a), 3), "end": round(float(b), 3),
              "confidence": round(float(c), 3), "text": t.raw} for t, (a, b), c in zip(tokens, mapped, conf)]
    return {"words": words, "confidence": round(overall, 3), "language": language,
            "method": "espeak-ng synthesis + log-mel DTW", "warnings": warnings,
            "duration_s": round(duration, 6)}


def _speech_seconds(syn16: np.ndarray) -> float:
    db = frame_db(syn16, HOP)
    return float((db > db.max() - 40).sum() * FRAME_S) if db.size else 0.0


def _confidence(fa, fb, pi, pj, rel) -> np.ndarray:
    """Per word: 1 - (mean path distance inside it) / (distance of unrelated frames), clipped."""
    d = np.sqrt(((fa[pi] - fb[pj]) ** 2).sum(1))
    rng = np.random.default_rng(0)
    k = min(4000, len(fa), len(fb))
    ra, rb = rng.integers(0, len(fa), k), rng.integers(0, len(fb), k)
    unrelated = float(np.median(np.sqrt(((fa[ra] - fb[rb]) ** 2).sum(1)))) + 1e-6
    out = np.empty(len(rel))
    for w, (a, b) in enumerate(rel):
        sel = (pi >= int(a)) & (pi <= max(int(a), int(np.ceil(b))))
        m = d[sel].mean() if sel.any() else unrelated
        out[w] = 1.0 - m / unrelated
    return np.clip(out, 0.0, 1.0)


def align_file(path: str | os.PathLike, text: str, *, language: str = "en") -> dict[str, Any]:
    """:func:`align` on any audio or video file; adds ``source`` and ``timecode``."""
    from voxpost.timecode import format_timecode

    x, meta = _read_16k_mono(path)
    if x.size == 0:
        raise AlignError(f"{path}: no audio samples")
    result = align(x, RATE, text, language=language, source_rate=meta["sample_rate"])
    native = meta["sample_rate"]
    start_s = meta["timecode_samples"] / native
    result.update(source=str(Path(path)), timecode={
        "offset_s": round(start_s, 6),
        "timecode": format_timecode(meta["timecode_samples"], meta["fps"], native)})
    return result
