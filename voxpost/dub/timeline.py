"""The dub as an OpenTimelineIO timeline, for import into an NLE or a DAW.

Tracks (all audio, times in samples at the report's sample rate so that every edit is exact):

- ``original``: one clip, the whole original dialogue stem;
- ``dub``: one clip per line, cut out of the dubbed stem at the line's ``[start, end)`` and placed at
  ``start`` on the track (gaps in between); a flagged line carries a red marker;
- ``dub (overlaps)``: lines that overran into the previous one, so that no two clips on a track overlap
  (further ``dub (overlaps 2)``... only if overruns pile up);
- ``mix``: one clip, the whole mix, when the report has one.
"""

from __future__ import annotations

from pathlib import Path

from voxpost.errors import VoxpostError
from voxpost.outputs import write_text

#: Line metadata copied under ``clip.metadata["voxpost"]`` when present in the report.
_LINE_KEYS = ("index", "text", "speaker", "speed", "status", "window_start", "window_end", "start", "end",
              "suggest_syllables", "reason")


def _clip_name(line: dict, width: int = 24) -> str:
    text = " ".join(str(line.get("text", "")).split())
    if len(text) > width:
        text = text[:width].rstrip() + "..."
    return f"L{int(line['index']):03d} {text}".rstrip()


def _reference(path, rate: int, n: int):
    import opentimelineio as otio

    rt = otio.opentime.RationalTime
    url = Path(path).expanduser().resolve().as_uri()
    whole = otio.opentime.TimeRange(rt(0, rate), rt(n, rate))
    return otio.schema.ExternalReference(target_url=url, available_range=whole)


def _whole_clip(path, rate: int, n: int):
    import opentimelineio as otio

    rt = otio.opentime.RationalTime
    return otio.schema.Clip(name=Path(path).name, media_reference=_reference(path, rate, n),
                            source_range=otio.opentime.TimeRange(rt(0, rate), rt(n, rate)))


def _line_clip(line: dict, stem, rate: int, n: int, a: int, b: int):
    import opentimelineio as otio

    rt = otio.opentime.RationalTime
    clip = otio.schema.Clip(name=_clip_name(line), media_reference=_reference(stem, rate, n),
                            source_range=otio.opentime.TimeRange(rt(a, rate), rt(b - a, rate)))
    clip.metadata["voxpost"] = {k: line[k] for k in _LINE_KEYS if k in line}
    if line.get("status") == "flagged":
        syl = line.get("suggest_syllables")
        name = f"flagged: {int(syl):+d} syllables" if syl else "flagged"
        clip.markers.append(otio.schema.Marker(
            name=name, color=otio.schema.MarkerColor.RED,
            marked_range=otio.opentime.TimeRange(rt(a, rate), rt(0, rate)),  # in the clip's source time
            metadata={"voxpost": {"reason": line.get("reason", ""), "suggest_syllables": syl}}))
    return clip


def to_otio(report: dict, *, name: str = "voxpost dub"):
    """Build the timeline of a dub report (see :mod:`voxpost.dub.timeline` for its tracks).

    Parameters
    ----------
    report : dict
        The dub engine's timing report: ``original``, ``stem``, optional ``mix``, ``sample_rate``,
        ``duration_s`` and ``lines`` (each with ``index``, ``text``, ``start``, ``end``, ``status``...).
    name : str
        The timeline's name.

    Returns
    -------
    opentimelineio.schema.Timeline
        Audio tracks at rate ``sample_rate``; line ``k``'s clip starts on its track at exactly
        ``round(start * sample_rate)`` samples and lasts ``round(end * sr) - round(start * sr)``.

    Examples
    --------
    >>> line = {"index": 1, "text": "Bonjour Paul", "start": 1.02, "end": 1.7, "status": "ok"}
    >>> report = {"original": "reel1.wav", "stem": "reel1-dub.wav", "mix": "reel1-mix.wav",
    ...           "sample_rate": 48000, "duration_s": 30.0, "lines": [line]}
    >>> tl = to_otio(report)
    >>> [t.name for t in tl.tracks]
    ['original', 'dub', 'mix']
    """
    import opentimelineio as otio

    rate = int(report["sample_rate"])
    n = round(float(report["duration_s"]) * rate)
    rt = otio.opentime.RationalTime
    timeline = otio.schema.Timeline(name=name, global_start_time=rt(0, rate))
    audio = otio.schema.TrackKind.Audio
    original = otio.schema.Track(name="original", kind=audio)
    original.append(_whole_clip(report["original"], rate, n))
    timeline.tracks.append(original)

    dubs: list = []  # [track, end of its last clip in samples]
    for line in sorted(report["lines"], key=lambda ln: (ln["start"], ln["index"])):
        a, b = round(line["start"] * rate), round(line["end"] * rate)
        slot = next((s for s in dubs if s[1] <= a), None)
        if slot is None:
            label = "dub" if not dubs else "dub (overlaps)" if len(dubs) == 1 else f"dub (overlaps {len(dubs)})"
            slot = [otio.schema.Track(name=label, kind=audio), 0]
            dubs.append(slot)
        if a > slot[1]:
            slot[0].append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0, rate), rt(a - slot[1], rate))))
        slot[0].append(_line_clip(line, report["stem"], rate, n, a, b))
        slot[1] = b
    if not dubs:
        dubs.append([otio.schema.Track(name="dub", kind=audio), 0])
    for track, end in dubs:
        if end < n:
            track.append(otio.schema.Gap(source_range=otio.opentime.TimeRange(rt(0, rate), rt(n - end, rate))))
        timeline.tracks.append(track)

    if report.get("mix"):
        mix = otio.schema.Track(name="mix", kind=audio)
        mix.append(_whole_clip(report["mix"], rate, n))
        timeline.tracks.append(mix)
    return timeline


def write_otio(report: dict, path, *, overwrite: bool = False) -> Path:
    """Write the timeline of a dub report to an ``.otio`` file, atomically.

    Parameters
    ----------
    report : dict
        The dub engine's timing report (see :func:`to_otio`).
    path : str or os.PathLike
        Output file; its extension must be ``.otio``.
    overwrite : bool
        Replace an existing file; without it an existing ``path`` is an error.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    VoxpostError
        Wrong extension, existing file without ``overwrite``, or a folder that cannot be written.

    Examples
    --------
    >>> line = {"index": 1, "text": "Bonjour Paul", "start": 1.02, "end": 1.7, "status": "ok"}
    >>> report = {"original": "reel1.wav", "stem": "reel1-dub.wav", "sample_rate": 48000,
    ...           "duration_s": 30.0, "lines": [line]}
    >>> write_otio(report, "reel1-dub.otio", overwrite=True)
    PosixPath('reel1-dub.otio')
    """
    import opentimelineio as otio

    path = Path(path)
    if path.suffix.lower() != ".otio":
        raise VoxpostError(f"timeline output must end in .otio, not {path.suffix or 'no extension'!r}: {path}")
    if path.exists() and not overwrite:
        raise VoxpostError(f"{path} already exists; pass overwrite=True to replace it")
    text = otio.adapters.write_to_string(to_otio(report), "otio_json")
    return write_text(path, text, overwrite=True)
