"""A streaming source-filter vocoder: F0, aperiodicity and spectral envelope, and resynthesis.

pyworld ships only as an sdist here, so voxpost has its own WORLD-like vocoder, built for block
processing with a fixed latency.

Analysis, every ``HOP_S`` (5 ms; frame ``f`` is centred on sample ``f * hop``):

- **F0** by YIN (:mod:`voxpost.dsp.yin`, Numba) on the signal low-passed and decimated to about
  16 kHz, 65-500 Hz, 20 ms integration window. A frame is voiced when YIN's normalised
  difference minimum ``dmin`` is under ``VOICING_DMIN`` and the frame is not digital silence.
- **Aperiodicity**: ``dmin`` is roughly the aperiodic share of the frame's power. The noise
  share per frequency is ``dmin`` below 3 kHz, rising to 1 at 7 kHz (speech above 4-5 kHz is
  mostly noise-like), and 1 everywhere in unvoiced frames. This is cruder than WORLD's D4C, but
  it needs no lookahead past the frame.
- **Spectral envelope**: a 30 ms Hann periodogram (window scaled to unit energy, so white noise of
  variance ``s`` reads ``s`` in every bin), smoothed over frequency by a rectangle one F0 wide
  (this averages each harmonic over its own period, as CheapTrick does with its F0-adaptive
  window), then liftered with CheapTrick's ``sinc(q F0) (1.3 - 0.3 cos(2 pi q F0))``. Unvoiced
  frames use 300 Hz in place of F0. It is stored as a natural-log amplitude per FFT bin.
- **Mel-cepstrum on a fixed grid**: the log envelope sampled at ``MEL_POINTS`` mel-spaced
  frequencies from 0 to 8 kHz, then the first ``MCEP_ORDER + 1`` orthonormal DCT-II
  coefficients. The grid does not depend on the sample rate, so statistics enrolled at 16 kHz
  apply to 48 kHz input. Above the input's Nyquist frequency (8 kHz input), the grid holds the
  Nyquist value. A change of sample rate only shifts ``c0`` (the level), which conversion leaves
  alone.

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

import dataclasses
import math
from collections.abc import Callable, Iterator

import numpy as np
import scipy.fft
import scipy.linalg
import scipy.signal

from voxpost.dsp.excitation import overlap_add, pulse_times
from voxpost.dsp.yin import yin
from voxpost.errors import VoxpostError

STATS_VERSION = 1
HOP_S = 0.005
F0_MIN_HZ = 65.0
F0_MAX_HZ = 500.0
#: YIN runs on the input decimated by an integer factor to about this rate.
YIN_RATE_HZ = 16000
YIN_WINDOW_S = 0.020
YIN_THRESHOLD = 0.15
#: A frame is voiced when YIN's ``dmin`` is under this.
VOICING_DMIN = 0.30
ENV_WINDOW_S = 0.030
UNVOICED_SMOOTH_HZ = 300.0
#: Windowed frame power (mean square) under this is digital silence: no output at all.
SILENCE_POWER = 1e-10
#: Floor of the log amplitudes (natural log), about -350 dB.
LOG_FLOOR = -40.0
MEL_MAX_HZ = 8000.0
MEL_POINTS = 64
MCEP_ORDER = 24
ENVELOPE_KIND = "mcep-mel8k"
#: Frames per analysis batch (bounds memory on long files).
CHUNK_FRAMES = 200


class VoiceStatsError(VoxpostError):
    """Speech too short or too unvoiced to measure a voice from."""


def _mel(hz):
    return 1127.0 * np.log1p(np.asarray(hz, np.float64) / 700.0)


def _mel_inv(mel):
    return 700.0 * np.expm1(np.asarray(mel, np.float64) / 1127.0)


#: The fixed mel grid (Hz) the cepstra are taken on.
MEL_GRID_HZ = _mel_inv(np.linspace(0.0, float(_mel(MEL_MAX_HZ)), MEL_POINTS))


@dataclasses.dataclass(frozen=True)
class Geometry:
    """Frame layout for one sample rate (all sizes in samples)."""

    sample_rate: int
    hop: int
    decimation: int
    yin_window: int
    tau_min: int
    tau_max: int
    yin_half: int          # YIN frames span [c/q - yin_half, c/q + yin_half) at the decimated rate
    env_window: int
    nfft: int
    lookahead: int

    @classmethod
    def for_rate(cls, sample_rate: int) -> "Geometry":
        sr = int(sample_rate)
        q = max(1, sr // YIN_RATE_HZ)
        hop = q * max(1, round(HOP_S * sr / q))
        yr = sr / q
        tau_min = max(2, int(yr / F0_MAX_HZ))
        tau_max = max(tau_min + 2, math.ceil(yr / F0_MIN_HZ))
        yin_window = max(8, round(YIN_WINDOW_S * yr))
        yin_half = (yin_window + tau_max + 2) // 2
        env_window = 2 * max(8, round(ENV_WINDOW_S * sr / 2))
        nfft = 1 << (max(env_window, 2 * hop) - 1).bit_length()
        lookahead = max(env_window // 2, q * yin_half)
        return cls(sr, hop, q, yin_window, tau_min, tau_max, yin_half, env_window, nfft, lookahead)

    @property
    def bins(self) -> int:
        return self.nfft // 2 + 1

    @property
    def bin_hz(self) -> np.ndarray:
        return np.arange(self.bins) * self.sample_rate / self.nfft

    @property
    def latency_samples(self) -> int:
        return self.lookahead + self.hop - 1


@dataclasses.dataclass
class Frames:
    """Analysis of consecutive frames ``first, first + 1, ...``."""

    first: int
    f0_hz: np.ndarray      # [n], 0 where unvoiced
    dmin: np.ndarray       # [n], YIN aperiodicity measure (0 periodic .. 1 noise)
    power: np.ndarray      # [n], windowed mean square
    log_amp: np.ndarray    # [n, bins], natural-log amplitude envelope

    def __len__(self) -> int:
        return len(self.f0_hz)

    @property
    def voiced(self) -> np.ndarray:
        return self.f0_hz > 0

    @staticmethod
    def concat(parts: list["Frames"], bins: int) -> "Frames":
        if not parts:
            return Frames(0, np.zeros(0), np.zeros(0), np.zeros(0), np.zeros((0, bins)))
        return Frames(parts[0].first, *(np.concatenate([getattr(p, k) for p in parts])
                                        for k in ("f0_hz", "dmin", "power", "log_amp")))


# -- envelope and mel-cepstrum -------------------------------------------------------------------

def smoothed_log_amplitude(power: np.ndarray, smooth_hz: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Log amplitude envelope from periodograms ``power`` [n, bins] and per-frame widths (Hz)."""
    g = geometry
    n, bins = power.shape
    width = np.maximum(smooth_hz * g.nfft / g.sample_rate, 1.0)[:, None]     # in bins
    # a fixed pad (the widest smoothing there can be) keeps each row's arithmetic independent of
    # the batch it comes in, so streaming gives the same envelopes however it is blocked
    pad = int(np.ceil(max(F0_MAX_HZ, UNVOICED_SMOOTH_HZ) * g.nfft / g.sample_rate / 2)) + 2
    mirrored = np.concatenate([power[:, pad:0:-1], power, power[:, -2:-pad - 2:-1]], axis=1)
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(mirrored, axis=1)], axis=1)

    def integral(x):   # integral of the piecewise-constant spectrum up to bin position x
        x = np.clip(x + 0.5, 0, cum.shape[1] - 1.000001)
        i = x.astype(np.int64)
        return np.take_along_axis(cum, i, 1) * (i + 1 - x) + np.take_along_axis(cum, i + 1, 1) * (x - i)

    centre = np.arange(bins)[None, :] + pad
    smooth = (integral(centre + width / 2) - integral(centre - width / 2)) / width
    # cumulative-sum differences lose everything 120 dB under the frame's peak: floor there
    floor = np.maximum(smooth.max(axis=1, keepdims=True) * 1e-12, 1e-30)
    log_power = np.log(np.maximum(smooth, floor))
    cep = scipy.fft.irfft(log_power, g.nfft, axis=1)
    q_s = np.minimum(np.arange(g.nfft), g.nfft - np.arange(g.nfft)) / g.sample_rate
    qf = q_s[None, :] * smooth_hz[:, None]
    cep *= np.sinc(qf) * (1.3 - 0.3 * np.cos(2 * np.pi * qf))
    return np.maximum(0.5 * scipy.fft.rfft(cep, axis=1).real, LOG_FLOOR)


