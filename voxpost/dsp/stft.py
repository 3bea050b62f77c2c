"""Low-delay STFT analysis/synthesis for spectral cleanup (denoise), block-size invariant.

A plain STFT delays its output by a whole window (20-32 ms), which alone would spend the live
chain's 20 ms budget. This uses the asymmetric window pair of Mauler & Martin ("A low delay,
variable resolution, perfect reconstruction spectral analysis-synthesis system for speech
enhancement", EUSIPCO 2007): a long analysis window of ``window`` samples (frequency resolution)
whose tail falls off over the last ``hop`` samples, and a synthesis window that is non-zero only
on the last ``2 * hop`` samples. Their product is a periodic Hann of length ``2 * hop`` on those
samples, which overlap-adds to exactly 1 at hop ``hop``: perfect reconstruction when the spectrum
is left alone, and an algorithmic delay of ``2 * hop - 1`` samples instead of ``window - 1``.

Frame ``f`` covers input samples ``[(f + 1) * hop - window, (f + 1) * hop)`` (zeros before time
0). :class:`LowDelaySTFT` turns arbitrary blocks into whole frames and back; positions are fixed in
absolute sample time, so the output does not depend on how the input was blocked.
"""

from __future__ import annotations

import numpy as np
import scipy.fft


def _hann(length: int, n: np.ndarray) -> np.ndarray:
    """Periodic Hann of ``length`` evaluated at integer positions ``n``."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)


def low_delay_windows(window: int, hop: int) -> tuple[np.ndarray, np.ndarray]:
    """Analysis and synthesis windows (float64, length ``window``) for hop ``hop``.

    Requires ``window >= 2 * hop``. With ``window == 2 * hop`` this is the usual sqrt-Hann pair.
    """
    if hop < 1 or window < 2 * hop:
        raise ValueError(f"need window >= 2 * hop >= 2 (window {window}, hop {hop})")
    n = np.arange(window, dtype=np.float64)
    long_rise = _hann(2 * (window - hop), n)           # rises over [0, window - hop)
    short = _hann(2 * hop, n - (window - 2 * hop))     # Hann over the last 2*hop samples
    analysis = np.where(n < window - hop, np.sqrt(long_rise), np.sqrt(short))
    synthesis = np.zeros(window)
    mid = (n >= window - 2 * hop) & (n < window - hop) & (long_rise > 0)  # 0/0 at n = 0: leave 0
    synthesis[mid] = short[mid] / np.sqrt(long_rise[mid])
    tail = n >= window - hop
    synthesis[tail] = np.sqrt(short[tail])
    return analysis, synthesis


class LowDelaySTFT:
    """Streaming analysis/synthesis over ``[channels, frames]`` float blocks.

    ``analyse(block)`` returns the complex64 spectra ``[channels, frames, window // 2 + 1]`` of every
    frame completed by ``block`` (possibly none); ``synthesise(spectra)`` overlap-adds them and
    returns ``hop`` final samples per frame. The samples synthesised from frame ``f`` are input
    samples ``[(f - 1) * hop, f * hop)``, so after ``analyse`` and ``synthesise`` the output trails
    the input by between ``hop`` and ``2 * hop - 1`` samples; :attr:`latency_samples` (``2 * hop -
    1``) is the constant delay a caller pads to.
    """

    def __init__(self, window: int, hop: int, channels: int) -> None:
        self.window, self.hop, self.channels = int(window), int(hop), int(channels)
        self.analysis, self.synthesis = low_delay_windows(self.window, self.hop)
        self._syn_tail = self.synthesis[-2 * self.hop:]
        # Frames are transformed in float32 (half the FFT time; the gains need no more).
        self.analysis_f32 = self.analysis.astype(np.float32)
        self.reset()

    @property
    def bins(self) -> int:
        return self.window // 2 + 1

    @property
    def latency_samples(self) -> int:
        return 2 * self.hop - 1

    def reset(self) -> None:
        # Input history: the last ``window - hop`` samples before the next frame's new hop.
        self._hist = np.zeros((self.channels, self.window - self.hop), np.float32)
        self._fill = np.zeros((self.channels, 0), np.float32)
        self._ola = np.zeros((self.channels, self.hop), np.float32)

    def analyse(self, block: np.ndarray) -> np.ndarray:
        x = np.concatenate([self._fill, np.asarray(block, np.float32)], axis=1)
        n_frames = x.shape[1] // self.hop
        used = n_frames * self.hop
        self._fill = x[:, used:]
        if n_frames == 0:
            return np.zeros((self.channels, 0, self.bins), np.complex64)
        seq = np.concatenate([self._hist, x[:, :used]], axis=1)
        self._hist = seq[:, used:]
        frames = np.lib.stride_tricks.sliding_window_view(seq, self.window, axis=1)[:, ::self.hop]
        return scipy.fft.rfft(frames * self.analysis_f32, axis=-1)

    def synthesise(self, spectra: np.ndarray) -> np.ndarray:
        n_frames = spectra.shape[1]
        if n_frames == 0:
            return np.zeros((self.channels, 0), np.float32)
        h = self.hop
        tails = scipy.fft.irfft(spectra, n=self.window, axis=-1)[..., -2 * h:] * self._syn_tail
        out = np.empty((self.channels, n_frames * h), np.float32)
        # Frame f's first half completes the hop left open by frame f - 1.
        out_frames = out.reshape(self.channels, n_frames, h)
        out_frames[:, 0] = self._ola + tails[:, 0, :h]
        out_frames[:, 1:] = tails[:, :-1, h:] + tails[:, 1:, :h]
        self._ola = tails[:, -1, h:].copy()
        return out
