"""Mains hum in a programme: detecting the 50/60 Hz family in a spectrum, and the offline fit.

:func:`detect_hum` finds the fundamental and the harmonics that stand over the spectrum around
them; :func:`fit_programme` fits the offline model of :class:`voxpost.clean.dehum.DeHum` (one
phase track shared by every harmonic and channel, a slowly varying level per harmonic, weighted by
the inverse of the local speech power) on a programme or one region of it.
"""

from __future__ import annotations

import math

import numpy as np

from voxpost.dsp.humfit import fit_hum

#: Highest fundamental deviation from 50/60 Hz searched by the detector, Hz.
SEARCH_HZ = 1.0
#: Offline detection: spectra of segments up to this long are averaged (s).
DETECT_SEGMENT_S = 10.0
#: Offline fit: shortest programme fitted (shorter ones pass through), frame hop, baseband window,
#: and the reach of the local speech-power estimate that weights each frame (s).
MIN_OFFLINE_S = 0.5
FRAME_HOP_S = 0.025
WINDOW_S = 0.1
NOISE_SPAN_S = 0.05
#: Offline fit: difference order of each harmonic's level smoother (1: a steady level is free,
#: 2: a steady linear ramp is free too) and the weight floor, in units of the estimate's own variance.
AMP_ORDER = 1
VAR_FLOOR = 4.0
#: Offline fit: reweighting iterations of the phase track, then of the amplitudes along it.
ITERATIONS = 8
LATE_ITERATIONS = 3
#: Offline: a harmonic the spectrum did not show is kept when its fitted power stands this far over
#: what the same fit finds between harmonics (speech leakage, :func:`voxpost.dsp.humfit.probe_leakage`), dB;
#: ``KEEP_NEXT_DB`` when the harmonic below it is kept (mains hum is a run of harmonics from the
#: fundamental up; a lone one higher up is more often a speech harmonic on a short file).
KEEP_DB = 12.0
KEEP_NEXT_DB = 8.0


def fit_programme(x: np.ndarray, fs: int, *, mains_hz: float, harmonics: int, threshold_db: float, phase_hz: float,
                  amplitude_hz: float, detect: tuple[int, int] | None = None) -> dict:
    """Detect the hum (on ``x[:, detect[0]:detect[1]]``, all of it by default) and fit it on the
    whole of ``x`` ``[channels, n]`` (see :mod:`voxpost.clean.dehum`): the model
    :func:`voxpost.dsp.humfit.hum_synth` subtracts, or ``{"active": False, ...}``."""
    none = {"active": False, "f0": None, "harmonics": []}
    if x.shape[1] < MIN_OFFLINE_S * fs or not np.any(x):
        return none
    mono = x.mean(axis=0) if detect is None else x[:, detect[0]:detect[1]].mean(axis=0)
    f0, harms = detect_hum(mono, fs, mains_hz=mains_hz, harmonics=harmonics,
                           threshold_db=threshold_db, segment_s=DETECT_SEGMENT_S)
    if f0 is None or not harms:
        return none
    top = max(1, min(harmonics, int(0.45 * fs / (f0 + SEARCH_HZ))))
    seen = {k for k in harms if k <= top}
    hop = max(1, int(round(FRAME_HOP_S * fs)))
    win = int(round(WINDOW_S * fs)) | 1
    xd = x.astype(np.float64)
    kw = {"hop": hop, "win": win, "phase_hz": phase_hz, "amp_hz": amplitude_hz, "span_s": NOISE_SPAN_S,
          "amp_order": AMP_ORDER, "var_floor": VAR_FLOOR}
    # the phase track from the harmonics the spectrum showed (a harmonic that is not there only
    # adds noise to it), then every candidate's amplitude along that track
    first = fit_hum(xd, fs, f0, np.array(sorted(seen), np.float64), iterations=ITERATIONS, leakage=False, **kw)
    if not first["valid"].any():
        return none
    harm = np.arange(1, top + 1, dtype=np.float64)
    res = fit_hum(xd, fs, f0, harm, iterations=LATE_ITERATIONS, psi0=first["psi"], update_phase=False, **kw)
    valid = res["valid"]
    # which harmonics to subtract: those the spectrum showed, and those standing KEEP_(NEXT_)DB over the
    # leakage the same estimator finds between harmonics (fitting one that is not there only adds error)
    power = np.mean(np.abs(res["amp"][..., valid]) ** 2, axis=-1)                     # [ch, K]
    leak = res["leakage"]
    keep = []
    for i in range(top):
        need = KEEP_NEXT_DB if keep and keep[-1] == i - 1 else KEEP_DB
        if i + 1 in seen or np.any(power[:, i] >= leak[:, i] * 10 ** (need / 10)):
            keep.append(i)
    amp = res["amp"][:, keep]
    harm, harms = harm[keep], [i + 1 for i in keep]
    psi = res["psi"]
    freq = f0 + np.gradient(psi) * fs / (2 * math.pi * hop) if psi.size > 1 else np.full(psi.size, f0)
    # report: hum subtracted over the error its estimate is expected to make (the leakage)
    est, err = float(np.sum(power[:, keep])), float(np.sum(leak[:, keep]))
    reduction = 10 * math.log10(est / max(err, est * 1e-12)) if est > 1e-30 else 0.0
    return {"active": True, "f0": float(f0), "harmonics": harms, "hop": hop, "omega": float(res["omega"]),
            "harm": harm, "psi": np.ascontiguousarray(psi), "freq": freq,
            "amp_re": np.ascontiguousarray(amp.real), "amp_im": np.ascontiguousarray(amp.imag),
            "reduction_db": reduction, "est": est, "err": err}


