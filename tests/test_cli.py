"""The voxpost command as a user meets it: exit codes, one-line errors, nothing half-written."""

from __future__ import annotations

import json
import struct

import numpy as np
import soundfile as sf

from conftest import run_cli
from voxpost import __version__
from voxpost.audio import Audio, load, save


def _wav(path, seconds=0.5, channels=2, rate=48000, subtype="PCM_24"):
    x = np.random.default_rng(0).uniform(-0.3, 0.3, (channels, int(seconds * rate))).astype(np.float32)
    save(Audio(x, rate, metadata={"subtype": subtype}), path)
    return path


def _one_line_error(out, *needles):
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voxpost: error: "), out.stderr
    assert "Traceback" not in out.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"voxpost {__version__}"


def test_info_json(tmp_path):
    p = _wav(tmp_path / "a.wav", seconds=1.5, channels=6)
    out = run_cli("info", p)
    assert out.returncode == 0
    d = json.loads(out.stdout)
    assert (d["sample_rate"], d["channels"], d["frames"], d["duration_s"], d["subtype"], d["timecode"]) == \
        (48000, 6, 72000, 1.5, "PCM_24", "00:00:00:00")


def test_process_keeps_format_and_alignment(tmp_path):
    src = _wav(tmp_path / "in.wav", channels=6)
    out = run_cli("process", src, "-o", tmp_path / "out.wav", "--preset", "dialogue-prep")
    assert out.returncode == 0, out.stderr
    i, o = sf.info(src), sf.info(tmp_path / "out.wav")
    assert (o.samplerate, o.channels, o.frames, o.subtype) == (i.samplerate, i.channels, i.frames, i.subtype)


def test_process_several_inputs_into_a_directory(tmp_path):
    a, b = _wav(tmp_path / "a.wav"), _wav(tmp_path / "b.flac", subtype="PCM_16")
    out = run_cli("process", a, b, "-o", tmp_path / "out", "--preset", "rumble-cut", "--quiet")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.wav", "b.flac"]
    assert sf.info(tmp_path / "out" / "b.flac").subtype == "PCM_16"


def test_process_resample_and_subtype(tmp_path):
    src = _wav(tmp_path / "in.wav", seconds=1.0)
    out = run_cli("process", src, "-o", tmp_path / "o.wav", "--preset", "dialogue-prep",
                  "--sample-rate", "44100", "--subtype", "PCM_16")
    assert out.returncode == 0, out.stderr
    o = sf.info(tmp_path / "o.wav")
    assert (o.samplerate, o.subtype, o.frames) == (44100, "PCM_16", 44100)


