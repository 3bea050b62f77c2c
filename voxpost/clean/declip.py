"""De-clip: find runs of samples sitting at the converter's rail and rebuild them by constrained
least-squares AR interpolation (the rebuilt samples must lie beyond the rail, with its sign).

Rail: ``clip_level`` > 0 fixes it (both polarities); ``clip_level = 0`` (auto) tracks, per channel
and polarity, the running peak and accepts it as the rail once at least 3 consecutive samples sit
there (within 1e-4 of it). Unclipped material, whose peak is an isolated sample, is left alone.

Per 1.5 ms hop: fit an AR model (``order``) on the last ``window_ms`` (refit ``iterations`` times on
the provisionally rebuilt signal), then solve LSAR for every clipped sample in the hop and its
lookahead jointly, pinning to the rail any sample the unconstrained solution would put inside it
(active set), and keep the runs that start in this hop. Runs longer than ``max_run_ms`` are left
as they are. The rail tracking and the test for clipped samples run hop after hop in one Numba
call per block (:func:`voxpost.dsp.cliprail.scan_hops`); only a hop with clipped samples comes
back to Python for the fit and the solve.

Level: rebuilt peaks exceed the old rail, possibly above 0 dBFS (the output is float). To keep
them below the rail, set ``headroom_db``: a fixed gain of ``-headroom_db`` dB applied to the whole
output (a static gain, so the stage stays block-size invariant). 0 (default) keeps unity gain.

``clipped_samples_repaired`` counts samples rebuilt since ``reset()``; latency is one hop plus
``max_run_ms`` plus one AR order (272 samples = 5.7 ms at 48 kHz, 5.7 ms at 44.1 kHz, 7.0 ms at
16 kHz with the defaults). Clipped runs in speech clipped at 30 % of its peak are under 2 ms
(corpus), so the 3.5 ms run limit keeps them all.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from voxpost.clean.declick import HOP_MS, HopStage
from voxpost.dsp import cliprail
from voxpost.dsp.ar import fit_ar, lsar_constrained
from voxpost.dsp.clickdetect import merge_flags
from voxpost.stage import param, register

#: Relative tolerance for "sitting at the rail".
RAIL_TOL = 1e-4


@register
class DeClip(HopStage):
    """Rebuild clipped peaks by constrained LSAR interpolation."""

    kind: ClassVar[str] = "declip"
    description: ClassVar[str] = "Clipping repair (constrained LSAR interpolation)."
    clip_level: float = param(0.0, min=0.0, max=16.0,
                              help="rail as linear amplitude (1.0 = 0 dBFS); 0 = detect automatically")
    order: int = param(32, min=4, max=64, help="AR model order (samples)")
    window_ms: float = param(40.0, min=10.0, max=80.0, help="AR analysis window, in ms")
    max_run_ms: float = param(3.5, min=0.1, max=10.0, help="longest clipped run to rebuild, in ms")
    iterations: int = param(2, min=1, max=5, help="AR refits on the rebuilt signal")
    headroom_db: float = param(0.0, min=0.0, max=40.0,
                               help="fixed output gain reduction in dB, so rebuilt peaks fit under the rail")

    def _reset_state(self) -> None:
        self.clipped_samples_repaired = 0
        if self.channels is not None:
            self._peak = np.zeros((self.channels, 2))       # running peak, + and - polarity
            self._rail = np.zeros((self.channels, 2))       # accepted rail (0 = none yet)
            self._scanned = np.zeros(self.channels, np.int64)  # absolute index scanned up to, per channel

    def report(self) -> dict:
        return {"clipped_samples_repaired": int(self.clipped_samples_repaired)}

    def _configure(self) -> None:
        sr, p = self.sample_rate, self.order
        self.hop = max(1, int(round(HOP_MS * sr / 1000)))
        self.window = max(4 * p, int(round(self.window_ms * sr / 1000)))
        self.max_len = max(1, int(round(self.max_run_ms * sr / 1000)))
        self.lookahead = self.max_len + p + 1
        self.history = self.window + 2 * p + self.max_len + 2

    def _output_gain(self) -> float:
        return float(10.0 ** (-self.headroom_db / 20.0))

    def _hops(self, c: int, x: np.ndarray, s: int, n: int, start: int) -> None:
        """Rail tracking and the clipped test for ``n`` hops in one kernel call
        (:func:`voxpost.dsp.cliprail.scan_hops`); only a hop with clipped samples comes back here
        to be repaired, and the scan resumes after it."""
        k = 0
        while k < n:
            k += cliprail.scan_hops(x, s + k * self.hop, n - k, self.hop, self.lookahead,
                                    start + k * self.hop, float(self.clip_level), self._peak[c],
                                    self._rail[c], self._scanned[c:c + 1], RAIL_TOL)
            if k < n:
                rails = np.array([self.clip_level] * 2) if self.clip_level > 0 else self._rail[c]
                self._repair(x, s + k * self.hop, rails)
                k += 1

    def _repair(self, x: np.ndarray, s: int, rails: np.ndarray) -> None:
        """Rebuild the clipped runs that start in the hop at buffer index ``s`` (which has at
        least one clipped sample), given the ``[positive, negative]`` rails."""
        p, e = self.order, s + self.hop
        end = e + self.lookahead
        lo = s - p - 1
        seg = x[lo:end]
        clipped = np.zeros(seg.size, bool)
        if rails[0] > 0:
            clipped |= seg >= rails[0] * (1 - RAIL_TOL)
        if rails[1] > 0:
            clipped |= -seg >= rails[1] * (1 - RAIL_TOL)
        first = s - lo
        runs = [(r0, r1) for r0, r1 in merge_flags(clipped, 0)
                if first <= r0 < first + self.hop and r1 - r0 <= self.max_len and r1 < seg.size]
        if not runs:
            return
        # unknowns: every clipped sample from the first run on (those in the lookahead are solved
        # jointly, for context, but only the runs starting in this hop are written back)
        start = runs[0][0]
        unknown = np.flatnonzero(clipped[start:]) + start
        bound = np.where(seg[unknown] > 0, rails[0], -rails[1])
        ok = np.abs(bound) > 0
        unknown, bound = unknown[ok], bound[ok]
        ctx0 = end - self.window - lo          # analysis window start, relative to seg (<= 0 ok)
        full = x[lo + min(ctx0, 0):end].copy()
        off = -min(ctx0, 0)
        a = fit_ar(full[full.size - self.window:], p)
        y = full
        for it in range(self.iterations):
            y = lsar_constrained(full, a, unknown + off, bound)
            if it + 1 < self.iterations:
                a = fit_ar(y[y.size - self.window:], p)
        for r0, r1 in runs:
            x[lo + r0:lo + r1] = y[off + r0:off + r1]
            self.clipped_samples_repaired += r1 - r0
