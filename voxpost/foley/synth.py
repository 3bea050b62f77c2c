"""Building blocks the procedural sound models share: frame counts, cue times, filters, bursts,
contact pulses, smooth random controls, modal ringing, and the final float32 take."""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfilt

from voxpost.dsp.modal import modal_bank


def frames(duration_s: float, sample_rate: int) -> int:
    """Frames of a take of ``duration_s`` seconds: ``round(duration_s * sample_rate)``."""
    return int(round(duration_s * sample_rate))


def cue_times(events_s, duration_s: float, default) -> np.ndarray:
    """``events_s`` sorted and cut to ``[0, duration_s)`` when given, else ``default()``."""
    t = np.asarray(default() if events_s is None else events_s, np.float64).ravel()
    t = np.sort(t[np.isfinite(t)])
    return t[(t >= 0.0) & (t < duration_s)]


def first_cue_s(events_s, duration_s: float, default_s: float) -> float:
    """The first cue time in the take, else ``default_s`` (at most half the take)."""
    t = cue_times(events_s, duration_s, lambda: [default_s])
    return float(t[0]) if t.size else min(default_s, 0.5 * duration_s)


def band(x: np.ndarray, sample_rate: int, lo_hz: float | None = None, hi_hz: float | None = None,
         order: int = 2) -> np.ndarray:
    """Butterworth high-pass at ``lo_hz`` and/or low-pass at ``hi_hz`` (either may be None)."""
    if x.size == 0:
        return x
    nyq = 0.5 * sample_rate
    hi = min(hi_hz / nyq, 0.95) if hi_hz else None
    if lo_hz and hi:
        sos = butter(order, [lo_hz / nyq, hi], "bandpass", output="sos")
    elif lo_hz:
        sos = butter(order, lo_hz / nyq, "highpass", output="sos")
    elif hi:
        sos = butter(order, hi, "lowpass", output="sos")
    else:
        return x
    return sosfilt(sos, x)


def add_at(out: np.ndarray, seg: np.ndarray, start: int) -> None:
    """Add ``seg`` into ``out`` from sample ``start`` (cut at the end of ``out``)."""
    if start >= out.size or start + seg.size <= 0:
        return
    a = max(start, 0)
    out[a:start + seg.size] += seg[a - start:out.size - start]


def white(rng: np.random.Generator, n: int) -> np.ndarray:
    """Uniform white noise in ``[-1, 1)`` (float64)."""
    return rng.random(n) * 2.0 - 1.0


def burst(rng: np.random.Generator, n: int, tau: float) -> np.ndarray:
    """A noise burst of ``n`` samples decaying with time constant ``tau`` samples; first sample is its peak."""
    s = rng.uniform(-1.0, 1.0, n) * np.exp(-np.arange(n) / max(tau, 1e-3))
    s[0] = 1.0
    return s


def impulses(n: int, idx: np.ndarray, amp: np.ndarray) -> np.ndarray:
    """Impulses of ``amp`` at samples ``idx`` (summed where they coincide), ``n`` samples."""
    keep = (idx >= 0) & (idx < n)
    return np.bincount(idx[keep], weights=amp[keep], minlength=n)[:n].astype(np.float64)


def slow_random(rng: np.random.Generator, n: int, sample_rate: int, knot_hz: float) -> np.ndarray:
    """A smooth random signal (about unit variance) changing ``knot_hz`` times a second, ``n`` samples:
    random knots joined by raised-cosine segments, computed at 1/32 of the sample rate, then interpolated."""
    step = 32
    m = n // step + 2
    pos = np.arange(m) * (step * knot_hz / sample_rate)
    knots = rng.standard_normal(int(pos[-1]) + 2)
    i = pos.astype(np.int64)
    w = 0.5 - 0.5 * np.cos(np.pi * (pos - i))
    ctrl = knots[i] * (1.0 - w) + knots[i + 1] * w
    return np.interp(np.arange(n) / step, np.arange(m), ctrl)


def contact(width_s: float, sample_rate: int) -> np.ndarray:
    """A half-sine contact pulse ``width_s`` long and of unit area (the momentum delivered): a softer
    striker stays in contact longer, which rings the low modes as much and the high ones less."""
    m = max(2, int(width_s * sample_rate))
    p = np.sin(np.pi * (np.arange(m) + 0.5) / m)
    return p / p.sum()


def ring(excitation: np.ndarray, sample_rate: int, freqs_hz, t60_s, amps) -> np.ndarray:
    """Modal bank with each mode's gain set so a unit impulse rings it at amplitude ``amps``."""
    f = np.asarray(freqs_hz, np.float64)
    t60 = np.broadcast_to(np.asarray(t60_s, np.float64), f.shape)
    r = 10.0 ** (-3.0 / (np.maximum(t60, 1e-4) * sample_rate))
    g = np.broadcast_to(np.asarray(amps, np.float64), f.shape) * np.abs(np.sin(2 * np.pi * f / sample_rate)) / (1 - r)
    return modal_bank(excitation, sample_rate, f, t60, g).astype(np.float64)


def finish(y: np.ndarray, n: int) -> np.ndarray:
    """Float32, exactly ``n`` frames, finite, peak at or under 0.98 (scaled down, never clipped)."""
    y = np.nan_to_num(np.asarray(y, np.float64)[:n])
    if y.size < n:
        y = np.pad(y, (0, n - y.size))
    peak = float(np.abs(y).max()) if n else 0.0
    if peak > 0.98:
        y = y * (0.98 / peak)
    return y.astype(np.float32)
