"""Takes from a prompt: render each layer, set its loudness, place it in space, mix, name, write.

For take ``k`` (0-based) of seed ``s`` the take seed is ``s * 1000 + k``; layer ``i`` renders with
``numpy.random.default_rng([take_seed, i])``, so a take is reproducible from its sidecar alone.
Each layer's dry sound is normalised to its category's loudness (:data:`LOUDNESS_LUFS`; event
sounds are measured on their loudest second, as integrated loudness gates the silence between
events), then placed (:func:`voxpost.foley.space.place`: air absorption and reverb with distance, a level drop kept usable by :func:`delivery_gain_db`,
early reflections and reverb of the room; no propagation delay, so an event lands on its cue;
the direct sound centred, so a dry layer at 1 m is at its category's loudness). The mix is scaled under a -1 dBTP true-peak ceiling (never clipped) and
written as a 24-bit Broadcast WAV named by the Universal Category System, with a JSON sidecar.

Examples
--------
>>> takes = generate("three knocks on a wooden door", "out", variations=2)   # doctest: +SKIP
>>> [t.path.name for t in takes]                                             # doctest: +SKIP
['DOORKnck_Wood Door Knock_VOXPOST_T01.wav', 'DOORKnck_Wood Door Knock_VOXPOST_T02.wav']
"""

from __future__ import annotations

import datetime as _dt
import importlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from voxpost.foley.model import LOUDNESS_LUFS, FoleyError, SoundModel, event_times
from voxpost.foley.prompt import Layer, Plan, load_models, parse

#: Longest take (seconds); longer requests are capped with a warning.
MAX_DURATION_S = 600.0
#: Most takes one call makes.
MAX_VARIATIONS = 50
#: Most events one layer may be asked for.
MAX_COUNT = 500
#: True-peak ceiling of every take (dBTP).
CEILING_DBTP = -1.0
#: As delivered, a distant layer is this much quieter per doubling of distance beyond 1 m, at most
#: ``DISTANCE_DB_MAX`` (see :func:`delivery_gain_db`).
DISTANCE_DB_PER_DOUBLING = 3.0
DISTANCE_DB_MAX = 12.0
#: Silence kept after the last cue (seconds).
CUE_TAIL_S = 2.0
_FADE_S = 0.01


@dataclass
class Take:
    """One written take: its WAV and sidecar, what it holds, and its measured loudness."""

    path: Path
    sidecar: Path
    layers: list[dict[str, Any]]
    seed: int
    duration_s: float
    lufs: float
    peak_dbtp: float
    warnings: list[str] = field(default_factory=list)


def _space_module():
    try:
        return importlib.import_module("voxpost.foley.space")
    except ImportError as exc:
        raise FoleyError(f"the room and distance module voxpost.foley.space is not available ({exc})") from None


def _rate_hz(model: SoundModel, params: dict[str, Any]) -> float:
    """The event rate a model's parameters ask for (a Hz pace or rate parameter), else 2 per second."""
    for p in model.params:
        if p.unit.lower() == "hz" and p.name.split("_")[0] in ("pace", "rate", "tempo", "speed"):
            return max(float(params[p.name]), 0.05)
    return 2.0


def _count_span_s(count: int, rate: float) -> float:
    return 0.1 + (count - 1) / rate + 1.5


def check_cues(cues_s: Sequence[float]) -> np.ndarray:
    """Cue times as an array, refused unless finite, >= 0 and in order (the first bad one named)."""
    cues = np.asarray(list(cues_s), dtype=np.float64).reshape(-1)
    for i, t in enumerate(cues):
        if not np.isfinite(t) or t < 0:
            raise FoleyError(f"cue {i + 1} is at {t:g} s; cue times must be 0 or later")
        if i and t < cues[i - 1]:
            raise FoleyError(f"cue {i + 1} ({t:g} s) comes before cue {i} ({cues[i - 1]:g} s); sort the cues")
    if not cues.size:
        raise FoleyError("the cue list is empty")
    return cues


