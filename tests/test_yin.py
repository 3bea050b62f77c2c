"""YIN kernel: equal to its NumPy reference, accurate on harmonic tones, unvoiced on noise."""

from __future__ import annotations

import numpy as np
import pytest

from voxpost.dsp.yin import yin, yin_reference
from voxpost.voice import analysis


def harmonic(f0_hz: float, sample_rate: int, seconds: float = 1.0, *, seed: int = 0) -> np.ndarray:
    """A harmonic tone (1/k amplitudes, random phases) up to 0.45 * rate."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    ks = np.arange(1, int(0.45 * sample_rate / f0_hz) + 1)
    x = sum(np.sin(2 * np.pi * f0_hz * k * t + rng.uniform(0, 2 * np.pi)) / k for k in ks)
    return (0.2 * x / np.max(np.abs(x))).astype(np.float32)


def test_kernel_equals_reference():
    rng = np.random.default_rng(1)
    window, tau_min, tau_max = 320, 32, 246
    frames = [harmonic(f, 16000, 0.04, seed=i)[:window + tau_max + 2] for i, f in enumerate((80, 123.4, 211, 390))]
    frames += [rng.standard_normal(window + tau_max + 2).astype(np.float32) * 0.1,
               np.zeros(window + tau_max + 2, np.float32)]
    frames = np.stack(frames)
    p, d = yin(frames, window, tau_min, tau_max, 0.15)
    p_ref, d_ref = yin_reference(frames, window, tau_min, tau_max, 0.15)
    np.testing.assert_allclose(p, p_ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(d, d_ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(16000 / p[:4], [80, 123.4, 211, 390], rtol=0.005)
    assert d[4] > 0.5 and d[:4].max() < 0.05


@pytest.mark.parametrize("sample_rate", [16000, 22050, 48000])
@pytest.mark.parametrize("f0_hz", [82.0, 147.5, 262.0, 440.0])
def test_harmonic_tone_f0_within_one_percent(sample_rate, f0_hz):
    frames = analysis.analyse(harmonic(f0_hz, sample_rate), sample_rate)
    inner = frames.f0_hz[10:-10]
    assert np.all(inner > 0), "every inner frame of a tone is voiced"
    assert np.max(np.abs(inner / f0_hz - 1)) < 0.01


def test_noise_and_silence_are_unvoiced():
    rng = np.random.default_rng(2)
    noise = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    assert analysis.analyse(noise, 16000).voiced.mean() < 0.05
    silent = analysis.analyse(np.zeros(16000, np.float32), 16000)
    assert not silent.voiced.any() and np.all(silent.log_amp == analysis.LOG_FLOOR)


def test_speech_f0_plausible(corpus):
    import soundfile as sf

    x, sr = sf.read(corpus / "speech" / "LJ001-0001.wav", dtype="float32")
    frames = analysis.analyse(x, sr)
    f0 = frames.f0_hz[frames.voiced]
    # LJ Speech's reader: a female voice, median F0 near 210 Hz, about half the frames voiced
    assert 180 < np.median(f0) < 240
    assert 0.35 < frames.voiced.mean() < 0.75
    # octave jumps between neighbouring voiced frames are rare
    both = frames.voiced[1:] & frames.voiced[:-1]
    jumps = np.abs(np.log2(frames.f0_hz[1:][both] / frames.f0_hz[:-1][both])) > 0.7
    assert jumps.mean() < 0.02
