"""Feedback delay network (FDN) reverb: eight delay lines, an orthogonal feedback matrix, absorption.

Jot and Chaigne's late reverberator ("Digital delay networks for designing artificial
reverberators", AES 1991). Eight delay lines of mutually prime lengths ``m_i`` (distinct primes)
feed back through the 8x8 Hadamard matrix scaled by ``1/sqrt(8)`` (orthogonal, hence lossless:
every loss is the absorption's). Line ``i`` ends in a one-pole low-pass
``H_i(z) = g_i (1 - p_i) / (1 - p_i z^-1)`` set from the reverberation times: its DC gain
``g_i = 10 ** (-3 m_i / (rt60_s fs))`` makes low frequencies fall 60 dB in ``rt60_s``, and the
pole ``p_i = ln(10)/4 * log10(g_i) * (1 - (rt60_s / rt60_high_s) ** 2)`` makes the Nyquist gain
match ``rt60_high_s`` (a dark room has ``rt60_high_s < rt60_s``). The input enters every line
with gains ``+-1/sqrt(8)``; two orthogonal output vectors (rows of the Hadamard matrix) read the
lines into two decorrelated channels. An optional one-pole low-pass on the input darkens the
whole tail (an absorbent space, a forest).

:func:`fdn` is the Numba kernel (one pass over the samples, fast Walsh-Hadamard butterflies);
:func:`fdn_reference` the same network written plainly in Python with an explicit matrix, which
the kernel is tested against. :func:`decay_time_s` measures RT60 by Schroeder backward
integration.

Examples
--------
>>> import numpy as np
>>> x = np.zeros(48000, np.float32); x[0] = 1.0
>>> d = prime_delays(48000, 20.0, 45.0)
>>> y = fdn(x, 48000, rt60_s=1.0, rt60_high_s=0.5, delays_samples=d)
>>> y.shape, y.dtype
((2, 48000), dtype('float32'))
"""

from __future__ import annotations

import numpy as np
from numba import njit

N_LINES = 8


def _hadamard(n: int = N_LINES) -> np.ndarray:
    h = np.ones((1, 1))
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return h


_H = _hadamard()
#: input gains: one sign pattern, not a row of the matrix (so the first pass already spreads)
B_IN = np.array([1, -1, 1, 1, -1, 1, -1, -1], np.float64) / np.sqrt(N_LINES)
#: output gains per channel: two orthogonal rows of the Hadamard matrix
C_OUT = np.stack([_H[3], _H[5]]) / np.sqrt(N_LINES)


def _is_prime(k: int) -> bool:
    return k >= 2 and all(k % p for p in range(2, int(k ** 0.5) + 1))


def prime_delays(sample_rate: int, min_ms: float, max_ms: float, n: int = N_LINES) -> np.ndarray:
    """``n`` distinct primes (samples), spread geometrically between ``min_ms`` and ``max_ms``:
    distinct primes are mutually prime, so the lines' echoes never pile up on a common period."""
    out: list[int] = []
    for t in np.geomspace(min_ms, max_ms, n):
        k = max(int(round(t * 1e-3 * sample_rate)), 2)
        while not _is_prime(k) or k in out:
            k += 1
        out.append(k)
    return np.array(out, np.int64)


