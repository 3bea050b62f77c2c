"""The adaptor's script: translated lines with rough timecodes, read from SRT or CSV and validated.

The dub engine places each line on the original actor's speech near its timecode, so a script that
would misplace a line (no timing, lines out of order or overlapping, a line past the end of the
original) is refused with a :class:`ScriptError` whose one-line message says what is wrong, where
(``file:line`` and the line's number in the script) and what to do. Things with one sensible reading
(broken SRT numbering, an end past the original's end) are handled and noted in
:attr:`Script.warnings`.
"""

from __future__ import annotations

import codecs
import csv
import io
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

from voxpost.errors import VoxpostError

_TAG = re.compile(r"</?(?:i|b|u|s|font)(?:\s[^>]*)?>|\{\\[^}]*\}", re.IGNORECASE)
_STAMP = r"\d+:\d+:\d+[,.]\d{1,3}"
_TIMING = re.compile(rf"\s*({_STAMP})\s*-->\s*({_STAMP})(?:\s.*)?")
_CLOCK = re.compile(r"(-?)(?:(\d+):)?(\d+):(\d+)(?:[.,](\d{1,3}))?")
_SMPTE = re.compile(r"(\d+):(\d+):(\d+):(\d+)")
_SECONDS = re.compile(r"-?\d+(?:[.,]\d+)?")
_COLUMNS = {
    "start": ("start", "start_time", "in", "tc_in", "begin"),
    "end": ("end", "end_time", "out", "tc_out", "stop"),
    "text": ("text", "translation", "dub", "line"),
    "speaker": ("speaker", "character", "role"),
    "original": ("original", "source", "original_text"),
    "id": ("id", "index", "number", "#"),
}
_REQUIRED = ("start", "end", "text")
_TIME_FORMS = "HH:MM:SS,mmm, MM:SS.mmm, seconds (62.345) or HH:MM:SS:FF with --fps"


class ScriptError(VoxpostError):
    """A dubbing script that cannot be read or would misplace a line; its message is one line."""


@dataclass(frozen=True)
class ScriptLine:
    """One translated line of the script.

    Examples
    --------
    >>> ScriptLine(index=1, start_s=1.0, end_s=2.5, text="Bonjour.", label="1").end_s
    2.5
    """

    index: int
    start_s: float
    end_s: float
    text: str
    speaker: str | None = None
    original: str | None = None
    label: str = ""


@dataclass
class Script:
    """A validated script: lines in file (and time) order, notes on what was handled, the file name.

    Examples
    --------
    >>> parse_srt("1\\n00:00:01,000 --> 00:00:02,000\\nHi\\n", name="a.srt").lines[0].text
    'Hi'
    """

    lines: list[ScriptLine]
    warnings: list[str]
    source: str


def format_time(seconds: float) -> str:
    """Format seconds as an SRT timestamp, rounded to the millisecond.

    Examples
    --------
    >>> format_time(62.345)
    '00:01:02,345'
    """
    ms = round(abs(seconds) * 1000)
    sign = "-" if seconds < 0 and ms else ""
    return f"{sign}{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


