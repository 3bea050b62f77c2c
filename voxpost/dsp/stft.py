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
absolute sample time, so the output does not depend on how the input was blocked. The framing
and the overlap-add are Numba kernels (:func:`frame_block`, :func:`overlap_add`; NumPy references
:func:`frames_reference`, :func:`overlap_add_reference`) around SciPy's FFTs (:func:`rfft`,
:func:`irfft`: its pocketfft binding called directly where that is bit-identical), so a 10 ms block
costs four calls.
"""

from __future__ import annotations

import numpy as np
import scipy.fft
from numba import njit


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


def _direct_pocketfft():
    """SciPy's pocketfft binding to call without ``scipy.fft``'s dispatch layer (which costs more
    than the transforms of a 10 ms block), or None where it is missing or, on a test vector, not
    bit-identical to ``scipy.fft``; then :func:`rfft` and :func:`irfft` go through ``scipy.fft``."""
    try:
        from scipy.fft._pocketfft import pypocketfft as pf

        x = np.random.default_rng(0).standard_normal((2, 3, 96)).astype(np.float32)
        spec = pf.r2c(x, (2,), True, 0, None, 1)
        if np.array_equal(spec, scipy.fft.rfft(x, axis=-1)) and np.array_equal(
                pf.c2r(spec, (2,), 96, False, 2, None, 1), scipy.fft.irfft(spec, n=96, axis=-1)):
            return pf
    except Exception:  # noqa: BLE001 - a private binding that moved or changed: use scipy.fft
        pass
    return None


_PF = _direct_pocketfft()


def rfft(frames: np.ndarray) -> np.ndarray:
    """``scipy.fft.rfft(frames, axis=-1)`` for a 3-D array, bit for bit."""
    return _PF.r2c(frames, (2,), True, 0, None, 1) if _PF is not None else scipy.fft.rfft(frames, axis=-1)


def irfft(spectra: np.ndarray, n: int) -> np.ndarray:
    """``scipy.fft.irfft(spectra, n=n, axis=-1)`` for a 3-D array, bit for bit."""
    if _PF is not None:
        return _PF.c2r(spectra, (2,), n, False, 2, None, 1)
    return scipy.fft.irfft(spectra, n=n, axis=-1)


@njit(cache=True)
def frame_block(x, buf, fill, hop, analysis):
    """Windowed frames ``[channels, n, window]`` (float32) completed by the block ``x``
    ``[channels, frames]`` (float32).

    ``buf`` ``[channels, window]`` holds the last ``window - hop`` samples before the next frame's
    new hop, then the ``fill[0]`` samples of that hop received so far; both are updated. The
    kept samples and the block are laid end to end once, the frames windowed from there, and
    what the next block needs copied back (not a shift of the buffer per frame).
    """
    channels, frames = x.shape
    window = buf.shape[1]
    keep = window - hop
    f0 = fill[0]
    have = keep + f0
    total = have + frames
    n = (f0 + frames) // hop
    out = np.empty((channels, n, window), np.float32)
    line = np.empty(total, np.float32)
    for c in range(channels):
        line[:have] = buf[c, :have]
        line[have:] = x[c]
        for k in range(n):
            seg = line[k * hop:k * hop + window]
            o = out[c, k]
            for j in range(window):
                o[j] = seg[j] * analysis[j]
        rest = total - n * hop
        buf[c, :rest] = line[n * hop:total]
    fill[0] = (f0 + frames) % hop
    return out


@njit(cache=True)
def overlap_add(y, syn_tail, ola):
    """``hop`` output samples per frame (float32 ``[channels, n * hop]``) from inverse transforms
    ``y`` ``[channels, n, window]``: the last ``2 * hop`` samples of each frame times ``syn_tail``
    (float64), the first half added to the second half of the frame before (``ola``
    ``[channels, hop]`` float64, carried and updated)."""
    channels, n, window = y.shape
    hop = ola.shape[1]
    t0 = window - 2 * hop
    out = np.empty((channels, n * hop), np.float32)
    for c in range(channels):
        for f in range(n):
            for j in range(hop):
                out[c, f * hop + j] = np.float32(ola[c, j] + np.float64(y[c, f, t0 + j]) * syn_tail[j])
            for j in range(hop):
                ola[c, j] = np.float64(y[c, f, t0 + hop + j]) * syn_tail[hop + j]
    return out


def frames_reference(x: np.ndarray, window: int, hop: int, analysis: np.ndarray) -> np.ndarray:
    """NumPy version of :func:`frame_block` for a whole signal from a fresh stream."""
    x = np.asarray(x, np.float32)
    n = x.shape[1] // hop
    seq = np.concatenate([np.zeros((x.shape[0], window - hop), np.float32), x[:, :n * hop]], axis=1)
    return np.lib.stride_tricks.sliding_window_view(seq, window, axis=1)[:, ::hop] * analysis


def overlap_add_reference(y: np.ndarray, syn_tail: np.ndarray) -> np.ndarray:
    """NumPy version of :func:`overlap_add` for a whole stream from a fresh state."""
    hop = syn_tail.size // 2
    tails = y[..., -2 * hop:] * syn_tail
    prev = np.concatenate([np.zeros_like(tails[:, :1, hop:]), tails[:, :-1, hop:]], axis=1)
    return (prev + tails[:, :, :hop]).reshape(y.shape[0], -1).astype(np.float32)


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
        # [channels, window]: the last ``window - hop`` samples before the next frame's new hop,
        # then the samples of that hop received so far (``_fill``).
        self._buf = np.zeros((self.channels, self.window), np.float32)
        self._fill = np.zeros(1, np.int64)
        self._ola = np.zeros((self.channels, self.hop), np.float64)

    def analyse(self, block: np.ndarray) -> np.ndarray:
        frames = frame_block(np.ascontiguousarray(block, np.float32), self._buf, self._fill, self.hop,
                             self.analysis_f32)
        if frames.shape[1] == 0:
            return np.zeros((self.channels, 0, self.bins), np.complex64)
        return rfft(frames)

    def synthesise(self, spectra: np.ndarray) -> np.ndarray:
        if spectra.shape[1] == 0:
            return np.zeros((self.channels, 0), np.float32)
        # frame f's first half completes the hop left open by frame f - 1
        return overlap_add(irfft(spectra, self.window), self._syn_tail, self._ola)
