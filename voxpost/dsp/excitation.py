"""Glottal pulse timing and overlap-add: the per-sample kernels under vocoder resynthesis.

:func:`pulse_times` runs a phase accumulator over a per-sample F0 track (0 = unvoiced). The phase
advances by ``f0 / sample_rate`` cycles a sample; each time it passes a whole cycle a pulse is
emitted, at the exact (fractional) crossing time, so the pulse rate follows F0 without rounding
the period to whole samples. At a voicing onset the phase starts full, so the first pulse comes at
once. The phase is carried in a one-element state array, so a track cut into any blocks gives the
same pulses.

:func:`overlap_add` adds one response per pulse into an output buffer at the pulse's sample.

:func:`pulse_times_reference` and :func:`overlap_add_reference` are the plain Python/NumPy
versions the tests compare the kernels with.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def pulse_times(f0_hz: np.ndarray, sample_rate: float,
                phase: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Pulses of the F0 track ``f0_hz`` (per sample, 0 = unvoiced); ``phase`` [1] is updated.

    Returns ``(index, delay)``: pulse ``i`` falls ``delay[i]`` samples (in ``[0, 1]``) after
    sample ``index[i] - 1``, i.e. between samples ``index[i] - 1`` and ``index[i]``.
    """
    n = f0_hz.shape[0]
    index = np.empty(n, np.int64)
    delay = np.empty(n, np.float64)
    count = 0
    p = phase[0]
    for i in range(n):
        f = f0_hz[i]
        if f <= 0.0:
            p = 1.0
            continue
        step = f / sample_rate
        p += step
        if p >= 1.0:
            p -= 1.0
            if p >= 1.0:              # a step over a whole cycle (never with F0 < rate)
                p = p - np.floor(p)
            index[count] = i
            delay[count] = min(1.0, max(0.0, 1.0 - p / step))
            count += 1
    phase[0] = p
    return index[:count], delay[:count]


def pulse_times_reference(f0_hz: np.ndarray, sample_rate: float,
                          phase: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference for :func:`pulse_times`: the same accumulator in plain Python."""
    index, delay = [], []
    p = float(phase[0])
    for i, f in enumerate(np.asarray(f0_hz, np.float64)):
        if f <= 0.0:
            p = 1.0
            continue
        step = f / sample_rate
        p += step
        if p >= 1.0:
            p -= 1.0
            if p >= 1.0:
                p -= np.floor(p)
            index.append(i)
            delay.append(min(1.0, max(0.0, 1.0 - p / step)))
    phase[0] = p
    return np.array(index, np.int64), np.array(delay, np.float64)


@njit(cache=True)
def overlap_add(out: np.ndarray, index: np.ndarray, responses: np.ndarray) -> None:  # pragma: no cover
    """Add ``responses[i]`` into ``out`` (float64) starting at ``index[i]``, clipped to ``out``."""
    length = responses.shape[1]
    size = out.shape[0]
    for i in range(index.shape[0]):
        start = index[i]
        for k in range(length):
            j = start + k
            if 0 <= j < size:
                out[j] += responses[i, k]


def overlap_add_reference(out: np.ndarray, index: np.ndarray, responses: np.ndarray) -> None:
    """Reference for :func:`overlap_add` with NumPy slicing."""
    length = responses.shape[1]
    for start, resp in zip(np.asarray(index), responses):
        lo, hi = max(0, start), min(out.shape[0], start + length)
        if hi > lo:
            out[lo:hi] += resp[lo - start:hi - start]