def read_script(path, *, duration_s: float | None = None, fps: float | None = None) -> Script:
    """Read and validate a script file (``.srt``, ``.csv`` or ``.tsv``; UTF-8 or UTF-16 with a BOM).

    Parameters
    ----------
    path : str or Path
        The script file; its extension picks the parser.
    duration_s : float, optional
        Length of the original; lines starting after it are refused, lines ending after it clamped.
    fps : float, optional
        Frame rate for SMPTE ``HH:MM:SS:FF`` timecodes in a CSV.

    Examples
    --------
    >>> from pathlib import Path
    >>> _ = Path("episode1.srt").write_text("1\\n00:00:01,000 --> 00:00:02,500\\nBonjour, Paul.\\n\\n"
    ...                                     "2\\n00:00:03,000 --> 00:00:04,200\\nTu viens ?\\n", encoding="utf-8")
    >>> script = read_script("episode1.srt", duration_s=1320.0)
    >>> [(line.text, line.start_s, line.end_s) for line in script.lines]
    [('Bonjour, Paul.', 1.0, 2.5), ('Tu viens ?', 3.0, 4.2)]
    """
    path = Path(path)
    parser = {".srt": parse_srt, ".csv": parse_csv, ".tsv": parse_csv}.get(path.suffix.lower())
    if parser is None:
        raise ScriptError(f"{path.name}: unknown script format '{path.suffix}'; use a .srt, .csv or .tsv file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScriptError(f"cannot read script {path}: {exc.strerror or exc}") from exc
    try:
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            text = data.decode("utf-16")
        else:
            text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScriptError(f"{path.name}:{line}: not UTF-8 text; save the script as UTF-8 and try again") from exc
    return parser(text, name=path.name, duration_s=duration_s, fps=fps)


def parse_srt(text: str, *, name: str = "script", duration_s: float | None = None, fps: float | None = None) -> Script:
    """Parse and validate SRT text. ``fps`` is accepted for symmetry with :func:`parse_csv` and unused.

    Cue numbers are kept as labels; if they are not 1, 2, 3... they are ignored (file order is kept)
    and one warning says so. Formatting tags (``<i>``, ``{\\an8}``...) are stripped.

    Examples
    --------
    >>> s = parse_srt("1\\n00:00:01,000 --> 00:00:02,500\\n<i>Où est-il ?</i>\\n", name="ep.srt")
    >>> (s.lines[0].start_s, s.lines[0].end_s, s.lines[0].text)
    (1.0, 2.5, 'Où est-il ?')
    """
    blocks: list[list[tuple[int, str]]] = [[]]
    for lineno, raw in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if raw.strip():
            blocks[-1].append((lineno, raw.strip()))
        elif blocks[-1]:
            blocks.append([])
    cues = []
    for block in filter(None, blocks):
        timing_at = next((k for k, (_, raw) in enumerate(block[:2]) if _TIMING.fullmatch(raw)), None)
        if timing_at is None:
            lineno, raw = block[1] if len(block) > 1 and block[0][1].isdigit() else block[0]
            raise ScriptError(
                f"{name}:{block[0][0]}: cue without a timing line 'HH:MM:SS,mmm --> HH:MM:SS,mmm' "
                f"(line {lineno} reads '{raw[:40]}'); add the timing, or remove the blank line that splits the cue"
            )
        lineno, raw = block[timing_at]
        start, end = (_time(stamp, None, f"{name}:{lineno}") for stamp in _TIMING.fullmatch(raw).groups())
        words = _clean(" ".join(raw for _, raw in block[timing_at + 1:]))
        cues.append((block[0][0], ScriptLine(0, start, end, words, label=block[0][1] if timing_at else "")))
    if not cues:
        raise ScriptError(f"{name}: no cues found; the script is empty")
    warnings = []
    if [line.label for _, line in cues] != [str(k) for k in range(1, len(cues) + 1)]:
        warnings.append(f"{name}: cue numbers are not 1, 2, 3...; lines are taken in file order")
    return _validate(cues, name, duration_s, warnings)


def parse_csv(text: str, *, name: str = "script", duration_s: float | None = None, fps: float | None = None) -> Script:
    """Parse and validate a CSV/TSV script (delimiter ``,``, ``;`` or tab, header row required).

    Columns (case-insensitive, aliases in brackets): start [start_time, in, tc_in, begin], end
    [end_time, out, tc_out, stop], text [translation, dub, line], optional speaker [character, role],
    original [source, original_text] and id [index, number, #]. Times are ``HH:MM:SS,mmm``,
    ``MM:SS.mmm``, seconds, or SMPTE ``HH:MM:SS:FF`` when ``fps`` is given. Two lines may overlap
    only when they have different speakers.

    Examples
    --------
    >>> s = parse_csv("in;out;translation\\n1.5;00:00:03,000;Salut.\\n", name="ep.csv")
    >>> (s.lines[0].start_s, s.lines[0].end_s, s.lines[0].text)
    (1.5, 3.0, 'Salut.')
    """
    if fps is not None and not fps > 0:
        raise ScriptError(f"--fps must be a positive frame rate, got {fps}")
    text = text.lstrip("\ufeff")
    header_line = next((raw for raw in text.splitlines() if raw.strip()), None)
    if header_line is None:
        raise ScriptError(f"{name}: the script is empty; it needs a header row (start, end, text) and one row per line")
    delimiter = max(",;\t", key=header_line.count)
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [cell.strip().casefold() for cell in next(reader)]
    while not any(header):
        header = [cell.strip().casefold() for cell in next(reader)]
    where: dict[str, int] = {}
    for key, aliases in _COLUMNS.items():
        found = [k for k, cell in enumerate(header) if cell in aliases]
        if len(found) > 1:
            columns = ", ".join(repr(header[k]) for k in found)
            raise ScriptError(f"{name}: columns {columns} all give the {key}; keep one")
        if found:
            where[key] = found[0]
    missing = [key for key in _REQUIRED if key not in where]
    if missing:
        raise ScriptError(
            f"{name}: missing column(s) {', '.join(missing)} (found: {', '.join(repr(h) for h in header)}); "
            "the header needs start, end and text"
        )
    cues = []
    row_start = reader.line_num + 1
    for row in reader:
        lineno, row_start = row_start, reader.line_num + 1
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header):
            raise ScriptError(
                f"{name}:{lineno}: row has {len(row)} cells but the header has {len(header)}; "
                "quote text that contains the delimiter"
            )
        cell = {key: row[k].strip() if k < len(row) else "" for key, k in where.items()}
        place = f"{name}:{lineno}"
        start = _time(cell["start"], fps, f"{place}: start time (column '{header[where['start']]}')")
        end = _time(cell["end"], fps, f"{place}: end time (column '{header[where['end']]}')")
        cues.append((lineno, ScriptLine(
            0, start, end, _clean(cell["text"]), speaker=_clean(cell.get("speaker", "")) or None,
            original=_clean(cell.get("original", "")) or None, label=cell.get("id", ""),
        )))
    if not cues:
        raise ScriptError(f"{name}: the header is there but no lines follow; add one row per line")
    return _validate(cues, name, duration_s, [])