class MelMaps:
    """Linear maps between a rate's FFT bins and the fixed mel grid (both directions)."""

    def __init__(self, geometry: Geometry) -> None:
        bin_hz = geometry.bin_hz
        pos = np.minimum(MEL_GRID_HZ, bin_hz[-1]) * geometry.nfft / geometry.sample_rate
        lo = np.minimum(np.floor(pos).astype(int), geometry.bins - 2)
        frac = pos - lo
        self.to_mel = np.zeros((geometry.bins, MEL_POINTS))
        self.to_mel[lo, np.arange(MEL_POINTS)] = 1 - frac
        self.to_mel[lo + 1, np.arange(MEL_POINTS)] += frac
        eye = np.eye(MEL_POINTS)
        self.from_mel = np.stack([np.interp(bin_hz, MEL_GRID_HZ, eye[m]) for m in range(MEL_POINTS)])

    def cepstrum(self, log_amp: np.ndarray) -> np.ndarray:
        """Mel-cepstrum ``[n, MCEP_ORDER + 1]`` of log amplitudes ``[n, bins]``."""
        return scipy.fft.dct(log_amp @ self.to_mel, norm="ortho", axis=1)[:, :MCEP_ORDER + 1]

    def cepstrum_to_bins(self, mcep: np.ndarray) -> np.ndarray:
        """Log amplitudes on the FFT bins of a mel-cepstrum (a difference of cepstra, usually).

        Bins above 8 kHz get the 8 kHz value."""
        full = np.zeros((mcep.shape[0], MEL_POINTS))
        full[:, :mcep.shape[1]] = mcep
        return scipy.fft.idct(full, norm="ortho", axis=1) @ self.from_mel


