"""``voxpost dub``: translated lines on the original's mouths, in a chosen voice."""

from __future__ import annotations

import argparse

from voxpost.cli.common import add_force, listener
from voxpost.errors import VoxpostError


def add_parsers(sub, common) -> None:
    s = sub.add_parser("dub", parents=[common],
                       help="dub a translated script onto the original's speech (lip-sync timing, pace bounds), "
                            "in a profile's voice; stem, mix, timing report, rythmo band, OTIO timeline")
    s.add_argument("original", metavar="ORIGINAL", help="the original dialogue stem (audio, or a video's audio)")
    s.add_argument("--script", required=True, metavar="F", help="translated lines with rough timecodes (.srt, .csv, .tsv)")
    s.add_argument("--language", required=True, metavar="L", help="espeak-ng language of the translation")
    s.add_argument("-o", "--output", required=True, metavar="DUB.wav", help="the dubbed dialogue stem")
    v = s.add_mutually_exclusive_group()
    v.add_argument("--voice", action="append", metavar="[SPEAKER=]PROFILE",
                   help="speak in this .voice profile (voxpost voice enroll); SPEAKER=PROFILE for the lines of one "
                        "speaker of the script (repeat for each); a plain PROFILE voices every other line")
    v.add_argument("--clone-original", action="store_true",
                   help="build the profile from the original stem itself (needs --consent)")
    s.add_argument("--consent", metavar="FILE", help="the original actor's consent record, for --clone-original")
    s.add_argument("--original-script", metavar="F",
                   help="the original lines (.srt/.csv/.tsv, same lines in the same order): aligned word by word "
                        "for exact windows and the original's bilabials")
    s.add_argument("--original-language", default="en", metavar="L", help="language of the original (default en)")
    s.add_argument("--me", metavar="ME.wav", help="music and effects stem (same rate and length as the original)")
    s.add_argument("--mix", metavar="MIX.wav", help="write the full mix (needs --me)")
    s.add_argument("--mix-lufs", type=float, default=-23.0, metavar="LUFS", help="mix loudness (default -23, EBU R128)")
    s.add_argument("--video", metavar="FILE", help="the picture: mouth activity and lip closures refine the anchors")
    s.add_argument("--report", metavar="timing.json", help="the timing report")
    s.add_argument("--rythmo", metavar="rythmo.png", help="the rythmo band picture")
    s.add_argument("--otio", metavar="timeline.otio", help="an OpenTimelineIO timeline, one clip per line")
    s.add_argument("--fps", type=float, metavar="N", help="picture rate for timecodes (default: the video's, else 25)")
    s.add_argument("--min-speed", type=float, default=0.8, metavar="X", help="slowest pace vs natural (default 0.8)")
    s.add_argument("--max-speed", type=float, default=1.25, metavar="X", help="fastest pace vs natural (default 1.25)")
    s.add_argument("--search-ms", type=float, default=500.0, metavar="MS",
                   help="how far from its timecode a line's speech is looked for (default 500)")
    s.add_argument("--backend", default="auto", choices=["auto", "embedded", "knnvc"], help="voice conversion backend")
    add_force(s)
    s.set_defaults(run=cmd_dub)


def voice_map(values: list[str] | None) -> dict[str | None, str]:
    """``--voice`` values as ``{speaker or None: profile path}``; one-line errors for duplicates.

    >>> voice_map(["Anna=a.voice", "narrator.voice"])
    {'Anna': 'a.voice', None: 'narrator.voice'}
    """
    out: dict[str | None, str] = {}
    for v in values or []:
        speaker, sep, path = v.partition("=")
        key = speaker.strip() if sep else None
        path = path if sep else v
        if sep and (not key or not path):
            raise VoxpostError(f"--voice {v!r}: write SPEAKER=PROFILE (or just PROFILE for every line)")
        if key in out:
            raise VoxpostError(f"--voice gives two profiles for {'speaker ' + repr(key) if key else 'every line'}")
        out[key] = path
    return out


def cmd_dub(args: argparse.Namespace) -> int:
    from voxpost.dub.jobs import dub_job

    dub_job(args.original, script=args.script, language=args.language, output=args.output,
            voices=voice_map(args.voice) or None, clone_original=args.clone_original, consent=args.consent,
            original_script=args.original_script, original_language=args.original_language, me=args.me,
            mix=args.mix, mix_lufs=args.mix_lufs, video=args.video, report=args.report, rythmo=args.rythmo,
            otio=args.otio, fps=args.fps, min_speed=args.min_speed, max_speed=args.max_speed,
            search_ms=args.search_ms, backend=args.backend, force=args.force, listener=listener(args))
    return 0
