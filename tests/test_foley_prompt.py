"""Prompt understanding: free text to sound models, parameters, counts, durations, distance, space.

Two sets of tests: against small stand-in models registered by a fixture (so the parser is tested
whatever models exist), and against the real catalogue.
"""

from __future__ import annotations

import numpy as np
import pytest

from voxpost.foley.model import REGISTRY, FoleyError, Param, SoundModel, event_times, register
from voxpost.foley.phrases import stem
from voxpost.foley.prompt import load_models, parse


# -- stand-ins ---------------------------------------------------------------------------------

def _bursts(duration_s, sr, events, amp=0.5, length_s=0.03, seed=0):
    """Exponentially decaying noise bursts whose onset is exactly each event time."""
    n = int(round(duration_s * sr))
    out = np.zeros(n, np.float32)
    m = int(length_s * sr)
    burst = np.random.default_rng(seed).standard_normal(m) * np.exp(-np.arange(m) / (m / 5))
    for t in events:
        i = int(round(t * sr))
        j = min(n, i + m)
        if i < n:
            out[i:j] += amp * burst[:j - i]
    return out


def _event_render(default_rate):
    def render(params, duration_s, sr, rng, events):
        if events is None:
            events = event_times(duration_s, float(params.get("pace_hz", default_rate)), rng)
        return _bursts(duration_s, sr, events, seed=int(rng.integers(1 << 30)))
    return render


def _noise_render(params, duration_s, sr, rng, events):
    return (0.1 * float(params.get("intensity", 0.5)) * rng.standard_normal(int(round(duration_s * sr)))).astype(np.float32)


def fake_models() -> list[SoundModel]:
    surf = ("gravel", "wood", "concrete", "cobblestones")
    return [
        SoundModel("footsteps", "FEETHmn", lambda p: f"{p['surface']} walk", (
            Param("surface", "concrete", choices=surf), Param("pace_hz", 1.8, lo=0.5, hi=4.0, unit="Hz")),
            _event_render(1.8), "steps", ("footsteps", "footstep"), ("footsteps on gravel", "slow walk on wood"),
            category="footsteps", event_based=True,
            vocabulary={"running": ("pace_hz", 3.0), "cobbles": ("surface", "cobblestones")}),
        SoundModel("door_knock", "DOORKnck", lambda p: "door knock", (
            Param("force", 0.5, lo=0.0, hi=1.0), Param("material", "wood", choices=("wood", "metal"))),
            _event_render(4.0), "knocks", ("door knock",), ("three knocks on a wooden door",),
            category="impacts", default_duration_s=3.0, event_based=True, vocabulary={"wooden": ("material", "wood")}),
        SoundModel("hooves", "ANMLHors", lambda p: f"horse {p['gait']}", (
            Param("gait", "walk", choices=("walk", "trot", "gallop")), Param("surface", "dirt", choices=("dirt", "cobblestones"))),
            _event_render(2.0), "hooves", ("hooves",), ("a horse trotting on cobblestones",), category="footsteps",
            event_based=True, vocabulary={"trotting": ("gait", "trot"), "galloping": ("gait", "gallop")}),
        SoundModel("rain", "RAINMisc", lambda p: f"rain {p['surface']}", (
            Param("intensity", 0.5, lo=0.0, hi=1.0), Param("surface", "ground", choices=("ground", "tin_roof", "leaves"))),
            _noise_render, "rain", ("rain",), ("heavy rain",), category="weather", default_duration_s=4.0),
        SoundModel("thunder", "WTHRThun", lambda p: "thunder", (Param("size", 0.5, lo=0.0, hi=1.0),),
                   _noise_render, "thunder", ("thunder",), ("thunder far away",), category="weather"),
    ]


@pytest.fixture
def fakes():
    """Replace the registry by the stand-ins."""
    load_models()
    saved = dict(REGISTRY)
    REGISTRY.clear()
    for m in fake_models():
        register(m)
    yield REGISTRY
    REGISTRY.clear()
    REGISTRY.update(saved)


# -- the parser on stand-ins ------------------------------------------------------------------

def test_stemming():
    assert stem("knocks") == stem("knocking") == stem("knock")
    assert stem("trotting") == stem("trot")
    assert stem("bells") == "bell"


def test_count_and_model(fakes):
    plan = parse("three knocks on a wooden door")
    assert [l.model for l in plan.layers] == ["door_knock"]
    assert plan.layers[0].count == 3
    assert plan.layers[0].params["material"] == "wood"


@pytest.mark.parametrize("text,count", [("a dozen knocks", 12), ("knocking twice", 2), ("7 knocks", 7),
                                        ("a couple of knocks", 2), ("knock five times", 5)])
def test_count_forms(fakes, text, count):
    assert parse(text).layers[0].count == count


@pytest.mark.parametrize("text,seconds", [("footsteps on gravel for ten seconds", 10), ("footsteps 10 s", 10),
                                          ("footsteps for 2 minutes", 120), ("walking, 30 sec", 30),
                                          ("footsteps for twenty five seconds", 25)])
def test_durations(fakes, text, seconds):
    plan = parse(text)
    assert plan.duration_s == seconds
    assert plan.layers[0].model == "footsteps" and plan.layers[0].count is None


