"""``voxpost speak``, ``voice enroll|convert|info`` and ``mark detect|embed``.

Everything these commands write as audio is watermarked and gets a provenance record.
"""

from __future__ import annotations

import argparse

from voxpost.cli.common import Parser, add_force, listener, one_or_list, print_json
from voxpost.errors import VoxpostError


def add_parsers(sub, common) -> None:
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
    add_force(s, "replace existing outputs")
    s.set_defaults(run=cmd_speak)

    s = sub.add_parser("voice", parents=[common], help="voice profiles (with consent) and voice conversion")
    vsub = s.add_subparsers(dest="voice_command", metavar="ACTION", parser_class=Parser, required=True)
    v = vsub.add_parser("enroll", parents=[common], help="build a voice profile from >= 10 s of a speaker and their consent record")
    v.add_argument("references", nargs="+", metavar="REF", help="recordings of the speaker")
    v.add_argument("--name", required=True, metavar="N", help="profile name")
    v.add_argument("--consent", required=True, metavar="FILE", help="the speaker's consent record (required)")
    v.add_argument("-o", "--output", required=True, metavar="N.voice")
    add_force(v, "replace an existing profile")
    v.set_defaults(run=cmd_voice_enroll)
    v = vsub.add_parser("convert", parents=[common], help="same words and timing, in the profile's voice; marked as AI-generated")
    v.add_argument("input", metavar="IN")
    v.add_argument("--voice", required=True, metavar="N.voice")
    v.add_argument("-o", "--output", required=True, metavar="OUT")
    v.add_argument("--backend", default="auto", choices=["auto", "embedded", "knnvc"],
                   help="auto (default): kNN-VC when its checkpoints and the profile's matching set exist, else embedded")
    add_force(v)
    v.set_defaults(run=cmd_voice_convert)
    v = vsub.add_parser("info", parents=[common], help="print a profile's identity, consent record and statistics as JSON")
    v.add_argument("profile", metavar="N.voice")
    v.set_defaults(run=cmd_voice_info)

    s = sub.add_parser("mark", parents=[common], help="the AI-generated audio watermark: detect it, or embed it in files made elsewhere")
    msub = s.add_subparsers(dest="mark_command", metavar="ACTION", parser_class=Parser, required=True)
    m = msub.add_parser("detect", parents=[common], help='print {"marked", "score", "payload"} as JSON')
    m.add_argument("files", nargs="+", metavar="FILE")
    m.set_defaults(run=cmd_mark_detect)
    m = msub.add_parser("embed", parents=[common], help="mark a file as AI-generated (watermark + provenance)")
    m.add_argument("input", metavar="IN")
    m.add_argument("-o", "--output", required=True, metavar="OUT")
    add_force(m)
    m.set_defaults(run=cmd_mark_embed)


def cmd_speak(args: argparse.Namespace) -> int:
    from voxpost.speech.jobs import read_script
    from voxpost.voice.jobs import speak_job

    if (args.text is None) == (args.text_file is None):
        raise VoxpostError("give the text to say, or --text-file, not both")
    text = args.text if args.text is not None else read_script(args.text_file)
    speak_job(text, output=args.output, language=args.language, voice=args.voice, rate_wpm=args.rate,
              duration_s=args.duration, pitch=args.pitch, sample_rate=args.sample_rate, timings=args.timings,
              inputs=[args.text_file] if args.text_file else [], force=args.force, listener=listener(args))
    return 0


def cmd_voice_enroll(args: argparse.Namespace) -> int:
    from voxpost.voice.jobs import enroll_job

    enroll_job(args.references, name=args.name, consent=args.consent, output=args.output, force=args.force,
               listener=listener(args))
    return 0


def cmd_voice_convert(args: argparse.Namespace) -> int:
    from voxpost.voice.jobs import convert_job

    convert_job(args.input, voice=args.voice, output=args.output, backend=args.backend, force=args.force,
                listener=listener(args))
    return 0


def cmd_voice_info(args: argparse.Namespace) -> int:
    from voxpost.voice.profile import load_profile

    print_json(load_profile(args.profile).summary())
    return 0


def cmd_mark_detect(args: argparse.Namespace) -> int:
    from voxpost.voice.jobs import mark_detect_job

    rows = mark_detect_job(args.files, listener=listener(args))
    if len(rows) == 1:
        rows[0].pop("file")
    print_json(one_or_list(rows))
    return 0


def cmd_mark_embed(args: argparse.Namespace) -> int:
    from voxpost.voice.jobs import mark_embed_job

    mark_embed_job(args.input, output=args.output, force=args.force, listener=listener(args))
    return 0
