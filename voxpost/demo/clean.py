"""The cleanup part of ``voxpost demo``: the scene through a preset chain, then the dialogue cleanup.

First ``dialogue-prep`` (rumble and DC out) through the process job, with what the engine
promises measured: rumble removed, speech band kept, frames and timecode kept, 10 ms blocks equal
to the whole file. Then ``period-dialogue`` through the clean job: clicks and clipped peaks
rebuilt, hiss down, EBU R128 loudness.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

DEMO_PRESET = "dialogue-prep"
CLEAN_PRESET = "period-dialogue"


def band_db(x: np.ndarray, sample_rate: int, lo_hz: float, hi_hz: float) -> float:
    """Energy of ``x`` (all channels) between ``lo_hz`` and ``hi_hz``, in dB."""
    spec = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    freqs = np.fft.rfftfreq(x.shape[-1], 1 / sample_rate)
    band = (freqs >= lo_hz) & (freqs < hi_hz)
    return float(10 * np.log10(spec[..., band].sum() + 1e-30))


def process_demo(src: Path, out_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """``src`` through :data:`DEMO_PRESET`; returns (the render report, the measurements)."""
    from voxpost.audio import info, load
    from voxpost.clean.jobs import process_job
    from voxpost.presets import load_preset

    dst = out_dir / f"{src.stem}.{DEMO_PRESET}.wav"
    render = process_job([src], dst, preset=DEMO_PRESET, force=True)[0]
    info_in, info_out = info(src), info(dst)
    before, after = load(src), load(dst)
    rate = before.sample_rate
    speech_lo, speech_hi = 300.0, min(3400.0, rate / 2)
    chain = load_preset(DEMO_PRESET).chain
    whole = chain.render(before)
    live = chain.render(before, block_frames=max(1, rate // 100))  # 10 ms blocks
    return render, {
        "rumble_removed_db": round(band_db(before.samples, rate, 15, 55) - band_db(after.samples, rate, 15, 55), 2),
        "speech_band_change_db": round(band_db(after.samples, rate, speech_lo, speech_hi)
                                       - band_db(before.samples, rate, speech_lo, speech_hi), 3),
        "dc_in": round(float(before.samples.mean()), 5),
        "dc_out": round(float(after.samples.mean()), 6),
        "latency_samples": chain.latency_samples,
        "frames_in": before.frames, "frames_out": after.frames,
        "max_diff_10ms_vs_whole_file": float(np.abs(live.samples - whole.samples).max()),
        "timecode_in": info_in["timecode"], "timecode_out": info_out["timecode"],
        "ixml_kept": before.metadata.get("ixml") == after.metadata.get("ixml"),
    }


def cleanup_demo(src: Path, out_dir: Path, *, clicks_added: int | None) -> dict[str, Any]:
    """``src`` through the clean job with :data:`CLEAN_PRESET`; its report row."""
    from voxpost.clean.jobs import clean_job

    row = clean_job([src], out_dir / f"{src.stem}.{CLEAN_PRESET}.wav", preset=CLEAN_PRESET, force=True)[0]
    return {"preset": CLEAN_PRESET, "clicks_added": clicks_added,
            **{k: row[k] for k in ("clicks_repaired", "clipped_samples_repaired", "noise_reduction_db", "lufs_in",
                                   "lufs_out", "true_peak_dbtp_out", "latency_ms", "rtf")}}
