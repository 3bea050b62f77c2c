"""True-peak measurement (ITU-R BS.1770-4 Annex 2) and a lookahead limiter gain computer.

True peak
---------
The signal is oversampled (4x below 176.4 kHz, 2x at and above) by a polyphase windowed-sinc
interpolator designed once per (rate) by :func:`design_interpolator`, and the largest absolute
oversampled value is the true peak. The filter has ``factor * taps + 1`` taps (odd), so its group
delay is a whole number of input samples (``taps // 2``) and phase 0 reproduces the input samples
exactly: the true peak is never below the sample peak, and an inter-sample peak lying exactly
half-way between two samples (the fs/4 tone at 45 degrees) is hit by phase ``factor // 2``.

:func:`truepeak_block` (Numba) works on float32 ``[channels, frames]`` blocks and carries the last
``taps`` input samples per channel in ``hist``, so any blocking gives the same result.
Its output ``peaks[c, m]`` is the largest absolute interpolated value of channel ``c`` over the
interval from input sample ``m - delay`` to ``m - delay + (factor-1)/factor`` (``delay = taps // 2``).
:func:`truepeak_reference` is the same computation with :func:`scipy.signal.upfirdn`.

Limiter gain
------------
:func:`limiter_gain` (Numba) turns a per-sample *required* gain (``min(1, ceiling / peak)``) into
a smooth gain: a sliding minimum over ``hold`` samples, an exponential release (instant attack),
then a moving average over ``window`` samples (the linear attack ramp). Because the release
envelope never exceeds the held minimum and the hold is ``window + 2*margin + 1`` long, the output
gain ``s[m]`` is at most ``required[k]`` for every ``m`` in ``[k + window - 1, k + window + 2*margin]``,
which is what lets the limiter delay its audio by ``window - 1 + margin (+ interpolator delay)``
and guarantee the ceiling. When the required gain is 1 everywhere the output gain is exactly 1,
and it returns to exactly 1 once a release is over. :func:`limiter_gain_reference` is the NumPy
version it is tested against.

:func:`limit_block` is the whole limiter on one block in one call (channel-linked required gain,
smooth gain, delay line, gain applied); :func:`limit_reference` its NumPy reference.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numba import njit

from voxpost.dsp.taps import taps_into

#: Interpolator taps per polyphase branch (the filter has ``factor * TAPS + 1`` taps in all).
TAPS = 16
#: Kaiser window beta of the interpolator (about 70 dB image rejection, flat to ~0.75 Nyquist).
KAISER_BETA = 7.0


def oversampling_factor(sample_rate: int) -> int:
    """4x below 176.4 kHz, 2x at and above (BS.1770-4 asks for at least 192 kHz after oversampling)."""
    return 4 if sample_rate < 176400 else 2


@lru_cache(maxsize=16)
def _design(factor: int, taps: int, beta: float) -> np.ndarray:
    from scipy import signal

    h = signal.firwin(factor * taps + 1, 1.0 / factor, window=("kaiser", beta)) * factor
    padded = np.zeros(factor * (taps + 1))
    padded[: h.size] = h
    # phases[p, k] = h[p + k * factor]
    poly = np.ascontiguousarray(padded.reshape(taps + 1, factor).T)
    poly.setflags(write=False)
    return poly


def design_interpolator(sample_rate: int, taps: int = TAPS) -> np.ndarray:
    """Polyphase interpolator for ``sample_rate``: float64 ``[factor, taps + 1]``, ``[p, k] = h[p + k*factor]``."""
    return _design(oversampling_factor(int(sample_rate)), int(taps), KAISER_BETA)


def prototype(poly: np.ndarray) -> np.ndarray:
    """The single (prototype) FIR behind a polyphase matrix from :func:`design_interpolator`."""
    factor, n = poly.shape
    return poly.T.reshape(-1)[: factor * (n - 1) + 1].copy()


def new_history(channels: int, poly: np.ndarray) -> np.ndarray:
    """Zeroed carried state for :func:`truepeak_block`: float64 ``[channels, taps]``."""
    return np.zeros((channels, poly.shape[1] - 1), np.float64)


@njit(cache=True, fastmath=False)
def truepeak_block(x: np.ndarray, poly: np.ndarray, hist: np.ndarray) -> np.ndarray:
    """Per-sample true peak of ``x`` [channels, frames] float32; ``hist`` [channels, taps] float64 is updated.

    Returns float64 ``[channels, frames]``: ``out[c, m] = max_p |sum_k poly[p, k] * x[c, m - k]|``
    (each sum in order of ``k``; the loops run over ``m`` innermost, which vectorises, eight
    taps per sweep so ``acc`` is loaded and stored an eighth as often: the same bits, ~2x faster).
    """
    channels, frames = x.shape
    factor, ntap = poly.shape
    nh = ntap - 1
    out = np.zeros((channels, frames), np.float64)
    line = np.empty(nh + frames, np.float64)
    acc = np.empty(frames, np.float64)
    for c in range(channels):
        # line[0:nh] = history (oldest first), line[nh:] = this block
        for i in range(nh):
            line[i] = hist[c, i]
        for i in range(frames):
            line[nh + i] = np.float64(x[c, i])
        best = out[c]
        for p in range(factor):
            acc[:] = 0.0
            taps_into(acc, line, nh, -1, poly[p], frames)
            for m in range(frames):
                v = acc[m] if acc[m] >= 0.0 else -acc[m]
                if v > best[m]:
                    best[m] = v
        for i in range(nh):
            hist[c, i] = line[frames + i]
    return out


def truepeak_reference(x: np.ndarray, poly: np.ndarray, hist: np.ndarray | None = None) -> np.ndarray:
    """NumPy/SciPy reference for :func:`truepeak_block` (``hist`` is read, not updated)."""
    from scipy import signal

    x = np.asarray(x, np.float64)
    factor, ntap = poly.shape
    nh = ntap - 1
    if hist is None:
        hist = np.zeros((x.shape[0], nh))
    line = np.concatenate([hist, x], axis=1)
    up = signal.upfirdn(prototype(poly), line, up=factor, axis=1)
    frames = x.shape[1]
    up = up[:, nh * factor: (nh + frames) * factor]
    return np.abs(up).reshape(x.shape[0], frames, factor).max(axis=2)


def true_peak(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-channel true peak (linear) of a whole signal ``[channels, frames]``, tail flushed."""
    x = np.atleast_2d(np.asarray(samples, np.float32))
    poly = design_interpolator(sample_rate)
    if x.shape[1] == 0:
        return np.zeros(x.shape[0])
    hist = new_history(x.shape[0], poly)
    peaks = truepeak_block(np.ascontiguousarray(x), poly, hist)
    tail = truepeak_block(np.zeros((x.shape[0], poly.shape[1]), np.float32), poly, hist)
    return np.maximum(peaks.max(axis=1), tail.max(axis=1))


