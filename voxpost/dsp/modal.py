"""Modal resonator bank: an excitation through many damped two-pole resonators, summed.

The physical model of struck and scraped objects (Farnell, "Designing Sound"; GameSynth's impact
models): a bell, a door, a wooden board or a glass pane rings at its modes, each a frequency with
its own decay. Mode ``k`` is the recursion ``y[n] = g*x[n] + 2 r cos(w) y[n-1] - r^2 y[n-2]`` with
``r = 10 ** (-3 / (t60 * fs))`` (the mode falls 60 dB in ``t60`` seconds) and ``w = 2 pi f / fs``;
``g = gain * (1 - r)`` keeps modes of different decays comparable. The kernel runs the modes in
one pass over the samples (Numba, ``cache=True``); :func:`modal_bank_reference` is the same
recursion with SciPy's ``lfilter``, which the kernel is tested against.

Examples
--------
>>> import numpy as np
>>> x = np.zeros(4800, np.float32); x[0] = 1.0
>>> y = modal_bank(x, 48000, [440.0, 1210.0], [0.5, 0.2], [1.0, 0.5])
>>> y.shape, y.dtype
((4800,), dtype('float32'))
"""

from __future__ import annotations

import numpy as np
from numba import njit


def coefficients(sample_rate: int, freqs_hz, t60_s, gains) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(b0, a1, a2)`` per mode (float64); modes at or above Nyquist get zero gain."""
    f = np.asarray(freqs_hz, np.float64)
    t60 = np.maximum(np.asarray(t60_s, np.float64), 1e-4)
    g = np.asarray(gains, np.float64) * (f < 0.49 * sample_rate)
    if not (f.shape == t60.shape == g.shape) or f.ndim != 1:
        raise ValueError("freqs_hz, t60_s and gains must be 1-D and of one length")
    r = 10.0 ** (-3.0 / (t60 * sample_rate))
    w = 2 * np.pi * np.clip(f, 0.0, 0.49 * sample_rate) / sample_rate
    return g * (1 - r), -2 * r * np.cos(w), r * r


@njit(cache=True)
def _bank(x, b0, a1, a2, out):  # pragma: no cover - compiled
    m = b0.size
    y1 = np.zeros(m)
    y2 = np.zeros(m)
    for n in range(x.size):
        xn = x[n]
        acc = 0.0
        for k in range(m):
            y = b0[k] * xn - a1[k] * y1[k] - a2[k] * y2[k]
            y2[k] = y1[k]
            y1[k] = y
            acc += y
        out[n] = acc


def modal_bank(excitation: np.ndarray, sample_rate: int, freqs_hz, t60_s, gains) -> np.ndarray:
    """Ring ``excitation`` (mono float32) through the modes; returns float32 of the same length."""
    x = np.ascontiguousarray(excitation, np.float64)
    b0, a1, a2 = coefficients(sample_rate, freqs_hz, t60_s, gains)
    out = np.zeros(x.size, np.float64)
    if b0.size and x.size:
        _bank(x, b0, a1, a2, out)
    return out.astype(np.float32)


def modal_bank_reference(excitation: np.ndarray, sample_rate: int, freqs_hz, t60_s, gains) -> np.ndarray:
    """The same bank with ``scipy.signal.lfilter``, one mode at a time (the specification)."""
    from scipy.signal import lfilter

    x = np.asarray(excitation, np.float64)
    b0, a1, a2 = coefficients(sample_rate, freqs_hz, t60_s, gains)
    out = np.zeros(x.size)
    for k in range(b0.size):
        out += lfilter([b0[k]], [1.0, a1[k], a2[k]], x)
    return out.astype(np.float32)
