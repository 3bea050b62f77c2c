"""Clipping rail tracking and the clipped-sample scan of de-clip (:mod:`voxpost.clean.declip`),
hop after hop in one Numba call.

Per hop of ``hop`` samples starting at buffer index ``s`` (lookahead ``lookahead`` samples after
it), for one channel of the float64 buffer ``x``:

1. **Rail tracking** (auto rail only, ``clip_level = 0``): the samples not scanned yet, from
   ``scanned`` (absolute index) to the end of the hop's lookahead, update the running peak of each
   polarity (``+x`` and ``-x``); a new peak withdraws that polarity's rail; a polarity without a
   rail accepts its peak as the rail once 3 consecutive samples sit at or above ``peak * (1 -
   tol)`` (the check reaches 2 samples back into what was scanned before).
2. **Clipped test**: does any sample of the hop itself sit at a rail (``x >= rail_pos * (1 -
   tol)`` or ``-x >= rail_neg * (1 - tol)``, for the rails that are set)?

:func:`scan_hops` runs hops until the first whose clipped test is positive and returns its
index (``n`` if none), having tracked the rails up to and including it; the caller repairs that
hop (which may rewrite samples the next hop's 3-sample check reads) and calls again from the next
hop. :func:`scan_hops_reference` is the NumPy version the tests compare it with.

State, updated in place: ``peak`` and ``rail`` ``[2]`` (positive, negative polarity; rail 0 =
none) and ``scanned`` ``[1]`` (int64, absolute index scanned up to).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _track(x, i0, i1, peak, rail, tol):
    """Rail tracking over ``x[i0:i1]`` for both polarities (see the module docstring)."""
    if i1 <= i0:
        return
    for k in range(2):
        sign = 1.0 if k == 0 else -1.0
        top = sign * x[i0]
        for i in range(i0 + 1, i1):
            v = sign * x[i]
            if v > top:
                top = v
        p = peak[k]
        if top > p:
            p = top
            peak[k] = p
            rail[k] = 0.0
        if rail[k] == 0.0 and p > 0.0:
            thr = p * (1 - tol)
            run = 0
            for i in range(max(i0 - 2, 0), i1):
                run = run + 1 if sign * x[i] >= thr else 0
                if run >= 3:
                    rail[k] = p
                    break


@njit(cache=True)
def scan_hops(x, s, n, hop, lookahead, start, clip_level, peak, rail, scanned, tol):
    """Hops ``0..n-1`` (buffer index ``s + k * hop``, absolute ``start + k * hop``): track the rails
    (when ``clip_level == 0``) and return the first hop with a clipped sample, else ``n``."""
    for k in range(n):
        hs = s + k * hop
        end = hs + hop + lookahead
        if clip_level > 0:
            r0 = clip_level
            r1 = clip_level
        else:
            i0 = scanned[0] - (start + k * hop) + hs
            scanned[0] = start + k * hop + hop + lookahead
            _track(x, max(i0, 0), end, peak, rail, tol)
            r0 = rail[0]
            r1 = rail[1]
        if r0 == 0.0 and r1 == 0.0:
            continue
        t0 = r0 * (1 - tol)
        t1 = r1 * (1 - tol)
        for i in range(hs, hs + hop):
            if (r0 > 0 and x[i] >= t0) or (r1 > 0 and -x[i] >= t1):
                return k
    return n


def scan_hops_reference(x: np.ndarray, s: int, n: int, hop: int, lookahead: int, start: int,
                        clip_level: float, peak: np.ndarray, rail: np.ndarray, scanned: np.ndarray,
                        tol: float) -> int:
    """NumPy version of :func:`scan_hops` (loop over hops, vectorised within one)."""
    for k in range(n):
        hs, end = s + k * hop, s + k * hop + hop + lookahead
        if clip_level > 0:
            rails = np.array([clip_level, clip_level])
        else:
            i0 = max(int(scanned[0]) - (start + k * hop) + hs, 0)
            scanned[0] = start + k * hop + hop + lookahead
            for j, v in enumerate((x, -x)):
                new = v[i0:end]
                if new.size == 0:
                    continue
                top = max(peak[j], float(new.max()))
                if top > peak[j]:
                    peak[j], rail[j] = top, 0.0
                if rail[j] == 0.0 and top > 0.0:
                    w = v[max(i0 - 2, 0):end] >= top * (1 - tol)
                    if w.size >= 3 and np.any(w[2:] & w[1:-1] & w[:-2]):
                        rail[j] = top
            rails = rail
        if not rails.any():
            continue
        seg = x[hs:hs + hop]
        hit = np.zeros(seg.size, bool)
        if rails[0] > 0:
            hit |= seg >= rails[0] * (1 - tol)
        if rails[1] > 0:
            hit |= -seg >= rails[1] * (1 - tol)
        if hit.any():
            return k
    return n
