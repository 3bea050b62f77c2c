"""The dub report's deliverables: rythmo band PNG pages and the OTIO timeline."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.image as mpimg  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import opentimelineio as otio  # noqa: E402
import pytest  # noqa: E402

from voxpost.dub.rythmo import rythmo_png, timecode  # noqa: E402
from voxpost.dub.timeline import to_otio, write_otio  # noqa: E402
from voxpost.errors import VoxpostError  # noqa: E402

SR = 48000


def _line(index: int, text: str, start: float, *, shift: float = 0.02, speed: float = 1.0, flagged: int = 0,
          original: bool = True) -> dict:
    """A line of ``text`` spoken from ``start`` (0.3 s a word); the dub is ``shift`` later and ``speed`` longer."""
    words = text.split()
    orig = [{"word": w, "start": start + 0.3 * i, "end": start + 0.3 * i + 0.26} for i, w in enumerate(words)]
    dub = [{"word": w.upper() + "issimo", "start": start + shift + 0.3 * i * speed,
            "end": start + shift + (0.3 * i + 0.26) * speed} for i, w in enumerate(words)]
    end = dub[-1]["end"]
    line = {"index": index, "text": text, "speaker": "A" if index % 2 else None,
            "window_start": start, "window_end": orig[-1]["end"], "start": start + shift, "end": end,
            "speed": speed, "status": "flagged" if flagged else "ok", "words": dub,
            "original_words": orig if original else [], "pauses": [[start + 0.26, start + 0.3]],
            "closures": [start + 0.31], "bilabials": [start + shift + 0.32], "extra": "ignored"}
    if flagged:
        line.update(suggest_syllables=flagged, reason="too long for its window at the 1.25x pace bound")
    return line


def _report(lines: list[dict], duration: float, *, mix: str | None = "mix.wav") -> dict:
    return {"original": "scene.wav", "stem": "dub.wav", "mix": mix, "sample_rate": SR, "duration_s": duration,
            "fps": 25.0, "language": "fr", "lines": lines, "summary": {"lines": len(lines)}}


@pytest.fixture
def report() -> dict:
    """40 s reel, 6 lines: line 4 flagged and overrunning, so line 5 overlaps it; line 6 has no original text."""
    return _report([
        _line(1, "Bonjour tu viens ce soir", 1.23),
        _line(2, "Oui bien sur", 4.0, shift=0.013),
        _line(3, "Parfait", 11.9),  # straddles the 12 s row boundary
        _line(4, "Je ne sais pas si je pourrai vraiment venir", 20.0, speed=1.3, flagged=-3),
        _line(5, "Mais si", 22.9),
        _line(6, "Allez viens", 31.017, original=False),
    ], 40.0)


@pytest.fixture
def sparse() -> dict:
    """90 s reel, 3 lines far apart (rows in between are silent)."""
    return _report([_line(1, "Hello there", 2.0), _line(2, "Later on", 47.5, flagged=2),
                    _line(3, "The end", 86.0)], 90.0, mix=None)


def _no_temp(folder) -> None:
    assert not [p.name for p in folder.iterdir() if ".part" in p.name or p.name.startswith(".")]


def _check_png(path) -> tuple[int, int]:
    assert path.is_file() and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[1] == 1600
    return image.shape[:2]


def test_timecode() -> None:
    assert timecode(0.0, 25.0) == "00:00:00:00"
    assert timecode(3661.5, 25.0) == "01:01:01:12"
    assert timecode(1.0, 24.0) == "00:00:01:00"
    assert timecode(0.999, 30000 / 1001) == "00:00:00:29"


def test_rythmo_one_page(report, tmp_path) -> None:
    paths = rythmo_png(report, tmp_path / "band.png")
    assert paths == [tmp_path / "band.png"]
    height, _ = _check_png(paths[0])
    # rows [0, 12) and [12, 24) (line 3 straddles 12 s, in both), [24, 36) for line 6, none after
    assert height == pytest.approx(100 * (0.9 + 3 * 1.3 - 0.35), abs=2)
    assert plt.get_fignums() == []
    _no_temp(tmp_path)


def test_rythmo_skips_silent_rows(sparse, tmp_path) -> None:
    (path,) = rythmo_png(sparse, tmp_path / "sparse.png", row_s=10.0)
    height, _ = _check_png(path)
    assert height == pytest.approx(100 * (0.9 + 3 * 1.3 - 0.35), abs=2)  # 3 rows out of 9
    assert plt.get_fignums() == []


def test_rythmo_pages(tmp_path) -> None:
    lines = [_line(i + 1, "Un deux trois", 6.0 * i + 1.0, flagged=-1 if i % 7 == 0 else 0) for i in range(25)]
    paths = rythmo_png(_report(lines, 160.0), tmp_path / "many.png", row_s=6.0, rows_per_page=10)
    assert [p.name for p in paths] == ["many.png", "many-p2.png", "many-p3.png"]
    heights = [_check_png(p)[0] for p in paths]
    assert heights[0] == heights[1] > heights[2]  # 10, 10 and 5 rows
    assert plt.get_fignums() == []
    _no_temp(tmp_path)


def test_rythmo_no_lines(tmp_path) -> None:
    paths = rythmo_png(_report([], 30.0), tmp_path / "empty.png")
    assert paths == [tmp_path / "empty.png"]
    _check_png(paths[0])
    assert plt.get_fignums() == []
    _no_temp(tmp_path)


def test_rythmo_closes_figure_on_failure(tmp_path) -> None:
    with pytest.raises(VoxpostError, match="does not exist"):
        rythmo_png(_report([_line(1, "Salut", 1.0)], 5.0), tmp_path / "missing" / "band.png")
    assert plt.get_fignums() == []


def _dub_clips(track) -> list:
    return [c for c in track if isinstance(c, otio.schema.Clip)]


def test_otio_round_trip(report, tmp_path) -> None:
    path = write_otio(report, tmp_path / "dub.otio")
    assert path == tmp_path / "dub.otio"
    _no_temp(tmp_path)
    timeline = otio.adapters.read_from_file(str(path))
    assert timeline.global_start_time.to_seconds() == 0
    names = [t.name for t in timeline.tracks]
    assert names == ["original", "dub", "dub (overlaps)", "mix"]
    assert all(t.kind == otio.schema.TrackKind.Audio for t in timeline.tracks)
    tracks = {t.name: t for t in timeline.tracks}
    (original,) = _dub_clips(tracks["original"])
    assert original.media_reference.target_url.startswith("file:///")
    assert original.media_reference.target_url.endswith("/scene.wav")
    assert original.source_range.duration.value == 40 * SR
    assert [c.metadata["voxpost"]["index"] for c in _dub_clips(tracks["dub"])] == [1, 2, 3, 4, 6]
    assert [c.metadata["voxpost"]["index"] for c in _dub_clips(tracks["dub (overlaps)"])] == [5]
    assert len(_dub_clips(tracks["mix"])) == 1
    assert tracks["dub"].duration().value == 40 * SR

    lines = {ln["index"]: ln for ln in report["lines"]}
    for name in ("dub", "dub (overlaps)"):
        for clip in _dub_clips(tracks[name]):
            line = lines[clip.metadata["voxpost"]["index"]]
            a, b = round(line["start"] * SR), round(line["end"] * SR)
            placed = clip.range_in_parent()
            assert placed.start_time.rate == SR and placed.start_time.value == a
            assert placed.duration.value == b - a
            assert clip.source_range.start_time.value == a and clip.source_range.start_time.rate == SR
            assert clip.media_reference.target_url.endswith("/dub.wav")
            assert clip.media_reference.available_range.duration.value == 40 * SR
            assert clip.name.startswith(f"L{line['index']:03d} ")
            meta = clip.metadata["voxpost"]
            assert meta["text"] == line["text"] and meta["status"] == line["status"]
            assert meta["window_start"] == line["window_start"] and "extra" not in meta
            if line["status"] == "flagged":
                (marker,) = clip.markers
                assert marker.color == otio.schema.MarkerColor.RED
                assert marker.name == "flagged: -3 syllables"
                assert "pace bound" in marker.metadata["voxpost"]["reason"]
            else:
                assert len(clip.markers) == 0


def test_otio_without_mix(sparse) -> None:
    timeline = to_otio(sparse, name="reel 2")
    assert timeline.name == "reel 2"
    assert [t.name for t in timeline.tracks] == ["original", "dub"]
    clips = _dub_clips(timeline.tracks[1])
    assert [c.range_in_parent().start_time.value for c in clips] == [round(ln["start"] * SR) for ln in sparse["lines"]]
    assert clips[1].markers[0].name == "flagged: +2 syllables"


def test_otio_no_lines() -> None:
    timeline = to_otio(_report([], 10.0, mix=None))
    assert [t.name for t in timeline.tracks] == ["original", "dub"]
    assert timeline.tracks[1].duration().value == 10 * SR


def test_write_otio_refusals(report, tmp_path) -> None:
    path = tmp_path / "dub.otio"
    path.write_text("keep me")
    with pytest.raises(VoxpostError) as err:
        write_otio(report, path)
    assert "\n" not in str(err.value) and "exists" in str(err.value)
    assert path.read_text() == "keep me"
    with pytest.raises(VoxpostError) as err:
        write_otio(report, tmp_path / "dub.edl")
    assert "\n" not in str(err.value) and ".otio" in str(err.value)
    with pytest.raises(VoxpostError) as err:
        write_otio(report, tmp_path / "missing" / "dub.otio")
    assert "\n" not in str(err.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dub.otio"]

    write_otio(report, path, overwrite=True)
    assert otio.adapters.read_from_file(str(path)).tracks[1].name == "dub"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dub.otio"]
