"""``voxpost presets``, ``models list|path|fetch``, ``doctor`` and ``demo``."""

from __future__ import annotations

import argparse
from pathlib import Path

from voxpost.cli.common import Parser, add_force, listener, print_rows


def add_parsers(sub, common) -> None:
    s = sub.add_parser("presets", parents=[common], help="list the presets with a one-line description")
    s.set_defaults(run=cmd_presets)

    s = sub.add_parser("models", parents=[common], help="the model checkpoint registry")
    msub = s.add_subparsers(dest="models_command", metavar="ACTION", parser_class=Parser, required=True)
    m = msub.add_parser("list", parents=[common], help="every checkpoint the engine can use, and whether it is installed")
    m.add_argument("--json", action="store_true")
    m.set_defaults(run=cmd_models_list)
    m = msub.add_parser("path", parents=[common], help="print the verified path of an installed checkpoint")
    m.add_argument("name")
    m.set_defaults(run=cmd_models_path)
    m = msub.add_parser("fetch", parents=[common], help="download checkpoints from the registry, verified, into the user models folder")
    m.add_argument("names", nargs="+", metavar="NAME",
                   help="registry name, or the start of several (pyannote-community-1, knnvc, stable-audio-open-1.0)")
    m.add_argument("--offline", action="store_true",
                   help="never touch the network (also VOXPOST_OFFLINE=1): only check what is installed")
    add_force(m, "download again even when a verified copy is installed")
    m.set_defaults(run=cmd_models_fetch)

    s = sub.add_parser("doctor", parents=[common], help="list each backend and model, whether it is available, and how to provide it")
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=cmd_doctor)

    s = sub.add_parser("demo", parents=[common], help="build an example scene (or take --input) and run every capability on it")
    s.add_argument("--input", metavar="FILE", help="use this recording instead of the built-in scene")
    s.add_argument("--out", default="demo-out", metavar="DIR", help="where results and the report go (default: demo-out)")
    s.set_defaults(run=cmd_demo)


def cmd_presets(args: argparse.Namespace) -> int:
    from voxpost.presets import list_presets

    for p in list_presets():
        print(f"{p.name:<20} {p.description}")
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    from voxpost.models import Registry

    print_rows(Registry.load().status(), as_json=args.json,
               line=lambda r: f"{r['name']:<32} {r['capability']:<12} "
                              f"{'in wheel' if r['where'] == 'wheel' else 'installed' if r['installed'] else 'missing':<10} "
                              f"{r['size_mb']:>8} MB  {r['licence']}")
    return 0


def cmd_models_path(args: argparse.Namespace) -> int:
    from voxpost.models import Registry

    print(Registry.load().path(args.name))
    return 0


def cmd_models_fetch(args: argparse.Namespace) -> int:
    from voxpost.fetch import fetch_models

    for row in fetch_models(args.names, offline=args.offline, force=args.force, listener=listener(args)):
        print(row["path"])
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from voxpost.doctor import checks

    print_rows(checks(), as_json=args.json,
               line=lambda r: f"{'ok ' if r['available'] else '-- '} {r['name']:<34} {r['detail']}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from voxpost.demo import run_demo

    report = run_demo(out_dir=Path(args.out), input_path=args.input, quiet=args.quiet)
    print(report["summary"])
    return 0
