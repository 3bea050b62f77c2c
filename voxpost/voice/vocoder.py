"""A streaming source-filter vocoder: resynthesis from F0, aperiodicity and spectral envelope.

pyworld ships only as an sdist here, so voxpost has its own WORLD-like vocoder, built for block
processing with a fixed latency. The analysis (F0 by YIN, aperiodicity, the spectral envelope and
its mel-cepstrum on a fixed grid, every 5 ms) is :mod:`voxpost.voice.analysis`; this module is the
synthesis, the streaming pipeline and the voice statistics a profile stores.

Synthesis is WORLD's kind (pure source-filter): a pulse train at the (new) F0, placed by a phase
accumulator with fractional pulse times (:mod:`voxpost.dsp.excitation`). Each pulse is a
minimum-phase response made from the periodic part of the envelope, interpolated to the pulse
time and scaled by ``sqrt(period)`` so that the pulse train has the envelope's power density.
The responses come from batched NumPy FFTs and are overlap-added by a Numba kernel. Noise grains
carry the aperiodic part: random-phase spectra with the noise-part amplitude, 2-hop sqrt-Hann
grains at hop spacing, so their power adds to a constant. Pure source-filter synthesis gives up
the original excitation's fine structure, which costs some naturalness (a slightly buzzy, "vocoded"
sound). It takes any F0 and any envelope without phase artefacts, and it streams with only the
analysis lookahead as delay. That is why it was picked over PSOLA with a spectral filter.

Streaming: output up to frame ``f``'s centre is final once frame ``f`` has been analysed, which
needs ``lookahead`` samples past the centre. :class:`VocoderStream` pads to the constant
``latency_samples = lookahead + hop - 1`` (22.7 ms at 48 kHz), so its output does not depend on
how the input was cut into blocks. The noise is seeded and drawn frame by frame, so it doesn't
depend on the blocking either.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.fft
import scipy.linalg

from voxpost.dsp.excitation import overlap_add, pulse_times
from voxpost.errors import VoxpostError
from voxpost.voice.analysis import (CHUNK_FRAMES, ENVELOPE_KIND, LOG_FLOOR, MCEP_ORDER, SILENCE_POWER, Analyzer, Frames,
                                    Geometry, MelMaps, analyse, aperiodicity)

STATS_VERSION = 1


class VoiceStatsError(VoxpostError):
    """Speech too short or too unvoiced to measure a voice from."""


# -- streaming synthesis --------------------------------------------------------------------------

class Synthesizer:
    """Frames (F0, periodic and noise log amplitudes) in, finished samples out."""

    def __init__(self, geometry: Geometry, *, seed: int = 0) -> None:
        self.g = geometry
        self.seed = seed
        h = geometry.hop
        self._grain_window = np.sin(np.pi * (np.arange(2 * h) + 0.5) / (2 * h))
        self._fade = np.ones(geometry.nfft)
        tail = geometry.nfft // 8
        self._fade[-tail:] = 0.5 + 0.5 * np.cos(np.pi * np.arange(1, tail + 1) / tail)
        self.reset()

    def reset(self) -> None:
        self._phase = np.ones(1)
        self._rng = np.random.default_rng(self.seed)
        self._acc = np.zeros(0)
        self._acc_start = -self.g.hop
        self._done = 0
        self._prev: tuple[float, np.ndarray] | None = None

    def _grow(self, end: int) -> None:
        need = end - self._acc_start - len(self._acc)
        if need > 0:
            self._acc = np.concatenate([self._acc, np.zeros(need)])

    def push(self, first: int, f0_hz: np.ndarray, log_periodic: np.ndarray,
             log_noise: np.ndarray) -> np.ndarray:
        """Synthesise frames ``first ...``; returns the samples finished by them (float32)."""
        g, h, n = self.g, self.g.hop, len(f0_hz)
        if n == 0:
            return np.zeros(0, np.float32)
        last_centre = (first + n - 1) * h
        self._grow(last_centre + h + g.nfft + 1)
        # noise grains, [c - h, c + h) around each centre
        z = self._rng.standard_normal((n, 2, g.bins))
        spec = np.exp(log_noise) * (z[:, 0] + 1j * z[:, 1]) * math.sqrt(g.nfft / 2)
        grains = scipy.fft.irfft(spec, g.nfft, axis=1)[:, :2 * h] * self._grain_window
        start = first * h - h - self._acc_start
        span = self._acc[start:start + (n + 1) * h].reshape(n + 1, h)
        span[:-1] += grains[:, :h]
        span[1:] += grains[:, h:]
        # pulses between consecutive frame centres
        if self._prev is not None:
            f0_all = np.concatenate([[self._prev[0]], f0_hz])
            lp_all = np.concatenate([self._prev[1][None], log_periodic])
            seg_start = (first - 1) * h
        else:
            f0_all, lp_all, seg_start = f0_hz, log_periodic, first * h
        self._prev = (float(f0_hz[-1]), log_periodic[-1].copy())
        if len(f0_all) > 1:
            self._pulses(seg_start, f0_all, lp_all)
        out_end = last_centre
        lo, hi = self._done - self._acc_start, out_end - self._acc_start
        out = self._acc[lo:hi].astype(np.float32)
        self._acc, self._acc_start, self._done = self._acc[hi:], out_end, out_end
        return out

    def _pulses(self, seg_start: int, f0_all: np.ndarray, lp_all: np.ndarray) -> None:
        g, h = self.g, self.g.hop
        u = np.arange(h) / h
        a, b = f0_all[:-1, None], f0_all[1:, None]
        both = (a > 0) & (b > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            track = np.where(both, a * (b / np.where(both, a, 1.0)) ** u,
                             np.where(u < 0.5, a, b))
        index, delay = pulse_times(np.ascontiguousarray(track.ravel()), float(g.sample_rate), self._phase)
        if len(index) == 0:
            return
        f0p = track.ravel()[index]
        seg, frac = index // h, (index % h) / h
        log_amp = ((1 - frac)[:, None] * lp_all[seg] + frac[:, None] * lp_all[seg + 1]
                   + 0.5 * np.log(g.sample_rate / f0p)[:, None])
        for lo in range(0, len(index), 256):
            sl = slice(lo, lo + 256)
            cep = scipy.fft.irfft(log_amp[sl], g.nfft, axis=1)
            cep[:, 1:g.nfft // 2] *= 2.0
            cep[:, g.nfft // 2 + 1:] = 0.0
            spec = np.exp(scipy.fft.rfft(cep, axis=1))
            spec *= np.exp(-2j * np.pi * np.arange(g.bins)[None, :] / g.nfft * delay[sl, None])
            resp = scipy.fft.irfft(spec, g.nfft, axis=1) * self._fade
            overlap_add(self._acc, seg_start + index[sl] - 1 - self._acc_start, resp)


# -- the pipeline -----------------------------------------------------------------------------------

Transform = Callable[[Frames], tuple[np.ndarray, np.ndarray, np.ndarray]]


def identity_transform(geometry: Geometry) -> Transform:
    """Resynthesis without modification: F0 and envelope as analysed."""
    bin_hz = geometry.bin_hz

    def transform(frames: Frames):
        return split_excitation(frames, frames.f0_hz, frames.log_amp, bin_hz)
    return transform


def split_excitation(frames: Frames, f0_hz: np.ndarray, log_amp: np.ndarray,
                     bin_hz: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(f0_hz, log_periodic, log_noise)`` for the synthesiser from a (mapped) envelope."""
    ap = aperiodicity(frames.dmin, f0_hz > 0, bin_hz)
    log_periodic = np.maximum(log_amp + 0.5 * np.log(np.maximum(1.0 - ap, 1e-6)), LOG_FLOOR)
    log_noise = np.maximum(log_amp + 0.5 * np.log(ap), LOG_FLOOR)
    return f0_hz, log_periodic, log_noise


