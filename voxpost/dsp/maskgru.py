"""Streaming inference of the learned denoise mask (``DenoiseNet``) without torch: one Numba call
per block of STFT frames, from bin power to bin gains.

The network and its features are defined in :mod:`voxpost.clean.denoise_model` (torch, for
training); this module runs the same computation frame by frame, so a 10 ms live block costs one
kernel call instead of a dozen torch and NumPy calls, whose fixed overhead dominated for a model
this small. Per frame and channel, :func:`mask_gains`:

1. pools bin power into bands (each band over its span of bins, float64), divides by the power
   scale and takes ``(log10(bands + floor) + offset) / log_scale``;
2. forms the features ``[logp, logp - ema]`` (``ema``: the per-band moving average *before* this
   frame, started on the stream's first frame) and advances the average;
3. runs the head on ``[h, features]`` with ``h`` the GRU state after the last complete group
   (``relu`` layer, then ``sigmoid`` band gains); the ``h`` half of the first head layer is
   computed once per group, when ``h`` changes;
4. interpolates the band gains to bins (runs of bins between the same two bands, a contiguous
   sweep each) and clips to [0, 1];
5. appends the features to the group; once ``group`` frames are in, steps the GRU once on
   ``tanh(inp(group features))`` (PyTorch's GRU equations, gate order r, z, n).

Features are computed in float64 and rounded to float32 like the torch path; the network runs in
float32. Matrix-vector products are written as column sweeps over transposed weights (``y +=
W^T[i] * x[i]``, eight inputs per sweep) so the inner loop is contiguous and vectorises without
reassociating sums. The log10 of the band powers, the sigmoids and the tanh are computed in float64
on :mod:`voxpost.dsp.vecmath` (branch-free, so their loops vectorise; a libm call per value
cost a third of the kernel) and rounded once: within 1 ulp of float32 libm, the gains within 1e-6
of libm's (measured 6.6e-7 on the shipped model and real speech).

State (:func:`new_state`), updated in place, carries everything between calls, so any split of a
stream of frames gives the same gains. :func:`mask_gains_reference` is the plain NumPy version
(loop over frames, vectorised over channels) the tests compare the kernel with; the tests also
compare both with the torch model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
from numba import njit

from voxpost.dsp import vecmath


_INV_LN10 = 1.0 / math.log(10.0)


class Weights(NamedTuple):
    """``DenoiseNet`` weights, float32, transposed to ``[inputs, outputs]`` (C-contiguous)."""

    inp_t: np.ndarray      # [group * features, input_size]
    inp_b: np.ndarray      # [input_size]
    ih_t: np.ndarray       # [input_size, 3 * hidden]   (gates r, z, n)
    ih_b: np.ndarray       # [3 * hidden]
    hh_t: np.ndarray       # [hidden, 3 * hidden]
    hh_b: np.ndarray       # [3 * hidden]
    head_h_t: np.ndarray   # [hidden, head]   (the GRU-state columns of head1)
    head_f_t: np.ndarray   # [features, head] (the feature columns of head1)
    head_b: np.ndarray     # [head]
    out_t: np.ndarray      # [head, bands]
    out_b: np.ndarray      # [bands]


class Framing(NamedTuple):
    """Feature constants of one STFT framing: the two band matrices in the forms the kernel
    sweeps (see :func:`make_framing`) and scalars."""

    pool_span: np.ndarray  # [bands, 3] int64: first bin, end bin, offset of the band's weights in pool_w
    pool_w: np.ndarray     # float64: the weights of each band over its span of bins, one after another
    bin_runs: np.ndarray   # [runs, 4] int64: first bin, end bin, bands a and b of a run of bins
    bins_w: np.ndarray     # [bins, 2] float32: each bin's weights of its run's bands a and b
    consts: np.ndarray     # float64 [power_scale, power_floor, log_offset, log_scale, ema_coef]


def pack_weights(state_dict: Mapping[str, np.ndarray], hidden: int) -> Weights:
    """:class:`Weights` from a ``DenoiseNet`` state dict (NumPy arrays or anything ``np.asarray``
    takes, e.g. CPU torch tensors)."""
    def t(name: str) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(state_dict[name], np.float32).T)

    def v(name: str) -> np.ndarray:
        return np.ascontiguousarray(np.asarray(state_dict[name], np.float32))

    head1 = np.asarray(state_dict["head1.weight"], np.float32)
    return Weights(t("inp.weight"), v("inp.bias"), t("gru.weight_ih_l0"), v("gru.bias_ih_l0"),
                   t("gru.weight_hh_l0"), v("gru.bias_hh_l0"),
                   np.ascontiguousarray(head1[:, :hidden].T), np.ascontiguousarray(head1[:, hidden:].T),
                   v("head1.bias"), t("head2.weight"), v("head2.bias"))


def band_spans(pool: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(pool_span, pool_w)`` of a ``[bands, bins]`` pooling matrix: each band's bins from its
    first to its last non-zero weight (a triangle's bins are contiguous)."""
    spans, weights, offset = [], [], 0
    for row in np.asarray(pool, np.float64):
        nz = np.flatnonzero(row)
        lo, hi = (int(nz[0]), int(nz[-1]) + 1) if nz.size else (0, 0)
        spans.append((lo, hi, offset))
        weights.append(row[lo:hi])
        offset += hi - lo
    return np.array(spans, np.int64).reshape(-1, 3), np.concatenate(weights + [np.zeros(0)])


