"""Offline mains-hum estimation under speech: harmonic basebands, a joint phase track, smooth amplitudes.

The hum model, per channel ``c`` and harmonic ``k`` (``k`` in ``harm``)::

    hum_c(n) = sum_k Re{ a_ck(n) exp(j k phi(n)) },      phi(n) = omega_ref n + psi(n)

``psi`` (the phase deviation from a reference fundamental ``omega_ref``, shared by every harmonic and
channel) and the complex amplitudes ``a_ck`` vary slowly; both are kept on a frame grid (frame ``m``
centred on sample ``m * hop``) and interpolated linearly in between.

Estimation (:func:`fit_hum`), all at the frame rate:

1. :func:`harmonic_baseband`: each harmonic is heterodyned to 0 Hz and low-passed by a Kaiser
   window (``win`` samples, -58 dB sidelobes, so neighbouring harmonics 50/60 Hz away do not leak),
   ``b_ck[m] ~ a_ck(m) exp(j k psi[m]) W(k dpsi/dt)`` plus whatever speech lies within the window's
   band around ``k f_ref`` (``W``: the window's response to the small frequency offset, modelled).
2. Iteratively reweighted least squares. Each frame and harmonic is weighted by the inverse of the
   local power of what the model does not explain (speech, noise): loud speech at a harmonic counts
   little, the pauses and speech-weak bands count a lot. With ``var_floor`` the power behind a weight
   is floored at that many times the variance the amplitude estimate itself has: a weight from the
   frame's own residual otherwise rewards the frames whose speech happens to cancel the model's
   current error, and the fit locks onto its own mistake.

   - amplitudes: ``a_ck = b_ck exp(-j k psi) / W`` smoothed by a weighted Whittaker smoother
     (differences of order ``amp_order``: 1 leaves a steady level free, 2 a steady ramp too; cut-off
     ``amp_hz`` where the weight is that of a quiet frame, lower where speech is loud);
   - phase: one Gauss-Newton step per iteration, jointly over every harmonic and channel: harmonic
     ``k`` sees ``k`` times the phase error, so its information is ``2 k^2 |a|^2 / sigma^2``; the
     combined measurement is smoothed by the same kind of smoother (cut-off ``phase_hz``), which
     follows a drifting mains frequency and bridges speech where no harmonic is clean.

   A coarse start (:func:`initial_phase`): per 1 s segment, the frequency offset that maximises
   the weighted harmonic periodogram of the basebands, integrated to a phase.

:func:`hum_synth` (Numba) subtracts the model sample by sample at any absolute position, so the
result does not depend on how the signal is cut into blocks; :func:`hum_synth_reference` is the
same in NumPy, kept for testing.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import scipy.linalg
from numba import njit

#: Kaiser window shape of the basebands (-58 dB sidelobes, main lobe +-2.74 / window seconds).
KAISER_BETA = 8.0
#: Frames per coarse-search segment and the search span (Hz) around the reference.
SEGMENT_S = 1.0
SEARCH_SPAN_HZ = 0.8
#: Difference order of the phase smoother: 3 leaves a steadily drifting frequency (quadratic phase) free.
PHASE_ORDER = 3


def kaiser(n: int) -> np.ndarray:
    return np.kaiser(n, KAISER_BETA)


def frame_count(frames: int, hop: int) -> int:
    """Frames of the grid (centres ``0, hop, ...``) reaching past the last sample."""
    return (max(frames, 1) - 1) // hop + 2


def harmonic_baseband(x: np.ndarray, omega: float, harm: np.ndarray, hop: int, win: int) -> tuple[np.ndarray, np.ndarray]:
    """Complex basebands ``b[channels, K, M]`` of ``x [channels, frames]`` at ``harm * omega`` (rad/sample).

    Frame ``m`` is centred on sample ``m * hop``; ``win`` (odd) samples of Kaiser window. Returns
    ``(b, valid)``, ``valid[M]`` True where the whole window lies inside the signal.
    """
    x = np.asarray(x, np.float64)
    ch, n = x.shape
    half = win // 2
    m_count = frame_count(n, hop)
    w = kaiser(win)
    lag = np.arange(win) - half
    # E[l, k] = 2 w(l) exp(-j k omega (l - half)) / sum w; the frame's own offset is applied after
    ek = np.outer(lag, harm) * omega
    scale = 2.0 / w.sum()
    ec = (w * scale)[:, None] * np.cos(ek)
    es = -(w * scale)[:, None] * np.sin(ek)
    pad = np.zeros((ch, half + n + half + hop))
    pad[:, half:half + n] = x
    out = np.empty((ch, harm.size, m_count), np.complex128)
    chunk = max(1, (1 << 22) // win)
    for c in range(ch):
        view = np.lib.stride_tricks.sliding_window_view(pad[c], win)[::hop][:m_count]
        for s in range(0, m_count, chunk):
            fr = np.ascontiguousarray(view[s:s + chunk])
            out[c, :, s:s + fr.shape[0]] = (fr @ ec + 1j * (fr @ es)).T
    centre = np.arange(m_count) * float(hop)
    rot = np.mod(np.outer(harm, centre) * omega, 2 * math.pi)
    out *= np.exp(-1j * rot)[None]
    valid = (centre - half >= 0) & (centre + half <= n - 1)
    return out, valid


@functools.lru_cache(maxsize=8)
def _window_table(win: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`window_response` tabulated over +-4 / win cycles per sample (past the main lobe)."""
    w = kaiser(win)
    lag = np.arange(win) - win // 2
    grid = np.linspace(-4.0 / win, 4.0 / win, 2049)
    return grid, np.cos(2 * math.pi * np.outer(grid, lag)) @ w / w.sum()


