"""Texture foley models (crowd murmur, cloth rustle, sea waves, birdsong): contract, each parameter's
audible effect measured by a descriptor, and speed."""


import numpy as np
import pytest

import voxpost.foley.textures  # noqa: F401 - registers the models
from voxpost.foley.model import LOUDNESS_LUFS, REGISTRY
from test_foley_weather import centroid_hz, onsets, render, rms_db  # shared measures

SR = 48000
NAMES = ("crowd_murmur", "cloth_rustle", "sea_waves", "birdsong")








def frame_db(y, frame_s):
    fr = int(frame_s * SR)
    return 10 * np.log10(np.mean(y[:y.size // fr * fr].reshape(-1, fr) ** 2, axis=1) + 1e-12)




def test_registry_holds_the_models_with_real_ucs_names():
    cats = {"crowd_murmur": "CRWDWalla", "cloth_rustle": "CLOTHMvmt", "sea_waves": "WATRWave", "birdsong": "BIRDSong"}
    for name in NAMES:
        m = REGISTRY[name]
        assert m.cat_id == cats[name] and m.category in LOUDNESS_LUFS and not m.event_based
        assert m.keywords and len(m.examples) >= 2
        for word, (param, value) in m.vocabulary.items():
            m.resolve({param: value})
        for p in m.params:
            for v in (p.choices or (p.lo, p.default, p.hi)):
                fx = m.fx_name(m.resolve({p.name: v}))
                assert fx and "_" not in fx and "-" not in fx
    assert REGISTRY["crowd_murmur"].category == REGISTRY["birdsong"].category == "ambience"


@pytest.mark.parametrize("name", NAMES)
def test_length_range_determinism_and_takes(name):
    m = REGISTRY[name]
    y = m.render(m.defaults(), 2.34567, SR, np.random.default_rng(3), None)
    assert y.dtype == np.float32 and y.shape == (round(2.34567 * SR),)
    assert np.all(np.isfinite(y)) and np.abs(y).max() <= 1.0 and np.abs(y).max() > 1e-3
    assert np.array_equal(y, m.render(m.defaults(), 2.34567, SR, np.random.default_rng(3), None))
    a, b = render(name, 3.0, seed=1), render(name, 3.0, seed=2)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.5


@pytest.mark.parametrize("name", NAMES)
def test_extreme_parameters_stay_in_range(name):
    m = REGISTRY[name]
    for p in m.params:
        for v in (p.choices or (p.lo, p.hi)):
            y = m.render(m.resolve({p.name: v}), 1.5, SR, np.random.default_rng(0), None)
            assert y.shape == (int(1.5 * SR),) and np.all(np.isfinite(y)) and np.abs(y).max() <= 1.0





def test_crowd_size_raises_level_and_smooths_the_syllables():
    few, many = render("crowd_murmur", 8.0, size=3), render("crowd_murmur", 8.0, size=200)
    assert rms_db(many) > rms_db(few) + 10
    assert np.std(frame_db(many, 0.05)) < 0.5 * np.std(frame_db(few, 0.05))


def test_crowd_excitement_raises_level_and_brightness():
    calm, excited = render("crowd_murmur", 6.0, excitement=0.0), render("crowd_murmur", 6.0, excitement=1.0)
    assert rms_db(excited) > rms_db(calm) + 4 and centroid_hz(excited) > 1.2 * centroid_hz(calm)


def test_crowd_has_syllabic_rhythm():
    def modulation(y, lo_hz, hi_hz):  # mean power of the level's spectrum in a band of modulation rates
        env = 10 ** (frame_db(y, 0.01) / 20)
        spec = np.abs(np.fft.rfft(env / env.mean() - 1.0)) ** 2
        f = np.fft.rfftfreq(env.size, 0.01)
        return spec[(f >= lo_hz) & (f < hi_hz)].mean()
    few = render("crowd_murmur", 10.0, size=3)
    assert modulation(few, 2.5, 8.0) > 8 * modulation(few, 10.0, 20.0)  # syllables at 4-6 Hz, not faster
    assert modulation(few, 2.5, 8.0) > 10 * modulation(render("crowd_murmur", 10.0, size=200), 2.5, 8.0)


def test_cloth_activity_raises_level_and_crinkles():
    still, busy = render("cloth_rustle", 6.0, activity=0.1), render("cloth_rustle", 6.0, activity=0.95)
    assert rms_db(busy) > rms_db(still) + 6
    assert onsets(busy, gap_s=0.03) > onsets(still, gap_s=0.03)


def test_cloth_fabric_sets_the_spectrum():
    c = {f: centroid_hz(render("cloth_rustle", 4.0, fabric=f)) for f in ("cotton", "silk", "wool", "leather")}
    assert c["silk"] > 1.5 * c["cotton"] > 1.5 * max(c["wool"], c["leather"]) / 1.5
    assert c["cotton"] > 1.3 * c["wool"] and c["cotton"] > 1.3 * c["leather"]
    assert abs(np.log(c["wool"] / c["leather"])) > 0.2


def test_sea_size_raises_level():
    small, big = render("sea_waves", 20.0, size=0.1), render("sea_waves", 20.0, size=0.95)
    assert rms_db(big) > rms_db(small) + 6


@pytest.mark.parametrize("period_s", [5.0, 12.0])
def test_sea_waves_come_every_period(period_s):
    env = 10 ** (frame_db(render("sea_waves", 90.0, period_s=period_s), 0.1) / 20)
    spec = np.abs(np.fft.rfft(env - env.mean()))
    f = np.fft.rfftfreq(env.size, 0.1)
    band = f > 0.03
    est = 1.0 / f[band][spec[band].argmax()]
    assert abs(est - period_s) < 0.2 * period_s


def test_birdsong_density_raises_the_note_rate():
    sparse, dense = render("birdsong", 12.0, density=0.05), render("birdsong", 12.0, density=1.0)
    assert onsets(sparse, gap_s=0.03) > 0 and onsets(dense, gap_s=0.03) > 2 * onsets(sparse, gap_s=0.03)


def test_birdsong_kind_sets_the_pitch():
    small, large = render("birdsong", 8.0, kind="small"), render("birdsong", 8.0, kind="large")
    assert centroid_hz(small) > 2 * centroid_hz(large)
