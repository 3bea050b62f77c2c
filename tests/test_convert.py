"""Voice conversion: toward a target speaker's F0 and timbre, length kept, streaming equal to
offline on real speech, every channel the same. Registration, latency alignment, block-size
invariance and input shapes: test_stage_contract.py."""

from __future__ import annotations

import copy
from functools import lru_cache

import numpy as np
import pytest
import scipy.signal

from conftest import voice_like
from voxpost.audio import Audio
from voxpost.errors import ParameterError, VoxpostError
from voxpost.stage import Chain
from voxpost.voice import analysis, vocoder
from voxpost.voice.convert import VoiceConvert, convert


@lru_cache(maxsize=None)
def _load(path: str) -> tuple[np.ndarray, int]:
    import soundfile as sf

    x, sr = sf.read(path, dtype="float32", always_2d=True)
    return np.ascontiguousarray(x.mean(axis=1)), sr


@lru_cache(maxsize=None)
def _stats(path: str) -> dict:
    return vocoder.voice_stats(*_load(path))


def mfcc_mean(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mean MFCC 1-19 (16 kHz, frames within 30 dB of the loudest): a speaker-ID feature."""
    import librosa

    x16 = scipy.signal.resample_poly(x, 16000, sample_rate).astype(np.float32)
    m = librosa.feature.mfcc(y=x16, sr=16000, n_mfcc=20)
    return m[1:, m[0] > m[0].max() - 30].mean(axis=1)


def test_lj_toward_jfk(corpus):
    lj_path, jfk_path = str(corpus / "speech" / "LJ001-0001.wav"), str(corpus / "speech" / "jfk.flac")
    (lj, sr), (jfk, sr_jfk) = _load(lj_path), _load(jfk_path)
    target = _stats(jfk_path)
    out = convert(lj, sr, target)
    assert out.shape == lj.shape and out.dtype == np.float32 and np.isfinite(out).all()
    got = vocoder.voice_stats(out, sr)["f0"]["median_hz"]
    want = target["f0"]["median_hz"]
    d_target = np.linalg.norm(mfcc_mean(out, sr) - mfcc_mean(jfk, sr_jfk))
    d_source = np.linalg.norm(mfcc_mean(out, sr) - mfcc_mean(lj, sr))
    print(f"\nLJ -> jfk: F0 median {got:.1f} Hz vs target {want:.1f} Hz ({100 * (got / want - 1):+.1f} %), "
          f"MFCC distance to target {d_target:.1f}, to source {d_source:.1f}")
    assert abs(got / want - 1) < 0.10
    assert d_target < d_source


def test_f0_mapping_moves_a_female_voice_down(corpus):
    """Toward a synthetic target an octave lower: the output median follows to within 10 %."""
    lj_path = str(corpus / "speech" / "LJ001-0001.wav")
    lj, sr = _load(lj_path)
    source = _stats(lj_path)
    target = copy.deepcopy(source)
    target["f0"]["log_mean"] -= np.log(2.0)
    target["f0"]["median_hz"] /= 2.0
    out = convert(lj, sr, target, source=source)
    got = vocoder.voice_stats(out, sr)["f0"]["median_hz"]
    assert abs(got / target["f0"]["median_hz"] - 1) < 0.10


def test_streaming_10ms_blocks_equals_offline(corpus):
    lj_path = str(corpus / "speech" / "LJ001-0002.wav")
    x, sr = _load(lj_path)
    x48 = scipy.signal.resample_poly(x, 320, 147).astype(np.float32)     # 22.05 -> 48 kHz
    target = _stats(str(corpus / "speech" / "jfk.flac"))
    take = Audio(x48[None, :], 48000)
    stage = VoiceConvert(target=target, source=_stats(lj_path), pitch_shift_semitones=-2.0)
    offline = stage.render(take).samples
    live = Chain([stage]).render(take, block_frames=480).samples
    assert offline.shape == live.shape == take.samples.shape
    assert np.max(np.abs(offline - live)) < 1e-3 * np.max(np.abs(offline))
    stage.prepare(48000, 1)
    print(f"\nlatency {stage.latency_samples} samples ({1000 * stage.latency_samples / 48000:.1f} ms) at 48 kHz")


def test_stage_measures_the_source_offline(corpus):
    lj_path = str(corpus / "speech" / "LJ001-0003.wav")
    x, sr = _load(lj_path)
    target = _stats(str(corpus / "speech" / "jfk.flac"))
    stage = VoiceConvert(target=target)
    out = stage.render(Audio(x[None, :], sr)).samples[0]
    np.testing.assert_allclose(out, convert(x, sr, target), atol=1e-5)
    report = stage.report()
    assert report["source_f0_median_hz"] == pytest.approx(_stats(lj_path)["f0"]["median_hz"], rel=1e-3)


def test_live_running_estimates_converge(corpus):
    """No source stats and no analysis: running estimates from the target prior still move F0."""
    lj_path = str(corpus / "speech" / "LJ001-0003.wav")
    x, sr = _load(lj_path)
    source = _stats(lj_path)
    target = copy.deepcopy(source)
    target["f0"]["log_mean"] += np.log(1.5)
    target["f0"]["median_hz"] *= 1.5
    stage = VoiceConvert(target=target)
    stage.prepare(sr, 1)                      # no analyse(): live
    out = stage.process(np.concatenate([x, np.zeros(stage.latency_samples, np.float32)])[None])
    out = out[0, stage.latency_samples:]
    late = slice(len(x) // 2, None)           # after the estimates have settled
    got = vocoder.voice_stats(out[late], sr)["f0"]["median_hz"]
    ref = vocoder.voice_stats(x[late], sr)["f0"]["median_hz"]
    assert 1.35 < got / ref < 1.65


def test_amount_zero_and_no_target_is_resynthesis(corpus):
    x, sr = _load(str(corpus / "speech" / "LJ001-0002.wav"))
    target = _stats(str(corpus / "speech" / "jfk.flac"))
    stage = VoiceConvert(target=None)
    plain = stage.render(Audio(x[None, :], sr)).samples[0]
    np.testing.assert_allclose(plain, vocoder.resynthesize(x, sr), atol=1e-5)
    # envelope_amount = 0 keeps the timbre: the envelope of voiced frames stays the source's
    # (compared with the full mapping; the new F0 alone moves the measured envelope a little)
    maps = analysis.MelMaps(analysis.Geometry.for_rate(sr))
    a = analysis.analyse(x, sr)
    ref = maps.cepstrum(a.log_amp[a.voiced]).mean(0)[1:]
    moved = {}
    for amount in (0.0, 1.0):
        b = analysis.analyse(convert(x, sr, target, envelope_amount=amount), sr)
        moved[amount] = np.linalg.norm(maps.cepstrum(b.log_amp[b.voiced]).mean(0)[1:] - ref)
    assert moved[0.0] < 0.3 * moved[1.0]


def test_every_channel_gets_the_conversion_of_the_mix():
    x = voice_like(1.0, 16000)
    take = Audio(np.stack([x, 0.5 * x[::-1]]).astype(np.float32), 16000)
    target = vocoder.voice_stats(voice_like(3.0, 16000, seed=2).astype(np.float32), 16000)
    out = VoiceConvert(target=target).render(take).samples
    np.testing.assert_array_equal(out[0], out[1])
    assert np.max(np.abs(out)) > 1e-3


def test_bad_stats_are_user_errors():
    with pytest.raises(ParameterError, match="version"):
        VoiceConvert(target={"version": 99})
    with pytest.raises(ParameterError, match="incomplete"):
        VoiceConvert(target={"version": vocoder.STATS_VERSION, "f0": {}})
    with pytest.raises(VoxpostError):
        VoiceConvert(target="jfk.voice")
    with pytest.raises(ParameterError):
        VoiceConvert(pitch_shift_semitones=30.0)


def test_covariance_map_gives_the_target_covariance():
    from voxpost.voice.convert import covariance_map

    rng = np.random.default_rng(3)
    a, b = rng.standard_normal((24, 24)), rng.standard_normal((24, 24))
    cs, ct = a @ a.T + 0.5 * np.eye(24), b @ b.T + 0.5 * np.eye(24)
    m = covariance_map(cs, ct)
    np.testing.assert_allclose(m @ cs @ m.T, ct, rtol=1e-6, atol=1e-6)
