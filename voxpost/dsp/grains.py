"""Numba kernels that add many short sinusoids into one buffer (the weather and texture foley models).

- :func:`damped_grains` adds exponentially damped, optionally chirping sinusoids: rain drops
  ringing, fire crackles and Van den Doel's bubbles, whose pitch rises as
  ``f(t) = f0 * (1 + chirp * t)`` ("Physically-based models for liquid sounds", 2005). Each
  grain runs as a complex phasor (a rotation and a decay per sample, no ``exp``/``sin`` per
  sample) and stops once it has decayed by ``span`` time constants.
- :func:`fm_notes` adds Hann-windowed notes whose frequency glides from ``f0`` to ``f1`` with a
  vibrato (bird-song syllables), with an optional second harmonic.

Each kernel has a plain NumPy/Python ``*_reference`` the tests compare it with.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _grains(out, onset, freq_hz, decay_s, chirp_per_s, amp, sample_rate, span):  # pragma: no cover - compiled
    n_out = out.shape[0]
    for j in range(onset.shape[0]):
        start = onset[j]
        if start < 0 or start >= n_out:
            continue
        tau = decay_s[j] * sample_rate
        length = min(int(span * tau) + 1, n_out - start)
        w0 = 2.0 * math.pi * freq_hz[j] / sample_rate
        dw = w0 * chirp_per_s[j] / sample_rate  # increase of the phase step per sample
        r = math.exp(-1.0 / tau)
        zr, zi = amp[j], 0.0  # amp * e^{i phase}, phase 0
        w = w0 + 0.5 * dw
        rr, ri = r * math.cos(w), r * math.sin(w)  # the first step's rotation times the decay
        cr, ci = math.cos(dw), math.sin(dw)  # the rotation's own rotation (the chirp)
        for k in range(length):
            out[start + k] += zi
            zr, zi = zr * rr - zi * ri, zr * ri + zi * rr
            rr, ri = rr * cr - ri * ci, rr * ci + ri * cr


def damped_grains(n_out: int, sample_rate: int, onset, freq_hz, decay_s, chirp_per_s, amp,
                  span: float = 6.0, out: np.ndarray | None = None) -> np.ndarray:
    """Sum of grains ``amp * exp(-t / decay_s) * sin(2 pi f0 (t + chirp t^2 / 2))`` (float64).

    Parameters
    ----------
    n_out : int
        Length of the output in samples (ignored when ``out`` is given).
    sample_rate : int
        Samples per second.
    onset : array of int
        First sample of each grain (grains outside ``[0, n_out)`` are skipped).
    freq_hz, decay_s, chirp_per_s, amp : arrays of float
        Start frequency (Hz), amplitude time constant (s), relative pitch rise per second
        (``f(t) = f0 (1 + chirp t)``) and peak amplitude of each grain.
    span : float
        A grain stops after ``span`` time constants (6 -> -52 dB).
    out : ndarray, optional
        Float64 buffer to add into.
    """
    if out is None:
        out = np.zeros(int(n_out), np.float64)
    k = np.asarray(onset).size
    if k:
        _grains(out, np.ascontiguousarray(onset, np.int64), np.ascontiguousarray(freq_hz, np.float64),
                np.maximum(np.ascontiguousarray(decay_s, np.float64), 1e-6),
                np.ascontiguousarray(chirp_per_s, np.float64) * np.ones(k),
                np.ascontiguousarray(amp, np.float64), float(sample_rate), float(span))
    return out


def damped_grains_reference(n_out: int, sample_rate: int, onset, freq_hz, decay_s, chirp_per_s, amp,
                            span: float = 6.0) -> np.ndarray:
    """:func:`damped_grains` with the closed form, one grain at a time (the specification)."""
    out = np.zeros(int(n_out))
    chirp = np.asarray(chirp_per_s, np.float64) * np.ones(np.asarray(onset).size)
    for s, f, d, c, a in zip(onset, freq_hz, decay_s, chirp, amp):
        if s < 0 or s >= n_out:
            continue
        tau = max(d, 1e-6) * sample_rate
        m = min(int(span * tau) + 1, n_out - s)
        t = np.arange(m) / sample_rate
        out[s:s + m] += a * np.exp(-t * sample_rate / tau) * np.sin(2 * np.pi * f * (t + 0.5 * c * t * t))
    return out


@njit(cache=True)
def _fm_notes(out, onset, length, f0, f1, vib_hz, vib_depth, h2, amp, sample_rate):  # pragma: no cover - compiled
    n_out = out.shape[0]
    for j in range(onset.shape[0]):
        start, m = onset[j], length[j]
        if start < 0 or start >= n_out or m < 2:
            continue
        phase = 0.0
        for k in range(min(m, n_out - start)):
            x = k / (m - 1.0)
            f = (f0[j] + (f1[j] - f0[j]) * x) * (1.0 + vib_depth[j] * math.sin(2.0 * math.pi * vib_hz[j] * k / sample_rate))
            env = math.sin(math.pi * x)
            out[start + k] += amp[j] * env * env * (math.sin(phase) + h2[j] * math.sin(2.0 * phase))
            phase += 2.0 * math.pi * f / sample_rate


def fm_notes(n_out: int, sample_rate: int, onset, length, f0_hz, f1_hz, vib_hz, vib_depth, h2, amp) -> np.ndarray:
    """Sum of Hann-windowed notes gliding linearly from ``f0_hz`` to ``f1_hz`` (float64).

    Each note ``j`` lasts ``length[j]`` samples from ``onset[j]``; its frequency is multiplied by
    ``1 + vib_depth sin(2 pi vib_hz t)``; ``h2`` is the relative amplitude of its second harmonic.
    """
    out = np.zeros(int(n_out), np.float64)
    if np.asarray(onset).size:
        c = lambda a: np.ascontiguousarray(a, np.float64)  # noqa: E731
        _fm_notes(out, np.ascontiguousarray(onset, np.int64), np.ascontiguousarray(length, np.int64), c(f0_hz),
                  c(f1_hz), c(vib_hz), c(vib_depth), c(h2), c(amp), float(sample_rate))
    return out


def fm_notes_reference(n_out: int, sample_rate: int, onset, length, f0_hz, f1_hz, vib_hz, vib_depth, h2, amp):
    """:func:`fm_notes` vectorised per note with a cumulative-sum phase (the specification)."""
    out = np.zeros(int(n_out))
    for s, m, a0, a1, vr, vd, h, a in zip(onset, length, f0_hz, f1_hz, vib_hz, vib_depth, h2, amp):
        if s < 0 or s >= n_out or m < 2:
            continue
        k = np.arange(min(m, n_out - s))
        x = k / (m - 1.0)
        f = (a0 + (a1 - a0) * x) * (1.0 + vd * np.sin(2 * np.pi * vr * k / sample_rate))
        phase = np.concatenate(([0.0], np.cumsum(2 * np.pi * f / sample_rate)[:-1]))
        out[s:s + k.size] += a * np.sin(np.pi * x) ** 2 * (np.sin(phase) + h * np.sin(2 * phase))
    return out
