"""WSOLA kernel against its reference; time_stretch: exact lengths, pitch kept, timing kept, stereo, errors."""

import numpy as np
import pytest

from voxpost.audio import load
from voxpost.dsp.wsola import wsola, wsola_reference
from voxpost.errors import ParameterError
from voxpost.voice.stretch import time_map, time_stretch


def harmonic(f0_hz: float, sample_rate: int, seconds: float) -> np.ndarray:
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    return sum(0.3 / h * np.sin(2 * np.pi * h * f0_hz * t + h) for h in range(1, 6)).astype(np.float32)


def f0_fft(x: np.ndarray, sample_rate: int, lo_hz: float = 100.0, hi_hz: float = 400.0) -> float:
    """Strongest spectral peak in [lo, hi] Hz, parabolic-interpolated, zero-padded 8x."""
    n = len(x)
    spec = np.abs(np.fft.rfft(x * np.hanning(n), 8 * n))
    freqs = np.fft.rfftfreq(8 * n, 1 / sample_rate)
    band = np.nonzero((freqs >= lo_hz) & (freqs <= hi_hz))[0]
    k = band[np.argmax(spec[band])]
    a, b, c = np.log(spec[k - 1:k + 2] + 1e-12)
    return float(freqs[k] + 0.5 * (a - c) / (a - 2 * b + c) * (freqs[1] - freqs[0]))


def envelope_db(x: np.ndarray, sample_rate: int, hop_ms: float = 2.0, win_ms: float = 10.0):
    hop, win = int(sample_rate * hop_ms / 1000), int(sample_rate * win_ms / 1000)
    frames = np.lib.stride_tricks.sliding_window_view(x.astype(np.float64), win)[::hop]
    return 10 * np.log10((frames ** 2).mean(axis=1) + 1e-10), hop / sample_rate


def onsets_s(x: np.ndarray, sample_rate: int, floor_db: float = -40.0, rise_db: float = 12.0) -> np.ndarray:
    """Times where the energy envelope rises by rise_db within 20 ms (start of each such rise)."""
    e, dt = envelope_db(x, sample_rate)
    e = np.maximum(e, e.max() + floor_db)
    lag = int(0.02 / dt)
    above = (e[lag:] - e[:-lag]) > rise_db
    starts = np.nonzero(above & ~np.r_[False, above[:-1]])[0]
    return (starts + lag / 2) * dt + 0.005


@pytest.fixture
def speech(corpus):
    take = load(corpus / "speech" / "LJ001-0001.wav")
    return take.samples[0], take.sample_rate


# --- kernel ------------------------------------------------------------------------------------

@pytest.mark.parametrize("analysis_scale", [0.7, 1.0, 1.6])
def test_kernel_matches_reference(analysis_scale):
    """Same picks and same output (to float rounding) on a noisy, pitch-gliding stereo signal."""
    rng = np.random.default_rng(4)
    sr, n = 16000, 6000
    t = np.arange(n) / sr
    glide = np.sin(2 * np.pi * (150 * t + 40 * t ** 2)) + 0.3 * rng.normal(size=n)
    x = np.stack([glide, 0.5 * glide + 0.2 * rng.normal(size=n)]).astype(np.float32)
    guide = x.mean(axis=0)
    centres = np.round(np.arange(40) * 120 * analysis_scale).astype(np.int64)
    kw = dict(frame_length=240, synthesis_hop=120, tolerance=80)
    out, picked = wsola(x, guide, centres, **kw)
    ref_out, ref_picked = wsola_reference(x, guide, centres, **kw)
    assert np.array_equal(picked, ref_picked)
    assert np.abs(picked - centres).max() <= 80
    assert out.shape == ref_out.shape == (2, 39 * 120 + 120)
    np.testing.assert_allclose(out, ref_out, atol=1e-5)


def test_kernel_with_no_shift_is_plain_overlap_add():
    """tolerance 0 and the identity map reproduce the input exactly (Hann at half overlap sums to one)."""
    x = np.random.default_rng(5).normal(size=(1, 2400)).astype(np.float32)
    out, picked = wsola(x, x[0], np.arange(0, 2401, 100), frame_length=200, synthesis_hop=100, tolerance=0)
    assert np.array_equal(picked, np.arange(0, 2401, 100))
    np.testing.assert_allclose(out[:, :2400], x, atol=1e-5)


# --- lengths and edge cases --------------------------------------------------------------------

@pytest.mark.parametrize("n", [1, 50, 600, 661, 662, 5000, 22051])
@pytest.mark.parametrize("ratio", [0.25, 0.8, 1.0, 1.1, 1.37, 4.0])
def test_output_length_is_exact(n, ratio):
    x = np.random.default_rng(n).normal(size=n).astype(np.float32) * 0.1
    y = time_stretch(x, 22050, ratio=ratio)
    assert y.shape == (round(n * ratio),) and y.dtype == np.float32
    assert np.all(np.isfinite(y))
    assert time_stretch(x, 22050, frames=max(1, round(n * ratio))).shape == (max(1, round(n * ratio)),)


def test_ratio_one_returns_a_copy():
    x = np.random.default_rng(6).normal(size=(2, 3000)).astype(np.float32)
    y = time_stretch(x, 48000, ratio=1.0)
    assert np.array_equal(y, x) and y is not x and not np.shares_memory(y, x)


