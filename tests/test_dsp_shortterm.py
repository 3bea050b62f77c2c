"""The live loudness gain kernel (Loudness short_term) against its NumPy reference."""

import math

import numpy as np
import pytest

from voxpost.clean.bs1770 import _channel_weights, k_weighting_sos
from voxpost.dsp import shortterm

FS = 48000


def programme(channels, seconds=8.0, seed=0):
    """Noise in level steps (quiet, loud, a gap of silence, medium), so the gain cuts, boosts
    and holds."""
    rng = np.random.default_rng(seed)
    n = int(seconds * FS)
    level = np.repeat([0.01, 0.3, 0.0, 0.05], n // 4)
    return (rng.standard_normal((channels, n)) * level).astype(np.float32)


@pytest.mark.parametrize("channels", [1, 2, 6])
def test_kernel_equals_reference_across_blocks(channels):
    x = programme(channels)
    sos, w = k_weighting_sos(FS), _channel_weights(channels)
    params = shortterm.params_vector(hop=4800, target_lufs=-23.0, hold_below_lufs=-60.0,
                                     adapt_coef=math.exp(-1 / FS), max_gain_db=20.0, max_cut_db=60.0)
    st_k = shortterm.new_state(channels, sos.shape[0], 30, 3.0)
    st_r = shortterm.new_state(channels, sos.shape[0], 30, 3.0)
    cuts = list(range(0, 4800 * 3, 480)) + [4800 * 3 + 7, 20000, x.shape[1]]
    got, ref = [], []
    for a, b in zip(cuts, cuts[1:]):
        out = np.empty((channels, b - a), np.float32)
        shortterm.short_term_block(x[:, a:b], sos, w, *st_k, params, out)
        got.append(out)
        ref.append(shortterm.short_term_reference(x[:, a:b], sos, w, *st_r, params))
        assert st_k[2][shortterm.GAIN_DB] == pytest.approx(st_r[2][shortterm.GAIN_DB], abs=1e-9)
    got, ref = np.concatenate(got, axis=1), np.concatenate(ref, axis=1)
    # rounding only (sum order, power by multiplication): a float32 step of the output at most
    assert np.abs(got.astype(np.float64) - ref).max() <= 2 * np.spacing(np.float32(np.abs(ref).max()))
    np.testing.assert_array_equal(st_k[0], st_r[0])           # the K-weighting filters, exactly
    np.testing.assert_allclose(st_k[1], st_r[1], rtol=1e-12)  # the hop mean squares
    np.testing.assert_allclose(st_k[2], st_r[2], rtol=1e-12)
    assert st_k[2][shortterm.HOPS_SEEN] == x.shape[1] // 4800


def test_gain_holds_in_silence_and_moves_toward_target():
    x = programme(1, seconds=16.0)                # quarters of 4 s: quiet, loud, silent, medium
    sos, w = k_weighting_sos(FS), _channel_weights(1)
    params = shortterm.params_vector(hop=4800, target_lufs=-23.0, hold_below_lufs=-60.0,
                                     adapt_coef=math.exp(-1 / (0.5 * FS)), max_gain_db=20.0, max_cut_db=60.0)
    zi, ring, st = shortterm.new_state(1, sos.shape[0], 30, 0.0)
    gains, desired = [], []
    for a in range(0, x.shape[1], 480):
        out = np.empty((1, 480), np.float32)
        shortterm.short_term_block(x[:, a:a + 480], sos, w, zi, ring, st, params, out)
        gains.append(st[shortterm.GAIN_DB])
        desired.append(st[shortterm.DESIRED_DB])
    gains, desired = np.array(gains), np.array(desired)
    q = 400                                       # blocks per quarter
    assert gains[q - 1] > 5.0                     # the quiet start is boosted ...
    assert gains[2 * q - 1] < -5.0                # ... the loud part cut
    # silence: once the 3 s window holds nothing else the desired gain stops moving (no pumping
    # up), and the gain closes in on it
    assert np.ptp(desired[2 * q + 310:3 * q]) == 0.0
    gap = np.abs(gains - desired)[2 * q + 310:3 * q]
    assert np.all(np.diff(gap) < 0) and gap[-1] < 0.2 * gap[0]
    assert st[shortterm.SHORT_TERM_LUFS] == pytest.approx(st[shortterm.LUFS_IN])