class VocoderStream:
    """Analysis -> ``transform`` -> synthesis on mono blocks, with a constant latency."""

    def __init__(self, sample_rate: int, transform: Transform | None = None, *, seed: int = 0) -> None:
        self.analyzer = Analyzer(sample_rate)
        self.g = self.analyzer.g
        self.synthesizer = Synthesizer(self.g, seed=seed)
        self.transform = transform or identity_transform(self.g)
        self.reset()

    @property
    def latency_samples(self) -> int:
        return self.g.latency_samples

    def reset(self) -> None:
        self.analyzer.reset()
        self.synthesizer.reset()
        self._queue = [np.zeros(self.latency_samples, np.float32)]
        self._queued = self.latency_samples

    def process(self, x: np.ndarray) -> np.ndarray:
        """Mono float32 in, as many samples out, ``latency_samples`` late."""
        n = len(x)
        for lo in range(0, n, CHUNK_FRAMES * self.g.hop):
            frames = self.analyzer.push(x[lo:lo + CHUNK_FRAMES * self.g.hop])
            if len(frames):
                y = self.synthesizer.push(frames.first, *self.transform(frames))
                self._queue.append(y)
                self._queued += len(y)
        out = np.concatenate(self._queue) if len(self._queue) > 1 else self._queue[0]
        self._queue, self._queued = [out[n:]], self._queued - n
        return out[:n]


def run_stream(stream: VocoderStream, samples: np.ndarray) -> np.ndarray:
    """Offline: mono ``samples`` through ``stream``, latency removed, same length."""
    x = np.asarray(samples, np.float32)
    stream.reset()
    y = stream.process(np.concatenate([x, np.zeros(stream.latency_samples, np.float32)]))
    return y[stream.latency_samples:]