def plan_duration(plan: Plan, models: dict[str, SoundModel], duration_s: float | None,
                  cues: np.ndarray | None, warnings: list[str]) -> float:
    """The take length: ``duration_s``, else the prompt's, else what the counts or first model need;
    extended past the last cue; capped at :data:`MAX_DURATION_S`."""
    asked = duration_s if duration_s is not None else plan.duration_s
    if asked is not None:
        asked = float(asked)
        if not math.isfinite(asked) and asked > 0:
            asked = MAX_DURATION_S * 2
        if not asked > 0:
            raise FoleyError(f"the duration must be more than 0 s, got {asked:g}")
        if duration_s is not None and plan.duration_s is not None and plan.duration_s != duration_s:
            warnings.append(f"--duration {duration_s:g} s replaces the prompt's {plan.duration_s:g} s")
        dur = asked
    else:
        needs = [_count_span_s(layer.count, _rate_hz(models[layer.model], layer.params))
                 for layer in plan.layers if layer.count]
        if not plan.layers[0].count:
            needs.append(models[plan.layers[0].model].default_duration_s)
        dur = max(needs)
    if cues is not None and cues[-1] + CUE_TAIL_S > dur:
        dur = float(cues[-1] + CUE_TAIL_S)
    if dur > MAX_DURATION_S:
        shown = "an unbounded" if not math.isfinite(dur) else f"{dur:g} s"
        warnings.append(f"{shown} duration is capped at {MAX_DURATION_S:g} s")
        dur = MAX_DURATION_S
        if cues is not None and cues[-1] > dur:
            raise FoleyError(f"cue at {cues[-1]:g} s is past the longest take ({MAX_DURATION_S:g} s)")
    return dur


