"""Live loudness gain: BS.1770 short-term loudness of the input and a gain that follows a target
slowly (the ``short_term`` mode of :class:`voxpost.clean.loudness.Loudness`), one Numba call per
block.

Per sample: K-weighting (the two biquads of :func:`voxpost.clean.bs1770.k_weighting_sos` through
:func:`voxpost.dsp.biquad.sosfilt_serial`, rounded to float32 as :func:`voxpost.dsp.biquad.sosfilt` does), the
channel-weighted power ``sum_c w_c k_c^2`` accumulated over hops of ``hop`` samples. At the end of
each hop its mean square enters a ring of the last ``nhops`` hops; the short-term loudness is
``-0.691 + 10 log10(mean of the ring)`` (over the hops seen so far while it fills), and when it is
above ``hold_below`` LUFS the desired gain becomes ``clamp(target - loudness)`` (clamped to
``[-max_cut, max_gain]`` dB). The gain in dB moves toward the desired one as a one-pole with pole
``adapt_coef`` per sample: ``g[m] = desired + (g0 - desired) * adapt_coef ** m`` over each stretch
between hop ends. Output: the block times ``10 ** (g / 20)``, rounded to float32.

State (:func:`new_state`, updated in place): ``zi`` ``[channels, sections, 2]`` (the filters),
``ring`` ``[nhops]`` (hop mean squares) and ``st`` = ``[hop_acc, hop_pos, hops_seen, gain_db,
desired_db, short_term_lufs, lufs_in]`` (``lufs_in``: the last loudness above the hold threshold,
NaN before there is one).

:func:`short_term_reference` is the NumPy version (vectorised within each stretch between hop
ends) the tests compare the kernel with. They differ by rounding only: the kernel sums the hop's
powers in order and advances ``adapt_coef ** m`` by multiplication, where NumPy sums pairwise and
raises to the power; the loudness agrees to ~1e-12 dB, the output to a float32 rounding step.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from voxpost.dsp import vecmath
from voxpost.dsp.biquad import sosfilt_serial

#: Slots of the ``st`` state vector.
HOP_ACC, HOP_POS, HOPS_SEEN, GAIN_DB, DESIRED_DB, SHORT_TERM_LUFS, LUFS_IN = range(7)
_LN10_20 = math.log(10.0) / 20.0


def new_state(channels: int, sections: int, nhops: int, start_db: float) -> tuple[np.ndarray, ...]:
    """Fresh ``(zi, ring, st)`` with the gain starting (and desired) at ``start_db``."""
    st = np.array([0.0, 0.0, 0.0, start_db, start_db, -math.inf, math.nan], np.float64)
    return np.zeros((channels, sections, 2), np.float64), np.zeros(nhops, np.float64), st


def params_vector(*, hop: int, target_lufs: float, hold_below_lufs: float, adapt_coef: float,
                  max_gain_db: float, max_cut_db: float) -> np.ndarray:
    """Pack the kernel parameters (float64, this order)."""
    return np.array([hop, target_lufs, hold_below_lufs, adapt_coef, max_gain_db, max_cut_db], np.float64)


@njit(cache=True, inline="always")
def _hop_end(ring, st, target, hold_below, max_gain, max_cut, hop):
    """A hop is complete: its mean square into the ring, the short-term loudness, the desired gain."""
    nhops = ring.shape[0]
    seen = int(st[HOPS_SEEN])
    ring[seen % nhops] = st[HOP_ACC] / hop
    seen += 1
    st[HOPS_SEEN] = seen
    st[HOP_ACC] = 0.0
    st[HOP_POS] = 0.0
    used = min(seen, nhops)
    ms = 0.0
    for i in range(used):
        ms += ring[i]
    ms /= used
    lufs = -0.691 + 10.0 * math.log10(ms) if ms > 0 else -math.inf
    st[SHORT_TERM_LUFS] = lufs
    if lufs > hold_below:
        st[DESIRED_DB] = min(max_gain, max(-max_cut, target - lufs))
        st[LUFS_IN] = lufs


@njit(cache=True, fastmath=False, error_model="numpy")
def short_term_block(x, sos, weights, zi, ring, st, params, out):
    """``out[channels, frames]`` (float32, written): ``x`` (float32) under the adaptive gain.

    Three sweeps over the block: the K-weighted power per sample (the recursive filters), the
    gain in dB per sample with the hop ends (serial, cheap), then ``10 ** (g / 20)`` on
    :func:`voxpost.dsp.vecmath.exp` times the audio, which vectorises (the C library's ``exp``
    per sample was a third of the kernel). The state is the same bits as one sample at a time;
    the output too but where ``vecmath.exp`` (within 2 ulp of the C library's) moves a float32
    rounding, one float32 step (none seen on the test signals)."""
    channels, frames = x.shape
    hop = int(params[0])
    target, hold_below, coef, max_gain, max_cut = params[1], params[2], params[3], params[4], params[5]
    kw = sosfilt_serial(sos, x, zi)         # K-weighted, rounded to float32 as sosfilt does
    power = np.zeros(frames)
    for c in range(channels):               # channels in order per sample, as the sum needs
        w = weights[c]
        for n in range(frames):
            k = np.float64(kw[c, n])
            power[n] += w * k * k
    acc = st[HOP_ACC]
    pos = int(st[HOP_POS])
    start_db = st[GAIN_DB]
    g_db = start_db
    decay = 1.0
    desired = st[DESIRED_DB]
    gain = np.empty(frames)
    for n in range(frames):
        decay *= coef
        g_db = desired + (start_db - desired) * decay
        gain[n] = g_db
        acc += power[n]
        pos += 1
        if pos == hop:
            st[HOP_ACC] = acc
            _hop_end(ring, st, target, hold_below, max_gain, max_cut, hop)
            desired = st[DESIRED_DB]
            acc = 0.0
            pos = 0
            start_db = g_db
            decay = 1.0
    for n in range(frames):
        gain[n] = vecmath.exp(gain[n] * _LN10_20)
    for c in range(channels):
        for n in range(frames):
            out[c, n] = np.float32(np.float64(x[c, n]) * gain[n])
    st[GAIN_DB] = g_db
    st[HOP_ACC] = acc
    st[HOP_POS] = pos


def short_term_reference(x: np.ndarray, sos: np.ndarray, weights: np.ndarray, zi: np.ndarray,
                         ring: np.ndarray, st: np.ndarray, params: np.ndarray) -> np.ndarray:
    """NumPy version of :func:`short_term_block`; returns the output, updates the state."""
    from voxpost.dsp.biquad import sosfilt_reference

    hop = int(params[0])
    target, hold_below, coef, max_gain, max_cut = (float(v) for v in params[1:])
    k = sosfilt_reference(sos, x, zi).astype(np.float64)
    power = (weights[:, None] * k * k).sum(axis=0)
    frames = x.shape[1]
    gains = np.empty(frames)
    i = 0
    while i < frames:
        n = min(frames - i, hop - int(st[HOP_POS]))
        g = st[DESIRED_DB] + (st[GAIN_DB] - st[DESIRED_DB]) * coef ** np.arange(1, n + 1)
        gains[i:i + n] = g
        st[GAIN_DB] = float(g[-1])
        st[HOP_ACC] += float(power[i:i + n].sum())
        st[HOP_POS] += n
        i += n
        if st[HOP_POS] == hop:
            ring[int(st[HOPS_SEEN]) % ring.size] = st[HOP_ACC] / hop
            st[HOPS_SEEN] += 1
            st[HOP_ACC] = st[HOP_POS] = 0.0
            ms = ring[:min(int(st[HOPS_SEEN]), ring.size)].mean()
            st[SHORT_TERM_LUFS] = -0.691 + 10 * math.log10(ms) if ms > 0 else -math.inf
            if st[SHORT_TERM_LUFS] > hold_below:
                st[DESIRED_DB] = min(max_gain, max(-max_cut, target - st[SHORT_TERM_LUFS]))
                st[LUFS_IN] = st[SHORT_TERM_LUFS]
    return (x.astype(np.float64) * 10.0 ** (gains / 20.0)).astype(np.float32)
