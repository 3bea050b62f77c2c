"""Voice activity (silero, sequence ONNX through onnxruntime): equal to silero's own streaming
model, split-invariant, speech found where it is on real recordings, nothing on silence/noise."""

from __future__ import annotations

import numpy as np
import pytest
import soxr

from voxpost.audio import load
from voxpost.speech import vad


def _lj16(corpus, name="LJ001-0002.wav"):
    a = load(corpus / "speech" / name)
    return soxr.resample(a.samples[0], a.sample_rate, 16000).astype(np.float32)


def test_equals_silero_streaming_model_frame_by_frame(corpus):
    """The reference: silero's per-frame ONNX model (silero_vad.onnx) driven the way its own
    OnnxWrapper does, one 512-sample frame with 64 samples of context at a time."""
    import onnxruntime as ort

    x = _lj16(corpus)
    x = x[: x.size // 512 * 512]
    sess = ort.InferenceSession(str(vad.model_path().with_name("silero_vad.onnx")),
                                providers=["CPUExecutionProvider"])
    state, ctx, ref = np.zeros((2, 1, 128), np.float32), np.zeros((1, 64), np.float32), []
    for i in range(0, x.size, 512):
        inp = np.concatenate([ctx, x[None, i:i + 512]], axis=1)
        out, state = sess.run(None, {"input": inp, "state": state, "sr": np.array(16000, np.int64)})
        ctx = inp[:, -64:]
        ref.append(float(out[0, 0]))
    got = vad.VoiceActivity().probabilities(x)
    assert got.shape == (len(ref),) and np.abs(got - np.array(ref)).max() < 1e-4


def test_any_split_gives_the_same_probabilities(corpus):
    x = _lj16(corpus)
    v = vad.VoiceActivity(max_frames=7)
    whole = v.probabilities(x)
    v.reset()
    cuts = np.r_[0, np.sort(np.random.default_rng(1).integers(0, x.size, 20)), x.size]
    parts = np.concatenate([v.probabilities(x[a:b]) for a, b in zip(cuts, cuts[1:])])
    assert np.array_equal(whole, parts)


def test_speech_found_where_it_starts(corpus):
    """LJ001-0002 placed 1 s into silence: the region starts within 100 ms of the energy onset
    and ends within 150 ms of the energy offset."""
    s = _lj16(corpus)
    x = np.concatenate([np.zeros(16000, np.float32), s, np.zeros(16000, np.float32)])
    e = np.convolve(s ** 2, np.ones(160) / 160, "same")
    loud = np.flatnonzero(e > e.max() * 1e-3)
    onset, offset = 1.0 + loud[0] / 16000, 1.0 + loud[-1] / 16000
    regions = vad.speech_regions(x, 16000)
    assert len(regions) >= 1
    assert abs(regions[0][0] - onset) < 0.10, (regions, onset)
    assert abs(regions[-1][1] - offset) < 0.15, (regions, offset)


def test_jfk_speech_fraction_and_rates(corpus):
    a = load(corpus / "speech" / "jfk.flac")                      # 44.1 kHz stereo
    regions = vad.speech_regions(a.samples, a.sample_rate)
    covered = sum(e - s for s, e in regions)
    assert 6.0 < covered < 10.5 and len(regions) >= 3             # measured 7.8 s in 5 regions
    low = soxr.resample(a.samples[0], a.sample_rate, 8000).astype(np.float32)
    covered8 = sum(e - s for s, e in vad.speech_regions(low, 8000))
    assert abs(covered8 - covered) < 1.5                          # a phone-band copy agrees


@pytest.mark.parametrize("kind", ["silence", "white noise", "hum"])
def test_no_speech_in_non_speech(kind):
    t = np.arange(16000 * 4) / 16000
    x = {"silence": np.zeros(t.size),
         "white noise": 0.05 * np.random.default_rng(0).standard_normal(t.size),
         "hum": 0.1 * np.sin(2 * np.pi * 50 * t) + 0.05 * np.sin(2 * np.pi * 150 * t)}[kind]
    assert vad.speech_regions(x.astype(np.float32), 16000) == []


def test_regions_rules_on_given_probabilities():
    f = vad.FRAME_S
    p = np.zeros(100)
    p[10:30] = 0.9          # 640 ms of speech
    p[30:32] = 0.4          # hysteresis: 0.4 >= 0.35 keeps it on
    p[32:33] = 0.1          # one off frame (32 ms < 100 ms): bridged
    p[33:40] = 0.9
    p[60:63] = 0.9          # 96 ms: too short, dropped
    r = vad.regions_from_probabilities(p, pad_ms=0.0)
    assert r == [(round(10 * f, 4), round(40 * f, 4))]