def hum_spectrum(x: np.ndarray, sample_rate: float, segment_s: float | None = None) -> tuple[np.ndarray, float]:
    """Hann-windowed, zero-padded power spectrum of mono ``x`` and its bin width (Hz); with
    ``segment_s``, the mean of the spectra of consecutive segments at most that long (half overlap)."""
    fs = float(sample_rate)
    seg = x.size if segment_s is None else min(x.size, max(16, int(segment_s * fs)))
    nfft = 1 << int(math.ceil(math.log2(max(seg * (8 if seg == x.size else 2), fs / 0.05))))
    starts = range(0, max(x.size - seg, 0) + 1, max(1, seg // 2))
    win = np.hanning(seg)
    spec = np.zeros(nfft // 2 + 1)
    for i in starts:
        part = x[i:i + seg]
        spec += np.abs(np.fft.rfft((part - part.mean()) * win, nfft)) ** 2
    return spec / len(starts), fs / nfft


def detect_hum(x: np.ndarray, sample_rate: int, *, mains_hz: float = 0.0, harmonics: int = 10,
               threshold_db: float = 15.0, segment_s: float | None = None) -> tuple[float | None, list[int]]:
    """Mains fundamental (Hz) and present harmonic numbers in mono ``x``, or ``(None, [])``
    (``segment_s``: average the spectra of segments that long, see :func:`hum_spectrum`)."""
    x = np.asarray(x, np.float64)
    fs = float(sample_rate)
    if x.size < 16 or not np.any(x):
        return None, []
    spec, df = hum_spectrum(x, fs, segment_s)
    thr = 10 ** (threshold_db / 10)
    best = (None, [], -1.0)
    for fam in ((50.0, 60.0) if mains_hz == 0 else (mains_hz,)):
        found = []  # (k, f_k / k, snr)
        for k in range(1, harmonics + 1):
            hi_edge = k * (fam + SEARCH_HZ)
            if hi_edge + 30 >= 0.45 * fs:
                break
            lo, hi = int(k * (fam - SEARCH_HZ) / df), int(math.ceil(hi_edge / df))
            i = lo + int(np.argmax(spec[lo:hi + 1]))
            if i <= lo or i >= hi:
                continue  # rising into the edge: not a peak of ours
            guard = k * SEARCH_HZ + 3.0
            band = np.arange(int((k * fam - 30) / df), int((k * fam + 30) / df))
            band = band[np.abs(band * df - k * fam) > guard]
            floor = np.median(spec[band]) if band.size else 0.0
            snr = spec[i] / floor if floor > 0 else np.inf
            if snr < thr:
                continue
            la, lb, lc = np.log(spec[i - 1:i + 2] + 1e-300)
            den = la - 2 * lb + lc
            off = 0.5 * (la - lc) / den if den < 0 else 0.0
            found.append((k, (i + off) * df / k, min(snr, 1e8)))
        sure = [k for k, _, s in found if s >= thr]
        strong = any(k == 1 and s > thr * 100 for k, _, s in found)
        if len(sure) < 2 and not strong:
            continue
        wts = np.array([k * k * s for k, _, s in found])
        f0 = float(np.sum(wts * np.array([f for _, f, _ in found])) / np.sum(wts))
        score = float(np.sum(np.log10([s for *_, s in found])))
        if score > best[2]:
            best = (f0, [k for k, *_ in found], score)
    return best[0], best[1]
