"""Before/after spectrograms of a cleanup pass, in one PNG."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from voxpost.outputs import atomic_path

#: Longest excerpt drawn, so that a 90-minute reel makes a readable picture in bounded memory.
MAX_PLOT_S = 60.0


def before_after_png(before: np.ndarray, after: np.ndarray, sample_rate: int, path: str | os.PathLike, *,
                     title: str = "") -> Path:
    """Draw the spectrograms of ``before`` and ``after`` (``[channels, frames]``, mixed to mono)
    one above the other, on the same dB scale, and write them atomically to ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = int(min(before.shape[-1], MAX_PLOT_S * sample_rate))
    fig, axes = plt.subplots(2, 1, figsize=(10, 6), sharex=True, sharey=True, constrained_layout=True)
    nfft = 1 << int(np.ceil(np.log2(0.032 * sample_rate)))
    for ax, x, label in zip(axes, (before, after), ("before", "after")):
        mono = np.asarray(x[..., :n], np.float64).reshape(-1, n).mean(axis=0)
        _, _, _, image = ax.specgram(mono + 1e-12, NFFT=nfft, Fs=sample_rate, noverlap=nfft * 3 // 4,
                                     cmap="magma", vmin=-140, vmax=-20, scale="dB", mode="psd")
        ax.set_ylabel("Hz")
        ax.set_title(f"{label} {title}".strip(), loc="left", fontsize=10)
    axes[-1].set_xlabel("seconds")
    fig.colorbar(image, ax=axes, label="dB/Hz")
    path = Path(path)
    try:
        with atomic_path(path, overwrite=True) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
    finally:
        plt.close(fig)
    return path
