"""A take on disk: its loudness, the true-peak ceiling, the 24-bit Broadcast WAV and its JSON sidecar.

Shared by the procedural and the neural paths of :mod:`voxpost.foley.generate`.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxpost.foley.model import FoleyError

#: True-peak ceiling of every take (dBTP).
CEILING_DBTP = -1.0


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


def loudness_lufs(x: np.ndarray, sample_rate: int, *, events: bool) -> float:
    """Loudness of mono ``x``: integrated (BS.1770), or for ``events`` that of its loudest second."""
    from voxpost.clean.bs1770 import _k_power, integrated_loudness

    x = np.asarray(x, np.float64).reshape(1, -1)
    if not events and x.shape[1] >= sample_rate:
        return float(integrated_loudness(x, sample_rate))
    power = _k_power(x, sample_rate)
    size = min(sample_rate, power.size)
    if size == 0:
        return -math.inf
    csum = np.concatenate([[0.0], np.cumsum(power)])
    hop = max(1, sample_rate // 20)
    starts = np.arange(0, power.size - size + 1, hop)
    loudest = float(((csum[starts + size] - csum[starts]) / sample_rate).max())
    return -0.691 + 10 * math.log10(loudest) if loudest > 0 else -math.inf


def limit(mix: np.ndarray, sample_rate: int) -> tuple[np.ndarray, dict[str, float]]:
    """Scale ``mix`` down (never up) so its true peak is at most :data:`CEILING_DBTP`; measure it."""
    from voxpost.clean.bs1770 import integrated_loudness
    from voxpost.dsp.truepeak import true_peak

    x = np.asarray(mix, np.float32).reshape(-1, np.shape(mix)[-1])
    same = x.shape[0] > 1 and all(np.array_equal(x[0], c) for c in x[1:])     # a dry take: L = R
    distinct = x[:1] if same else x
    peak = float(true_peak(distinct, sample_rate).max()) if x.size else 0.0
    # BS.1770-4 (tested against pyloudnorm) sums the channels' powers: n identical channels add 10 log10(n)
    lufs = integrated_loudness(distinct, sample_rate) + (10 * math.log10(x.shape[0]) if same else 0.0)
    m = {"integrated_lufs": lufs, "true_peak_dbtp": 20 * math.log10(peak) if peak > 0 else -math.inf}
    if m["true_peak_dbtp"] > CEILING_DBTP - 0.05:
        gain_db = CEILING_DBTP - 0.1 - m["true_peak_dbtp"]
        mix = mix * 10 ** (gain_db / 20)
        m = {k: v + gain_db for k, v in m.items()}     # every level moves with a pure gain: no second pass
    return mix, m


def plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def check_out_dir(out_dir: Path) -> None:
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FoleyError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    if not out_dir.is_dir():
        raise FoleyError(f"{out_dir}: is not a folder")
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise FoleyError(f"{out_dir}: the output folder is not writable")


def write_take(mix: np.ndarray, path: Path, *, prompt: str, take: int, seed: int, take_seed: int, sample_rate: int,
                duration_s: float, cat_id: str, fx: str, layers: list, warnings: list[str], overwrite: bool,
                extra: dict[str, Any]) -> Take:
    """Limit ``mix`` under the ceiling, write it as a 24-bit BWF and its JSON sidecar; the audio is
    removed again if the sidecar cannot be written."""
    from voxpost import __version__, bwf
    from voxpost.audio import Audio, save
    from voxpost.foley import ucs
    from voxpost.outputs import write_text

    mix, m = limit(mix, sample_rate)
    now = _dt.datetime.now()
    bext = bwf.Bext(description=ucs.description(prompt, [layer["model"] for layer in layers], seed, take, cat_id),
                    originator="voxpost", originator_reference=f"VOXPOST{take_seed}"[:32],
                    origination_date=now.strftime("%Y-%m-%d"), origination_time=now.strftime("%H:%M:%S"),
                    coding_history=f"A=PCM,F={sample_rate},W=24,M=stereo,T=voxpost foley {__version__}")
    save(Audio(mix.astype(np.float32), sample_rate, metadata={"bext": bext, "subtype": "PCM_24"}),
         path, subtype="PCM_24", overwrite=overwrite)
    sidecar = path.with_suffix(".json")
    lufs, peak = round(m["integrated_lufs"], 2), round(m["true_peak_dbtp"], 2)
    doc = {"file": path.name, "prompt": prompt, "take": take, "seed": seed, "take_seed": take_seed,
           "sample_rate": sample_rate, "duration_s": round(duration_s, 6), **extra, "voxpost_version": __version__,
           "ucs": {"cat_id": cat_id, "fx_name": ucs.fx_name(fx), "creator_id": "VOXPOST",
                   "source_id": ucs.source_id(take)},
           "loudness": {"integrated_lufs": lufs if math.isfinite(lufs) else None, "true_peak_dbtp":
                        peak if math.isfinite(peak) else None, "ceiling_dbtp": CEILING_DBTP},
           "layers": layers, "warnings": warnings}
    try:
        write_text(sidecar, json.dumps(plain(doc), indent=2, ensure_ascii=False) + "\n", overwrite=overwrite)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Take(path, sidecar, layers, take_seed, duration_s, lufs, peak, warnings)
