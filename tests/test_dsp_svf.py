"""The TPT state-variable band-pass against its reference, and its unity gain at the centre."""

import numpy as np

from voxpost.dsp.svf import svf_bandpass, svf_bandpass_reference

SR = 48000


def test_kernel_equals_reference():
    rng = np.random.default_rng(0)
    n = 20000
    x, fc = rng.normal(size=n), np.geomspace(50, 20000, n)
    np.testing.assert_allclose(svf_bandpass(x, SR, fc, 4.0), svf_bandpass_reference(x, SR, fc, 4.0), atol=1e-9)
    np.testing.assert_allclose(svf_bandpass(x, SR, 1000.0, 40.0), svf_bandpass_reference(x, SR, 1000.0, 40.0), atol=1e-9)


def test_unity_gain_band_pass_at_its_centre():
    t = np.arange(SR) / SR
    for f0 in (200.0, 3000.0):
        on = svf_bandpass(np.sin(2 * np.pi * f0 * t), SR, f0, 10.0)[SR // 2:]
        off = svf_bandpass(np.sin(2 * np.pi * 4 * f0 * t), SR, f0, 10.0)[SR // 2:]
        assert abs(np.abs(on).max() - 1.0) < 0.01 and np.abs(off).max() < 0.05
