"""``voxpost clean``: presets, report keys and values, plot, live mode, bad paths."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from conftest import run_cli, tone, voice_like
from voxpost.audio import Audio, save

REPORT_KEYS = {"hum_hz", "hum_reduction_db", "clicks_repaired", "clipped_samples_repaired", "noise_reduction_db",
               "lufs_in", "lufs_out", "true_peak_dbtp_out", "latency_ms", "rtf"}


def _clicky(path, seconds=3.0, rate=48000):
    x = tone(220, sample_rate=rate, seconds=seconds, amplitude=0.2) + tone(330, sample_rate=rate, seconds=seconds,
                                                                          amplitude=0.1)
    rng = np.random.default_rng(3)
    for pos in rng.integers(rate // 10, x.shape[1] - rate // 10, 20):
        x[0, pos:pos + 3] += 0.6 * rng.choice([-1, 1])
    save(Audio(x, rate, metadata={"subtype": "PCM_24"}), path)
    return path


def test_clean_synthetic_to_r128_with_report_and_plot(tmp_path):
    src = _clicky(tmp_path / "in.wav")
    # a tone with clicks, not speech: DeepFilterNet3 (period-dialogue) would take the tone out as noise
    out = run_cli("clean", src, "-o", tmp_path / "out.wav", "--preset", "period-dialogue-live",
                  "--report", tmp_path / "r.json", "--plot", tmp_path / "p.png")
    assert out.returncode == 0, out.stderr
    r = json.loads((tmp_path / "r.json").read_text())
    assert REPORT_KEYS <= set(r)
    assert abs(r["lufs_out"] - (-23.0)) <= 0.5
    assert r["true_peak_dbtp_out"] <= -1.0 + 0.1
    assert r["clicks_repaired"] >= 18  # 20 clicks of 3 samples added
    assert sf.info(tmp_path / "out.wav").frames == sf.info(src).frames
    assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_clean_corpus_speech_netflix(corpus, tmp_path):
    src = corpus / "speech" / "jfk.flac"
    out = run_cli("clean", src, "-o", tmp_path / "jfk.wav", "--preset", "netflix-dialogue", "--report", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["true_peak_dbtp_out"] <= -2.0 + 0.1
    assert r["lufs_out"] < r["lufs_in"] - 10  # -12.5 LUFS in, about -27 dialogue-gated out


def test_clean_stream_is_live(tmp_path):
    src = _clicky(tmp_path / "in.wav")
    out = run_cli("clean", src, "-o", tmp_path / "live.wav", "--stream", "--preset", "broadcast-r128",
                  "--report", tmp_path / "r.json")
    assert out.returncode == 0, out.stderr
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["live"] is True and r["latency_ms"] <= 20.0
    assert r["true_peak_dbtp_out"] <= -1.0 + 0.1
    assert sf.info(tmp_path / "live.wav").frames == sf.info(src).frames


def test_clean_bad_report_path_writes_nothing(tmp_path):
    src = _clicky(tmp_path / "in.wav", seconds=0.5)
    out = run_cli("clean", src, "-o", tmp_path / "out.wav", "--report", tmp_path / "no" / "r.json")
    assert out.returncode == 2 and out.stderr.startswith("voxpost: error:") and "does not exist" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_render_file_spills_once_and_matches_chain_render(tmp_path):
    """With an analysing stage (integrated loudness) render_file runs the stages before it once,
    into a temporary float WAV beside the output, removed afterwards; the result equals the
    in-memory Chain.render."""
    from voxpost.audio import Audio, load
    from voxpost.presets import load_preset
    from voxpost.render import render_file
    from voxpost.writer import AudioWriter

    rng = np.random.default_rng(4)
    x = (voice_like(3.0, 48000) + 0.01 * rng.standard_normal(3 * 48000)).astype(np.float32)[None]
    src, dst = tmp_path / "in.wav", tmp_path / "out" / "o.wav"
    dst.parent.mkdir()
    with AudioWriter(src, sample_rate=48000, channels=1, subtype="FLOAT") as w:
        w.write(x)
    rep = render_file(src, dst, load_preset("period-dialogue").chain)
    got = load(dst).samples
    want = load_preset("period-dialogue").chain.render(Audio(x, 48000), block_frames=65536).samples
    assert np.abs(got - want).max() < 1e-5
    assert sorted(p.name for p in dst.parent.iterdir()) == ["o.wav"]
    # 3 s of DeepFilterNet3 output: the -1 dBTP ceiling's limiter (2.4 dB off the peaks of this
    # pulse-train voice) leaves it 0.3 LU short
    assert rep["loudness_lufs_out"] == pytest.approx(-23.0, abs=0.4)


def test_render_file_runs_each_stage_once_with_two_analysing_stages(tmp_path, monkeypatch):
    """dehum (offline fit) first and loudness (integrated, trial passes) last: the stages between
    run once (a spill before each analysing stage), not once per loudness pass; the output equals
    Chain.render and no spill is left."""
    from voxpost.audio import Audio, load
    from voxpost.clean.declick import DeClick
    from voxpost.presets import chain_from_dict
    from voxpost.render import render_file
    from voxpost.writer import AudioWriter

    rng = np.random.default_rng(5)
    n = 3 * 48000
    hum = 0.02 * np.sin(2 * np.pi * 50.0 * np.arange(n) / 48000)
    x = (voice_like(3.0, 48000) + hum + 0.01 * rng.standard_normal(n)).astype(np.float32)[None]
    src, dst = tmp_path / "in.wav", tmp_path / "out" / "o.wav"
    dst.parent.mkdir()
    with AudioWriter(src, sample_rate=48000, channels=1, subtype="FLOAT") as w:
        w.write(x)
    spec = {"stage": [{"type": "dehum"}, {"type": "declick"}, {"type": "loudness", "target_lufs": -23.0}]}
    frames = []
    original = DeClick.process
    monkeypatch.setattr(DeClick, "process", lambda self, block: frames.append(block.shape[1]) or original(self, block))
    chain = chain_from_dict(spec)
    rep = render_file(src, dst, chain, block_frames=8192)
    assert rep["hum_hz"] == pytest.approx(50.0, abs=0.2)
    assert n <= sum(frames) <= n + chain.latency_samples + 8192      # one pass (plus its flush)
    frames.clear()
    want = chain_from_dict(spec).render(Audio(x, 48000), block_frames=8192).samples
    assert np.abs(load(dst).samples - want).max() < 1e-5
    assert sorted(p.name for p in dst.parent.iterdir()) == ["o.wav"]


def test_period_dialogue_live_equals_offline_and_fits_20ms(corpus):
    """The full period-dialogue-live chain streamed in 10 ms blocks equals the offline render up to the
    loudness stage's gain law (integrated offline, short-term live), and its latency is <= 20 ms
    at 48 and 44.1 kHz."""
    from voxpost.audio import load, resample
    from voxpost.presets import load_preset
    from voxpost.render import make_live
    from voxpost.stage import Chain

    for rate in (48000, 44100):
        chain = load_preset("period-dialogue-live").chain
        chain.prepare(rate, 1)
        assert chain.latency_samples / rate <= 0.020, chain.latency_samples / rate
    take = resample(load(corpus / "speech" / "LJ001-0002.wav"), 48000)
    rng = np.random.default_rng(0)
    noisy = take.with_samples((take.samples + 0.01 * rng.standard_normal(take.samples.shape)).astype(np.float32))
    stages = [s for s in load_preset("period-dialogue-live").chain if s.kind != "loudness"]
    offline = Chain(stages).render(noisy).samples
    live_chain = make_live(Chain([s for s in load_preset("period-dialogue-live").chain if s.kind != "loudness"]))
    live = live_chain.render(noisy, block_frames=480).samples
    assert np.abs(live - offline).max() < 1e-5
