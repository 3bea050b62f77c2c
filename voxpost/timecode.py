"""Timecode text: ``HH:MM:SS:FF`` at a frame rate <-> samples since midnight (non-drop counting)."""

from __future__ import annotations

import re
from fractions import Fraction

from voxpost.errors import AudioError

DEFAULT_FPS = Fraction(25)


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


def ixml_fps(ixml: str | None) -> Fraction | None:
    if not ixml:
        return None
    m = re.search(r"<TIMECODE_RATE>\s*(\d+)\s*/\s*(\d+)\s*</TIMECODE_RATE>", ixml)
    return Fraction(int(m.group(1)), int(m.group(2))) if m and int(m.group(2)) else None
