"""``voxpost info``, ``process`` and ``clean``: files through preset chains."""

from __future__ import annotations

import argparse

from voxpost.cli.common import add_force, listener, one_or_list, print_json


def add_parsers(sub, common) -> None:
    s = sub.add_parser("info", parents=[common],
                       help="print sample rate, channels, frames, duration, subtype and timecode as JSON")
    s.add_argument("files", nargs="+", metavar="FILE")
    s.set_defaults(run=cmd_info)

    s = sub.add_parser("process", parents=[common], help="run files through a preset chain")
    s.add_argument("inputs", nargs="+", metavar="IN")
    s.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file, or a directory for several inputs (DIR/<input file name>)")
    s.add_argument("--preset", required=True, metavar="NAME|FILE", help="preset name (see 'voxpost presets') or .toml path")
    s.add_argument("--sample-rate", type=int, metavar="HZ", help="resample the output (default: keep the input's)")
    s.add_argument("--subtype", metavar="S", help="output sample format, e.g. PCM_16, PCM_24, FLOAT (default: keep)")
    add_force(s)
    s.set_defaults(run=cmd_process)

    s = sub.add_parser("clean", parents=[common], help="clean dialogue: clicks, clipping, noise (DeepFilterNet3 offline), loudness (see presets)")
    s.add_argument("inputs", nargs="+", metavar="IN")
    s.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file, or a directory for several inputs (DIR/<input file name>)")
    s.add_argument("--preset", default="period-dialogue", metavar="NAME|FILE",
                   help="period-dialogue (default), period-dialogue-live, broadcast-r128, netflix-dialogue, ... or a .toml path")
    s.add_argument("--report", metavar="JSON", help="write measurements (clicks repaired, LUFS in/out, ...) here")
    s.add_argument("--plot", metavar="PNG", help="write before/after spectrograms here")
    s.add_argument("--stream", action="store_true",
                   help="process as live: 10 ms blocks, no look at the whole file (loudness becomes short-term); "
                        "a preset with a -live sibling (period-dialogue) uses it, and says so")
    add_force(s)
    s.set_defaults(run=cmd_clean)


def cmd_info(args: argparse.Namespace) -> int:
    from voxpost.audio import info

    print_json(one_or_list([info(f) for f in args.files]))
    return 0


def cmd_process(args: argparse.Namespace) -> int:
    from voxpost.clean.jobs import process_job

    process_job(args.inputs, args.output, preset=args.preset, sample_rate=args.sample_rate, subtype=args.subtype,
                force=args.force, listener=listener(args))
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    from voxpost.clean.jobs import clean_job

    clean_job(args.inputs, args.output, preset=args.preset, report=args.report, plot=args.plot, live=args.stream,
              force=args.force, listener=listener(args))
    return 0
