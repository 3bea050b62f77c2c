"""The modal resonator bank against its lfilter reference, and its physics: pitch and decay."""

import numpy as np

from voxpost.dsp.modal import modal_bank, modal_bank_reference

SR = 48000


def test_kernel_equals_reference():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=SR // 2) * np.exp(-np.arange(SR // 2) / 400)).astype(np.float32)
    f, t60, g = rng.uniform(80, 12000, 24), rng.uniform(0.02, 2.0, 24), rng.uniform(0.1, 1.0, 24)
    np.testing.assert_allclose(modal_bank(x, SR, f, t60, g), modal_bank_reference(x, SR, f, t60, g), atol=1e-5)


def test_mode_rings_at_its_frequency_and_decays_60_db_in_t60():
    x = np.zeros(SR * 2, np.float32)
    x[0] = 1.0
    y = modal_bank(x, SR, [523.25], [1.0], [1.0]).astype(np.float64)
    spec = np.abs(np.fft.rfft(y[:SR]))
    assert abs(np.fft.rfftfreq(SR, 1 / SR)[spec.argmax()] - 523.25) < 1.5
    env = lambda a, b: 20 * np.log10(np.abs(y[a:b]).max())  # noqa: E731
    assert abs((env(SR, SR + 480) - env(0, 480)) + 60) < 1.0


def test_modes_above_nyquist_are_silent():
    x = np.zeros(1000, np.float32)
    x[0] = 1.0
    assert not np.any(modal_bank(x, 8000, [5000.0], [0.5], [1.0]))
