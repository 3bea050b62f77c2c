"""Speaker features of the embedded diarizer: MFCCs every 10 ms and their statistics over windows.

:func:`mfcc` gives c1..c19 with their deltas per 10 ms frame of 16 kHz audio and the log energy;
:func:`feature_windows` picks the 1.5 s windows that lie mostly inside speech, and
:func:`window_stats` sums each window up as the mean and standard deviation of its voiced frames:
the vectors :mod:`voxpost.speech.clustering` groups into speakers.
"""

from __future__ import annotations

import numpy as np

RATE = 16000
HOP = 160            # 10 ms feature frames
WIN = 400            # 25 ms analysis window
NFFT = 512
N_MELS = 40
N_CEPS = 20
FRAME_S = HOP / RATE


def mfcc(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MFCC c1..c19 with their deltas (``[frames, 38]``, 10 ms hop) and the log energy per frame."""
    from scipy.fft import dct

    x = np.asarray(x, np.float32)
    x = np.concatenate([x[:1], x[1:] - 0.97 * x[:-1]])
    n = max(1, 1 + (x.size - WIN) // HOP) if x.size >= WIN else 1
    pad = np.concatenate([x, np.zeros(max(0, (n - 1) * HOP + WIN - x.size), np.float32)])
    frames = np.lib.stride_tricks.as_strided(pad, (n, WIN), (pad.strides[0] * HOP, pad.strides[0]),
                                             writeable=False)
    window, bank = np.hamming(WIN).astype(np.float32), _mel_bank().T
    ceps = np.empty((n, N_CEPS - 1), np.float64)
    energy = np.empty(n, np.float64)
    for a in range(0, n, 30000):       # 5 min of frames at a time: flat memory on long files
        spec = np.abs(np.fft.rfft(frames[a:a + 30000] * window, NFFT, axis=1)).astype(np.float32) ** 2
        ceps[a:a + 30000] = dct(np.log(spec @ bank + 1e-8), type=2, norm="ortho", axis=1)[:, 1:N_CEPS]
        energy[a:a + 30000] = np.log(spec.sum(axis=1, dtype=np.float64) + 1e-8)
    return np.concatenate([ceps, _delta(ceps)], axis=1).astype(np.float64), energy


def _mel_bank() -> np.ndarray:
    def hz2mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    mels = np.linspace(hz2mel(60.0), hz2mel(7600.0), N_MELS + 2)
    hz = 700.0 * (10 ** (mels / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(NFFT, 1 / RATE)
    lo, mid, hi = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    up = (bins[None] - lo) / (mid - lo)
    down = (hi - bins[None]) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down)).astype(np.float32)


def _delta(c: np.ndarray, width: int = 2) -> np.ndarray:
    padded = np.pad(c, ((width, width), (0, 0)), mode="edge")
    num = sum(i * (padded[width + i:width + i + c.shape[0]] - padded[width - i:width - i + c.shape[0]])
              for i in range(1, width + 1))
    return num / (2 * sum(i * i for i in range(1, width + 1)))


def feature_windows(speech: np.ndarray, params) -> np.ndarray:
    """Start frames of feature windows that lie mostly inside speech."""
    n = speech.size
    win = int(round(params.window_s / FRAME_S))
    total = speech.sum() * FRAME_S
    hop_s = max(params.hop_s, total / params.max_windows)
    hop = max(1, int(round(hop_s / FRAME_S)))
    if n <= win:
        return np.zeros(1, np.int64)
    starts = np.arange(0, n - win + 1, hop)
    csum = np.concatenate([[0], np.cumsum(speech)])
    frac = (csum[starts + win] - csum[starts]) / win
    keep = starts[frac >= 0.5]
    if keep.size == 0:
        keep = starts[[int(np.argmax(frac))]]
    return keep


def window_stats(feats: np.ndarray, voiced: np.ndarray, starts: np.ndarray, win: int) -> np.ndarray:
    """Mean and std of the voiced frames of each window (vectorised with cumulative sums)."""
    w = voiced.astype(np.float64)[:, None]
    c0 = np.concatenate([[0.0], np.cumsum(w[:, 0])])
    c1 = np.concatenate([np.zeros((1, feats.shape[1])), np.cumsum(feats * w, axis=0)])
    c2 = np.concatenate([np.zeros((1, feats.shape[1])), np.cumsum(feats ** 2 * w, axis=0)])
    ends = np.minimum(starts + win, feats.shape[0])
    cnt = np.maximum(c0[ends] - c0[starts], 1.0)[:, None]
    mean = (c1[ends] - c1[starts]) / cnt
    var = np.maximum((c2[ends] - c2[starts]) / cnt - mean ** 2, 1e-6)
    return np.concatenate([mean, np.sqrt(var)], axis=1)


__all__ = ["RATE", "HOP", "WIN", "FRAME_S", "mfcc", "feature_windows", "window_stats"]
