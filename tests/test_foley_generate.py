"""Takes: UCS names, BWF and sidecars, seeds, loudness per category, true-peak ceiling, cues, bad input."""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
from test_foley_prompt import fakes  # noqa: F401  (fixture)

from voxpost.audio import info, load
from voxpost.clean.meter import measure_loudness
from voxpost.foley.generate import MAX_DURATION_S, generate, plan_duration
from voxpost.foley.model import LOUDNESS_LUFS, FoleyError
from voxpost.foley.prompt import load_models, parse


def onsets_near(x: np.ndarray, sr: int, cues, *, before=0.05, after=0.15, frac=0.1) -> list[float]:
    """For each cue, the first time around it where |x| reaches ``frac`` of the local maximum."""
    env = np.abs(x).max(axis=0) if x.ndim == 2 else np.abs(x)
    out = []
    for c in cues:
        a, b = int((c - before) * sr), int((c + after) * sr)
        seg = env[max(a, 0):b]
        out.append((max(a, 0) + int(np.argmax(seg >= frac * seg.max()))) / sr)
    return out


def test_takes_names_bwf_sidecars(fakes, tmp_path):
    takes = generate("footsteps on gravel", tmp_path / "new", variations=3, duration_s=2.0, seed=7)
    assert len(takes) == 3
    names = sorted(p.name for p in (tmp_path / "new").iterdir())
    assert len(names) == 6
    for k, t in enumerate(takes, 1):
        assert re.fullmatch(rf"FEETHmn_Gravel Walk_VOXPOST_T0{k}\.wav", t.path.name)
        meta = info(t.path)
        assert meta["subtype"] == "PCM_24" and meta["sample_rate"] == 48000 and meta["channels"] == 2
        assert "footsteps on gravel" in meta["bext_description"] and "seed 7" in meta["bext_description"]
        doc = json.loads(t.sidecar.read_text())
        assert t.sidecar.name == t.path.stem + ".json"
        assert doc["prompt"] == "footsteps on gravel" and doc["seed"] == 7 and doc["take_seed"] == 7000 + k - 1
        assert doc["layers"][0]["model"] == "footsteps" and doc["layers"][0]["params"]["surface"] == "gravel"
        assert doc["backend"] == "procedural" and doc["sample_rate"] == 48000 and doc["duration_s"] == 2.0
        assert "voxpost_version" in doc and doc["loudness"]["true_peak_dbtp"] <= -1.0


def test_same_seed_same_files_and_takes_differ(fakes, tmp_path):
    a = generate("rain with three knocks", tmp_path / "a", variations=2, seed=3)
    b = generate("rain with three knocks", tmp_path / "b", variations=2, seed=3)
    for ta, tb in zip(a, b):
        assert np.array_equal(load(ta.path).samples, load(tb.path).samples)
        assert ta.sidecar.read_text() == tb.sidecar.read_text()
    assert not np.array_equal(load(a[0].path).samples, load(a[1].path).samples)
    c = generate("rain with three knocks", tmp_path / "c", variations=1, seed=4)
    assert not np.array_equal(load(a[0].path).samples, load(c[0].path).samples)


def test_loudness_steady_sound_and_ceiling(fakes, tmp_path):
    (t,) = generate("rain", tmp_path, variations=1, duration_s=6.0)
    m = measure_loudness(load(t.path).samples, 48000, lra=False)
    assert abs(m["integrated_lufs"] - LOUDNESS_LUFS["weather"]) < 1.0
    assert abs(t.lufs - m["integrated_lufs"]) < 0.1
    (k,) = generate("a dozen violent knocks right next to the door", tmp_path, variations=1)
    m = measure_loudness(load(k.path).samples, 48000, lra=False)
    assert m["true_peak_dbtp"] <= -1.0 and np.abs(load(k.path).samples).max() < 1.0


def test_distance_lowers_level(fakes, tmp_path):
    (near,) = generate("rain", tmp_path / "n", variations=1, duration_s=3.0)
    (far,) = generate("rain 20 metres away", tmp_path / "f", variations=1, duration_s=3.0)
    assert far.lufs < near.lufs - 15


def test_count_in_prompt_places_events(fakes, tmp_path):
    (t,) = generate("five knocks", tmp_path, variations=1)
    doc = json.loads(t.sidecar.read_text())
    assert len(doc["layers"][0]["events_s"]) == 5 and t.duration_s >= doc["layers"][0]["events_s"][-1]


def test_cues_land_within_5ms(fakes, tmp_path):
    cues = [0.5, 1.234, 2.0, 2.2]
    (t,) = generate("footsteps on wood", tmp_path, variations=1, cues_s=cues)
    a = load(t.path)
    assert a.duration_s >= cues[-1] + 2.0 - 1e-3
    for c, o in zip(cues, onsets_near(a.samples, a.sample_rate, cues)):
        assert abs(o - c) <= 0.005, (c, o)
    doc = json.loads(t.sidecar.read_text())
    assert doc["cues_s"] == cues and doc["layers"][0]["events_s"] == cues