# -- limiter gain ----------------------------------------------------------------------------

def new_limiter_state(window: int, hold: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Carried state for :func:`limiter_gain`: hold ring, box ring (ones), and ``[pos_hold,
    pos_box, envelope, entries of the hold ring != 1, entries of the box ring != 1]``."""
    return (np.ones(hold, np.float64), np.ones(window, np.float64),
            np.array([0.0, 0.0, 1.0, 0.0, 0.0], np.float64))


@njit(cache=True, fastmath=False)
def limiter_gain(required: np.ndarray, release_coef: float, hold_buf: np.ndarray, box_buf: np.ndarray,
                 st: np.ndarray) -> np.ndarray:
    """Smooth gain from per-sample required gain ``required`` [frames] (float64, each in (0, 1]).

    Sliding minimum over ``len(hold_buf)`` samples, exponential release with ``release_coef``
    (per-sample pole; attack is instant), moving average over ``len(box_buf)`` samples.
    ``hold_buf``, ``box_buf`` and ``st`` (:func:`new_limiter_state`) are updated in place. While a
    ring holds nothing but 1.0 its minimum or mean is 1.0 without a pass over it (the counts in
    ``st``), so audio that needs no limiting costs a few operations per sample. A release step
    that rounding no longer moves lands on its target (float64 rounding would otherwise park
    the envelope ~1e-13 below 1 for ever), so after limiting the rings do fill with ones again.
    """
    frames = required.shape[0]
    nh = hold_buf.shape[0]
    nb = box_buf.shape[0]
    ph = int(st[0])
    pb = int(st[1])
    env = st[2]
    off_h = int(st[3])
    off_b = int(st[4])
    out = np.empty(frames, np.float64)
    for n in range(frames):
        off_h += (required[n] != 1.0) - (hold_buf[ph] != 1.0)
        hold_buf[ph] = required[n]
        ph += 1
        if ph == nh:
            ph = 0
        if off_h == 0:
            lo = 1.0
        else:
            lo = hold_buf[0]
            for i in range(1, nh):
                if hold_buf[i] < lo:
                    lo = hold_buf[i]
        if lo < env:
            env = lo
        else:
            step = lo + (env - lo) * release_coef
            env = lo if step == env else step     # a release rounding no longer moves has arrived
        off_b += (env != 1.0) - (box_buf[pb] != 1.0)
        box_buf[pb] = env
        pb += 1
        if pb == nb:
            pb = 0
        if off_b == 0:
            out[n] = 1.0
            continue
        acc = 0.0
        for i in range(nb):
            acc += box_buf[i]
        g = acc / nb
        out[n] = g if g < 1.0 else 1.0
    st[0] = ph
    st[1] = pb
    st[2] = env
    st[3] = off_h
    st[4] = off_b
    return out


@njit(cache=True, fastmath=False)
def limit_block(x, poly, hist, ceiling, release_coef, hold_buf, box_buf, st, line):
    """The whole limiter on one block: ``x`` [channels, frames] (float32) -> ``(out, min_gain)``.

    The channel-linked required gain ``min(1, ceiling / max_c true_peak)`` (:func:`truepeak_block`),
    its smooth gain (:func:`limiter_gain`), and the audio delayed through ``line`` [channels,
    delay] (float64, updated) times that gain, rounded to float32. ``min_gain``: the smallest gain
    of the block (1.0 for an empty one).
    """
    channels, frames = x.shape
    delay = line.shape[1]
    peaks = truepeak_block(x, poly, hist)
    required = np.ones(frames, np.float64)
    for m in range(frames):
        top = peaks[0, m]
        for c in range(1, channels):
            v = peaks[c, m]
            if v > top or v != v:     # NaN wins, as in np.max
                top = v
        if top > ceiling:
            required[m] = ceiling / top
    g = limiter_gain(required, release_coef, hold_buf, box_buf, st)
    out = np.empty((channels, frames), np.float32)
    joined = np.empty(delay + frames, np.float64)
    low = 1.0
    for m in range(frames):
        if g[m] < low:
            low = g[m]
    for c in range(channels):
        joined[:delay] = line[c]
        for m in range(frames):
            joined[delay + m] = np.float64(x[c, m])
        for m in range(frames):
            out[c, m] = np.float32(joined[m] * g[m])
        line[c] = joined[frames:]
    return out, low


def limit_reference(x: np.ndarray, poly: np.ndarray, ceiling: float, release_coef: float, window: int,
                    hold: int, delay: int) -> np.ndarray:
    """NumPy reference for :func:`limit_block` over a whole signal from a fresh state."""
    peaks = truepeak_reference(x, poly).max(axis=0)
    required = np.where(peaks > ceiling, ceiling / np.maximum(peaks, 1e-300), 1.0)
    g = limiter_gain_reference(required, release_coef, window, hold)
    delayed = np.concatenate([np.zeros((x.shape[0], delay)), np.asarray(x, np.float64)], axis=1)
    return (delayed[:, :x.shape[1]] * g).astype(np.float32)


def limiter_gain_reference(required: np.ndarray, release_coef: float, window: int, hold: int) -> np.ndarray:
    """NumPy reference for :func:`limiter_gain` from a fresh state."""
    from numpy.lib.stride_tricks import sliding_window_view

    r = np.concatenate([np.ones(hold - 1), np.asarray(required, np.float64)])
    lo = sliding_window_view(r, hold).min(axis=1)
    env = np.empty_like(lo)
    e = 1.0
    for n, v in enumerate(lo):
        step = v + (e - v) * release_coef
        e = v if v < e or step == e else step
        env[n] = e
    padded = np.concatenate([np.ones(window - 1), env])
    return np.minimum(sliding_window_view(padded, window).mean(axis=1), 1.0)
