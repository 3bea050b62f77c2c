"""The cleanup jobs: files through a preset's chain, measured, reported and plotted.

:func:`process_job` renders files through any preset; :func:`clean_job` does the same with the
dialogue presets and adds the measurements a sound editor checks (loudness in and out, true
peak, clicks and clipped samples repaired, hum and noise removed), a JSON report and a
before/after spectrogram. Every input is opened and every output checked before the first file
is rendered, so a bad third input leaves no two outputs behind. Memory stays flat: the render,
the measurements and the plot all stream.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np

from voxpost.errors import VoxpostError
from voxpost.outputs import check_outputs, write_json
from voxpost.progress import SILENT, Listener

PathLike = str | os.PathLike

#: Report keys copied from the chain's own report.
STAGE_KEYS = ("hum_hz", "hum_reduction_db", "clicks_repaired", "clipped_samples_repaired", "noise_reduction_db")


def process_job(inputs: list[PathLike], output: PathLike, *, preset: str, sample_rate: int | None = None,
                subtype: str | None = None, live: bool = False, extra_outputs: list[PathLike] = (),
                force: bool = False, listener: Listener = SILENT) -> list[dict[str, Any]]:
    """Render each input through ``preset``'s chain; one render report per file.

    ``output`` is a file for one input, or a folder (``DIR/<input name>``) for several.
    ``extra_outputs`` are checked with the rest before any work (the caller writes them).
    """
    from voxpost.presets import load_preset
    from voxpost.render import output_paths, render_file
    from voxpost.stream import AudioReader

    inputs = [str(i) for i in inputs]
    if sample_rate is not None and not 1000 <= sample_rate <= 768000:
        raise VoxpostError(f"--sample-rate {sample_rate} is outside 1000..768000 Hz")
    chain = load_preset(live_preset(preset, listener) if live else preset).chain
    outputs = output_paths(inputs, str(output))
    if len(set(outputs)) != len(outputs):
        raise VoxpostError("several inputs share a file name; they would write the same output")
    for src in inputs:
        AudioReader(src).close()
    if len(outputs) > 1:
        Path(output).mkdir(parents=True, exist_ok=True)
    check_outputs([*outputs, *extra_outputs], overwrite=force, protect=inputs)
    reports = []
    for src, dst in zip(inputs, outputs):
        with listener.task(f"{Path(src).name} -> {dst}") as tick:
            report = render_file(src, dst, chain, live=live, sample_rate=sample_rate, subtype=subtype,
                                 overwrite=force, protect=inputs, progress=tick)
        listener.note(f"{src} -> {dst}  ({report['frames_out']} frames, {report['subtype']}, rtf {report['rtf']})")
        reports.append(report)
    return reports


def clean_job(inputs: list[PathLike], output: PathLike, *, preset: str = "period-dialogue",
              report: PathLike | None = None, plot: PathLike | None = None, live: bool = False,
              force: bool = False, listener: Listener = SILENT) -> list[dict[str, Any]]:
    """Clean dialogue files through ``preset``; returns (and writes to ``report``) one row per file.

    ``live`` processes as a live insert (10 ms blocks, no look at the whole file; integrated
    loudness becomes short-term). With several inputs, ``plot`` names one PNG per input
    (``<plot stem>-<input stem>.png``).
    """
    from voxpost.clean.plot import MAX_PLOT_S, before_after_png

    inputs = [str(i) for i in inputs]
    plots = [] if plot is None else [Path(plot)] if len(inputs) == 1 else \
        [Path(plot).with_name(f"{Path(plot).stem}-{Path(src).stem}.png") for src in inputs]
    extra = [p for p in (report, *plots) if p]
    renders = process_job(inputs, output, preset=preset, live=live, extra_outputs=extra, force=force,
                          listener=listener)
    rows = []
    for i, (src, r) in enumerate(zip(inputs, renders)):
        dst = r["output"]
        m_in, m_out = measure_file(src), measure_file(dst)
        row = {k: r.get(k) for k in STAGE_KEYS}
        row.update(input=src, output=dst, lufs_in=_round(m_in["integrated_lufs"]),
                   lufs_out=_round(m_out["integrated_lufs"]), true_peak_dbtp_out=_round(m_out["true_peak_dbtp"]),
                   latency_ms=r["latency_ms"], rtf=r["rtf"], preset=live_preset(preset) if live else preset,
                   live=live)
        rows.append(row)
        if plots:
            (before, rate), (after, _) = _head(src, MAX_PLOT_S), _head(dst, MAX_PLOT_S)
            before_after_png(before, after, rate, plots[i], title=Path(src).name)
    if report:
        write_json(report, rows[0] if len(rows) == 1 else rows, overwrite=force, protect=inputs)
    return rows


def live_preset(preset: str, listener: Listener = SILENT) -> str:
    """The preset to use live for ``preset``: its ``-live`` sibling when one exists (say so), else itself."""
    from voxpost.presets import preset_dirs

    name = str(preset)
    if name.endswith(".toml") or name.endswith("-live"):
        return name
    sibling = f"{name}-live"
    if any((d / f"{sibling}.toml").is_file() for d in preset_dirs()):
        listener.warn(f"--stream: {name} is an offline chain; using {sibling} (10 ms blocks, live latency)")
        return sibling
    return name


def measure_file(path: PathLike, *, block_frames: int | None = None, **kwargs: Any) -> dict[str, float]:
    """:func:`voxpost.clean.meter.measure_loudness` of a file, streamed (flat memory)."""
    from voxpost.clean.meter import measure_stream
    from voxpost.render import BLOCK_FRAMES
    from voxpost.stream import AudioReader

    with AudioReader(path) as reader:
        return measure_stream(reader.blocks(block_frames or BLOCK_FRAMES), reader.sample_rate, reader.channels, **kwargs)


def _head(path: PathLike, seconds: float) -> tuple[np.ndarray, int]:
    """The first ``seconds`` of a file, streamed: nothing past them is decoded."""
    from voxpost.render import BLOCK_FRAMES
    from voxpost.stream import AudioReader

    with AudioReader(path) as reader:
        want, got, parts = int(seconds * reader.sample_rate), 0, []
        for block in reader.blocks(BLOCK_FRAMES):
            parts.append(block[:, :want - got])
            got += parts[-1].shape[1]
            if got >= want:
                break
        samples = np.concatenate(parts, axis=1) if parts else np.zeros((reader.channels, 0), np.float32)
        return samples, reader.sample_rate


def _round(x: float | None, digits: int = 2) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)
