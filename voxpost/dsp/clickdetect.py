"""Fast pre-test for click detection: does any sample in a detection range exceed the threshold
in both the forward and the backward AR prediction residual?

:class:`voxpost.clean.declick.DeClick` asks this once per 1.5 ms hop; almost always the answer is
no, and then nothing else runs for that hop. The threshold is ``threshold`` times the larger of
the window-wide scale ``wide`` and ``local_k`` times the ``q``-quantile (linear interpolation, as
``np.quantile``) of ``|residual|`` over the ``local`` samples ending at ``end``.
:func:`click_pretest` is the Numba kernel; :func:`click_pretest_reference` the NumPy version.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from voxpost.dsp.ar import ar_residual, autocorr, levinson


@njit(cache=True)
def _residual_at(x, a, i):
    """Forward prediction error at sample ``i`` (needs ``p`` samples of past)."""
    p = a.shape[0] - 1
    s = 0.0
    for k in range(p + 1):
        s += a[k] * x[i - k]
    return s


@njit(cache=True)
def _backward_at(x, a, i):
    p = a.shape[0] - 1
    s = 0.0
    for k in range(p + 1):
        s += a[k] * x[i + k]
    return s


@njit(cache=True)
def local_quantile(x, a, end, local, q):
    """The ``q``-th order statistic (interpolated) of ``|fwd residual|`` over the ``local``
    samples ending at ``end``."""
    near = np.empty(local)
    for j in range(local):
        near[j] = abs(_residual_at(x, a, end - local + j))
    near.sort()
    k = int(q)
    frac = q - k
    return near[k] + frac * (near[min(k + 1, local - 1)] - near[k])


@njit(cache=True)
def click_pretest(x, a, lo, hi, end, local, q, local_k, wide, threshold, local_qv=-1.0):
    """True when some ``i`` in ``[lo, hi)`` has ``|fwd[i]| > t`` and ``|bwd[j]| > t`` for a ``j``
    within 2 samples of it (or the other way round). Also returns the threshold ``t``.
    ``local_qv >= 0`` is a local quantile computed earlier (:func:`local_quantile`), used as is."""
    qv = local_qv if local_qv >= 0.0 else local_quantile(x, a, end, local, q)
    scale = max(wide, local_k * qv)
    t = threshold * scale
    n = hi - lo
    f = np.empty(n, np.bool_)
    b = np.empty(n, np.bool_)
    anyf = False
    anyb = False
    for i in range(n):
        f[i] = abs(_residual_at(x, a, lo + i)) > t
        b[i] = abs(_backward_at(x, a, lo + i)) > t
        anyf = anyf or f[i]
        anyb = anyb or b[i]
    if not (anyf and anyb):
        return False, t
    for i in range(n):
        if f[i] or b[i]:
            for j in range(max(0, i - 2), min(n, i + 3)):
                if (f[i] and b[j]) or (b[i] and f[j]):
                    return True, t
    return False, t


def click_pretest_reference(x, a, lo, hi, end, local, q, local_k, wide, threshold, local_qv=-1.0):
    x = np.asarray(x, np.float64)
    p = a.size - 1
    fwd_all = np.convolve(x, a, "valid")            # fwd_all[i - p] is the error at sample i
    near = np.abs(fwd_all[end - local - p:end - p])
    qv = local_qv if local_qv >= 0.0 else np.quantile(near, q / (local - 1))
    t = threshold * max(wide, local_k * qv)
    f = np.abs(fwd_all[lo - p:hi - p]) > t
    b = np.abs(np.convolve(x[::-1], a, "valid")[::-1][lo:hi]) > t
    hit = False
    for i in np.flatnonzero(f | b):
        js = slice(max(0, i - 2), min(f.size, i + 3))
        hit |= bool((f[i] and b[js].any()) or (b[i] and f[js].any()))
    return hit, t


@njit(cache=True)
def fit_ar_hann(seg, hann, order):
    """:func:`voxpost.dsp.ar.fit_ar` (Hann window, -60 dB white-noise lift) inside Numba code."""
    w = seg * hann
    r = autocorr(w, order)
    r[0] = r[0] * (1.0 + 1e-6) + 1e-12 * seg.size
    a, _ = levinson(r, order)
    return a


@njit(cache=True)
def scan_hops(x, s0, n_hops, hop, lookahead, window, hann, refit, now0, model_a, model_state,
              local, q, local_k, threshold, scale_floor):
    """Run the click pre-test over ``n_hops`` hops of ``hop`` samples from buffer index ``s0``
    (absolute ``now0``), refitting the AR model on the ``window`` samples ending at each hop's
    lookahead end whenever it is due. ``model_a`` (coefficients) and ``model_state`` (``[wide
    scale, absolute index of the next refit, fitted?]``) are updated in place. Returns the index
    of the first hop whose pre-test hits (its model already fitted), or ``n_hops`` for none.
    ``model_state[3]`` holds the local residual quantile, refreshed with the model: the pre-test
    uses it between refits (a hit is re-checked in Python with a fresh one)."""
    order = model_a.shape[0] - 1
    for h in range(n_hops):
        s = s0 + h * hop
        end = s + hop + lookahead
        now = now0 + h * hop
        if model_state[2] == 0.0 or now >= model_state[1]:
            seg = x[end - window:end]
            a = fit_ar_hann(seg, hann, order)
            model_a[:] = a
            res = np.abs(ar_residual(seg, a))
            model_state[0] = max(1.4826 * np.median(res), scale_floor)
            model_state[1] = now + refit
            model_state[2] = 1.0
            model_state[3] = local_quantile(x, model_a, end, local, q)
        hit, _ = click_pretest(x, model_a, s - order, end - order, end, local, q, local_k,
                               model_state[0], threshold, model_state[3])
        if hit:
            return h
    return n_hops
