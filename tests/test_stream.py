"""Streaming reader and writer: blocks, atomic writes, protection of inputs and existing files."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import soundfile as sf

from voxpost.audio import Audio, load, save
from voxpost.errors import AudioError
from voxpost.stream import AudioReader, _rebuffer
from voxpost.timecode import format_timecode, parse_timecode
from voxpost.writer import AudioWriter


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


def test_blocks_resample_and_downmix_as_the_array_function_does(tmp_path):
    from voxpost.resample import resample

    x = np.random.default_rng(1).standard_normal((2, 48000 * 2 + 17)).astype(np.float32) * 0.1
    p = tmp_path / "x.wav"
    save(Audio(x, 48000, metadata={"subtype": "FLOAT"}), p)
    with AudioReader(p) as r:
        blocks = list(r.blocks(4000, sample_rate=16000, mono=True))
        whole = r.read(sample_rate=16000, mono=True)
    assert all(b.shape == (1, 4000) for b in blocks[:-1]) and blocks[-1].shape[0] == 1
    streamed = np.concatenate(blocks, axis=1)
    ref = resample(x.mean(axis=0), 48000, 16000)
    assert streamed.shape == whole.shape == (1, ref.size)
    assert np.max(np.abs(streamed[0] - ref)) < 1e-4
    assert np.array_equal(streamed, whole)


def test_resample_keeps_shape_and_float64():
    from voxpost.resample import resample

    assert resample(np.zeros((3, 4410)), 44100, 16000).shape == (3, 1600)
    assert resample(np.zeros(4410), 44100, 16000).dtype == np.float64
    assert resample(np.zeros(4410, np.int16), 44100, 44100).dtype == np.float32


def _wav_with_fmt(path, **fields):
    save(Audio(np.zeros((1, 1600), np.float32), 16000), path, subtype="PCM_16")
    raw = bytearray(path.read_bytes())
    at = raw.index(b"fmt ") + 8
    offsets = {"channels": ("<H", 2), "sample_rate": ("<I", 4), "bits": ("<H", 14)}
    for name, value in fields.items():
        fmt, off = offsets[name]
        struct.pack_into(fmt, raw, at + off, value)
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("fields, word", [({"sample_rate": 3}, "sample rate"), ({"channels": 0}, "channels"),
                                          ({"channels": 9000}, "channels"), ({"bits": 13}, "bits")])
def test_header_values_no_recording_has_are_refused_before_reading(tmp_path, fields, word):
    p = tmp_path / "bad.wav"
    _wav_with_fmt(p, **fields)
    with pytest.raises(AudioError, match=word) as err:
        AudioReader(p)
    assert str(p) in str(err.value) and "\n" not in str(err.value)


def test_chunk_names_are_printed_escaped(tmp_path):
    p = tmp_path / "x.wav"
    save(Audio(np.zeros((1, 1600), np.float32), 16000), p, subtype="PCM_16")
    raw = bytearray(p.read_bytes())
    raw[12:20] = b"\xfd\xb1\n\xfe" + struct.pack("<I", 10**6)       # the JUNK chunk, renamed and lying
    p.write_bytes(bytes(raw))
    with pytest.raises(AudioError) as err:
        AudioReader(p)
    msg = str(err.value)
    assert "'\\xfd\\xb1\\n\\xfe'" in msg and msg.isprintable()


def test_flac_decoder_errors_are_one_audio_error_line(tmp_path):
    p = tmp_path / "x.flac"
    save(Audio(np.random.default_rng(2).standard_normal((1, 48000)).astype(np.float32) * 0.1, 48000), p)
    raw = bytearray(p.read_bytes())
    raw[len(raw) // 2:] = bytes(len(raw) - len(raw) // 2)     # the second half of the frames zeroed
    p.write_bytes(bytes(raw))
    with pytest.raises(AudioError) as err:
        with AudioReader(p) as r:
            r.read()
    assert str(p) in str(err.value) and str(err.value).isprintable()


def test_flac_of_unknown_length_is_read_whole(tmp_path):
    """STREAMINFO total samples 0 (a streamed encoder): libsndfile cannot read it, FFmpeg does."""
    x = np.random.default_rng(3).standard_normal((1, 24000)).astype(np.float32) * 0.1
    p = tmp_path / "x.flac"
    save(Audio(x, 16000), p, subtype="PCM_16")
    raw = bytearray(p.read_bytes())
    raw[21] &= 0xF0
    raw[22:26] = bytes(4)
    p.write_bytes(bytes(raw))
    with AudioReader(p) as r:
        y = r.read()
        assert r.frames == 24000 and r.native_subtype == "PCM_16"
    assert np.max(np.abs(y - x)) < 1e-4


def test_error_lines_show_a_path_with_a_newline_escaped(tmp_path):
    p = tmp_path / "take\n1.wav"
    p.write_bytes(b"RIFF\x04\x00\x00\x00WAVE")
    with pytest.raises(AudioError) as err:
        AudioReader(p)
    assert "take\\n1.wav" in str(err.value) and str(err.value).isprintable()
