"""De-hum: mains hum (50/60 Hz and harmonics) out of dialogue, without notching the speech.

Approach, and why
-----------------
1. **Detect** (once, after a warm-up of ``detect_ms`` of input, passed through untouched): a
   Hann-windowed, heavily zero-padded spectrum of the channel mix; around every multiple of 50 and
   60 Hz the highest peak within +-1 Hz (times the harmonic number) is compared with the median of
   the spectrum around it. Harmonics standing >= ``threshold_db`` above it are "present"; a family
   needs two present harmonics (or a very strong single one) to count, which keeps speech
   harmonics from triggering it. The fundamental is the SNR- and k^2-weighted mean of the
   parabolically interpolated peaks divided by their harmonic number. No hum: ``active`` is False
   and the stage passes its input through bit-exactly.
2. **Cancel** (:func:`voxpost.dsp.hum.hum_cancel`, a Numba kernel): a phase-locked oscillator at the
   fundamental drives one adaptive sinusoid (LMS on cos/sin weights) per present harmonic; their
   sum, the hum estimate, is subtracted. Weights are initialised by a least-squares fit on the
   warm-up buffer, which is then run through the canceller once to lock the loop, so the first
   live sample after the warm-up is already clean. A second-order PLL driven by the gradient of
   the error with respect to the oscillator phase follows a drifting mains frequency
   (``track=True``), so the weights can adapt slowly: the equivalent notch per harmonic is only
   ``bandwidth_hz`` wide, which leaves speech alone far better than a bank of IIR notches wide
   enough to cover the drift would.
3. Latency is zero; all state is carried in arrays, so any block size gives the same output.

After processing, ``detected_hz`` (the warm-up estimate), ``hum_hz`` (the tracked fundamental now),
``harmonics_used`` and ``hum_reduction_db`` (the hum power the canceller is subtracting over the
hum power still measured in the output at the harmonics, from slow correlators: an estimate) are
available for a report.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from voxpost.dsp.hum import hum_cancel
from voxpost.stage import Stage, param, register

#: Highest fundamental deviation from 50/60 Hz searched by the detector, Hz.
SEARCH_HZ = 1.0


@register
class DeHum(Stage):
    """Adaptive mains-hum canceller (PLL-tracked harmonic sinusoid subtraction), zero latency.

    EXPERIMENTAL: under real speech with a drifting hum it removes 0-10 dB of the hum at -20 dB, and
    at -30 dB it leaves more error than the hum it found (benchmarks/results/dehum.md; target 30 dB):
    the frequency tracker and the LMS weights are pulled by speech energy at the harmonics. Not used
    by any preset yet.
    """

    kind: ClassVar[str] = "dehum"
    description: ClassVar[str] = "Mains hum removal (50/60 Hz + harmonics) by adaptive cancellation."
    mains_hz: float = param(0.0, choices=(0.0, 50.0, 60.0), help="mains frequency; 0 = auto-detect 50 vs 60")
    harmonics: int = param(10, min=1, max=40, help="highest harmonic cancelled (capped below Nyquist)")
    bandwidth_hz: float = param(0.1, min=0.001, max=20.0, help="adaptation bandwidth of each harmonic (notch width), Hz")
    track: bool = param(True, help="follow a drifting mains frequency with a PLL")
    track_hz: float = param(1.0, min=0.01, max=10.0, help="PLL natural frequency (how fast drift is followed), Hz")
    detect_ms: float = param(1000.0, min=200.0, max=10000.0, help="warm-up analysed before deciding, ms")
    threshold_db: float = param(15.0, min=3.0, max=60.0, help="peak over local spectrum for a harmonic to count, dB")

    # -- protocol ---------------------------------------------------------------------------
    def report(self) -> dict:
        if not self.active:
            return {"hum_hz": None, "hum_reduction_db": 0.0}
        return {"hum_hz": round(float(self.hum_hz), 3), "hum_reduction_db": round(float(self.hum_reduction_db), 1)}

    def reset(self) -> None:
        self.active = False
        self.decided = False
        self.detected_hz: float | None = None
        self.harmonics_used: list[int] = []
        self._buf: list[np.ndarray] = []
        self._seen = 0
        self._harm = np.zeros(0)
        if self.sample_rate is not None:
            self._need = max(1, int(round(self.detect_ms * 1e-3 * self.sample_rate)))

    def process(self, block: np.ndarray) -> np.ndarray:
        self._require_prepared()
        block = np.ascontiguousarray(block, np.float32)
        if self.decided:
            return self._cancel(block) if self.active else block.copy()
        take = min(block.shape[1], self._need - self._seen)
        self._buf.append(block[:, :take].copy())
        self._seen += take
        if self._seen < self._need:
            return block.copy()
        self._decide(np.concatenate(self._buf, axis=1))
        self._buf = []
        rest = block[:, take:]
        tail = self._cancel(rest) if self.active and rest.shape[1] else rest.copy()
        return np.concatenate([block[:, :take], tail], axis=1)

    # -- report -----------------------------------------------------------------------------
    @property
    def hum_hz(self) -> float:
        """The tracked fundamental now (mean over channels), Hz; 0.0 while inactive."""
        if not self.active:
            return 0.0
        return float(np.mean(self._osc[:, 1]) * self.sample_rate / (2 * math.pi))

    @property
    def hum_reduction_db(self) -> float:
        """Estimated hum reduction: hum subtracted over hum left at the harmonics, dB (0 when inactive)."""
        if not self.active:
            return 0.0
        est = float(np.sum(self._w ** 2))
        left = float(np.sum(self._mon ** 2))
        if est <= 1e-30:
            return 0.0
        return float(10 * math.log10(est / max(left, est * 1e-12)))

    # -- internals --------------------------------------------------------------------------
    def _cancel(self, block: np.ndarray) -> np.ndarray:
        return hum_cancel(block, self._harm, self._lock, self._osc, self._w, self._mon, self._params)

    def _decide(self, buf: np.ndarray) -> None:
        self.decided = True
        fs = self.sample_rate
        f0, harms = detect_hum(buf.mean(axis=0), fs, mains_hz=self.mains_hz, harmonics=self.harmonics,
                               threshold_db=self.threshold_db)
        if f0 is None:
            return
        top = max(1, min(self.harmonics, int(0.45 * fs / (f0 + SEARCH_HZ))))
        self._lock = np.array([1.0 if k in harms else 0.0 for k in range(1, top + 1)])
        harms = list(range(1, top + 1))
        self.active, self.detected_hz, self.harmonics_used = True, f0, harms
        self._harm = np.asarray(harms, np.float64)
        om = 2 * math.pi * f0 / fs
        ch = self.channels
        # least-squares fit of every harmonic on the warm-up, phase 0 at its first sample
        n = np.arange(buf.shape[1])
        basis = np.concatenate([np.cos(np.outer(self._harm, n) * om), np.sin(np.outer(self._harm, n) * om)]).T
        coef, *_ = np.linalg.lstsq(basis, buf.astype(np.float64).T, rcond=None)  # [2K, channels]
        k = len(harms)
        self._w = np.ascontiguousarray(np.stack([coef[:k].T, coef[k:].T], axis=-1))  # [ch, K, 2]
        self._mon = np.zeros((ch, k, 2))
        self._osc = np.zeros((ch, 2))
        self._osc[:, 1] = om
        mu = 2 * math.pi * self.bandwidth_hz / fs
        wn = 2 * math.pi * self.track_hz / fs
        kp, ki = (2 * 0.707 * wn, wn * wn) if self.track else (0.0, 0.0)
        span = 2 * math.pi * SEARCH_HZ * 1.5 / fs
        alpha = 1.0 - math.exp(-1.0 / (0.5 * fs))  # residual monitor: 0.5 s time constant
        self._params = np.array([mu, kp, ki, om - span, om + span, alpha, 0.5])
        self._cancel(buf)  # lock the loop on the warm-up; the output is already gone


def detect_hum(x: np.ndarray, sample_rate: int, *, mains_hz: float = 0.0, harmonics: int = 10,
               threshold_db: float = 15.0) -> tuple[float | None, list[int]]:
    """Mains fundamental (Hz) and present harmonic numbers in mono ``x``, or ``(None, [])``."""
    x = np.asarray(x, np.float64)
    fs = float(sample_rate)
    if x.size < 16 or not np.any(x):
        return None, []
    nfft = 1 << int(math.ceil(math.log2(max(x.size * 8, fs / 0.05))))
    spec = np.abs(np.fft.rfft((x - x.mean()) * np.hanning(x.size), nfft)) ** 2
    df = fs / nfft
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
