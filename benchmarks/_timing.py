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


def best_of_wall_cpu(fn: Callable[[], object], reps: int) -> tuple[object, float, float]:
    """``(result, wall s, CPU s)``: the last call's result and the fastest wall-clock and process
    CPU times of ``reps`` calls (CPU time is the steadier on a shared machine)."""
    wall = cpu = float("inf")
    out = None
    for _ in range(reps):
        w0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
    return out, wall, cpu
