"""BS.1770-4 loudness arithmetic on whole arrays: K-weighting, channel weights, 400 ms block powers,
the -70 LUFS absolute and relative gates, integrated loudness, and the EBU Tech 3342 loudness range.

Pure functions on ``[channels, frames]`` float arrays; programme meters (whole-file, streamed,
dialogue-gated) are built on them in :mod:`voxpost.clean.meter`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

#: Absolute gate of BS.1770 (LUFS).
ABSOLUTE_GATE = -70.0


def _db(x: float) -> float:
    return 20.0 * math.log10(x) if x > 0 else -math.inf


def _as_array(samples: Any, sample_rate: int | None) -> tuple[np.ndarray, int]:
    """Accept an Audio, an array [channels, frames] (or 1-D), or an iterable of blocks."""
    if hasattr(samples, "samples") and hasattr(samples, "sample_rate"):
        return np.asarray(samples.samples, np.float32), int(sample_rate or samples.sample_rate)
    if sample_rate is None:
        raise TypeError("sample_rate is required unless an Audio is given")
    if not isinstance(samples, np.ndarray) and isinstance(samples, Iterable):
        blocks = [np.atleast_2d(np.asarray(b, np.float32)) for b in samples]
        samples = np.concatenate(blocks, axis=1) if blocks else np.zeros((1, 0), np.float32)
    x = np.atleast_2d(np.asarray(samples, np.float32))
    return x, int(sample_rate)


# -- K-weighting and BS.1770 gating ---------------------------------------------------------

def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """BS.1770 K-weighting as two biquads ``[2, 6]``: the +4 dB high shelf and the RLB high-pass.

    Designed at any rate with the RBJ cookbook (bilinear) forms and the parameters of
    pyloudnorm's default ``"K-weighting"`` meter (shelf 1500 Hz, +4 dB, Q 1/sqrt(2); high-pass
    38 Hz, Q 0.5), normalised with :func:`scipy.signal.tf2sos`, so our short-term/gated figures
    agree with :func:`measure_loudness`. (At 48 kHz the coefficients differ from those printed in
    BS.1770 in the 3rd-4th decimal; the magnitude responses agree to a few hundredths of a dB.)
    """
    from scipy import signal

    fs = float(sample_rate)
    # high shelf
    A = 10 ** (4.0 / 40.0)
    w0 = 2 * math.pi * 1500.0 / fs
    alpha = math.sin(w0) / (2 * (1 / math.sqrt(2)))
    c = math.cos(w0)
    b = [A * ((A + 1) + (A - 1) * c + 2 * math.sqrt(A) * alpha),
         -2 * A * ((A - 1) + (A + 1) * c),
         A * ((A + 1) + (A - 1) * c - 2 * math.sqrt(A) * alpha)]
    a = [(A + 1) - (A - 1) * c + 2 * math.sqrt(A) * alpha,
         2 * ((A - 1) - (A + 1) * c),
         (A + 1) - (A - 1) * c - 2 * math.sqrt(A) * alpha]
    shelf = signal.tf2sos(b, a)
    # RLB high-pass
    w0 = 2 * math.pi * 38.0 / fs
    alpha = math.sin(w0) / (2 * 0.5)
    c = math.cos(w0)
    b = [(1 + c) / 2, -(1 + c), (1 + c) / 2]
    a = [1 + alpha, -2 * c, 1 - alpha]
    hp = signal.tf2sos(b, a)
    return np.ascontiguousarray(np.vstack([shelf, hp]), np.float64)


def _channel_weights(channels: int) -> np.ndarray:
    """BS.1770 channel weights: 1.0, and 1.41 for the surrounds of a 5.0/5.1 layout (L R C [LFE] Ls Rs)."""
    g = np.ones(channels)
    if channels == 5:
        g[3:5] = 1.41
    elif channels == 6:  # L R C LFE Ls Rs: LFE excluded
        g[3] = 0.0
        g[4:6] = 1.41
    return g


def _k_power(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Channel-weighted K-weighted power per sample, float64 [frames]."""
    from scipy import signal

    y = signal.sosfilt(k_weighting_sos(sample_rate), np.asarray(x, np.float64), axis=1)
    return (_channel_weights(x.shape[0])[:, None] * y * y).sum(axis=0)


def _block_powers(power: np.ndarray, sample_rate: int, seconds: float, step: float) -> np.ndarray:
    size, hop = int(round(seconds * sample_rate)), int(round(step * sample_rate))
    if power.size < size:
        return np.array([power.mean()]) if power.size else np.zeros(0)
    csum = np.concatenate([[0.0], np.cumsum(power)])
    starts = np.arange(0, power.size - size + 1, hop)
    return (csum[starts + size] - csum[starts]) / size


def _gated(z: np.ndarray, relative_lu: float) -> float:
    """BS.1770 gating of block mean-squares ``z``: absolute -70 LUFS, then ``relative_lu`` below."""
    if z.size == 0:
        return -math.inf
    lj = -0.691 + 10 * np.log10(np.maximum(z, 1e-300))
    z = z[lj > ABSOLUTE_GATE]
    if z.size == 0:
        return -math.inf
    rel = -0.691 + 10 * math.log10(z.mean()) - relative_lu
    lj = -0.691 + 10 * np.log10(z)
    z = z[lj > rel]
    return -0.691 + 10 * math.log10(z.mean()) if z.size else -math.inf


def integrated_loudness(samples: np.ndarray, sample_rate: int, *, mask: np.ndarray | None = None) -> float:
    """BS.1770-4 integrated loudness (LUFS) of ``[channels, frames]``; -inf for silence.

    Our own implementation (checked against pyloudnorm in the tests); ``mask`` [frames] bool
    restricts it to 400 ms blocks at least half inside the mask (dialogue gating).
    Signals shorter than one 400 ms block are measured as a single ungated-by-time block.
    """
    x, fs = _as_array(samples, sample_rate)
    p = _k_power(x, fs)
    z = _block_powers(p, fs, 0.4, 0.1)
    if mask is not None and z.size:
        m = _block_powers(np.asarray(mask, np.float64), fs, 0.4, 0.1)
        z = z[m >= 0.5]
    return _gated(z, 10.0)


def loudness_range(samples: np.ndarray, sample_rate: int) -> float:
    """EBU Tech 3342 loudness range (LU): 3 s short-term blocks every 100 ms, gated -70 / -20, P95 - P10."""
    x, fs = _as_array(samples, sample_rate)
    return _lra(_block_powers(_k_power(x, fs), fs, 3.0, 0.1))


def _lra(z: np.ndarray) -> float:
    """Loudness range from 3 s short-term block powers (gated -70 LUFS and -20 LU; P95 - P10)."""
    if z.size == 0:
        return 0.0
    lj = -0.691 + 10 * np.log10(np.maximum(z, 1e-300))
    z = z[lj > ABSOLUTE_GATE]
    if z.size == 0:
        return 0.0
    rel = -0.691 + 10 * math.log10(z.mean()) - 20.0
    lj = -0.691 + 10 * np.log10(z)
    lj = lj[lj > rel]
    if lj.size < 2:
        return 0.0
    return float(np.percentile(lj, 95) - np.percentile(lj, 10))
