"""The ``voxpost`` command: one module per capability, each parsing its options and calling one job.

Every module here has the same shape, ``add_parsers(subparsers, common)``, and its commands do
three things: parse, call one job (``voxpost.<capability>.jobs``), print. Errors a user can cause
print one line, ``voxpost: error: ...``, and exit with code 2 (:func:`main` is the one place
that does it). Nothing outside this package imports it.
"""

from __future__ import annotations

import argparse
import sys

from voxpost import __version__
from voxpost.cli import dub, files, foley, speech, system, voice
from voxpost.cli.common import EXIT_USAGE, Parser, common_options
from voxpost.errors import VoxpostError

#: The capability modules, in the order ``voxpost --help`` lists their commands.
MODULES = (files, speech, voice, dub, foley, system)


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="voxpost", description="Audio post-production and voice engine for film and television.")
    p.add_argument("--version", action="version", version=f"voxpost {__version__}")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes on stderr")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    common = common_options()
    for module in MODULES:
        module.add_parsers(sub, common)
    return p


def one_line(message: str) -> str:
    """``message`` on one printable line: line breaks become spaces, control characters escapes.

    >>> one_line("bad chunk 'a\\x00b'\\nat byte 12")
    "bad chunk 'a\\\\x00b' at byte 12"
    """
    flat = " ".join(message.splitlines())
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in flat)


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "run", None):
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        return args.run(args) or 0
    except VoxpostError as exc:
        print(f"voxpost: error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("voxpost: interrupted; no partial output was left", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
