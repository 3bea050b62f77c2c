"""Mains-hum canceller: a phase-locked oscillator plus one adaptive sinusoid per harmonic.

The per-sample recursion (per channel ``c``, harmonic numbers ``h[k]``)::

    theta_k = h[k] * phi
    yhat    = sum_k a_k cos(theta_k) + b_k sin(theta_k)        # the hum estimate
    e       = x - yhat                                         # the output (hum removed)
    a_k    += mu * e * cos(theta_k);  b_k += mu * e * sin(theta_k)    # LMS: amplitude / phase
    d       = sum_k L[k] h[k] (b_k cos(theta_k) - a_k sin(theta_k))   # d yhat / d phi
    pe      = clip(e * d / (0.5 * sum_k L[k] h[k]^2 (a_k^2 + b_k^2)), +-pe_max)  # phase error, rad
    omega  += ki * pe (clamped to [omega_min, omega_max]);  phi += omega + kp * pe   # 2nd-order PLL
    m_k     = (1 - alpha) m_k + alpha * 2 e [cos, sin](theta_k)      # residual-hum monitor

``L[k]`` (``lock``) is 1 for the harmonics that steer the PLL (those clearly present), else 0.
State lives in arrays (``osc[c] = [phi, omega]``, ``w[c, k] = [a, b]``, ``mon[c, k] = [re, im]``)
and is updated in place, so cutting the signal into blocks of any size gives the same output.
:func:`hum_cancel` is the Numba kernel; :func:`hum_cancel_reference` is the same recursion in
plain NumPy/Python (vectorised over harmonics), kept for testing.

``params`` is ``[mu, kp, ki, omega_min, omega_max, alpha, pe_max]``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

TWO_PI = 2.0 * math.pi


@njit(cache=True, fastmath=False)
def hum_cancel(x: np.ndarray, harm: np.ndarray, lock: np.ndarray, osc: np.ndarray, w: np.ndarray, mon: np.ndarray,
               params: np.ndarray) -> np.ndarray:
    """Cancel hum in ``x`` [channels, frames] (float32); state arrays (float64) updated in place."""
    channels, frames = x.shape
    nh = harm.shape[0]
    mu, kp, ki = params[0], params[1], params[2]
    omin, omax, alpha, pemax = params[3], params[4], params[5], params[6]
    y = np.empty((channels, frames), np.float32)
    cs = np.empty(nh)
    sn = np.empty(nh)
    for c in range(channels):
        phi = osc[c, 0]
        om = osc[c, 1]
        for n in range(frames):
            yhat = 0.0
            d = 0.0
            norm = 0.0
            for k in range(nh):
                th = harm[k] * phi
                ck = math.cos(th)
                sk = math.sin(th)
                cs[k] = ck
                sn[k] = sk
                a = w[c, k, 0]
                b = w[c, k, 1]
                yhat += a * ck + b * sk
                d += lock[k] * harm[k] * (b * ck - a * sk)
                norm += lock[k] * harm[k] * harm[k] * (a * a + b * b)
            e = np.float64(x[c, n]) - yhat
            y[c, n] = e
            for k in range(nh):
                w[c, k, 0] += mu * e * cs[k]
                w[c, k, 1] += mu * e * sn[k]
                mon[c, k, 0] += alpha * (2.0 * e * cs[k] - mon[c, k, 0])
                mon[c, k, 1] += alpha * (2.0 * e * sn[k] - mon[c, k, 1])
            pe = 0.0
            if norm > 1e-30:
                pe = e * d / (0.5 * norm)
                if pe > pemax:
                    pe = pemax
                elif pe < -pemax:
                    pe = -pemax
            om += ki * pe
            if om < omin:
                om = omin
            elif om > omax:
                om = omax
            phi += om + kp * pe
            if phi >= math.pi:
                phi -= TWO_PI
            elif phi < -math.pi:
                phi += TWO_PI
        osc[c, 0] = phi
        osc[c, 1] = om
    return y


def hum_cancel_reference(x: np.ndarray, harm: np.ndarray, lock: np.ndarray, osc: np.ndarray, w: np.ndarray, mon: np.ndarray,
                         params: np.ndarray) -> np.ndarray:
    """NumPy reference for :func:`hum_cancel`: the same recursion, vectorised over harmonics."""
    mu, kp, ki, omin, omax, alpha, pemax = (float(p) for p in params)
    harm = np.asarray(harm, np.float64)
    lock = np.asarray(lock, np.float64)
    xs = np.asarray(x, np.float64)
    y = np.empty_like(xs)
    for c in range(xs.shape[0]):
        phi, om = float(osc[c, 0]), float(osc[c, 1])
        for n in range(xs.shape[1]):
            th = harm * phi
            ck, sk = np.cos(th), np.sin(th)
            a, b = w[c, :, 0], w[c, :, 1]
            yhat = float(np.sum(a * ck + b * sk))
            d = float(np.sum(lock * harm * (b * ck - a * sk)))
            norm = float(np.sum(lock * harm * harm * (a * a + b * b)))
            e = xs[c, n] - yhat
            y[c, n] = e
            w[c, :, 0] += mu * e * ck
            w[c, :, 1] += mu * e * sk
            mon[c, :, 0] += alpha * (2.0 * e * ck - mon[c, :, 0])
            mon[c, :, 1] += alpha * (2.0 * e * sk - mon[c, :, 1])
            pe = min(max(e * d / (0.5 * norm), -pemax), pemax) if norm > 1e-30 else 0.0
            om = min(max(om + ki * pe, omin), omax)
            phi += om + kp * pe
            if phi >= np.pi:
                phi -= 2.0 * np.pi
            elif phi < -np.pi:
                phi += 2.0 * np.pi
        osc[c, 0], osc[c, 1] = phi, om
    return y.astype(np.float32)