def test_silence_stays_silent_and_short_input_is_interpolated():
    assert not time_stretch(np.zeros(48000, np.float32), 48000, ratio=1.3).any()
    blip = np.linspace(0, 1, 200, dtype=np.float32)          # 4 ms at 48 kHz: shorter than a frame
    y = time_stretch(blip, 48000, frames=400)
    assert y.shape == (400,) and y[0] == 0 and y[-1] == pytest.approx(1) and np.all(np.diff(y) >= 0)
    assert time_stretch(np.zeros((2, 0), np.float32), 48000, frames=10).shape == (2, 10)


# --- quality -----------------------------------------------------------------------------------

@pytest.mark.parametrize("ratio", [0.8, 1.25])
@pytest.mark.parametrize("sample_rate", [22050, 48000])
def test_pitch_is_preserved(ratio, sample_rate):
    x = harmonic(220.0, sample_rate, 1.5)
    y = time_stretch(x, sample_rate, ratio=ratio)
    assert len(y) == round(len(x) * ratio)
    mid = y[len(y) // 8: -len(y) // 8]
    f0 = f0_fft(mid, sample_rate)
    print(f"ratio {ratio} at {sample_rate} Hz: F0 {f0:.2f} Hz ({100 * (f0 / 220 - 1):+.3f} %)")
    assert f0 == pytest.approx(220.0, rel=0.01)
    # And the level holds: no comb-filter dips from misaligned overlap-add.
    rms = np.sqrt(np.mean(mid ** 2)) / np.sqrt(np.mean(x ** 2))
    assert 0.9 < rms < 1.1


@pytest.mark.parametrize("ratio", [0.8, 1.1, 1.25])
def test_speech_timing_follows_the_linear_map(speech, ratio):
    """Onsets of the stretched speech sit where time_map puts the input's onsets."""
    x, sr = speech
    y = time_stretch(x, sr, ratio=ratio)
    expected = time_map(onsets_s(x, sr), len(x), ratio=ratio, sample_rate=sr)
    got = onsets_s(y, sr)
    err_ms = np.array([np.min(np.abs(got - t)) for t in expected]) * 1000
    print(f"ratio {ratio}: {len(expected)} onsets, error median {np.median(err_ms):.1f} ms, "
          f"p80 {np.percentile(err_ms, 80):.1f} ms, max {err_ms.max():.1f} ms")
    assert len(expected) > 20
    assert np.median(err_ms) <= 6.0
    assert np.mean(err_ms <= 15.0) >= 0.8      # the rest are detector disagreements, not misplacements

    # The whole energy envelope, time-scaled, matches, and its best lag is near zero (no bias).
    e_in, dt = envelope_db(x, sr)
    e_out, _ = envelope_db(y, sr)
    scaled = np.maximum(np.interp(np.arange(len(e_out)) * dt, np.arange(len(e_in)) * dt * ratio, e_in), -60)
    e_out = np.maximum(e_out, -60)
    lags = np.arange(-10, 11)                                  # +-20 ms in 2 ms steps
    corr = [np.corrcoef(e_out[20 + k:len(e_out) - 20 + k], scaled[20:len(e_out) - 20])[0, 1] for k in lags]
    best = int(lags[int(np.argmax(corr))])
    print(f"ratio {ratio}: envelope correlation {corr[10]:.3f} at lag 0, best {max(corr):.3f} at {2 * best} ms")
    assert corr[10] > 0.95 and abs(2 * best) <= 4


def test_identical_channels_stay_identical(speech):
    x, sr = speech
    stereo = np.stack([x, x])
    y = time_stretch(stereo, sr, ratio=1.1)
    assert y.shape == (2, round(len(x) * 1.1))
    assert np.array_equal(y[0], y[1])
    np.testing.assert_allclose(y[0], time_stretch(x, sr, ratio=1.1), atol=1e-6)


def test_channels_share_one_alignment():
    """A channel that is a scaled copy of the other stays a scaled copy (inter-channel phase kept)."""
    x = harmonic(180.0, 48000, 0.5) + 0.05 * np.random.default_rng(7).normal(size=24000).astype(np.float32)
    y = time_stretch(np.stack([x, -0.5 * x]), 48000, ratio=0.9)
    np.testing.assert_allclose(y[1], -0.5 * y[0], atol=1e-6)


# --- errors and the time map ---------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [
    {}, {"ratio": 1.1, "frames": 100}, {"ratio": 0.2}, {"ratio": 4.5}, {"ratio": float("nan")}, {"ratio": "2"},
    {"ratio": True}, {"frames": 0}, {"frames": -5}, {"frames": 10.5}, {"frames": 5000},
    {"ratio": 1.1, "frame_ms": 0}, {"ratio": 1.1, "tolerance_ms": -1}, {"ratio": 1.1, "tolerance_ms": 50},
])
def test_bad_parameters_raise_one_line(kwargs):
    with pytest.raises(ParameterError) as err:
        time_stretch(np.zeros(1000, np.float32), 16000, **kwargs)
    assert "\n" not in str(err.value)


def test_bad_shape_and_rate_raise():
    with pytest.raises(ParameterError):
        time_stretch(np.zeros((1, 2, 3), np.float32), 16000, ratio=1.1)
    with pytest.raises(ParameterError):
        time_stretch(np.zeros(1000, np.float32), 0, ratio=1.1)


def test_time_map_is_linear_on_the_exact_length():
    assert time_map([0.0, 1.0, 3.0], 48000 * 3, ratio=1.1, sample_rate=48000) == pytest.approx([0.0, 1.1, 3.3])
    # frames= rounds nothing: the end of the input maps to the end of the output.
    assert time_map([1.0], 22050, frames=33000, sample_rate=22050)[0] == pytest.approx(33000 / 22050)
    with pytest.raises(ParameterError):
        time_map([1.0], 22050, ratio=9.0, sample_rate=22050)
