"""The ``dub`` subcommand: translated lines on the original's mouths, in a chosen voice.

Thin like the rest of :mod:`voxpost.cli`: every input is read and every output checked before any
work; the stem and the mix are watermarked with a provenance record; the report, rythmo band and
timeline are written atomically. A failure part way removes what this run wrote.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
    s.add_argument("--force", action="store_true", help="replace existing outputs (inputs are never replaced)")
    s.set_defaults(run=cmd_dub)


def _check(args: argparse.Namespace) -> tuple[list[str], list[Path]]:
    """Validate the options and every output before any work; return (inputs, outputs)."""
    from voxpost.cli_voice import _check_audio_output
    from voxpost.stream import check_output_path

    if bool(args.me) != bool(args.mix):
        raise VoxpostError("--me and --mix go together: the M&E stem and where to write the mix")
    if args.clone_original and not args.consent:
        raise VoxpostError("--clone-original needs --consent FILE: the original actor's consent record")
    if args.consent and not args.clone_original:
        raise VoxpostError("--consent is for --clone-original (a --voice profile carries its own consent)")
    if not 1 <= (args.fps or 25) <= 240:
        raise VoxpostError(f"--fps {args.fps:g} is outside 1..240")
    if not 10 <= args.search_ms <= 3000:
        raise VoxpostError(f"--search-ms {args.search_ms:g} is outside 10..3000")
    if not -60 <= args.mix_lufs <= -5:
        raise VoxpostError(f"--mix-lufs {args.mix_lufs:g} is outside -60..-5")
    inputs = [p for p in (args.original, args.script, *_voice_map(args.voice).values(), args.consent,
                          args.original_script, args.me, args.video) if p]
    outs = [Path(p) for p in (args.output, args.mix, args.report, args.rythmo, args.otio) if p]
    if len({o.resolve() for o in outs}) != len(outs):
        raise VoxpostError("two outputs name the same file")
    _check_audio_output(args.output, force=args.force, protect=inputs)
    if args.mix:
        _check_audio_output(args.mix, force=args.force, protect=inputs)
    for path, ext in ((args.report, ".json"), (args.rythmo, ".png"), (args.otio, ".otio")):
        if path:
            if Path(path).suffix.lower() != ext:
                raise VoxpostError(f"{path}: this output is written as {ext}; name it so")
            check_output_path(Path(path), overwrite=args.force, protect=inputs)
    return inputs, outs


def _voice_map(values: list[str] | None) -> dict[str | None, str]:
    """``--voice`` values as ``{speaker or None: profile path}``; one-line errors for duplicates."""
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


def _load_voices(args, lines) -> dict | None:
    """The profiles of ``--voice``, checked against the script's speakers."""
    from voxpost.voice.profile import load_profile

    wanted = _voice_map(args.voice)
    speakers = {line.speaker for line in lines if line.speaker}
    for name in wanted:
        if name is not None and name not in speakers:
            known = ", ".join(sorted(speakers)) or "none (the script has no speaker column)"
            raise VoxpostError(f"--voice names speaker {name!r}, who has no line in {args.script}; speakers: {known}")
    return {k: load_profile(p) for k, p in wanted.items()} or None


def _original_texts(args, lines, fps):
    from dataclasses import replace

    from voxpost.dub.script import read_script

    orig = read_script(args.original_script, fps=fps).lines
    if len(orig) != len(lines):
        raise VoxpostError(f"{args.original_script}: {len(orig)} lines, but the script has {len(lines)}; "
                           "the original script must hold the same lines in the same order")
    return [replace(line, original=o.text) for line, o in zip(lines, orig)]


def cmd_dub(args: argparse.Namespace) -> int:
    from voxpost.audio import info, load
    from voxpost.dub.engine import check_me, dub, mix
    from voxpost.dub.script import read_script
    from voxpost.speech.formats import write_text_atomic
    from voxpost.voice.profile import enroll
    from voxpost.voice.provenance import describe_inputs, sidecar_path, write_synthetic

    inputs, outs = _check(args)
    meta = info(args.original)
    if args.me:
        me_meta = info(args.me)
        check_me(me_meta["sample_rate"], me_meta["frames"], meta["sample_rate"], meta["frames"])
    mouth = None
    fps = args.fps
    if args.video:
        from voxpost.dub.video import mouth_track

        mouth = mouth_track(args.video)
        fps = fps or mouth.fps
    fps = fps or meta.get("timecode_fps") or 25.0
    script = read_script(args.script, duration_s=meta["duration_s"], fps=fps)
    lines = script.lines
    if args.original_script:
        lines = _original_texts(args, lines, fps)
    voices = _load_voices(args, lines)
    if args.clone_original:
        voices = {None: enroll([args.original], name=f"{Path(args.original).stem} (cloned from the original)",
                               consent=args.consent)}
    profiles = list((voices or {}).values())
    for w in script.warnings:
        print(f"voxpost: warning: {w}", file=sys.stderr)
    original = load(args.original)
    result = dub(original, lines, language=args.language, voice=voices, backend=args.backend,
                 original_language=args.original_language, mouth=mouth, min_speed=args.min_speed,
                 max_speed=args.max_speed, search_s=args.search_ms / 1000)
    mixed = mix_info = None
    if args.me:
        mixed, mix_info = mix(result.stem, load(args.me), target_lufs=args.mix_lufs)
    report = dict(result.report, original=str(args.original), stem=str(args.output), mix=args.mix,
                  fps=fps, script=str(args.script), warnings=script.warnings,
                  voices={str(k) if k else "*": p.summary() for k, p in (voices or {}).items()} or None,
                  mix_loudness=mix_info)
    written: list[Path] = []
    try:
        prof_id = profiles[0].id if len(profiles) == 1 else None     # the mark's payload holds one id
        write_synthetic(result.stem, args.output, result.stages, inputs=describe_inputs(inputs),
                        profile_id=prof_id, overwrite=args.force, protect=inputs)
        written += [Path(args.output), sidecar_path(args.output)]
        if mixed is not None:
            write_synthetic(mixed, args.mix, result.stages + [mix_info], inputs=describe_inputs(inputs),
                            profile_id=prof_id, overwrite=args.force, protect=inputs)
            written += [Path(args.mix), sidecar_path(args.mix)]
        if args.report:
            write_text_atomic(args.report, json.dumps(report, indent=2, ensure_ascii=False) + "\n",
                              overwrite=args.force, protect=inputs)
            written.append(Path(args.report))
        if args.rythmo:
            from voxpost.dub.rythmo import rythmo_png

            written += rythmo_png(report, args.rythmo)
        if args.otio:
            from voxpost.dub.timeline import write_otio

            written.append(write_otio(report, args.otio, overwrite=args.force))
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    if not args.quiet:
        s = report["summary"]
        print(f"{args.output}: {s['lines']} lines dubbed ({s['ok']} ok, {s['flagged']} flagged), pace "
              f"{s['speed_min']:.2f}-{s['speed_max']:.2f}x, onset vs window median "
              f"{s['median_onset_error_ms']} ms; watermarked", file=sys.stderr)
        for e in report["lines"]:
            if e["status"] == "flagged":
                print(f"  line {e['index']}: {e['reason']}; suggest {e['suggest_syllables']:+d} syllables",
                      file=sys.stderr)
    return 0
