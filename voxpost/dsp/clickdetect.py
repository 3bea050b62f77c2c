"""Fast pre-test for click detection: does any sample in a detection range exceed the threshold
in both the forward and the backward AR prediction residual?

:class:`voxpost.clean.declick.DeClick` asks this once per 1.5 ms hop; almost always the answer is
no, and then nothing else runs for that hop. The threshold is ``threshold`` times the larger of
the window-wide scale ``wide`` and ``local_k`` times the ``q``-quantile (linear interpolation, as
``np.quantile``) of ``|residual|`` over the ``local`` samples ending at ``end``.
:func:`click_pretest` is the Numba kernel; :func:`click_pretest_reference` the NumPy version.
Where it hits, :func:`click_spans` says which samples make which click.
:func:`scan_hops` runs the pre-test (and the AR refits it needs) over many hops in one call;
:func:`scan_hops_reference` is its NumPy version.

Order statistics (the median, the local quantile) are found by selection
(:mod:`voxpost.dsp.orderstat`), not a full sort: the value selected is the same. At a refit the
window-wide median and the local quantile are first sought near the last refit's (counts, then
selection among the few values in a bracket), exact too. Residuals are computed by
:func:`voxpost.dsp.ar.residual_into`, which adds each error's terms in the same order as a scalar
loop, so the kernels give the same bits whichever of them computes a residual.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from voxpost.dsp.ar import ar_residual_reference, autocorr, fit_ar, levinson, residual_into
from voxpost.dsp.orderstat import _median, _median_near, _quantile, _quantile_near


#: Half-width of the bracket around the last refit's median (relative) in :func:`scan_hops`: on
#: 60 s of the dialogue reel every 5 ms refit's median fell inside +-10 % of the one before.
MEDIAN_SPREAD = 0.1
#: The same for the local quantile (8 ms windows, 5 ms apart: they move more): inside +-30 % of
#: the one before at 99.9 % of the refits there.
QUANTILE_SPREAD = 0.3


@njit(cache=True)
def local_quantile(x, a, end, local, q):
    """The ``q``-th order statistic (interpolated) of ``|fwd residual|`` over the ``local``
    samples ending at ``end``."""
    near = np.empty(local)
    residual_into(x, a, end - local, end, near, 0, False)
    for j in range(local):
        near[j] = abs(near[j])
    return _quantile(near, local, q)


@njit(cache=True)
def _any_pair(f, fo, b, bo, lo, hi, t):
    """Some ``i`` in ``[lo, hi)`` has ``|f[i - fo]| > t`` and ``|b[j - bo]| > t`` for a ``j`` in
    ``[lo, hi)`` within 2 samples of it (the same as: some ``i`` flagged in either, with a ``j``
    flagged in the other)."""
    for i in range(lo, hi):
        if abs(f[i - fo]) > t:
            for j in range(max(lo, i - 2), min(hi, i + 3)):
                if abs(b[j - bo]) > t:
                    return True
    return False


@njit(cache=True)
def click_pretest(x, a, lo, hi, end, local, q, local_k, wide, threshold, local_qv=-1.0):
    """True when some ``i`` in ``[lo, hi)`` has ``|fwd[i]| > t`` and ``|bwd[j]| > t`` for a ``j``
    within 2 samples of it (or the other way round). Also returns the threshold ``t``.
    ``local_qv >= 0`` is a local quantile computed earlier (:func:`local_quantile`), used as is."""
    qv = local_qv if local_qv >= 0.0 else local_quantile(x, a, end, local, q)
    scale = max(wide, local_k * qv)
    t = threshold * scale
    n = hi - lo
    if n <= 0:
        return False, t
    fwd = np.empty(n)
    bwd = np.empty(n)
    residual_into(x, a, lo, hi, fwd, 0, False)
    residual_into(x, a, lo, hi, bwd, 0, True)
    return _any_pair(fwd, lo, bwd, lo, lo, hi, t), t


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
def click_spans(x, a, lo, hi, t, near, gap):
    """The clicks in ``[lo, hi)`` at threshold ``t``: a sample is flagged when ``|fwd| > t`` and
    ``|bwd| > t`` within ``near`` samples of it (or the other way round); flags with at most
    ``gap`` unflagged samples between them make one click. Returns ``[m, 2]`` half-open
    ``(start, end)`` buffer indices. :func:`click_spans_reference` is the NumPy version."""
    n = max(hi - lo, 0)
    spans = np.empty((n, 2), np.int64)
    fwd = np.empty(n)
    bwd = np.empty(n)
    residual_into(x, a, lo, hi, fwd, 0, False)
    residual_into(x, a, lo, hi, bwd, 0, True)
    m, last = 0, 0
    for i in range(n):
        fi, bi, flag = abs(fwd[i]) > t, abs(bwd[i]) > t, False
        if fi or bi:
            for j in range(max(0, i - near), min(n, i + near + 1)):
                if (fi and abs(bwd[j]) > t) or (bi and abs(fwd[j]) > t):
                    flag = True
                    break
        if flag:
            if m > 0 and i - last - 1 <= gap:
                spans[m - 1, 1] = lo + i + 1
            else:
                spans[m, 0], spans[m, 1] = lo + i, lo + i + 1
                m += 1
            last = i
    return spans[:m]


def _dilate(flags: np.ndarray, k: int) -> np.ndarray:
    """True within ``k`` samples of any True."""
    if k <= 0 or not flags.any():
        return flags
    c = np.concatenate([[0], np.cumsum(flags)])
    n = flags.size
    i = np.arange(n)
    return (c[np.minimum(i + k + 1, n)] - c[np.maximum(i - k, 0)]) > 0


def merge_flags(flags: np.ndarray, gap: int) -> list[tuple[int, int]]:
    """Half-open ``(start, end)`` runs of True in ``flags``, merging runs separated by <= ``gap``."""
    idx = np.flatnonzero(flags)
    if idx.size == 0:
        return []
    breaks = np.flatnonzero(np.diff(idx) > gap + 1)
    starts = np.concatenate([[idx[0]], idx[breaks + 1]])
    ends = np.concatenate([idx[breaks], [idx[-1]]]) + 1
    return list(zip(starts.tolist(), ends.tolist()))


def click_spans_reference(x, a, lo, hi, t, near, gap):
    x = np.asarray(x, np.float64)
    p = a.size - 1
    f = np.abs(np.convolve(x[lo - p:hi], a, "valid")) > t
    b = np.abs(np.convolve(x[lo:hi + p][::-1], a, "valid")[::-1]) > t
    flags = (f & _dilate(b, near)) | (b & _dilate(f, near))
    return np.array([(lo + r0, lo + r1) for r0, r1 in merge_flags(flags, gap)], np.int64).reshape(-1, 2)


@njit(cache=True)
def fit_ar_hann(seg, hann, order):
    """:func:`voxpost.dsp.ar.fit_ar` (Hann window, -60 dB white-noise lift) inside Numba code."""
    w = seg * hann
    r = autocorr(w, order)
    r[0] = r[0] * (1.0 + 1e-6) + 1e-12 * seg.size
    a, _ = levinson(r, order)
    return a


@njit(cache=True)
def _keep(x, a, row, pos, j, lo, hi, off, backward):
    """Make ``row`` hold the residuals of buffer samples ``[lo, hi)``; ``pos[j:j + 2]`` is the
    absolute range it holds (from ``row[0]``): extend it, or start again from ``lo``."""
    start, stop = pos[j], pos[j + 1]
    if stop <= start or lo + off < start or hi + off - start > row.shape[0]:
        residual_into(x, a, lo, hi, row, 0, backward)
        pos[j], pos[j + 1] = lo + off, hi + off
    elif hi + off > stop:
        residual_into(x, a, stop - off, hi, row, stop - start, backward)
        pos[j + 1] = hi + off


def scan_cache(window, local, order, hop, lookahead, refit):
    """The residual cache :func:`scan_hops` keeps for one channel: ``(cache, cache_pos)``, empty.
    Set ``cache_pos[0] = 0`` whenever the model or the signal changes outside the kernel."""
    span = max(window, local + order, hop + lookahead + order) + refit + 2 * hop
    return np.zeros((2, span)), np.zeros(5, np.int64)


@njit(cache=True)
def scan_hops(x, s0, n_hops, hop, lookahead, window, hann, refit, now0, model_a, model_state,
              local, q, local_k, threshold, scale_floor, cache, cache_pos):
    """Run the click pre-test over ``n_hops`` hops of ``hop`` samples from buffer index ``s0``
    (absolute ``now0``), refitting the AR model on the ``window`` samples ending at each hop's
    lookahead end whenever it is due. ``model_a`` (coefficients) and ``model_state`` (``[wide
    scale, absolute index of the next refit, fitted?]``) are updated in place. Returns the index
    of the first hop whose pre-test hits (its model already fitted), or ``n_hops`` for none.
    ``model_state[3]`` holds the local residual quantile, refreshed with the model: the pre-test
    uses it between refits (a hit is re-checked in Python with a fresh one).

    Each hop's test is :func:`click_pretest` on ``[s - order, end - order)``. While the model
    stands, consecutive hops' ranges overlap (the lookahead is longer than a hop), so the forward
    and backward residuals are kept in ``cache`` (``[2, span]``, from :func:`scan_cache`) by
    absolute sample index and only the new samples' are computed; a refit's window residual (for
    the scale and the local quantile) is the first hop's forward residual too. ``cache_pos`` is
    ``[valid?, forward start, forward end, backward start, backward end]`` (absolute); it lasts
    across calls, so the caller clears ``cache_pos[0]`` when it changes the model or the signal."""
    order = model_a.shape[0] - 1
    off = now0 - s0                                   # absolute index = buffer index + off
    span = cache.shape[1]
    fwd, bwd = cache[0], cache[1]
    work = np.empty(max(window, local))
    scratch = np.empty(max(window, local))
    if cache_pos[0] == 0:                              # nothing kept is for this model
        cache_pos[:] = 0
        cache_pos[0] = 1
    for h in range(n_hops):
        s = s0 + h * hop
        end = s + hop + lookahead
        now = now0 + h * hop
        lo, hi = s - order, end - order               # detection range (buffer indices)
        if model_state[2] == 0.0 or now >= model_state[1]:
            a = fit_ar_hann(x[end - window:end], hann, order)
            model_a[:] = a
            f0 = min(end - window + order, end - local, lo)
            if end - f0 > span:
                raise ValueError("scan_hops: residual cache too short")
            residual_into(x, model_a, f0, end, fwd, 0, False)
            cache_pos[1], cache_pos[2] = f0 + off, end + off
            cache_pos[3], cache_pos[4] = 0, 0              # backward: none yet
            n = window - order
            i0 = end - window + order - f0
            for j in range(n):
                work[j] = abs(fwd[i0 + j])
            # the last refit's median as the guess (exact either way; a miss selects among all)
            med, ok = _median_near(work, n, model_state[0] / 1.4826, MEDIAN_SPREAD, scratch)
            if not ok:
                med = _median(work, n)
            model_state[0] = max(1.4826 * med, scale_floor)
            model_state[1] = now + refit
            model_state[2] = 1.0
            i0 = end - local - f0
            for j in range(local):
                work[j] = abs(fwd[i0 + j])
            # the last refit's local quantile as the guess (exact either way)
            qv, ok = _quantile_near(work, local, q, model_state[3], QUANTILE_SPREAD, scratch)
            model_state[3] = qv if ok else _quantile(work, local, q)
        qv = model_state[3]
        if not qv >= 0.0:
            qv = local_quantile(x, model_a, end, local, q)
        t = threshold * max(model_state[0], local_k * qv)
        _keep(x, model_a, fwd, cache_pos, 1, lo, hi, off, False)
        _keep(x, model_a, bwd, cache_pos, 3, lo, hi, off, True)
        if _any_pair(fwd, cache_pos[1] - off, bwd, cache_pos[3] - off, lo, hi, t):
            return h
    return n_hops


def scan_hops_reference(x, s0, n_hops, hop, lookahead, window, hann, refit, now0, model_a, model_state,
                        local, q, local_k, threshold, scale_floor):
    """:func:`scan_hops` in NumPy, hop by hop (no cache): refit with :func:`voxpost.dsp.ar.fit_ar`,
    residuals by ``np.convolve``, ``np.median`` and ``np.quantile``, then
    :func:`click_pretest_reference`. Updates ``model_a`` and ``model_state`` the same way."""
    x = np.asarray(x, np.float64)
    order = model_a.size - 1
    for h in range(n_hops):
        s = s0 + h * hop
        end = s + hop + lookahead
        now = now0 + h * hop
        if model_state[2] == 0.0 or now >= model_state[1]:
            seg = x[end - window:end]
            model_a[:] = fit_ar(seg, order)
            model_state[0] = max(1.4826 * float(np.median(np.abs(ar_residual_reference(seg, model_a)))), scale_floor)
            model_state[1], model_state[2] = now + refit, 1.0
            near = np.abs(ar_residual_reference(x[end - local - order:end], model_a))
            model_state[3] = np.quantile(near, q / (local - 1))
        if click_pretest_reference(x, model_a, s - order, end - order, end, local, q, local_k,
                                   model_state[0], threshold, model_state[3])[0]:
            return h
    return n_hops
