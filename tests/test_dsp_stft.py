"""The low-delay STFT's framing and overlap-add kernels against their NumPy references, across
arbitrary blocks, and apply_gains against its reference."""

import numpy as np
import pytest
import scipy.fft

from voxpost.dsp import spectral
from voxpost.dsp.stft import LowDelaySTFT, frames_reference, overlap_add, overlap_add_reference


@pytest.mark.parametrize("window,hop", [(960, 120), (441, 55), (256, 128)])
def test_framing_and_overlap_add_equal_references_bit_for_bit(window, hop):
    x = np.random.default_rng(0).standard_normal((2, 5000)).astype(np.float32)
    st = LowDelaySTFT(window, hop, 2)
    cuts = [0, 1, 17, hop, 2 * hop + 3, 1000, 4444, 5000]
    specs = [st.analyse(x[:, a:b]) for a, b in zip(cuts, cuts[1:])]
    frames = frames_reference(x, window, hop, st.analysis_f32)
    np.testing.assert_array_equal(np.concatenate(specs, axis=1), scipy.fft.rfft(frames, axis=-1))
    y = scipy.fft.irfft(np.concatenate(specs, axis=1), n=window, axis=-1)
    ola = np.zeros((2, hop))
    parts = [overlap_add(np.ascontiguousarray(y[:, a:b]), st.synthesis[-2 * hop:], ola)
             for a, b in ((0, 1), (1, 5), (5, y.shape[1]))]
    want = overlap_add_reference(y, st.synthesis[-2 * hop:])
    np.testing.assert_array_equal(np.concatenate(parts, axis=1), want)
    st.reset()
    np.testing.assert_array_equal(st.synthesise(np.concatenate(specs, axis=1)), want)   # through stft.irfft


def test_power_equals_numpy():
    spec = (np.random.default_rng(2).standard_normal((2, 7, 33)) * (1 + 1j)).astype(np.complex64)
    np.testing.assert_array_equal(spectral.power(spec), spec.real ** 2 + spec.imag ** 2)


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_apply_gains_equals_reference(mode):
    rng = np.random.default_rng(mode)
    spec = (rng.standard_normal((2, 5, 65)) + 1j * rng.standard_normal((2, 5, 65))).astype(np.complex64)
    gain = rng.uniform(0, 1, spec.shape).astype(np.float32)
    learned = rng.uniform(0, 1, spec.shape).astype(np.float32)
    noise = rng.uniform(-1, 1, (2, 65))
    s1, g1, s2, g2 = spec.copy(), gain.copy(), spec.copy(), gain.copy()
    got = spectral.apply_gains(s1, g1, learned, 0.2, mode, noise)
    want = spectral.apply_gains_reference(s2, g2, learned, 0.2, mode, noise)
    np.testing.assert_array_equal(s1, s2)
    np.testing.assert_array_equal(g1, g2)
    np.testing.assert_allclose(got, want, rtol=1e-12)
