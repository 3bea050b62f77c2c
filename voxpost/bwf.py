"""RIFF / RF64 WAV at the chunk level: Broadcast WAV (bext), iXML, and a streaming PCM/float writer.

libsndfile reads WAV samples well but neither exposes the ``bext`` time reference nor keeps
``iXML`` through Python. This module reads those chunks, checks that the ``data`` chunk is whole,
and writes WAV itself: header with ``bext`` and ``iXML`` first, samples streamed after, sizes
patched on close, and the file promoted to RF64 (EBU Tech 3306) when it passes 4 GiB.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import numpy as np

from voxpost.errors import AudioError

_BEXT_FIXED = struct.Struct("<256s32s32s10s8sIIH64shhhhh180s")  # 602 bytes
_U32_MAX = 0xFFFFFFFF
_WAVE_FORMAT_PCM = 1
_WAVE_FORMAT_FLOAT = 3
_WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"

#: WAV subtypes the writer supports: name -> (format tag, bits per sample, numpy dtype)
SUBTYPES = {
    "PCM_U8": (_WAVE_FORMAT_PCM, 8, "u1"),
    "PCM_16": (_WAVE_FORMAT_PCM, 16, "<i2"),
    "PCM_24": (_WAVE_FORMAT_PCM, 24, None),
    "PCM_32": (_WAVE_FORMAT_PCM, 32, "<i4"),
    "FLOAT": (_WAVE_FORMAT_FLOAT, 32, "<f4"),
    "DOUBLE": (_WAVE_FORMAT_FLOAT, 64, "<f8"),
}


@dataclass
class Bext:
    """The Broadcast WAV ``bext`` chunk (EBU Tech 3285). ``time_reference`` is in samples since midnight."""

    description: str = ""
    originator: str = "voxpost"
    originator_reference: str = ""
    origination_date: str = ""  # yyyy-mm-dd
    origination_time: str = ""  # hh:mm:ss
    time_reference: int = 0
    version: int = 1
    umid: bytes = b""
    coding_history: str = ""

    def to_bytes(self) -> bytes:
        def enc(text: str, size: int) -> bytes:
            return text.encode("ascii", "replace")[:size]

        lo, hi = self.time_reference & _U32_MAX, self.time_reference >> 32
        fixed = _BEXT_FIXED.pack(
            enc(self.description, 256), enc(self.originator, 32), enc(self.originator_reference, 32),
            enc(self.origination_date, 10), enc(self.origination_time, 8), lo, hi, self.version,
            self.umid[:64], 0x7FFF, 0x7FFF, 0x7FFF, 0x7FFF, 0x7FFF, b"",
        )
        return fixed + self.coding_history.encode("ascii", "replace")

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Bext":
        raw = raw.ljust(_BEXT_FIXED.size, b"\0")
        f = _BEXT_FIXED.unpack_from(raw)

        def dec(b: bytes) -> str:
            return b.split(b"\0", 1)[0].decode("ascii", "replace")

        return cls(
            description=dec(f[0]), originator=dec(f[1]), originator_reference=dec(f[2]),
            origination_date=dec(f[3]), origination_time=dec(f[4]), time_reference=f[5] | (f[6] << 32),
            version=f[7], umid=f[8].rstrip(b"\0"),
            coding_history=dec(raw[_BEXT_FIXED.size:]),
        )


@dataclass
class WavLayout:
    """What the chunk scan of a WAV file found."""

    container: str  # RIFF, RF64 or BW64
    format_tag: int
    channels: int
    sample_rate: int
    bits_per_sample: int
    data_offset: int
    data_bytes: int
    bext: Bext | None = None
    ixml: str | None = None
    chunks: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return self.data_bytes // max(1, self.channels * self.bits_per_sample // 8)


def read_layout(path: str | Path) -> WavLayout:
    """Scan the chunks of a RIFF/RF64 WAV file; raise :class:`AudioError` if it is not whole.

    Examples
    --------
    >>> import numpy as np
    >>> from voxpost.audio import Audio, save
    >>> _ = save(Audio(np.zeros((1, 4800), np.float32), 48000, timecode_samples=36000 * 48000), "take.wav")
    >>> layout = read_layout("take.wav")
    >>> layout.bext.time_reference / layout.sample_rate  # seconds since midnight
    36000.0
    """
    path = Path(path)
    shown = printable(str(path))
    try:
        return _scan(path, shown)
    except (struct.error, EOFError, OSError) as exc:
        raise AudioError(f"{shown}: damaged WAV header ({printable(str(exc))[:120]})") from None


def _scan(path: Path, shown: str) -> WavLayout:
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RF64", b"BW64"):
            raise AudioError(f"{shown}: not a WAV file (no RIFF/WAVE header)")
        container = head[:4].decode()
        ds64_data = None
        fmt = None
        data_offset = data_bytes = None
        bext = ixml = None
        chunks = []
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            cid, csize = struct.unpack("<4sI", f.read(8))
            name = printable(cid)
            chunks.append(name)
            if cid == b"data":
                data_offset = pos + 8
                data_bytes = ds64_data if (csize == _U32_MAX and ds64_data is not None) else csize
                if data_offset + data_bytes > size:
                    raise AudioError(
                        f"{shown}: file is truncated: header announces {data_bytes} bytes of audio, "
                        f"only {size - data_offset} are present"
                    )
                pos = data_offset + data_bytes + (data_bytes & 1)
                continue
            if csize > size - pos - 8:
                raise AudioError(f"{shown}: file is truncated inside its '{name.strip()}' chunk")
            if cid in _MIN_CHUNK and csize < _MIN_CHUNK[cid]:
                raise AudioError(f"{shown}: damaged WAV header: '{name.strip()}' chunk of {csize} bytes, "
                                 f"under the {_MIN_CHUNK[cid]} it needs")
            if cid == b"ds64":
                ds64_data = struct.unpack("<QQQ", f.read(24))[1]
            elif cid == b"fmt ":
                fmt = struct.unpack("<HHIIHH", f.read(16))
                _check_fmt(shown, *fmt)
            elif cid == b"bext":
                bext = Bext.from_bytes(f.read(csize))
            elif cid == b"iXML":
                ixml = f.read(csize).rstrip(b"\0").decode("utf-8", "replace")
            pos += 8 + csize + (csize & 1)
    if fmt is None or data_offset is None:
        raise AudioError(f"{shown}: WAV file has no {'fmt' if fmt is None else 'data'} chunk (truncated or damaged)")
    tag, channels, rate, _, _, bits = fmt
    return WavLayout(container, tag, channels, rate, bits, data_offset, data_bytes, bext, ixml, chunks)


_MIN_CHUNK = {b"ds64": 24, b"fmt ": 16}


def _check_fmt(shown: str, tag: int, channels: int, rate: int, byte_rate: int, block_align: int, bits: int) -> None:
    """Refuse fmt values no recording has (1 kHz..768 kHz, 1..64 channels, 1..64 bits)."""
    if not 1000 <= rate <= 768000:
        raise AudioError(f"{shown}: fmt chunk gives a sample rate of {rate} Hz, outside 1000..768000 Hz; "
                         "the file is damaged")
    if not 1 <= channels <= 64:
        raise AudioError(f"{shown}: fmt chunk gives {channels} channels, outside 1..64; the file is damaged")
    if tag in (_WAVE_FORMAT_PCM, _WAVE_FORMAT_FLOAT) and bits not in (8, 16, 24, 32, 64) or not 1 <= bits <= 64:
        raise AudioError(f"{shown}: fmt chunk gives {bits} bits per sample; the file is damaged")
    if block_align == 0:
        raise AudioError(f"{shown}: fmt chunk gives a block size of 0 bytes; the file is damaged")


def printable(text: str | bytes) -> str:
    """``text`` as printable ASCII on one line: other characters (and bytes) escaped, ``\\xfd``.

    >>> printable(b"\\xfd\\xb1\\xfe ")
    '\\\\xfd\\\\xb1\\\\xfe '
    """
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    return "".join(c if " " <= c <= "~" else ascii(c)[1:-1] for c in text)


def encode(block: np.ndarray, subtype: str) -> bytes:
    """Interleave a float32 ``[channels, frames]`` block and encode it as little-endian WAV samples.

    Integer formats scale by 2**(bits-1) and clip, so that int -> float -> int is bit-exact.
    """
    inter = np.ascontiguousarray(block.T)
    _, bits, dtype = SUBTYPES[subtype]
    if subtype in ("FLOAT", "DOUBLE"):
        return inter.astype(dtype, copy=False).tobytes()
    scale = float(1 << (bits - 1))
    # Scaling by a power of two is exact in float32, which holds every 8/16/24-bit value; 32-bit
    # needs float64 so that the clip bound 2**31 - 1 is representable.
    work = inter.astype(np.float64) if bits > 24 else inter.astype(np.float32, copy=False)
    ints = np.clip(np.rint(work * work.dtype.type(scale)), -scale, scale - 1)
    if subtype == "PCM_U8":
        return (ints + 128).astype("u1").tobytes()
    if subtype == "PCM_24":
        as32 = ints.astype("<i4").reshape(-1, 1).view("u1")
        return as32[:, :3].tobytes()
    return ints.astype(dtype).tobytes()


class WavWriter:
    """Stream samples into a WAV file with ``bext`` and ``iXML`` chunks; RF64 past 4 GiB.

    Parameters
    ----------
    fileobj : binary file opened for writing (seekable)
    sample_rate, channels : int
    subtype : one of :data:`SUBTYPES`
    bext : Bext or None
    ixml : str or None
    """

    def __init__(self, fileobj: BinaryIO, *, sample_rate: int, channels: int, subtype: str,
                 bext: Bext | None = None, ixml: str | None = None) -> None:
        if subtype not in SUBTYPES:
            raise AudioError(f"WAV cannot hold subtype {subtype!r}; use one of {', '.join(SUBTYPES)}")
        self._f = fileobj
        self.channels = channels
        self.subtype = subtype
        tag, bits, _ = SUBTYPES[subtype]
        block_align = channels * bits // 8
        extensible = channels > 2 or bits > 16 and tag == _WAVE_FORMAT_PCM
        if extensible:
            fmt = struct.pack("<HHIIHHHHI", _WAVE_FORMAT_EXTENSIBLE, channels, sample_rate,
                              sample_rate * block_align, block_align, bits, 22, bits, 0)
            fmt += struct.pack("<H", tag) + _GUID_TAIL
        else:
            fmt = struct.pack("<HHIIHH", tag, channels, sample_rate, sample_rate * block_align, block_align, bits)
        out = [b"RIFF\0\0\0\0WAVE", _chunk(b"JUNK", b"\0" * 28), _chunk(b"fmt ", fmt)]
        if bext is not None:
            out.append(_chunk(b"bext", bext.to_bytes()))
        if ixml:
            out.append(_chunk(b"iXML", ixml.encode("utf-8")))
        header = b"".join(out)
        self._f.write(header + b"data\0\0\0\0")
        self._data_start = len(header) + 8
        self.data_bytes = 0

    def write(self, block: np.ndarray) -> None:
        raw = encode(block, self.subtype)
        self._f.write(raw)
        self.data_bytes += len(raw)

    def close(self) -> None:
        """Pad, then patch the RIFF and data sizes (or write the ds64 chunk for RF64)."""
        f = self._f
        if self.data_bytes & 1:
            f.write(b"\0")
        end = f.tell()
        if end - 8 > _U32_MAX:
            f.seek(0)
            f.write(b"RF64" + struct.pack("<I", _U32_MAX))
            frames = self.data_bytes // (self.channels * SUBTYPES[self.subtype][1] // 8)
            f.seek(12)
            f.write(b"ds64" + struct.pack("<IQQQI", 28, end - 8, self.data_bytes, frames, 0))
            f.seek(self._data_start - 4)
            f.write(struct.pack("<I", _U32_MAX))
        else:
            f.seek(4)
            f.write(struct.pack("<I", end - 8))
            f.seek(self._data_start - 4)
            f.write(struct.pack("<I", self.data_bytes))
        f.seek(end)


def _chunk(cid: bytes, payload: bytes) -> bytes:
    return cid + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) & 1 else b"")
