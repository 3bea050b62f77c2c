"""Footsteps, hooves and cart wheels: contract (length, range, determinism, takes), timing of cues,
what each parameter does to the sound (measured), and speed."""


import numpy as np
import pytest

from voxpost.foley import steps  # noqa: F401  (registers the models)
from voxpost.foley.model import REGISTRY

SR = 48000
NAMES = ("footsteps", "hooves", "cart_wheels")


def render(name, seed=0, duration_s=4.0, events_s=None, **params):
    m = REGISTRY[name]
    return m.render(m.resolve(params), duration_s, SR, np.random.default_rng(seed), events_s)


def centroid_hz(y):
    p = np.abs(np.fft.rfft(np.asarray(y, np.float64))) ** 2
    return float((p * np.fft.rfftfreq(len(y), 1 / SR)).sum() / p.sum())


def low_share(y, cut_hz=200.0):
    p = np.abs(np.fft.rfft(np.asarray(y, np.float64))) ** 2
    return float(p[np.fft.rfftfreq(len(y), 1 / SR) < cut_hz].sum() / p.sum())


def onsets_s(y, hop_s=0.005, min_gap_s=0.04, rise_db=9.0):
    """Energy-flux onset detector: 5 ms frames, a rise of ``rise_db`` over the frame before last."""
    hop = int(hop_s * SR)
    e = np.asarray(y[: len(y) // hop * hop], np.float64).reshape(-1, hop)
    db = 10 * np.log10((e ** 2).mean(axis=1) + 1e-12)
    flux = db[2:] - db[:-2]
    floor = db.max() - 30
    cand = np.flatnonzero((flux > rise_db) & (db[2:] > floor)) + 2
    out = []
    for c in cand:
        if not out or (c - out[-1]) * hop_s >= min_gap_s:
            out.append(c)
    return np.asarray(out) * hop_s


def attack_errors_s(y, events_s, pre_s=0.003):
    """Per event: first sample above -20 dB of the event's peak, minus the event time."""
    y = np.abs(np.asarray(y, np.float64))
    errs = []
    for k, t in enumerate(events_s):
        a = max(0, int(round((t - pre_s) * SR)))
        b = int(round((events_s[k + 1] - pre_s) * SR)) if k + 1 < len(events_s) else len(y)
        seg = y[a:b]
        first = int(np.argmax(seg >= 0.1 * seg.max()))
        errs.append((a + first) / SR - t)
    return np.asarray(errs)


def test_registered():
    for name in NAMES:
        m = REGISTRY[name]
        assert m.cat_id in ("FEETHmn", "FEETHors", "VEHWagn")
        assert len(m.examples) >= 2 and m.keywords and m.vocabulary
        for word, (param, value) in m.vocabulary.items():
            m.resolve({param: value})
        fx = m.fx_name(m.defaults())
        assert fx and "_" not in fx and "-" not in fx
    assert REGISTRY["footsteps"].category == "footsteps" and REGISTRY["footsteps"].event_based
    assert REGISTRY["hooves"].event_based and REGISTRY["cart_wheels"].category == "effects"
    assert REGISTRY["hooves"].fx_name({"gait": "trot", "surface": "cobblestones", "pace": 1.0}) == "Horse Trot Cobblestones"


@pytest.mark.parametrize("name", NAMES)
def test_contract_length_range_determinism_takes(name):
    a = render(name, seed=3, duration_s=2.345)
    assert a.dtype == np.float32 and a.shape == (round(2.345 * SR),)
    assert np.isfinite(a).all() and 0 < np.abs(a).max() <= 1.0
    assert np.array_equal(a, render(name, seed=3, duration_s=2.345))
    b = render(name, seed=4, duration_s=2.345)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.5


@pytest.mark.parametrize("name,params", [("footsteps", {}), ("footsteps", {"surface": "gravel", "gait": "run"}),
                                         ("footsteps", {"surface": "snow"}), ("footsteps", {"surface": "metal"}),
                                         ("hooves", {}), ("hooves", {"surface": "dirt", "gait": "gallop"})])
def test_cue_times_land_within_1_ms(name, params):
    cues = np.array([0.0, 0.37, 0.91, 1.5, 2.23, 3.1, 9.0])
    y = render(name, seed=1, duration_s=4.0, events_s=cues, **params)
    kept = cues[cues < 4.0]
    errs = attack_errors_s(y, kept)
    assert np.abs(errs).max() <= 0.001, errs
    assert np.abs(y[int(3.9 * SR):]).max() < 0.1 * np.abs(y).max()   # the cue past the end is dropped


def test_footsteps_surface_moves_the_centroid():
    c = {s: centroid_hz(render("footsteps", surface=s, weight=0.3)) for s in
         ("gravel", "snow", "wood", "stone", "grass", "metal")}
    print("centroids", {k: round(v) for k, v in c.items()})
    assert c["metal"] > c["wood"] * 2 and c["gravel"] > c["grass"] * 1.5 and c["stone"] > c["snow"]
    assert c["gravel"] > c["snow"] and c["stone"] > c["wood"]
    vals = sorted(c.values())
    assert all(b > a * 1.05 for a, b in zip(vals, vals[1:]))          # six distinct timbres


def test_footsteps_pace_and_gait_change_the_onset_rate():
    def count(**params):       # heel and toe of one step count as one onset (150 ms apart at most)
        return len(onsets_s(render("footsteps", duration_s=10, **params), min_gap_s=0.15))

    slow, fast = count(pace_hz=1.0), count(pace_hz=2.5)
    walk, run = count(pace_hz=1.8), count(pace_hz=1.8, gait="run")
    print("onsets/10 s: slow", slow, "fast", fast, "walk", walk, "run", run)
    assert fast > slow * 1.8 and run > walk * 1.2


def test_footsteps_weight_adds_low_end():
    light = render("footsteps", surface="wood", weight=0.05)
    heavy = render("footsteps", surface="wood", weight=1.0)
    assert low_share(heavy) > low_share(light) + 0.1


def test_hooves_gait_patterns():
    def iois(gait):
        t = onsets_s(render("hooves", duration_s=10, gait=gait), min_gap_s=0.05)
        return np.diff(t)

    walk, trot, gallop = iois("walk"), iois("trot"), iois("gallop")
    cv = lambda d: d.std() / d.mean()  # noqa: E731
    print("hooves onsets/s", len(walk) / 10, len(trot) / 10, len(gallop) / 10, "cv", cv(walk), cv(trot), cv(gallop))
    # walk: 4 even beats per stride (~3.8/s); trot: diagonal pairs heard as 2 beats (~2.9/s), even;
    # gallop: 3 quick beats then the suspension, so intervals are very uneven
    assert 3.0 < len(walk) / 10 < 4.6 and 2.3 < len(trot) / 10 < 3.5
    assert cv(walk) < 0.3 and cv(trot) < 0.3 and cv(gallop) > 0.5


def test_hooves_pace_and_surface():
    slow = len(onsets_s(render("hooves", duration_s=10, pace=0.6), min_gap_s=0.05))
    fast = len(onsets_s(render("hooves", duration_s=10, pace=1.5), min_gap_s=0.05))
    assert fast > slow * 1.8
    assert centroid_hz(render("hooves", surface="cobblestones")) > 2 * centroid_hz(render("hooves", surface="dirt"))


def test_cart_wheels_parameters():
    cob, dirt = render("cart_wheels", surface="cobblestones", creak=0), render("cart_wheels", surface="dirt", creak=0)
    assert centroid_hz(cob) > 1.5 * centroid_hz(dirt)
    slow, fast = render("cart_wheels", speed_mps=0.8, creak=0), render("cart_wheels", speed_mps=5.0, creak=0)
    assert np.sqrt(np.mean(fast ** 2)) > 1.5 * np.sqrt(np.mean(slow ** 2))
    band_energy = lambda y: np.sum(np.abs(np.fft.rfft(y)[int(250 * 4):int(2500 * 4)]) ** 2)  # noqa: E731
    quiet, creaky = render("cart_wheels", creak=0.0), render("cart_wheels", creak=1.0)
    assert band_energy(creaky) > 1.5 * band_energy(quiet)
