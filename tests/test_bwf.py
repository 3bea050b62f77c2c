"""Broadcast WAV chunks, the WAV writer's encodings, RF64 promotion and truncation detection."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from voxpost import bwf
from voxpost.errors import AudioError


def _write(path, block, subtype, **kw):
    with open(path, "wb") as f:
        w = bwf.WavWriter(f, sample_rate=48000, channels=block.shape[0], subtype=subtype, **kw)
        w.write(block)
        w.close()


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "PCM_U8"])
@pytest.mark.parametrize("channels", [1, 2, 6])
def test_libsndfile_reads_what_we_write(tmp_path, subtype, channels):
    rng = np.random.default_rng(1)
    x = (rng.uniform(-0.9, 0.9, (channels, 1001))).astype(np.float32)
    p = tmp_path / "x.wav"
    _write(p, x, subtype)
    y, sr = sf.read(p, dtype="float32", always_2d=True)
    info = sf.info(p)
    assert (sr, info.channels, info.frames, info.subtype) == (48000, channels, 1001, subtype)
    bits = {"PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32}.get(subtype)
    tol = 0 if bits is None else 2.0 ** (1 - bits)
    assert np.abs(y.T - x).max() <= tol + 1e-7


@pytest.mark.parametrize("subtype,bits", [("PCM_16", 16), ("PCM_24", 24)])
def test_integer_round_trip_is_bit_exact(tmp_path, subtype, bits):
    scale = 2 ** (bits - 1)
    ints = np.arange(-scale, scale, max(1, scale // 5000), dtype=np.int64)
    ints = np.concatenate([ints, [scale - 1]])
    x = (ints / scale).astype(np.float32)[np.newaxis, :]
    p = tmp_path / "x.wav"
    _write(p, x, subtype)
    y, _ = sf.read(p, dtype="int32", always_2d=True)
    assert np.array_equal(y[:, 0] >> (32 - bits), ints)


def test_clipping_not_wrapping(tmp_path):
    p = tmp_path / "x.wav"
    _write(p, np.array([[1.5, -1.5, 1.0]], np.float32), "PCM_16")
    y, _ = sf.read(p, dtype="int16")
    assert list(y) == [32767, -32768, 32767]


def test_bext_and_ixml_round_trip(tmp_path):
    b = bwf.Bext(description="Scene 12 take 4", originator="Sound Devices", originator_reference="ABC123",
                 origination_date="2026-11-23", origination_time="14:03:00", time_reference=10 * 3600 * 48000,
                 coding_history="A=PCM,F=48000,W=24,M=stereo\r\n")
    ixml = "<BWFXML><SPEED><TIMECODE_RATE>24/1</TIMECODE_RATE></SPEED></BWFXML>"
    p = tmp_path / "bwf.wav"
    _write(p, np.zeros((2, 10), np.float32), "PCM_24", bext=b, ixml=ixml)
    layout = bwf.read_layout(p)
    assert layout.bext == b
    assert layout.ixml == ixml
    assert layout.chunks[:4] == ["JUNK", "fmt ", "bext", "iXML"]
    assert layout.frames == 10


def test_time_reference_beyond_32_bits():
    b = bwf.Bext(time_reference=(1 << 33) + 7)
    assert bwf.Bext.from_bytes(b.to_bytes()).time_reference == (1 << 33) + 7


def test_rf64_promotion_writes_ds64(monkeypatch):
    """Past 4 GiB the header becomes RF64 with a ds64 chunk; shown here by lowering the limit."""
    monkeypatch.setattr(bwf, "_U32_MAX", 100)
    buf = io.BytesIO()
    w = bwf.WavWriter(buf, sample_rate=48000, channels=2, subtype="PCM_16")
    w.write(np.zeros((2, 200), np.float32))
    w.close()
    raw = buf.getvalue()
    assert raw[:4] == b"RF64" and raw[12:16] == b"ds64"
    riff64, data64, frames = struct.unpack_from("<QQQ", raw, 20)
    assert (data64, frames, riff64) == (800, 200, len(raw) - 8)


def test_truncated_data_is_detected(tmp_path):
    p = tmp_path / "x.wav"
    _write(p, np.zeros((1, 4800), np.float32), "PCM_16")
    raw = p.read_bytes()
    p.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(AudioError, match="truncated"):
        bwf.read_layout(p)


def test_not_a_wav(tmp_path):
    p = tmp_path / "x.wav"
    p.write_text("hello, this is not audio")
    with pytest.raises(AudioError, match="not a WAV"):
        bwf.read_layout(p)
