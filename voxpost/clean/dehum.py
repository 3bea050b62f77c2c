"""De-hum: mains hum (50/60 Hz and harmonics) out of dialogue, without notching the speech.

Two modes (``mode``):

``"offline"`` (default, two-pass: ``needs_analysis``)
    The first pass (:meth:`DeHum.analyse`, run by ``Chain.render`` / ``render_file``) hears the
    whole programme, region by region (``REGION_S``, see below), the second subtracts the hum
    model fitted to each region:

    1. **Detect** on the region (the channel mix; spectra of up to ``DETECT_SEGMENT_S``
       averaged): around every multiple of 50 and 60 Hz the highest peak within +-1 Hz (times the
       harmonic number) against the median of the spectrum around it (:func:`detect_hum`); a
       family needs two harmonics ``threshold_db`` over it (or a very strong fundamental). No hum:
       ``active`` is False and the audio passes through bit-exactly.
    2. **Fit** (:func:`voxpost.dsp.humfit.fit_hum`): every present harmonic heterodyned to 0 Hz
       (Kaiser window, 25 ms hop); one phase track shared by all harmonics and channels (harmonic
       ``k`` carries ``k`` times the phase error, so high harmonics in speech-weak bands pin it down)
       and a slowly varying complex amplitude per harmonic and channel, by iteratively reweighted
       least squares, each frame and harmonic weighted by the inverse of the local power the model
       leaves (speech), floored at a few times the variance of the estimate (``VAR_FLOOR``): loud
       speech at a harmonic counts little, pauses and speech-weak bands a lot. ``phase_hz`` and
       ``amplitude_hz`` bound how fast the mains phase and each harmonic's level may change (at the
       weight of a quiet frame; lower under loud speech); a steady level costs nothing (first
       differences, ``AMP_ORDER``), a drifting one does.
    3. **Subtract** (:func:`voxpost.dsp.humfit.hum_synth`, Numba) the model at each sample's absolute
       position: zero latency, and any block size gives the same output.

    **Regions.** A programme up to 1.5 ``REGION_S`` (90 s) is one region, fitted whole. A longer one
    is cut every ``REGION_S`` = 60 s (a last piece under 30 s joins the region before); each region
    is detected on its own span (so hum present in some minutes only is found there, and a region
    without it passes through bit-exactly) and fitted over that span plus ``REGION_PAD_S`` either
    side; adjacent regions' hum models are crossfaded (raised cosine, gains summing to one: both
    estimate the same hum, so a hum that goes on has no step) over ``REGION_FADE_S`` centred on
    their boundary, where a region without hum next to one with it fades the model in or out. 60 s:
    the detector averages six or more 10 s spectra and the level smoother (``amplitude_hz`` 0.1 Hz)
    sees several of its time constants, as on a whole file of the benchmarks (2-60 s), while a hum
    that comes and goes with the takes is localised to a minute. The first pass streams: it holds
    at most 1.5 regions plus the pads and a block (about 100 s; flat memory whatever the length)
    and keeps only the fits (frame-rate arrays).

``"short_term"`` (live, causal, zero latency; also what ``process`` does on an offline stage that
was never analysed, and what ``render --live`` switches to)
    After a warm-up of ``detect_ms`` (passed through untouched) the same detector decides once; then a
    phase-locked oscillator at the fundamental drives one adaptive sinusoid (LMS on cos/sin weights)
    per harmonic (:func:`voxpost.dsp.hum.hum_cancel`), initialised by a least-squares fit on the
    warm-up; a second-order PLL (``track``, ``track_hz``) follows a drifting mains frequency and the
    weights adapt with ``bandwidth_hz``. Much weaker under speech than the offline fit (the PLL and
    the weights are pulled by speech energy at the harmonics): see benchmarks/results/dehum.md.

After processing, ``detected_hz`` (offline, several regions: the length-weighted mean over the
regions with hum), ``hum_hz`` (the fundamental at the current position; offline, in a region
without hum: the median over the nearest region with it), ``hum_regions`` in the report (``"k of
n"``, several regions only), ``harmonics_used`` (offline, several regions: their union)
and ``hum_reduction_db`` (an estimate: hum power subtracted over the hum power
still measured at the harmonics, live; over the error the estimator makes between the harmonics,
where there is no hum, offline: :func:`voxpost.dsp.humfit.probe_leakage`) are available for a report.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import ClassVar

import numpy as np

from voxpost.dsp.hum import hum_cancel
from voxpost.clean.hummodel import SEARCH_HZ, detect_hum, fit_programme
from voxpost.dsp.humfit import hum_synth
from voxpost.stage import Stage, param, register

#: Offline regions: length (a last one shorter than half of it joins the one before), the crossfade
#: between adjacent regions' hum models (centred on their boundary) and how far each region's fit
#: reaches past its edges (past the crossfade: the estimates are weaker at a fit's ends), s.
REGION_S = 60.0
REGION_FADE_S = 2.0
REGION_PAD_S = 3.0


@register
class DeHum(Stage):
    """Mains-hum removal under speech, zero latency: offline a speech-weighted harmonic fit with one
    shared phase track (two-pass), live a PLL-tracked adaptive canceller (see the module docstring;
    figures in benchmarks/results/dehum.md). Offline, a long programme is fitted in 60 s regions.
    """

    kind: ClassVar[str] = "dehum"
    description: ClassVar[str] = "Mains hum removal (50/60 Hz + harmonics) by adaptive cancellation."
    mode: str = param("offline", choices=("offline", "short_term"),
                      help="offline: two-pass fit (whole file; 60 s regions on a long one); short_term: live, causal (weaker)")
    mains_hz: float = param(0.0, choices=(0.0, 50.0, 60.0), help="mains frequency; 0 = auto-detect 50 vs 60")
    harmonics: int = param(10, min=1, max=40, help="highest harmonic cancelled (capped below Nyquist)")
    phase_hz: float = param(0.5, min=0.02, max=5.0,
                            help="offline: how fast the mains phase may wander (smoother cut-off at a quiet frame), Hz")
    amplitude_hz: float = param(0.1, min=0.005, max=5.0,
                                help="offline: how fast each harmonic's level and phase may change, Hz")
    bandwidth_hz: float = param(0.1, min=0.001, max=20.0,
                                help="short_term: adaptation bandwidth of each harmonic (notch width), Hz")
    track: bool = param(True, help="short_term: follow a drifting mains frequency with a PLL")
    track_hz: float = param(1.0, min=0.01, max=10.0, help="short_term: PLL natural frequency (how fast drift is followed), Hz")
    detect_ms: float = param(1000.0, min=200.0, max=10000.0, help="short_term: warm-up analysed before deciding, ms")
    threshold_db: float = param(15.0, min=3.0, max=60.0, help="peak over local spectrum for a harmonic to count, dB")

    # -- protocol ---------------------------------------------------------------------------
    @property
    def needs_analysis(self) -> bool:  # type: ignore[override]
        """Offline mode fits the whole programme first; short-term (live) does not."""
        return self.mode == "offline"

    def prepare(self, sample_rate: int, channels: int) -> None:
        self._fit: dict | None = None      # a new programme: forget the offline fit
        self._regions: list[dict] = []
        super().prepare(sample_rate, channels)
        self._fade_half = max(1, int(round(0.5 * REGION_FADE_S * self.sample_rate)))

    def analyse(self, blocks: Iterable[np.ndarray]) -> None:
        """Offline first pass, streamed: the programme is cut into regions of ``REGION_S`` (a short
        last one joins the one before) and each is detected and fitted on its own, over its span
        plus ``REGION_PAD_S`` either side; only the fits (frame-rate arrays) are kept. A programme
        of one region is fitted whole, as a single fit always was."""
        self._require_prepared()
        fs = self.sample_rate
        size = max(1, int(round(REGION_S * fs)))
        pad = int(round(REGION_PAD_S * fs))
        parts: list[np.ndarray] = []        # the blocks held, the first starting at ``held``
        held = seen = cut = 0               # held from, seen up to, next region's start
        regions: list[dict] = []

        def span(lo: int, hi: int) -> np.ndarray:
            nonlocal parts, held
            own = len(parts) != 1              # a concatenation of ours, not the caller's block
            x = np.concatenate(parts, axis=1) if own else parts[0]
            out = x[:, lo - held:hi - held]
            keep = max(hi - 2 * pad, lo) - held      # the next region's span starts there at the earliest
            rest = x[:, keep:]
            parts, held = ([rest.copy() if own else rest] if rest.shape[1] else []), held + keep
            return out

        def fit_region(lo: int, hi: int, end: int) -> None:
            origin = max(0, lo - pad)
            # detected on the region itself (hum in the pad belongs to the neighbour), fitted over the pad too
            fit = self._fit_offline(span(origin, min(end, hi + pad)), (lo - origin, hi - origin))
            regions.append({"lo": lo, "hi": hi, "origin": origin, "fit": fit})

        for b in blocks:
            b = np.asarray(b, np.float32)
            if not b.shape[1]:
                continue
            parts.append(b)
            seen += b.shape[1]
            while seen >= cut + size + size // 2:            # the region after this one is whole
                fit_region(cut, cut + size, seen)
                cut += size
        if not regions:
            x = np.concatenate(parts, axis=1) if parts else np.zeros((self.channels, 0), np.float32)
            parts = []
            self._regions = [{"lo": 0, "hi": seen, "origin": 0, "fit": self._fit_offline(x)}]
        else:
            fit_region(cut, seen, seen)
            self._regions = regions
        parts = []
        self._fit = self._summary(self._regions)
        self.reset()

    def report(self) -> dict:
        if not self.active:
            return {"hum_hz": None, "hum_reduction_db": 0.0}
        out = {"hum_hz": round(float(self.hum_hz), 3), "hum_reduction_db": round(float(self.hum_reduction_db), 1)}
        if self._fit is not None and len(self._regions) > 1:
            out["hum_regions"] = f"{self._fit['regions_active']} of {len(self._regions)}"
        return out

    def reset(self) -> None:
        self._pos = 0
        fit = getattr(self, "_fit", None)
        if fit is not None:                 # offline: what the first pass learnt survives reset()
            self.decided, self.active = True, fit["active"]
            self.detected_hz, self.harmonics_used = fit["f0"], list(fit["harmonics"])
            return
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
        if self._fit is not None:
            return self._subtract(block)
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
        if self._fit is not None:
            # at the current position; where that region has none, the median over the nearest region
            # with hum (the last before it first; a hum's track is weak at its own ends)
            at = [i for i, r in enumerate(self._regions) if r["lo"] <= self._pos < r["hi"]]
            i = at[0] if at else len(self._regions) - 1
            reg = self._regions[i]
            if reg["fit"]["active"]:
                fit = reg["fit"]
                pos = min(max(self._pos, reg["lo"]), reg["hi"]) - reg["origin"]
                return float(fit["freq"][min(pos // fit["hop"], fit["freq"].size - 1)])
            hum = [j for j, r in enumerate(self._regions) if r["fit"]["active"]]
            reg = self._regions[max([j for j in hum if j < i], default=min(hum))]
            fit = reg["fit"]
            core = slice((reg["lo"] - reg["origin"]) // fit["hop"], (reg["hi"] - reg["origin"]) // fit["hop"] + 1)
            return float(np.median(fit["freq"][core]))
        return float(np.mean(self._osc[:, 1]) * self.sample_rate / (2 * math.pi))

    @property
    def hum_reduction_db(self) -> float:
        """Estimated hum reduction: hum subtracted over hum left at the harmonics, dB (0 when inactive)."""
        if not self.active:
            return 0.0
        if self._fit is not None:
            return float(self._fit["reduction_db"])
        est = float(np.sum(self._w ** 2))
        left = float(np.sum(self._mon ** 2))
        if est <= 1e-30:
            return 0.0
        return float(10 * math.log10(est / max(left, est * 1e-12)))

    # -- internals --------------------------------------------------------------------------
    def _subtract(self, block: np.ndarray) -> np.ndarray:
        start = self._pos
        self._pos += block.shape[1]
        if not self._fit["active"] or not block.shape[1]:
            return block.copy()
        regions = self._regions
        if len(regions) == 1:
            return self._synth(block, start, regions[0])
        end = start + block.shape[1]
        half = self._fade_half
        out = []
        for i, reg in enumerate(regions):
            # region i alone between the crossfades around its edges; a crossfade into region i
            # centred on its start
            lo = reg["lo"] + half if i else 0
            hi = reg["hi"] - half if i < len(regions) - 1 else end
            if i:
                a, b = max(start, reg["lo"] - half), min(end, lo)
                if a < b:
                    out.append(self._crossfade(block[:, a - start:b - start], a, regions[i - 1], reg))
            a, b = max(start, lo), min(end, hi)
            if a < b:
                out.append(self._synth(block[:, a - start:b - start], a, reg))
        return out[0] if len(out) == 1 else np.concatenate(out, axis=1)

    @staticmethod
    def _synth(x: np.ndarray, start: int, reg: dict) -> np.ndarray:
        """``x`` (first sample at ``start``) minus region ``reg``'s hum model (a copy where it has none)."""
        fit = reg["fit"]
        if not fit["active"]:
            return x.copy()
        return hum_synth(np.ascontiguousarray(x), start - reg["origin"], fit["hop"], fit["omega"], fit["harm"],
                         fit["psi"], fit["amp_re"], fit["amp_im"])

    def _crossfade(self, x: np.ndarray, start: int, left: dict, right: dict) -> np.ndarray:
        """``x`` minus the hum models of two adjacent regions, crossfaded (raised cosine, gains
        summing to one: both estimate the same hum) over ``REGION_FADE_S`` centred on their boundary."""
        if not (left["fit"]["active"] or right["fit"]["active"]):
            return x.copy()
        zero = np.zeros_like(x)
        hum_l = -self._synth(zero, start, left).astype(np.float64)
        hum_r = -self._synth(zero, start, right).astype(np.float64)
        half = self._fade_half
        t = (np.arange(start, start + x.shape[1]) - (right["lo"] - half) + 0.5) / (2 * half)
        g = 0.5 - 0.5 * np.cos(math.pi * np.clip(t, 0.0, 1.0))
        return (x.astype(np.float64) - hum_l - g * (hum_r - hum_l)).astype(np.float32)

    @staticmethod
    def _summary(regions: list[dict]) -> dict:
        """What the report and ``reset`` need from the regions' fits (one region: its own fit)."""
        if len(regions) == 1:
            return dict(regions[0]["fit"], regions_active=int(regions[0]["fit"]["active"]))
        hum = [r for r in regions if r["fit"]["active"]]
        if not hum:
            return {"active": False, "f0": None, "harmonics": [], "regions_active": 0}
        w = np.array([r["hi"] - r["lo"] for r in hum], np.float64)
        est = float(np.sum(w * [r["fit"]["est"] for r in hum]))
        err = float(np.sum(w * [r["fit"]["err"] for r in hum]))
        return {"active": True, "f0": float(np.sum(w * [r["fit"]["f0"] for r in hum]) / w.sum()),
                "harmonics": sorted({k for r in hum for k in r["fit"]["harmonics"]}),
                "reduction_db": 10 * math.log10(est / max(err, est * 1e-12)) if est > 1e-30 else 0.0,
                "regions_active": len(hum)}

    def _fit_offline(self, x: np.ndarray, detect: tuple[int, int] | None = None) -> dict:
        """Detect (on ``x[:, detect[0]:detect[1]]``, all of it by default) and fit ``x``."""
        return fit_programme(x, self.sample_rate, mains_hz=self.mains_hz, harmonics=self.harmonics,
                             threshold_db=self.threshold_db, phase_hz=self.phase_hz,
                             amplitude_hz=self.amplitude_hz, detect=detect)

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
