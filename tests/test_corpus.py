"""``voxpost info`` on every media file of ../shared/corpus agrees with its MANIFEST."""

from __future__ import annotations

import json
import re

import pytest

from conftest import run_cli
from voxpost.audio import load

MEDIA = (".wav", ".flac", ".ogg", ".mpg", ".mp4", ".mov")


def _manifest(corpus):
    rows = {}
    for line in (corpus / "MANIFEST.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 6 or not cells[0].startswith("`"):
            continue
        m_dur, m_rate = re.match(r"([\d.]+) s", cells[3]), re.match(r"([\d.]+) kHz", cells[4])
        if m_dur and m_rate and cells[5].isdigit():
            rows[cells[0].strip("`")] = (round(float(m_rate.group(1)) * 1000), int(cells[5]), float(m_dur.group(1)))
    return rows


def test_info_agrees_with_manifest_on_every_file(corpus):
    manifest = _manifest(corpus)
    files = sorted(p for p in corpus.rglob("*") if p.suffix in MEDIA)
    assert len(files) == 50 and set(manifest) == {str(p.relative_to(corpus)) for p in files}
    out = run_cli("info", *files)
    assert out.returncode == 0, out.stderr
    for p, d in zip(files, json.loads(out.stdout)):
        rate, channels, duration = manifest[str(p.relative_to(corpus))]
        assert (d["sample_rate"], d["channels"]) == (rate, channels), p
        # MANIFEST durations are ffprobe's container durations, rounded to 10 ms; decoded audio of
        # MPEG-PS video ends at its last MP2 frame (1152 samples), up to ~25 ms shorter.
        assert abs(d["duration_s"] - duration) < 0.03, (p, d["duration_s"], duration)
        assert d["frames"] == round(d["duration_s"] * d["sample_rate"])


def test_video_audio_track_decodes(corpus):
    a = load(corpus / "video" / "grid_bbaf2n.mpg")
    assert a.channels == 2 and a.sample_rate == 44100
    rms = float((a.samples ** 2).mean() ** 0.5)
    assert rms > 0.005  # the spoken words are there, not silence


@pytest.mark.parametrize("name", ["speech/jfk.flac", "multilingual/fleurs-fr-000.ogg", "multispeaker/ami_debug_dev00.wav"])
def test_process_corpus_keeps_length(corpus, tmp_path, name):
    src = corpus / name
    out = run_cli("process", src, "-o", tmp_path / (src.stem + ".wav"), "--preset", "dialogue-prep")
    assert out.returncode == 0, out.stderr
    assert load(tmp_path / (src.stem + ".wav")).frames == load(src).frames


def test_video_inputs_into_a_directory_become_wav(corpus, tmp_path):
    videos = [corpus / "video" / "grid_bbaf2n.mpg", corpus / "video" / "grid_pwij3p.mpg"]
    out = run_cli("process", *videos, "-o", tmp_path / "out", "--preset", "dialogue-prep")
    assert out.returncode == 0, out.stderr
    for v in videos:
        wav = load(tmp_path / "out" / (v.stem + ".wav"))
        assert (wav.channels, wav.sample_rate, wav.frames) == (2, 44100, load(v).frames)
        assert wav.metadata["subtype"] == "PCM_16"  # MP2 decodes to 16-bit samples


def test_demo_takes_an_input(corpus, tmp_path):
    src = corpus / "speech" / "LJ001-0001.wav"
    out = run_cli("demo", "--input", src, "--out", tmp_path / "d")
    assert out.returncode == 0, out.stderr
    report = json.loads((tmp_path / "d" / "report.json").read_text())
    assert report["measurements"]["frames_out"] == report["measurements"]["frames_in"] == 212893
    assert (tmp_path / "d" / "LJ001-0001.dialogue-prep.wav").is_file()
