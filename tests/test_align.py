"""Script alignment: accuracy on synthesised speech with known word times and on real recordings
with published reference alignments, every script word present, bad input."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import soxr

from voxpost.errors import ParameterError
from voxpost.speech.align import AlignError, align, align_file, script_words
from voxpost.espeak import synthesize

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from wordtimes import references  # noqa: E402
STORY = ("The old harbour was quiet that morning, and the fishermen mended their nets in silence. "
         "Nobody spoke of the storm.")


def _boundary_errors_ms(result, ref):
    """|error| of every start and end, in ms; a reference start at 0.000 (no leading silence
    marked by the aligner that made it) is not a boundary and is skipped."""
    errs = []
    for k, (got, want) in enumerate(zip(result["words"], ref)):
        if not (k == 0 and want["start"] == 0.0):
            errs.append(abs(got["start"] - want["start"]))
        errs.append(abs(got["end"] - want["end"]))
    return np.array(errs) * 1000


def test_synthesised_speech_with_known_word_times():
    """Another espeak voice, slower and lower, after 0.7 s of silence: its word events are the truth."""
    rec = synthesize(STORY, language="en-gb-x-rp", rate_wpm=150, pitch=30)
    lead = 0.7
    x = np.concatenate([np.zeros(int(lead * rec.sample_rate), np.float32), rec.samples])
    result = align(x, rec.sample_rate, STORY, language="en-us")
    tokens = script_words(STORY)
    index = {t.start: i for i, t in enumerate(tokens)}
    errs = [abs(result["words"][index[g.char_start]]["start"] - (lead + g.start / rec.sample_rate)) * 1000
            for g in rec.words if g.char_start in index]
    assert len(errs) >= 15
    assert np.median(errs) <= 10.0 and np.percentile(errs, 90) <= 20.0
    assert result["confidence"] >= 0.5 and not result["warnings"]


def test_every_script_word_present_in_order():
    text = "In 1984, Mr. Smith—the baker—sold 12 loaves... “Really?” she asked."
    rec = synthesize(text, language="en-us")
    result = align(rec.samples, rec.sample_rate, text, language="en-us")
    assert [w["word"] for w in result["words"]] == [t.text for t in script_words(text)]
    assert [w["word"] for w in result["words"]][:4] == ["In", "1984", "Mr", "Smith"]
    starts = [w["start"] for w in result["words"]]
    assert starts == sorted(starts)
    assert all(w["start"] <= w["end"] for w in result["words"])


def test_real_recordings_against_published_alignments(corpus):
    """LJSpeech (MFA alignments) and a GRID video clip (the corpus' own alignment)."""
    errs = []
    for audio, text, ref in references(corpus):
        result = align_file(audio, text, language="en")
        assert len(result["words"]) == len(ref), audio.name
        errs.append(_boundary_errors_ms(result, ref))
    errs = np.concatenate(errs)
    assert len(errs) > 150
    # Measured: median 22 ms, p90 59 ms (benchmarks/speech.py has the table).
    assert np.median(errs) <= 25.0
    assert np.percentile(errs, 90) <= 65.0


def test_telephone_band_recording(corpus):
    """The same read sentence band-limited to an 8 kHz phone line still aligns."""
    audio, text, ref = next(r for r in references(corpus) if r[0].stem == "LJ001-0003")
    from voxpost.audio import load

    a = load(audio)
    x8 = soxr.resample(a.samples[0], a.sample_rate, 8000)
    result = align(x8, 8000, text, language="en")
    errs = _boundary_errors_ms(result, ref)
    assert np.median(errs) <= 40.0


def test_mismatched_script_gets_low_confidence(corpus):
    audio = corpus / "speech" / "LJ001-0001.wav"
    right = align_file(audio, (corpus / "speech" / "LJ001-0001.txt").read_text())
    wrong = align_file(audio, (corpus / "speech" / "LJ001-0003.txt").read_text())
    assert right["confidence"] > wrong["confidence"] + 0.08
    assert not right["warnings"] and "may not match" in wrong["warnings"][0]


def test_bad_input():
    x = np.random.default_rng(0).normal(scale=0.1, size=16000 * 3).astype(np.float32)
    with pytest.raises(AlignError, match="no words"):
        align(x, 16000, "  ... — !! ")
    with pytest.raises(ParameterError, match="does not speak language 'klingon'"):
        align(x, 16000, "hello", language="klingon")
    with pytest.raises(AlignError, match="no speech"):
        align(np.zeros(16000 * 3, np.float32), 16000, "hello there")
    # A sustained chord (music, no voice) is not speech either.
    t = np.arange(16000 * 4) / 16000
    chord = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (220, 277.2, 329.6)).astype(np.float32)
    with pytest.raises(AlignError, match="no speech"):
        align(chord, 16000, "hello there")


# -- the command ----------------------------------------------------------------------------------
def test_cli_on_a_video_file(corpus, tmp_path):
    from conftest import run_cli

    video = corpus / "video" / "grid_bbaf2n.mpg"
    out, srt = tmp_path / "words.json", tmp_path / "words.srt"
    r = run_cli("align", video, "--text", corpus / "video" / "grid_bbaf2n.txt", "--language", "en",
                "-o", out, "--srt", srt)
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert [w["word"] for w in doc["words"]] == "bin blue at f two now".split()
    assert doc["timecode"]["offset_s"] == 0.0 and doc["source"] == str(video)
    assert srt.read_text().startswith("1\n00:00:00,")
    # Run again: the outputs exist, so it refuses (exit 2, one line) and leaves them as they were.
    before = out.read_bytes()
    r = run_cli("align", video, "--text", corpus / "video" / "grid_bbaf2n.txt", "-o", out)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "exists" in r.stderr
    assert out.read_bytes() == before


def test_cli_bad_input(tmp_path):
    from conftest import run_cli

    wav = tmp_path / "line.wav"
    rec = synthesize(STORY, language="en-us")
    import soundfile as sf

    sf.write(wav, rec.samples, rec.sample_rate)
    script, empty = tmp_path / "script.txt", tmp_path / "empty.txt"
    script.write_text(STORY)
    empty.write_text("\n  \n")
    out = tmp_path / "w.json"
    cases = [
        (["--text", empty], "no words"),
        (["--text", tmp_path / "missing.txt"], "cannot read the script"),
        (["--text", script, "--language", "qq"], "does not speak language 'qq'"),
    ]
    for extra, message in cases:
        r = run_cli("align", wav, *extra, "-o", out)
        assert r.returncode == 2 and message in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert not out.exists()
    r = run_cli("align", wav, "--text", script, "-o", wav, "--force")      # never overwrite the input
    assert r.returncode == 2 and wav.stat().st_size > 1000
    r = run_cli("align", tmp_path / "nope.wav", "--text", script, "-o", out)
    assert r.returncode == 2 and not out.exists()
