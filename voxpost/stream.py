"""Streaming audio reader and writer: flat memory on files of any length, atomic outputs.

``AudioReader`` reads WAV/BWF/RF64, FLAC, AIFF and Ogg Vorbis through libsndfile, and Ogg Opus and
the audio track of video containers (.mpg, .mp4, .mov, .mkv, ...) through PyAV, always as
float32 blocks shaped ``[channels, frames]``. ``AudioWriter`` writes to a temporary file beside the
target and renames it into place only when everything was written, so an interrupted run never
leaves a half-written file, and it refuses to replace an input or (without ``overwrite``) any
existing file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from voxpost import bwf
from voxpost.errors import AudioError

#: Extensions decoded through PyAV (FFmpeg) rather than libsndfile.
AV_EXTENSIONS = {".mpg", ".mpeg", ".mp4", ".m4v", ".m4a", ".mov", ".mkv", ".webm", ".avi", ".mxf",
                 ".aac", ".mp3", ".opus", ".ts", ".mts"}
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
_AV_SUBTYPES = {"u8": "PCM_U8", "s16": "PCM_16", "s32": "PCM_32", "flt": "FLOAT", "dbl": "DOUBLE"}
DEFAULT_FPS = Fraction(25)


class AudioReader:
    """Read an audio file in float32 blocks ``[channels, frames]``.

    Attributes: ``sample_rate``, ``channels``, ``frames`` (None until known for some compressed
    streams), ``subtype``, ``format``, ``timecode_samples``, ``fps``, ``bext``, ``ixml``,
    ``native_subtype`` (what to write to keep the bit depth).

    Examples
    --------
    >>> import numpy as np
    >>> from voxpost.audio import Audio, save
    >>> _ = save(Audio(np.full((2, 120000), 0.25, np.float32), 48000), "reel1.wav")
    >>> peak = 0.0
    >>> with AudioReader("reel1.wav") as r:
    ...     for block in r.blocks(48000):
    ...         peak = max(peak, float(np.abs(block).max()))
    >>> r.channels, r.frames, peak
    (2, 120000, 0.25)
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise AudioError(f"{self.path}: no such file")
        if not self.path.is_file():
            raise AudioError(f"{self.path}: not a file")
        if self.path.stat().st_size == 0:
            raise AudioError(f"{self.path}: file is empty")
        self.bext: bwf.Bext | None = None
        self.ixml: str | None = None
        self.timecode_samples = 0
        self.fps = DEFAULT_FPS
        self._sf: sf.SoundFile | None = None
        self._av = None
        with open(self.path, "rb") as f:
            head = f.read(64)
        is_opus = head[:4] == b"OggS" and b"OpusHead" in head
        if self.path.suffix.lower() in AV_EXTENSIONS or is_opus:
            self._open_av()
        else:
            self._open_sf(head)

    # -- opening ---------------------------------------------------------------------------
    def _open_sf(self, head: bytes) -> None:
        if head[:4] in (b"RIFF", b"RF64", b"BW64"):
            layout = bwf.read_layout(self.path)
            self.bext, self.ixml = layout.bext, layout.ixml
            if self.bext is not None:
                self.timecode_samples = self.bext.time_reference
            self.fps = _ixml_fps(self.ixml) or DEFAULT_FPS
        try:
            self._sf = sf.SoundFile(str(self.path))
        except (sf.LibsndfileError, RuntimeError):
            self._open_av()  # let FFmpeg try formats libsndfile does not know (mp3 without tags, ...)
            return
        self.sample_rate = self._sf.samplerate
        self.channels = self._sf.channels
        self.frames: int | None = self._sf.frames
        self.subtype = self._sf.subtype
        self.format = self._sf.format
        self.native_subtype = self.subtype

    def _open_av(self) -> None:
        import av

        try:
            self._av = av.open(str(self.path))
        except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
            raise AudioError(f"{self.path}: not a readable audio file ({_short(exc)})") from None
        if not self._av.streams.audio:
            self._av.close()
            raise AudioError(f"{self.path}: no audio track in this file")
        stream = self._av.streams.audio[0]
        ctx = stream.codec_context
        self.sample_rate = int(ctx.sample_rate)
        self.channels = int(ctx.channels)
        self.frames = None
        self.subtype = (ctx.name or "unknown").upper()
        self.format = self._av.format.name.split(",")[0].upper()
        self.native_subtype = _AV_SUBTYPES.get(ctx.format.name.rstrip("p") if ctx.format else "", "FLOAT")
        tc = self._av.metadata.get("timecode") or stream.metadata.get("timecode")
        if self._av.streams.video and self._av.streams.video[0].average_rate:
            self.fps = Fraction(self._av.streams.video[0].average_rate)
        if tc:
            self.timecode_samples = parse_timecode(tc, self.fps, self.sample_rate)

    # -- reading ---------------------------------------------------------------------------
    def blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        """Yield float32 blocks ``[channels, block_frames]`` (the last one shorter).

        Raises :class:`AudioError` on NaN/Inf samples and on a file that ends before its header says.
        """
        if block_frames < 1:
            raise ValueError("block_frames must be positive")
        source = self._sf_blocks(block_frames) if self._sf is not None else _rebuffer(self._av_frames(), block_frames)
        done = 0
        for block in source:
            if not np.isfinite(block).all():
                bad = int(np.argmax(~np.isfinite(block).all(axis=0)))
                raise AudioError(f"{self.path}: NaN or Inf samples at {(done + bad) / self.sample_rate:.3f} s; "
                                 "repair or re-export the file")
            done += block.shape[1]
            yield block
        if self.frames is not None and done != self.frames:
            raise AudioError(f"{self.path}: file is truncated: header announces {self.frames} frames, "
                             f"only {done} could be read")
        self.frames = done

    def read(self) -> np.ndarray:
        """The whole file as one float32 ``[channels, frames]`` array."""
        parts = list(self.blocks(1 << 20))
        if not parts:
            return np.zeros((self.channels, 0), np.float32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    def count_frames(self) -> int:
        """Exact frame count; decodes compressed streams whose length the header does not give."""
        if self.frames is None:
            for _ in self.blocks(1 << 16):
                pass
        return int(self.frames)

    def _sf_blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        self._sf.seek(0)
        while True:
            try:
                data = self._sf.read(block_frames, dtype="float32", always_2d=True)
            except (sf.LibsndfileError, RuntimeError) as exc:
                raise AudioError(f"{self.path}: cannot decode ({_short(exc)}); the file is damaged or truncated") from None
            if data.shape[0] == 0:
                return
            yield np.ascontiguousarray(data.T)

    def _av_frames(self) -> Iterator[np.ndarray]:
        import av

        self._av.seek(0)
        stream = self._av.streams.audio[0]
        resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=self.sample_rate)
        try:
            for packet in self._av.demux(stream):
                for frame in packet.decode():
                    for out in resampler.resample(frame):
                        yield out.to_ndarray().astype(np.float32, copy=False)
            for out in resampler.resample(None):
                yield out.to_ndarray().astype(np.float32, copy=False)
        except av.error.FFmpegError as exc:
            raise AudioError(f"{self.path}: cannot decode ({_short(exc)}); the file is damaged or truncated") from None

    def close(self) -> None:
        if self._sf is not None:
            self._sf.close()
        if self._av is not None:
            self._av.close()

    def __enter__(self) -> "AudioReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


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
        check_output_path(self.path, overwrite=overwrite, protect=protect)
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
        self._tmp = self.path.with_name(f".{self.path.stem}.voxpost-{os.getpid()}.part{ext}")
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


