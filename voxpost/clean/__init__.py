"""Cleanup stages for dialogue: gain, filters, DC removal (and, later, de-hum, de-click, denoise)."""

from voxpost.clean.filters import DCBlock, HighPass, LowPass
from voxpost.clean.gain import Gain

__all__ = ["DCBlock", "Gain", "HighPass", "LowPass"]
