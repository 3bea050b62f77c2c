"""IIR filters as stages: Butterworth high-pass and low-pass, and DC removal.

Coefficients come from :func:`scipy.signal.butter` (second-order sections); the filtering is the
stateful Numba kernel :func:`voxpost.dsp.biquad.sosfilt` (:func:`voxpost.dsp.biquad.sosfilt_block`: its
threadless twin for mono and small blocks), so block size never changes the output.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from voxpost.dsp.biquad import sosfilt_block
from voxpost.errors import ParameterError
from voxpost.stage import Stage, param, register


class _SOSStage(Stage):
    """A stage defined by second-order sections designed at ``prepare`` time."""

    def design(self) -> np.ndarray:
        raise NotImplementedError

    def prepare(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self.sos = np.ascontiguousarray(self.design(), np.float64)
        self.reset()

    def reset(self) -> None:
        if self.sample_rate is not None:
            self.zi = np.zeros((self.channels, self.sos.shape[0], 2), np.float64)

    def process(self, block: np.ndarray) -> np.ndarray:
        self._require_prepared()
        return sosfilt_block(self.sos, np.ascontiguousarray(block, np.float32), self.zi)

    def _check_cutoff(self, cutoff_hz: float) -> None:
        nyquist = self.sample_rate / 2
        if cutoff_hz >= nyquist:
            raise ParameterError(f"{self.kind}: cutoff_hz {cutoff_hz:g} is not below Nyquist "
                                 f"({nyquist:g} Hz at {self.sample_rate} Hz)")


@register
class HighPass(_SOSStage):
    """Butterworth high-pass: rumble, wind and handling noise out below ``cutoff_hz``."""

    kind: ClassVar[str] = "highpass"
    description: ClassVar[str] = "Butterworth high-pass filter."
    cutoff_hz: float = param(80.0, min=1.0, max=96000.0, help="-3 dB frequency")
    order: int = param(4, min=1, max=16, help="filter order (slope = 6 dB/octave per order)")

    def design(self) -> np.ndarray:
        from scipy import signal

        self._check_cutoff(self.cutoff_hz)
        return signal.butter(self.order, self.cutoff_hz, "highpass", fs=self.sample_rate, output="sos")


@register
class LowPass(_SOSStage):
    """Butterworth low-pass: hiss and ultrasonic junk out above ``cutoff_hz``."""

    kind: ClassVar[str] = "lowpass"
    description: ClassVar[str] = "Butterworth low-pass filter."
    cutoff_hz: float = param(16000.0, min=1.0, max=96000.0, help="-3 dB frequency")
    order: int = param(4, min=1, max=16, help="filter order (slope = 6 dB/octave per order)")

    def design(self) -> np.ndarray:
        from scipy import signal

        self._check_cutoff(self.cutoff_hz)
        return signal.butter(self.order, self.cutoff_hz, "lowpass", fs=self.sample_rate, output="sos")


@register
class DCBlock(_SOSStage):
    """DC removal: the one-pole, one-zero filter ``y[n] = x[n] - x[n-1] + r y[n-1]``."""

    kind: ClassVar[str] = "dc_block"
    description: ClassVar[str] = "DC offset removal (one-pole high-pass)."
    cutoff_hz: float = param(5.0, min=0.1, max=40.0, help="-3 dB frequency of the DC blocker")

    def design(self) -> np.ndarray:
        r = float(np.exp(-2.0 * np.pi * self.cutoff_hz / self.sample_rate))
        return np.array([[1.0, -1.0, 0.0, 1.0, -r, 0.0]])