def absorption(delays_samples, sample_rate: int, rt60_s: float, rt60_high_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Jot's per-line absorption filters: ``(g, p)``, DC gain and pole of each one-pole low-pass."""
    m = np.asarray(delays_samples, np.float64)
    if m.shape != (N_LINES,) or np.any(m < 1):
        raise ValueError(f"delays_samples must be {N_LINES} positive lengths")
    if not (rt60_s > 0 and rt60_high_s > 0):
        raise ValueError("rt60_s and rt60_high_s must be positive")
    g = 10.0 ** (-3.0 * m / (rt60_s * sample_rate))
    alpha = rt60_high_s / rt60_s
    p = np.log(10.0) / 4.0 * np.log10(g) * (1.0 - 1.0 / alpha ** 2)
    return g, np.clip(p, -0.99, 0.99)


def _input_pole(sample_rate: int, input_lowpass_hz: float | None) -> float:
    if input_lowpass_hz is None or input_lowpass_hz >= 0.45 * sample_rate:
        return 0.0
    return float(np.exp(-2 * np.pi * max(input_lowpass_hz, 1.0) / sample_rate))


def _prepare(x_mono, sample_rate, rt60_s, rt60_high_s, delays_samples, n_out, input_lowpass_hz):
    x = np.ascontiguousarray(x_mono, np.float64).ravel()
    n = x.size if n_out is None else int(n_out)
    if n < 0:
        raise ValueError("n_out must be >= 0")
    m = np.asarray(delays_samples, np.int64)
    if m.shape != (N_LINES,) or np.any(m < 1):
        raise ValueError(f"delays_samples must be {N_LINES} lengths of at least one sample")
    g, p = absorption(m, sample_rate, rt60_s, rt60_high_s)
    return x[:n], n, m, g, p, _input_pole(sample_rate, input_lowpass_hz)


@njit(cache=True)
def _fdn(x, n_out, m, g, p, a_in, b_in, c_out, out):  # pragma: no cover - compiled
    # Eight lines, written out: one flat buffer of 8 power-of-two rings, one write position.
    size = 1
    while size < m.max() + 1:
        size *= 2
    mask = size - 1
    buf = np.zeros(8 * size)
    b0 = g * (1.0 - p)
    s8 = 1.0 / np.sqrt(8.0)
    m0, m1, m2, m3, m4, m5, m6, m7 = m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7]
    l0 = l1 = l2 = l3 = l4 = l5 = l6 = l7 = 0.0
    u = 0.0
    nx = x.size
    for n in range(n_out):
        xn = x[n] if n < nx else 0.0
        u = (1.0 - a_in) * xn + a_in * u
        l0 = b0[0] * buf[(n - m0) & mask] + p[0] * l0
        l1 = b0[1] * buf[size + ((n - m1) & mask)] + p[1] * l1
        l2 = b0[2] * buf[2 * size + ((n - m2) & mask)] + p[2] * l2
        l3 = b0[3] * buf[3 * size + ((n - m3) & mask)] + p[3] * l3
        l4 = b0[4] * buf[4 * size + ((n - m4) & mask)] + p[4] * l4
        l5 = b0[5] * buf[5 * size + ((n - m5) & mask)] + p[5] * l5
        l6 = b0[6] * buf[6 * size + ((n - m6) & mask)] + p[6] * l6
        l7 = b0[7] * buf[7 * size + ((n - m7) & mask)] + p[7] * l7
        out[0, n] = (c_out[0, 0] * l0 + c_out[0, 1] * l1 + c_out[0, 2] * l2 + c_out[0, 3] * l3
                     + c_out[0, 4] * l4 + c_out[0, 5] * l5 + c_out[0, 6] * l6 + c_out[0, 7] * l7)
        out[1, n] = (c_out[1, 0] * l0 + c_out[1, 1] * l1 + c_out[1, 2] * l2 + c_out[1, 3] * l3
                     + c_out[1, 4] * l4 + c_out[1, 5] * l5 + c_out[1, 6] * l6 + c_out[1, 7] * l7)
        # fast Walsh-Hadamard transform (three butterfly stages), scaled to be orthogonal
        a0, a1, a2, a3, a4, a5, a6, a7 = l0 + l1, l0 - l1, l2 + l3, l2 - l3, l4 + l5, l4 - l5, l6 + l7, l6 - l7
        e0, e1, e2, e3, e4, e5, e6, e7 = a0 + a2, a1 + a3, a0 - a2, a1 - a3, a4 + a6, a5 + a7, a4 - a6, a5 - a7
        w = n & mask
        buf[w] = (e0 + e4) * s8 + b_in[0] * u
        buf[size + w] = (e1 + e5) * s8 + b_in[1] * u
        buf[2 * size + w] = (e2 + e6) * s8 + b_in[2] * u
        buf[3 * size + w] = (e3 + e7) * s8 + b_in[3] * u
        buf[4 * size + w] = (e0 - e4) * s8 + b_in[4] * u
        buf[5 * size + w] = (e1 - e5) * s8 + b_in[5] * u
        buf[6 * size + w] = (e2 - e6) * s8 + b_in[6] * u
        buf[7 * size + w] = (e3 - e7) * s8 + b_in[7] * u


def fdn(x_mono: np.ndarray, sample_rate: int, *, rt60_s: float, rt60_high_s: float, delays_samples,
        n_out: int | None = None, input_lowpass_hz: float | None = None) -> np.ndarray:
    """The late reverberation of ``x_mono``: float32 ``[2, n_out]`` (``n_out`` defaults to
    ``len(x_mono)``; a longer ``n_out`` lets the tail ring out past the input).

    Parameters
    ----------
    x_mono : mono signal.
    sample_rate : Hz.
    rt60_s, rt60_high_s : reverberation time at DC and at Nyquist (seconds).
    delays_samples : eight delay-line lengths, mutually prime (see :func:`prime_delays`).
    n_out : output length in samples.
    input_lowpass_hz : optional one-pole low-pass on the input (None: flat).
    """
    x, n, m, g, p, a_in = _prepare(x_mono, sample_rate, rt60_s, rt60_high_s, delays_samples, n_out,
                                   input_lowpass_hz)
    out = np.zeros((2, n), np.float64)
    if n:
        _fdn(x, n, m, g, p, a_in, B_IN, C_OUT, out)
    return out.astype(np.float32)


