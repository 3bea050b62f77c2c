"""The banded DTW kernel against its NumPy reference, and the coarse-to-fine warp."""

import numpy as np
import pytest

from voxpost.dsp.dtw import dtw_band, dtw_band_reference


@pytest.mark.parametrize("open_end", [False, True])
def test_full_matrix_matches_reference(open_end):
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(50, 6)), rng.normal(size=(70, 6))
    got, ref = dtw_band(a, b, open_end=open_end), dtw_band_reference(a, b, open_end=open_end)
    assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
    assert got[2] == pytest.approx(ref[2], rel=1e-5)


def test_band_matches_reference():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(60, 4)), rng.normal(size=(90, 4))
    centre = np.arange(60) * 90 // 60
    lo, hi = np.clip(centre - 8, 0, None), np.clip(centre + 8, 1, 90)
    hi[-1] = 90
    got, ref = dtw_band(a, b, lo, hi), dtw_band_reference(a, b, lo, hi)
    assert np.array_equal(got[1], ref[1])
    assert np.all((got[1] >= lo[got[0]]) & (got[1] < hi[got[0]]))


def test_recovers_a_known_warp():
    """b is a time-warped copy of a: the path maps every frame of a to where it went."""
    rng = np.random.default_rng(3)
    a = np.cumsum(rng.normal(size=(200, 3)), axis=0)
    idx = np.sort(np.clip((np.arange(300) * 200 / 300 + 3 * np.sin(np.arange(300) / 20)).astype(int), 0, 199))
    b = a[idx]
    pi, pj, _ = dtw_band(a, b)
    assert pi[0] == 0 and pj[0] == 0 and pi[-1] == 199 and pj[-1] == 299
    assert np.all(np.diff(pi) >= 0) and np.all(np.diff(pj) >= 0)
    assert np.all(np.isin(a[pi], b[pj]).all(axis=1) | (np.abs(a[pi] - b[pj]).max(axis=1) < 3))


def test_bad_bands_are_refused():
    a = np.zeros((5, 2))
    with pytest.raises(ValueError):
        dtw_band(a, a, lo=np.array([1, 1, 1, 1, 1]), hi=np.full(5, 5))
    with pytest.raises(ValueError):
        dtw_band(a, a, lo=np.array([0, 0, 4, 4, 4]), hi=np.array([1, 2, 5, 5, 5]))