def check_output_path(path: Path, *, overwrite: bool, protect: Iterable[str | os.PathLike] = ()) -> None:
    """Raise :class:`AudioError` unless ``path`` may be written: never an input, existing only with overwrite."""
    target = path.resolve()
    for p in protect:
        if Path(p).resolve() == target:
            raise AudioError(f"{path}: refusing to overwrite an input file; choose another output")
    if target.exists() and target.is_dir():
        raise AudioError(f"{path}: is a directory")
    if target.exists() and not overwrite:
        raise AudioError(f"{path}: exists; use --force to replace it")
    parent = target.parent
    if not parent.is_dir():
        raise AudioError(f"{path}: cannot write: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise AudioError(f"{path}: cannot write: directory {parent} is not writable")


def parse_timecode(text: str, fps: Fraction, sample_rate: int) -> int:
    """``HH:MM:SS:FF`` (or ``;`` before FF) at ``fps`` -> samples since midnight (non-drop counting)."""
    m = re.fullmatch(r"\s*(\d+):(\d\d):(\d\d)[:;.](\d\d)\s*", text)
    if not m:
        raise AudioError(f"timecode {text!r} is not HH:MM:SS:FF")
    h, mi, s, fr = map(int, m.groups())
    nominal = round(fps)
    frames = ((h * 60 + mi) * 60 + s) * nominal + fr
    return int(round(frames / fps * sample_rate))


def format_timecode(samples: int, fps: Fraction, sample_rate: int) -> str:
    """Samples since midnight -> ``HH:MM:SS:FF`` at ``fps`` (non-drop counting)."""
    nominal = round(fps)
    frames = int(Fraction(samples, sample_rate) * fps)
    ff = frames % nominal
    secs = frames // nominal
    return f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}:{ff:02d}"


def _ixml_fps(ixml: str | None) -> Fraction | None:
    if not ixml:
        return None
    m = re.search(r"<TIMECODE_RATE>\s*(\d+)\s*/\s*(\d+)\s*</TIMECODE_RATE>", ixml)
    return Fraction(int(m.group(1)), int(m.group(2))) if m and int(m.group(2)) else None


def _rebuffer(chunks: Iterable[np.ndarray], block_frames: int) -> Iterator[np.ndarray]:
    """Regroup arbitrary-length ``[ch, n]`` chunks into blocks of exactly ``block_frames``."""
    pending: list[np.ndarray] = []
    have = 0
    for c in chunks:
        pending.append(c)
        have += c.shape[1]
        if have >= block_frames:
            joined = np.concatenate(pending, axis=1)
            cut = have - have % block_frames
            for i in range(0, cut, block_frames):
                yield joined[:, i:i + block_frames]
            pending = [joined[:, cut:]]
            have -= cut
    if have:
        yield np.concatenate(pending, axis=1)


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__
