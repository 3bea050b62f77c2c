"""Placing a take in space: distance (level, air absorption), rooms (RT60, slaps, darkness,
direct-to-reverberant ratio), errors and determinism (speed: benchmarks/foley.py)."""

import numpy as np
import pytest

from voxpost.dsp.fdn import decay_time_s
from voxpost.foley.model import FoleyError
from voxpost.foley.space import (SPACE_ALIASES, SPACES, air_absorption, air_absorption_db_per_m, distance_gain_db,
                                 get_space, place)

SR = 48000
NOISE = np.random.default_rng(0).normal(size=SR).astype(np.float32) * 0.1


def _impulse(n=SR // 10):
    x = np.zeros(n, np.float32)
    x[0] = 1.0
    return x


def _centroid(y):
    p = np.abs(np.fft.rfft(np.atleast_2d(y).astype(np.float64).sum(0))) ** 2
    return float((np.fft.rfftfreq(np.atleast_2d(y).shape[-1], 1 / SR) * p).sum() / p.sum())


def _rms_db(y):
    return 10 * np.log10(np.mean(np.asarray(y, np.float64) ** 2))


def _drr_db(ir, direct_ms=3.0):
    e = (ir.astype(np.float64) ** 2).sum(0)
    k = int(direct_ms * 1e-3 * SR)
    return 10 * np.log10(e[:k].sum() / e[k:].sum())


def test_air_absorption_follows_iso_9613():
    a = air_absorption_db_per_m([1000.0, 4000.0, 10000.0])
    assert 0.003 < a[0] < 0.008 and 0.012 < a[1] < 0.03 and 0.07 < a[2] < 0.15
    far = air_absorption(NOISE, SR, 300.0)
    assert far.shape == NOISE.shape and _centroid(far) < 0.5 * _centroid(NOISE)


def test_distance_gain():
    assert distance_gain_db(0.5) == 0.0 and distance_gain_db(1.0) == 0.0
    assert distance_gain_db(2.0) == pytest.approx(-6.02, abs=0.01)
    assert distance_gain_db(10.0) == pytest.approx(-20.0) and distance_gain_db(1000.0) == -30.0


def test_farther_is_quieter_and_darker():
    ys = {r: place(NOISE, SR, distance_m=r, space="dry") for r in (1.0, 50.0, 500.0)}
    c = [_centroid(y) for y in ys.values()]
    lv = [_rms_db(y) for y in ys.values()]
    assert c[0] > c[1] > c[2] and lv[0] > lv[1] > lv[2]
    t = np.arange(SR) / SR  # at 250 Hz the air absorbs next to nothing: the level is the inverse-square law's
    tone = (0.5 * np.sin(2 * np.pi * 250 * t)).astype(np.float32)
    ref = _rms_db(place(tone, SR, space="dry")[:, 2000:-2000])
    for r in (1.0, 50.0, 500.0):
        y = place(tone, SR, distance_m=r, space="dry")
        assert np.allclose(y[0], y[1])  # centred
        assert abs(_rms_db(y[:, 2000:-2000]) - ref - distance_gain_db(r)) < 1.0


@pytest.mark.parametrize("name", [n for n, s in SPACES.items() if s.rt60_s > 0])
def test_room_rt60_matches_nominal(name):
    sp = SPACES[name]
    ir = place(_impulse(), SR, distance_m=sp.critical_distance_m, space=name)
    rt = decay_time_s(ir, SR, band_hz=(707.0, 1414.0))  # the 1 kHz octave, where RT60 is quoted
    assert abs(rt - sp.rt60_s) < 0.25 * sp.rt60_s, rt
    assert ir.shape[1] >= _impulse().size + sp.rt60_s * SR  # the tail is not cut off


@pytest.mark.parametrize("name", ["dry", "open field"])
@pytest.mark.parametrize("distance", [0.1, 1.0, 30.0])
def test_dry_and_open_field_add_no_tail(name, distance):
    ir = place(_impulse(), SR, distance_m=distance, space=name)
    assert ir.shape[1] - _impulse().size <= 0.05 * SR
    e = (ir.astype(np.float64) ** 2).sum(0)
    assert e[int(0.05 * SR):].sum() <= 1e-6 * e.sum()


def test_open_field_has_a_ground_reflection():
    ir = place(_impulse(), SR, distance_m=2.0, space="open field")[0]
    peaks = np.flatnonzero(np.abs(ir) > 0.1 * np.abs(ir).max())
    assert peaks.min() < 5 and np.any((peaks > 0.001 * SR) & (peaks < 0.01 * SR))


def test_street_has_slap_echoes():
    ir = place(_impulse(), SR, distance_m=6.0, space="street")
    for ch in ir:
        seg = np.abs(ch[int(0.03 * SR): int(0.12 * SR)]).astype(np.float64)
        strong = np.flatnonzero(seg > 8 * np.sqrt(np.mean(seg ** 2)))
        groups = np.sum(np.diff(strong) > 0.005 * SR) + 1 if strong.size else 0
        assert groups >= 2


def test_church_is_darker_than_hall():
    tails = {n: place(_impulse(), SR, distance_m=10.0, space=n)[:, int(0.2 * SR): int(1.2 * SR)]
             for n in ("hall", "church")}
    assert _centroid(tails["church"]) < 0.8 * _centroid(tails["hall"])


def test_drr_falls_with_distance_in_the_hall():
    drr = [_drr_db(place(_impulse(), SR, distance_m=r, space="hall")) for r in (1.0, 4.0, 16.0)]
    assert drr[0] > drr[1] > drr[2]
    assert abs(drr[1]) < 2.5  # 4 m is the hall's critical distance


def test_aliases_resolve():
    assert all(v in SPACES for v in SPACE_ALIASES.values())
    for alias in ("room", "bedroom", "cathedral", "alley", "woods", "outdoors"):
        assert alias in SPACE_ALIASES
    assert get_space("Cathedral").name == "church" and get_space("open_field").name == "open field"
    assert place(_impulse(), SR, space="woods").shape == place(_impulse(), SR, space="forest").shape


@pytest.mark.parametrize("kwargs", [dict(space="spaceship"), dict(distance_m=0.05), dict(distance_m=5000.0),
                                    dict(distance_m=float("nan")), dict(distance_m="far")])
def test_bad_arguments_raise_one_line(kwargs):
    with pytest.raises(FoleyError) as e:
        place(_impulse(), SR, **kwargs)
    assert "\n" not in str(e.value)
    if "space" in kwargs:
        assert "church" in str(e.value) and "small room" in str(e.value)


def test_stereo_input_is_refused():
    with pytest.raises(FoleyError):
        place(np.zeros((2, 100), np.float32), SR)


@pytest.mark.parametrize("name", list(SPACES))
def test_output_finite_shaped_deterministic(name):
    a = place(NOISE, SR, distance_m=7.0, space=name, seed=3)
    assert a.dtype == np.float32 and a.ndim == 2 and a.shape[0] == 2 and np.isfinite(a).all()
    assert a.shape[1] == NOISE.size + int(np.ceil(SPACES[name].tail_s * SR)) + 127
    np.testing.assert_array_equal(a, place(NOISE, SR, distance_m=7.0, space=name, seed=3))
    assert place(NOISE, SR, distance_m=7.0, space=name, keep_length=True).shape == (2, NOISE.size)
    if SPACES[name].er_count:
        assert not np.array_equal(a, place(NOISE, SR, distance_m=7.0, space=name, seed=4))


def test_empty_take():
    assert place(np.zeros(0, np.float32), SR, space="hall").shape == (2, 0)
