"""The foley job: takes from a prompt, on cues, named and measured like a sound library; and the catalogue.

:func:`foley_job` checks every argument and the output folder before any sound is made, then
writes ``variations`` takes (24-bit Broadcast WAV with a UCS name and a JSON sidecar).
:func:`read_cues` and :func:`parse_time` read picture cues; :func:`catalogue` describes every
sound model (parameters with units and ranges, example prompts) and the spaces.
"""

from __future__ import annotations

import csv
import os
import re
from typing import Any

from voxpost.errors import VoxpostError
from voxpost.progress import SILENT, Listener

PathLike = str | os.PathLike

#: Diffusion steps the neural backend accepts.
NEURAL_STEPS_RANGE = (1, 1000)


def parse_time(text: str, where: str = "") -> float:
    """Seconds from ``12.5`` or ``HH:MM:SS.mmm`` / ``MM:SS.mmm``; VoxpostError naming ``where``.

    >>> parse_time("01:02.5"), parse_time("3")
    (62.5, 3.0)
    """
    t = text.strip()
    try:
        if ":" in t:
            parts = t.split(":")
            if len(parts) > 3 or not all(re.fullmatch(r"-?\d+(?:\.\d*)?", p) for p in parts):
                raise ValueError
            value = 0.0
            for p in parts:
                value = value * 60 + float(p)
            return -value if t.startswith("-") and value > 0 else value
        return float(t)
    except ValueError:
        raise VoxpostError(f"{where}: '{text}' is not a time (seconds, or HH:MM:SS.mmm)") from None


def parse_cue_list(text: str, where: str = "--at") -> list[float]:
    """``"0.5,1.25,2"`` -> seconds; every item must be a time."""
    items = text.split(",")
    if not any(c.strip() for c in items):
        raise VoxpostError(f"{where} needs event times, e.g. {where} 0.5,1.25,2")
    return [parse_time(c, f"{where} item {i + 1}") for i, c in enumerate(items)]


def read_cues(path: PathLike) -> list[float]:
    """Cue times (s) from a CSV: the ``time`` column when the header names one, else the first."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except OSError as exc:
        raise VoxpostError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise VoxpostError(f"{path}: not a UTF-8 text file") from None
    except csv.Error as exc:
        raise VoxpostError(f"{path}: not a CSV file ({exc})") from None
    if not rows:
        raise VoxpostError(f"{path}: no cues")
    header = [c.strip().lower() for c in rows[0]]
    col, start = 0, 0
    if "time" in header:
        col, start = header.index("time"), 1
    elif header and not re.fullmatch(r"[-\d.:]+", header[0]):
        start = 1   # some other header: the first column holds the times
    times = []
    for i, row in enumerate(rows[start:], start=start + 1):
        if col >= len(row) or not row[col].strip():
            raise VoxpostError(f"{path}: line {i} has no time")
        times.append(parse_time(row[col], f"{path} line {i}"))
    if not times:
        raise VoxpostError(f"{path}: no cues")
    return times


def catalogue() -> dict[str, Any]:
    """Every sound model's description and the spaces a prompt may name."""
    from voxpost.foley.prompt import load_models, spaces

    names, aliases = spaces()
    return {"models": [dict(m.describe(), category=m.category) for m in load_models().values()],
            "spaces": list(names),
            "space_aliases": aliases}


def foley_job(prompt: str, *, output: PathLike, duration_s: float | None = None, variations: int = 3,
              seed: int = 0, sample_rate: int = 48000, cues_s: list[float] | None = None, backend: str = "auto",
              model_path: PathLike | None = None, neural_steps: int = 100, force: bool = False,
              listener: Listener = SILENT) -> list[dict[str, Any]]:
    """Make ``variations`` takes of ``prompt`` in the folder ``output``; one summary per take."""
    from voxpost.foley.generate import generate

    lo, hi = NEURAL_STEPS_RANGE
    if not lo <= neural_steps <= hi:
        raise VoxpostError(f"--steps {neural_steps} is outside {lo}..{hi}")
    takes = generate(prompt, output, duration_s=duration_s, variations=variations, seed=seed,
                     sample_rate=sample_rate, cues_s=cues_s, overwrite=force, warn=listener.warn, backend=backend,
                     model_path=model_path, neural_steps=neural_steps)
    rows = []
    for t in takes:
        layers = [layer["model"] for layer in t.layers]
        listener.note(f"{t.path}: {t.duration_s:.2f} s, {t.lufs:.1f} LUFS, true peak {t.peak_dbtp:.1f} dBTP "
                      f"({', '.join(layers)})")
        rows.append({"path": str(t.path), "duration_s": t.duration_s, "lufs": t.lufs, "true_peak_dbtp": t.peak_dbtp,
                     "layers": layers})
    return rows
