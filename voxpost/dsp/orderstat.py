"""Order statistics by selection: the k-th smallest, the median and the linear-interpolation
quantile (as ``np.median`` / ``np.quantile``) of ``w[:n]`` without a full sort, and the same sought
near a guess (:func:`_ranks_near`: count what lies below and inside a bracket around the guess,
then select among the few values inside it; exact, with the full selection when the rank falls
outside). Kernels for :mod:`voxpost.dsp.clickdetect`; the NumPy references are ``np.median`` and
``np.quantile`` (tests/test_declick.py checks each against them).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _kth_smallest(w, n, k):
    """Reorder ``w[:n]`` (no NaN) so that ``w[k]`` is its ``k``-th smallest value (from 0), with
    nothing larger before it and nothing smaller after it; return that value (quickselect)."""
    lo, hi = 0, n - 1
    while hi > lo:
        mid = (lo + hi) >> 1
        if w[mid] < w[lo]:
            w[mid], w[lo] = w[lo], w[mid]
        if w[hi] < w[mid]:
            w[hi], w[mid] = w[mid], w[hi]
            if w[mid] < w[lo]:
                w[mid], w[lo] = w[lo], w[mid]
        pivot = w[mid]
        i, j = lo, hi
        while i <= j:
            while w[i] < pivot:
                i += 1
            while w[j] > pivot:
                j -= 1
            if i <= j:
                w[i], w[j] = w[j], w[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            break
    return w[k]


@njit(cache=True)
def _has_nan(w, n):
    for i in range(n):
        if w[i] != w[i]:
            return True
    return False


@njit(cache=True)
def _median(w, n):
    """``np.median(w[:n])``, ``w`` destroyed."""
    if _has_nan(w, n):
        return np.median(w[:n])
    half = n >> 1
    if n & 1:
        return _kth_smallest(w, n, half)
    a = _kth_smallest(w, n, half - 1)
    b = w[half]
    for i in range(half + 1, n):
        b = min(b, w[i])
    return (a + b) / 2


@njit(cache=True)
def _ranks_near(w, n, k, guess, spread, buf):
    """``(a, b, True)``: the ``k``-th and ``k + 1``-th smallest of ``w[:n]`` (``b = a`` when
    ``k + 1 == n``), when both lie within ``guess * (1 +- spread)``; else ``(0, 0, False)``.
    ``w`` is left alone, ``buf`` (at least ``n``) is scratch.

    A vectorised pass counts the values below and above the bracket; only if the ranks fall
    inside it are the values in it gathered (a small share of them) and the rank selected among
    those, so a good guess costs well under a selection among all of them. The values are exact:
    those a sort gives. NaN falls in no count and fails the check."""
    k1 = min(k + 1, n - 1)
    lo = guess * (1.0 - spread)
    hi = guess * (1.0 + spread)
    below = 0
    above = 0
    for i in range(n):
        v = w[i]
        below += v < lo
        above += v > hi
    kept = n - below - above
    if not (below <= k and k1 < below + kept):
        return 0.0, 0.0, False
    m = 0
    for i in range(n):
        v = w[i]
        if v >= lo and v <= hi:
            buf[m] = v
            m += 1
    if m != kept:                                     # NaN: neither below, above nor inside
        return 0.0, 0.0, False
    r0 = k - below
    a = _kth_smallest(buf, kept, r0)
    b = a
    if k1 > k:
        b = buf[r0 + 1]
        for i in range(r0 + 2, kept):
            b = min(b, buf[i])
    return a, b, True


@njit(cache=True)
def _median_near(w, n, guess, spread, buf):
    """``(np.median(w[:n]), True)`` when the middle values lie within ``guess * (1 +- spread)``,
    else ``(0.0, False)`` (:func:`_ranks_near`)."""
    half = n >> 1
    if n & 1:
        a, _, ok = _ranks_near(w, n, half, guess, spread, buf)
        return a, ok
    a, b, ok = _ranks_near(w, n, half - 1, guess, spread, buf)
    return (a + b) / 2, ok


@njit(cache=True)
def _quantile_near(w, n, q, guess, spread, buf):
    """``(_quantile(w, n, q), True)`` when the two order statistics it interpolates lie within
    ``guess * (1 +- spread)``, else ``(0.0, False)`` (:func:`_ranks_near`)."""
    k = int(q)
    a, b, ok = _ranks_near(w, n, k, guess, spread, buf)
    return a + (q - k) * (b - a), ok


@njit(cache=True)
def _quantile(w, n, q):
    """The ``q``-th order statistic (interpolated, as ``np.sort`` then interpolate) of ``w[:n]``,
    ``w`` destroyed."""
    k = int(q)
    frac = q - k
    if _has_nan(w, n):
        w[:n].sort()
        lo, hi = w[k], w[min(k + 1, n - 1)]
    else:
        lo = _kth_smallest(w, n, k)
        hi = lo
        if k + 1 < n:
            hi = w[k + 1]
            for i in range(k + 2, n):
                hi = min(hi, w[i])
    return lo + frac * (hi - lo)
