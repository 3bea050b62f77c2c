"""Damped chirping grains and FM notes against their references, and the bubble's rising pitch."""

import numpy as np

from voxpost.dsp.grains import damped_grains, damped_grains_reference, fm_notes, fm_notes_reference

SR = 48000


def test_kernels_equal_their_references():
    rng = np.random.default_rng(0)
    n, k = 20000, 40
    on, f = rng.integers(-10, n + 10, k), rng.uniform(100, 8000, k)
    d, c, a = rng.uniform(1e-4, 2e-2, k), rng.uniform(0, 3, k), rng.uniform(-1, 1, k)
    np.testing.assert_allclose(damped_grains(n, SR, on, f, d, c, a), damped_grains_reference(n, SR, on, f, d, c, a),
                               atol=1e-9)
    args = (on, rng.integers(0, 5000, k), f, f * rng.uniform(0.5, 2, k), rng.uniform(5, 40, k), rng.uniform(0, .1, k),
            rng.uniform(0, .5, k), a)
    np.testing.assert_allclose(fm_notes(n, SR, *args), fm_notes_reference(n, SR, *args), atol=1e-9)


def test_bubble_pitch_rises():
    y = damped_grains(4800, SR, [0], [1000.0], [0.05], [4.0], [1.0])
    zc = np.flatnonzero(np.diff(np.signbit(y)))  # zero crossings get closer: pitch rises
    assert np.diff(zc[-10:]).mean() < np.diff(zc[:10]).mean()
