"""FIR taps accumulated into a buffer, eight per sweep: the inner loop of the AR prediction
residual (:func:`voxpost.dsp.ar.residual_into`) and of the true-peak upsampler
(:func:`voxpost.dsp.truepeak.truepeak_block`).

:func:`taps_into` adds ``sum_k c[k] * x[base + step * k + j]`` to ``acc[j]`` for ``j < n``, each
sum's terms one after another in increasing ``k`` (the bits of a scalar loop over ``k``); the
loop over ``j`` is innermost, so it vectorises, and ``acc`` is loaded and stored once per eight
taps. :func:`taps_into_reference` is the NumPy version (the same order of additions, the same bits).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def taps_into(acc: np.ndarray, x: np.ndarray, base: int, step: int, c: np.ndarray, n: int) -> None:
    """``acc[j] += sum_k c[k] * x[base + step * k + j]`` for ``j < n`` (``step`` is +1 or -1)."""
    s = step
    ntap = c.shape[0]
    k = 0
    while k + 8 <= ntap:
        b = base + s * k
        c0, c1, c2, c3, c4, c5, c6, c7 = c[k], c[k + 1], c[k + 2], c[k + 3], c[k + 4], c[k + 5], c[k + 6], c[k + 7]
        y0, y1 = x[b:b + n], x[b + s:b + s + n]
        y2, y3 = x[b + 2 * s:b + 2 * s + n], x[b + 3 * s:b + 3 * s + n]
        y4, y5 = x[b + 4 * s:b + 4 * s + n], x[b + 5 * s:b + 5 * s + n]
        y6, y7 = x[b + 6 * s:b + 6 * s + n], x[b + 7 * s:b + 7 * s + n]
        for j in range(n):
            v = acc[j] + c0 * y0[j]
            v = v + c1 * y1[j]
            v = v + c2 * y2[j]
            v = v + c3 * y3[j]
            v = v + c4 * y4[j]
            v = v + c5 * y5[j]
            v = v + c6 * y6[j]
            acc[j] = v + c7 * y7[j]
        k += 8
    while k < ntap:
        ck = c[k]
        b = base + s * k
        y = x[b:b + n]
        for j in range(n):
            acc[j] += ck * y[j]
        k += 1


def taps_into_reference(acc: np.ndarray, x: np.ndarray, base: int, step: int, c: np.ndarray, n: int) -> None:
    """NumPy version of :func:`taps_into` (one vector add per tap, in increasing ``k``)."""
    for k in range(c.shape[0]):
        b = base + step * k
        acc[:n] += c[k] * x[b:b + n]
