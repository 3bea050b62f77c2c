"""DeClip: constrained LSAR on real speech clipped at 30 % of its peak, rail detection, headroom,
silence and channel independence. Registration, latency alignment, block-size invariance and input
shapes: test_stage_contract.py."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from voxpost.audio import Audio
from voxpost.clean.declip import DeClip
from voxpost.dsp.ar import fit_ar, lsar_constrained
from voxpost.stage import Chain

SPEECH = ["speech/LJ001-0001.wav", "noisy/p287_002_clean.wav"]


def _run(stage, y, sr, block_frames=480):
    return Chain([stage]).render(Audio(y, sr), block_frames=block_frames).samples


def _clip(x, fraction=0.3):
    rail = fraction * np.abs(x).max()
    return np.clip(x, -rail, rail).astype(np.float32), np.abs(x) >= rail, rail


@pytest.mark.parametrize("name", SPEECH)
def test_declip_speech_clipped_at_30_percent(corpus, name):
    x, sr = sf.read(corpus / name, dtype="float32")
    y, mask, rail = _clip(x)
    stage = DeClip()
    out = _run(stage, y, sr)[0]
    err_in = np.sum((y[mask] - x[mask]) ** 2)
    err_out = np.sum((out[mask] - x[mask]) ** 2)
    assert 10 * np.log10(err_in / err_out) >= 6.0
    assert abs(stage.clipped_samples_repaired - mask.sum()) <= 0.05 * mask.sum()
    assert np.all(np.abs(out[mask]) >= rail * (1 - 1e-3))           # beyond the rail, same sign
    assert np.all(np.sign(out[mask]) == np.sign(y[mask]))
    assert np.sum(out[~mask] != y[~mask]) <= 0.01 * mask.sum()  # the rest (nearly) untouched


def test_synthetic_clipped_tones_without_corpus():
    sr = 48000
    t = np.arange(sr // 2) / sr
    x = (0.6 * np.sin(2 * np.pi * 150 * t) + 0.3 * np.sin(2 * np.pi * 410 * t + 1)).astype(np.float32)
    y, mask, rail = _clip(x, 0.7)
    stage = DeClip()
    out = _run(stage, y, sr, block_frames=None)[0]
    gain = 10 * np.log10(np.sum((y[mask] - x[mask]) ** 2) / np.sum((out[mask] - x[mask]) ** 2))
    assert gain >= 6.0
    assert abs(stage.clipped_samples_repaired - mask.sum()) <= 0.05 * mask.sum()
    # a fixed rail works too, and headroom is a plain static gain
    fixed = _run(DeClip(clip_level=float(rail)), y, sr, block_frames=None)[0]
    assert np.abs(fixed - out).max() < 1e-3
    quiet = _run(DeClip(headroom_db=6.0), y, sr, block_frames=None)[0]
    assert np.allclose(quiet, out * 10 ** (-6 / 20), atol=1e-6)


def test_unclipped_audio_is_untouched():
    rng = np.random.default_rng(0)
    x = (0.2 * rng.standard_normal((1, 48000))).astype(np.float32)
    stage = DeClip()
    out = _run(stage, x, 48000)
    assert np.array_equal(out, x) and stage.clipped_samples_repaired == 0


def test_constrained_lsar_respects_bounds():
    rng = np.random.default_rng(1)
    x = np.sin(np.arange(400) * 0.05) + 0.01 * rng.standard_normal(400)
    a = fit_ar(x, 12)
    unknown = np.flatnonzero(x > 0.8)
    y = np.where(x > 0.8, 0.8, x)
    z = lsar_constrained(y, a, unknown, np.full(unknown.size, 0.8))
    assert np.all(z[unknown] >= 0.8) and np.array_equal(np.delete(z, unknown), np.delete(y, unknown))


def test_latency_under_20ms_and_6ms_from_44k():
    for sr in (8000, 16000, 22050, 48000, 96000):
        s = DeClip()
        s.prepare(sr, 1)
        assert 0 < s.latency_samples <= 0.020 * sr
        if sr >= 44100:
            assert s.latency_samples <= 0.006 * sr


@pytest.mark.parametrize("case", ["silence", "stereo"])
def test_silence_is_untouched_and_channels_are_independent(case):
    rng = np.random.default_rng(0)
    sr, n = 48000, 48000
    x = np.zeros((1, n), np.float32) if case == "silence" else \
        np.clip(0.5 * rng.standard_normal((2, n)), -0.4, 0.4).astype(np.float32)
    out = _run(DeClip(), x, sr)
    if case == "silence":
        assert not out.any()
    else:
        solo = _run(DeClip(), x[1:], sr)
        assert np.abs(solo[0] - out[1]).max() <= 1e-6
