"""What every subcommand shares: the parser class, the stderr listener, the output of results.

A usage error is one line on stderr and exit code 2, like every error a user can cause; progress
bars appear only on a terminal and never with ``--quiet``; warnings are always printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from voxpost.errors import VoxpostError
from voxpost.progress import Listener, Tick

EXIT_USAGE = 2


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise VoxpostError(f"{message} (see '{self.prog} --help')")


def common_options() -> argparse.ArgumentParser:
    """The options every subcommand takes (``-q``)."""
    common = Parser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress bars or notes on stderr")
    return common


def add_force(parser: argparse.ArgumentParser, what: str = "replace existing outputs (inputs are never replaced)") -> None:
    parser.add_argument("--force", action="store_true", help=what)


class StderrListener(Listener):
    """Progress bars (rich) on a terminal, notes unless quiet, warnings always: all on stderr."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet

    @contextmanager
    def task(self, label: str) -> Iterator[Tick | None]:
        if self.quiet or not sys.stderr.isatty():
            yield None
            return
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

        with Progress("[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
                      TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task(label, total=None)

            def tick(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            yield tick

    def warn(self, message: str) -> None:
        print(f"voxpost: warning: {message}", file=sys.stderr)

    def note(self, message: str) -> None:
        if not self.quiet:
            print(message, file=sys.stderr)


def listener(args: argparse.Namespace) -> StderrListener:
    return StderrListener(quiet=getattr(args, "quiet", False))


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False))


def print_rows(rows: list[dict], *, as_json: bool, line) -> None:
    """``rows`` as JSON, or one ``line(row)`` of text each."""
    if as_json:
        print_json(rows)
    else:
        for r in rows:
            print(line(r))


def one_or_list(rows: list) -> object:
    """A single result as itself, several as a list (how ``info`` and ``mark detect`` print)."""
    return rows[0] if len(rows) == 1 else rows
