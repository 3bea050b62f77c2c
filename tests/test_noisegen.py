"""voxpost.noisegen: seeded, unit-RMS, finite synthetic noises and SNR mixing."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kurtosis

from voxpost import noisegen as ng

RATE = 16000


@pytest.mark.parametrize("kind", sorted(ng.KINDS))
def test_deterministic_unit_rms_finite_length(kind):
    gen = ng.KINDS[kind]
    a = gen(1.5, RATE, np.random.default_rng(7))
    b = gen(1.5, RATE, np.random.default_rng(7))
    c = gen(1.5, RATE, np.random.default_rng(8))
    assert a.dtype == np.float32 and a.shape == (int(round(1.5 * RATE)),)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)
    assert np.all(np.isfinite(a))
    assert np.sqrt(np.mean(a.astype(np.float64) ** 2)) == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("kind", sorted(ng.KINDS))
def test_odd_lengths_and_rates(kind):
    x = ng.KINDS[kind](0.0123, 8000, np.random.default_rng(0))
    assert x.shape == (98,) and np.all(np.isfinite(x))
    assert ng.KINDS[kind](0.0, RATE, np.random.default_rng(0)).shape == (0,)


def test_generators_do_not_touch_global_random_state():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    for gen in ng.KINDS.values():
        gen(0.5, RATE, np.random.default_rng(1))
    assert np.array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 7.5, 20.0])
def test_mix_at_snr_hits_the_snr(snr_db):
    rng = np.random.default_rng(3)
    speech = rng.standard_normal(RATE * 2).astype(np.float32) * 0.1
    noise = ng.hiss(0.7, RATE, rng)  # shorter than speech: gets tiled
    noisy = ng.mix_at_snr(speech, noise, snr_db)
    assert noisy.shape == speech.shape and noisy.dtype == np.float32
    resid = noisy.astype(np.float64) - speech
    got = 10 * np.log10(np.sum(speech.astype(np.float64) ** 2) / np.sum(resid ** 2))
    assert got == pytest.approx(snr_db, abs=0.01)
    long_noise = ng.hum(5.0, RATE, rng)  # longer: gets cropped
    assert ng.mix_at_snr(speech, long_noise, snr_db).shape == speech.shape


def test_mix_at_snr_rejects_silent_noise():
    with pytest.raises(ValueError):
        ng.mix_at_snr(np.ones(100), np.zeros(10), 0.0)


@pytest.mark.parametrize("seed", range(4))
def test_hum_energy_at_mains_harmonics(seed):
    x = ng.hum(4.0, RATE, np.random.default_rng(seed)).astype(np.float64)
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, 1 / RATE)
    fractions = {}
    for mains in (50.0, 60.0):
        k = np.round(freqs / mains)
        near = (k >= 1) & (np.abs(freqs - k * mains) <= 1.0 + 0.2 * k)  # +-0.2 Hz drift per harmonic
        fractions[mains] = power[near].sum() / power.sum()
    assert max(fractions.values()) > 0.95
    assert min(fractions.values()) < 0.2


def test_crackle_is_impulsive():
    x = ng.crackle(2.0, RATE, np.random.default_rng(5))
    assert kurtosis(x) > 20
    assert kurtosis(ng.hiss(2.0, RATE, np.random.default_rng(5))) < 1


def test_babble_from_real_speech_is_seeded():
    rng = np.random.default_rng(0)
    speech = [np.sin(np.arange(3000) * 0.05) * np.hanning(3000), rng.standard_normal((2, 5000))]
    a = ng.babble_from(speech, 1.0, RATE, np.random.default_rng(1), talkers=4)
    b = ng.babble_from(speech, 1.0, RATE, np.random.default_rng(1), talkers=4)
    assert np.array_equal(a, b) and a.shape == (RATE,) and a.dtype == np.float32
    assert np.sqrt(np.mean(a.astype(np.float64) ** 2)) == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError):
        ng.babble_from([np.zeros(10)], 1.0, RATE, rng)


def test_noise_spectra_are_where_expected():
    def low_fraction(x, hz):
        p = np.abs(np.fft.rfft(x.astype(np.float64))) ** 2
        return p[np.fft.rfftfreq(x.size, 1 / RATE) < hz].sum() / p.sum()

    rng = np.random.default_rng(2)
    assert low_fraction(ng.siren(3.0, RATE, rng), 500) < 0.05       # siren lives at 600-1400 Hz and up
    assert low_fraction(ng.hiss(3.0, RATE, rng), 500) < 0.3          # broadband
