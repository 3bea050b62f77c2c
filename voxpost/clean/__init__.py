"""Cleanup stages for dialogue: gain, filters, DC removal, de-hum, de-click, de-clip, denoise,
loudness and true-peak limiting."""

from voxpost.clean.declick import DeClick
from voxpost.clean.declip import DeClip
from voxpost.clean.dehum import DeHum
from voxpost.clean.denoise import Denoise
from voxpost.clean.filters import DCBlock, HighPass, LowPass
from voxpost.clean.gain import Gain
from voxpost.clean.loudness import Loudness, TruePeakLimiter
from voxpost.clean.meter import measure_loudness

__all__ = ["DCBlock", "DeClick", "DeClip", "DeHum", "Denoise", "Gain", "HighPass", "Loudness", "LowPass", "TruePeakLimiter", "measure_loudness"]
