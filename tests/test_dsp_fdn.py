"""The FDN reverb and the tapped delay against their plain references, and the FDN's physics:
decay time (Schroeder), frequency-dependent decay, decorrelated outputs."""

from math import gcd

import numpy as np
import pytest

from voxpost.dsp.fdn import decay_time_s, fdn, fdn_reference, prime_delays, tapped_delay, tapped_delay_reference

SR = 48000
DELAYS = prime_delays(SR, 20.0, 45.0)


def _impulse(n=1):
    x = np.zeros(n, np.float32)
    x[0] = 1.0
    return x


def test_delays_are_mutually_prime_and_in_range():
    d = prime_delays(SR, 5.0, 60.0)
    assert d.size == 8 and len(set(d.tolist())) == 8
    assert all(gcd(int(a), int(b)) == 1 for i, a in enumerate(d) for b in d[i + 1:])
    assert 0.005 * SR <= d.min() and d.max() <= 0.061 * SR


@pytest.mark.parametrize("lowpass", [None, 2000.0])
def test_kernel_equals_reference(lowpass):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=3000) * np.exp(-np.arange(3000) / 600)).astype(np.float32)
    kw = dict(rt60_s=0.8, rt60_high_s=0.3, delays_samples=prime_delays(SR, 3.0, 11.0), n_out=6000,
              input_lowpass_hz=lowpass)
    np.testing.assert_allclose(fdn(x, SR, **kw), fdn_reference(x, SR, **kw), atol=1e-5)


@pytest.mark.parametrize("rt60", [0.5, 1.5, 3.0])
def test_decay_time_matches_rt60(rt60):
    ir = fdn(_impulse(), SR, rt60_s=rt60, rt60_high_s=rt60, delays_samples=DELAYS, n_out=int(1.2 * rt60 * SR))
    assert abs(decay_time_s(ir, SR) - rt60) < 0.15 * rt60


def test_high_frequencies_decay_at_rt60_high():
    ir = fdn(_impulse(), SR, rt60_s=2.0, rt60_high_s=0.7, delays_samples=DELAYS, n_out=int(2.4 * SR))
    low = decay_time_s(ir, SR, band_hz=(354.0, 707.0))
    high = decay_time_s(ir, SR, band_hz=(11000.0, 22000.0))
    assert abs(low - 2.0) < 0.3 and high < 0.6 * low


def test_outputs_are_decorrelated_and_finite():
    ir = fdn(_impulse(), SR, rt60_s=1.2, rt60_high_s=0.8, delays_samples=DELAYS, n_out=SR)
    assert ir.shape == (2, SR) and ir.dtype == np.float32 and np.isfinite(ir).all()
    assert abs(np.corrcoef(ir.astype(np.float64))[0, 1]) < 0.3
    noise = np.random.default_rng(1).normal(size=SR).astype(np.float32)
    y = fdn(noise, SR, rt60_s=1.2, rt60_high_s=0.8, delays_samples=DELAYS)
    assert abs(np.corrcoef(y.astype(np.float64))[0, 1]) < 0.3


def test_input_lowpass_darkens():
    kw = dict(rt60_s=1.0, rt60_high_s=1.0, delays_samples=DELAYS, n_out=SR)
    bright, dark = fdn(_impulse(), SR, **kw), fdn(_impulse(), SR, input_lowpass_hz=800.0, **kw)

    def centroid(y):
        p = np.abs(np.fft.rfft(y.sum(0))) ** 2
        return (np.fft.rfftfreq(y.shape[1], 1 / SR) * p).sum() / p.sum()

    assert centroid(dark) < 0.5 * centroid(bright)


def test_bad_delays_raise():
    with pytest.raises(ValueError):
        fdn(_impulse(), SR, rt60_s=1.0, rt60_high_s=1.0, delays_samples=[100, 200])
    with pytest.raises(ValueError):
        fdn(_impulse(), SR, rt60_s=0.0, rt60_high_s=1.0, delays_samples=DELAYS)


def test_tapped_delay_equals_reference():
    x = np.random.default_rng(2).normal(size=5000).astype(np.float32)
    d = np.array([[0, 17, 480, 4999], [3, 250, 1200, 6000]])
    g = np.array([[1.0, -0.5, 0.25, 0.1], [0.3, 0.2, -0.7, 1.0]])
    for n_out in (None, 8000):
        np.testing.assert_allclose(tapped_delay(x, d, g, n_out), tapped_delay_reference(x, d, g, n_out), atol=1e-6)
