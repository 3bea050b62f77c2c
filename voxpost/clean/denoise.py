"""Denoise: non-stationary broadband noise (traffic, hiss, air, crowd) out from under dialogue.

Two engines (and their combination), one framing. Both work on a low-delay STFT (:mod:`voxpost.dsp.stft`: 20 ms analysis
window for frequency resolution, 2.5 ms hop, 5 ms algorithmic delay) and apply a real gain per
bin and frame:

- ``engine = "dsp"``: noise-PSD tracking by speech presence probability (follows a passing car
  within a few hundred ms), MMSE log-spectral-amplitude gain with decision-directed a-priori SNR;
  musical noise is held down by the decision-directed smoothing and the gain floor. Numba kernel
  :func:`voxpost.dsp.spectral.spectral_gain`; for batches on a machine with a GPU, the CUDA kernel
  :func:`voxpost.dsp.spectral_cuda.spectral_gain_cuda` (``device = "auto"`` picks it when a GPU is
  present and the batch is large).
- ``engine = "model"``: the project's own small causal GRU mask model
  (:mod:`voxpost.clean.denoise_model`, weights ``models/denoise-gru.pt``, trained by
  ``models/train_denoiser.py``), predicting band gains from log band powers.
- ``engine = "hybrid"``: the lower of the two gains per bin and frame; it scores best in
  ``benchmarks/clean.py`` (the DSP side is exact on stationary hum, the model on everything
  else), so ``period-dialogue`` uses it.

``strength`` (0-1) sets how far noise is pushed down: the gain floor is ``-30 * strength`` dB, so
0 leaves the input alone and 1 allows 30 dB of reduction. A floor keeps the residual noise
natural (no "underwater" pumping, no musical noise) — the dialogue editor's usual choice.

Report: ``noise_reduction_db``, the estimated noise power in over the estimated noise power
left, ``10 log10(sum N / sum G^2 N)`` over all frames and bins.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from voxpost.dsp import spectral
from voxpost.errors import ParameterError
from voxpost.dsp.stft import LowDelaySTFT
from voxpost.stage import Stage, param, register

#: Time constant of the noise-PSD smoothing (Gerkmann & Hendriks: 0.8 at a 16 ms hop).
NOISE_TAU_MS = 72.0
#: Time constant of the speech-presence stagnation guard (0.9 at a 16 ms hop).
PBAR_TAU_MS = 152.0
#: Fixed a-priori SNR under speech presence for the noise tracker (15 dB).
XI_H1 = 10 ** 1.5
#: Largest reduction at ``strength = 1``, dB.
MAX_REDUCTION_DB = 30.0
#: Batches at least this large (rows x bins x frames) go to the GPU under ``device = "auto"``.
GPU_MIN_WORK = 4_000_000


@register
class Denoise(Stage):
    """Broadband denoiser: DSP (noise tracking + MMSE-LSA) or the project's learned mask model."""

    kind: ClassVar[str] = "denoise"
    description: ClassVar[str] = "Non-stationary noise reduction (MMSE-LSA with noise tracking, or a learned mask)."
    engine: str = param("dsp", choices=("dsp", "model", "hybrid"),
                        help="dsp (MMSE-LSA), model (learned GRU mask) or hybrid (the lower gain of the two)")
    strength: float = param(0.7, min=0.0, max=1.0, help="reduction: gain floor at -30*strength dB")
    window_ms: float = param(20.0, min=4.0, max=64.0, help="analysis window (frequency resolution), ms")
    hop_ms: float = param(2.5, min=0.5, max=16.0, help="hop; the stage's delay is twice this, ms")
    smoothing: float = param(0.7, min=0.3, max=0.999,
                             help="decision-directed smoothing per 10 ms (higher: less musical noise, softer onsets)")
    model_path: str = param("", help="mask model checkpoint (.pt); empty = the shipped default (engine=model)")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), help="where the DSP gain kernel runs")

    def __post_init__(self) -> None:
        super().__post_init__()
        self._net = None
        if self.model_path and self.engine != "dsp":     # a bad checkpoint is named now, not at prepare
            from voxpost.clean import denoise_model

            try:
                self._net = denoise_model.load_checkpoint(self.model_path)
            except Exception as exc:  # noqa: BLE001 - a file torch cannot read is the user's to fix
                first = (str(exc).strip().splitlines() or [""])[0][:160]
                raise ParameterError(f"denoise: model_path {self.model_path!r}: not a voxpost denoise-gru "
                                     f"checkpoint ({type(exc).__name__}: {first})") from None

    def prepare(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self.window = max(8, int(round(self.window_ms * 1e-3 * sample_rate)))
        self.hop = max(1, min(self.window // 2, int(round(self.hop_ms * 1e-3 * sample_rate))))
        hop_s = self.hop / sample_rate
        g_min = 10 ** (-MAX_REDUCTION_DB * self.strength / 20)
        self.g_min = g_min
        self._params = spectral.params_vector(
            alpha_noise=math.exp(-hop_s / (NOISE_TAU_MS * 1e-3)),
            alpha_p=math.exp(-hop_s / (PBAR_TAU_MS * 1e-3)),
            xi_h1=XI_H1,
            alpha_dd=self.smoothing ** (hop_s / 0.010),
            xi_min=g_min ** 2,
            g_min=g_min,
        )
        self._stft = LowDelaySTFT(self.window, self.hop, self.channels)
        self._model = None
        if self.engine in ("model", "hybrid"):
            from voxpost.clean import denoise_model

            net = self._net if self._net is not None else denoise_model.load_default()
            self._model = denoise_model.MaskEstimator(net, self.sample_rate, self.window, self.hop,
                                                      self.channels)
        self.reset()

    @property
    def latency_samples(self) -> int:
        return 0 if self.sample_rate is None else self._stft.latency_samples

    def reset(self) -> None:
        self._noise_in = 0.0
        self._noise_out = 0.0
        if self.sample_rate is None:
            return
        self._stft.reset()
        self._state = spectral.new_state(self.channels, self._stft.bins, self.window // self.hop)
        # The STFT emits output ``hop`` samples late; pad to the constant 2 * hop - 1.
        self._pending = np.zeros((self.channels, self.hop - 1), np.float32)
        if self._model is not None:
            self._model.reset()

    def _dsp_gains(self, power: np.ndarray) -> np.ndarray:
        if self.device != "cpu" and power.size >= (0 if self.device == "cuda" else GPU_MIN_WORK):
            from voxpost.dsp import spectral_cuda

            if spectral_cuda.available():
                return spectral_cuda.spectral_gain_cuda(power, *self._state, self._params)
        gains = np.empty(power.shape, np.float32)
        spectral.spectral_gain(power, *self._state, self._params, gains)
        return gains

    def process(self, block: np.ndarray) -> np.ndarray:
        self._require_prepared()
        frames = block.shape[1]
        spec = self._stft.analyse(block)
        if spec.shape[1]:
            power = spec.real ** 2 + spec.imag ** 2
            # The DSP gains always run: their noise tracker also measures the noise removed.
            gains = self._dsp_gains(power)
            if self._model is not None:
                learned = np.maximum(self._model.gains(power), np.float32(self.g_min))
                gains = np.minimum(gains, learned) if self.engine == "hybrid" else learned
            noise = np.maximum(self._state[0], 0.0)[:, None, :]     # negative: still warming up
            self._noise_in += float(np.sum(noise) * power.shape[1])
            self._noise_out += float(np.sum(noise * gains.astype(np.float64) ** 2))
            y = self._stft.synthesise(spec * gains)
            self._pending = np.concatenate([self._pending, y.astype(np.float32)], axis=1)
        out, self._pending = self._pending[:, :frames], self._pending[:, frames:]
        return np.ascontiguousarray(out)

    def report(self) -> dict[str, Any]:
        if self._noise_out <= 0.0:
            return {"noise_reduction_db": 0.0}
        return {"noise_reduction_db": round(10 * math.log10(self._noise_in / self._noise_out), 1)}