def bin_runs(to_bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(bin_runs, bins_w)`` of a ``[bins, bands]`` interpolation matrix with at most two bands
    per bin: consecutive bins with the same pair of bands form a run (a bin with one band pairs
    it with itself at weight 0)."""
    m = np.asarray(to_bins, np.float32)
    pairs = np.zeros((m.shape[0], 2), np.int64)
    w = np.zeros((m.shape[0], 2), np.float32)
    for k, row in enumerate(m):
        cols = np.flatnonzero(row)
        if cols.size > 2:
            raise ValueError(f"bin {k} takes {cols.size} bands; at most 2 are supported")
        cols = np.resize(cols, 2) if cols.size else np.zeros(2, np.int64)
        pairs[k], w[k] = cols, (row[cols[0]], row[cols[1]] if cols[1] != cols[0] else 0.0)
    starts = np.flatnonzero(np.r_[True, np.any(pairs[1:] != pairs[:-1], axis=1)])
    ends = np.r_[starts[1:], m.shape[0]]
    return np.column_stack([starts, ends, pairs[starts]]).astype(np.int64), w


def framing_matrices(fr: "Framing", bins: int) -> tuple[np.ndarray, np.ndarray]:
    """The dense ``[bands, bins]`` pooling and ``[bins, bands]`` interpolation matrices of ``fr``."""
    bands = fr.pool_span.shape[0]
    pool = np.zeros((bands, bins))
    for b, (lo, hi, off) in enumerate(fr.pool_span):
        pool[b, lo:hi] = fr.pool_w[off:off + hi - lo]
    to_bins = np.zeros((bins, bands), np.float32)
    for lo, hi, ba, bb in fr.bin_runs:
        to_bins[lo:hi, ba] += fr.bins_w[lo:hi, 0]
        to_bins[lo:hi, bb] += fr.bins_w[lo:hi, 1]
    return pool, to_bins


def make_framing(pool: np.ndarray, to_bins: np.ndarray, power_scale: float, power_floor: float,
                 log_offset: float, log_scale: float, ema_coef: float) -> Framing:
    """:class:`Framing` from the dense ``[bands, bins]`` pooling and ``[bins, bands]``
    interpolation matrices and the feature constants."""
    return Framing(*band_spans(pool), *bin_runs(to_bins),
                   np.array([power_scale, power_floor, log_offset, log_scale, ema_coef], np.float64))


def new_state(channels: int, weights: Weights, bands: int) -> tuple[np.ndarray, ...]:
    """Fresh ``(ema, h, head_h, group_feats, counters)``: moving average ``[channels, bands]``
    (float64), GRU state ``[channels, hidden]``, its head projection plus head bias ``[channels,
    head]``, the features of the unfinished group ``[channels, group * features]`` (float32), and
    ``counters = [frames in the unfinished group, average started]`` (int64)."""
    hidden, head = weights.head_h_t.shape
    ema = np.zeros((channels, bands), np.float64)
    h = np.zeros((channels, hidden), np.float32)
    head_h = np.repeat(weights.head_b[None, :], channels, axis=0)   # W h + b with h = 0
    group_feats = np.zeros((channels, weights.inp_t.shape[0]), np.float32)
    return ema, h, head_h, group_feats, np.zeros(2, np.int64)


@njit(cache=True, inline="always", error_model="numpy")
def _sigmoid(x):
    """``1 / (1 + e**-x)`` of a float32, in float64 on :func:`voxpost.dsp.vecmath.exp` (so a loop
    of them vectorises), rounded once to float32: within 1 ulp of float32 ``expf`` arithmetic."""
    return np.float32(1.0 / (1.0 + vecmath.exp(-np.float64(x))))


@njit(cache=True, inline="always", error_model="numpy")
def _tanh(x):
    """``tanh`` of a float32, in float64 as ``(1 - e**-2|x|) / (1 + e**-2|x|)`` with the sign of
    ``x`` (``x`` itself below ``|x| < 1e-5``, where that is tanh to 4e-11), rounded once to
    float32: within 1 ulp of ``tanhf``, and a loop of them vectorises."""
    a = abs(np.float64(x))
    t = vecmath.exp(-2.0 * a)
    th = (1.0 - t) / (1.0 + t)
    th = a if a < 1e-5 else th
    return np.float32(th if x >= 0.0 else -th)


@njit(cache=True, inline="always")
def _matvec_add(w_t, x, y):
    """``y += w_t.T @ x`` for ``w_t`` ``[inputs, outputs]``, column sweep (contiguous inner loop).
    Eight inputs per sweep over ``y`` (each output's terms still added in input order, so the
    same bits as one input per sweep), which loads and stores ``y`` an eighth as often."""
    n_in = x.shape[0]
    n_out = y.shape[0]
    i = 0
    while i + 8 <= n_in:
        x0, x1, x2, x3, x4, x5, x6, x7 = x[i], x[i + 1], x[i + 2], x[i + 3], x[i + 4], x[i + 5], x[i + 6], x[i + 7]
        r0, r1, r2, r3 = w_t[i], w_t[i + 1], w_t[i + 2], w_t[i + 3]
        r4, r5, r6, r7 = w_t[i + 4], w_t[i + 5], w_t[i + 6], w_t[i + 7]
        for o in range(n_out):
            v = y[o] + r0[o] * x0
            v = v + r1[o] * x1
            v = v + r2[o] * x2
            v = v + r3[o] * x3
            v = v + r4[o] * x4
            v = v + r5[o] * x5
            v = v + r6[o] * x6
            y[o] = v + r7[o] * x7
        i += 8
    while i < n_in:
        xi = x[i]
        row = w_t[i]
        for o in range(n_out):
            y[o] += row[o] * xi
        i += 1


@njit(cache=True, error_model="numpy")
def mask_gains(power, w, fr, ema, h, head_h, group_feats, counters, out):
    """Gains ``out[channels, frames, bins]`` (float32, written) for ``power[channels, frames, bins]``.

    ``w``: :class:`Weights`, ``fr``: :class:`Framing` (or plain tuples in their field order, which
    Numba dispatches faster); the state arrays as :func:`new_state`, updated in place.
    """
    inp_t, inp_b, ih_t, ih_b, hh_t, hh_b, head_h_t, head_f_t, head_b, out_t, out_b = w
    pool_span, pool_w, bin_runs, bins_w, consts = fr
    channels, frames, n_bins = power.shape
    bands = pool_span.shape[0]
    n_feat = 2 * bands
    hidden, n_head = head_h_t.shape
    n_inp = inp_b.shape[0]
    group = inp_t.shape[0] // n_feat
    scale, floor, offset, lscale, coef = consts[0], consts[1], consts[2], consts[3], consts[4]
    feat = np.empty(n_feat, np.float32)
    pooled = np.empty(bands, np.float64)
    z = np.empty(n_head, np.float32)
    g = np.empty(bands, np.float32)
    x_in = np.empty(n_inp, np.float32)
    gi = np.empty(3 * hidden, np.float32)
    gh = np.empty(3 * hidden, np.float32)
    fill0, started0 = counters[0], counters[1]
    fill = fill0
    for c in range(channels):
        fill = fill0
        started = started0
        for f in range(frames):
            # 1-2. features
            for b in range(bands):
                acc = 0.0
                lo, hi, off = pool_span[b, 0], pool_span[b, 1], pool_span[b, 2] - pool_span[b, 0]
                for j in range(lo, hi):
                    acc += np.float64(power[c, f, j]) * pool_w[off + j]
                pooled[b] = acc
            for b in range(bands):
                pooled[b] = (vecmath.log(pooled[b] / scale + floor) * _INV_LN10 + offset) / lscale
            if started == 0:
                ema[c, :] = pooled
            for b in range(bands):
                logp = pooled[b]
                feat[b] = np.float32(logp)
                feat[bands + b] = np.float32(logp - ema[c, b])
                ema[c, b] = coef * ema[c, b] + (1.0 - coef) * logp
            started = 1
            # 3. head on [h, features]
            for o in range(n_head):
                z[o] = head_h[c, o]
            _matvec_add(head_f_t, feat, z)
            for o in range(n_head):
                if z[o] < 0.0:
                    z[o] = 0.0
            for o in range(bands):
                g[o] = out_b[o]
            _matvec_add(out_t, z, g)
            for o in range(bands):
                g[o] = _sigmoid(g[o])
            # 4. band gains to bins
            for run in range(bin_runs.shape[0]):
                ga, gb = g[bin_runs[run, 2]], g[bin_runs[run, 3]]
                for k in range(bin_runs[run, 0], bin_runs[run, 1]):
                    v = (np.float32(0.0) + ga * bins_w[k, 0]) + gb * bins_w[k, 1]
                    out[c, f, k] = min(max(v, np.float32(0.0)), np.float32(1.0))
            # 5. the group; a complete one steps the GRU
            group_feats[c, fill * n_feat:(fill + 1) * n_feat] = feat
            fill += 1
            if fill == group:
                fill = 0
                x_in[:] = inp_b
                _matvec_add(inp_t, group_feats[c], x_in)
                for o in range(n_inp):
                    x_in[o] = _tanh(x_in[o])
                gi[:] = ih_b
                _matvec_add(ih_t, x_in, gi)
                gh[:] = hh_b
                _matvec_add(hh_t, h[c], gh)
                for o in range(hidden):
                    r = _sigmoid(gi[o] + gh[o])
                    u = _sigmoid(gi[hidden + o] + gh[hidden + o])
                    n = _tanh(gi[2 * hidden + o] + r * gh[2 * hidden + o])
                    h[c, o] = (np.float32(1.0) - u) * n + u * h[c, o]
                head_h[c, :] = head_b
                _matvec_add(head_h_t, h[c], head_h[c])
    if frames:
        counters[0] = fill
        counters[1] = 1


def mask_gains_reference(power: np.ndarray, w: Weights, fr: Framing, ema: np.ndarray, h: np.ndarray,
                         head_h: np.ndarray, group_feats: np.ndarray, counters: np.ndarray) -> np.ndarray:
    """NumPy version of :func:`mask_gains` (dense matrices, loop over frames, vectorised over
    channels); returns the gains and updates the state in place the same way."""
    channels, frames, n_bins = power.shape
    bands = fr.pool_span.shape[0]
    pool, to_bins = framing_matrices(fr, n_bins)
    scale, floor, offset, lscale, coef = fr.consts
    group = w.inp_t.shape[0] // (2 * bands)
    hidden = h.shape[1]
    sig = lambda v: 1.0 / (1.0 + np.exp(-v))  # noqa: E731
    out = np.empty(power.shape, np.float32)
    for f in range(frames):
        logp = (np.log10(np.asarray(power[:, f], np.float64) @ pool.T / scale + floor) + offset) / lscale
        if not counters[1]:
            ema[...] = logp
            counters[1] = 1
        feat = np.concatenate([logp, logp - ema], axis=1).astype(np.float32)
        ema[...] = coef * ema + (1.0 - coef) * logp
        z = np.maximum(head_h + feat @ w.head_f_t, 0.0)
        out[:, f] = np.clip(sig(z @ w.out_t + w.out_b) @ to_bins.T, 0.0, 1.0)
        n_feat = feat.shape[1]
        group_feats[:, counters[0] * n_feat:(counters[0] + 1) * n_feat] = feat
        counters[0] += 1
        if counters[0] == group:
            counters[0] = 0
            x = np.tanh(group_feats @ w.inp_t + w.inp_b)
            gi, gh = x @ w.ih_t + w.ih_b, h @ w.hh_t + w.hh_b
            r = sig(gi[:, :hidden] + gh[:, :hidden])
            u = sig(gi[:, hidden:2 * hidden] + gh[:, hidden:2 * hidden])
            n = np.tanh(gi[:, 2 * hidden:] + r * gh[:, 2 * hidden:])
            h[...] = (1.0 - u) * n + u * h
            head_h[...] = h @ w.head_h_t + w.head_b
    return out
