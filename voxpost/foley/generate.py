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
>>> takes = generate("three knocks on a wooden door", "out", duration_s=2.0, variations=2)
>>> [t.path.name for t in takes]
['DOORKnck_Knocks on Wooden Door 3x_VOXPOST_T01.wav', 'DOORKnck_Knocks on Wooden Door 3x_VOXPOST_T02.wav']
"""

from __future__ import annotations

import importlib
import math
import os
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from voxpost.foley.model import LOUDNESS_LUFS, FoleyError, SoundModel, event_times
from voxpost.foley.prompt import Layer, Plan, load_models, parse
from voxpost.foley.takes import CEILING_DBTP, Take, check_out_dir, limit, loudness_lufs, plain, write_take

__all__ = ["CEILING_DBTP", "MAX_DURATION_S", "MAX_VARIATIONS", "Layer", "Plan", "Take", "check_cues", "generate",
           "limit", "loudness_lufs", "plan_duration", "render_take"]

#: Longest take (seconds); longer requests are capped with a warning.
MAX_DURATION_S = 600.0
#: Most takes one call makes.
MAX_VARIATIONS = 50
#: Most events one layer may be asked for.
MAX_COUNT = 500
#: Backends of :func:`generate`, and the UCS CatID of a neural take whose prompt names no model.
BACKENDS = ("auto", "procedural", "neural")
NEURAL_CAT_ID = "MISCMisc"
#: As delivered, a distant layer is this much quieter per doubling of distance beyond 1 m, at most
#: ``DISTANCE_DB_MAX`` (see :func:`delivery_gain_db`).
DISTANCE_DB_PER_DOUBLING = 3.0
DISTANCE_DB_MAX = 12.0
#: Silence kept after the last cue (seconds).
CUE_TAIL_S = 2.0
_FADE_S = 0.01


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
        described.append({"model": model.name, "category": model.category, "params": plain(layer.params),
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


def generate(prompt: str, out_dir: str | os.PathLike, *, duration_s: float | None = None, variations: int = 3,
             seed: int = 0, sample_rate: int = 48000, cues_s: Sequence[float] | None = None, overwrite: bool = False,
             warn: Callable[[str], None] | None = None, backend: str = "auto", model_path: str | None = None,
             neural_steps: int = 100) -> list[Take]:
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
    backend : str
        ``procedural`` (the embedded models), ``neural`` (Stable Audio Open, :mod:`voxpost.foley.neural`)
        or ``auto`` (default): procedural when the prompt names known sounds, else neural when its
        checkpoint is installed and verified (or ``model_path`` is given).
    model_path : str or None
        A Stable Audio Open folder the user names (loaded unverified; its hashes go in the sidecar).
    neural_steps : int
        Diffusion steps of the neural backend.

    Raises
    ------
    FoleyError
        Bad arguments, an unknown sound, an unwritable folder: before anything is written.
    """
    from voxpost.foley import ucs
    from voxpost.outputs import check_output

    if isinstance(variations, bool) or not isinstance(variations, (int, np.integer)) \
            or not 1 <= variations <= MAX_VARIATIONS:
        raise FoleyError(f"variations must be 1..{MAX_VARIATIONS}, got {variations!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise FoleyError(f"the seed must be a whole number 0 or more, got {seed!r}")
    if not 8000 <= int(sample_rate) <= 192000:
        raise FoleyError(f"the sample rate must be 8000..192000 Hz, got {sample_rate}")
    cues = check_cues(cues_s) if cues_s is not None else None
    plan, neural_model = _choose_backend(prompt, backend, model_path)
    if neural_model is not None:
        return _generate_neural(neural_model, prompt, plan, Path(out_dir), duration_s=duration_s,
                                variations=variations, seed=int(seed), sample_rate=int(sample_rate), cues=cues,
                                overwrite=overwrite, warn=warn, steps=neural_steps)
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
    check_out_dir(out)
    first = models[plan.layers[0].model]
    fx = first.fx_name(plan.layers[0].params)
    cat_id = first.cat(plan.layers[0].params)
    paths = [out / ucs.file_name(cat_id, fx, k + 1) for k in range(variations)]
    for p in paths:
        check_output(p, overwrite=overwrite)
        check_output(p.with_suffix(".json"), overwrite=overwrite)
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
            takes.append(write_take(mix, path, prompt=prompt, take=k + 1, seed=int(seed), take_seed=take_seed,
                                     sample_rate=int(sample_rate), duration_s=dur, cat_id=cat_id, fx=fx,
                                     layers=layers, warnings=take_warnings, overwrite=overwrite,
                                     extra={"backend": "procedural",
                                            "cues_s": None if cues is None else cues.tolist()}))
            written += [path, path.with_suffix(".json")]
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return takes


def _choose_backend(prompt: str, backend: str, model_path: str | None):
    """``(plan or None, neural model or None)`` for the backend asked for (see :func:`generate`)."""
    from voxpost.foley import neural

    if backend not in BACKENDS:
        raise FoleyError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if backend == "procedural":
        return parse(prompt), None
    if backend == "neural":
        try:
            plan = parse(prompt)
        except FoleyError:
            plan = None
        return plan, _load_neural(model_path)
    try:
        return parse(prompt), None
    except FoleyError as exc:
        if model_path is None and neural.unavailable_reason() is not None:
            raise
        if not prompt.strip():
            raise exc
        return None, _load_neural(model_path)


def _load_neural(model_path: str | None):
    from voxpost.errors import ModelError
    from voxpost.foley import neural

    if model_path is None and (reason := neural.unavailable_reason()) is not None:
        raise FoleyError(f"the neural foley backend is not available: {reason}")
    try:
        return neural.load(model_path)
    except ModelError as exc:
        raise FoleyError(str(exc)) from None


def _generate_neural(model, prompt: str, plan: Plan | None, out: Path, *, duration_s: float | None, variations: int,
                     seed: int, sample_rate: int, cues, overwrite: bool, warn, steps: int) -> list[Take]:
    """Takes from the text-to-audio model: the prompt as written, at the first layer's category
    loudness, distance and room when the prompt names them (else dry, effects loudness)."""
    from voxpost.foley import neural, ucs
    from voxpost.outputs import check_output

    if cues is not None:
        raise FoleyError("cues need the procedural models (the neural backend cannot place events on times)")
    warnings = list(plan.warnings) if plan else []
    dur = duration_s if duration_s is not None else (plan.duration_s if plan and plan.duration_s else 5.0)
    if not dur > 0:
        raise FoleyError(f"the duration must be more than 0 s, got {dur:g}")
    if dur > model.max_duration_s:
        warnings.append(f"the neural model makes at most {model.max_duration_s:.1f} s; {dur:g} s capped")
        dur = model.max_duration_s
    models = load_models()
    layer = plan.layers[0] if plan else None
    first = models.get(layer.model) if layer else None
    category = first.category if first else "effects"
    cat_id = first.cat(layer.params) if first else NEURAL_CAT_ID
    fx = ucs.fx_name(prompt)
    check_out_dir(out)
    paths = [out / ucs.file_name(cat_id, fx, k + 1) for k in range(variations)]
    for p in paths:
        check_output(p, overwrite=overwrite)
        check_output(p.with_suffix(".json"), overwrite=overwrite)
    for w in warnings:
        (warn or (lambda m: None))(w)
    space = _space_module()
    takes, written = [], []
    try:
        for k, path in enumerate(paths):
            take_seed = seed * 1000 + k
            dry = neural.generate(model, prompt, duration_s=dur, seed=take_seed, sample_rate=sample_rate,
                                  steps=steps).astype(np.float64)
            level = loudness_lufs(dry, sample_rate, events=False) + 10 * math.log10(2)
            gain_db = LOUDNESS_LUFS[category] - level if math.isfinite(level) else 0.0
            dist, room = (layer.distance_m, layer.space) if layer else (1.0, "dry")
            wet = np.asarray(space.place((dry * 10 ** (gain_db / 20)).astype(np.float32), sample_rate,
                                        distance_m=dist, space=room, seed=take_seed), np.float64)
            n = dry.size
            wet = wet[:2, :n] * 10 ** ((delivery_gain_db(dist) - space.distance_gain_db(dist)) / 20)
            described = [{"model": "stable-audio-open-1.0", "category": category, "distance_m": dist, "space": room,
                          "target_lufs": LOUDNESS_LUFS[category], "normalise_gain_db": round(gain_db, 3),
                          "steps": steps}]
            takes.append(write_take(wet, path, prompt=prompt, take=k + 1, seed=seed, take_seed=take_seed,
                                     sample_rate=sample_rate, duration_s=dur, cat_id=cat_id, fx=fx,
                                     layers=described, warnings=warnings, overwrite=overwrite,
                                     extra={"backend": "neural", "model": model.sources}))
            written += [path, path.with_suffix(".json")]
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return takes
