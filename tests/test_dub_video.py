"""Mouth tracking from the picture (voxpost.dub.video): GRID clips against the aligner's word times."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from voxpost.dub.video import MouthTrack, VideoError, mouth_track

CLIPS = ("bbaf2n", "brbk7n", "lbax4n", "lbbc2a", "lrwp9a", "pwij3p")
BILABIAL = ("b", "p", "m")


@lru_cache(maxsize=None)
def _words(path: str) -> tuple[tuple[str, float, float], ...]:
    from voxpost.speech.align import align_file

    text = open(path[:-4] + ".txt").read().strip()
    return tuple((w["word"], float(w["start"]), float(w["end"])) for w in align_file(path, text, language="en")["words"])


@lru_cache(maxsize=None)
def _track(path: str) -> MouthTrack:
    return mouth_track(path)


def _clip(corpus, name: str) -> str:
    return str(corpus / "video" / f"grid_{name}.mpg")


@pytest.mark.parametrize("name", CLIPS)
def test_grid_face_and_frames(corpus, name):
    tr = _track(_clip(corpus, name))
    assert tr.fps == 25
    assert 70 <= tr.times_s.size <= 80
    for a in (tr.face, tr.openness, tr.activity):
        assert a.shape == tr.times_s.shape
    assert tr.face.mean() >= 0.9
    assert np.all(np.diff(tr.times_s) > 0)
    ok = tr.face
    assert np.nanmin(tr.openness[ok]) >= 0 and np.nanmax(tr.openness[ok]) <= 1
    assert np.nanmin(tr.activity[ok]) >= 0 and np.nanmax(tr.activity[ok]) <= 1


def test_grid_activity_higher_in_speech(corpus):
    ratios = []
    for name in CLIPS:
        path = _clip(corpus, name)
        tr, words = _track(path), _words(path)
        inside = (tr.times_s >= words[0][1]) & (tr.times_s < words[-1][2])
        ratios.append(np.nanmean(tr.activity[inside]) / max(np.nanmean(tr.activity[~inside]), 1e-6))
        assert tr.speaking(words[0][1], words[-1][2]) == pytest.approx(np.nanmean(tr.activity[inside]))
    # measured 1.15 .. 17 (two speakers move their mouth before speaking); mean about 5
    assert min(ratios) > 1.0, ratios
    assert np.mean(ratios) > 2.5, ratios


def test_grid_closures_at_bilabials(corpus):
    hits = total = 0
    for name in CLIPS:
        path = _clip(corpus, name)
        tr, words = _track(path), _words(path)
        closures = np.asarray(tr.closures_s)
        for word, start, _ in words:
            if word[0] in BILABIAL:
                total += 1
                hits += bool(closures.size and np.min(np.abs(closures - start)) <= 0.0801)
    assert total == 10
    assert hits / total >= 0.7, (hits, total)


def test_span(corpus):
    tr = mouth_track(_clip(corpus, "brbk7n"), start_s=1.0, duration_s=1.0)
    assert 24 <= tr.times_s.size <= 26
    assert tr.times_s[0] == pytest.approx(1.0, abs=0.041)


def test_not_a_video(tmp_path):
    bad = tmp_path / "x.mp4"
    bad.write_text("this is not a video\n")
    with pytest.raises(VideoError):
        mouth_track(bad)


def test_audio_only(tmp_path):
    import soundfile as sf

    wav = tmp_path / "a.wav"
    sf.write(wav, np.zeros(8000, np.float32), 16000)
    with pytest.raises(VideoError, match="no video stream"):
        mouth_track(wav)


def test_no_face(tmp_path):
    import av

    path = tmp_path / "noise.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=25)
        stream.width, stream.height, stream.pix_fmt = 160, 128, "yuv420p"
        for _ in range(10):
            img = rng.integers(0, 256, (128, 160, 3), np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    with pytest.raises(VideoError, match="no face"):
        mouth_track(path)
