"""Viterbi decoding of a fully connected HMM with one switch penalty (Numba kernel + NumPy reference).

Used by the diarizer's resegmentation: ``scores[t, k]`` is the (smoothed) log-likelihood of state
``k`` at frame ``t``; staying in a state costs nothing and moving to any other state costs
``penalty``. Ties go to the lower state index, so the result is deterministic.
"""

from __future__ import annotations

import numpy as np
from numba import njit


def viterbi_reference(scores: np.ndarray, penalty: float) -> np.ndarray:
    """NumPy reference: loops over frames, vectorised over states. ``scores`` ``[T, K]``."""
    s = np.asarray(scores, np.float64)
    t_len, k = s.shape
    path = np.zeros(t_len, np.int64)
    if t_len == 0:
        return path
    back = np.zeros((t_len, k), np.int64)
    delta = s[0].copy()
    for t in range(1, t_len):
        best = int(np.argmax(delta))
        switch = delta[best] - penalty
        stay = delta >= switch          # staying wins ties
        back[t] = np.where(stay, np.arange(k), best)
        delta = np.where(stay, delta, switch) + s[t]
    path[-1] = int(np.argmax(delta))
    for t in range(t_len - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


@njit(cache=True)
def viterbi(scores: np.ndarray, penalty: float) -> np.ndarray:  # pragma: no cover - compiled
    """Numba kernel, equal to :func:`viterbi_reference`. ``scores`` float64 ``[T, K]``."""
    t_len, k = scores.shape
    path = np.zeros(t_len, np.int64)
    if t_len == 0:
        return path
    back = np.zeros((t_len, k), np.int64)
    delta = scores[0].copy()
    new = np.empty(k)
    for t in range(1, t_len):
        best = 0
        for j in range(1, k):
            if delta[j] > delta[best]:
                best = j
        switch = delta[best] - penalty
        for j in range(k):
            if delta[j] >= switch:
                back[t, j] = j
                new[j] = delta[j] + scores[t, j]
            else:
                back[t, j] = best
                new[j] = switch + scores[t, j]
        for j in range(k):
            delta[j] = new[j]
    best = 0
    for j in range(1, k):
        if delta[j] > delta[best]:
            best = j
    path[t_len - 1] = best
    for t in range(t_len - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path
