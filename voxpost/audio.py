"""The ``Audio`` value and whole-file load, save, info and resampling.

An :class:`Audio` holds float32 samples shaped ``[channels, frames]``, the sample rate, the start
timecode (samples since midnight, as Broadcast WAV stores it) and metadata (``bext``, ``ixml``,
``subtype``, ``source``). Whole-file helpers here sit on the streaming reader and writer of
:mod:`voxpost.stream`; long files should be processed with those directly.

Examples
--------
>>> import numpy as np
>>> from voxpost.audio import Audio, load, save
>>> tone = np.sin(2 * np.pi * 440 * np.arange(4800) / 48000).astype(np.float32)
>>> save(Audio(np.stack([tone, tone]), 48000, timecode_samples=36000 * 48000), "take.wav")
PosixPath('take.wav')
>>> take = load("take.wav")
>>> take.channels, take.sample_rate, take.timecode()
(2, 48000, '10:00:00:00')
>>> save(take, "take-copy.flac")
PosixPath('take-copy.flac')
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from voxpost.errors import AudioError
from voxpost import resample as _resample
from voxpost.resample import RESAMPLE_QUALITY
from voxpost.stream import AudioReader
from voxpost.timecode import DEFAULT_FPS, format_timecode
from voxpost.writer import AudioWriter


@dataclass
class Audio:
    """Float32 samples ``[channels, frames]`` with their rate, start timecode and metadata."""

    samples: np.ndarray
    sample_rate: int
    timecode_samples: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = np.asarray(self.samples, dtype=np.float32)
        if s.ndim == 1:
            s = s[np.newaxis, :]
        if s.ndim != 2:
            raise ValueError(f"samples must be [channels, frames], got shape {s.shape}")
        self.samples = s
        self.sample_rate = int(self.sample_rate)
        if self.sample_rate <= 0:
            raise ValueError("sample_rate must be positive")

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def frames(self) -> int:
        return self.samples.shape[1]

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    @property
    def start_s(self) -> float:
        """Start time in seconds since midnight (the BWF time reference)."""
        return self.timecode_samples / self.sample_rate

    def timecode(self, fps: float | Fraction | None = None) -> str:
        """Start timecode ``HH:MM:SS:FF`` at ``fps`` (default: the file's, else 25)."""
        rate = Fraction(fps).limit_denominator(1001) if fps else self.metadata.get("fps", DEFAULT_FPS)
        return format_timecode(self.timecode_samples, rate, self.sample_rate)

    def with_samples(self, samples: np.ndarray, sample_rate: int | None = None) -> "Audio":
        """A copy carrying the same timecode and metadata around new samples."""
        return replace(self, samples=samples, sample_rate=sample_rate or self.sample_rate,
                       metadata=dict(self.metadata))


def load(path: str | os.PathLike) -> Audio:
    """Read a whole file (audio, or the audio track of a video) into an :class:`Audio`."""
    with AudioReader(path) as r:
        samples = r.read()
        return Audio(samples, r.sample_rate, r.timecode_samples, _reader_metadata(r))


def save(audio: Audio, path: str | os.PathLike, *, subtype: str | None = None, overwrite: bool = False) -> Path:
    """Write ``audio`` atomically; keeps its subtype (bit depth), BWF time reference and iXML.

    ``subtype`` None keeps ``audio.metadata['subtype']`` where the format can hold it.
    """
    from voxpost import bwf

    bext = audio.metadata.get("bext")
    if bext is None and audio.timecode_samples:
        bext = bwf.Bext()
    if bext is not None:
        bext = replace(bext, time_reference=audio.timecode_samples)
    with AudioWriter(path, sample_rate=audio.sample_rate, channels=audio.channels,
                     subtype=subtype or audio.metadata.get("subtype"), bext=bext,
                     ixml=audio.metadata.get("ixml"), overwrite=overwrite) as w:
        w.write(audio.samples)
    return Path(path)


def info(path: str | os.PathLike) -> dict[str, Any]:
    """What ``voxpost info`` prints: rate, channels, exact frames, duration, subtype, timecode."""
    with AudioReader(path) as r:
        frames = r.count_frames()
        out = {
            "path": str(path),
            "format": r.format,
            "sample_rate": r.sample_rate,
            "channels": r.channels,
            "frames": frames,
            "duration_s": round(frames / r.sample_rate, 6),
            "subtype": r.subtype,
            "timecode": format_timecode(r.timecode_samples, r.fps, r.sample_rate),
            "timecode_fps": float(r.fps),
            "time_reference_samples": r.timecode_samples,
        }
        if r.bext is not None:
            out["bext_description"] = r.bext.description
            out["bext_originator"] = r.bext.originator
        out["ixml"] = r.ixml is not None
        return out


def resample(audio: Audio, sample_rate: int, *, quality: str = RESAMPLE_QUALITY) -> Audio:
    """High-quality resampling (libsoxr, :func:`voxpost.resample.resample`) of every channel; the
    timecode keeps its time."""
    if sample_rate == audio.sample_rate:
        return audio.with_samples(audio.samples.copy())
    if sample_rate <= 0:
        raise AudioError(f"cannot resample to {sample_rate} Hz")
    result = audio.with_samples(_resample.resample(audio.samples, audio.sample_rate, sample_rate, quality=quality),
                                sample_rate)
    result.timecode_samples = round(audio.timecode_samples * sample_rate / audio.sample_rate)
    return result


def _reader_metadata(r: AudioReader) -> dict[str, Any]:
    meta: dict[str, Any] = {"subtype": r.native_subtype, "source": str(r.path), "fps": r.fps}
    if r.bext is not None:
        meta["bext"] = r.bext
    if r.ixml is not None:
        meta["ixml"] = r.ixml
    return meta
