"""Loudness meters of a programme, whole or streamed in flat memory: BS.1770 integrated loudness
(pyloudnorm's meter, and our own gating from :mod:`voxpost.clean.bs1770`), true peak (4x
oversampled, :mod:`voxpost.dsp.truepeak`), sample peak, EBU Tech 3342 loudness range, and
dialogue-gated loudness: 400 ms blocks at least half inside the speech that Silero VAD
(:mod:`voxpost.speech.vad`, the engine's one speech detector, on onnxruntime) finds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from voxpost.clean.bs1770 import (_as_array, _channel_weights, _db, _gated, _lra, integrated_loudness, k_weighting_sos,
                                  loudness_range)
from voxpost.dsp import truepeak as tp


# -- speech gating (Silero VAD) -------------------------------------------------------------

def speech_mask(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Speech samples of a programme, bool ``[frames]``: inside the regions Silero VAD finds in its
    mono mix (:func:`voxpost.speech.vad.speech_regions`, default thresholds and padding)."""
    from voxpost.speech.vad import speech_regions

    x, fs = _as_array(samples, sample_rate)
    mask = np.zeros(x.shape[1], bool)
    for a, b in zip(*_region_samples(speech_regions(x, fs), fs)):      # one slice per region
        mask[a:b] = True
    return mask


