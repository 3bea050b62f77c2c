"""Weather and water foley models: contract (length, range, determinism, takes), each parameter's
audible effect measured by a descriptor, cue timing of event models. Their kernels are tested in
test_dsp_grains, test_dsp_svf and test_dsp_babble."""


import numpy as np
import pytest
from scipy.signal import welch

import voxpost.foley.weather  # noqa: F401 - registers the models
from voxpost.foley.model import LOUDNESS_LUFS, REGISTRY

SR = 48000
NAMES = ("rain", "wind", "thunder", "fire", "stream", "drips", "splash")
EVENT = ("thunder", "drips", "splash")


def render(name, duration_s=4.0, seed=0, events_s=None, **params):
    m = REGISTRY[name]
    return m.render(m.resolve(params), duration_s, SR, np.random.default_rng(seed), events_s).astype(np.float64)


def rms_db(y):
    return 10 * np.log10(np.mean(y ** 2) + 1e-20)


def centroid_hz(y):
    s = np.abs(np.fft.rfft(y)) ** 2
    return float((s * np.fft.rfftfreq(y.size, 1 / SR)).sum() / s.sum())


def flatness(y):
    _, p = welch(y, SR, nperseg=2048)
    return float(np.exp(np.mean(np.log(p[1:] + 1e-30))) / np.mean(p[1:]))


def band_energy(y, lo_hz, hi_hz):
    s = np.abs(np.fft.rfft(y)) ** 2
    f = np.fft.rfftfreq(y.size, 1 / SR)
    return float(s[(f >= lo_hz) & (f < hi_hz)].sum())


