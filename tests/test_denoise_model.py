"""Tests of the learned denoise mask, on tiny checkpoints in the real on-disk format and on the
shipped ``models/denoise-gru.pt``."""

import json
import os
import shutil

import numpy as np
import pytest
import soxr
import torch

from voxpost.audio import load
from voxpost.clean import denoise_model as dm
from voxpost.clean.denoise_model import (BAND_EDGES_HZ, GROUP, N_BANDS, DenoiseNet, MaskEstimator,
                                         analyse_batch, band_log_power, band_matrix, band_to_bins,
                                         bin_freqs, load_checkpoint, load_default,
                                         save_checkpoint)
from voxpost.dsp.stft import LowDelaySTFT
from voxpost.errors import ModelError
from voxpost.models import REPO_MODELS_DIR, Registry, sha256_file

FRAMINGS = [(16000, 320, 40), (48000, 960, 120), (44100, 882, 110), (8000, 160, 20)]
DAY_NS = 86_400 * 10**9


def tiny_net(seed=0):
    torch.manual_seed(seed)
    net = DenoiseNet(input_size=8, hidden=8, head=8).eval()
    with torch.no_grad():  # a biased output layer so gains are not all near 0.5
        net.head2.bias.uniform_(-3.0, 3.0)
    return net


def stft_power(x, sr, window, hop):
    st = LowDelaySTFT(window, hop, x.shape[0])
    return np.abs(st.analyse(x)) ** 2


