"""Doors, knocks, clocks, bells, glass and period firearms: contract, cue timing, what each
parameter does to the sound (measured), and speed."""


import numpy as np
import pytest

from voxpost.foley import doors, impacts  # noqa: F401  (registers the models)
from voxpost.foley.model import REGISTRY
from test_foley_steps import attack_errors_s, centroid_hz, onsets_s

SR = 48000
NAMES = ("door_creak", "door_open", "door_slam", "door_knock", "clock_tick", "church_bell", "glass_break", "gunshot")
EVENT_MODELS = ("door_knock", "clock_tick", "church_bell", "gunshot")


def render(name, seed=0, duration_s=4.0, events_s=None, **params):
    m = REGISTRY[name]
    return m.render(m.resolve(params), duration_s, SR, np.random.default_rng(seed), events_s)


def rms(y):
    return float(np.sqrt(np.mean(np.asarray(y, np.float64) ** 2)))


def active_s(y, below_db=30.0, hop=480):
    """Seconds from the first to the last 10 ms frame within ``below_db`` of the loudest frame."""
    e = np.asarray(y[: len(y) // hop * hop], np.float64).reshape(-1, hop)
    db = 10 * np.log10((e ** 2).mean(axis=1) + 1e-20)
    on = np.flatnonzero(db > db.max() - below_db)
    return (on[-1] - on[0] + 1) * hop / SR


def peak_hz(y, lo_hz=60.0, hi_hz=2000.0):
    p = np.abs(np.fft.rfft(np.asarray(y, np.float64)))
    f = np.fft.rfftfreq(len(y), 1 / SR)
    keep = (f >= lo_hz) & (f <= hi_hz)
    return float(f[keep][p[keep].argmax()])


def test_registered_with_ucs_cat_ids():
    want = {"door_creak": "DOORWood", "door_open": "DOORWood", "door_slam": "DOORWood", "door_knock": "DOORKnck",
            "clock_tick": "CLOCKTick", "church_bell": "BELLLrg", "glass_break": "GLASBrk", "gunshot": "GUNAntq"}
    for name, cat in want.items():
        m = REGISTRY[name]
        assert m.cat_id == cat and len(m.examples) >= 2 and m.keywords
        assert m.event_based == (name in EVENT_MODELS)
        for param, value in m.vocabulary.values():
            m.resolve({param: value})
        fx = m.fx_name(m.defaults())
        assert fx and "_" not in fx and "-" not in fx
    assert REGISTRY["gunshot"].category == "impacts" and REGISTRY["door_slam"].category == "impacts"


@pytest.mark.parametrize("name", NAMES)
def test_contract_length_range_determinism_takes(name):
    a = render(name, seed=3, duration_s=3.217)
    assert a.dtype == np.float32 and a.shape == (round(3.217 * SR),)
    assert np.isfinite(a).all() and 0 < np.abs(a).max() <= 1.0
    assert np.array_equal(a, render(name, seed=3, duration_s=3.217))
    b = render(name, seed=4, duration_s=3.217)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.6


@pytest.mark.parametrize("name,cues,params", [
    ("door_knock", [0.0, 0.21, 0.45, 1.3, 1.52], {}),
    ("door_knock", [0.3, 0.55, 0.8], {"hardness": 1.0, "force": 1.0}),
    ("clock_tick", [0.05, 1.05, 2.05, 3.05], {}),
    ("clock_tick", np.arange(0.1, 3.9, 0.2), {"kind": "pocket"}),
    ("church_bell", [0.0, 3.5], {"diameter_m": 1.5}),
    ("church_bell", [0.2, 2.2], {"diameter_m": 0.4}),
    ("gunshot", [0.0, 1.6, 3.2], {"kind": "musket"}),
    ("gunshot", [0.5, 1.7, 2.9], {"kind": "rifle"}),
])
def test_cue_times_land_within_1_ms(name, cues, params):
    cues = np.concatenate([np.asarray(cues, float), [7.5]])         # the last is past the end: dropped
    y = render(name, seed=2, duration_s=4.0, events_s=cues, **params)
    errs = attack_errors_s(y, cues[cues < 4.0])
    assert np.abs(errs).max() <= 0.001, errs


def test_door_creak_speed_and_size():
    slow, fast = render("door_creak", duration_s=6, speed_dps=15), render("door_creak", duration_s=6, speed_dps=120)
    assert active_s(slow) > 3 * active_s(fast)                     # a slow swing creaks longer
    small, big = render("door_creak", size=0.0), render("door_creak", size=1.0)
    assert centroid_hz(big) < 0.8 * centroid_hz(small)


def test_door_open_speed_and_size():
    slow, fast = render("door_open", duration_s=6, speed_dps=15), render("door_open", duration_s=6, speed_dps=150)
    assert active_s(slow) > 1.5 * active_s(fast)
    assert centroid_hz(render("door_open", size=1.0)) < 0.8 * centroid_hz(render("door_open", size=0.0))


def test_door_slam_force_and_size():
    soft, hard = render("door_slam", force=0.15), render("door_slam", force=1.0)
    assert rms(hard) > 2 * rms(soft) and centroid_hz(hard) > centroid_hz(soft)
    assert peak_hz(render("door_slam", size=1.0), 100) < 0.7 * peak_hz(render("door_slam", size=0.0), 100)
    assert centroid_hz(render("door_slam", size=1.0)) < centroid_hz(render("door_slam", size=0.0))


def test_door_knock_force_hardness_count():
    assert rms(render("door_knock", force=1.0)) > 2 * rms(render("door_knock", force=0.1))
    assert centroid_hz(render("door_knock", hardness=1.0)) > 1.3 * centroid_hz(render("door_knock", hardness=0.0))
    assert len(onsets_s(render("door_knock", count=3), min_gap_s=0.1)) == 3
    assert len(onsets_s(render("door_knock", count=6), min_gap_s=0.1)) == 6


def test_clock_kind_and_rate():
    assert centroid_hz(render("clock_tick", kind="pocket")) > 2 * centroid_hz(render("clock_tick", kind="wall"))
    n1 = len(onsets_s(render("clock_tick", duration_s=10, rate_hz=1.0)))
    n2 = len(onsets_s(render("clock_tick", duration_s=10, rate_hz=2.0)))
    n5 = len(onsets_s(render("clock_tick", duration_s=10, kind="pocket", rate_hz=5.0)))
    print("clock onsets/10 s", n1, n2, n5)
    assert 8 <= n1 <= 11 and 18 <= n2 <= 21 and 45 <= n5 <= 51


def test_clock_tick_and_tock_differ():
    y = render("clock_tick", duration_s=4.0, events_s=[0.5, 1.5, 2.5, 3.5]).astype(np.float64)
    seg = [y[int(t * SR):int(t * SR) + 2400] for t in (0.5, 1.5, 2.5, 3.5)]
    c = [centroid_hz(s) for s in seg]
    assert abs(c[0] - c[1]) > 0.03 * c[0] and abs(c[0] - c[2]) < abs(c[0] - c[1])


def test_bell_size_sets_the_pitch_and_rings_long():
    small, big = render("church_bell", diameter_m=0.4), render("church_bell", diameter_m=1.5)
    assert peak_hz(big, 50, 3000) < 0.5 * peak_hz(small, 50, 3000)
    assert centroid_hz(big) < centroid_hz(small)
    one = render("church_bell", duration_s=8.0, events_s=[0.1], diameter_m=1.2)
    tail = np.abs(one[int(5 * SR):int(6 * SR)]).max() / np.abs(one).max()
    assert tail > 0.02                                               # still ringing 5 s after the strike
    # tolls: a strike is 6 dB above everything in the half second before it (a beating tail never is)
    y = render("church_bell", duration_s=12, rate_hz=0.5)
    db = 10 * np.log10((y[: y.size // 480 * 480].reshape(-1, 480).astype(np.float64) ** 2).mean(axis=1) + 1e-12)
    strikes = [i for i in range(1, db.size) if db[i] > db[max(0, i - 50):i].max() + 6 and db[i] > db.max() - 30]
    n = 1 + sum(1 for a, b in zip(strikes[:-1], strikes[1:]) if b - a > 20)
    assert 5 <= n <= 7, strikes


def test_bell_partials_are_inharmonic():
    y = render("church_bell", duration_s=6.0, events_s=[0.1], diameter_m=1.0).astype(np.float64)
    p = np.abs(np.fft.rfft(y))
    f = np.fft.rfftfreq(len(y), 1 / SR)
    prime = 240.0
    for ratio in (0.5, 1.0, 1.183, 1.506, 2.0):                     # hum, prime, tierce, quint, nominal
        k = (f > prime * ratio * 0.98) & (f < prime * ratio * 1.02)
        assert p[k].max() > 20 * np.median(p[(f > 100) & (f < 3000)])


def test_glass_size():
    small, big = render("glass_break", size=0.1), render("glass_break", size=1.0)
    assert active_s(big) > active_s(small) and centroid_hz(big) < centroid_hz(small)
    assert len(onsets_s(big, min_gap_s=0.01, rise_db=6)) > 5          # shards and tinkles, not one hit


def test_gunshot_kinds_and_count():
    musket, pistol, rifle = (render("gunshot", kind=k, duration_s=3) for k in ("musket", "pistol", "rifle"))
    assert active_s(musket) > active_s(pistol)                     # long black-powder tail
    assert centroid_hz(rifle) > centroid_hz(musket) and centroid_hz(pistol) > centroid_hz(musket)
    # the flintlock's click precedes the musket blast, well under it
    y = render("gunshot", kind="musket", duration_s=2.0, events_s=[1.0])
    pre = np.abs(y[int(0.9 * SR):int(0.995 * SR)]).max()
    assert 0.002 * np.abs(y).max() < pre < 0.1 * np.abs(y).max()
    assert len(onsets_s(render("gunshot", duration_s=8, count=3), min_gap_s=0.3)) == 3
