"""Streaming reader and writer: blocks, atomic writes, protection of inputs and existing files."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from voxpost.audio import Audio, load, save
from voxpost.errors import AudioError
from voxpost.stream import AudioReader, AudioWriter, _rebuffer, format_timecode, parse_timecode


def test_blocks_cover_the_file_exactly(tmp_path):
    x = np.random.default_rng(0).standard_normal((2, 10007)).astype(np.float32) * 0.1
    p = tmp_path / "x.wav"
    save(Audio(x, 48000, metadata={"subtype": "FLOAT"}), p)
    with AudioReader(p) as r:
        blocks = list(r.blocks(1000))
    assert [b.shape[1] for b in blocks] == [1000] * 10 + [7]
    assert np.array_equal(np.concatenate(blocks, axis=1), x)


def test_rebuffer_regroups_odd_chunks():
    chunks = [np.full((1, n), i, np.float32) for i, n in enumerate([3, 5, 1, 8, 2])]
    out = list(_rebuffer(chunks, 4))
    assert [b.shape[1] for b in out] == [4, 4, 4, 4, 3]
    assert np.array_equal(np.concatenate(out, axis=1), np.concatenate(chunks, axis=1))


def test_failed_write_leaves_nothing_and_keeps_old_file(tmp_path):
    target = tmp_path / "out.wav"
    target.write_bytes(b"previous good file")
    with pytest.raises(RuntimeError):
        with AudioWriter(target, sample_rate=48000, channels=1, overwrite=True) as w:
            w.write(np.zeros((1, 100), np.float32))
            raise RuntimeError("interrupted")
    assert target.read_bytes() == b"previous good file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def test_existing_output_needs_overwrite(tmp_path):
    target = tmp_path / "out.wav"
    target.write_bytes(b"x")
    with pytest.raises(AudioError, match="use --force"):
        AudioWriter(target, sample_rate=48000, channels=1)


def test_input_is_never_overwritten(tmp_path):
    src = tmp_path / "in.wav"
    save(Audio(np.zeros((1, 10)), 48000), src)
    before = src.read_bytes()
    with pytest.raises(AudioError, match="refusing to overwrite an input"):
        AudioWriter(tmp_path / "." / "in.wav", sample_rate=48000, channels=1, overwrite=True, protect=[src])
    assert src.read_bytes() == before


def test_unwritable_directory(tmp_path):
    with pytest.raises(AudioError, match="does not exist"):
        AudioWriter(tmp_path / "no" / "x.wav", sample_rate=48000, channels=1)


@pytest.mark.parametrize("content,match", [
    (b"", "empty"), (b"just some text, not audio at all" * 10, "not a readable audio file"),
])
def test_bad_inputs(tmp_path, content, match):
    p = tmp_path / "bad.wav" if content else tmp_path / "bad.flac"
    p.write_bytes(content)
    if content:
        p = p.rename(tmp_path / "bad.xyz")
    with pytest.raises(AudioError, match=match):
        AudioReader(p)


def test_missing_file(tmp_path):
    with pytest.raises(AudioError, match="no such file"):
        AudioReader(tmp_path / "nope.wav")


def test_truncated_flac(tmp_path):
    p = tmp_path / "x.flac"
    sf.write(p, np.random.default_rng(0).uniform(-0.5, 0.5, 48000 * 2), 48000, subtype="PCM_16")
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(AudioError, match="truncated|damaged"):
        load(p)


def test_timecode_text_round_trip():
    from fractions import Fraction

    for fps in (Fraction(24), Fraction(25), Fraction(30000, 1001)):
        s = parse_timecode("10:00:00:00", fps, 48000)
        assert format_timecode(s, fps, 48000) == "10:00:00:00"
    assert format_timecode(48000 * 3600 + 2000 * 13, Fraction(24), 48000) == "01:00:00:13"
