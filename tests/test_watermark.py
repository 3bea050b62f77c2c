"""Tests of voxpost.voice.watermark: measured robustness, false alarms, SNR, payload and file handling."""

from __future__ import annotations

import importlib.util
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
import soxr

from voxpost.audio import load
from voxpost.voice import watermark as wm
from voxpost.voice.watermark import Payload, WatermarkError, detect, embed, make_payload

_BENCH = Path(__file__).resolve().parents[1] / "benchmarks"
if str(_BENCH) not in sys.path:
    sys.path.append(str(_BENCH))                  # the benchmark imports its preamble, benchmarks/_setup.py
_spec = importlib.util.spec_from_file_location("wm_bench", _BENCH / "watermark.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

PAYLOAD = make_payload(profile_id="3FA2c1d0", when=datetime(2026, 11, 23, 14, 59, tzinfo=timezone.utc))


def _speech(corpus: Path, rate: int, name: str = "speech/LJ001-0001.wav") -> np.ndarray:
    a = load(corpus / name)
    return soxr.resample(a.samples.mean(axis=0), a.sample_rate, rate).astype(np.float32)


def _snr_db(host: np.ndarray, marked: np.ndarray) -> float:
    h = host.astype(np.float64)
    return float(10 * np.log10(np.sum(h ** 2) / np.sum((marked.astype(np.float64) - h) ** 2)))


def test_payload_fields_round_trip():
    assert PAYLOAD == Payload(version=PAYLOAD.version, profile_id="3fa2", time_utc="2026-11-23T14:00Z")
    assert PAYLOAD.tool == "voxpost"
    symbols = wm.payload_to_symbols(PAYLOAD)
    assert len(symbols) == wm.N_DATA and all(0 <= s < 1 << wm.BITS_PER_SEQ for s in symbols)
    assert wm.symbols_to_payload(symbols) == PAYLOAD
    broken = list(symbols)
    broken[2] ^= 1
    assert wm.symbols_to_payload(broken) is None                      # CRC catches a bit error
    assert make_payload(profile_id=None).profile_id is None
    with pytest.raises(WatermarkError):
        make_payload(profile_id="not-hex")
    with pytest.raises(WatermarkError):
        make_payload(when=datetime(2024, 1, 1, tzinfo=timezone.utc))


@pytest.fixture(scope="module")
def marked48():
    corpus = bench.CORPUS
    if not (corpus / "MANIFEST.md").is_file():
        pytest.skip("corpus not found")
    host = _speech(corpus, 48000)
    marked, snr = embed(host, 48000, PAYLOAD)
    return host, marked, snr


def test_round_trip_48k_snr_and_payload(marked48):
    host, marked, snr = marked48
    assert marked.shape == host.shape and marked.dtype == np.float32
    assert snr >= 35.0 and abs(_snr_db(host, marked) - snr) < 0.01
    d = detect(marked, 48000)
    assert d.marked and d.score > 12 and d.payload == PAYLOAD and d.offset_s == 0.0
    out = d.to_dict()
    assert out["marked"] is True and out["payload"]["profile_id"] == "3fa2"
    assert out["payload"]["time_utc"] == "2026-11-23T14:00Z"


@pytest.mark.parametrize("name", ["mp3 128k", "48->16->48 kHz", "-6 dB", "+6 dB (float)", "+6 dB (clipped)",
                                  "crop first 30%", "white noise 20 dB SNR"])
def test_survives_transform(marked48, name):
    _, marked, _ = marked48
    y = bench.transforms(marked, 48000, np.random.default_rng(7))[name]
    d = detect(y, 48000)
    assert d.marked and d.score >= wm.THRESHOLD + 2
    if name != "white noise 20 dB SNR":
        assert d.payload == PAYLOAD


def test_round_trip_22k_stereo(corpus):
    a = load(corpus / "speech" / "LJ001-0005.wav")
    host = np.stack([a.samples[0], 0.5 * a.samples[0]])                 # 22.05 kHz stereo
    marked, snr = embed(host, a.sample_rate, PAYLOAD)
    assert marked.shape == host.shape and snr >= 35.0 and abs(_snr_db(host, marked) - snr) < 0.01
    d = detect(marked, a.sample_rate)
    assert d.marked and d.payload == PAYLOAD
    assert detect(marked[1], a.sample_rate).marked                       # each channel carries it


def test_no_false_alarm_on_unmarked_corpus(corpus):
    for name in ("speech/jfk.flac", "multilingual/fleurs-fr-001.ogg", "noise/freesound_573577.wav",
                 "foley/esc50_3-103051-C-19.wav", "video/grid_bbaf2n.mpg"):
        a = load(corpus / name)
        d = detect(a.samples, a.sample_rate)
        assert not d.marked and d.score < wm.THRESHOLD - 0.5 and d.payload is None, name


@pytest.mark.parametrize("seed", range(6))
def test_no_false_alarm_on_noise(seed):
    kind = ("white", "pink", "brown")[seed % 3]
    x = bench.colored_noise(kind, 48000 * (1 + 2 * seed), np.random.default_rng(seed))
    d = detect(x, 48000)
    assert not d.marked and d.score < wm.THRESHOLD - 0.5


def test_marked_noise_is_detected_and_silence_refused():
    x = bench.colored_noise("brown", 48000 * 3, np.random.default_rng(3))   # rumble-like ambience
    marked, snr = embed(x, 48000, PAYLOAD)
    assert snr >= 35.0 and detect(marked, 48000).payload == PAYLOAD
    with pytest.raises(WatermarkError):
        embed(np.zeros((2, 48000 * 2), np.float32), 48000, PAYLOAD)
    with pytest.raises(WatermarkError):
        embed(x[:24000], 48000, PAYLOAD)                                # 0.5 s: too short
    assert not detect(np.zeros(48000, np.float32), 48000).marked


def test_embed_file_refuses_overwrite(corpus, tmp_path):
    src = tmp_path / "in.wav"
    import soundfile as sf

    sf.write(src, _speech(corpus, 48000, "speech/LJ001-0004.wav"), 48000, subtype="PCM_24")
    with pytest.raises(WatermarkError):
        wm.embed_file(src, src, PAYLOAD, overwrite=True)
    out = tmp_path / "out.wav"
    snr = wm.embed_file(src, out, PAYLOAD)
    assert snr >= 35.0 and sf.info(out).subtype == "PCM_24"
    with pytest.raises(WatermarkError):
        wm.embed_file(src, out, PAYLOAD)
    d = wm.detect_file(out)
    assert d.marked and d.payload == PAYLOAD
