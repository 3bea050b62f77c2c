"""How a job tells its caller how far it is and what it noticed, without knowing who listens.

Every job (``voxpost.<capability>.jobs``) takes a :class:`Listener`. The default, :data:`SILENT`,
ignores everything, which suits the library, the demo and the batch runner; the command line
passes one that draws progress bars and prints ``voxpost: warning: ...`` lines on stderr.

>>> with SILENT.task("reel 1") as tick:
...     tick is None
True
>>> SILENT.warn("nothing is printed")
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: ``tick(done, total)``: work units done so far, and the total when known.
Tick = Callable[[int, int | None], None]


class Listener:
    """Receives a job's progress, warnings and notes; this base class drops them all."""

    @contextmanager
    def task(self, label: str) -> Iterator[Tick | None]:
        """A unit of work named ``label``; yields a :data:`Tick` to call, or None when nobody watches."""
        yield None

    def warn(self, message: str) -> None:
        """Something the user should know about the result (a clamped cue, a skipped model)."""

    def note(self, message: str) -> None:
        """What was done, in one line (a file written, a count)."""


SILENT = Listener()


class Collector(Listener):
    """Keeps warnings and notes in lists (for reports and tests).

    >>> c = Collector()
    >>> c.warn("line 3 clamped"); c.warnings
    ['line 3 clamped']
    """

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.notes: list[str] = []

    def warn(self, message: str) -> None:
        self.warnings.append(message)

    def note(self, message: str) -> None:
        self.notes.append(message)
