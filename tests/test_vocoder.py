"""Vocoder: excitation kernels equal their references; analysis -> synthesis keeps F0, level and
spectral envelope; streaming is block-size invariant; voice statistics are sound."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxpost.dsp.excitation import overlap_add, overlap_add_reference, pulse_times, pulse_times_reference
from voxpost.voice import analysis, vocoder
from test_yin import harmonic


def test_pulse_times_equals_reference():
    rng = np.random.default_rng(0)
    f0 = np.repeat(rng.uniform(60, 400, 40), 97)
    f0[500:900] = 0.0                                 # an unvoiced stretch
    a, b = np.ones(1), np.ones(1)
    for lo in range(0, len(f0), 333):                 # carried phase: blocks of any size
        i, d = pulse_times(f0[lo:lo + 333], 16000.0, a)
        i_ref, d_ref = pulse_times_reference(f0[lo:lo + 333], 16000.0, b)
        np.testing.assert_array_equal(i, i_ref)
        np.testing.assert_allclose(d, d_ref, rtol=1e-12)
        assert np.all((d >= 0) & (d <= 1))
    assert a[0] == pytest.approx(b[0])


def test_pulse_rate_follows_f0():
    idx, delay = pulse_times(np.full(16000, 123.0), 16000.0, np.ones(1))
    times = idx - 1 + delay
    assert len(idx) == 123
    np.testing.assert_allclose(np.diff(times), 16000 / 123.0, rtol=1e-9)


def test_overlap_add_equals_reference():
    rng = np.random.default_rng(1)
    idx = np.array([-5, 0, 17, 90, 98], np.int64)
    resp = rng.standard_normal((5, 12))
    out, ref = np.zeros(100), np.zeros(100)
    overlap_add(out, idx, resp)
    overlap_add_reference(ref, idx, resp)
    np.testing.assert_allclose(out, ref)


@pytest.mark.parametrize("f0_hz", [100.0, 220.0])
def test_tone_resynthesis_keeps_f0_and_level(f0_hz):
    x = harmonic(f0_hz, 16000, 1.5)
    y = vocoder.resynthesize(x, 16000)
    assert y.shape == x.shape and y.dtype == np.float32
    inner = slice(4000, -4000)
    level_db = 10 * np.log10(np.mean(y[inner] ** 2) / np.mean(x[inner] ** 2))
    assert abs(level_db) < 0.5
    f = analysis.analyse(y, 16000)
    assert np.median(np.abs(f.f0_hz[20:-20] / f0_hz - 1)) < 0.005


@pytest.fixture
def lj(corpus):
    import soundfile as sf

    x, sr = sf.read(corpus / "speech" / "LJ001-0001.wav", dtype="float32")
    return x, sr


def test_speech_resynthesis_keeps_envelope_f0_and_level(lj):
    x, sr = lj
    y = vocoder.resynthesize(x, sr)
    assert y.shape == x.shape and np.isfinite(y).all()
    a, b = analysis.analyse(x, sr), analysis.analyse(y, sr)
    loud = a.power > a.power.max() * 1e-4
    diff_db = (b.log_amp - a.log_amp)[loud] * 20 / np.log(10)
    lsd_db = float(np.mean(np.sqrt(np.mean(diff_db ** 2, axis=1))))
    level_db = 10 * np.log10(np.sum(b.power[loud]) / np.sum(a.power[loud]))
    both = a.voiced & b.voiced
    f0_err = float(np.median(np.abs(b.f0_hz[both] / a.f0_hz[both] - 1)))
    agree = float(np.mean(a.voiced[loud] == b.voiced[loud]))
    print(f"resynthesis: LSD {lsd_db:.2f} dB, level {level_db:+.2f} dB, F0 error {100 * f0_err:.2f} %, "
          f"voicing agreement {100 * agree:.0f} %")
    assert lsd_db < 5.0
    assert abs(level_db) < 1.0
    assert f0_err < 0.02
    assert agree > 0.8


@pytest.mark.parametrize("sample_rate", [8000, 22050, 48000])
def test_stream_is_block_size_invariant(sample_rate):
    x = harmonic(180.0, sample_rate, 0.5)
    x[len(x) // 2:] = np.random.default_rng(3).standard_normal(len(x) - len(x) // 2) * 0.05
    stream = vocoder.VocoderStream(sample_rate)
    whole = vocoder.run_stream(stream, x)
    stream.reset()
    block = sample_rate // 100
    padded = np.concatenate([x, np.zeros(stream.latency_samples, np.float32)])
    parts = [stream.process(padded[i:i + block]) for i in range(0, len(padded), block)]
    blocked = np.concatenate(parts)[stream.latency_samples:]
    assert all(len(p) == len(padded[i:i + block]) for p, i in zip(parts, range(0, len(padded), block)))
    np.testing.assert_allclose(blocked, whole, atol=1e-4)


def test_latency_is_exact():
    # a noise burst comes back as noise grains centred on the analysis frames: after latency
    # compensation its energy envelope lines up with the input's to the sample
    sr = 16000
    x = np.zeros(sr, np.float32)
    x[4000:12000] = np.random.default_rng(4).standard_normal(8000) * 0.1
    y = vocoder.resynthesize(x, sr)
    env_x = np.convolve(x ** 2, np.ones(160), "same")
    env_y = np.convolve(y ** 2, np.ones(160), "same")
    lag = np.argmax(np.correlate(env_y, env_x, "full")) - (len(x) - 1)
    assert abs(lag) <= 8
    assert vocoder.VocoderStream(sr).latency_samples == analysis.Geometry.for_rate(sr).latency_samples


def test_voice_stats(lj):
    x, sr = lj
    stats = vocoder.voice_stats(x, sr)
    json.dumps(stats, allow_nan=False)
    assert stats["version"] == vocoder.STATS_VERSION
    assert 180 < stats["f0"]["median_hz"] < 240
    assert stats["f0"]["p05_hz"] < stats["f0"]["median_hz"] < stats["f0"]["p95_hz"]
    env = stats["envelope"]
    assert env["kind"] == "mcep-mel8k" and len(env["mean"]) == len(env["std"]) == env["order"] + 1
    assert 300 < stats["formants"]["f1_hz"] < stats["formants"]["f2_hz"] < stats["formants"]["f3_hz"] < 4000
    assert 4 < stats["f0"]["voiced_s"] < stats["speech_s"] <= len(x) / sr
    # the mel grid is fixed: the same speech at 16 kHz gives nearly the same cepstrum (c0 aside)
    import scipy.signal

    x16 = scipy.signal.resample_poly(x, 320, 441).astype(np.float32)
    s16 = vocoder.voice_stats(x16, 16000)
    m, m16 = np.array(env["mean"]), np.array(s16["envelope"]["mean"])
    assert np.linalg.norm(m[1:] - m16[1:]) < 0.25 * np.linalg.norm(m[1:])
    assert s16["f0"]["median_hz"] == pytest.approx(stats["f0"]["median_hz"], rel=0.02)


def test_voice_stats_of_silence_is_a_user_error():
    with pytest.raises(vocoder.VoiceStatsError, match="voiced speech"):
        vocoder.voice_stats(np.zeros(16000, np.float32), 16000)