def level_std_db(y, frame_s=0.05):
    fr = int(frame_s * SR)
    e = np.mean(y[:y.size // fr * fr].reshape(-1, fr) ** 2, axis=1)
    return float(np.std(10 * np.log10(e + 1e-12)))


def onsets(y, hop_s=0.005, rise_db=9.0, gap_s=0.04):
    """Onsets by energy flux: frames whose level jumps ``rise_db`` over the frame before (within 40 dB
    of the loudest frame), at least ``gap_s`` apart."""
    hop = int(hop_s * SR)
    e = 10 * np.log10(np.mean(y[:y.size // hop * hop].reshape(-1, hop) ** 2, axis=1) + 1e-12)
    hit = np.flatnonzero((np.diff(e) > rise_db) & (e[1:] > e.max() - 40)) + 1
    keep, last = [], -1e9
    for i in hit:
        if i - last >= gap_s / hop_s:
            keep.append(i)
        last = i
    return len(keep)


def attack_s(y, t, after_s=0.5):
    """First sample above -20 dB of the event's peak (the peak within ``after_s`` of ``t``)."""
    a, b = max(int((t - 0.05) * SR), 0), int((t + after_s) * SR)
    seg = np.abs(y[a:b])
    return (a + int(np.argmax(seg > 0.1 * seg.max()))) / SR


# ----------------------------------------------------------------------------------------------
# contract


def test_registry_holds_the_models_with_real_ucs_names():
    cats = {"rain": "RAIN", "wind": "WIND", "thunder": "THUN", "fire": "FIREBurn", "stream": "WATRFlow",
            "drips": "WATRDrip", "splash": "WATRSplsh"}
    for name in NAMES:
        m = REGISTRY[name]
        assert m.cat_id == cats[name] and m.category in LOUDNESS_LUFS
        assert m.event_based == (name in EVENT)
        assert m.keywords and len(m.examples) >= 2
        for word, (param, value) in m.vocabulary.items():
            m.resolve({param: value})  # every vocabulary value is valid
        for p in m.params:
            for v in (p.choices or (p.lo, p.default, p.hi)):
                fx = m.fx_name(m.resolve({p.name: v}))
                assert fx and "_" not in fx and "-" not in fx
    assert REGISTRY["rain"].fx_name({"intensity": 0.9, "surface": "tin_roof"}) == "Rain Heavy Tin Roof"
    assert REGISTRY["thunder"].fx_name({"proximity": "distant", "roll_s": 6, "strikes": 1}) == "Thunder Distant Roll"
    assert voxpost.foley.weather.RAIN_CAT_IDS["tin_roof"] == "RAINMetl"


@pytest.mark.parametrize("name", NAMES)
def test_length_range_determinism_and_takes(name):
    y = REGISTRY[name].render(REGISTRY[name].defaults(), 2.34567, SR, np.random.default_rng(3), None)
    assert y.dtype == np.float32 and y.shape == (round(2.34567 * SR),)
    assert np.all(np.isfinite(y)) and np.abs(y).max() <= 1.0 and np.abs(y).max() > 1e-3
    assert np.array_equal(y, REGISTRY[name].render(REGISTRY[name].defaults(), 2.34567, SR, np.random.default_rng(3), None))
    a, b = render(name, 3.0, seed=1), render(name, 3.0, seed=2)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.5





# ----------------------------------------------------------------------------------------------
# parameters


def test_rain_intensity_raises_level():
    levels = [rms_db(render("rain", intensity=x, surface="pavement")) for x in (0.1, 0.5, 0.95)]
    assert levels[0] + 6 < levels[1] < levels[2] - 3


def test_rain_surface_changes_the_spectrum():
    y = {s: render("rain", 3.0, surface=s) for s in ("ground", "leaves", "tin_roof", "window", "pavement")}
    c = {s: centroid_hz(v) for s, v in y.items()}
    f = {s: flatness(v) for s, v in y.items()}
    assert c["ground"] == min(c.values()) and c["window"] == max(c.values())
    assert c["leaves"] > 1.5 * c["ground"] and c["window"] > 1.3 * c["leaves"]
    assert f["tin_roof"] < 0.7 * f["pavement"]  # the roof rings at its modes
    names = list(y)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert abs(np.log(c[a] / c[b])) > 0.1 or abs(np.log(f[a] / f[b])) > 0.3, (a, b)


def test_wind_strength_raises_level_and_brightness():
    lo, hi = render("wind", strength=0.2, gustiness=0.2), render("wind", strength=0.9, gustiness=0.2)
    assert rms_db(hi) > rms_db(lo) + 8 and centroid_hz(hi) > 1.5 * centroid_hz(lo)


def test_wind_gustiness_varies_the_level():
    calm, gusty = render("wind", 10.0, gustiness=0.0), render("wind", 10.0, gustiness=1.0)
    assert level_std_db(gusty) > 2 * level_std_db(calm)


def test_wind_whistle_adds_a_tone():
    def peakiness(y):
        f, p = welch(y, SR, nperseg=8192)
        band = p[(f > 300) & (f < 4000)]
        return band.max() / np.median(band)
    plain, whistle = render("wind", gustiness=0.0), render("wind", gustiness=0.0, whistle=0.8)
    assert peakiness(whistle) > 3 * peakiness(plain)


def test_thunder_near_cracks_distant_rumbles():
    t = 0.5
    seg = lambda y: y[int(t * SR):int((t + 0.1) * SR)]  # noqa: E731
    near, far = render("thunder", 4.0, events_s=[t], proximity="near"), render("thunder", 4.0, events_s=[t])
    crest = lambda y: np.abs(y).max() / np.sqrt(np.mean(y ** 2))  # noqa: E731
    assert crest(seg(near)) > crest(seg(far))
    hf = lambda y: band_energy(y, 2000, 24000) / band_energy(y, 0, 24000)  # noqa: E731
    assert hf(seg(near)) > 10 * hf(seg(far))


def test_thunder_roll_length():
    def tail_s(y):
        fr = int(0.05 * SR)
        e = np.mean(y[:y.size // fr * fr].reshape(-1, fr) ** 2, axis=1)
        return np.flatnonzero(e > e.max() * 1e-3)[-1] * 0.05
    short, long = render("thunder", 20.0, events_s=[0.2], roll_s=2.0), render("thunder", 20.0, events_s=[0.2], roll_s=12.0)
    assert tail_s(long) > tail_s(short) + 4.0


def test_fire_size_raises_roar_and_crackles():
    small, big = render("fire", 6.0, size=0.1), render("fire", 6.0, size=0.9)
    assert rms_db(big) > rms_db(small) + 5
    assert band_energy(big, 0, 300) > 5 * band_energy(small, 0, 300)
    # crackles alone: the pops are what is above 2 kHz
    hp = lambda y: np.fft.irfft(np.fft.rfft(y) * (np.fft.rfftfreq(y.size, 1 / SR) > 2000), y.size)  # noqa: E731
    assert onsets(hp(big)) > 1.5 * onsets(hp(small))


def test_stream_flow_raises_level_and_lowers_bubbles():
    lo, hi = render("stream", flow=0.1), render("stream", flow=0.9)
    assert rms_db(hi) > rms_db(lo) + 8
    assert centroid_hz(hi) < 0.8 * centroid_hz(lo)


def test_drips_rate_sets_onsets_and_size_the_pitch():
    slow, fast = render("drips", 10.0, rate_hz=1.0), render("drips", 10.0, rate_hz=4.0)
    n_slow, n_fast = onsets(slow), onsets(fast)
    assert 7 <= n_slow <= 13 and 30 <= n_fast <= 50
    small, big = render("drips", 5.0, size=0.1), render("drips", 5.0, size=0.9)
    assert centroid_hz(big) < 0.5 * centroid_hz(small) and rms_db(big) > rms_db(small)


def test_splash_size_raises_level_and_lowers_pitch():
    small, big = render("splash", 3.0, events_s=[0.2], size=0.1), render("splash", 3.0, events_s=[0.2], size=0.9)
    assert rms_db(big) > rms_db(small) + 6 and centroid_hz(big) < 0.6 * centroid_hz(small)


# ----------------------------------------------------------------------------------------------
# cue timing


@pytest.mark.parametrize("name,params,events,after_s", [
    ("thunder", {"proximity": "near", "roll_s": 2.0}, [0.5, 6.5, 12.5], 0.6),
    ("thunder", {"proximity": "distant", "roll_s": 2.0}, [0.5, 6.5, 12.5], 0.6),
    ("drips", {"size": 0.2}, [0.3, 0.8, 1.37, 2.0123], 0.2),
    ("drips", {"size": 1.0}, [0.3, 0.8, 1.37, 2.0123], 0.2),
    ("splash", {"size": 0.9}, [0.25, 2.5011], 1.0),
    ("splash", {"size": 0.0}, [0.25, 2.5011], 1.0),
])
def test_event_attacks_land_on_the_cues(name, params, events, after_s):
    duration = events[-1] + (5.0 if name == "thunder" else 1.5)
    y = render(name, duration, events_s=events, **params)
    for t in events:
        assert abs(attack_s(y, t, after_s) - t) <= 1e-3, (t, attack_s(y, t, after_s))
    assert not np.any(y[:int(events[0] * SR)])
    # cues past the end are dropped
    assert np.array_equal(y, render(name, duration, events_s=events + [duration + 0.5], **params))


@pytest.mark.parametrize("name", EVENT)
def test_a_cue_at_the_very_end_is_cut_not_lost(name):
    y = render(name, 1.0, events_s=[0.9999])
    assert y.size == SR and np.all(np.isfinite(y)) and np.any(y[-3:])
    assert not np.any(render(name, 1.0, events_s=[0.99999]))  # rounds to the frame after the last


def test_event_models_place_their_own_events():
    assert onsets(render("drips", 10.0, rate_hz=2.0)) >= 12
    y = render("thunder", 10.0, strikes=3, proximity="near", roll_s=1.0)
    assert onsets(y, rise_db=20) >= 3
