"""Crowd babble as a Numba kernel: :func:`babble_voices`.

Each voice is a glottal sawtooth mixed with breath noise (pitch, level and breathiness
interpolated per block), tilted by a one-pole low-pass and run through its own three parallel
formant band-pass biquads (RBJ constant-peak, coefficients held per block); the voices are summed.
:func:`babble_voices_reference` is the plain NumPy/Python version the tests compare it with.
"""

from __future__ import annotations

import numpy as np
from numba import njit


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
