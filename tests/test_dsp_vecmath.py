"""The vectorisable exp and log against NumPy's, in ulp, and that a loop using them vectorises
to the same values element by element."""

import numpy as np
from numba import njit

from voxpost.dsp import vecmath


@njit(error_model="numpy")
def _exp_all(x, out):
    for i in range(x.size):
        out[i] = vecmath.exp(x[i])


@njit(error_model="numpy")
def _log_all(x, out):
    for i in range(x.size):
        out[i] = vecmath.log(x[i])


def _ulp(got, want):
    return np.abs(got - want) / np.spacing(np.abs(want))


def test_exp_within_one_ulp_over_its_range():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(vecmath.EXP_MIN, vecmath.EXP_MAX, 200_000), rng.uniform(-1, 1, 100_000),
                        rng.uniform(-90, 0, 100_000), [0.0, -0.0, 1.0, -1.0, vecmath.EXP_MIN, vecmath.EXP_MAX]])
    out = np.empty_like(x)
    _exp_all(x, out)
    assert _ulp(out, np.exp(x)).max() <= 1.0
    assert out[-6] == out[-5] == 1.0
    assert vecmath.exp(-1000.0) == 0.0 and vecmath.exp(1000.0) == vecmath.exp(vecmath.EXP_MAX)


def test_log_within_two_ulp_on_positive_normals():
    rng = np.random.default_rng(1)
    x = np.concatenate([10.0 ** rng.uniform(-307, 308, 200_000), rng.uniform(0.5, 2.0, 100_000),
                        1.0 + rng.uniform(-1e-6, 1e-6, 100_000), [1.0, 2.0, 0.5, np.sqrt(2.0)]])
    out = np.empty_like(x)
    _log_all(x, out)
    assert _ulp(out, np.log(x)).max() <= 2.0
    assert out[-4] == 0.0
