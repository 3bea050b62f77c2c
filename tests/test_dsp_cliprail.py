"""De-clip's rail tracking and clipped-hop scan: the Numba kernel against its NumPy reference."""

import numpy as np
import pytest

from voxpost.dsp.cliprail import scan_hops, scan_hops_reference

HOP, LOOKAHEAD, TOL = 72, 202, 1e-4


def signal(seed):
    """Noise that gets louder in steps and is clipped at a different rail in each step (so peaks
    rise, withdraw rails and new rails are accepted), with stretches of digital silence."""
    rng = np.random.default_rng(seed)
    parts = []
    for level, rail in ((0.05, None), (0.2, 0.15), (0.0, None), (0.5, 0.3), (0.1, None), (0.9, 0.7)):
        x = level * rng.standard_normal(3000)
        parts.append(np.clip(x, -rail, 0.8 * rail) if rail else x)
    return np.concatenate(parts)


def drive(scan, x, n_hops, clip_level):
    """Scan all hops the way DeClip does, 'repairing' each hop the scan stops at (halving its
    samples, which the next hop's 3-sample check may read); the hops stopped at and the state."""
    peak, rail, scanned = np.zeros(2), np.zeros(2), np.zeros(1, np.int64)
    s0 = 40
    stops, k = [], 0
    while k < n_hops:
        k += scan(x, s0 + k * HOP, n_hops - k, HOP, LOOKAHEAD, k * HOP, clip_level, peak, rail, scanned, TOL)
        if k < n_hops:
            stops.append((k, peak.copy(), rail.copy()))
            x[s0 + k * HOP:s0 + (k + 1) * HOP + 2] *= 0.5
            k += 1
    return stops, peak, rail, scanned


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("clip_level", [0.0, 0.25])
def test_kernel_equals_reference(seed, clip_level):
    x = signal(seed)
    n_hops = (x.size - 40 - LOOKAHEAD) // HOP
    got = drive(scan_hops, x.copy(), n_hops, clip_level)
    want = drive(scan_hops_reference, x.copy(), n_hops, clip_level)
    assert [s[0] for s in got[0]] == [s[0] for s in want[0]] and len(got[0]) > 10
    for (_, p1, r1), (_, p2, r2) in zip(got[0], want[0]):
        np.testing.assert_array_equal(p1, p2)
        np.testing.assert_array_equal(r1, r2)
    for a, b in zip(got[1:], want[1:]):
        np.testing.assert_array_equal(a, b)
    if clip_level == 0.0:
        assert np.all(got[2] > 0)      # both polarities found a rail


def test_an_isolated_peak_is_not_a_rail():
    x = np.clip(0.1 * np.random.default_rng(5).standard_normal(2000), -0.3, 0.3)
    x[1000] = 0.9
    x[1001] = x[1002] = 0.89                        # below the peak by more than the tolerance
    peak, rail, scanned = np.zeros(2), np.zeros(2), np.zeros(1, np.int64)
    assert scan_hops(x, 0, 20, HOP, LOOKAHEAD, 0, 0.0, peak, rail, scanned, TOL) == 20
    assert peak[0] == 0.9 and rail[0] == 0.0
    x[1001] = x[1002] = 0.9
    peak, rail, scanned = np.zeros(2), np.zeros(2), np.zeros(1, np.int64)
    assert scan_hops(x, 0, 20, HOP, LOOKAHEAD, 0, 0.0, peak, rail, scanned, TOL) == 1000 // HOP
    assert rail[0] == 0.9