def aperiodicity(dmin: np.ndarray, voiced: np.ndarray, bin_hz: np.ndarray) -> np.ndarray:
    """Noise share of the power per frame and bin, ``[n, bins]`` in (0, 1]."""
    a0 = np.clip(dmin, 0.01, 1.0)[:, None]
    ramp = np.clip((bin_hz[None, :] - 3000.0) / 4000.0, 0.0, 1.0)
    return np.where(voiced[:, None], a0 + (1 - a0) * ramp, 1.0)


# -- streaming analysis ---------------------------------------------------------------------------

class Analyzer:
    """Mono samples in, :class:`Frames` out, as soon as each frame's lookahead has arrived."""

    def __init__(self, sample_rate: int) -> None:
        self.g = g = Geometry.for_rate(sample_rate)
        w = scipy.signal.get_window("hann", g.env_window)
        self._window = (w / np.sqrt(np.sum(w ** 2))).astype(np.float32)
        self._sos = (scipy.signal.butter(8, 0.4 * sample_rate / g.decimation, fs=sample_rate, output="sos")
                     if g.decimation > 1 else None)
        self.reset()

    def reset(self) -> None:
        g = self.g
        self._buf = np.zeros(g.lookahead, np.float32)       # absolute start: -lookahead
        self._buf_start = -g.lookahead
        self._dec = np.zeros(g.yin_half, np.float32)        # decimated, absolute start -yin_half
        self._dec_start = -g.yin_half
        self._zi = np.zeros((0 if self._sos is None else len(self._sos), 2))
        self._received = 0
        self._next = 0

    def push(self, x: np.ndarray) -> Frames:
        """Feed mono float32 samples; returns the frames they complete (possibly none)."""
        g = self.g
        x = np.asarray(x, np.float32)
        if self._sos is not None:
            # scipy's C sosfilt, not voxpost.dsp.biquad: that one's parallel launch costs
            # milliseconds per call, which 10 ms live blocks cannot afford
            y, self._zi = scipy.signal.sosfilt(self._sos, x.astype(np.float64), zi=self._zi)
            y = y[(-self._received) % g.decimation::g.decimation].astype(np.float32)
        else:
            y = x
        self._buf = np.concatenate([self._buf, x])
        self._dec = np.concatenate([self._dec, y])
        self._received += len(x)
        last = (self._received - g.lookahead) // g.hop if self._received >= g.lookahead else -1
        parts = []
        while self._next <= last:
            count = min(CHUNK_FRAMES, last - self._next + 1)
            parts.append(self._analyse(self._next, count))
            self._next += count
        keep = self._next * g.hop - g.lookahead - self._buf_start
        self._buf, self._buf_start = self._buf[keep:], self._buf_start + keep
        keep = self._next * g.hop // g.decimation - g.yin_half - self._dec_start
        self._dec, self._dec_start = self._dec[keep:], self._dec_start + keep
        return Frames.concat(parts, g.bins)

    def _analyse(self, first: int, count: int) -> Frames:
        g = self.g
        centre = first * g.hop
        s = centre - g.env_window // 2 - self._buf_start
        seg = np.lib.stride_tricks.sliding_window_view(self._buf[s:], g.env_window)[::g.hop][:count]
        windowed = seg * self._window
        power = np.einsum("ij,ij->i", windowed, windowed, dtype=np.float64)
        s = centre // g.decimation - g.yin_half - self._dec_start
        yseg = np.lib.stride_tricks.sliding_window_view(self._dec[s:], 2 * g.yin_half)
        yseg = np.ascontiguousarray(yseg[::g.hop // g.decimation][:count])
        period, dmin = yin(yseg, g.yin_window, g.tau_min, g.tau_max, YIN_THRESHOLD)
        voiced = (dmin < VOICING_DMIN) & (power > SILENCE_POWER)
        f0 = np.where(voiced, g.sample_rate / g.decimation / period, 0.0)
        spectrum = scipy.fft.rfft(windowed, g.nfft, axis=1)
        periodogram = spectrum.real.astype(np.float64) ** 2 + spectrum.imag.astype(np.float64) ** 2
        log_amp = smoothed_log_amplitude(periodogram, np.where(voiced, f0, UNVOICED_SMOOTH_HZ), g)
        if voiced.any():
            log_amp[voiced] += harmonic_level_correction(log_amp[voiced], f0[voiced], power[voiced], g)
        log_amp[power <= SILENCE_POWER] = LOG_FLOOR
        return Frames(first, f0, dmin, power, log_amp)


def harmonic_level_correction(log_amp: np.ndarray, f0_hz: np.ndarray, power: np.ndarray,
                              g: Geometry) -> np.ndarray:
    """Per-frame log-amplitude offset ``[n, 1]`` that makes a pulse train at ``f0_hz`` shaped by
    ``log_amp`` carry the measured frame ``power``.

    Smoothing and liftering average the log spectrum across the gaps between harmonics. Where
    the spectrum is steep (a strong first harmonic), that raises the envelope at the harmonics,
    and resynthesis would come out 1-3 dB too loud. Sampling the envelope at the harmonics
    gives the power the pulse train will have: ``sum_k 2 env(k F0)^2 F0 / rate``.
    """
    k = np.arange(1, int(g.sample_rate / 2 / F0_MIN_HZ) + 1)
    pos = f0_hz[:, None] * k[None, :] * g.nfft / g.sample_rate
    inside = pos < g.bins - 1
    pos = np.where(inside, pos, 0.0)
    i = pos.astype(np.int64)
    frac = pos - i
    lo, hi = np.take_along_axis(log_amp, i, 1), np.take_along_axis(log_amp, i + 1, 1)
    env2 = np.exp(2 * (lo + (hi - lo) * frac)) * inside
    implied = 2 * env2.sum(axis=1) * f0_hz / g.sample_rate
    return np.clip(0.5 * np.log(power / np.maximum(implied, 1e-30)), -1.0, 1.0)[:, None]


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


def iter_blocks(samples: np.ndarray, block: int) -> Iterator[np.ndarray]:
    for lo in range(0, len(samples), block):
        yield samples[lo:lo + block]


def analyse(samples: np.ndarray, sample_rate: int) -> Frames:
    """Offline analysis of mono ``samples``: every frame whose centre lies in the signal."""
    a = Analyzer(sample_rate)
    x = np.asarray(samples, np.float32)
    parts = [a.push(b) for b in iter_blocks(x, CHUNK_FRAMES * a.g.hop)]
    parts.append(a.push(np.zeros(a.g.lookahead, np.float32)))
    frames = Frames.concat([p for p in parts if len(p)], a.g.bins)
    keep = -(-len(x) // a.g.hop)
    return Frames(0, frames.f0_hz[:keep], frames.dmin[:keep], frames.power[:keep], frames.log_amp[:keep])


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
    >>> from voxpost.voice.espeak import synthesize
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
