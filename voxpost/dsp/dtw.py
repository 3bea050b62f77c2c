"""Dynamic time warping inside a band: the kernel under script alignment.

:func:`dtw_band` aligns two feature sequences ``a`` [n, d] and ``b`` [m, d] (Euclidean frame
distance, steps (1,1), (1,0) and (0,1), all of weight 1) but only visits, for each row ``i``, the
columns ``lo[i] <= j < hi[i]``. Memory and time are the band's area, not ``n * m``: with a band
of constant width around a coarse path, an hour aligns in linear time and memory.

The path starts at ``(0, 0)``. It ends at ``(n - 1, m - 1)``, or with ``open_end`` at the column
of the last row with the lowest cost per step, for aligning a piece of one sequence against a
longer stretch of the other.

:func:`dtw_band_reference` is the plain NumPy/Python version the kernel is tested against.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_INF = np.float32(np.inf)


@njit(cache=True)
def _dtw_band_kernel(a, b, lo, hi, open_end):  # pragma: no cover - compiled
    n = a.shape[0]
    d = a.shape[1]
    # Ragged storage: row i's cells live at off[i] .. off[i] + hi[i] - lo[i], so memory is the
    # band's area even where a row is wide (a long pause on one side).
    off = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        off[i + 1] = off[i] + hi[i] - lo[i]
    acc = np.full(off[n], np.inf, dtype=np.float32)
    move = np.zeros(off[n], dtype=np.int8)       # 0 diagonal, 1 from the row above, 2 from the left
    for i in range(n):
        for j in range(lo[i], hi[i]):
            c = np.float32(0.0)
            for k in range(d):
                t = a[i, k] - b[j, k]
                c += t * t
            c = np.sqrt(c)
            here = off[i] + j - lo[i]
            if i == 0 and j == 0:
                acc[here] = c
                continue
            best = np.float32(np.inf)
            step = 0
            if i > 0 and lo[i - 1] <= j - 1 < hi[i - 1]:
                v = acc[off[i - 1] + j - 1 - lo[i - 1]]
                if v < best:
                    best = v
                    step = 0
            if i > 0 and lo[i - 1] <= j < hi[i - 1]:
                v = acc[off[i - 1] + j - lo[i - 1]]
                if v < best:
                    best = v
                    step = 1
            if j > lo[i]:
                v = acc[here - 1]
                if v < best:
                    best = v
                    step = 2
            acc[here] = best + c
            move[here] = step
    # End point.
    i = n - 1
    j = hi[i] - 1
    if open_end:
        best = np.inf
        for jj in range(lo[i], hi[i]):
            v = acc[off[i] + jj - lo[i]] / (i + jj + 1)
            if v < best:
                best = v
                j = jj
    total = acc[off[i] + j - lo[i]]
    pi = np.empty(n + b.shape[0], dtype=np.int64)
    pj = np.empty(n + b.shape[0], dtype=np.int64)
    k = 0
    while True:
        pi[k] = i
        pj[k] = j
        k += 1
        if i == 0 and j == 0:
            break
        s = move[off[i] + j - lo[i]]
        if s == 0:
            i -= 1
            j -= 1
        elif s == 1:
            i -= 1
        else:
            j -= 1
    return pi[:k][::-1].copy(), pj[:k][::-1].copy(), total


def _check(a: np.ndarray, b: np.ndarray, lo: np.ndarray | None, hi: np.ndarray | None):
    a = np.ascontiguousarray(a, dtype=np.float32)
    b = np.ascontiguousarray(b, dtype=np.float32)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or not len(a) or not len(b):
        raise ValueError("dtw needs two non-empty [frames, features] arrays of equal feature size")
    n, m = len(a), len(b)
    lo = np.zeros(n, np.int64) if lo is None else np.clip(np.asarray(lo, np.int64), 0, m - 1)
    hi = np.full(n, m, np.int64) if hi is None else np.clip(np.asarray(hi, np.int64), 1, m)
    if lo[0] != 0 or np.any(hi <= lo) or np.any(np.diff(lo) < 0) or np.any(np.diff(hi) < 0):
        raise ValueError("band must start at column 0, be non-empty and move forward")
    if np.any(lo[1:] > hi[:-1]):
        raise ValueError("band rows must overlap so that a path exists")
    return a, b, lo, hi


def dtw_band(a: np.ndarray, b: np.ndarray, lo: np.ndarray | None = None, hi: np.ndarray | None = None,
             *, open_end: bool = False) -> tuple[np.ndarray, np.ndarray, float]:
    """Align ``a`` [n, d] with ``b`` [m, d] inside the band ``lo[i] <= j < hi[i]``.

    Parameters
    ----------
    a, b : ndarray
        Feature sequences, frames first.
    lo, hi : ndarray of int, optional
        Per-row column range; default the whole matrix. Both non-decreasing, ``lo[0] == 0``.
    open_end : bool
        End on the last row at the cheapest column per step instead of at ``(n-1, m-1)``.

    Returns
    -------
    path_i, path_j : ndarray of int64
        The warping path, from ``(0, 0)``.
    cost : float
        Accumulated distance along the path.
    """
    a, b, lo, hi = _check(a, b, lo, hi)
    if not open_end and hi[-1] != len(b):
        raise ValueError("without open_end the band's last row must reach the last column")
    pi, pj, total = _dtw_band_kernel(a, b, lo, hi, open_end)
    return pi, pj, float(total)


def dtw_band_reference(a: np.ndarray, b: np.ndarray, lo: np.ndarray | None = None,
                       hi: np.ndarray | None = None, *, open_end: bool = False):
    """NumPy reference of :func:`dtw_band` (full matrix, masked outside the band); small inputs only."""
    a, b, lo, hi = _check(a, b, lo, hi)
    n, m = len(a), len(b)
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1)).astype(np.float32)
    inside = (np.arange(m)[None, :] >= lo[:, None]) & (np.arange(m)[None, :] < hi[:, None])
    acc = np.full((n, m), np.inf, np.float32)
    move = np.zeros((n, m), np.int8)
    for i in range(n):
        for j in range(m):
            if not inside[i, j]:
                continue
            if i == 0 and j == 0:
                acc[0, 0] = cost[0, 0]
                continue
            options = [acc[i - 1, j - 1] if i and j else np.inf, acc[i - 1, j] if i else np.inf,
                       acc[i, j - 1] if j else np.inf]
            step = int(np.argmin(options))
            acc[i, j] = options[step] + cost[i, j]
            move[i, j] = step
    i = n - 1
    j = m - 1
    if open_end:
        cols = np.arange(lo[i], hi[i])
        j = int(cols[np.argmin(acc[i, cols] / (i + cols + 1))])
    else:
        j = hi[i] - 1
    total = float(acc[i, j])
    path = [(i, j)]
    while (i, j) != (0, 0):
        s = move[i, j]
        i, j = (i - 1, j - 1) if s == 0 else (i - 1, j) if s == 1 else (i, j - 1)
        path.append((i, j))
    path.reverse()
    p = np.array(path, dtype=np.int64)
    return p[:, 0], p[:, 1], total