@pytest.mark.parametrize("prompt,model", [("footsteps on gravel", "footsteps"), ("knocking", "door_knock"),
                                          ("a horse walking on cobblestones", "hooves")])
def test_real_model_cues(tmp_path, prompt, model):
    cues = [0.4, 1.3, 2.05]
    (t,) = generate(prompt, tmp_path, variations=1, cues_s=cues)
    a = load(t.path)
    for c, o in zip(cues, onsets_near(a.samples, a.sample_rate, cues)):
        assert abs(o - c) <= 0.005, (model, c, o)


def test_real_steady_loudness(tmp_path):
    models = load_models()
    steady = [m for m in models.values() if not m.event_based and m.name in ("rain", "wind", "stream")]
    assert len(steady) == 3
    for m in steady:
        (t,) = generate(m.examples[0] + " for 8 seconds", tmp_path / m.name, variations=1)
        # a dry prompt at 1 m: the category's loudness (a room would add its reverb)
        if all(layer["space"] == "dry" and layer["distance_m"] == 1.0 for layer in t.layers):
            assert abs(t.lufs - LOUDNESS_LUFS[m.category]) < 1.0, (m.name, t.lufs)
        assert t.peak_dbtp <= -1.0


def test_duration_rules(fakes):
    warnings: list[str] = []
    models = load_models()
    assert plan_duration(parse("rain"), models, 1e6, None, warnings) == MAX_DURATION_S
    assert "capped at 600 s" in warnings[0]
    assert plan_duration(parse("rain"), models, float("inf"), None, []) == MAX_DURATION_S
    assert plan_duration(parse("rain for ten seconds"), models, None, None, []) == 10
    assert plan_duration(parse("rain"), models, None, None, []) == 4.0     # the model's default
    assert plan_duration(parse("footsteps"), models, 3.0, np.array([1.0, 5.0]), []) == 7.0
    for bad in (0, -3, float("nan")):
        with pytest.raises(FoleyError, match="more than 0 s"):
            plan_duration(parse("rain"), models, bad, None, [])


def test_duration_cap_message(fakes, tmp_path, monkeypatch):
    import voxpost.foley.generate as g

    monkeypatch.setattr(g, "MAX_DURATION_S", 2.0)
    seen: list[str] = []
    (t,) = g.generate("rain", tmp_path, variations=1, duration_s=1e6, warn=seen.append)
    assert t.duration_s == 2.0 and any("capped at 2 s" in w for w in seen)
    assert json.loads(t.sidecar.read_text())["warnings"]


@pytest.mark.parametrize("kwargs,message", [
    (dict(variations=0), "variations must be 1..50"), (dict(variations=51), "variations must be 1..50"),
    (dict(duration_s=-1.0), "more than 0 s"), (dict(seed=-1), "seed"), (dict(sample_rate=100), "sample rate"),
    (dict(cues_s=[1.0, 0.5]), r"cue 2 \(0.5 s\) comes before cue 1"), (dict(cues_s=[-0.1, 1.0]), "cue 1 is at -0.1"),
    (dict(cues_s=[]), "empty")])
def test_bad_arguments_write_nothing(fakes, tmp_path, kwargs, message):
    out = tmp_path / "out"
    with pytest.raises(FoleyError, match=message):
        generate("footsteps", out, **kwargs)
    assert not out.exists()


def test_cues_need_an_event_sound(fakes, tmp_path):
    with pytest.raises(FoleyError, match=r"cues need an event sound \(steps, knocks, hooves...\)"):
        generate("rain", tmp_path / "out", cues_s=[1.0])
    assert not (tmp_path / "out").exists()


def test_unwritable_folder(fakes, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(FoleyError, match="cannot create|not a folder"):
        generate("footsteps", blocker / "sub", variations=1)
    if os.geteuid() == 0:
        pytest.skip("running as root: a read-only folder is still writable")
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        with pytest.raises(FoleyError, match="not writable"):
            generate("footsteps", ro, variations=1)
        assert not list(ro.iterdir())
    finally:
        ro.chmod(0o755)


def test_existing_takes_refused_unless_overwrite(fakes, tmp_path):
    generate("footsteps", tmp_path, variations=1, duration_s=1.0)
    with pytest.raises(Exception, match="exists; use --force"):
        generate("footsteps", tmp_path, variations=2, duration_s=1.0)
    assert len(list(tmp_path.iterdir())) == 2
    assert len(generate("footsteps", tmp_path, variations=2, duration_s=1.0, overwrite=True)) == 2
