"""Zavalishin's trapezoidal (TPT) state-variable band-pass filter with a per-sample centre frequency.

:func:`svf_bandpass` computes the coefficient ``g = tan(pi fc / fs)`` per sample and is normalised
to unity gain at the centre, so it tracks a moving centre (the wind's speed) without zipper noise.
:func:`svf_bandpass_reference` is the plain Python loop the tests compare it with.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _svf(x, g, k, out):  # pragma: no cover - compiled
    s1 = 0.0
    s2 = 0.0
    for n in range(x.shape[0]):
        gn = g[n]
        a1 = 1.0 / (1.0 + gn * (gn + k))
        v3 = x[n] - s2
        v1 = a1 * s1 + gn * a1 * v3
        v2 = s2 + gn * v1
        s1 = 2.0 * v1 - s1
        s2 = 2.0 * v2 - s2
        out[n] = k * v1


def svf_bandpass(x: np.ndarray, sample_rate: int, fc_hz, q: float) -> np.ndarray:
    """Band-pass ``x`` around a per-sample centre ``fc_hz`` (array or scalar) with quality ``q``.

    Unity gain at the centre; float64 out. ``fc_hz`` is clipped to ``[1 Hz, 0.45 fs]``.
    """
    x = np.ascontiguousarray(x, np.float64)
    g = np.tan(np.pi * np.clip(np.asarray(fc_hz, np.float64), 1.0, 0.45 * sample_rate) / sample_rate)
    g = np.full(x.size, float(g)) if g.ndim == 0 else np.ascontiguousarray(g)
    out = np.empty(x.size)
    if x.size:
        _svf(x, g, 1.0 / float(q), out)
    return out


def svf_bandpass_reference(x: np.ndarray, sample_rate: int, fc_hz, q: float) -> np.ndarray:
    """:func:`svf_bandpass` as a plain Python loop (the specification; slow)."""
    x = np.asarray(x, np.float64)
    g = np.tan(np.pi * np.clip(np.asarray(fc_hz, np.float64), 1.0, 0.45 * sample_rate) / sample_rate) * np.ones(x.size)
    k, s1, s2, out = 1.0 / q, 0.0, 0.0, np.empty(x.size)
    for n in range(x.size):
        v1 = (s1 + g[n] * (x[n] - s2)) / (1.0 + g[n] * (g[n] + k))
        v2 = s2 + g[n] * v1
        s1, s2 = 2 * v1 - s1, 2 * v2 - s2
        out[n] = k * v1
    return out
