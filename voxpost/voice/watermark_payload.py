"""The 48-bit payload of the AI-generated audio watermark (:mod:`voxpost.voice.watermark`) and its coding.

Payload layout (48 bits, most significant first): version 6 bits (major 2 bits, minor 4 bits;
63 means "other"), profile id 16 bits (first 4 hex digits; 0 means none, so a profile whose
id starts with ``0000`` reads as none), time 18 bits (hours since 2025-01-01T00Z, until
2054), CRC-8 (poly 0x07) 8 bits.

The 48 bits travel as :data:`N_DATA` symbols of :data:`BITS_PER_SEQ` bits, one per data sequence
of the mark (cyclic shift keying); a payload whose CRC does not check decodes to ``None``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from voxpost.errors import VoxpostError

#: Number of data sequences of the mark and bits each one carries.
N_DATA, BITS_PER_SEQ = 4, 12
_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)
_TIME_BITS, _PROFILE_BITS, _VERSION_BITS = 18, 16, 6


class WatermarkError(VoxpostError):
    """A host that cannot carry a mark, a bad payload field, or a refused output path."""


@dataclass(frozen=True, kw_only=True)
class Payload:
    """What the mark says: which tool, which version, which voice profile, when (UTC hour)."""

    tool: str = "voxpost"
    version: str
    profile_id: str | None
    time_utc: str

    def to_dict(self) -> dict:
        return {"tool": self.tool, "version": self.version, "profile_id": self.profile_id,
                "time_utc": self.time_utc}


def make_payload(*, profile_id: str | None = None, when: datetime | None = None) -> Payload:
    """The payload of this voxpost version, stored at the resolution the mark keeps.

    ``profile_id`` is a hex id (only its first 4 digits are kept); ``when`` defaults to now and
    is truncated to the UTC hour.
    """
    from voxpost import __version__

    parts = __version__.split(".")
    try:
        major, minor = int(parts[0]), int(parts[1]) if len(parts) > 1 else 0
        version = f"{major}.{minor}" if major < 4 and minor < 16 else "other"
    except ValueError:
        version = "other"
    if profile_id is not None:
        prefix = str(profile_id).strip().lower()[:4]
        try:
            value = int(prefix, 16)
        except ValueError:
            raise WatermarkError(f"profile id {profile_id!r} is not hexadecimal") from None
        profile_id = f"{value:04x}" if value else None
    when = datetime.now(timezone.utc) if when is None else when
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    hours = int((when.astimezone(timezone.utc) - _EPOCH) // timedelta(hours=1))
    if not 0 <= hours < 1 << _TIME_BITS:
        raise WatermarkError(f"time {when.isoformat()} is outside the mark's range 2025-2054")
    return Payload(version=version, profile_id=profile_id, time_utc=_hour_iso(hours))


def _hour_iso(hours: int) -> str:
    return (_EPOCH + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:00Z")


def _crc8(value: int, bits: int) -> int:
    crc = 0
    for i in range(bits - 1, -1, -1):
        top = ((crc >> 7) & 1) ^ ((value >> i) & 1)
        crc = ((crc << 1) & 0xFF) ^ (0x07 if top else 0)
    return crc


def payload_to_symbols(p: Payload) -> list[int]:
    if p.version == "other":
        vcode = (1 << _VERSION_BITS) - 1
    else:
        major, minor = (int(v) for v in p.version.split("."))
        vcode = major << 4 | minor
    prof = int(p.profile_id, 16) if p.profile_id else 0
    hours = int((datetime.strptime(p.time_utc, "%Y-%m-%dT%H:00Z").replace(tzinfo=timezone.utc) - _EPOCH)
                // timedelta(hours=1))
    body = (vcode << (_PROFILE_BITS + _TIME_BITS)) | (prof << _TIME_BITS) | hours
    word = body << 8 | _crc8(body, 40)
    mask = (1 << BITS_PER_SEQ) - 1
    return [(word >> (BITS_PER_SEQ * (N_DATA - 1 - k))) & mask for k in range(N_DATA)]


def symbols_to_payload(symbols: list[int]) -> Payload | None:
    word = 0
    for s in symbols:
        word = word << BITS_PER_SEQ | int(s)
    body, crc = word >> 8, word & 0xFF
    if _crc8(body, 40) != crc:
        return None
    hours = body & ((1 << _TIME_BITS) - 1)
    prof = (body >> _TIME_BITS) & ((1 << _PROFILE_BITS) - 1)
    vcode = body >> (_PROFILE_BITS + _TIME_BITS)
    version = "other" if vcode == (1 << _VERSION_BITS) - 1 else f"{vcode >> 4}.{vcode & 15}"
    return Payload(version=version, profile_id=f"{prof:04x}" if prof else None, time_utc=_hour_iso(hours))


__all__ = ["Payload", "WatermarkError", "make_payload", "payload_to_symbols", "symbols_to_payload", "N_DATA",
           "BITS_PER_SEQ"]