def test_layers_rain_thunder(fakes):
    plan = parse("heavy rain on a tin roof with thunder far away")
    rain, thunder = plan.layers
    assert (rain.model, thunder.model) == ("rain", "thunder")
    assert rain.params["intensity"] >= 0.7 and rain.params["surface"] == "tin_roof"
    assert thunder.distance_m >= 50 and rain.distance_m < 5


def test_modifier_clause_and_space(fakes):
    plan = parse("a horse trotting on cobblestones, distant")
    (h,) = plan.layers
    assert h.model == "hooves" and h.params["gait"] == "trot" and h.params["surface"] == "cobblestones"
    assert h.distance_m >= 30
    plan = parse("footsteps on wood and knocks, in a cathedral")
    assert [l.space for l in plan.layers] == ["church", "church"]
    plan = parse("footsteps in a small room with rain outdoors")
    assert [l.space for l in plan.layers] == ["small room", "open field"]


def test_synonyms_and_adjectives(fakes):
    assert parse("footfalls, slowly").layers[0].params["pace_hz"] < 1.8
    assert parse("hurried walking").layers[0].params["pace_hz"] > 1.8
    assert parse("galloping").layers[0].params["gait"] == "gallop"
    assert [l.model for l in parse("a storm").layers] == ["rain", "thunder"]
    assert parse("drizzle").layers[0].params["intensity"] < 0.3
    assert parse("knocking 5 metres away").layers[0].distance_m == 5
    assert parse("footsteps close up").layers[0].distance_m < 1


def test_misspellings(fakes):
    assert parse("foot steps on gravel").layers[0].model == "footsteps"
    plan = parse("footstpes on gravel")
    assert plan.layers[0].model == "footsteps" and "footstep" in plan.warnings[0]
    plan = parse("rain with thundr")
    assert [l.model for l in plan.layers] == ["rain", "thunder"]


def test_unknown_and_empty(fakes):
    with pytest.raises(FoleyError, match=r"no sound model for 'a spaceship hum'; closest: .+; see 'voxpost foley --list'"):
        parse("a spaceship hum")
    with pytest.raises(FoleyError, match="no sound model for 'a laser blast'"):
        parse("rain with a laser blast")
    for empty in ("", "   ", " , "):
        with pytest.raises(FoleyError, match="empty"):
            parse(empty)


def test_count_ignored_for_steady_sound(fakes):
    plan = parse("two rains")
    assert plan.layers[0].count is None and any("count" in w for w in plan.warnings)


# -- the real catalogue -----------------------------------------------------------------------

REAL = ("footsteps", "hooves", "door_knock", "rain", "thunder", "fire", "stream", "crowd_murmur", "church_bell",
        "clock_tick", "gunshot")


def _real(*names):
    models = load_models()
    assert not [n for n in names if n not in models]
    return models


def test_every_real_example_resolves():
    models = load_models()
    assert models
    for m in models.values():
        for ex in m.examples:
            plan = parse(ex)
            assert plan.layers[0].model == m.name, (ex, [l.model for l in plan.layers])


@pytest.mark.parametrize("text,name", [("footfalls", "footsteps"), ("walking", "footsteps"), ("horse", "hooves"),
                                       ("galloping", "hooves"), ("campfire", "fire"), ("fireplace", "fire"),
                                       ("a babbling brook", "stream"), ("creek", "stream"), ("chatter", "crowd_murmur"),
                                       ("knock", "door_knock"), ("bells tolling", "church_bell"),
                                       ("pocket watch ticking", "clock_tick"), ("musket shot", "gunshot"),
                                       ("pistol", "gunshot"), ("thundr", "thunder")])
def test_real_synonyms(text, name):
    _real(name)
    assert parse(text).layers[0].model == name


def test_real_issue_prompts():
    models = _real("door_knock", "rain", "thunder", "hooves", "footsteps")
    assert parse("three knocks on a wooden door").layers[0].count == 3
    assert parse("footsteps on gravel for ten seconds").duration_s == 10
    rain, thunder = parse("heavy rain on a tin roof with thunder far away").layers
    assert (rain.model, thunder.model) == ("rain", "thunder") and thunder.distance_m > rain.distance_m
    assert "tin" in str(rain.params).lower()
    h = parse("a horse trotting on cobblestones, distant").layers[0]
    assert h.model == "hooves" and h.distance_m > 10
    assert models


@pytest.mark.parametrize("text", ["a horse pulling a cart", "a horse-drawn carriage passing on cobblestones, distant",
                                  "a stagecoach in the street"])
def test_period_vehicles_layer_horse_and_wheels(text):
    _real("hooves", "cart_wheels")
    layers = parse(text).layers
    assert [l.model for l in layers] == ["hooves", "cart_wheels"]
    assert len({(l.distance_m, l.space) for l in layers}) == 1     # a modifier clause describes both layers


def test_a_modifier_clause_applies_to_every_layer_of_the_clause_before():
    _real("rain", "thunder")
    assert [l.distance_m for l in parse("a storm, far away").layers] == [100.0, 100.0]
    rain, thunder = parse("rain with thunder, far away").layers
    assert rain.distance_m == 1.0 and thunder.distance_m == 100.0
