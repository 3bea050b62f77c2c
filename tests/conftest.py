"""Shared fixtures: the real-recordings corpus (skipped cleanly when absent) and a CLI runner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("VOXPOST_CORPUS", REPO.parent / "shared" / "corpus"))


@pytest.fixture
def corpus() -> Path:
    if not (CORPUS / "MANIFEST.md").is_file():
        pytest.skip(f"corpus not found at {CORPUS}")
    return CORPUS


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m voxpost ARGS`` as a user would; returns the completed process."""
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run([sys.executable, "-m", "voxpost", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def tone(freq_hz: float = 1000.0, *, sample_rate: int = 48000, seconds: float = 1.0, channels: int = 1,
         amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    x = amplitude * np.sin(2 * np.pi * freq_hz * t)
    return np.tile(x, (channels, 1)).astype(np.float32)


#: Edge cases every stage must survive: silence, a 0.1 s file, stereo, an 8 kHz file.
EDGE_CASES = ("silence", "short", "stereo", "8k")


def edge_case_shape(case: str) -> tuple[int, int, int]:
    """``(sample_rate, frames, channels)`` of an :data:`EDGE_CASES` test signal."""
    sr = 8000 if case == "8k" else 48000
    frames = int(0.1 * sr) if case == "short" else sr
    return sr, frames, 2 if case == "stereo" else 1