def resynthesize(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Analysis and synthesis of mono ``samples`` with nothing changed (same length)."""
    return run_stream(VocoderStream(sample_rate), samples)


# -- voice statistics -------------------------------------------------------------------------------

def voice_stats(samples: np.ndarray, sample_rate: int) -> dict:
    """Statistics of a voice, as a profile stores them (JSON-able).

    Parameters
    ----------
    samples : np.ndarray
        Mono float32 speech (a ``[channels, frames]`` array is mixed to mono).
    sample_rate : int
        Its rate, Hz.

    Returns
    -------
    dict
        ``{"version", "f0": {"median_hz", "log_mean", "log_std", "p05_hz", "p95_hz",
        "voiced_s"}, "envelope": {"kind": "mcep-mel8k", "order", "mean", "std"},
        "formants": {"f1_hz", "f2_hz", "f3_hz"}, "speech_s"}``. Only voiced frames within
        50 dB of the loudest frame count, so silence and unvoiced stretches do not move them.
        ``envelope`` also holds ``cov``, the covariance of ``c1..c24`` over the same frames, and
        ``unvoiced_mean`` and ``unvoiced_std``, the same statistics over
        the unvoiced frames within 30 dB of the loudest (fricatives, breath). Conversion maps
        those frames with them when both voices have them.

    Examples
    --------
    >>> from voxpost.espeak import synthesize
    >>> speech = synthesize("Nobody saw me, and I told nobody.", language="en")
    >>> stats = voice_stats(speech.samples, speech.sample_rate)
    >>> sorted(stats)
    ['envelope', 'f0', 'formants', 'speech_s', 'version']
    >>> 80.0 < stats["f0"]["median_hz"] < 160.0      # espeak's default male voice
    True
    """
    x = np.asarray(samples, np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0)
    frames = analyse(x, sample_rate)
    g = Geometry.for_rate(sample_rate)
    loud = frames.power > max(SILENCE_POWER, float(frames.power.max(initial=0.0)) * 1e-5)
    use = loud & frames.voiced
    if use.sum() < 40:
        raise VoiceStatsError(f"only {use.sum() * g.hop / sample_rate:.2f} s of voiced speech to measure "
                              "a voice from; give at least a few seconds of clear speech")
    f0 = frames.f0_hz[use]
    log_f0 = np.log(f0)
    maps = MelMaps(g)
    mcep = maps.cepstrum(frames.log_amp[use])
    unvoiced = frames.power > max(SILENCE_POWER, float(frames.power.max(initial=0.0)) * 1e-3)
    unvoiced &= ~frames.voiced
    um = maps.cepstrum(frames.log_amp[unvoiced]) if unvoiced.sum() >= 20 else mcep
    f1, f2, f3 = _formants(frames.log_amp[use], g)
    hop_s = g.hop / sample_rate
    return {
        "version": STATS_VERSION,
        "f0": {"median_hz": float(np.median(f0)), "log_mean": float(log_f0.mean()),
               "log_std": float(max(log_f0.std(), 1e-3)), "p05_hz": float(np.percentile(f0, 5)),
               "p95_hz": float(np.percentile(f0, 95)), "voiced_s": round(float(use.sum() * hop_s), 3)},
        "envelope": {"kind": ENVELOPE_KIND, "order": MCEP_ORDER,
                     "mean": [round(float(v), 6) for v in mcep.mean(axis=0)],
                     "std": [round(float(v), 6) for v in np.maximum(mcep.std(axis=0), 1e-3)],
                     "unvoiced_mean": [round(float(v), 6) for v in um.mean(axis=0)],
                     "unvoiced_std": [round(float(v), 6) for v in np.maximum(um.std(axis=0), 1e-3)],
                     "cov": [[round(float(v), 7) for v in row] for row in np.cov(mcep[:, 1:], rowvar=False)]},
        "formants": {"f1_hz": f1, "f2_hz": f2, "f3_hz": f3},
        "speech_s": round(float(loud.sum() * hop_s), 3),
    }


def _formants(log_amp: np.ndarray, g: Geometry, order: int = 14, most: int = 300) -> tuple:
    """Median F1-F3 (Hz) by LPC on the envelopes (resampled to a 0-8 kHz grid); best effort."""
    rows = log_amp[np.linspace(0, len(log_amp) - 1, min(most, len(log_amp))).astype(int)]
    grid = np.linspace(0.0, 8000.0, 257)
    power = np.exp(2 * np.stack([np.interp(grid, g.bin_hz, r) for r in rows]))
    r = scipy.fft.irfft(power, 512, axis=1)[:, :order + 1]
    found = []
    for ac in r:
        try:
            a = scipy.linalg.solve_toeplitz(ac[:order], ac[1:order + 1])
        except (np.linalg.LinAlgError, ValueError):
            continue
        roots = np.roots(np.concatenate([[1.0], -a]))
        roots = roots[np.imag(roots) > 0]
        hz = np.angle(roots) * 16000 / (2 * np.pi)
        bw = -np.log(np.abs(roots)) * 16000 / np.pi
        hz = np.sort(hz[(hz > 90) & (hz < 7000) & (bw < 500)])
        if len(hz) >= 3:
            found.append(hz[:3])
    if not found:
        return (None, None, None)
    return tuple(round(float(v), 1) for v in np.median(np.array(found), axis=0))
