"""``voxpost foley``: sound effects from a prompt; ``--list`` for the sound models."""

from __future__ import annotations

import argparse

from voxpost.cli.common import add_force, listener, print_json
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
    add_force(s, "replace existing takes")
    s.set_defaults(run=cmd_foley)


def _print_catalogue(cat: dict) -> None:
    for m in cat["models"]:
        kind = "events" if m["event_based"] else "continuous"
        print(f"{m['name']}  [{m['cat_id']}, {m['category']}, {kind}]  {m['description']}")
        for p in m["params"]:
            if p.get("choices"):
                rng = "one of " + ", ".join(p["choices"])
            else:
                rng = f"{p['lo']:g}..{p['hi']:g}{(' ' + p['unit']) if p.get('unit') else ''}"
            print(f"    {p['name']:<12} {rng} (default {p['default']}){'  ' + p['help'] if p.get('help') else ''}")
        for ex in m["examples"]:
            print(f"    e.g. voxpost foley \"{ex}\" -o out/")
    print(f"spaces: {', '.join(cat['spaces'])}")


def cmd_foley(args: argparse.Namespace) -> int:
    from voxpost.foley.jobs import catalogue, foley_job, parse_cue_list, read_cues

    if args.list:
        if args.prompt or args.output:
            raise VoxpostError("--list takes no PROMPT or -o")
        cat = catalogue()
        print_json(cat) if args.json else _print_catalogue(cat)
        return 0
    if args.json:
        raise VoxpostError("--json goes with --list")
    if args.prompt is None:
        raise VoxpostError("give a PROMPT (what to make) and -o OUTDIR, or --list for the sound models")
    if not args.output:
        raise VoxpostError("-o OUTDIR is required: the folder for the takes")
    cues = parse_cue_list(args.at) if args.at is not None else read_cues(args.cues) if args.cues else None
    foley_job(args.prompt, output=args.output, duration_s=args.duration, variations=args.variations, seed=args.seed,
              sample_rate=args.sample_rate, cues_s=cues, backend=args.backend, model_path=args.model,
              neural_steps=args.steps, force=args.force, listener=listener(args))
    return 0
