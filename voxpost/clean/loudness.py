"""Loudness for delivery: measurement (BS.1770 / EBU R128), a true-peak limiter, loudness normalisation.

Delivery specs this is built for:

=================  ====================  ===========
spec               integrated loudness   true peak
=================  ====================  ===========
EBU R128           -23 LUFS +/- 0.5      -1 dBTP
ATSC A/85          -24 LKFS              -2 dBTP
Netflix            -27 LKFS dialogue     -2 dBTP
=================  ====================  ===========

* :func:`measure_loudness` -- integrated loudness (pyloudnorm's BS.1770 meter), true peak
  (:mod:`voxpost.dsp.truepeak`, 4x oversampled), sample peak, loudness range (EBU Tech 3342),
  and optionally dialogue-gated loudness.
* :class:`TruePeakLimiter` -- lookahead, channel-linked, true-peak-aware brickwall limiter.
* :class:`Loudness` -- static gain to a loudness target followed by the limiter.

Two passes (mode ``"integrated"``)
----------------------------------
Integrated loudness is a property of the whole programme, and ``prepare()`` cannot see the
future. So :class:`Loudness` in ``"integrated"`` mode is a two-pass stage (``needs_analysis``):
its :meth:`Loudness.analyse_source` (called by ``Chain.analyse_with``, which ``Chain.render`` and
``voxpost.render.render_file`` run before streaming) or an explicit :meth:`Loudness.fit` gets the
whole programme as it arrives at this stage. It measures the loudness, sets the static gain,
trial-renders through the limiter and corrects the gain for what the limiter took away (so the
result lands on target, not 0.1-0.5 LU under it). ``process`` then applies that gain and the
limiter. ``process`` on a never-fitted integrated :class:`Loudness` raises ``RuntimeError``
rather than silently delivering an unnormalised file. The first pass holds the programme in
memory.

Live (mode ``"short_term"``)
----------------------------
No look at the future: the gain adapts slowly (time constant ``adapt_s``) towards
``target - short-term loudness`` of the *input*, the short-term loudness being the K-weighted
mean square over the last 3 s, updated every 100 ms. Quiet passages (short-term below -60 LUFS)
hold the gain instead of pumping it up. This follows the target on average but is not a
guarantee of integrated loudness: expect +/-1-2 LU on real programmes, versus +/-0.1 offline.
The limiter guarantees the true-peak ceiling in both modes. A live block costs two Numba calls:
:func:`voxpost.dsp.shortterm.short_term_block` (K-weighting, loudness, gain) and
:func:`voxpost.dsp.truepeak.limit_block` (the limiter).

Dialogue gating
---------------
``dialogue_gated=True`` (Netflix-style) measures loudness only over speech: the 400 ms gating
blocks at least half inside the speech regions Silero VAD finds (:mod:`voxpost.speech.vad`, the
detector the whole engine uses, on onnxruntime; :func:`voxpost.clean.meter.speech_mask`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import numpy as np

from voxpost.clean.bs1770 import _as_array, _channel_weights, _db, k_weighting_sos  # noqa: F401
from voxpost.clean.meter import measure_loudness, measure_stream
from voxpost.dsp import shortterm
from voxpost.dsp import truepeak as tp
from voxpost.stage import Chain, Stage, param, register


@register
class TruePeakLimiter(Stage):
    """Lookahead brickwall limiter on the 4x-oversampled true peak, channel-linked.

    Per sample, the required gain is ``min(1, ceiling / true_peak)``; it is held for the
    lookahead (plus a margin covering the interpolator's span), released exponentially and
    ramped in linearly over the lookahead (:func:`voxpost.dsp.truepeak.limiter_gain`), so the gain
    is already down when a peak leaves the delay line; a block is one kernel call
    (:func:`voxpost.dsp.truepeak.limit_block`). Audio below the ceiling passes with gain
    exactly 1 (bit-identical). ``latency_samples`` = lookahead + interpolator delay + hold margin
    = ``round(lookahead_ms * fs / 1000) - 1 + 2 * (TAPS // 2)`` (87 samples at 48 kHz with the
    defaults); offline chains compensate it.
    """

    kind: ClassVar[str] = "true_peak_limiter"
    description: ClassVar[str] = "True-peak (4x oversampled) lookahead limiter."
    ceiling_dbtp: float = param(-1.0, min=-30.0, max=0.0, help="true-peak ceiling (dBTP)")
    lookahead_ms: float = param(1.5, min=0.1, max=20.0, help="lookahead = attack ramp length (ms)")
    release_ms: float = param(50.0, min=1.0, max=2000.0, help="release time constant (ms)")

    #: Internal headroom (dB) under the ceiling, for float32 rounding of the output.
    SAFETY_DB: ClassVar[float] = 0.01

    def prepare(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self.poly = tp.design_interpolator(self.sample_rate)
        taps = self.poly.shape[1] - 1
        self.window = max(1, int(round(self.lookahead_ms * self.sample_rate / 1000.0)))
        self.margin = taps // 2
        self.hold = self.window + 2 * self.margin + 1
        self.delay = self.window - 1 + self.margin + taps // 2
        self.release_coef = math.exp(-1.0 / (self.release_ms * self.sample_rate / 1000.0))
        self.ceiling = 10.0 ** ((self.ceiling_dbtp - self.SAFETY_DB) / 20.0)
        self.reset()

    def reset(self) -> None:
        if self.sample_rate is None:
            return
        self.hist = tp.new_history(self.channels, self.poly)
        self.hold_buf, self.box_buf, self.state = tp.new_limiter_state(self.window, self.hold)
        self.line = np.zeros((self.channels, self.delay), np.float64)
        self.min_gain = 1.0

    @property
    def latency_samples(self) -> int:
        return self.delay if self.sample_rate is not None else 0

    def gain_for(self, block: np.ndarray) -> np.ndarray:
        """Smooth gain [frames] (float64) for the audio ``delay`` samples before ``block``'s end; updates state."""
        peaks = tp.truepeak_block(block, self.poly, self.hist).max(axis=0)
        required = np.ones_like(peaks)
        over = peaks > self.ceiling
        required[over] = self.ceiling / peaks[over]
        return tp.limiter_gain(required, self.release_coef, self.hold_buf, self.box_buf, self.state)

    def process(self, block: np.ndarray) -> np.ndarray:
        self._require_prepared()
        out, low = tp.limit_block(np.ascontiguousarray(block, np.float32), self.poly, self.hist,
                                  self.ceiling, self.release_coef, self.hold_buf, self.box_buf,
                                  self.state, self.line)
        self.min_gain = min(self.min_gain, low)
        return out

    def report(self) -> dict[str, Any]:
        mg = getattr(self, "min_gain", 1.0)
        return {"limiter_max_reduction_db": 0.0 - _db(mg) if mg > 0 else math.inf}


@register
class Loudness(Stage):
    """Normalise to a loudness target (LUFS) under a true-peak ceiling: gain, then the limiter.

    ``mode="integrated"`` is two-pass (``needs_analysis``): ``Chain.render`` / ``render_file``
    call :meth:`analyse` (= :meth:`fit`) on the whole programme first, or call :meth:`fit`
    yourself (see the module docstring); ``mode="short_term"`` adapts live to the 3 s short-term
    loudness. Attributes ``lufs_in``, ``lufs_out`` and ``gain_db`` (and ``measured_in`` /
    ``measured_out`` dicts after :meth:`fit`); :meth:`report` gives them too.
    """

    kind: ClassVar[str] = "loudness"
    description: ClassVar[str] = "Loudness normalisation (BS.1770) with true-peak limiting."
    target_lufs: float = param(-23.0, min=-60.0, max=0.0, help="integrated loudness target (LUFS)")
    ceiling_dbtp: float = param(-1.0, min=-30.0, max=0.0, help="true-peak ceiling (dBTP)")
    mode: str = param("integrated", choices=("integrated", "short_term"),
                      help="integrated: two-pass, fit() first; short_term: live, adaptive")
    dialogue_gated: bool = param(False, help="measure over speech only (Silero VAD)")
    max_gain_db: float = param(20.0, min=0.0, max=60.0, help="largest boost applied (dB)")
    lookahead_ms: float = param(1.5, min=0.1, max=20.0, help="limiter lookahead (ms)")
    release_ms: float = param(50.0, min=1.0, max=2000.0, help="limiter release (ms)")
    adapt_s: float = param(3.0, min=0.1, max=60.0, help="short_term: gain time constant (s)")

    #: Largest cut applied (dB).
    MAX_CUT_DB: ClassVar[float] = 60.0
    #: short_term: hop between loudness updates (s) and window (s).
    HOP_S: ClassVar[float] = 0.1
    WINDOW_S: ClassVar[float] = 3.0
    #: short_term: below this short-term loudness (LUFS) the gain holds.
    HOLD_BELOW_LUFS: ClassVar[float] = -60.0

    def __post_init__(self) -> None:
        super().__post_init__()
        self.limiter = TruePeakLimiter(ceiling_dbtp=self.ceiling_dbtp, lookahead_ms=self.lookahead_ms,
                                       release_ms=self.release_ms)
        self.fitted = False
        self.gain_db = self.start_db = 0.0
        self.lufs_in: float | None = None
        self.lufs_out: float | None = None
        self.measured_in: dict[str, float] = {}
        self.measured_out: dict[str, float] = {}

    # -- analysis (the offline first pass) ------------------------------------------------
    @property
    def needs_analysis(self) -> bool:  # type: ignore[override]
        """Integrated mode must hear the whole programme first; short-term (live) does not."""
        return self.mode == "integrated"

    def _programme_loudness(self, m: dict[str, float]) -> float:
        return m["dialogue_lufs"] if self.dialogue_gated else m["integrated_lufs"]

    def measure(self, samples: Any, sample_rate: int | None = None) -> dict[str, float]:
        """Measure a whole programme (Audio, array, or iterable of blocks) as this stage would."""
        return measure_loudness(samples, sample_rate, dialogue_gated=self.dialogue_gated, lra=False)

    def analyse(self, blocks: Iterable[np.ndarray]) -> None:
        """Stage protocol first pass over one pass of blocks: :meth:`fit` on the whole input.

        One pass only, so the blocks are kept for the trial renders (the programme must fit in
        RAM); :meth:`analyse_source` does the same in flat memory.
        """
        self._require_prepared()
        kept = [np.asarray(b, np.float32) for b in blocks]
        self.analyse_source(lambda: iter(kept))

    def analyse_source(self, source: Callable[[], Iterable[np.ndarray]]) -> None:
        """The first pass in flat memory: ``source()`` gives this stage's input blocks afresh on
        each call (one measuring pass, then up to three trial passes through gain + limiter, the
        trials only when the gained programme's true peak would reach the ceiling)."""
        self._require_prepared()
        self.fit_stream(source, self.sample_rate, self.channels)

    def fit_stream(self, source: Callable[[], Iterable[np.ndarray]], sample_rate: int, channels: int, *,
                   iterations: int = 3) -> "Loudness":
        """:meth:`fit` over a re-readable block source, in flat memory. Returns ``self``."""
        fs, ch = int(sample_rate), int(channels)
        self.measured_in = measure_stream(source(), fs, ch, dialogue_gated=self.dialogue_gated, lra=False)
        self.lufs_in = self._programme_loudness(self.measured_in)
        self.gain_db = self._clamp(self.target_lufs - self.lufs_in) if math.isfinite(self.lufs_in) else 0.0
        self.fitted = True
        if self.mode == "short_term" or not math.isfinite(self.lufs_in):
            if self.mode == "short_term":
                self.start_db = self.gain_db
            self.lufs_out = self.lufs_in + self.gain_db if math.isfinite(self.lufs_in) else self.lufs_in
            self.measured_out = dict(self.measured_in)
            self.prepare(fs, ch)
            return self
        def trial() -> dict[str, float]:
            chain = Chain([self])
            chain.prepare(fs, ch)
            return measure_stream(chain.stream(source()), fs, ch, dialogue_gated=self.dialogue_gated, lra=False)

        self._converge(trial, iterations)
        self.prepare(fs, ch)
        return self

    def _converge(self, trial: Callable[[], dict[str, float]], iterations: int) -> None:
        """Render through gain + limiter (``trial`` measures the result) up to ``iterations``
        times, nudging the gain by the remaining error; stop within 0.05 LU."""
        for i in range(max(1, iterations)):
            self.measured_out = trial()
            self.lufs_out = self._programme_loudness(self.measured_out)
            if not (math.isfinite(self.lufs_in) and math.isfinite(self.lufs_out)):
                break
            err = self.target_lufs - self.lufs_out
            new_gain = self._clamp(self.gain_db + err)
            if abs(err) < 0.05 or i == iterations - 1 or new_gain == self.gain_db:
                break
            self.gain_db = new_gain

    def _clamp(self, gain_db: float) -> float:
        return float(min(self.max_gain_db, max(-self.MAX_CUT_DB, gain_db)))

    def _trial(self, x: np.ndarray, fs: int) -> np.ndarray:
        """Gain + limiter over ``x``, latency compensated, without re-running the analysis."""
        chain = Chain([self])
        chain.prepare(fs, x.shape[0])
        parts = list(chain.stream([x]))
        return np.concatenate(parts, axis=1) if parts else np.zeros_like(x)

    def fit(self, samples: Any, sample_rate: int | None = None, *, iterations: int = 3) -> "Loudness":
        """Measure the programme, set the static gain, correct it for what the limiter removes.

        Accepts an Audio, an array ``[channels, frames]`` or an iterable of blocks. Renders the
        programme through gain + limiter up to ``iterations`` times, nudging the gain by the
        remaining error (stopping within 0.05 LU). Silence (-inf LUFS) gets 0 dB. In
        ``short_term`` mode it only sets the starting gain. Leaves the stage prepared for the
        programme's rate and channels. Returns ``self``.
        """
        x, fs = _as_array(samples, sample_rate)
        self.measured_in = self.measure(x, fs)
        self.lufs_in = self._programme_loudness(self.measured_in)
        self.gain_db = self._clamp(self.target_lufs - self.lufs_in) if math.isfinite(self.lufs_in) else 0.0
        self.fitted = True
        if self.mode == "short_term":
            self.start_db = self.gain_db
            self.lufs_out = self.lufs_in + self.gain_db if math.isfinite(self.lufs_in) else self.lufs_in
            self.prepare(fs, x.shape[0])
            return self
        self._converge(lambda: self.measure(self._trial(x, fs), fs), iterations)
        self.prepare(fs, x.shape[0])
        return self

    def report(self) -> dict[str, Any]:
        return {"loudness_lufs_in": self.lufs_in, "loudness_lufs_out": self.lufs_out,
                "loudness_gain_db": self.gain_db,
                "limiter_max_reduction_db": self.limiter.report().get("limiter_max_reduction_db", 0.0)}

    # -- stage protocol -------------------------------------------------------------------
    def prepare(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self.limiter.prepare(sample_rate, channels)
        self.sos = k_weighting_sos(self.sample_rate)
        self.weights = _channel_weights(self.channels)
        self.hop = max(1, int(round(self.HOP_S * self.sample_rate)))
        self.nhops = max(1, int(round(self.WINDOW_S / self.HOP_S)))
        self.adapt_coef = math.exp(-1.0 / (self.adapt_s * self.sample_rate))
        self._live_params = shortterm.params_vector(
            hop=self.hop, target_lufs=self.target_lufs, hold_below_lufs=self.HOLD_BELOW_LUFS,
            adapt_coef=self.adapt_coef, max_gain_db=self.max_gain_db, max_cut_db=self.MAX_CUT_DB)
        self.reset()

    def reset(self) -> None:
        if self.sample_rate is None:
            return
        self.limiter.reset()
        start = self.start_db if self.mode == "short_term" else 0.0
        self.current_db = self.desired_db = start
        self._live = shortterm.new_state(self.channels, self.sos.shape[0], self.nhops, start)
        if self.mode == "short_term":
            self.gain_db = start
            self.short_term_lufs = -math.inf

    @property
    def latency_samples(self) -> int:
        return self.limiter.latency_samples

    def process(self, block: np.ndarray) -> np.ndarray:
        self._require_prepared()
        x = np.ascontiguousarray(block, np.float32)
        if self.mode == "integrated":
            if not self.fitted:
                raise RuntimeError("loudness: mode 'integrated' needs fit(programme) before process() "
                                   "(two-pass; use mode='short_term' for live)")
            y32 = (x.astype(np.float64) * (10.0 ** (self.gain_db / 20.0))).astype(np.float32)
        else:
            y32 = np.empty_like(x)
            shortterm.short_term_block(x, self.sos, self.weights, *self._live, self._live_params, y32)
            self._sync_live()
        return self.limiter.process(y32)

    def _sync_live(self) -> None:
        """The short_term kernel's state as the stage's attributes (gain, loudness in and out)."""
        st = self._live[2]
        self.gain_db = self.current_db = float(st[shortterm.GAIN_DB])
        self.desired_db = float(st[shortterm.DESIRED_DB])
        self.short_term_lufs = float(st[shortterm.SHORT_TERM_LUFS])
        if not math.isnan(st[shortterm.LUFS_IN]):
            self.lufs_in = float(st[shortterm.LUFS_IN])
        if self.lufs_in is not None and math.isfinite(self.lufs_in):
            self.lufs_out = self.lufs_in + self.gain_db
