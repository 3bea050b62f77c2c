"""Streaming audio writer: blocks in, a file put in place atomically only when it is whole.

``AudioWriter`` writes WAV/BWF/RF64 (the own writer of :mod:`voxpost.bwf`, with ``bext`` and
``iXML``), FLAC, AIFF, Ogg Vorbis and Opus to a temporary file beside the target
(:func:`voxpost.outputs.temp_path`) and renames it into place only when everything was written,
so an interrupted run never leaves a half-written file; it refuses to replace an input or
(without ``overwrite``) any existing file (:func:`voxpost.outputs.check_output`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import soundfile as sf

from voxpost import bwf
from voxpost.errors import AudioError
from voxpost.outputs import check_output, temp_path

#: Output extension -> (container, allowed subtypes, default subtype).
WRITE_FORMATS = {
    ".wav": ("WAV", tuple(bwf.SUBTYPES), "PCM_24"),
    ".wave": ("WAV", tuple(bwf.SUBTYPES), "PCM_24"),
    ".bwf": ("WAV", tuple(bwf.SUBTYPES), "PCM_24"),
    ".flac": ("FLAC", ("PCM_S8", "PCM_16", "PCM_24"), "PCM_24"),
    ".aif": ("AIFF", ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"), "PCM_24"),
    ".aiff": ("AIFF", ("PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE"), "PCM_24"),
    ".ogg": ("OGG", ("VORBIS",), "VORBIS"),
    ".oga": ("OGG", ("VORBIS",), "VORBIS"),
    ".opus": ("OGG", ("OPUS",), "OPUS"),
}


class AudioWriter:
    """Write float32 blocks ``[channels, frames]`` to a file, atomically.

    Parameters
    ----------
    path : output path; its extension picks the format (see :data:`WRITE_FORMATS`)
    sample_rate, channels : int
    subtype : str or None
        Sample format (``PCM_16``, ``PCM_24``, ``FLOAT``, ...). None or one the format cannot hold
        picks the nearest the format can (e.g. FLOAT into FLAC becomes PCM_24).
    bext, ixml : Broadcast WAV chunks to write (WAV only)
    overwrite : replace an existing file (never one listed in ``protect``)
    protect : paths that must never be written (the inputs)
    """

    def __init__(self, path: str | os.PathLike, *, sample_rate: int, channels: int, subtype: str | None = None,
                 bext: bwf.Bext | None = None, ixml: str | None = None, overwrite: bool = False,
                 protect: Iterable[str | os.PathLike] = ()) -> None:
        self.path = Path(path)
        ext = self.path.suffix.lower()
        if ext not in WRITE_FORMATS:
            raise AudioError(f"{self.path}: cannot write '{ext or 'no extension'}' files; use one of "
                             f"{', '.join(sorted(WRITE_FORMATS))}")
        check_output(self.path, overwrite=overwrite, protect=protect)
        container, allowed, default = WRITE_FORMATS[ext]
        if subtype in allowed:
            self.subtype = subtype
        elif subtype in ("PCM_S8", "PCM_U8") and "PCM_16" in allowed:
            self.subtype = "PCM_16"  # 8-bit into a format without it: the nearest depth up
        else:
            self.subtype = default
        if container == "OGG" and self.subtype == "OPUS" and sample_rate not in (8000, 12000, 16000, 24000, 48000):
            raise AudioError(f"{self.path}: Opus cannot store {sample_rate} Hz; resample to 48000 Hz or write .flac")
        self.sample_rate, self.channels = sample_rate, channels
        self._tmp = temp_path(self.path)
        self._wav = None
        self._sf = None
        try:
            if container == "WAV":
                self._file = open(self._tmp, "wb")
                self._wav = bwf.WavWriter(self._file, sample_rate=sample_rate, channels=channels,
                                          subtype=self.subtype, bext=bext, ixml=ixml)
            else:
                self._sf = sf.SoundFile(str(self._tmp), "w", samplerate=sample_rate, channels=channels,
                                        format=container, subtype=self.subtype)
        except (OSError, sf.LibsndfileError, RuntimeError) as exc:
            self._discard()
            raise AudioError(f"{self.path}: cannot write ({_short(exc)})") from None
        self.frames = 0

    def write(self, block: np.ndarray) -> None:
        if block.ndim != 2 or block.shape[0] != self.channels:
            raise ValueError(f"expected a [{self.channels}, frames] block, got shape {block.shape}")
        if not np.isfinite(block).all():
            raise AudioError(f"{self.path}: refusing to write NaN or Inf samples")
        try:
            if self._wav is not None:
                self._wav.write(block)
            else:
                self._sf.write(np.ascontiguousarray(block.T))
        except OSError as exc:
            raise AudioError(f"{self.path}: cannot write ({_short(exc)})") from None
        self.frames += block.shape[1]

    def commit(self) -> None:
        """Finish the file and move it into place."""
        try:
            if self._wav is not None:
                self._wav.close()
                self._file.close()
            else:
                self._sf.close()
            os.replace(self._tmp, self.path)
        except OSError as exc:
            self._discard()
            raise AudioError(f"{self.path}: cannot write ({_short(exc)})") from None

    def _discard(self) -> None:
        for handle in (getattr(self, "_file", None), self._sf):
            try:
                handle is not None and handle.close()
            except (OSError, RuntimeError, sf.LibsndfileError):
                pass
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "AudioWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self._discard()


def _short(exc: BaseException) -> str:
    return bwf.printable(" ".join(str(exc).split()))[:160] or type(exc).__name__
