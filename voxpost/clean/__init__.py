"""Cleanup stages for dialogue: gain, filters, DC removal, de-click, de-clip, loudness and
true-peak limiting, de-hum (experimental)."""

from voxpost.clean.declick import DeClick
from voxpost.clean.declip import DeClip
from voxpost.clean.dehum import DeHum
from voxpost.clean.filters import DCBlock, HighPass, LowPass
from voxpost.clean.gain import Gain
from voxpost.clean.loudness import Loudness, TruePeakLimiter
from voxpost.clean.meter import measure_loudness

__all__ = ["DCBlock", "DeClick", "DeClip", "DeHum", "Gain", "HighPass", "Loudness", "LowPass", "TruePeakLimiter", "measure_loudness"]
