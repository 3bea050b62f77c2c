"""Provenance: marked audio, iXML record inside the WAV, sidecar with the file's hash; atomic writes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voxpost import bwf
from voxpost.audio import Audio, load, save
from voxpost.errors import VoxpostError
from voxpost.voice import provenance, watermark
from voxpost.voice.tts import speak


@pytest.fixture(scope="module")
def line():
    return speak("The lamps went out along the harbour wall, one after another.", rate_wpm=160).audio


def test_written_audio_is_marked_with_provenance_inside_and_beside(tmp_path, line):
    out = tmp_path / "line.wav"
    line.timecode_samples = 10 * 3600 * 48000
    side = provenance.write_synthetic(line, out, [{"stage": "tts", "engine": "espeak-ng"}], profile_id="ab12cd")
    assert side["ai_generated"] and [s["stage"] for s in side["stages"]] == ["tts", "watermark"]
    assert side["output"]["sha256"] == provenance.file_sha256(out)
    assert side["stages"][-1]["snr_db"] >= 35.0
    assert json.loads(provenance.sidecar_path(out).read_text()) == side
    layout = bwf.read_layout(out)
    inside = provenance.from_ixml(layout.ixml)
    assert inside["stages"] == side["stages"] and "output" not in inside
    assert layout.bext.description.startswith("AI-generated")
    back = load(out)
    assert back.timecode_samples == 10 * 3600 * 48000 and back.frames == line.frames
    det = watermark.detect(back.samples, back.sample_rate)
    assert det.marked and det.payload is not None and det.payload.profile_id.startswith("ab12")


def test_a_second_stage_keeps_the_first_record(tmp_path, line):
    first, second = tmp_path / "a.wav", tmp_path / "b.wav"
    provenance.write_synthetic(line, first, [{"stage": "tts"}])
    again = provenance.write_synthetic(load(first), second, [{"stage": "voice-convert"}],
                                       inputs=provenance.describe_inputs([first]))
    assert again["derived_from"]["stages"][0]["stage"] == "tts"
    assert again["inputs"][0]["sha256"] == provenance.file_sha256(first)


def test_existing_outputs_are_refused_before_any_work(tmp_path, line):
    out = tmp_path / "x.wav"
    provenance.sidecar_path(out).write_text("{}")
    with pytest.raises(VoxpostError):
        provenance.write_synthetic(line, out, [{"stage": "tts"}])
    assert not out.exists() and provenance.sidecar_path(out).read_text() == "{}"


def test_existing_ixml_is_kept(tmp_path, line):
    src = tmp_path / "src.wav"
    ixml = '<?xml version="1.0"?><BWFXML><IXML_VERSION>2.10</IXML_VERSION><SCENE>12A</SCENE></BWFXML>'
    save(Audio(line.samples, line.sample_rate, metadata={"ixml": ixml}), src)
    out = tmp_path / "out.wav"
    provenance.write_synthetic(load(src), out, [{"stage": "voice-convert"}])
    text = bwf.read_layout(out).ixml
    assert "<SCENE>12A</SCENE>" in text and provenance.from_ixml(text)["stages"][0]["stage"] == "voice-convert"


def test_flac_output_gets_the_sidecar(tmp_path, line):
    out = tmp_path / "line.flac"
    provenance.write_synthetic(line, out, [{"stage": "tts"}])
    assert provenance.read(out)["output"]["file"] == "line.flac"
    x = load(out)
    assert watermark.detect(x.samples, x.sample_rate).marked
    assert np.isfinite(x.samples).all()
