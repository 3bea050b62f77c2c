"""Streaming audio reader: flat memory on files of any length, headers checked before anything is allocated.

``AudioReader`` reads WAV/BWF/RF64, FLAC, AIFF and Ogg Vorbis through libsndfile, and Ogg Opus and
the audio track of video containers (.mpg, .mp4, .mov, .mkv, ...) through PyAV, always as
float32 blocks shaped ``[channels, frames]``, at the file's rate or (``blocks(...,
sample_rate=, mono=)``) resampled and downmixed as they are read: the one entry to resampling for
files. The writer is :mod:`voxpost.writer`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf

from voxpost import bwf
from voxpost.errors import AudioError, ParameterError
from voxpost.resample import RESAMPLE_QUALITY, resample_stream
from voxpost.timecode import DEFAULT_FPS, ixml_fps, parse_timecode

#: Extensions decoded through PyAV (FFmpeg) rather than libsndfile.
AV_EXTENSIONS = {".mpg", ".mpeg", ".mp4", ".m4v", ".m4a", ".mov", ".mkv", ".webm", ".avi", ".mxf",
                 ".aac", ".mp3", ".opus", ".ts", ".mts"}
_AV_SUBTYPES = {"u8": "PCM_U8", "s16": "PCM_16", "s32": "PCM_32", "flt": "FLOAT", "dbl": "DOUBLE"}
#: Sample rates and channel counts a header may give; anything else is a damaged file.
MIN_RATE_HZ, MAX_RATE_HZ = 1000, 768000
MAX_CHANNELS = 64
#: Most decoded samples (all channels) per byte of a compressed file (FLAC's constant subframes
#: reach about 5000); a header announcing more is damaged.
MAX_EXPANSION = 8192
#: Most bytes of samples :meth:`AudioReader.read` holds, whatever the machine has.
MAX_READ_BYTES = 8 << 30
#: Largest sample magnitude a recording has (120 dB over full scale); past it a file is damaged.
MAX_SAMPLE_ABS = 1e6
#: What libsndfile reports as the length of a stream whose header does not give it (SF_COUNT_MAX).
_SF_UNKNOWN_LENGTH = 2**63 - 1
_PCM_CONTAINERS = {"WAV", "WAVEX", "RF64", "AIFF", "W64", "AU"}
_SUBTYPE_BITS = {"PCM_S8": 8, "PCM_U8": 8, "PCM_16": 16, "PCM_24": 24, "PCM_32": 32, "FLOAT": 32,
                 "DOUBLE": 64, "ULAW": 8, "ALAW": 8}


class AudioReader:
    """Read an audio file in float32 blocks ``[channels, frames]``; the one front door for files.

    Attributes: ``sample_rate``, ``channels``, ``frames`` (None until known for some compressed
    streams), ``subtype``, ``format``, ``timecode_samples``, ``fps``, ``bext``, ``ixml``,
    ``native_subtype`` (what to write to keep the bit depth).

    The header is validated before anything is allocated (rate within
    :data:`MIN_RATE_HZ`..:data:`MAX_RATE_HZ`, 1..:data:`MAX_CHANNELS` channels, chunk sizes and
    frame counts against the file size), and every decoder failure is an :class:`AudioError`
    of one line naming the file.

    Examples
    --------
    >>> import numpy as np
    >>> from voxpost.audio import Audio, save
    >>> _ = save(Audio(np.full((2, 120000), 0.25, np.float32), 48000), "reel1.wav")
    >>> shapes = []
    >>> with AudioReader("reel1.wav") as r:          # 48 kHz stereo, delivered at 16 kHz mono
    ...     for block in r.blocks(16000, sample_rate=16000, mono=True):
    ...         shapes.append(block.shape)
    >>> r.channels, r.frames, shapes
    (2, 120000, [(1, 16000), (1, 16000), (1, 8000)])
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        #: The path as messages show it: printable ASCII, one line.
        self.name = bwf.printable(str(self.path))
        if not self.path.exists():
            raise AudioError(f"{self.name}: no such file")
        if not self.path.is_file():
            raise AudioError(f"{self.name}: not a file")
        self.file_bytes = self.path.stat().st_size
        if self.file_bytes == 0:
            raise AudioError(f"{self.name}: file is empty")
        self.bext: bwf.Bext | None = None
        self.ixml: str | None = None
        self.timecode_samples = 0
        self.fps = DEFAULT_FPS
        self._sf: sf.SoundFile | None = None
        self._av = None
        try:
            with open(self.path, "rb") as f:
                head = f.read(64)
        except OSError as exc:
            raise AudioError(f"{self.name}: cannot read ({_short(exc)})") from None
        is_opus = head[:4] == b"OggS" and b"OpusHead" in head
        try:
            if self.path.suffix.lower() in AV_EXTENSIONS or is_opus:
                self._open_av()
            else:
                self._open_sf(head)
            self._check_header()
        except BaseException:
            self.close()
            raise

    # -- opening ---------------------------------------------------------------------------
    def _open_sf(self, head: bytes) -> None:
        layout = None
        if head[:4] in (b"RIFF", b"RF64", b"BW64"):
            layout = bwf.read_layout(self.path)
            self.bext, self.ixml = layout.bext, layout.ixml
            if self.bext is not None:
                self.timecode_samples = self.bext.time_reference
            self.fps = ixml_fps(self.ixml) or DEFAULT_FPS
        try:
            self._sf = sf.SoundFile(str(self.path))
        except (sf.LibsndfileError, RuntimeError, ValueError, TypeError, OSError, EOFError):
            self._open_av()  # let FFmpeg try formats libsndfile does not know (mp3 without tags, MP3 in WAV, ...)
            return
        if self._sf.frames == _SF_UNKNOWN_LENGTH:   # a FLAC stream of unknown length: libsndfile cannot
            self._sf.close()                        # read it (it seeks), FFmpeg can
            self._sf = None
            self._open_av()
            return
        self.sample_rate = int(self._sf.samplerate)
        self.channels = int(self._sf.channels)
        self.frames: int | None = int(self._sf.frames)
        self.subtype = self._sf.subtype
        self.format = self._sf.format
        self.native_subtype = self.subtype
        if layout is not None and (self.sample_rate, self.channels) != (layout.sample_rate, layout.channels):
            raise AudioError(f"{self.name}: damaged WAV header (libsndfile reads {self.sample_rate} Hz, "
                             f"{self.channels} channels; the fmt chunk says {layout.sample_rate} Hz, "
                             f"{layout.channels} channels)")

    def _open_av(self) -> None:
        import av

        try:
            self._av = av.open(str(self.path), metadata_errors="ignore")
            streams = self._av.streams.audio
            if not streams:
                raise AudioError(f"{self.name}: no audio track in this file")
            stream = streams[0]
            ctx = stream.codec_context
            if ctx is None:
                raise AudioError(f"{self.name}: audio track has no decoder (unknown codec)")
            self.sample_rate = int(ctx.sample_rate or 0)
            self.channels = int(ctx.channels or 0)
            self.frames = None
            self.subtype = bwf.printable(ctx.name or "unknown").upper()
            self.format = bwf.printable(self._av.format.name.split(",")[0]).upper()
            fmt = ctx.format.name.rstrip("p") if ctx.format else ""
            self.native_subtype = _AV_SUBTYPES.get(fmt, "FLOAT")
            self._check_header()
            tc = self._av.metadata.get("timecode") or stream.metadata.get("timecode")
            if self._av.streams.video and self._av.streams.video[0].average_rate:
                fps = Fraction(self._av.streams.video[0].average_rate)
                self.fps = fps if 1 <= fps <= 1000 else DEFAULT_FPS
            if tc:
                try:
                    self.timecode_samples = parse_timecode(tc, self.fps, self.sample_rate)
                except AudioError:
                    self.timecode_samples = 0       # a damaged timecode tag: the file still plays
        except AudioError:
            raise
        except (av.error.FFmpegError, UnicodeDecodeError, ValueError, TypeError, AttributeError,
                OverflowError, ZeroDivisionError, OSError, EOFError) as exc:
            raise AudioError(f"{self.name}: not a readable audio file ({_short(exc)})") from None

    def _check_header(self) -> None:
        """Refuse header values no recording has, before anything is sized from them."""
        if not MIN_RATE_HZ <= self.sample_rate <= MAX_RATE_HZ:
            raise AudioError(f"{self.name}: header gives a sample rate of {self.sample_rate} Hz, outside "
                             f"{MIN_RATE_HZ}..{MAX_RATE_HZ} Hz; the file is damaged")
        if not 1 <= self.channels <= MAX_CHANNELS:
            raise AudioError(f"{self.name}: header gives {self.channels} channels, outside 1..{MAX_CHANNELS}; "
                             "the file is damaged")
        if self.frames is not None:
            if self.frames < 0:
                raise AudioError(f"{self.name}: header gives a negative length; the file is damaged")
            bits = _SUBTYPE_BITS.get(self.subtype) if self.format in _PCM_CONTAINERS else None
            if bits is not None and self.frames * self.channels * bits > 8 * self.file_bytes:
                raise AudioError(f"{self.name}: file is truncated: header announces {self.frames} frames, "
                                 f"{self.file_bytes} bytes hold fewer")
            if self.frames * self.channels > MAX_EXPANSION * self.file_bytes:
                raise AudioError(f"{self.name}: header announces {self.frames} frames, more than "
                                 f"{self.file_bytes} bytes can hold; the file is damaged")

    # -- reading ---------------------------------------------------------------------------
    def blocks(self, block_frames: int, *, sample_rate: int | None = None, mono: bool = False,
               quality: str = RESAMPLE_QUALITY) -> Iterator[np.ndarray]:
        """Yield float32 blocks ``[channels, block_frames]`` (the last one shorter).

        Parameters
        ----------
        block_frames : int
            Frames per block, at the output rate.
        sample_rate : int, optional
            Deliver at this rate (streaming libsoxr, ``quality``); default: the file's.
        mono : bool
            Mix the channels down to one (their mean); blocks are then ``[1, frames]``.

        Raises :class:`AudioError` on NaN/Inf samples, on a file that ends before its header says,
        and on any decoder failure.
        """
        if block_frames < 1:
            raise ValueError("block_frames must be positive")
        out_rate = self.sample_rate if sample_rate is None else int(sample_rate)
        if out_rate <= 0:
            raise ValueError("sample_rate must be positive")
        source = self._checked_blocks(block_frames if out_rate == self.sample_rate else 1 << 16)
        if mono:
            source = (b.mean(axis=0, keepdims=True, dtype=np.float32) if b.shape[0] > 1 else b for b in source)
        if out_rate == self.sample_rate:
            yield from source
            return
        channels = 1 if mono else self.channels
        yield from _rebuffer(resample_stream(source, self.sample_rate, out_rate, channels, quality=quality),
                             block_frames)

    def _checked_blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        source = self._sf_blocks(block_frames) if self._sf is not None else _rebuffer(self._av_frames(), block_frames)
        done = 0
        limit = self.frames
        for block in source:
            if block.ndim != 2 or block.shape[0] != self.channels:
                raise AudioError(f"{self.name}: decoder gave {block.shape[0]} channels where the header "
                                 f"says {self.channels}; the file is damaged")
            sane = np.abs(block) <= MAX_SAMPLE_ABS          # False on NaN and Inf too
            if not sane.all():
                bad = int(np.argmax(~sane.all(axis=0)))
                what = "NaN or Inf samples" if not np.isfinite(block).all() else \
                    f"samples beyond +-{MAX_SAMPLE_ABS:g} (120 dB over full scale)"
                raise AudioError(f"{self.name}: {what} at {(done + bad) / self.sample_rate:.3f} s; "
                                 "the file is damaged: repair or re-export it")
            done += block.shape[1]
            if limit is not None and done > limit:
                raise AudioError(f"{self.name}: damaged: more samples decode than the header's {limit} frames")
            yield block
        if self.frames is not None and done != self.frames:
            raise AudioError(f"{self.name}: file is truncated: header announces {self.frames} frames, "
                             f"only {done} could be read")
        self.frames = done

    def read(self, *, sample_rate: int | None = None, mono: bool = False,
             quality: str = RESAMPLE_QUALITY) -> np.ndarray:
        """The whole file as one float32 ``[channels, frames]`` array (arguments as :meth:`blocks`).

        Raises :class:`AudioError` when the result would not fit in :func:`memory_budget_bytes`.
        """
        budget = memory_budget_bytes()
        parts, held = [], 0
        for block in self.blocks(1 << 20, sample_rate=sample_rate, mono=mono, quality=quality):
            held += block.nbytes
            if held > budget:
                raise AudioError(f"{self.name}: too long to hold in memory (over {budget / 2**30:.1f} GiB "
                                 "of samples); split it or use a streaming command")
            parts.append(block)
        if not parts:
            return np.zeros((1 if mono else self.channels, 0), np.float32)
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    def count_frames(self) -> int:
        """Exact frame count; decodes compressed streams whose length the header does not give."""
        if self.frames is None:
            for _ in self.blocks(1 << 16):
                pass
        return int(self.frames)

    def _sf_blocks(self, block_frames: int) -> Iterator[np.ndarray]:
        try:
            self._sf.seek(0)
            while True:
                data = self._sf.read(block_frames, dtype="float32", always_2d=True)
                if data.shape[0] == 0:
                    return
                yield np.ascontiguousarray(data.T)
        except (sf.LibsndfileError, RuntimeError, ValueError, OSError, EOFError) as exc:
            raise AudioError(f"{self.name}: cannot decode ({_short(exc)}); the file is damaged or truncated") from None

    def _av_frames(self) -> Iterator[np.ndarray]:
        import av

        try:
            self._av.seek(0)
        except (av.error.FFmpegError, ValueError, OSError):
            pass     # an unseekable stream is read from where it is: at its start, on a fresh reader
        stream = self._av.streams.audio[0]
        try:
            resampler = av.AudioResampler(format="fltp", layout=stream.codec_context.layout, rate=self.sample_rate)
            for packet in self._av.demux(stream):
                for frame in packet.decode():
                    if frame.sample_rate != self.sample_rate:
                        raise AudioError(f"{self.name}: damaged: the sample rate changes mid-stream "
                                         f"({self.sample_rate} -> {frame.sample_rate} Hz)")
                    for out in resampler.resample(frame):
                        yield self._av_array(out)
            for out in resampler.resample(None):
                yield self._av_array(out)
        except AudioError:
            raise
        except (av.error.FFmpegError, ValueError, TypeError, AttributeError, OverflowError, OSError,
                EOFError) as exc:
            raise AudioError(f"{self.name}: cannot decode ({_short(exc)}); the file is damaged or truncated") from None

    def _av_array(self, frame) -> np.ndarray:
        # FFmpeg gives unnamed layouts (17 channels, ...) a plane count of their own, and PyAV's
        # to_ndarray then reads past the planes (a segmentation fault): check before converting
        if frame.format.name != "fltp" or len(frame.planes) != self.channels:
            raise AudioError(f"{self.name}: damaged: the decoder gives {len(frame.planes)} planes of "
                             f"{frame.format.name} for {self.channels} channels")
        return frame.to_ndarray().astype(np.float32, copy=False)

    def close(self) -> None:
        if self._sf is not None:
            self._sf.close()
        if self._av is not None:
            self._av.close()

    def __enter__(self) -> "AudioReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_samples(samples: np.ndarray) -> None:
    """Raise :class:`ParameterError` unless every sample is finite and within :data:`MAX_SAMPLE_ABS`."""
    x = np.asarray(samples)
    if x.size and not (np.abs(x) <= MAX_SAMPLE_ABS).all():
        raise ParameterError(f"audio has NaN, Inf or samples beyond +-{MAX_SAMPLE_ABS:g}; repair or rescale it")


def memory_budget_bytes() -> int:
    """Most bytes of samples a whole-file read may hold: half the memory available now, at most
    :data:`MAX_READ_BYTES`."""
    try:
        with open("/proc/meminfo") as f:
            avail = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError):
        avail = 2 * MAX_READ_BYTES
    return int(min(MAX_READ_BYTES, avail // 2))


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
    return bwf.printable(" ".join(str(exc).split()))[:160] or type(exc).__name__
