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


def voice_like(seconds: float = 6.0, sample_rate: int = 48000, seed: int = 1) -> np.ndarray:
    """A harmonic-rich voice-like signal, float64 ``[frames]`` at 0.1 RMS: gliding F0 (110-190 Hz)
    pulse train, three formants, a 120 Hz mic roll-off and a syllabic envelope."""
    from scipy import signal

    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    f0 = 150 + 40 * np.sin(2 * np.pi * 0.7 * t) + 5 * np.sin(2 * np.pi * 5 * t)
    ph = 2 * np.pi * np.cumsum(f0) / sample_rate
    src = sum(np.sin(k * ph) / k for k in range(1, 40) if k * 190 < sample_rate / 2.2)
    src += 0.05 * rng.standard_normal(n)
    for fc, bw in ((700, 130), (1200, 70), (2600, 160)):
        b, a = signal.iirpeak(fc, fc / bw, sample_rate)
        src = src + 0.5 * signal.lfilter(b, a, src)
    src = signal.lfilter(*signal.butter(2, 120, "highpass", fs=sample_rate), src)
    env = 0.2 + 0.8 * np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None)
    x = src * env
    return x / np.sqrt(np.mean(x ** 2)) * 0.1


def make_voice_profile(folder: Path, *, consent: bool = True, name: str = "actor") -> Path:
    """Write a real ``.voice`` profile (statistics of :func:`voice_like` at 16 kHz, a consent
    record from a file) to ``folder/NAME.voice``; without ``consent`` its record is empty."""
    from voxpost.voice.profile import VoiceProfile, consent_record
    from voxpost.voice.vocoder import voice_stats

    folder.mkdir(parents=True, exist_ok=True)
    release = folder / f"{name}-consent.txt"
    release.write_text(f"{name} agrees to the use of their voice in tests.\n")
    profile = VoiceProfile(name=name, consent=consent_record(release) if consent else {}, references=[],
                           stats=voice_stats(voice_like(3.0, 16000).astype(np.float32), 16000),
                           created_utc="2026-01-01T00:00:00Z")
    return profile.save(folder / f"{name}.voice", overwrite=True)