def window_response(f_cycles: np.ndarray, win: int) -> np.ndarray:
    """The baseband window's (real) response to an offset of ``f_cycles`` cycles per sample
    (interpolated in a table; constant beyond it)."""
    grid, table = _window_table(int(win))
    return np.interp(np.asarray(f_cycles, np.float64), grid, table)


def whittaker(y: np.ndarray, w: np.ndarray, lam: float, order: int = 2) -> np.ndarray:
    """Minimise ``sum w (y - z)^2 + lam sum (diff^order z)^2`` over ``z`` (along the last axis).

    ``y`` may be complex or have leading axes (each row smoothed with the same ``w``); a tiny ridge
    keeps the system definite where weights vanish.
    """
    w = np.asarray(w, np.float64)
    m = w.size
    coef = np.array([math.comb(order, i) * (-1) ** (order - i) for i in range(order + 1)], np.float64)
    # upper banded form of diag(w) + lam D^T D (D: (m - order) x m difference matrix)
    ab = np.zeros((order + 1, m))
    rows = max(m - order, 0)
    for j in range(order + 1):              # band j: entries (i, i + j)
        band = np.zeros(m - j)
        for r in range(order + 1 - j):      # D[row, row + r] * D[row, row + r + j]
            band[r:r + rows] += coef[r] * coef[r + j]
        ab[order - j, j:] = lam * band
    ab[order] += w + 1e-9 * (float(np.mean(w)) + 1e-300) + 1e-300
    yy = np.asarray(y)
    flat = yy.reshape(-1, m)
    if np.iscomplexobj(flat):
        rhs = np.concatenate([flat.real, flat.imag]).T * w[:, None]
    else:
        rhs = flat.T * w[:, None]
    sol = scipy.linalg.solveh_banded(ab, rhs, check_finite=False).T
    if np.iscomplexobj(flat):
        sol = sol[:flat.shape[0]] + 1j * sol[flat.shape[0]:]
    return sol.reshape(yy.shape)


def smoother_lambda(w_ref: float, cutoff_hz: float, frame_rate: float, order: int = 2) -> float:
    """Whittaker ``lam`` giving a half-power cut-off of ``cutoff_hz`` at weight ``w_ref``."""
    om = 2 * math.pi * min(cutoff_hz / frame_rate, 0.45)
    return float(w_ref / (2 * math.sin(om / 2)) ** (2 * order))


