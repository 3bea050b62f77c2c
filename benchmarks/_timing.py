"""Wall-clock timing shared by the benchmark scripts (tests never read a clock)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of_s(fn: Callable[[], object], reps: int) -> float:
    """Seconds of the fastest of ``reps`` calls of ``fn`` (the least disturbed by other load)."""
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
