"""The Numba mask-inference kernel against its NumPy reference and against the torch model
(``DenoiseNet.forward`` on the features of ``denoise_model``), on tiny nets and the shipped one."""

import numpy as np
import pytest
import torch

from voxpost.audio import load, resample
from voxpost.clean import denoise_model as dm
from voxpost.dsp import maskgru
from voxpost.dsp.stft import LowDelaySTFT

#: Largest gain difference allowed between the kernel and torch / the reference (float32 nets).
TOL = 1e-5


def tiny_net(seed):
    torch.manual_seed(seed)
    net = dm.DenoiseNet(input_size=8, hidden=8, head=8).eval()
    with torch.no_grad():
        net.head2.bias.uniform_(-3.0, 3.0)
    return net


def power_of(x, sr, window, hop):
    spec = LowDelaySTFT(window, hop, x.shape[0]).analyse(x.astype(np.float32))
    return spec.real ** 2 + spec.imag ** 2


def speech_power(corpus, sr=48000, channels=1):
    x = resample(load(corpus / "noisy" / "p287_003_noisy.wav"), sr).samples[:1, :2 * sr]
    if channels == 2:
        x = np.concatenate([x, 0.3 * x[:, ::-1]])
    return power_of(x, sr, round(0.020 * sr), round(0.0025 * sr))


def setup(net, sr, window, hop, channels):
    est = dm.MaskEstimator(net, sr, window, hop, channels)
    return est.weights, est.framing, maskgru.new_state(channels, est.weights, dm.N_BANDS)


def torch_gains(net, power, sr, window, hop):
    """The torch model's gains for a whole stream (features from its first frame)."""
    logp = dm.band_log_power(power, sr, window, hop)
    feats, _ = dm.features(logp, None, dm.ema_coefficient(hop, sr))
    with torch.no_grad():
        bands, _ = net(torch.from_numpy(feats.astype(np.float32)))
    to_bins = dm.band_to_bins(sr, window).T.astype(np.float32)
    return np.clip(bands.numpy() @ to_bins, 0.0, 1.0)


def kernel_gains(w, fr, state, power, sizes):
    parts, at = [], 0
    for n in sizes:
        out = np.empty((power.shape[0], n, power.shape[2]), np.float32)
        maskgru.mask_gains(np.ascontiguousarray(power[:, at:at + n]), w, fr, *state, out)
        parts.append(out)
        at += n
    return np.concatenate(parts, axis=1)


@pytest.mark.parametrize("sr, window", [(48000, 960), (16000, 320), (44100, 882)])
def test_framing_round_trip(sr, window):
    pool, to_bins = dm.band_matrix(sr, window), dm.band_to_bins(sr, window)
    fr = maskgru.make_framing(pool, to_bins, 1.0, 0.0, 0.0, 1.0, 0.5)
    got_pool, got_to_bins = maskgru.framing_matrices(fr, pool.shape[1])
    np.testing.assert_array_equal(got_pool, pool)
    np.testing.assert_array_equal(got_to_bins, to_bins.astype(np.float32))
    assert fr.bin_runs.shape[0] <= 2 * dm.N_BANDS      # runs between band peaks, not one per bin


@pytest.mark.parametrize("sr, window, hop", [(16000, 320, 40), (48000, 960, 120)])
def test_kernel_equals_reference_and_torch_across_calls(sr, window, hop):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, sr // 2)) * np.linspace(0.001, 0.3, sr // 2)
    power = power_of(x, sr, window, hop)
    frames = power.shape[1]
    for seed in (0, 1):
        net = tiny_net(seed)
        w, fr, st_k = setup(net, sr, window, hop, 2)
        st_r = maskgru.new_state(2, w, dm.N_BANDS)
        sizes = [3, 1, 4, 9, 0, frames - 17]
        got = kernel_gains(w, fr, st_k, power, sizes)
        ref = np.concatenate([maskgru.mask_gains_reference(power[:, a:a + n], w, fr, *st_r)
                              for a, n in zip(np.cumsum([0, *sizes[:-1]]), sizes)], axis=1)
        assert np.abs(got - ref).max() <= TOL
        for a, b in zip(st_k, st_r):
            np.testing.assert_allclose(a, b, rtol=0, atol=TOL)
        assert np.abs(got - torch_gains(net, power, sr, window, hop)).max() <= TOL


def test_any_split_is_bit_identical():
    sr, window, hop = 48000, 960, 120
    power = power_of(np.random.default_rng(1).standard_normal((1, 9600)) * 0.1, sr, window, hop)
    w, fr, _ = setup(tiny_net(2), sr, window, hop, 1)
    whole = kernel_gains(w, fr, maskgru.new_state(1, w, dm.N_BANDS), power, [power.shape[1]])
    blocks = kernel_gains(w, fr, maskgru.new_state(1, w, dm.N_BANDS), power, [1, 2, 5] + [4] * 18)
    np.testing.assert_array_equal(blocks, whole)


def test_shipped_model_kernel_matches_torch_on_real_speech(corpus):
    net = dm.load_default()
    for sr, channels in ((48000, 2), (16000, 1)):
        window, hop = round(0.020 * sr), round(0.0025 * sr)
        power = speech_power(corpus, sr, channels)
        w, fr, st = setup(net, sr, window, hop, channels)
        got = kernel_gains(w, fr, st, power, [4] * (power.shape[1] // 4))
        want = torch_gains(net, power, sr, window, hop)[:, :got.shape[1]]
        assert np.abs(got - want).max() <= TOL
        assert 0.0 <= got.min() and got.max() <= 1.0 and got.std() > 0.05   # a real mask, not a constant


def test_shipped_model_kernel_matches_reference(corpus):
    net = dm.load_default()
    power = speech_power(corpus)[:, :200]
    w, fr, st_k = setup(net, 48000, 960, 120, 1)
    st_r = maskgru.new_state(1, w, dm.N_BANDS)
    got = kernel_gains(w, fr, st_k, power, [power.shape[1]])
    assert np.abs(got - maskgru.mask_gains_reference(power, w, fr, *st_r)).max() <= TOL