def test_process_preset_from_file(tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text('description = "-6 dB"\n[[stage]]\ntype = "gain"\ngain_db = -6.0\n')
    src = _wav(tmp_path / "in.wav", subtype="FLOAT")
    assert run_cli("process", src, "-o", tmp_path / "o.wav", "--preset", preset).returncode == 0
    ratio = load(tmp_path / "o.wav").samples / load(src).samples
    assert np.allclose(ratio, 10 ** (-6 / 20), atol=1e-6)


# -- bad input: one line on stderr, exit code 2, nothing lost, nothing half-written ----------
def test_missing_input(tmp_path):
    _one_line_error(run_cli("info", tmp_path / "nope.wav"), "no such file")


def test_empty_input(tmp_path):
    (tmp_path / "e.wav").write_bytes(b"")
    _one_line_error(run_cli("info", tmp_path / "e.wav"), "empty")


def test_truncated_input(tmp_path):
    p = _wav(tmp_path / "t.wav", seconds=1.0)
    p.write_bytes(p.read_bytes()[:20000])
    out = run_cli("process", p, "-o", tmp_path / "o.wav", "--preset", "dialogue-prep")
    _one_line_error(out, "truncated")
    assert not (tmp_path / "o.wav").exists()


def test_non_audio_input(tmp_path):
    p = tmp_path / "notes.wav"
    p.write_text("RIFF? no, a text file pretending to be audio\n" * 20)
    _one_line_error(run_cli("info", p), "not a")


def test_unsupported_input_format(tmp_path):
    p = tmp_path / "image.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    _one_line_error(run_cli("info", p), "audio")


def test_unsupported_output_format(tmp_path):
    src = _wav(tmp_path / "in.wav")
    _one_line_error(run_cli("process", src, "-o", tmp_path / "o.mp3", "--preset", "dialogue-prep"), "cannot write '.mp3'")


def test_nan_input(tmp_path):
    x = np.zeros((48000, 1), np.float32)
    x[24000] = np.inf
    sf.write(tmp_path / "nan.wav", x, 48000, subtype="FLOAT")
    out = run_cli("process", tmp_path / "nan.wav", "-o", tmp_path / "o.wav", "--preset", "dialogue-prep")
    _one_line_error(out, "NaN or Inf samples at 0.500 s")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nan.wav"]


def test_bad_preset(tmp_path):
    src = _wav(tmp_path / "in.wav")
    bad = tmp_path / "bad.toml"
    bad.write_text('[[stage]]\ntype = "highpass"\ncutoff_hz = "eighty"\n')
    _one_line_error(run_cli("process", src, "-o", tmp_path / "o.wav", "--preset", bad), "cutoff_hz must be float")
    _one_line_error(run_cli("process", src, "-o", tmp_path / "o.wav", "--preset", "nope"), "no preset 'nope'")


def test_unwritable_output(tmp_path):
    src = _wav(tmp_path / "in.wav")
    _one_line_error(run_cli("process", src, "-o", tmp_path / "missing-dir" / "o.wav", "--preset", "dialogue-prep"),
                    "does not exist")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        out = run_cli("process", src, "-o", ro / "o.wav", "--preset", "dialogue-prep")
        if out.returncode == 0:  # root ignores directory permissions; nothing to assert then
            return
        _one_line_error(out, "not writable")
    finally:
        ro.chmod(0o700)


def test_input_never_overwritten_even_with_force(tmp_path):
    src = _wav(tmp_path / "in.wav")
    before = src.read_bytes()
    _one_line_error(run_cli("process", src, "-o", src, "--preset", "dialogue-prep", "--force"), "refusing to overwrite an input")
    _one_line_error(run_cli("process", src, "-o", tmp_path, "--preset", "dialogue-prep", "--force"),
                    "refusing to overwrite an input")
    assert src.read_bytes() == before


def test_existing_output_needs_force(tmp_path):
    src = _wav(tmp_path / "in.wav")
    dst = tmp_path / "o.wav"
    dst.write_bytes(b"keep me")
    _one_line_error(run_cli("process", src, "-o", dst, "--preset", "dialogue-prep"), "use --force")
    assert dst.read_bytes() == b"keep me"
    assert run_cli("process", src, "-o", dst, "--preset", "dialogue-prep", "--force").returncode == 0
    assert sf.info(dst).frames == sf.info(src).frames


def test_bad_second_input_writes_nothing(tmp_path):
    a = _wav(tmp_path / "a.wav")
    (tmp_path / "b.wav").write_bytes(b"")
    out = run_cli("process", a, tmp_path / "b.wav", "-o", tmp_path / "out", "--preset", "dialogue-prep")
    _one_line_error(out, "empty")
    assert not (tmp_path / "out").exists()      # not even the output folder is made


def test_nyquist_violation_is_a_user_error(tmp_path):
    src = _wav(tmp_path / "in.wav", rate=16000)
    _one_line_error(run_cli("process", src, "-o", tmp_path / "o.wav", "--preset", "bandwidth-voice"), "Nyquist")


def test_usage_errors_are_one_line():
    _one_line_error(run_cli("process"), "required")
    _one_line_error(run_cli("frobnicate"), "invalid choice")


def test_header_lying_about_channels(tmp_path):
    p = _wav(tmp_path / "x.wav", channels=1, subtype="PCM_16")
    raw = bytearray(p.read_bytes())
    fmt = raw.index(b"fmt ") + 8
    struct.pack_into("<H", raw, fmt + 2, 0)  # zero channels
    p.write_bytes(bytes(raw))
    assert run_cli("info", p).returncode == 2


def test_doctor_lists_backends_and_models():
    out = run_cli("doctor", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    for name in ("audio I/O: libsndfile", "audio I/O: FFmpeg (PyAV)", "resampling: libsoxr", "DSP kernels: numba (CPU)",
                 "voice conversion: embedded vocoder", "AI-audio watermark"):
        assert rows[name]["available"], rows[name]
    assert any(n.startswith("model: whisper-") for n in rows)
    for capability in ("transcribe", "diarize", "denoise", "voice-convert", "foley"):   # what serves it, what is better
        assert rows[f"capability: {capability}"]["detail"], capability
    missing = [r for r in rows.values() if not r["available"]]
    assert all(r["detail"] for r in missing)  # each says why and how


def test_demo_runs_and_measures(tmp_path):
    out = run_cli("demo", "--out", tmp_path / "demo")
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "demo" / "report.json").read_text())
    m = report["measurements"]
    assert m["rumble_removed_db"] > 15
    assert abs(m["speech_band_change_db"]) < 0.1
    assert abs(m["dc_out"]) < 1e-3
    assert m["frames_in"] == m["frames_out"]
    assert m["max_diff_10ms_vs_whole_file"] <= 1e-6
    assert m["timecode_out"] == m["timecode_in"] == "10:00:00:00"
    assert m["ixml_kept"]
    assert (tmp_path / "demo" / "report.md").is_file()
    c = report["cleanup"]
    assert c["clicks_repaired"] >= c["clicks_added"] - 2
    assert abs(c["lufs_out"] - (-23.0)) <= 0.5 and c["true_peak_dbtp_out"] <= -0.9
    v = report["voice"]
    assert v["duration_error_pct"] < 0.05 and v["f0_error_pct"] < 10 and v["frames_kept"]
    assert v["marked"] == [True, True] and v["unmarked_reference_score"] < 6
    for name in ("demo-actor.voice", "spoken.wav.provenance.json", "converted.wav.provenance.json"):
        assert (tmp_path / "demo" / name).is_file()
    # running again replaces its own outputs
    assert run_cli("demo", "--out", tmp_path / "demo").returncode == 0
