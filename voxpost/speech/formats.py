"""Timed text: subtitle cues from words, SRT, WebVTT, RTTM, timecodes and atomic text outputs.

The shapes everything in :mod:`voxpost.speech` passes around:

* a **word** is ``{"word": str, "start": s, "end": s}`` with optional ``"probability"`` and
  ``"speaker"``; times are seconds from the start of the file;
* a **segment** (a subtitle cue, or a transcriber's segment) is ``{"start", "end", "text",
  "words": [...]}`` with optional ``"speaker"``;
* a **turn** (diarization) is a tuple ``(start_s, end_s, speaker_label)``.

Subtitle timecodes follow the file's start time: pass its BWF time reference in seconds as
``offset_s`` (a reel starting at 10:00:00:00 gives cues from ``10:00:00,000``). RTTM stays
file-relative, as scoring tools expect.

Examples
--------
>>> words = [{"word": "Hello", "start": 0.5, "end": 0.9}, {"word": "there.", "start": 1.0, "end": 1.4}]
>>> print(to_srt(segments_from_words(words)), end="")
1
00:00:00,500 --> 00:00:01,400
Hello there.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

from voxpost.errors import VoxpostError
from voxpost.timecode import format_timecode

#: Characters that end a sentence (and so a subtitle cue).
SENTENCE_END = (".", "?", "!", "…", "。", "？", "！", "؟", "।")
_CLOSERS = "\"'”’)]}»"


# -- words -> cues ----------------------------------------------------------------------------
def _no_space_script(ch: str) -> bool:
    """Scripts written without spaces between words (CJK, kana, Thai, Lao, Khmer, Myanmar)."""
    o = ord(ch)
    return (0x3000 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF
            or 0xF900 <= o <= 0xFAFF or 0xFF00 <= o <= 0xFFEF or 0x0E00 <= o <= 0x0EFF
            or 0x1000 <= o <= 0x109F or 0x1780 <= o <= 0x17FF or 0x20000 <= o <= 0x2FFFF)


def join_words(words: Iterable[dict[str, Any]]) -> str:
    """The text of a run of words: spaces between them, none between CJK/Thai characters."""
    out = ""
    for w in words:
        text = str(w["word"]).strip()
        if not text:
            continue
        if out and not (_no_space_script(out[-1]) and _no_space_script(text[0])):
            out += " "
        out += text
    return out


def _ends_sentence(text: str) -> bool:
    return text.rstrip(_CLOSERS).endswith(SENTENCE_END)


def _segment(words: list[dict[str, Any]]) -> dict[str, Any]:
    seg: dict[str, Any] = {"start": float(words[0]["start"]),
                           "end": float(max(w["end"] for w in words)),
                           "text": join_words(words)}
    if "speaker" in words[0]:
        seg["speaker"] = words[0]["speaker"]
    seg["words"] = [dict(w) for w in words]
    return seg


def segments_from_words(words: Sequence[dict[str, Any]], *, max_chars: int = 42,
                        max_duration_s: float = 7.0, pause_s: float = 0.5) -> list[dict[str, Any]]:
    """Group words into subtitle cues.

    A new cue starts at a change of speaker, after a pause of at least `pause_s`, after a word
    that ends a sentence, or where adding the word would make the cue longer than `max_chars`
    characters or `max_duration_s` seconds (a single word longer than that is a cue of its own).

    Parameters
    ----------
    words : sequence of dict
        Words in time order (see the module docstring); empty words are skipped.
    max_chars : int
        Most characters per cue (42: the usual broadcast line length).
    max_duration_s : float
        Longest cue in seconds.
    pause_s : float
        A gap between words at least this long starts a new cue.

    Returns
    -------
    list of dict
        Segments ``{"start", "end", "text", ["speaker",] "words"}``; the speaker key is there
        when the words carry one.
    """
    if max_chars < 1 or max_duration_s <= 0 or pause_s <= 0:
        raise VoxpostError("segments_from_words: max_chars, max_duration_s and pause_s must be positive")
    cues: list[dict[str, Any]] = []
    cur: list[dict[str, Any]] = []
    for w in words:
        if not str(w["word"]).strip():
            continue
        if cur:
            prev = cur[-1]
            if (w.get("speaker") != prev.get("speaker")
                    or float(w["start"]) - float(prev["end"]) >= pause_s
                    or _ends_sentence(str(prev["word"]))
                    or len(join_words([*cur, w])) > max_chars
                    or float(w["end"]) - float(cur[0]["start"]) > max_duration_s):
                cues.append(_segment(cur))
                cur = []
        cur.append(w)
    if cur:
        cues.append(_segment(cur))
    return cues


# -- SRT and WebVTT ---------------------------------------------------------------------------
def _ms(seconds: float, offset_s: float) -> int:
    """Milliseconds, rounded half up, never negative."""
    return max(0, math.floor((float(seconds) + float(offset_s)) * 1000 + 0.5))


def _clock(ms: int, sep: str) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def _cue_times(seg: dict[str, Any], offset_s: float, sep: str) -> str:
    start = _ms(seg["start"], offset_s)
    end = max(_ms(seg["end"], offset_s), start + 1)
    return f"{_clock(start, sep)} --> {_clock(end, sep)}"


def _one_line(text: str) -> str:
    """Cue text without blank lines (they end a cue) or '-->' (it starts one)."""
    return " ".join(str(text).split()).replace("-->", "->")


def to_srt(segments: Iterable[dict[str, Any]], *, offset_s: float = 0.0) -> str:
    """SubRip text: numbered cues, ``HH:MM:SS,mmm`` times shifted by `offset_s`.

    A segment with a ``"speaker"`` gets a ``"SPEAKER_00: "`` prefix. Segments without text are
    skipped; times are rounded to the millisecond, never negative, and each cue lasts at least
    1 ms. Returns ``""`` for no cues.
    """
    blocks = []
    for seg in segments:
        text = _one_line(seg.get("text", ""))
        if not text:
            continue
        if seg.get("speaker") is not None:
            text = f"{seg['speaker']}: {text}"
        blocks.append(f"{len(blocks) + 1}\n{_cue_times(seg, offset_s, ',')}\n{text}\n")
    return "\n".join(blocks)


def _vtt_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_vtt(segments: Iterable[dict[str, Any]], *, offset_s: float = 0.0) -> str:
    """WebVTT text: a ``WEBVTT`` header, ``HH:MM:SS.mmm`` times shifted by `offset_s`.

    A segment with a ``"speaker"`` is written as a voice span ``<v SPEAKER_00>text``. Text is
    escaped (``& < >``); timing rules as :func:`to_srt`.
    """
    out = ["WEBVTT\n"]
    for seg in segments:
        text = _one_line(seg.get("text", ""))
        if not text:
            continue
        text = _vtt_escape(text)
        if seg.get("speaker") is not None:
            text = f"<v {_vtt_escape(_one_line(seg['speaker']))}>{text}"
        out.append(f"{_cue_times(seg, offset_s, '.')}\n{text}\n")
    return "\n".join(out)


# -- RTTM -------------------------------------------------------------------------------------
def _token(text: str) -> str:
    """An RTTM field: no whitespace inside."""
    return "_".join(str(text).split())


def to_rttm(turns: Iterable[tuple[float, float, str]], *, uri: str) -> str:
    """NIST RTTM, one ``SPEAKER <uri> 1 <onset> <dur> <NA> <NA> <speaker> <NA> <NA>`` line per
    turn, sorted by onset; times file-relative with 3 decimals.

    Whitespace in `uri` or a label becomes ``_`` (RTTM fields are space-separated). Turns that
    last under half a millisecond are left out.
    """
    name = _token(uri)
    if not name:
        raise VoxpostError("RTTM needs a non-empty uri (the recording's name)")
    lines = []
    for start, end, speaker in sorted(turns, key=lambda t: (float(t[0]), float(t[1]))):
        onset = max(0.0, float(start))
        dur = float(end) - onset
        if round(dur, 3) <= 0:
            continue
        lines.append(f"SPEAKER {name} 1 {onset:.3f} {dur:.3f} <NA> <NA> {_token(speaker)} <NA> <NA>\n")
    return "".join(lines)


def read_rttm(path_or_text: str | os.PathLike[str], *, uri: str | None = None) -> list[tuple[float, float, str]]:
    """Read RTTM ``SPEAKER`` lines into turns ``(start_s, end_s, speaker)``.

    Parameters
    ----------
    path_or_text : str or path-like
        A file (a :class:`~pathlib.Path`, or a string of one line that is not an RTTM line), or
        RTTM text itself.
    uri : str, optional
        Keep only the turns of this recording.

    Raises
    ------
    VoxpostError
        If the file cannot be read or a ``SPEAKER`` line is malformed (the line is named).
    """
    where = "RTTM text"
    if isinstance(path_or_text, os.PathLike) or (
            "\n" not in path_or_text and not path_or_text.lstrip().startswith("SPEAKER")
            and path_or_text.strip()):
        where = str(path_or_text)
        try:
            text = Path(path_or_text).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise VoxpostError(f"{where}: cannot read RTTM ({getattr(exc, 'strerror', None) or exc})") from None
    else:
        text = path_or_text
    turns = []
    for n, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#") or fields[0] != "SPEAKER":
            continue
        if len(fields) < 8:
            raise VoxpostError(f"{where} line {n}: a SPEAKER line needs at least 8 fields, got {len(fields)}")
        try:
            onset, dur = float(fields[3]), float(fields[4])
        except ValueError:
            raise VoxpostError(f"{where} line {n}: onset and duration must be numbers, "
                               f"not {fields[3]!r} {fields[4]!r}") from None
        if not (math.isfinite(onset) and math.isfinite(dur)) or dur < 0:
            raise VoxpostError(f"{where} line {n}: bad onset/duration {fields[3]} {fields[4]}")
        if uri is not None and fields[1] != uri:
            continue
        turns.append((onset, round(onset + dur, 6), fields[7]))
    return turns


# -- timecode, speakers, files ----------------------------------------------------------------
def timecode_info(start_s: float | Fraction, fps: float | Fraction) -> dict[str, Any]:
    """``{"offset_s", "timecode"}`` for a JSON document: the file's start time in seconds and as
    ``HH:MM:SS:FF`` at `fps` (non-drop counting). A :class:`~fractions.Fraction` start (e.g.
    ``Fraction(time_reference_samples, sample_rate)``) is exact; a float is taken to the
    microsecond."""
    rate = fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1001)
    if rate <= 0:
        raise VoxpostError(f"timecode rate must be positive, not {fps}")
    if isinstance(start_s, Fraction):
        tc = format_timecode(start_s.numerator, rate, start_s.denominator)
    else:
        tc = format_timecode(round(float(start_s) * 1_000_000), rate, 1_000_000)
    return {"offset_s": round(float(start_s), 6), "timecode": tc}


def assign_speakers(words: Iterable[dict[str, Any]],
                    turns: Sequence[tuple[float, float, str]]) -> list[dict[str, Any]]:
    """Copies of `words`, each with the ``"speaker"`` whose turn overlaps it most.

    A word no turn overlaps (or a zero-length one) gets the nearest turn's speaker; ties go to
    the earlier turn. With no turns the words are returned unchanged (copied).
    """
    import numpy as np

    out = [dict(w) for w in words]
    if not turns:
        return out
    ordered = sorted(turns, key=lambda t: (float(t[0]), float(t[1])))
    ts = np.array([float(t[0]) for t in ordered])
    te = np.array([float(t[1]) for t in ordered])
    for w in out:
        ws, we = float(w["start"]), float(w["end"])
        overlap = np.minimum(te, we) - np.maximum(ts, ws)
        best = int(np.argmax(overlap))
        if overlap[best] <= 0:
            best = int(np.argmin(np.maximum(np.maximum(ts - we, ws - te), 0.0)))
        w["speaker"] = ordered[best][2]
    return out


__all__ = ["SENTENCE_END", "assign_speakers", "join_words", "read_rttm", "segments_from_words",
           "timecode_info", "to_rttm", "to_srt", "to_vtt"]