def _clean(text: str) -> str:
    return " ".join(_TAG.sub("", text).split())


def _time(cell: str, fps: float | None, place: str) -> float:
    """Seconds from one time cell; ``place`` prefixes the error message."""
    if _SECONDS.fullmatch(cell):
        return float(cell.replace(",", "."))
    if smpte := _SMPTE.fullmatch(cell):
        if fps is None:
            raise ScriptError(f"{place}: '{cell}' is a SMPTE timecode (HH:MM:SS:FF); pass --fps to read it")
        hours, minutes, seconds, frames = map(int, smpte.groups())
        if minutes >= 60 or seconds >= 60 or frames >= math.ceil(fps):
            raise ScriptError(f"{place}: '{cell}' is not a valid timecode at {fps:g} fps; fix the timecode")
        return hours * 3600 + minutes * 60 + seconds + frames / fps
    clock = _CLOCK.fullmatch(cell)
    if clock is None:
        raise ScriptError(f"{place}: cannot read '{cell}' as a time; write it as {_TIME_FORMS}")
    sign, hours, minutes, seconds, frac = clock.groups()
    if int(seconds) >= 60 or (hours is not None and int(minutes) >= 60):
        raise ScriptError(f"{place}: minutes and seconds must be below 60 in '{cell}'; fix the timecode")
    ms = ((int(hours or 0) * 60 + int(minutes)) * 60 + int(seconds)) * 1000 + int((frac or "0").ljust(3, "0"))
    return -ms / 1000 if sign else ms / 1000


def _describe(line: ScriptLine) -> str:
    return f"line {line.index} (cue '{line.label}')" if line.label else f"line {line.index}"


def _validate(cues: list[tuple[int, ScriptLine]], name: str, duration_s: float | None, warnings: list[str]) -> Script:
    """Number the lines, check each one and each pair in file order, clamp ends to ``duration_s``."""
    if duration_s is not None and not duration_s > 0:
        raise ScriptError(f"the original's duration must be positive, got {duration_s}")
    lines = []
    latest: dict[str | None, ScriptLine] = {}  # per speaker (casefolded, None = no speaker): the line ending last
    for index, (lineno, line) in enumerate(cues, start=1):
        line = replace(line, index=index)
        where, what = f"{name}:{lineno}", _describe(line)
        start, end = format_time(line.start_s), format_time(line.end_s)
        if not line.text:
            raise ScriptError(f"{where}: {what} has no text; remove the cue or write the line")
        if line.start_s < 0 or line.end_s < 0:
            raise ScriptError(f"{where}: {what} has a negative time ({start} --> {end}); fix the timecodes")
        if line.end_s <= line.start_s:
            raise ScriptError(f"{where}: {what} ends ({end}) at or before it starts ({start}); fix the timecodes")
        if duration_s is not None:
            if line.start_s >= duration_s:
                raise ScriptError(
                    f"{where}: {what} starts at {start}, after the end of the original ({format_time(duration_s)}); "
                    "fix the timecode or check that this is the right original"
                )
            if line.end_s > duration_s:
                warnings.append(f"{where}: {what} ends at {end}, past the end of the original; clamped to "
                                f"{format_time(duration_s)}")
                line = replace(line, end_s=duration_s)
        if lines and line.start_s < lines[-1].start_s:
            prev = lines[-1]
            raise ScriptError(
                f"{where}: lines {prev.index} and {line.index} are not in time order (line {prev.index} starts "
                f"{format_time(prev.start_s)}, line {line.index} starts {start}); fix the timecodes or reorder the cues"
            )
        speaker = line.speaker.casefold() if line.speaker else None
        rivals = list(latest.values()) if speaker is None else [latest[k] for k in (None, speaker) if k in latest]
        prev = max(rivals, key=lambda other: other.end_s, default=None)
        if prev is not None and line.start_s < prev.end_s:
            raise ScriptError(
                f"{where}: lines {prev.index} and {line.index} overlap (line {prev.index} ends "
                f"{format_time(prev.end_s)}, line {line.index} starts {start}); fix the timecodes"
            )
        if speaker not in latest or line.end_s > latest[speaker].end_s:
            latest[speaker] = line
        lines.append(line)
    return Script(lines=lines, warnings=warnings, source=name)