def fdn_reference(x_mono: np.ndarray, sample_rate: int, *, rt60_s: float, rt60_high_s: float, delays_samples,
                  n_out: int | None = None, input_lowpass_hz: float | None = None) -> np.ndarray:
    """:func:`fdn` written plainly (Python loop, explicit matrix, deques as delay lines): the specification."""
    from collections import deque

    x, n, m, g, p, a_in = _prepare(x_mono, sample_rate, rt60_s, rt60_high_s, delays_samples, n_out,
                                   input_lowpass_hz)
    A = _H / np.sqrt(N_LINES)
    lines = [deque([0.0] * int(k)) for k in m]
    state = np.zeros(N_LINES)
    u = 0.0
    out = np.zeros((2, n))
    for t in range(n):
        u = (1 - a_in) * (x[t] if t < x.size else 0.0) + a_in * u
        s = np.array([line.popleft() for line in lines])
        state = g * (1 - p) * s + p * state
        out[:, t] = C_OUT @ state
        for line, w in zip(lines, A @ state + B_IN * u):
            line.append(float(w))
    return out.astype(np.float32)


@njit(cache=True)
def _taps(x, delays, gains, out):  # pragma: no cover - compiled
    n_out = out.shape[1]
    for c in range(delays.shape[0]):
        for k in range(delays.shape[1]):
            d = delays[c, k]
            gk = gains[c, k]
            stop = min(x.size, n_out - d)
            for i in range(stop):
                out[c, d + i] += gk * x[i]


def tapped_delay(x_mono: np.ndarray, delays_samples, gains, n_out: int | None = None) -> np.ndarray:
    """A sparse multi-tap delay (early reflections, echoes): ``out[c, t] = sum_k gains[c, k] *
    x[t - delays_samples[c, k]]``; float32 ``[channels, n_out]`` (``n_out`` defaults to ``len(x)``)."""
    x = np.ascontiguousarray(x_mono, np.float32).ravel()
    d = np.atleast_2d(np.asarray(delays_samples, np.int64))
    g = np.atleast_2d(np.asarray(gains, np.float32))
    if d.shape != g.shape or np.any(d < 0):
        raise ValueError("delays_samples and gains must match in shape; delays must be >= 0")
    out = np.zeros((d.shape[0], x.size if n_out is None else int(n_out)), np.float32)
    _taps(x, d, g, out)
    return out


def tapped_delay_reference(x_mono: np.ndarray, delays_samples, gains, n_out: int | None = None) -> np.ndarray:
    """:func:`tapped_delay` as one NumPy shifted add per tap (the specification)."""
    x = np.asarray(x_mono, np.float64).ravel()
    d = np.atleast_2d(np.asarray(delays_samples, np.int64))
    g = np.atleast_2d(np.asarray(gains, np.float64))
    n = x.size if n_out is None else int(n_out)
    out = np.zeros((d.shape[0], n))
    for c, k in np.ndindex(d.shape):
        seg = x[: max(n - d[c, k], 0)]
        out[c, d[c, k]: d[c, k] + seg.size] += g[c, k] * seg
    return out.astype(np.float32)


def decay_time_s(ir: np.ndarray, sample_rate: int, *, band_hz: tuple[float, float] | None = None,
                 fit_db: tuple[float, float] = (-5.0, -25.0)) -> float:
    """RT60 of an impulse response by Schroeder backward integration: the energy decay curve's
    slope fitted between ``fit_db`` (T20 by default) and extrapolated to -60 dB. A 2-D ``ir``
    ([channels, n]) is summed over channels' energies; ``band_hz`` band-passes it first."""
    h = np.atleast_2d(np.asarray(ir, np.float64))
    if band_hz is not None:
        from scipy.signal import butter, sosfilt

        h = sosfilt(butter(3, band_hz, "bandpass", fs=sample_rate, output="sos"), h, axis=-1)  # causal
    e = (h ** 2).sum(axis=0)
    edc = np.cumsum(e[::-1])[::-1]
    edc_db = 10 * np.log10(np.maximum(edc / max(edc[0], 1e-300), 1e-30))
    i0 = int(np.argmax(edc_db <= fit_db[0]))
    i1 = int(np.argmax(edc_db <= fit_db[1]))
    if i1 <= i0 + 1:
        return 0.0
    t = np.arange(i0, i1) / sample_rate
    slope = np.polyfit(t, edc_db[i0:i1], 1)[0]
    return float(-60.0 / slope) if slope < 0 else float("inf")