def _region_samples(regions: list[tuple[float, float]], sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Start and end sample of each ``(start_s, end_s)`` region, as two int64 arrays."""
    r = np.asarray(regions, np.float64).reshape(-1, 2)
    return np.round(r[:, 0] * sample_rate).astype(np.int64), np.round(r[:, 1] * sample_rate).astype(np.int64)


def _speech_before(t: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Samples of speech before each position ``t``, for sorted disjoint regions ``[a, b)``."""
    t = np.asarray(t, np.int64)
    if a.size == 0:
        return np.zeros(t.shape, np.int64)
    cum = np.concatenate([[0], np.cumsum(b - a)])
    k = np.searchsorted(a, t, side="right") - 1                   # the last region starting at or before t
    kk = np.maximum(k, 0)
    return cum[kk] + np.where(k >= 0, np.clip(t - a[kk], 0, b[kk] - a[kk]), 0)


# -- measurement ----------------------------------------------------------------------------

def measure_loudness(samples: Any, sample_rate: int | None = None, *, dialogue_gated: bool = False,
                     lra: bool = True) -> dict[str, float]:
    """Measure a whole programme ``[channels, frames]`` (or an Audio, or an iterable of blocks).

    Returns ``integrated_lufs`` (pyloudnorm's BS.1770 meter; for files shorter than 400 ms our
    single-block estimate), ``true_peak_dbtp`` (4x oversampled, :mod:`voxpost.dsp.truepeak`),
    ``sample_peak_dbfs``, ``loudness_range_lu`` (EBU 3342, when ``lra``) and, with
    ``dialogue_gated``, ``dialogue_lufs`` and ``speech_fraction`` (over the VAD's speech, :func:`speech_mask`).
    Silence gives ``-inf`` levels, never NaN. An iterable of blocks is measured as it streams
    (:class:`LoudnessAccumulator`, flat memory; within a few thousandths of a LU of pyloudnorm).
    """
    is_audio = hasattr(samples, "samples") and hasattr(samples, "sample_rate")
    if not is_audio and not isinstance(samples, np.ndarray) and isinstance(samples, Iterable):
        if sample_rate is None:
            raise TypeError("sample_rate is required unless an Audio is given")
        return measure_stream(samples, int(sample_rate), dialogue_gated=dialogue_gated, lra=lra)
    x, fs = _as_array(samples, sample_rate)
    out: dict[str, float] = {}
    if x.shape[0] > 5:   # pyloudnorm's meter knows 5 channel weights at most (5.1: LFE excluded here)
        acc = LoudnessAccumulator(fs, x.shape[0], lra=False, peaks=False)
        acc.add(x)
        out["integrated_lufs"] = acc.integrated()
    elif x.shape[1] >= int(round(0.4 * fs)) + 1:
        import pyloudnorm

        meter = pyloudnorm.Meter(fs)
        with np.errstate(divide="ignore"):
            lufs = float(meter.integrated_loudness(x.T.astype(np.float64)))
        out["integrated_lufs"] = lufs if np.isfinite(lufs) else -math.inf
    else:
        out["integrated_lufs"] = integrated_loudness(x, fs)
    out["true_peak_dbtp"] = _db(float(tp.true_peak(x, fs).max())) if x.size else -math.inf
    out["sample_peak_dbfs"] = _db(float(np.abs(x).max())) if x.size else -math.inf
    if lra:
        out["loudness_range_lu"] = loudness_range(x, fs)
    if dialogue_gated:
        mask = speech_mask(x, fs)
        out["speech_fraction"] = float(mask.mean()) if mask.size else 0.0
        out["dialogue_lufs"] = integrated_loudness(x, fs, mask=mask) if mask.any() else out["integrated_lufs"]
    return out


# -- streaming measurement (flat memory) ----------------------------------------------------

class LoudnessAccumulator:
    """BS.1770-4 / EBU R128 measurement that takes the programme block by block, in flat memory.

    K-weighting runs with carried filter state; the channel-weighted K-weighted power is summed
    into 100 ms sub-blocks, and only those sub-block mean squares are kept (one float per 100 ms:
    a 90-minute programme is 54,000 floats, whatever its rate and channel count). At the end,
    400 ms gating blocks with 75 % overlap are the means of 4 consecutive sub-blocks (3 s
    short-term blocks for the loudness range: 30), gated at -70 LUFS and -10 LU relative
    (-20 LU for LRA). True and sample peaks are running maxima. With ``dialogue_gated`` the mono
    mix streams through Silero VAD (resampled to 16 kHz with a soxr stream, the same samples
    :func:`speech_mask` sees), one probability per 32 ms frame is kept, the speech regions are
    decided at the end, and the 400 ms blocks at least half inside speech are gated.
    :meth:`result` closes that stream: add no block after it.

    Where 100 ms is not a whole number of samples (e.g. 11025 Hz) sub-blocks are
    ``round(0.1 * fs)`` samples long; pyloudnorm truncates its 400 ms bounds, so the two can
    differ by a few thousandths of a LU there.

    >>> import numpy as np
    >>> tone = 0.1 * np.sin(2 * np.pi * 1000 * np.arange(5 * 48000) / 48000)   # 1 kHz, peak -20 dBFS
    >>> acc = LoudnessAccumulator(48000, 2)
    >>> for i in range(0, tone.size, 65536):
    ...     acc.add(np.stack([tone[i:i + 65536]] * 2).astype(np.float32))
    >>> round(acc.result()["integrated_lufs"], 1)   # BS.1770: that sine on both channels reads its peak level
    -20.0
    """

    SUB_S = 0.1

    def __init__(self, sample_rate: int, channels: int, *, dialogue_gated: bool = False, lra: bool = True,
                 peaks: bool = True) -> None:
        self.fs, self.channels = int(sample_rate), int(channels)
        self.dialogue_gated, self.lra, self.peaks = dialogue_gated, lra, peaks
        self.sos = k_weighting_sos(self.fs)
        self.weights = _channel_weights(self.channels)
        self.zi = np.zeros((self.sos.shape[0], self.channels, 2))
        self.sub = max(1, int(round(self.SUB_S * self.fs)))
        self._acc, self._fill = 0.0, 0
        self._subs: list[float] = []            # mean square per complete 100 ms sub-block
        self.frames = 0
        self._tail_power: np.ndarray = np.zeros(0)  # power of the incomplete sub-block (short files)
        if peaks:
            self.poly = tp.design_interpolator(self.fs)
            self.hist = tp.new_history(self.channels, self.poly)
            self.true_peak = 0.0
            self.sample_peak = 0.0
        if dialogue_gated:
            from voxpost.resample import Resampler
            from voxpost.speech import vad

            self._vad = vad.VoiceActivity()
            self._to_vad = (None if self.fs == vad.RATE else
                            Resampler(self.fs, vad.RATE, channels=1))
            self._probs: list[np.ndarray] = []
            self._vad_samples = 0
            self._regions: list[tuple[float, float]] | None = None

    def add(self, block: np.ndarray) -> None:
        """Add one ``[channels, frames]`` block (float)."""
        from scipy import signal

        x = np.atleast_2d(np.asarray(block, np.float64))
        n = x.shape[1]
        if n == 0:
            return
        if self.dialogue_gated and self._regions is not None:
            raise RuntimeError("the speech regions were decided by result(): add every block before it")
        if x.shape[0] != self.channels:
            raise ValueError(f"block has {x.shape[0]} channels, the accumulator {self.channels}")
        self.frames += n
        y, self.zi = signal.sosfilt(self.sos, x, axis=1, zi=self.zi)
        power = (self.weights[:, None] * y * y).sum(axis=0)
        i = 0
        if self._fill:
            take = min(n, self.sub - self._fill)
            self._acc += float(power[:take].sum())
            self._fill += take
            i = take
            if self._fill == self.sub:
                self._subs.append(self._acc / self.sub)
                self._acc, self._fill = 0.0, 0
        whole = (n - i) // self.sub
        if whole:
            self._subs.extend(power[i:i + whole * self.sub].reshape(whole, self.sub).mean(axis=1).tolist())
            i += whole * self.sub
        if i < n:
            self._acc += float(power[i:].sum())
            self._fill += n - i
        if len(self._subs) < 4:   # keep the power of a programme shorter than one gating block
            self._tail_power = np.concatenate([self._tail_power, power])
        else:
            self._tail_power = np.zeros(0)
        if self.peaks:
            x32 = x.astype(np.float32)
            self.sample_peak = max(self.sample_peak, float(np.abs(x32).max()))
            self.true_peak = max(self.true_peak, float(tp.truepeak_block(x32, self.poly, self.hist).max()))
        if self.dialogue_gated:
            self._add_vad(x.mean(axis=0).astype(np.float32))

    def _add_vad(self, mono: np.ndarray, *, last: bool = False) -> None:
        if self._to_vad is not None:
            mono = (self._to_vad.flush() if last else self._to_vad.process(mono[None, :]))[0]
        self._vad_samples += mono.size
        self._probs.append(self._vad.probabilities(mono))

    def stored_floats(self) -> int:
        """How many numbers the accumulator holds (grows by 10 per second, 41 with dialogue gating)."""
        n = len(self._subs) + self._tail_power.size
        if self.dialogue_gated:
            n += sum(p.size for p in self._probs)
        return n

    # -- results ------------------------------------------------------------------------------
    def _blocks(self, k: int) -> np.ndarray:
        """Mean squares of ``k``-sub-block blocks every sub-block."""
        s = np.asarray(self._subs)
        if s.size < k:
            return np.zeros(0)
        c = np.concatenate([[0.0], np.cumsum(s)])
        return (c[k:] - c[:-k]) / k

    def speech_regions(self) -> list[tuple[float, float]]:
        """The VAD's speech regions ``(start_s, end_s)``; the first call ends the VAD stream."""
        from voxpost.speech import vad

        if self._regions is None:
            self._add_vad(np.zeros(0, np.float32), last=True)
            self._probs.append(self._vad.probabilities(np.zeros((-self._vad_samples) % vad.FRAME, np.float32)))
            self._regions = vad.regions_from_probabilities(np.concatenate(self._probs),
                                                           duration_s=self.frames / self.fs)
        return self._regions

    def integrated(self, speech: list[tuple[float, float]] | None = None) -> float:
        """Integrated loudness (LUFS); with ``speech`` regions, over the blocks at least half inside them."""
        if len(self._subs) < 4:
            p = self._tail_power
            return _gated(np.array([p.mean()]) if p.size else np.zeros(0), 10.0)
        z = self._blocks(4)
        # like pyloudnorm (round, not floor), a last block that runs past the end when the
        # programme ends more than half a step after the last whole block; zero-padded
        if speech is None and int(round((self.frames / self.fs - 0.4) / self.SUB_S)) + 1 > z.size and self._fill:
            z = np.append(z, (sum(self._subs[-3:]) * self.sub + self._acc) / (4 * self.sub))
        if speech is not None:
            z = z[self._block_speech_fraction(speech, z.size) >= 0.5]
        return _gated(z, 10.0)

    def _block_speech_fraction(self, speech: list[tuple[float, float]], nblocks: int) -> np.ndarray:
        """Fraction of samples inside the speech regions for each 400 ms gating block."""
        a, b = _region_samples(speech, self.fs)
        starts = np.arange(nblocks) * self.sub
        return (_speech_before(starts + 4 * self.sub, a, b) - _speech_before(starts, a, b)) / (4 * self.sub)

    def loudness_range(self) -> float:
        return _lra(self._blocks(int(round(3.0 / self.SUB_S))))

    def result(self) -> dict[str, float]:
        """The same keys as :func:`measure_loudness`."""
        out = {"integrated_lufs": self.integrated()}
        if self.peaks:
            out["true_peak_dbtp"] = _db(self.true_peak) if self.frames else -math.inf
            out["sample_peak_dbfs"] = _db(self.sample_peak) if self.frames else -math.inf
        if self.lra:
            out["loudness_range_lu"] = self.loudness_range()
        if self.dialogue_gated:
            speech = self.speech_regions()
            inside = _speech_before(self.frames, *_region_samples(speech, self.fs))
            out["speech_fraction"] = float(inside) / self.frames if self.frames else 0.0
            out["dialogue_lufs"] = self.integrated(speech) if speech else out["integrated_lufs"]
        return out


def measure_stream(blocks: Iterable[np.ndarray], sample_rate: int, channels: int | None = None, *,
                   dialogue_gated: bool = False, lra: bool = True) -> dict[str, float]:
    """:func:`measure_loudness` over an iterable of ``[channels, frames]`` blocks, in flat memory."""
    acc = None
    for b in blocks:
        b = np.atleast_2d(b)
        if acc is None:
            acc = LoudnessAccumulator(sample_rate, channels or b.shape[0], dialogue_gated=dialogue_gated, lra=lra)
        acc.add(b)
    if acc is None:
        acc = LoudnessAccumulator(sample_rate, channels or 1, dialogue_gated=dialogue_gated, lra=lra)
    return acc.result()
