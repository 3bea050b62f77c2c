"""Offline rendering of files through a chain: stream in, process, (resample), stream out.

Memory stays flat whatever the file length: one block per stage is alive at a time. The output
keeps the input's channel count, sample rate, bit depth, BWF time reference and iXML unless the
caller asks otherwise, and is sample-aligned with the input (the chain's latency is compensated).
"""

from __future__ import annotations

import os
import tempfile
import time
from contextlib import ExitStack
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from voxpost import __version__, bwf
from voxpost.stage import Chain
from voxpost.resample import resample_stream
from voxpost.stream import AudioReader
from voxpost.writer import AudioWriter

#: Frames per block for offline rendering (about 1.4 s at 48 kHz).
BLOCK_FRAMES = 65536

Progress = Callable[[int, int | None], None]


def render_file(src: str | os.PathLike, dst: str | os.PathLike, chain: Chain, *,
                block_frames: int | None = None, live: bool = False, sample_rate: int | None = None,
                subtype: str | None = None,
                overwrite: bool = False, protect: Iterable[str | os.PathLike] = (),
                progress: Progress | None = None) -> dict[str, Any]:
    """Process ``src`` through ``chain`` into ``dst``; returns a small report.

    Parameters
    ----------
    block_frames : frames per block; default :data:`BLOCK_FRAMES`, or 10 ms when ``live``
    live : process as a live insert would: 10 ms blocks, no look at the whole file first
        (integrated loudness becomes short-term, see :func:`make_live`)
    sample_rate : resample the output to this rate (libsoxr VHQ); None keeps the input's
    subtype : output sample format; None keeps the input's bit depth where the format allows
    overwrite : replace an existing ``dst`` (never ``src`` nor anything in ``protect``)
    progress : called as ``progress(frames_done, frames_total)``
    """
    started = time.perf_counter()
    with AudioReader(src) as reader:
        in_rate, channels = reader.sample_rate, reader.channels
        out_rate = sample_rate or in_rate
        if live:
            make_live(chain)
        block_frames = block_frames or (max(1, in_rate // 100) if live else BLOCK_FRAMES)
        chain.prepare(in_rate, channels)
        bext = _bext_for_output(reader, out_rate, chain)
        with AudioWriter(dst, sample_rate=out_rate, channels=channels, subtype=subtype or reader.native_subtype,
                         bext=bext, ixml=reader.ixml, overwrite=overwrite, protect=[src, *protect]) as writer:
            total = _scaled(reader.frames, in_rate, out_rate)
            analysers = [i for i, s in enumerate(chain.stages) if s.needs_analysis]
            with ExitStack() as cleanup:
                source, tail, halves = (lambda: reader.blocks(block_frames)), chain, 1
                if not live and analysers:
                    # Spill what the stages before each analysing one make to a float WAV beside
                    # the output, once: the analysis passes and the next stages then read it
                    # instead of re-running those stages (flat memory, one run of each stage;
                    # a stage at the start of a run is analysed on what the last spill holds).
                    # Only the latest spill is kept.
                    spill_dir = Path(cleanup.enter_context(tempfile.TemporaryDirectory(
                        prefix=".voxpost-", dir=Path(dst).parent)))
                    start, cuts = 0, [a for a in analysers if a > 0]
                    halves = len(cuts) + 1
                    for k, cut in enumerate(cuts):
                        head = Chain(chain.stages[start:cut])
                        head.prepare(in_rate, channels)
                        head.analyse_with(source)
                        spill = spill_dir / f"head{k}.wav"
                        with AudioWriter(spill, sample_rate=in_rate, channels=channels, subtype="FLOAT") as w:
                            for block in head.stream(source()):
                                w.write(block)
                                if progress is not None and total:
                                    progress((k * total + _scaled(w.frames, in_rate, out_rate)) // halves, total)
                        if k:
                            (spill_dir / f"head{k - 1}.wav").unlink()
                        source = lambda spill=spill: _read_blocks(spill, block_frames)  # noqa: E731
                        start = cut
                    tail = Chain(chain.stages[start:])
                    tail.prepare(in_rate, channels)
                if not live:
                    tail.analyse_with(source)
                done = 0
                blocks = tail.stream(source())
                if out_rate != in_rate:
                    blocks = resample_stream(blocks, in_rate, out_rate, channels)
                for block in blocks:
                    writer.write(block)
                    done += block.shape[1]
                    if progress is not None:
                        progress(done if halves == 1 or not total else ((halves - 1) * total + done) // halves, total)
            frames_out, out_subtype = writer.frames, writer.subtype
        seconds = time.perf_counter() - started
        duration = reader.frames / in_rate if reader.frames else 0.0
    return {
        "input": str(src), "output": str(dst), "sample_rate": out_rate, "channels": channels,
        "frames_in": reader.frames, "frames_out": frames_out, "subtype": out_subtype,
        "latency_samples": chain.latency_samples, "latency_ms": round(1000 * chain.latency_samples / in_rate, 3),
        "block_frames": block_frames, "seconds": round(seconds, 3), **chain.report(),
        "rtf": round(seconds / duration, 5) if duration else None,
    }


def make_live(chain: Chain) -> Chain:
    """Switch ``chain`` to live operation: stages that need the whole programme (integrated
    loudness) take their live mode (short-term loudness); a stage without one is an error.
    A stage that works in long segments offline (``segment_s``, DeepFilterNet3's ONNX path)
    streams frame by frame instead."""
    from voxpost.errors import VoxpostError

    for stage in chain.stages:
        if getattr(stage, "segment_s", 0.0):
            stage.segment_s = 0.0
        if stage.needs_analysis:
            choices = getattr(type(stage), "__dataclass_fields__", {}).get("mode")
            if choices is None or "short_term" not in (choices.metadata.get("choices") or ()):
                raise VoxpostError(f"stage {stage.kind} needs the whole file and has no live mode")
            stage.mode = "short_term"
    return chain


def output_paths(inputs: list[str], output: str) -> list[Path]:
    """One output per input: ``output`` itself for one input, ``output/<input name>`` for several
    (or when ``output`` is an existing directory); inputs voxpost cannot write (video) get ``.wav``."""
    from voxpost.writer import WRITE_FORMATS

    out = Path(output)
    if len(inputs) > 1 or out.is_dir():
        names = [Path(i).name for i in inputs]
        # a video or another read-only format becomes a WAV of the same name
        return [out / (n if Path(n).suffix.lower() in WRITE_FORMATS else Path(n).stem + ".wav") for n in names]
    return [out]


def _read_blocks(path: Path, block_frames: int) -> Iterator[np.ndarray]:
    with AudioReader(path) as reader:
        yield from reader.blocks(block_frames)




def _bext_for_output(reader: AudioReader, out_rate: int, chain: Chain) -> bwf.Bext | None:
    """Keep the input's bext (time reference rescaled) and log this pass in its coding history."""
    if reader.bext is None and not reader.timecode_samples:
        return None
    base = reader.bext or bwf.Bext()
    line = f"A=PCM,F={out_rate},M={'mono' if reader.channels == 1 else 'multi'},T=voxpost {__version__} {chain.name}\r\n"
    return replace(base, time_reference=_scaled(reader.timecode_samples, reader.sample_rate, out_rate) or 0,
                   coding_history=base.coding_history + line)


def _scaled(samples: int | None, in_rate: int, out_rate: int) -> int | None:
    return None if samples is None else round(samples * out_rate / in_rate)
