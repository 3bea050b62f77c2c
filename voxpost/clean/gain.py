"""Gain in decibels."""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from voxpost.stage import Stage, param, register


@register
class Gain(Stage):
    """Multiply by ``10 ** (gain_db / 20)``."""

    kind: ClassVar[str] = "gain"
    description: ClassVar[str] = "Gain in dB."
    gain_db: float = param(0.0, min=-120.0, max=60.0, help="gain in decibels")

    def process(self, block: np.ndarray) -> np.ndarray:
        return (block * np.float32(10.0 ** (self.gain_db / 20.0))).astype(np.float32, copy=False)
