"""YIN fundamental-frequency estimation, one period per frame: the kernel under voice analysis.

For each frame ``x`` of ``window + tau_max`` samples (de Cheveigné & Kawahara, "YIN, a fundamental
frequency estimator for speech and music", JASA 2002):

1. difference function ``d(tau) = sum_{j < window} (x[j] - x[j + tau])^2`` for ``0 <= tau <= tau_max``;
2. cumulative mean normalised difference ``d'(0) = 1``, ``d'(tau) = d(tau) tau / sum_{k=1..tau} d(k)``;
3. the first ``tau`` in ``[tau_min, tau_max)`` where ``d'`` dips under ``threshold``, followed down
   to the bottom of that dip (the "absolute threshold" step, which avoids octave-too-low errors);
   with no dip under the threshold, the global minimum of ``d'`` over the range;
4. parabolic interpolation of ``d'`` around that lag: a fractional period and the value of the
   parabola's vertex, ``dmin``, which is near 0 for a periodic frame and near 1 for noise (it is
   roughly the aperiodic share of the frame's power; the caller uses it for voicing and
   aperiodicity).

The direct difference function costs ``window * tau_max`` multiply-adds per frame; callers run it
on a signal decimated to about 16 kHz (about 20 M multiply-adds per second of audio), so it stays a
few per cent of real time on one core. :func:`yin_reference` is the NumPy version (vectorised over
frames and samples) that tests compare the kernel with.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def yin(frames: np.ndarray, window: int, tau_min: int, tau_max: int,
        threshold: float) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """Periods (fractional samples) and ``dmin`` of ``frames`` [n, >= window + tau_max] (float32).

    Returns ``(period, dmin)``, float64 arrays of length ``n``. ``1 <= tau_min < tau_max``.
    """
    n = frames.shape[0]
    period = np.empty(n, np.float64)
    dmin = np.empty(n, np.float64)
    d = np.empty(tau_max + 1, np.float64)
    cm = np.empty(tau_max + 1, np.float64)
    for i in range(n):
        x = frames[i]
        for tau in range(tau_max + 1):
            acc = 0.0
            for j in range(window):
                t = np.float64(x[j]) - np.float64(x[j + tau])
                acc += t * t
            d[tau] = acc
        cm[0] = 1.0
        running = 0.0
        for tau in range(1, tau_max + 1):
            running += d[tau]
            cm[tau] = d[tau] * tau / running if running > 0.0 else 1.0
        best = -1
        tau = tau_min
        while tau < tau_max:
            if cm[tau] < threshold:
                while tau + 1 < tau_max and cm[tau + 1] < cm[tau]:
                    tau += 1
                best = tau
                break
            tau += 1
        if best < 0:
            best = tau_min
            for tau in range(tau_min + 1, tau_max):
                if cm[tau] < cm[best]:
                    best = tau
        a, b, c = cm[best - 1], cm[best], cm[best + 1]
        den = a - 2.0 * b + c
        shift = 0.5 * (a - c) / den if den > 0.0 else 0.0
        shift = min(1.0, max(-1.0, shift))
        period[i] = best + shift
        dmin[i] = max(0.0, b - 0.25 * (a - c) * shift)
    return period, dmin


def yin_reference(frames: np.ndarray, window: int, tau_min: int, tau_max: int,
                  threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """NumPy reference for :func:`yin` (same steps, vectorised over frames)."""
    x = np.asarray(frames, np.float64)
    n = x.shape[0]
    d = np.stack([np.sum((x[:, :window] - x[:, tau:tau + window]) ** 2, axis=1)
                  for tau in range(tau_max + 1)], axis=1)
    cum = np.cumsum(d[:, 1:], axis=1)
    taus = np.arange(1, tau_max + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cm_tail = np.where(cum > 0, d[:, 1:] * taus / cum, 1.0)
    cm = np.concatenate([np.ones((n, 1)), cm_tail], axis=1)
    period = np.empty(n)
    dmin = np.empty(n)
    for i in range(n):
        row = cm[i]
        under = np.nonzero(row[tau_min:tau_max] < threshold)[0]
        if under.size:
            best = tau_min + int(under[0])
            while best + 1 < tau_max and row[best + 1] < row[best]:
                best += 1
        else:
            best = tau_min + int(np.argmin(row[tau_min:tau_max]))
        a, b, c = row[best - 1], row[best], row[best + 1]
        den = a - 2.0 * b + c
        shift = float(np.clip(0.5 * (a - c) / den, -1.0, 1.0)) if den > 0 else 0.0
        period[i] = best + shift
        dmin[i] = max(0.0, b - 0.25 * (a - c) * shift)
    return period, dmin
