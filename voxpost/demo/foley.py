"""The foley part of ``voxpost demo``: a street layer for the scene and knocks on cue, from prompts.

Two prompts go through the foley job the ``voxpost foley`` command calls: an ambience for the harbour scene (a
horse and cart on cobblestones in the distance, light rain, layered) and three knocks on a door
placed on picture cues. Measured: where each knock starts in the written file against its cue,
that the takes differ, their loudness and true peak, and the time it took.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

AMBIENCE = "a horse trotting on cobblestones, distant, with light rain"
KNOCKS = "three knocks on a wooden door in a small room"
#: Picture cues for the knocks, seconds.
CUES_S = (0.5, 0.9, 1.3)


def _onsets(x: np.ndarray, sr: int, cues_s) -> list[float]:
    """Where each event starts near its cue: the first sample within 30 ms before to 50 ms after
    the cue above -20 dB of that window's peak."""
    out = []
    for c in cues_s:
        a, b = int((c - 0.03) * sr), int((c + 0.05) * sr)
        seg = np.abs(x[a:b])
        out.append(a / sr + int(np.argmax(seg >= 0.1 * seg.max())) / sr)
    return out


def foley_demo(out_dir: Path) -> dict[str, Any]:
    """Run the foley demo into ``out_dir / "foley"``; return its measurements."""
    import soundfile as sf

    from voxpost.foley.jobs import foley_job

    folder = out_dir / "foley"
    t0 = time.perf_counter()
    foley_job(AMBIENCE, output=folder, variations=2, duration_s=8, force=True)
    foley_job(KNOCKS, output=folder, variations=1, cues_s=list(CUES_S), force=True)
    wall = time.perf_counter() - t0
    takes = sorted(folder.glob("*.wav"))
    docs = [json.loads(p.with_suffix(".json").read_text()) for p in takes]
    amb = [p for p, d in zip(takes, docs) if d["prompt"] == AMBIENCE]
    knock = next(p for p, d in zip(takes, docs) if d["prompt"] == KNOCKS)
    x, sr = sf.read(knock, dtype="float32")
    errors = [round(abs(o - c) * 1000, 2) for o, c in zip(_onsets(x.mean(axis=1), sr, CUES_S), CUES_S)]
    a, b = (sf.read(p, dtype="float32")[0].mean(axis=1) for p in amb[:2])
    seconds = sum(d["duration_s"] for d in docs)
    return {
        "takes": [p.name for p in takes],
        "layers": [[layer["model"] for layer in d["layers"]] for d in docs],
        "lufs": [d["loudness"]["integrated_lufs"] for d in docs],
        "true_peak_dbtp": [d["loudness"]["true_peak_dbtp"] for d in docs],
        "knock_cue_error_ms": errors,
        "ambience_takes_correlation": round(float(np.corrcoef(a, b)[0, 1]), 3),
        "seconds_made": round(seconds, 2), "wall_s": round(wall, 2),
    }
