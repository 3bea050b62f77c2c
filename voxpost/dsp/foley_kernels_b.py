"""Numba kernels for the weather and texture foley models: damped chirps, FM notes and
time-varying state-variable band-pass filters.

- :func:`damped_grains` adds many exponentially damped, optionally chirping sinusoids into one
  buffer: rain drops ringing, fire crackles and Van den Doel's bubbles, whose pitch rises as
  ``f(t) = f0 * (1 + chirp * t)`` ("Physically-based models for liquid sounds", 2005). Each
  grain runs as a complex phasor (a rotation and a decay per sample, no ``exp``/``sin`` per
  sample) and stops once it has decayed by ``span`` time constants.
- :func:`fm_notes` adds Hann-windowed notes whose frequency glides from ``f0`` to ``f1`` with a
  vibrato (bird-song syllables), with an optional second harmonic.
- :func:`svf_bandpass` is Zavalishin's trapezoidal (TPT) state-variable filter with a per-sample
  coefficient ``g = tan(pi fc / fs)``, normalised to unity gain at the centre; it tracks the wind
  speed without zipper noise.
- :func:`babble_voices` makes voices (a glottal sawtooth with breath noise, pitch and level
  interpolated per block) and runs each through its own time-varying parallel formant filters
  (the same SVF, coefficients held per block), summed: crowd babble.

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


@njit(cache=True)
def _svf(x, g, k, out):  # pragma: no cover - compiled
    s1 = 0.0
    s2 = 0.0
    for n in range(x.shape[0]):
        gn = g[n]
        a1 = 1.0 / (1.0 + gn * (gn + k))
        v3 = x[n] - s2
        v1 = a1 * s1 + gn * a1 * v3
        v2 = s2 + gn * v1
        s1 = 2.0 * v1 - s1
        s2 = 2.0 * v2 - s2
        out[n] = k * v1


def svf_bandpass(x: np.ndarray, sample_rate: int, fc_hz, q: float) -> np.ndarray:
    """Band-pass ``x`` around a per-sample centre ``fc_hz`` (array or scalar) with quality ``q``.

    Unity gain at the centre; float64 out. ``fc_hz`` is clipped to ``[1 Hz, 0.45 fs]``.
    """
    x = np.ascontiguousarray(x, np.float64)
    g = np.tan(np.pi * np.clip(np.asarray(fc_hz, np.float64), 1.0, 0.45 * sample_rate) / sample_rate)
    g = np.full(x.size, float(g)) if g.ndim == 0 else np.ascontiguousarray(g)
    out = np.empty(x.size)
    if x.size:
        _svf(x, g, 1.0 / float(q), out)
    return out


def svf_bandpass_reference(x: np.ndarray, sample_rate: int, fc_hz, q: float) -> np.ndarray:
    """:func:`svf_bandpass` as a plain Python loop (the specification; slow)."""
    x = np.asarray(x, np.float64)
    g = np.tan(np.pi * np.clip(np.asarray(fc_hz, np.float64), 1.0, 0.45 * sample_rate) / sample_rate) * np.ones(x.size)
    k, s1, s2, out = 1.0 / q, 0.0, 0.0, np.empty(x.size)
    for n in range(x.size):
        v1 = (s1 + g[n] * (x[n] - s2)) / (1.0 + g[n] * (g[n] + k))
        v2 = s2 + g[n] * v1
        s1, s2 = 2 * v1 - s1, 2 * v2 - s2
        out[n] = k * v1
    return out


@njit(cache=True)
def _babble(f0, amp, breath, b0, a1, a2, gain, tilt, block, noise, offset, sample_rate, out):  # pragma: no cover
    # three formant biquads, unrolled so that every state lives in a register; the recursion on
    # y[n-1] is one multiply-add, so a sample costs little more than its arithmetic
    n_voice, n_block = f0.shape
    n_noise = noise.shape[0]
    n = out.shape[0]
    inv_sr = 1.0 / sample_rate
    for v in range(n_voice):
        x1 = x2 = 0.0
        y01 = y02 = y11 = y12 = y21 = y22 = 0.0
        phase = 0.0
        lp = 0.0
        j = offset[v] % n_noise
        for b in range(n_block):
            i0 = b * block
            if i0 >= n:
                break
            b1 = min(b + 1, n_block - 1)
            c0, d0, e0 = b0[v, 0, b] * gain[0], a1[v, 0, b], a2[v, 0, b]
            c1, d1, e1 = b0[v, 1, b] * gain[1], a1[v, 1, b], a2[v, 1, b]
            c2, d2, e2 = b0[v, 2, b] * gain[2], a1[v, 2, b], a2[v, 2, b]
            fq = f0[v, b] * inv_sr
            dfq = (f0[v, b1] - f0[v, b]) * inv_sr / block
            a = amp[v, b]
            da = (amp[v, b1] - a) / block
            br = breath[v, b]
            dbr = (breath[v, b1] - br) / block
            for i in range(i0, min(i0 + block, n)):
                phase += fq
                if phase >= 1.0:
                    phase -= 1.0
                src = (1.0 - br) * (2.0 * phase - 1.0) + br * noise[j]
                j += 1
                if j == n_noise:
                    j = 0
                lp += tilt * (src - lp)
                xn = a * lp
                dx = xn - x2
                x2 = x1
                x1 = xn
                y0 = c0 * dx - e0 * y02 - d0 * y01
                y1 = c1 * dx - e1 * y12 - d1 * y11
                y2 = c2 * dx - e2 * y22 - d2 * y21
                y02 = y01
                y01 = y0
                y12 = y11
                y11 = y1
                y22 = y21
                y21 = y2
                out[i] += y0 + y1 + y2
                fq += dfq
                a += da
                br += dbr


def _formant_coefficients(formants_hz, q, sample_rate):
    """Constant-peak band-pass biquads (RBJ): ``b0`` (``b2 = -b0``), ``a1``, ``a2``, normalised."""
    w = 2 * np.pi * np.clip(np.asarray(formants_hz, np.float64), 1.0, 0.45 * sample_rate) / sample_rate
    alpha = np.sin(w) / (2.0 * np.asarray(q, np.float64)[None, :, None])
    a0 = 1.0 + alpha
    return (np.ascontiguousarray(alpha / a0), np.ascontiguousarray(-2.0 * np.cos(w) / a0),
            np.ascontiguousarray((1.0 - alpha) / a0))


def babble_voices(n: int, sample_rate: int, block: int, f0_hz, amp, breath, formants_hz, q, gains, tilt: float,
                  noise: np.ndarray, offset) -> np.ndarray:
    """Sum of ``voices`` talking: each a sawtooth glottal buzz mixed with breath noise, tilted by a
    one-pole low-pass, through its own three parallel formant band-passes (float64, ``n`` samples).

    Parameters
    ----------
    block : int
        Control period in samples: ``f0_hz``, ``amp`` and ``breath`` (shape ``(voices, blocks)``) are
        interpolated linearly between blocks; ``formants_hz`` (``(voices, 3, blocks)``) is held.
    q, gains : arrays, shape (3,)
        Quality and gain of each formant band-pass (constant-peak biquads, unity gain at the centre).
    tilt : float
        One-pole low-pass coefficient in ``(0, 1]`` (1 = no tilt; smaller = darker voice).
    noise : ndarray
        Breath noise shared by the voices; voice ``v`` reads it from ``offset[v]`` on (wrapping).
    """
    out = np.zeros(int(n))
    f0 = np.ascontiguousarray(f0_hz, np.float64)
    if f0.size and n:
        b0, a1, a2 = _formant_coefficients(formants_hz, q, sample_rate)
        _babble(f0, np.ascontiguousarray(amp, np.float64), np.ascontiguousarray(breath, np.float64), b0, a1, a2,
                np.asarray(gains, np.float64), float(tilt), int(block), np.ascontiguousarray(noise, np.float64),
                np.asarray(offset, np.int64), float(sample_rate), out)
    return out


def babble_voices_reference(n, sample_rate, block, f0_hz, amp, breath, formants_hz, q, gains, tilt, noise, offset):
    """:func:`babble_voices` with NumPy sources and a plain loop per biquad (the specification; slow)."""
    from scipy.signal import lfilter

    i = np.arange(n)
    b = np.minimum(i // block, f0_hz.shape[1] - 1)
    b1 = np.minimum(b + 1, f0_hz.shape[1] - 1)
    fr = (i % block) / block
    lerp = lambda a: a[b] + (a[b1] - a[b]) * fr  # noqa: E731
    c0, c1, c2 = _formant_coefficients(formants_hz, q, sample_rate)
    out = np.zeros(n)
    for v in range(f0_hz.shape[0]):
        phase = np.cumsum(lerp(f0_hz[v]) / sample_rate) % 1.0
        br = lerp(breath[v])
        src = (1 - br) * (2 * phase - 1) + br * noise[(offset[v] + i) % noise.size]
        x = lerp(amp[v]) * lfilter([tilt], [1.0, tilt - 1.0], src)
        for f in range(3):
            y1 = y2 = 0.0
            for t in range(n):
                y = gains[f] * c0[v, f, b[t]] * (x[t] - (x[t - 2] if t >= 2 else 0.0)) \
                    - c1[v, f, b[t]] * y1 - c2[v, f, b[t]] * y2
                out[t] += y
                y1, y2 = y, y1
    return out
