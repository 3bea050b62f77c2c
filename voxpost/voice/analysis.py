"""Vocoder analysis: F0, aperiodicity and spectral envelope, streamed block by block.

The analysis side of :mod:`voxpost.voice.vocoder` (pyworld ships only as an sdist here, so voxpost has
its own WORLD-like vocoder, built for block processing with a fixed latency).

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
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator

import numpy as np
import scipy.fft
import scipy.signal

from voxpost.dsp.yin import yin

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
