"""The eight-taps-per-sweep FIR accumulator equals its NumPy reference bit for bit."""

import numpy as np
import pytest

from voxpost.dsp.taps import taps_into, taps_into_reference


@pytest.mark.parametrize("ntap", [1, 7, 8, 9, 17, 33])
@pytest.mark.parametrize("step", [1, -1])
def test_taps_into_equals_reference_bit_for_bit(ntap, step):
    rng = np.random.default_rng(ntap)
    x = rng.standard_normal(400)
    c = rng.standard_normal(ntap)
    base = 40 if step == 1 else 200
    got = rng.standard_normal(150)
    want = got.copy()
    taps_into(got, x, base, step, c, 150)
    taps_into_reference(want, x, base, step, c, 150)
    assert np.array_equal(got, want)
