"""The Audio value, load/save per format, metadata on round trips, resampling quality."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import soundfile as sf

from conftest import tone
from voxpost import bwf
from voxpost.audio import Audio, info, load, resample, save
from voxpost.errors import AudioError


def test_audio_shapes_and_units():
    a = Audio(np.zeros(48000), 48000, timecode_samples=48000 * 3600)
    assert (a.channels, a.frames, a.duration_s, a.start_s) == (1, 48000, 1.0, 3600.0)
    assert a.samples.dtype == np.float32
    assert a.timecode(25) == "01:00:00:00"
    with pytest.raises(ValueError):
        Audio(np.zeros((1, 2, 3)), 48000)


@pytest.mark.parametrize("ext,subtype,tol", [
    (".wav", "PCM_16", 2 ** -15), (".wav", "PCM_24", 2 ** -23), (".wav", "FLOAT", 0),
    (".flac", "PCM_16", 2 ** -15), (".flac", "PCM_24", 2 ** -23), (".aiff", "PCM_24", 2 ** -23),
])
def test_lossless_round_trip_keeps_channels_rate_depth(tmp_path, ext, subtype, tol):
    x = np.random.default_rng(0).uniform(-0.5, 0.5, (3, 4410)).astype(np.float32)
    p = tmp_path / f"x{ext}"
    save(Audio(x, 44100, metadata={"subtype": subtype}), p)
    y = load(p)
    assert (y.channels, y.sample_rate, y.frames, y.metadata["subtype"]) == (3, 44100, 4410, subtype)
    assert np.abs(y.samples - x).max() <= tol


@pytest.mark.parametrize("ext,subtype", [(".ogg", "VORBIS"), (".opus", "OPUS")])
def test_lossy_round_trip(tmp_path, ext, subtype):
    x = tone(440, sample_rate=48000, seconds=1.0, channels=2)
    p = tmp_path / f"x{ext}"
    save(Audio(x, 48000), p)
    assert info(p)["subtype"] == subtype
    y = load(p)
    assert (y.channels, y.sample_rate) == (2, 48000)
    assert abs(y.frames - 48000) < 480
    n = min(y.frames, x.shape[1])
    # a 440 Hz tone survives a lossy codec within 1 dB of level
    ratio_db = 10 * np.log10(np.mean(y.samples[:, 4800:n - 4800] ** 2) / np.mean(x[:, 4800:n - 4800] ** 2))
    assert abs(ratio_db) < 1.0


def test_float_into_flac_becomes_24_bit(tmp_path):
    save(Audio(np.zeros((1, 100)), 48000, metadata={"subtype": "FLOAT"}), tmp_path / "x.flac")
    assert sf.info(tmp_path / "x.flac").subtype == "PCM_24"


def test_bwf_timecode_and_ixml_survive_load_save(tmp_path):
    ixml = "<BWFXML><SPEED><TIMECODE_RATE>24/1</TIMECODE_RATE></SPEED><NOTE>keep me</NOTE></BWFXML>"
    tc = (1 * 3600 + 2 * 60 + 3) * 48000 + 12 * 2000  # 01:02:03:12 at 24 fps
    src = tmp_path / "in.wav"
    save(Audio(np.zeros((2, 480)), 48000, tc, {"subtype": "PCM_24", "ixml": ixml,
                                              "bext": bwf.Bext(description="take 4")}), src)
    a = load(src)
    assert a.timecode_samples == tc and a.metadata["fps"] == Fraction(24)
    assert a.timecode() == "01:02:03:12"
    save(a, tmp_path / "out.wav")
    layout = bwf.read_layout(tmp_path / "out.wav")
    assert layout.ixml == ixml and layout.bext.time_reference == tc and layout.bext.description == "take 4"
    assert info(tmp_path / "out.wav")["timecode"] == "01:02:03:12"


def test_resample_is_high_quality():
    x = tone(1000, sample_rate=48000, seconds=1.0)
    y = resample(Audio(x, 48000, timecode_samples=48000 * 10), 44100)
    assert y.sample_rate == 44100 and y.frames == 44100 and y.timecode_samples == 44100 * 10
    ref = tone(1000, sample_rate=44100, seconds=1.0)[:, 1000:-1000]
    err = y.samples[:, 1000:-1000] - ref
    snr_db = 10 * np.log10(np.sum(ref ** 2) / np.sum(err ** 2))
    assert snr_db > 90  # soxr VHQ; linear interpolation gives about 40 dB here


def test_nan_samples_are_refused(tmp_path):
    x = np.zeros((1, 1000), np.float32)
    x[0, 480] = np.nan
    p = tmp_path / "nan.wav"
    sf.write(p, x.T, 48000, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"NaN or Inf samples at 0\.010 s"):
        load(p)


def test_never_writes_nan(tmp_path):
    with pytest.raises(AudioError, match="NaN"):
        save(Audio(np.full((1, 10), np.inf), 48000), tmp_path / "x.wav")
    assert list(tmp_path.iterdir()) == []


def test_unsupported_output_format(tmp_path):
    with pytest.raises(AudioError, match="cannot write '.mp3'"):
        save(Audio(np.zeros((1, 10)), 48000), tmp_path / "x.mp3")


def test_opus_refuses_odd_rate(tmp_path):
    with pytest.raises(AudioError, match="Opus cannot store 44100 Hz"):
        save(Audio(np.zeros((1, 10)), 44100), tmp_path / "x.opus")
