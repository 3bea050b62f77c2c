"""Timed-text formats: exact SRT/WebVTT text, RTTM round trip, cue segmentation, timecode info,
atomic text writes and speaker assignment."""

from __future__ import annotations

from fractions import Fraction

import pytest

from voxpost.errors import VoxpostError
from voxpost.speech.formats import (assign_speakers, join_words, read_rttm, segments_from_words,
                                    timecode_info, to_rttm, to_srt, to_vtt)


def _w(word, start, end, speaker=None, **extra):
    w = {"word": word, "start": start, "end": end, **extra}
    if speaker is not None:
        w["speaker"] = speaker
    return w


WORDS = [_w("Hello", 0.5, 0.9, "SPEAKER_00", probability=0.9), _w("there.", 1.0, 1.4, "SPEAKER_00"),
         _w("General", 2.5, 3.0, "SPEAKER_01"), _w("Kenobi!", 3.1, 3.6, "SPEAKER_01")]


def test_srt_exact_text_with_speakers_and_ten_hour_offset():
    srt = to_srt(segments_from_words(WORDS), offset_s=36000.0)
    assert srt == ("1\n"
                   "10:00:00,500 --> 10:00:01,400\n"
                   "SPEAKER_00: Hello there.\n"
                   "\n"
                   "2\n"
                   "10:00:02,500 --> 10:00:03,600\n"
                   "SPEAKER_01: General Kenobi!\n")


def test_vtt_exact_text_with_voice_spans_and_ten_hour_offset():
    vtt = to_vtt(segments_from_words(WORDS), offset_s=36000.0)
    assert vtt == ("WEBVTT\n"
                   "\n"
                   "10:00:00.500 --> 10:00:01.400\n"
                   "<v SPEAKER_00>Hello there.\n"
                   "\n"
                   "10:00:02.500 --> 10:00:03.600\n"
                   "<v SPEAKER_01>General Kenobi!\n")


def test_srt_vtt_without_speakers_rounding_and_degenerate_times():
    segs = [{"start": 0.0004, "end": 1.2346, "text": "one  line\n\nbroken --> here"},
            {"start": -0.2, "end": -0.1, "text": "before zero"},
            {"start": 5.0, "end": 5.0, "text": "a < b & c"},
            {"start": 6.0, "end": 7.0, "text": "   "}]
    assert to_srt(segs) == ("1\n00:00:00,000 --> 00:00:01,235\none line broken -> here\n\n"
                            "2\n00:00:00,000 --> 00:00:00,001\nbefore zero\n\n"
                            "3\n00:00:05,000 --> 00:00:05,001\na < b & c\n")
    assert to_vtt(segs) == ("WEBVTT\n\n00:00:00.000 --> 00:00:01.235\none line broken -&gt; here\n\n"
                            "00:00:00.000 --> 00:00:00.001\nbefore zero\n\n"
                            "00:00:05.000 --> 00:00:05.001\na &lt; b &amp; c\n")
    assert to_srt([]) == "" and to_vtt([]) == "WEBVTT\n"
    # past 99 hours the hour field just grows
    assert "100:00:00,000" in to_srt([{"start": 0.0, "end": 1.0, "text": "x"}], offset_s=360000)


def test_segmentation_breaks_at_pauses_speakers_sentences_and_limits():
    words = [_w("a", 0.0, 0.2), _w("b", 0.3, 0.5),            # pause of 0.6 s follows
             _w("c", 1.1, 1.3), _w("d.", 1.35, 1.5),           # sentence end
             _w("e", 1.55, 1.7), _w("f", 1.75, 1.9, "S1")]     # speaker change
    cues = segments_from_words(words)
    assert [c["text"] for c in cues] == ["a b", "c d.", "e", "f"]
    assert [(c["start"], c["end"]) for c in cues] == [(0.0, 0.5), (1.1, 1.5), (1.55, 1.7), (1.75, 1.9)]
    assert "speaker" not in cues[0] and cues[3]["speaker"] == "S1"
    assert cues[0]["words"] == words[:2] and cues[0]["words"][0] is not words[0]
    # a pause just under the threshold does not break; at the threshold it does
    assert len(segments_from_words([_w("a", 0, 1), _w("b", 1.49, 2)])) == 1
    assert len(segments_from_words([_w("a", 0, 1), _w("b", 1.5, 2)])) == 2
    # character and duration limits
    many = [_w("word", i * 0.3, i * 0.3 + 0.25) for i in range(40)]
    cues = segments_from_words(many, max_chars=42, max_duration_s=7.0)
    assert all(len(c["text"]) <= 42 for c in cues) and len(cues) == 5
    assert [w for c in cues for w in c["words"]] == many
    long = segments_from_words([_w("x", i * 0.4, i * 0.4 + 0.3) for i in range(40)], max_chars=1000)
    assert all(c["end"] - c["start"] <= 7.0 for c in long) and len(long) == 3
    assert segments_from_words([]) == [] and segments_from_words([_w(" ", 0, 1)]) == []