def loudness_lufs(x: np.ndarray, sample_rate: int, *, events: bool) -> float:
    """Loudness of mono ``x``: integrated (BS.1770), or for ``events`` that of its loudest second."""
    from voxpost.clean.meter import _k_power, measure_loudness

    x = np.asarray(x, np.float64).reshape(1, -1)
    if not events and x.shape[1] >= sample_rate:
        return float(measure_loudness(x, sample_rate, lra=False)["integrated_lufs"])
    power = _k_power(x, sample_rate)
    size = min(sample_rate, power.size)
    if size == 0:
        return -math.inf
    csum = np.concatenate([[0.0], np.cumsum(power)])
    hop = max(1, sample_rate // 20)
    starts = np.arange(0, power.size - size + 1, hop)
    loudest = float(((csum[starts + size] - csum[starts]) / sample_rate).max())
    return -0.691 + 10 * math.log10(loudest) if loudest > 0 else -math.inf


def render_take(plan: Plan, models: dict[str, SoundModel], duration_s: float, sample_rate: int, take_seed: int,
                cues: np.ndarray | None, warnings: list[str]) -> tuple[np.ndarray, list[dict[str, Any]]]:
    """Mix one take ``[2, frames]`` and describe its layers (events placed, gains)."""
    space = _space_module()
    n = int(round(duration_s * sample_rate))
    mix = np.zeros((2, n), np.float64)
    described = []
    for li, layer in enumerate(plan.layers):
        model = models[layer.model]
        events = None
        if model.event_based and cues is not None:
            events = cues.copy()
        elif model.event_based and layer.count and layer.params.get("count") != layer.count:
            # the model cannot count this high itself (or has no count): the events are placed here
            rate = max(_rate_hz(model, layer.params), (layer.count - 1) / max(duration_s - 0.6, 0.1))
            events = event_times(duration_s, rate, np.random.default_rng([take_seed, li, 1]), count=layer.count)
        rng = np.random.default_rng([take_seed, li])
        dry = np.asarray(model.render(dict(layer.params), duration_s, sample_rate, rng, events), np.float64).reshape(-1)
        if not np.isfinite(dry).all():
            raise FoleyError(f"sound model {model.name} produced NaN or Inf samples (seed {take_seed})")
        dry = np.pad(dry[:n], (0, max(0, n - dry.size)))
        target = LOUDNESS_LUFS[model.category]
        # the direct sound is centred (both channels): as heard, 3 dB louder than the mono take
        level = loudness_lufs(dry, sample_rate, events=model.event_based) + 10 * math.log10(2)
        gain_db = target - level if math.isfinite(level) else 0.0
        if not math.isfinite(level):
            warnings.append(f"{model.name} rendered silence (seed {take_seed})")
        dry *= 10 ** (gain_db / 20)
        wet = np.asarray(space.place(dry.astype(np.float32), sample_rate, distance_m=layer.distance_m,
                                     space=layer.space, seed=take_seed), np.float64)
        if wet.ndim == 1:
            wet = np.vstack([wet, wet]) / math.sqrt(2)
        # deliver a usable level: keep the room and air of the distance, but only part of its level drop
        level_db = delivery_gain_db(layer.distance_m) - space.distance_gain_db(layer.distance_m)
        wet = wet[:, :n] * 10 ** ((layer.gain_db + level_db) / 20)
        mix[:, :wet.shape[1]] += wet[:2]
        described.append({"model": model.name, "category": model.category, "params": _plain(layer.params),
                          "count": layer.count, "distance_m": layer.distance_m, "space": layer.space,
                          "gain_db": layer.gain_db, "text": layer.text, "target_lufs": target,
                          "normalise_gain_db": round(gain_db, 3),
                          "events_s": None if events is None else [round(float(t), 6) for t in events]})
    fade = min(n, int(_FADE_S * sample_rate))
    if fade:
        mix[:, n - fade:] *= np.linspace(1.0, 0.0, fade)
    return mix, described


def delivery_gain_db(distance_m: float) -> float:
    """Level of a layer at ``distance_m`` against the same layer at 1 m, as delivered.

    :func:`voxpost.foley.space.place` models the physics (-6 dB per doubling, the direct sound
    against the room's reverb, air absorption). A library take at 200 m delivered 40 dB down would
    be unusable, so the take keeps only :data:`DISTANCE_DB_PER_DOUBLING` per doubling beyond 1 m,
    at most :data:`DISTANCE_DB_MAX` down: distance is heard as air, room and a quieter level.
    """
    return -min(DISTANCE_DB_MAX, DISTANCE_DB_PER_DOUBLING * math.log2(max(float(distance_m), 1.0)))


def limit(mix: np.ndarray, sample_rate: int) -> tuple[np.ndarray, dict[str, float]]:
    """Scale ``mix`` down (never up) so its true peak is at most :data:`CEILING_DBTP`; measure it."""
    from voxpost.clean.meter import measure_loudness

    m = measure_loudness(mix.astype(np.float32), sample_rate, lra=False)
    if m["true_peak_dbtp"] > CEILING_DBTP - 0.05:
        mix = mix * 10 ** ((CEILING_DBTP - 0.1 - m["true_peak_dbtp"]) / 20)
        m = measure_loudness(mix.astype(np.float32), sample_rate, lra=False)
    return mix, m


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _check_out_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FoleyError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    if not out_dir.is_dir():
        raise FoleyError(f"{out_dir}: is not a folder")
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise FoleyError(f"{out_dir}: the output folder is not writable")


def generate(prompt: str, out_dir: str | os.PathLike, *, duration_s: float | None = None, variations: int = 3,
             seed: int = 0, sample_rate: int = 48000, cues_s: Sequence[float] | None = None, overwrite: bool = False,
             warn: Callable[[str], None] | None = None) -> list[Take]:
    """Render ``variations`` takes of ``prompt`` into ``out_dir``; return them.

    Parameters
    ----------
    prompt : str
        What to make ("footsteps on gravel, slow, in a church").
    out_dir : path
        Folder for the takes (created if missing).
    duration_s : float or None
        Take length; None uses the prompt's, else what its counts or first model need.
    variations : int
        Number of takes, 1..50; each differs (take seed ``seed * 1000 + k``).
    seed : int
        Base seed (>= 0): the same seed gives the same files.
    sample_rate : int
        8000..192000 Hz.
    cues_s : sequence of float or None
        Event times (s), sorted, >= 0: every event sound (steps, knocks, hooves...) lands on them.
    overwrite : bool
        Replace takes already in ``out_dir``.
    warn : callable or None
        Called with each warning (capped duration, ignored count...).

    Raises
    ------
    FoleyError
        Bad arguments, an unknown sound, an unwritable folder: before anything is written.
    """
    from voxpost import __version__, bwf
    from voxpost.audio import Audio, save
    from voxpost.foley import ucs
    from voxpost.speech.formats import write_text_atomic
    from voxpost.stream import check_output_path

    if isinstance(variations, bool) or not isinstance(variations, (int, np.integer)) \
            or not 1 <= variations <= MAX_VARIATIONS:
        raise FoleyError(f"variations must be 1..{MAX_VARIATIONS}, got {variations!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise FoleyError(f"the seed must be a whole number 0 or more, got {seed!r}")
    if not 8000 <= int(sample_rate) <= 192000:
        raise FoleyError(f"the sample rate must be 8000..192000 Hz, got {sample_rate}")
    cues = check_cues(cues_s) if cues_s is not None else None
    plan = parse(prompt)
    models = load_models()
    warnings = list(plan.warnings)
    for layer in plan.layers:
        if layer.count and layer.count > MAX_COUNT:
            warnings.append(f"{layer.count} events of {layer.model} capped at {MAX_COUNT}")
            layer.count = MAX_COUNT
    if cues is not None and not any(models[layer.model].event_based for layer in plan.layers):
        raise FoleyError("cues need an event sound (steps, knocks, hooves...); "
                         f"'{prompt}' has none ({', '.join(layer.model for layer in plan.layers)})")
    if cues is not None and any(layer.count for layer in plan.layers):
        warnings.append("the cues set the events; the count in the prompt is ignored")
    dur = plan_duration(plan, models, duration_s, cues, warnings)
    out = Path(out_dir)
    _check_out_dir(out)
    first = models[plan.layers[0].model]
    fx = first.fx_name(plan.layers[0].params)
    cat_id = first.cat(plan.layers[0].params)
    paths = [out / ucs.file_name(cat_id, fx, k + 1) for k in range(variations)]
    for p in paths:
        check_output_path(p, overwrite=overwrite)
        check_output_path(p.with_suffix(".json"), overwrite=overwrite)
    _space_module()
    for w in warnings:
        (warn or (lambda m: None))(w)
    takes: list[Take] = []
    written: list[Path] = []
    try:
        for k, path in enumerate(paths):
            take_seed = int(seed) * 1000 + k
            take_warnings = list(warnings)
            mix, layers = render_take(plan, models, dur, int(sample_rate), take_seed, cues, take_warnings)
            for w in take_warnings[len(warnings):]:
                (warn or (lambda m: None))(w)
            mix, m = limit(mix, int(sample_rate))
            now = _dt.datetime.now()
            bext = bwf.Bext(description=ucs.description(prompt, [layer["model"] for layer in layers], seed, k + 1,
                                                        cat_id),
                            originator="voxpost", originator_reference=f"VOXPOST{take_seed}"[:32],
                            origination_date=now.strftime("%Y-%m-%d"), origination_time=now.strftime("%H:%M:%S"),
                            coding_history=f"A=PCM,F={int(sample_rate)},W=24,M=stereo,T=voxpost foley {__version__}")
            save(Audio(mix.astype(np.float32), int(sample_rate), metadata={"bext": bext, "subtype": "PCM_24"}),
                 path, subtype="PCM_24", overwrite=overwrite)
            written.append(path)
            sidecar = path.with_suffix(".json")
            lufs, peak = round(m["integrated_lufs"], 2), round(m["true_peak_dbtp"], 2)
            doc = {"file": path.name, "prompt": prompt, "take": k + 1, "seed": int(seed), "take_seed": take_seed,
                   "sample_rate": int(sample_rate), "duration_s": round(dur, 6), "backend": "procedural",
                   "voxpost_version": __version__, "cues_s": None if cues is None else cues.tolist(),
                   "ucs": {"cat_id": cat_id, "fx_name": ucs.fx_name(fx), "creator_id": "VOXPOST",
                           "source_id": ucs.source_id(k + 1)},
                   "loudness": {"integrated_lufs": lufs if math.isfinite(lufs) else None, "true_peak_dbtp":
                                peak if math.isfinite(peak) else None, "ceiling_dbtp": CEILING_DBTP},
                   "layers": layers, "warnings": take_warnings}
            write_text_atomic(sidecar, json.dumps(_plain(doc), indent=2, ensure_ascii=False) + "\n",
                              overwrite=overwrite)
            written.append(sidecar)
            takes.append(Take(path, sidecar, layers, take_seed, dur, lufs, peak, take_warnings))
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return takes


__all__ = ["CEILING_DBTP", "MAX_DURATION_S", "MAX_VARIATIONS", "Layer", "Plan", "Take", "check_cues", "generate",
           "limit", "loudness_lufs", "plan_duration", "render_take"]