def local_power(p: np.ndarray, frames: int) -> np.ndarray:
    """Moving mean of ``p`` over ``frames`` frames along the last axis (edges: shorter mean)."""
    if frames <= 1:
        return p
    k = np.ones(frames) / frames
    flat = p.reshape(-1, p.shape[-1])
    num = np.stack([np.convolve(r, k, "same") for r in flat])
    den = np.convolve(np.ones(p.shape[-1]), k, "same")
    return (num / den).reshape(p.shape)


def initial_phase(b: np.ndarray, wts: np.ndarray, harm: np.ndarray, frame_rate: float, sample_rate: float) -> np.ndarray:
    """Coarse phase track ``psi[M]`` (rad): per-segment frequency offset by a weighted harmonic
    periodogram of the basebands, interpolated and integrated."""
    ch, k_count, m_count = b.shape
    seg = max(4, int(round(SEGMENT_S * frame_rate)))
    grid = np.linspace(-SEARCH_SPAN_HZ, SEARCH_SPAN_HZ, 2 * int(round(SEARCH_SPAN_HZ / 0.02)) + 1)
    centres, offsets, strength = [], [], []
    for s in range(0, max(m_count - seg // 2, 1), seg // 2):
        sl = slice(s, min(s + seg, m_count))
        t = (np.arange(sl.start, sl.stop) - (sl.start + sl.stop - 1) / 2) / frame_rate
        v = wts[:, :, sl]
        bv = b[:, :, sl] * v
        vs = v.sum(axis=-1) + 1e-300                                    # [ch, K]
        # score(g) = sum_{c,k} |sum_m v b exp(-j 2 pi k g t)|^2 / sum_m v
        ph = np.exp(-2j * math.pi * grid[:, None, None] * harm[None, :, None] * t[None, None, :])  # [G, K, T]
        proj = np.einsum("ckt,gkt->gck", bv, ph)
        score = np.sum(np.abs(proj) ** 2 / vs[None], axis=(1, 2))
        i = int(np.argmax(score))
        off = grid[i]
        if 0 < i < grid.size - 1:
            la, lb, lc = score[i - 1:i + 2]
            den = la - 2 * lb + lc
            if den < 0:
                off += 0.5 * (la - lc) / den * (grid[1] - grid[0])
        centres.append((sl.start + sl.stop - 1) / 2)
        offsets.append(off)
        strength.append(score[i])
    centres, offsets = np.asarray(centres), np.asarray(offsets)
    f = np.interp(np.arange(m_count), centres, offsets)
    return 2 * math.pi * np.concatenate([[0.0], np.cumsum(0.5 * (f[1:] + f[:-1]))]) / frame_rate


def fit_hum(x: np.ndarray, sample_rate: float, f_ref: float, harm: np.ndarray, *, hop: int, win: int,
            phase_hz: float = 0.5, amp_hz: float = 0.1, iterations: int = 8,
            psi0: np.ndarray | None = None, span_s: float = 0.0, update_phase: bool = True,
            leakage: bool = True, amp_order: int = 2, var_floor: float = 0.0) -> dict:
    """Fit the hum model to ``x [channels, frames]``: ``{"psi": [M], "amp": [ch, K, M], ...}``.

    ``f_ref`` is the reference fundamental (Hz), ``harm`` the harmonic numbers fitted, ``hop`` and
    ``win`` (odd) the frame grid in samples; ``phase_hz`` / ``amp_hz`` the smoothers' cut-offs at
    the weight of a quiet frame; ``span_s`` the reach of the local power estimate behind the weights
    (default: one window); ``psi0`` a starting phase track instead of :func:`initial_phase`, kept as
    it is when ``update_phase`` is False; ``leakage``: also run :func:`probe_leakage`. Also
    returned: the basebands ``b``, ``valid`` frames, the final ``weights [ch, K, M]``, ``omega`` and the ``leakage`` of :func:`probe_leakage`.
    """
    harm = np.asarray(harm, np.float64)
    omega = 2 * math.pi * f_ref / sample_rate
    b, valid = harmonic_baseband(x, omega, harm, hop, win)
    ch, k_count, m_count = b.shape
    frame_rate = sample_rate / hop
    span = max(1, int(round((span_s * sample_rate if span_s > 0 else win) / hop)))   # frames the noise estimate reaches over
    vmask = valid.astype(np.float64)
    # start: weights from the total band power (loud speech at a harmonic counts little)
    power = local_power(np.abs(b) ** 2, span)
    floor = 1e-12 * (np.max(power) + 1e-300)
    wts = vmask / (power + floor)
    psi = initial_phase(b, wts, harm, frame_rate, sample_rate) if psi0 is None else np.asarray(psi0, np.float64)
    kk = harm[None, :, None]

    def rotation(psi):
        dpsi = np.gradient(psi) / (2 * math.pi * hop) if m_count > 1 else np.zeros(m_count)  # cycles / sample
        return np.exp(1j * kk * psi[None, None, :]) * window_response(harm[:, None] * dpsi[None, :], win)[None]

    def amplitudes(rot, wts, cutoff_hz):
        """Weighted smoothing of the derotated basebands, per channel and harmonic."""
        y = b / rot
        wr = wts * np.abs(rot) ** 2
        amp = np.empty_like(b)
        for c in range(ch):
            for k in range(k_count):
                ref = float(np.quantile(wr[c, k][valid], 0.9)) if valid.any() else 1.0
                amp[c, k] = whittaker(y[c, k], wr[c, k], smoother_lambda(ref, cutoff_hz, frame_rate, amp_order), amp_order)
        return amp

    def reweight(model, amp, wts):
        """Inverse local power of what the model leaves (speech, noise), plus ``var_floor`` times the
        variance the amplitude estimate has under the previous weights (a frame the current model
        happens to explain better than its own error does must not take over the fit)."""
        power = local_power(np.abs(b - model) ** 2, span)
        hum_p = np.median(np.abs(amp[..., valid]) ** 2, axis=-1, keepdims=True) if valid.any() else 1.0
        extra = 0.0
        if var_floor > 0:
            info = np.sum(wts * np.abs(model) ** 2 / (np.abs(amp) ** 2 + 1e-300), axis=-1, keepdims=True)
            extra = var_floor / (info + 1e-300)
        return vmask / (power + 1e-6 * hum_p + extra + floor)

    for it in range(iterations):
        rot = rotation(psi)
        amp = amplitudes(rot, wts, amp_hz * (4.0 if it < 2 else 1.0))
        model = amp * rot
        wts = reweight(model, amp, wts)
        if not update_phase:
            continue
        # phase: one Gauss-Newton step, all harmonics and channels together
        z = b * np.conj(model)
        meas = np.angle(z) / kk                                                     # [ch, K, M]
        info = 2 * kk ** 2 * np.abs(model) ** 2 * wts
        info_m = info.sum(axis=(0, 1))
        dmeas = (info * meas).sum(axis=(0, 1)) / (info_m + 1e-300)
        ref = float(np.quantile(info_m[valid], 0.9)) if valid.any() else 1.0
        psi = whittaker(psi + dmeas, info_m, smoother_lambda(ref, phase_hz, frame_rate, PHASE_ORDER), PHASE_ORDER)
    rot = rotation(psi)
    amp = amplitudes(rot, wts, amp_hz)
    wts = reweight(amp * rot, amp, wts)
    leak = (probe_leakage(x, omega, harm, psi, hop, win, span, amp_hz, frame_rate, valid, amp_order=amp_order)
            if leakage else None)
    return {"psi": psi, "amp": amp, "b": b, "valid": valid, "weights": wts, "omega": omega,
            "leakage": leak}


def probe_leakage(x: np.ndarray, omega: float, harm: np.ndarray, psi: np.ndarray, hop: int, win: int, span: int,
                  amp_hz: float, frame_rate: float, valid: np.ndarray, iterations: int = 3,
                  amp_order: int = 2) -> np.ndarray:
    """What the amplitude estimator finds where there is no hum: the mean ``|a|^2`` it fits, with the
    same phase track and the same kind of weights, half a harmonic either side of each harmonic
    (between hum lines: only speech and noise), averaged: ``[channels, K]``, the power of the error
    that estimating each harmonic's amplitude under this programme's speech is expected to make."""
    probes = np.concatenate([harm - 0.5, harm + 0.5])
    b, _ = harmonic_baseband(x, omega, probes, hop, win)
    ch, k_count, m_count = b.shape
    dpsi = np.gradient(psi) / (2 * math.pi * hop) if m_count > 1 else np.zeros(m_count)
    rot = np.exp(1j * probes[None, :, None] * psi[None, None, :]) * window_response(probes[:, None] * dpsi[None, :], win)[None]
    vmask = valid.astype(np.float64)
    power = local_power(np.abs(b) ** 2, span)
    floor = 1e-12 * (np.max(power) + 1e-300)
    wts = vmask / (power + floor)
    y = b / rot
    amp = np.empty_like(b)
    for it in range(iterations):
        wr = wts * np.abs(rot) ** 2
        for c in range(ch):
            for k in range(k_count):
                ref = float(np.quantile(wr[c, k][valid], 0.9)) if valid.any() else 1.0
                amp[c, k] = whittaker(y[c, k], wr[c, k], smoother_lambda(ref, amp_hz, frame_rate, amp_order), amp_order)
        power = local_power(np.abs(b - amp * rot) ** 2, span)
        wts = vmask / (power + floor)
    got = np.mean(np.abs(amp[..., valid]) ** 2, axis=-1) if valid.any() else np.zeros((ch, k_count))
    return 0.5 * (got[:, :harm.size] + got[:, harm.size:])


@njit(cache=True, fastmath=False)
def hum_synth(x: np.ndarray, start: int, hop: int, omega: float, harm: np.ndarray, psi: np.ndarray,
              amp_re: np.ndarray, amp_im: np.ndarray) -> np.ndarray:
    """``x [channels, frames]`` (float32, first sample at absolute index ``start``) minus the hum
    model (``psi[M]``, ``amp_re/amp_im [channels, K, M]`` on frames ``m * hop``), as float32."""
    channels, frames = x.shape
    nh = harm.shape[0]
    last = psi.shape[0] - 1
    y = np.empty((channels, frames), np.float32)
    for n in range(frames):
        pos = start + n
        m = pos // hop
        if m >= last:
            m = last - 1
        fr = min((pos - m * hop) / hop, 1.0)
        ps = psi[m] + fr * (psi[m + 1] - psi[m])
        q = omega * pos
        th = q - 2.0 * math.pi * math.floor(q / (2.0 * math.pi)) + ps
        c1 = math.cos(th)
        s1 = math.sin(th)
        for c in range(channels):
            hum = 0.0
            ck = 1.0
            sk = 0.0
            h = 0.0
            for k in range(nh):
                # advance the oscillator to harmonic harm[k] (consecutive in practice)
                while h < harm[k]:
                    t = ck * c1 - sk * s1
                    sk = ck * s1 + sk * c1
                    ck = t
                    h += 1.0
                ar = amp_re[c, k, m] + fr * (amp_re[c, k, m + 1] - amp_re[c, k, m])
                ai = amp_im[c, k, m] + fr * (amp_im[c, k, m + 1] - amp_im[c, k, m])
                hum += ar * ck - ai * sk
            y[c, n] = np.float32(np.float64(x[c, n]) - hum)
    return y


def hum_synth_reference(x: np.ndarray, start: int, hop: int, omega: float, harm: np.ndarray, psi: np.ndarray,
                        amp_re: np.ndarray, amp_im: np.ndarray) -> np.ndarray:
    """NumPy reference for :func:`hum_synth` (direct cosines instead of the rotating oscillator)."""
    frames = x.shape[1]
    pos = start + np.arange(frames)
    m = np.minimum(pos // hop, psi.size - 2)
    fr = np.minimum((pos - m * hop) / hop, 1.0)
    ps = psi[m] + fr * (psi[m + 1] - psi[m])
    q = omega * pos
    th = q - 2 * math.pi * np.floor(q / (2 * math.pi)) + ps
    ar = amp_re[:, :, m] + fr * (amp_re[:, :, m + 1] - amp_re[:, :, m])
    ai = amp_im[:, :, m] + fr * (amp_im[:, :, m + 1] - amp_im[:, :, m])
    kth = np.asarray(harm, np.float64)[:, None] * th[None]
    hum = np.sum(ar * np.cos(kth)[None] - ai * np.sin(kth)[None], axis=1)
    return (np.asarray(x, np.float64) - hum).astype(np.float32)