def test_join_words_spacing():
    assert join_words([_w("Hello,", 0, 1), _w("world", 1, 2)]) == "Hello, world"
    assert join_words([_w("こんにちは", 0, 1), _w("世界", 1, 2), _w("OK", 2, 3)]) == "こんにちは世界 OK"


def test_rttm_round_trip(tmp_path):
    turns = [(3.25, 4.5, "SPEAKER_01"), (0.0, 2.0, "SPEAKER_00"), (1.5, 3.3333, "SPEAKER_01")]
    text = to_rttm(turns, uri="reel 1")
    assert text.splitlines() == [
        "SPEAKER reel_1 1 0.000 2.000 <NA> <NA> SPEAKER_00 <NA> <NA>",
        "SPEAKER reel_1 1 1.500 1.833 <NA> <NA> SPEAKER_01 <NA> <NA>",
        "SPEAKER reel_1 1 3.250 1.250 <NA> <NA> SPEAKER_01 <NA> <NA>",
    ]
    expected = [(0.0, 2.0, "SPEAKER_00"), (1.5, 3.333, "SPEAKER_01"), (3.25, 4.5, "SPEAKER_01")]
    assert read_rttm(text) == expected
    path = tmp_path / "reel.rttm"
    path.write_text("# comment\n\n" + text + "SPEAKER other 1 0.5 1.0 <NA> <NA> B <NA> <NA>\n")
    assert read_rttm(path, uri="reel_1") == expected
    assert read_rttm(str(path))[-1] == (0.5, 1.5, "B")
    assert to_rttm([(1.0, 1.0, "A")], uri="x") == ""
    with pytest.raises(VoxpostError, match="line 1: .*at least 8 fields"):
        read_rttm("SPEAKER x 1 0.0 1.0\n")
    with pytest.raises(VoxpostError, match="must be numbers"):
        read_rttm("SPEAKER x 1 zero 1.0 <NA> <NA> A <NA> <NA>\n")
    with pytest.raises(VoxpostError, match="cannot read RTTM"):
        read_rttm(tmp_path / "missing.rttm")
    with pytest.raises(VoxpostError, match="uri"):
        to_rttm(turns, uri=" ")


def test_timecode_info():
    assert timecode_info(36000.0, 25) == {"offset_s": 36000.0, "timecode": "10:00:00:00"}
    assert timecode_info(Fraction(1728001920, 48000), Fraction(25)) == {
        "offset_s": 36000.04, "timecode": "10:00:00:01"}
    assert timecode_info(36000.04, 25)["timecode"] == "10:00:00:01"   # float, frame boundary
    assert timecode_info(0.0, 29.97)["timecode"] == "00:00:00:00"


def test_assign_speakers_overlapping_turns():
    turns = [(0.0, 2.0, "A"), (1.5, 4.0, "B"), (6.0, 7.0, "C")]
    words = [_w("one", 0.2, 0.6), _w("two", 1.6, 2.1),     # A 0.4 s, B 0.5 s -> B
             _w("three", 1.8, 2.3),                        # A 0.2 s, B 0.5 s -> B
             _w("four", 4.5, 4.8),                         # no overlap: nearest is B (0.7 s)
             _w("five", 5.5, 5.9),                         # no overlap: nearest is C (0.1 s)
             _w("six", 1.7, 1.7)]                          # zero length inside A and B: A (earlier)
    out = assign_speakers(words, turns)
    assert [w["speaker"] for w in out] == ["A", "B", "B", "B", "C", "A"]
    assert "speaker" not in words[0]                       # new dicts, inputs untouched
    assert out[0]["word"] == "one" and out[0]["start"] == 0.2
    assert assign_speakers(words, []) == words