def noisy_speechlike(seconds, sr, channels=1, seed=0):
    """Noise with a syllable-rate envelope in a few formant-ish bands, plus steady hiss."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    env = (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t)) ** 2
    x = rng.standard_normal((channels, n)) * 0.02
    for f0 in (200, 400, 1200):
        x += env * 0.1 * np.sin(2 * np.pi * f0 * t + rng.uniform(0, 6, (channels, 1)))
    return x


def sisdr(est, ref):
    a = np.dot(est, ref) / np.dot(ref, ref)
    target = a * ref
    return 10 * np.log10(np.sum(target ** 2) / np.sum((est - target) ** 2))


def enhance(net, x, sr):
    """Mask a mono signal the way the Denoise stage does; output aligned with the input."""
    window, hop = round(0.020 * sr), round(0.0025 * sr)
    st = LowDelaySTFT(window, hop, 1)
    est = MaskEstimator(net, sr, window, hop, 1)
    spec = st.analyse(np.concatenate([x, np.zeros(2 * hop)])[None])
    y = st.synthesise(spec * est.gains(np.abs(spec) ** 2))[0]
    return y[hop:hop + x.size]  # frame f synthesises input samples [(f - 1) * hop, f * hop)


def make_old(path):
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - DAY_NS))


def registry_table(name, file, sha256):
    keys = {"capability": "denoise", "backend": "torch", "url": "https://example.invalid/x.pt",
            "sha256": sha256, "size_mb": 0.1, "licence": "MIT", "file": file,
            "description": "a test checkpoint"}
    return f'["{name}"]\n' + "\n".join(f"{k} = {json.dumps(v)}" for k, v in keys.items()) + "\n"


# ---------------------------------------------------------------------------------------------
# framing and bands


@pytest.mark.parametrize("sr, window, hop", FRAMINGS[:2])
def test_analyse_batch_matches_low_delay_stft(sr, window, hop):
    x = np.random.default_rng(1).standard_normal((3, 7 * hop + 5 + sr // 10))
    st = LowDelaySTFT(window, hop, 3)
    streamed = np.concatenate([st.analyse(x[:, :301]), st.analyse(x[:, 301:])], axis=1)
    # LowDelaySTFT transforms in float32, analyse_batch in float64
    np.testing.assert_allclose(analyse_batch(x, window, hop), streamed, rtol=0,
                               atol=1e-5 * np.abs(streamed).max())


@pytest.mark.parametrize("sr, window, hop", FRAMINGS)
def test_bands_cover_0_to_8k_and_top_band_above(sr, window, hop):
    freqs = bin_freqs(sr, window)
    pool, interp = band_matrix(sr, window), band_to_bins(sr, window)
    assert pool.shape == (N_BANDS, window // 2 + 1) and interp.shape == (window // 2 + 1, N_BANDS)
    assert np.all(pool >= 0) and np.all(interp >= 0)
    inside = freqs <= 8000
    np.testing.assert_allclose(pool.sum(axis=0)[inside], 1.0, atol=1e-12)
    assert np.all(pool[:, ~inside] == 0)
    np.testing.assert_allclose(interp.sum(axis=1), 1.0, atol=1e-12)
    top = np.zeros(N_BANDS)
    top[-1] = 1.0
    assert np.all(interp[~inside] == top)
    np.testing.assert_allclose(interp[inside], pool[:, inside].T)
    # every band whose triangle lies below Nyquist gets at least two bins
    assert BAND_EDGES_HZ[0] == 0 and BAND_EDGES_HZ[-1] == 8000 and len(BAND_EDGES_HZ) == 32
    reachable = np.asarray(BAND_EDGES_HZ) <= sr / 2 - 100
    assert np.all((pool[reachable] > 0).sum(axis=1) >= 2)


def test_band_power_is_sample_rate_independent():
    x16 = noisy_speechlike(1.0, 16000)[0]
    x48 = soxr.resample(x16, 16000, 48000)
    l16 = band_log_power(np.abs(analyse_batch(x16, 320, 40)) ** 2, 16000, 320, 40)
    l48 = band_log_power(np.abs(analyse_batch(x48, 960, 120)) ** 2, 48000, 960, 120)
    # frames cover the same times at both rates; soxr's filter delay blurs the first frames
    diff = np.abs(l16 - l48)[40:-40]
    assert diff.mean() < 0.02 and np.median(diff) < 0.02  # 0.02 is 0.5 dB in these units


# ---------------------------------------------------------------------------------------------
# streaming estimator


@pytest.mark.parametrize("sr, window, hop", FRAMINGS[:2])
def test_any_split_of_frames_gives_the_same_gains(sr, window, hop):
    net = tiny_net()
    power = stft_power(noisy_speechlike(0.5, sr, channels=2), sr, window, hop)
    frames = power.shape[1]
    whole = MaskEstimator(net, sr, window, hop, 2).gains(power)
    assert whole.shape == power.shape and whole.dtype == np.float32
    rng = np.random.default_rng(3)
    splits = [[1] * 23, [GROUP] * 9, [GROUP - 1, GROUP + 1, 0, 2 * GROUP + 3, 7],
              list(rng.integers(0, 40, 12))]
    est = MaskEstimator(net, sr, window, hop, 2)
    for sizes in splits:
        est.reset()
        bounds = np.minimum(np.cumsum([0, *sizes]), frames).tolist() + [frames]
        parts = [est.gains(power[:, a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
        np.testing.assert_allclose(np.concatenate(parts, axis=1), whole, rtol=0, atol=2e-6)


def test_gains_are_causal():
    sr, window, hop = 16000, 320, 40
    net = tiny_net(1)
    power = stft_power(noisy_speechlike(0.3, sr), sr, window, hop)
    base = MaskEstimator(net, sr, window, hop, 1).gains(power)
    for f in (0, 37, 38, 39, 40, 77):
        changed = power.copy()
        changed[:, f + 1:] *= 100.0
        g = MaskEstimator(net, sr, window, hop, 1).gains(changed)
        np.testing.assert_allclose(g[:, :f + 1], base[:, :f + 1], rtol=0, atol=1e-6)
        assert not np.allclose(g[:, f + 1:], base[:, f + 1:])


def test_gains_in_unit_range_and_finite_on_extremes():
    sr, window, hop = 48000, 960, 120
    net = tiny_net(2)
    est = MaskEstimator(net, sr, window, hop, 2)
    rng = np.random.default_rng(4)
    for power in (np.zeros((2, 13, 481)), np.full((2, 13, 481), 1e12),
                  rng.exponential(size=(2, 13, 481)) * 10.0 ** rng.uniform(-12, 6, (2, 13, 1))):
        g = est.gains(power)
        assert np.all(np.isfinite(g)) and g.min() >= 0.0 and g.max() <= 1.0
    assert est.gains(np.zeros((2, 0, 481))).shape == (2, 0, 481)
    with pytest.raises(ValueError, match="power must be"):
        est.gains(np.zeros((1, 3, 481)))


def test_reset_starts_a_new_stream():
    net = tiny_net()
    power = stft_power(noisy_speechlike(0.2, 16000), 16000, 320, 40)
    est = MaskEstimator(net, 16000, 320, 40, 1)
    first = est.gains(power)
    assert not np.allclose(est.gains(power), first)  # state carried over
    est.reset()
    np.testing.assert_array_equal(est.gains(power), first)


# ---------------------------------------------------------------------------------------------
# checkpoints and the registry


def test_checkpoint_round_trip_is_exact(tmp_path):
    net = tiny_net()
    path = save_checkpoint(net, tmp_path / "tiny.pt", train_steps=3)
    raw = torch.load(path, weights_only=True)
    assert raw["hparams"] == net.hparams and raw["feature_version"] == dm.FEATURE_VERSION
    assert raw["train_steps"] == 3
    loaded = load_checkpoint(path)
    assert loaded.hparams == net.hparams
    power = stft_power(noisy_speechlike(0.3, 48000), 48000, 960, 120)
    a = MaskEstimator(net, 48000, 960, 120, 1).gains(power)
    b = MaskEstimator(loaded, 48000, 960, 120, 1).gains(power)
    np.testing.assert_array_equal(a, b)


def test_checkpoint_of_other_features_is_refused(tmp_path):
    path = save_checkpoint(tiny_net(), tmp_path / "tiny.pt", feature_version=dm.FEATURE_VERSION + 1)
    with pytest.raises(ValueError, match="feature version"):
        load_checkpoint(path)
    torch.save({"state_dict": {}}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a voxpost denoise-gru checkpoint"):
        load_checkpoint(tmp_path / "other.pt")


def test_registry_loads_and_refuses_a_tampered_file(tmp_path, monkeypatch):
    net = tiny_net()
    models = tmp_path / "models"
    models.mkdir()
    ckpt = save_checkpoint(net, models / "denoise-gru.pt")
    make_old(ckpt)
    registry = tmp_path / "registry.toml"
    registry.write_text(registry_table(dm.REGISTRY_NAME, "denoise-gru.pt", sha256_file(ckpt)))
    monkeypatch.setenv("VOXPOST_MODELS", str(models))
    loaded = load_default(Registry.load(registry))
    power = stft_power(noisy_speechlike(0.2, 16000), 16000, 320, 40)
    np.testing.assert_array_equal(MaskEstimator(loaded, 16000, 320, 40, 1).gains(power),
                                  MaskEstimator(net, 16000, 320, 40, 1).gains(power))
    (models / "denoise-gru.pt.verified").unlink()
    data = bytearray(ckpt.read_bytes())
    data[len(data) // 2] ^= 0xFF
    ckpt.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="sha256 mismatch"):
        load_default(Registry.load(registry))


# ---------------------------------------------------------------------------------------------
# the shipped model


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """The shipped checkpoint through the repository's registry entry (sha256-verified). A copy
    is loaded so that the verification stamp is written in a temporary directory, not the repo."""
    models = tmp_path_factory.mktemp("models")
    shutil.copy2(REPO_MODELS_DIR / "denoise-gru.pt", models / "denoise-gru.pt")
    mp = pytest.MonkeyPatch()
    mp.setenv("VOXPOST_MODELS", str(models))
    mp.delenv("VOXPOST_REGISTRY", raising=False)
    try:
        reg = Registry.load()
        assert reg.path(dm.REGISTRY_NAME) == models / "denoise-gru.pt"
        yield load_default(reg)
    finally:
        mp.undo()


def test_shipped_model_is_small_and_registered(shipped):
    entry = Registry.load(REPO_MODELS_DIR / "registry.toml").get(dm.REGISTRY_NAME)
    assert entry.file == "denoise-gru.pt" and entry.sha256
    assert sha256_file(REPO_MODELS_DIR / "denoise-gru.pt") == entry.sha256
    assert (REPO_MODELS_DIR / "denoise-gru.pt").stat().st_size < 5e6
    assert sum(p.numel() for p in shipped.parameters()) < 1_000_000


def test_shipped_model_improves_si_sdr_on_a_real_noisy_pair(shipped, corpus):
    noisy = load(corpus / "noisy" / "p287_003_noisy.wav")
    clean = load(corpus / "noisy" / "p287_003_clean.wav")
    x = noisy.samples[0].astype(np.float64)
    ref = clean.samples[0].astype(np.float64)
    before = sisdr(x, ref)
    after = sisdr(enhance(shipped, x, noisy.sample_rate), ref)
    print(f"p287_003 SI-SDR {before:.2f} -> {after:.2f} dB ({after - before:+.2f} dB)")
    assert after - before > 1.5  # measured +2.50 dB (4.24 -> 6.74); oracle band gains: +7.1 dB


def test_shipped_model_runs_at_48k_stereo(shipped):
    power = stft_power(noisy_speechlike(0.5, 48000, channels=2), 48000, 960, 120)
    g = MaskEstimator(shipped, 48000, 960, 120, 2).gains(power)
    assert g.shape == power.shape and np.all(np.isfinite(g))
    assert 0.0 <= g.min() and g.max() <= 1.0
