"""The voice subcommands: ``speak``, ``voice enroll|convert|info``, ``mark detect|embed``.

Thin like the rest of :mod:`voxpost.cli`: parse, check every output before any work, call the
library, report on stderr. Everything these commands write as audio is watermarked and gets a
provenance record (:mod:`voxpost.voice.provenance`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from voxpost.errors import VoxpostError


def add_parsers(sub, common, parser_class) -> None:
    s = sub.add_parser("speak", parents=[common],
                       help="text to speech (espeak-ng, any of its languages), optionally in a profile's voice, "
                            "at a rate or an exact duration; marked as AI-generated")
    s.add_argument("text", nargs="?", metavar="TEXT", help="what to say (or --text-file)")
    s.add_argument("--text-file", metavar="F", help="read the text from this UTF-8 file")
    s.add_argument("--language", default="en", metavar="L", help="espeak-ng language code (default en; see 'voxpost languages')")
    s.add_argument("-o", "--output", required=True, metavar="OUT", help="audio file (.wav gets iXML provenance)")
    s.add_argument("--voice", metavar="PROFILE", help="a .voice profile to speak with (voxpost voice enroll)")
    g = s.add_mutually_exclusive_group()
    g.add_argument("--rate", type=float, metavar="WPM", help="speaking rate, words per minute (80..450)")
    g.add_argument("--duration", type=float, metavar="S", help="exact duration of the line, seconds")
    s.add_argument("--pitch", type=int, default=50, metavar="P", help="espeak base pitch 0..100 (default 50)")
    s.add_argument("--sample-rate", type=int, default=48000, metavar="HZ", help="output rate (default 48000)")
    s.add_argument("--timings", metavar="words.json", help="also write word timings (the shape 'voxpost align' writes)")
    s.add_argument("--force", action="store_true", help="replace existing outputs")
    s.set_defaults(run=cmd_speak)

    s = sub.add_parser("voice", parents=[common], help="voice profiles (with consent) and voice conversion")
    vsub = s.add_subparsers(dest="voice_command", metavar="ACTION", parser_class=parser_class, required=True)
    v = vsub.add_parser("enroll", parents=[common], help="build a voice profile from >= 10 s of a speaker and their consent record")
    v.add_argument("references", nargs="+", metavar="REF", help="recordings of the speaker")
    v.add_argument("--name", required=True, metavar="N", help="profile name")
    v.add_argument("--consent", required=True, metavar="FILE", help="the speaker's consent record (required)")
    v.add_argument("-o", "--output", required=True, metavar="N.voice")
    v.add_argument("--force", action="store_true", help="replace an existing profile")
    v.set_defaults(run=cmd_voice_enroll)
    v = vsub.add_parser("convert", parents=[common], help="same words and timing, in the profile's voice; marked as AI-generated")
    v.add_argument("input", metavar="IN")
    v.add_argument("--voice", required=True, metavar="N.voice")
    v.add_argument("-o", "--output", required=True, metavar="OUT")
    v.add_argument("--backend", default="auto", choices=["auto", "embedded", "knnvc"],
                   help="auto (default): kNN-VC when its checkpoints and the profile's matching set exist, else embedded")
    v.add_argument("--force", action="store_true", help="replace existing outputs (inputs are never replaced)")
    v.set_defaults(run=cmd_voice_convert)
    v = vsub.add_parser("info", parents=[common], help="print a profile's identity, consent record and statistics as JSON")
    v.add_argument("profile", metavar="N.voice")
    v.set_defaults(run=cmd_voice_info)

    s = sub.add_parser("mark", parents=[common], help="the AI-generated audio watermark: detect it, or embed it in files made elsewhere")
    msub = s.add_subparsers(dest="mark_command", metavar="ACTION", parser_class=parser_class, required=True)
    m = msub.add_parser("detect", parents=[common], help='print {"marked", "score", "payload"} as JSON')
    m.add_argument("files", nargs="+", metavar="FILE")
    m.set_defaults(run=cmd_mark_detect)
    m = msub.add_parser("embed", parents=[common], help="mark a file as AI-generated (watermark + provenance)")
    m.add_argument("input", metavar="IN")
    m.add_argument("-o", "--output", required=True, metavar="OUT")
    m.add_argument("--force", action="store_true", help="replace existing outputs (inputs are never replaced)")
    m.set_defaults(run=cmd_mark_embed)


def _check_audio_output(path: str, *, force: bool, protect: list) -> None:
    from voxpost.stream import WRITE_FORMATS
    from voxpost.voice.provenance import check_outputs

    ext = Path(path).suffix.lower()
    if ext not in WRITE_FORMATS:
        raise VoxpostError(f"{path}: cannot write '{ext or 'no extension'}' files; use one of "
                           f"{', '.join(sorted(WRITE_FORMATS))}")
    check_outputs(path, overwrite=force, protect=protect)


def cmd_speak(args: argparse.Namespace) -> int:
    from voxpost.cli import _read_script
    from voxpost.speech.formats import write_text_atomic
    from voxpost.stream import check_output_path
    from voxpost.voice.profile import load_profile
    from voxpost.voice.provenance import describe_inputs, write_synthetic
    from voxpost.voice.tts import speak

    if (args.text is None) == (args.text_file is None):
        raise VoxpostError("give the text to say, or --text-file, not both")
    text = args.text if args.text is not None else _read_script(args.text_file)
    inputs = [p for p in (args.text_file, args.voice) if p]
    _check_audio_output(args.output, force=args.force, protect=inputs)
    if args.timings:
        check_output_path(Path(args.timings), overwrite=args.force, protect=inputs + [args.output])
    if not 8000 <= args.sample_rate <= 192000:
        raise VoxpostError(f"--sample-rate {args.sample_rate} is out of range (8000..192000)")
    profile = load_profile(args.voice) if args.voice else None
    line = speak(text, language=args.language, rate_wpm=args.rate, duration_s=args.duration,
                 pitch=args.pitch, voice=profile, sample_rate=args.sample_rate)
    prov = write_synthetic(line.audio, args.output, line.stages, inputs=describe_inputs(inputs),
                           profile_id=profile.id if profile else None, overwrite=args.force, protect=inputs)
    if args.timings:
        try:
            write_text_atomic(args.timings, json.dumps(line.timings(), indent=2, ensure_ascii=False) + "\n",
                              overwrite=args.force, protect=inputs + [args.output])
        except BaseException:
            Path(args.output).unlink(missing_ok=True)
            Path(args.output + ".provenance.json").unlink(missing_ok=True)
            raise
    if not args.quiet:
        print(f"{args.output}: {line.audio.duration_s:.3f} s, {len(line.words)} words at "
              f"{line.rate_wpm:.0f} wpm, stretch x{line.stretch_ratio:.4f}, watermarked "
              f"({prov['stages'][-1]['snr_db']:.1f} dB SNR)", file=sys.stderr)
    return 0


def cmd_voice_enroll(args: argparse.Namespace) -> int:
    from voxpost.stream import check_output_path
    from voxpost.voice import knnvc
    from voxpost.voice.profile import enroll

    out = Path(args.output)
    protect = [*args.references, args.consent]
    check_output_path(out, overwrite=args.force, protect=protect)
    model = None
    if knnvc.available():
        from voxpost.errors import ModelError

        try:
            model = knnvc.load()
        except ModelError as exc:
            print(f"voxpost: warning: kNN-VC not used for this profile: {exc}", file=sys.stderr)
    prof = enroll(args.references, name=args.name, consent=args.consent, knnvc=model)
    prof.save(out, overwrite=args.force, protect=protect)
    if not args.quiet:
        f0 = prof.stats["f0"]
        print(f"{out}: profile '{prof.name}' ({prof.id[:12]}), {prof.stats['speech_s']:.1f} s of speech "
              f"from {len(prof.references)} file(s), F0 median {f0['median_hz']:.0f} Hz, consent "
              f"{prof.consent['sha256'][:12]}", file=sys.stderr)
    return 0


def cmd_voice_convert(args: argparse.Namespace) -> int:
    from voxpost.audio import load
    from voxpost.stream import AudioReader
    from voxpost.voice.backends import convert_audio
    from voxpost.voice.profile import load_profile
    from voxpost.voice.provenance import describe_inputs, write_synthetic

    protect = [args.input, args.voice]
    AudioReader(args.input).close()
    _check_audio_output(args.output, force=args.force, protect=protect)
    profile = load_profile(args.voice)
    audio = load(args.input)
    converted, stage = convert_audio(audio, profile, backend=args.backend)
    write_synthetic(converted, args.output, [stage], inputs=describe_inputs([args.input]),
                    profile_id=profile.id, overwrite=args.force, protect=protect)
    if not args.quiet:
        print(f"{args.output}: {converted.duration_s:.3f} s in the voice of '{profile.name}' "
              f"({stage['backend']}), watermarked", file=sys.stderr)
    return 0


def cmd_voice_info(args: argparse.Namespace) -> int:
    from voxpost.voice.profile import load_profile

    print(json.dumps(load_profile(args.profile).summary(), indent=2))
    return 0


def cmd_mark_detect(args: argparse.Namespace) -> int:
    from voxpost.voice import provenance, watermark

    results = []
    for f in args.files:
        det = watermark.detect_file(f).to_dict()
        prov = provenance.read(f)
        if prov:
            det["provenance"] = {"stages": [s.get("stage") for s in prov.get("stages", [])],
                                 "created_utc": prov.get("created_utc")}
        results.append(dict(det, file=f) if len(args.files) > 1 else det)
    print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    return 0


def cmd_mark_embed(args: argparse.Namespace) -> int:
    from voxpost.audio import load
    from voxpost.stream import AudioReader
    from voxpost.voice.provenance import describe_inputs, write_synthetic

    protect = [args.input]
    AudioReader(args.input).close()
    _check_audio_output(args.output, force=args.force, protect=protect)
    audio = load(args.input)
    prov = write_synthetic(audio, args.output, [{"stage": "mark-embed", "note": "made elsewhere; marked by voxpost"}],
                           inputs=describe_inputs([args.input]), overwrite=args.force, protect=protect)
    if not args.quiet:
        print(f"{args.output}: watermarked ({prov['stages'][-1]['snr_db']:.1f} dB SNR)", file=sys.stderr)
    return 0
