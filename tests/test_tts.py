"""Embedded TTS with timing control: exact durations, rate search, word timings, unsayable text."""

from __future__ import annotations

import numpy as np
import pytest

from voxpost.errors import ParameterError
from voxpost.voice.tts import EDGE_S, SpeakError, check_text, speak

LINE = "Meet me at the station before the last train leaves."


@pytest.mark.parametrize("duration_s", [1.6, 2.5, 4.0])
def test_duration_is_exact_and_mostly_from_the_rate(duration_s):
    line = speak(LINE, duration_s=duration_s)
    assert line.audio.frames == round(duration_s * 48000)
    # The speaking rate does the work; the stretch only takes the remainder (< 2%).
    assert abs(line.stretch_ratio - 1) < 0.02
    assert line.audio.sample_rate == 48000


def test_rate_changes_length_and_words_are_ordered():
    slow, fast = speak(LINE, rate_wpm=120), speak(LINE, rate_wpm=300)
    assert slow.audio.duration_s > 1.8 * fast.audio.duration_s
    for line in (slow, fast):
        starts = [w["start"] for w in line.words]
        assert [w["word"] for w in line.words] == LINE.rstrip(".").split()
        assert starts == sorted(starts)
        assert all(w["start"] <= w["end"] <= line.audio.duration_s + 1e-9 for w in line.words)
        assert abs(line.words[0]["start"] - EDGE_S) < 0.005      # speech starts after the 10 ms edge
        assert line.words[-1]["text"] == "leaves."


def test_word_times_follow_the_audio():
    """Each word start is where sound resumes or continues, never inside a pause of the audio."""
    line = speak("Stop. Wait here. Go now.", rate_wpm=150)
    x, sr = line.audio.samples[0], line.audio.sample_rate
    for w in line.words:
        seg = x[int(w["start"] * sr): int(w["start"] * sr) + int(0.05 * sr)]
        assert np.sqrt(np.mean(seg ** 2)) > 1e-3, w


def test_timings_shape_matches_align():
    t = speak("Hello there.", rate_wpm=175).timings()
    assert set(t["words"][0]) >= {"word", "start", "end"}
    assert t["language"] == "en" and t["duration_s"] > 0


def test_other_languages_and_scripts():
    assert speak("Guten Morgen, wie geht es dir?", language="de").audio.duration_s > 0.5
    assert speak("中文", language="cmn").audio.duration_s > 0.2
    check_text("bonjour ж", "en")                 # Cyrillic: espeak English names the letter


@pytest.mark.parametrize("text", ["hello 😀", "hello 中", "\x07 bell", "   ", "...", "a\ue000b"])
def test_unsayable_text_is_refused(text):
    with pytest.raises(SpeakError):
        check_text(text, "en")


def test_bad_timing_requests():
    with pytest.raises(SpeakError):
        speak(LINE, rate_wpm=150, duration_s=2.0)
    with pytest.raises(SpeakError):
        speak(LINE, duration_s=0.4)              # beyond espeak's fastest rate plus a 2x stretch
    with pytest.raises(ParameterError):
        speak(LINE, rate_wpm=30)
    with pytest.raises(ParameterError):
        speak(LINE, language="xx-nowhere")
