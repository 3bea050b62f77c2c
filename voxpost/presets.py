"""Presets: a TOML file names a chain and its parameters; loading validates every key and value.

A preset file::

    description = "DC removal and an 80 Hz high-pass: the first pass on location dialogue."

    [[stage]]
    type = "dc_block"

    [[stage]]
    type = "highpass"
    cutoff_hz = 80.0
    order = 4

``load_preset("dialogue-prep")`` finds ``presets/dialogue-prep.toml`` (or any path ending in
``.toml``) and returns a :class:`Preset` whose ``chain`` is ready to ``prepare``.

Every stage of :func:`voxpost.stages.registry` can be used, with every parameter it declares. A
file parameter (``*_path``: ``model_path``, ``profile_path``) is resolved relative to the preset
file. A bad preset (unknown stage or key, a value of the wrong type or out of range, a file that
is not there) raises :class:`PresetError`, one line naming the stage and the key::

    [[stage]]
    type = "voice-convert"
    profile_path = "voices/actor.voice"     # next to the preset
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxpost.errors import PresetError, VoxpostError
from voxpost.models import shipped_dir
from voxpost.stage import PATH_SUFFIX, Chain
from voxpost.stages import registry

_TOP_KEYS = {"description", "stage"}


@dataclass
class Preset:
    name: str
    description: str
    path: Path
    chain: Chain


def preset_dirs() -> list[Path]:
    """Where named presets are looked up: ``$VOXPOST_PRESETS`` (path list), then the shipped
    ``presets/`` (installed as ``voxpost._presets``)."""
    dirs = [Path(d) for d in os.environ.get("VOXPOST_PRESETS", "").split(os.pathsep) if d]
    return dirs + [shipped_dir("presets")]


def list_presets() -> list[Preset]:
    """Every preset found, first directory wins for a repeated name, sorted by name."""
    found: dict[str, Path] = {}
    for d in preset_dirs():
        for p in sorted(d.glob("*.toml")) if d.is_dir() else []:
            found.setdefault(p.stem, p)
    return [load_preset(p) for _, p in sorted(found.items())]


def load_preset(name_or_path: str | os.PathLike) -> Preset:
    """Load and validate a preset by name (``dialogue-prep``) or by path (``my.toml``)."""
    text = str(name_or_path)
    path = Path(text)
    if not (text.endswith(".toml") or os.sep in text):
        path = next((d / f"{text}.toml" for d in preset_dirs() if (d / f"{text}.toml").is_file()), path)
    if not path.is_file():
        known = [p.stem for d in preset_dirs() if d.is_dir() for p in d.glob("*.toml")]
        hint = difflib.get_close_matches(text, known, n=1)
        raise PresetError(f"no preset {text!r}" + (f"; did you mean {hint[0]!r}?" if hint else "")
                          + f" (known: {', '.join(sorted(known)) or 'none'}; or give a path to a .toml file)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise PresetError(f"preset {path}: not valid TOML ({exc})") from None
    chain = chain_from_dict(data, source=str(path), base_dir=path.resolve().parent)
    return Preset(path.stem, data.get("description", ""), path, chain)


def chain_from_dict(data: dict[str, Any], *, source: str = "preset", base_dir: Path | None = None) -> Chain:
    """Build a :class:`Chain` from parsed preset data, naming the first bad key or value.

    Relative file parameters (``*_path``) are resolved against ``base_dir`` (the preset's
    folder; default: the current directory).
    """
    stage_types = registry()
    for key in data:
        if key not in _TOP_KEYS:
            raise PresetError(f"preset {source}: unknown key {key!r} (expected: description, [[stage]])")
    if not isinstance(data.get("description", ""), str):
        raise PresetError(f"preset {source}: description must be a string")
    stages_data = data.get("stage", [])
    if not isinstance(stages_data, list) or not stages_data:
        raise PresetError(f"preset {source}: needs at least one [[stage]] table")
    known = ", ".join(stage_types)
    stages = []
    for i, entry in enumerate(stages_data, 1):
        where = f"preset {source}, stage {i}"
        if not isinstance(entry, dict) or "type" not in entry:
            raise PresetError(f"{where}: missing 'type' (one of {known})")
        kind = entry["type"]
        cls = stage_types.get(kind) if isinstance(kind, str) else None
        if cls is None:
            hint = difflib.get_close_matches(str(kind), stage_types, n=1)
            raise PresetError(f"{where}: unknown stage type {kind!r}"
                              + (f"; did you mean {hint[0]!r}?" if hint else f" (known: {known})"))
        names = [f.name for f in dataclasses.fields(cls)]
        kwargs = {k: v for k, v in entry.items() if k != "type"}
        for k, v in kwargs.items():
            if k not in names:
                raise PresetError(f"{where} ({kind}): unknown parameter {k!r} (expected: {', '.join(names) or 'none'})")
            if k.endswith(PATH_SUFFIX) and isinstance(v, str) and v:
                kwargs[k] = str((base_dir or Path.cwd()) / Path(v).expanduser())
        try:
            stages.append(cls(**kwargs))
        except VoxpostError as exc:      # ParameterError, or a resource the stage loads
            raise PresetError(f"{where}: {exc}") from None
    return Chain(stages, name=Path(source).stem)
