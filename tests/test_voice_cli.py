"""The voice commands as a user runs them: outputs, marks, provenance, and bad input (exit 2)."""

from __future__ import annotations

import json

import pytest

import numpy as np

from conftest import run_cli, tone
from voxpost.audio import Audio, info, save


def test_speak_to_a_duration_with_timings_then_detect_the_mark(tmp_path):
    out, words = tmp_path / "line.wav", tmp_path / "line.words.json"
    r = run_cli("speak", "Tell the captain the lights are out again.", "--duration", "2.4",
                "-o", out, "--timings", words)
    assert r.returncode == 0, r.stderr
    assert info(out)["frames"] == round(2.4 * 48000)
    timing = json.loads(words.read_text())
    assert [w["word"] for w in timing["words"]][:2] == ["Tell", "the"]
    assert (tmp_path / "line.wav.provenance.json").is_file()
    r = run_cli("mark", "detect", out)
    det = json.loads(r.stdout)
    assert r.returncode == 0 and det["marked"] and det["payload"]["tool"] == "voxpost"
    assert det["provenance"]["stages"][0] == "tts"


def test_detect_on_an_unmarked_recording(corpus):
    r = run_cli("mark", "detect", corpus / "speech/LJ001-0001.wav")
    assert r.returncode == 0 and json.loads(r.stdout)["marked"] is False


def test_enroll_convert_and_mark_embed(corpus, tmp_path):
    consent = tmp_path / "consent.txt"
    consent.write_text("Signed consent of the reader.\n")
    prof = tmp_path / "reader.voice"
    refs = [corpus / f"speech/LJ001-000{i}.wav" for i in (1, 3)]
    r = run_cli("voice", "enroll", *refs, "--name", "reader", "--consent", consent, "-o", prof)
    assert r.returncode == 0, r.stderr
    summary = json.loads(run_cli("voice", "info", prof).stdout)
    assert summary["name"] == "reader" and summary["consent"]["file"] == "consent.txt"
    out = tmp_path / "jfk-as-reader.wav"
    r = run_cli("voice", "convert", corpus / "speech/jfk.flac", "--voice", prof, "-o", out)
    assert r.returncode == 0, r.stderr
    assert info(out)["frames"] == info(corpus / "speech/jfk.flac")["frames"]
    det = json.loads(run_cli("mark", "detect", out).stdout)
    assert det["marked"] and det["payload"]["profile_id"] == summary["id"][:len(det["payload"]["profile_id"])]
    spoken = tmp_path / "spoken.wav"
    r = run_cli("speak", "We leave at dawn.", "--voice", prof, "--duration", "1.2", "-o", spoken)
    assert r.returncode == 0, r.stderr
    side = json.loads((tmp_path / "spoken.wav.provenance.json").read_text())
    assert [s["stage"] for s in side["stages"]][:2] == ["tts", "voice-convert"]
    assert side["stages"][1]["profile"]["consent_sha256"] == summary["consent"]["sha256"]
    assert info(spoken)["frames"] == round(1.2 * 48000)
    marked = tmp_path / "marked.wav"
    assert run_cli("mark", "embed", corpus / "speech/LJ001-0002.wav", "-o", marked).returncode == 0
    assert json.loads(run_cli("mark", "detect", marked).stdout)["marked"]


@pytest.mark.parametrize("args", [
    ("speak", "hello 😀", "-o", "{t}/a.wav"),
    ("speak", "hello", "--rate", "150", "--duration", "2", "-o", "{t}/a.wav"),
    ("speak", "hello", "--language", "xx-none", "-o", "{t}/a.wav"),
    ("speak", "hello", "-o", "{t}/a.xyz"),
    ("voice", "enroll", "{c}/speech/LJ001-0001.wav", "--name", "x", "-o", "{t}/x.voice"),
    ("voice", "enroll", "{c}/speech/LJ001-0001.wav", "--name", "x", "--consent", "{t}/empty.txt", "-o", "{t}/x.voice"),
    ("voice", "enroll", "{c}/speech/LJ001-0002.wav", "--name", "x", "--consent", "{t}/ok.txt", "-o", "{t}/x.voice"),
    ("voice", "convert", "{c}/speech/LJ001-0002.wav", "--voice", "{t}/bad.voice", "-o", "{t}/a.wav"),
    ("mark", "embed", "{t}/in.wav", "-o", "{t}/in.wav"),
    ("mark", "embed", "{t}/silent.wav", "-o", "{t}/b.wav"),
])
def test_bad_input_exits_2_and_writes_nothing(corpus, tmp_path, args):
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "ok.txt").write_text("consent\n")
    (tmp_path / "bad.voice").write_bytes(b"PK\x03\x04 not really")
    save(Audio(tone(440.0, seconds=3.0), 48000), tmp_path / "in.wav")
    save(Audio(np.zeros((1, 48000 * 3), np.float32), 48000), tmp_path / "silent.wav")
    before = set(tmp_path.iterdir())
    r = run_cli(*[a.format(t=tmp_path, c=corpus) for a in args])
    assert r.returncode == 2
    assert r.stderr.startswith("voxpost: error:") and r.stderr.count("\n") == 1, r.stderr
    assert set(tmp_path.iterdir()) == before
