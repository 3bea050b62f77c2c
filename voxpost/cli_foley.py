"""The ``foley`` subcommand: sound effects from a prompt, named and measured like a sound library.

``voxpost foley PROMPT -o OUTDIR`` writes ``--variations`` takes (24-bit Broadcast WAV with a
UCS name and a JSON sidecar); ``--at`` or ``--cues`` put every event (step, knock, hoof) on the
given times. ``voxpost foley --list`` prints the models, their parameters and example prompts.
Every argument and the output folder are checked before any sound is made.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys

from voxpost.errors import VoxpostError


def add_parsers(sub, common) -> None:
    s = sub.add_parser("foley", parents=[common],
                       help="sound effects from a text prompt (steps, knocks, rain, bells...), placed in a room, "
                            "UCS-named BWF takes with JSON sidecars; --list for the models")
    s.add_argument("prompt", nargs="?", metavar="PROMPT", help="what to make, e.g. 'footsteps on gravel, slow'")
    s.add_argument("-o", "--output", metavar="OUTDIR", help="folder for the takes (created if missing)")
    s.add_argument("--duration", type=float, metavar="S", help="take length in seconds (default: the prompt's, "
                                                               "else what the sound needs)")
    s.add_argument("--variations", type=int, default=3, metavar="N", help="number of takes, 1..50 (default 3)")
    s.add_argument("--seed", type=int, default=0, metavar="N", help="base seed (default 0): same seed, same files")
    s.add_argument("--sample-rate", type=int, default=48000, metavar="HZ", help="default 48000")
    cues = s.add_mutually_exclusive_group()
    cues.add_argument("--at", metavar="T1,T2,...", help="event times in seconds (or HH:MM:SS.mmm), comma separated")
    cues.add_argument("--cues", metavar="cues.csv", help="a CSV of event times: a 'time' column (or the first)")
    s.add_argument("--list", action="store_true", help="list the sound models, their parameters and example prompts")
    s.add_argument("--json", action="store_true", help="with --list: print JSON")
    s.add_argument("--backend", default="auto", choices=["auto", "procedural", "neural"],
                   help="auto (default): the procedural models for sounds they know, else Stable Audio Open when "
                        "its checkpoint is installed and verified")
    s.add_argument("--model", metavar="DIR", help="a Stable Audio Open folder to use (loaded unverified; its hashes "
                                                 "go in the sidecar)")
    s.add_argument("--steps", type=int, default=100, metavar="N", help="neural backend: diffusion steps (default 100)")
    s.add_argument("--force", action="store_true", help="replace existing takes")
    s.set_defaults(run=cmd_foley)


def parse_time(text: str, where: str = "") -> float:
    """Seconds from ``12.5`` or ``HH:MM:SS.mmm`` / ``MM:SS.mmm``; VoxpostError naming ``where``."""
    t = text.strip()
    try:
        if ":" in t:
            parts = t.split(":")
            if len(parts) > 3 or not all(re.fullmatch(r"-?\d+(?:\.\d*)?", p) for p in parts):
                raise ValueError
            value = 0.0
            for p in parts:
                value = value * 60 + float(p)
            return -value if t.startswith("-") and value > 0 else value
        return float(t)
    except ValueError:
        raise VoxpostError(f"{where}: '{text}' is not a time (seconds, or HH:MM:SS.mmm)") from None


def read_cues(path: str) -> list[float]:
    """Cue times (s) from a CSV: the ``time`` column when the header names one, else the first."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = [r for r in csv.reader(f) if r and any(c.strip() for c in r)]
    except OSError as exc:
        raise VoxpostError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise VoxpostError(f"{path}: not a UTF-8 text file") from None
    if not rows:
        raise VoxpostError(f"{path}: no cues")
    header = [c.strip().lower() for c in rows[0]]
    col, start = 0, 0
    if "time" in header:
        col, start = header.index("time"), 1
    elif header and not re.fullmatch(r"[-\d.:]+", header[0]):
        start = 1   # some other header: the first column holds the times
    times = []
    for i, row in enumerate(rows[start:], start=start + 1):
        if col >= len(row) or not row[col].strip():
            raise VoxpostError(f"{path}: line {i} has no time")
        times.append(parse_time(row[col], f"{path} line {i}"))
    if not times:
        raise VoxpostError(f"{path}: no cues")
    return times


def _list(as_json: bool) -> int:
    from voxpost.foley.prompt import load_models, spaces

    models = load_models()
    if as_json:
        names, aliases = spaces()
        print(json.dumps({"models": [m.describe() for m in models.values()], "spaces": list(names),
                          "space_aliases": aliases}, indent=2))
        return 0
    for m in models.values():
        kind = "events" if m.event_based else "continuous"
        print(f"{m.name}  [{m.cat_id}, {m.category}, {kind}]  {m.description}")
        for p in m.params:
            if p.choices:
                rng = "one of " + ", ".join(p.choices)
            else:
                rng = f"{p.lo:g}..{p.hi:g}{(' ' + p.unit) if p.unit else ''}"
            print(f"    {p.name:<12} {rng} (default {p.default}){'  ' + p.help if p.help else ''}")
        for ex in m.examples:
            print(f"    e.g. voxpost foley \"{ex}\" -o out/")
    names, _ = spaces()
    print(f"spaces: {', '.join(names)}")
    return 0


def cmd_foley(args: argparse.Namespace) -> int:
    if args.list:
        if args.prompt or args.output:
            raise VoxpostError("--list takes no PROMPT or -o")
        return _list(args.json)
    if args.json:
        raise VoxpostError("--json goes with --list")
    if args.prompt is None:
        raise VoxpostError("give a PROMPT (what to make) and -o OUTDIR, or --list for the sound models")
    if not args.output:
        raise VoxpostError("-o OUTDIR is required: the folder for the takes")
    cues = None
    if args.at is not None:
        items = [c for c in args.at.split(",")]
        if not any(c.strip() for c in items):
            raise VoxpostError("--at needs event times, e.g. --at 0.5,1.25,2")
        cues = [parse_time(c, f"--at item {i + 1}") for i, c in enumerate(items)]
    elif args.cues:
        cues = read_cues(args.cues)
    from voxpost.foley.generate import generate

    def warn(message: str) -> None:
        print(f"voxpost: warning: {message}", file=sys.stderr)

    if not 1 <= args.steps <= 1000:
        raise VoxpostError(f"--steps {args.steps} is outside 1..1000")
    takes = generate(args.prompt, args.output, duration_s=args.duration, variations=args.variations,
                     seed=args.seed, sample_rate=args.sample_rate, cues_s=cues, overwrite=args.force, warn=warn,
                     backend=args.backend, model_path=args.model, neural_steps=args.steps)
    if not args.quiet:
        for t in takes:
            print(f"{t.path}: {t.duration_s:.2f} s, {t.lufs:.1f} LUFS, true peak {t.peak_dbtp:.1f} dBTP "
                  f"({', '.join(layer['model'] for layer in t.layers)})", file=sys.stderr)
    return 0
