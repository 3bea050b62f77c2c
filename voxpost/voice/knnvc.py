"""kNN-VC voice conversion (Baas, van Niekerk, Kamper 2023; github.com/bshall/knn-vc, MIT).

Any-to-any conversion with no training per voice: the source speech is encoded as WavLM-Large
layer-6 features (50 frames/s); each frame is replaced by the mean of its ``k`` nearest frames
(cosine) in the target speaker's *matching set*, the layer-6 features of reference speech by
that speaker; a HiFi-GAN vocoder trained on (prematched) WavLM features turns the result back
into 16 kHz audio.

Checkpoints are the ones published with upstream's v0.1 release, registered as
``knnvc-wavlm-large`` (``WavLM-Large.pt``, Microsoft's unilm format: ``{"cfg": dict, "model":
state_dict}``) and ``knnvc-hifigan-prematched`` (``prematch_g_02500000.pt``: ``{"generator":
state_dict}``). Both load with ``torch.load(weights_only=True)``. WavLM runs on torchaudio's
implementation, built from Microsoft's checkpoint up to layer 6 by :mod:`voxpost.voice.wavlm`.

Differences from upstream, on purpose: the source is padded by 40 samples on each side (half of
WavLM's 400-sample receptive field minus its 320-sample hop) and up to a whole hop, so frame
``i`` is centred on output samples ``[320 i, 320 i + 320)`` and the output covers the input;
long inputs are encoded and vocoded in overlapping chunks (:data:`CHUNK_FRAMES`); no voice
activity trimming of the reference and no loudness normalisation of the output (later stages of
the engine do both). As upstream does (also when it prepared the vocoder's training features), the
waveform goes into WavLM as it is, without the zero-mean unit-variance normalisation that
WavLM-Large's ``cfg["normalize"]`` asks for.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from voxpost.errors import ModelError, ParameterError
from voxpost.voice import hifigan
from voxpost.voice.wavlm import HOP, LAYER, build_wavlm

log = logging.getLogger(__name__)

WAVLM_ENTRY = "knnvc-wavlm-large"
VOCODER_ENTRY = "knnvc-hifigan-prematched"
#: encoder chunk and the context encoded on each side of it, in frames (20 s, 2 s)
CHUNK_FRAMES, CONTEXT_FRAMES = 1000, 100
#: vocoder chunk and context in frames; the context exceeds the generator's receptive field
VOCODER_CHUNK_FRAMES, VOCODER_CONTEXT_FRAMES = 500, 32
_QUERY_BLOCK = 2048  # source frames per similarity block


@dataclass
class KnnVC:
    """The loaded models. ``sources`` records where each came from:
    ``{"wavlm": {"path", "sha256"}, "vocoder": {"path", "sha256"}}``."""

    wavlm: Any
    vocoder: Any
    sources: dict = field(default_factory=dict)
    edge: int = 40          # samples of padding on each side: (receptive field - hop) / 2
    SAMPLE_RATE: ClassVar[int] = 16000

    @property
    def device(self) -> Any:
        return next(self.vocoder.parameters()).device

    @property
    def feature_dim(self) -> int:
        return self.vocoder.dims.feature_dim


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------

def available(registry: Any = None) -> bool:
    """Whether both registry checkpoints are installed (present; not hashed)."""
    from voxpost.models import Registry

    try:
        reg = registry or Registry.load()
        return reg.find(WAVLM_ENTRY) is not None and reg.find(VOCODER_ENTRY) is not None
    except ModelError:
        return False


def load(*, wavlm_path: str | os.PathLike[str] | None = None,
         vocoder_path: str | os.PathLike[str] | None = None, registry: Any = None,
         device: str = "cpu") -> KnnVC:
    """Load WavLM and the vocoder, each from a file the user names or from the registry.

    A registry checkpoint is sha256-verified against the registry before it is read; a file the
    user names is the user's, and its computed sha256 is recorded in ``KnnVC.sources`` (and
    logged) for provenance.

    Raises
    ------
    ModelError
        A checkpoint is missing, unverifiable, unreadable, or not of the expected design.
    """
    import torch

    reg = registry

    def fetch(name: str, path: Any, what: str) -> tuple[Any, dict[str, str]]:
        nonlocal reg
        if path is not None:
            from voxpost.models import sha256_file

            p = Path(path).expanduser()
            if not p.is_file():
                raise ModelError(f"{what} checkpoint {p} does not exist")
            digest = sha256_file(p)
            log.info("kNN-VC %s: %s (sha256 %s, not verified against the registry)", what, p, digest)
            try:
                ckpt = torch.load(p, map_location="cpu", weights_only=True)
            except Exception as exc:  # noqa: BLE001 - an unreadable file is the user's to fix
                first = (str(exc).strip().splitlines() or [""])[0][:200]
                raise ModelError(f"{what} checkpoint {p} cannot be loaded as torch weights "
                                 f"({type(exc).__name__}: {first}); replace it with the published "
                                 "file") from exc
            return ckpt, {"path": str(p), "sha256": digest}
        if reg is None:
            from voxpost.models import Registry

            reg = Registry.load()
        ckpt = reg.load_torch(name)          # sha256-checked first
        return ckpt, {"path": str(reg.find(name)), "sha256": reg.sha256(name)}

    wckpt, wsrc = fetch(WAVLM_ENTRY, wavlm_path, "WavLM")
    wavlm, edge, dim = build_wavlm(wckpt, wsrc["path"])
    del wckpt
    vckpt, vsrc = fetch(VOCODER_ENTRY, vocoder_path, "vocoder")
    if not isinstance(vckpt, dict) or "generator" not in vckpt:
        raise ModelError(f"vocoder checkpoint {vsrc['path']} is not a kNN-VC HiFi-GAN checkpoint: "
                         "expected a dict with a 'generator' state dict")
    try:
        vocoder = hifigan.build(vckpt["generator"])
    except ModelError as exc:
        raise ModelError(f"vocoder checkpoint {vsrc['path']}: {exc}") from None
    if vocoder.dims.feature_dim != dim:
        raise ModelError(f"vocoder checkpoint {vsrc['path']} takes {vocoder.dims.feature_dim}-dimensional "
                         f"features but the WavLM checkpoint gives {dim}; they are not a kNN-VC pair")
    if vocoder.dims.hop != HOP:
        raise ModelError(f"vocoder checkpoint {vsrc['path']} has hop {vocoder.dims.hop}, not {HOP}")
    return KnnVC(wavlm=wavlm.to(device).eval(), vocoder=vocoder.to(device).eval(),
                 sources={"wavlm": wsrc, "vocoder": vsrc}, edge=edge)


# ------------------------------------------------------------------------------------------------
# inference
# ------------------------------------------------------------------------------------------------

def _mono16k(samples: np.ndarray, sample_rate: int, what: str) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim == 2:
        x = x.mean(axis=0)          # (channels, frames)
    if x.ndim != 1:
        raise ParameterError(f"{what} must be mono samples or (channels, frames), not shape {x.shape}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise ParameterError(f"sample rate must be a positive integer, not {sample_rate!r}")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise ParameterError(f"{what} contains NaN or infinite samples")
    if sample_rate != KnnVC.SAMPLE_RATE and x.size:
        from voxpost.resample import resample

        x = resample(x, int(sample_rate), KnnVC.SAMPLE_RATE)
    return np.ascontiguousarray(x)


def _features(model: KnnVC, x: np.ndarray) -> Any:
    """Layer-6 features ``[ceil(len/320), dim]`` of 16 kHz audio; frame i centred on hop i."""
    import torch

    n = -(-x.size // HOP)
    wav = torch.from_numpy(np.pad(x, (model.edge, model.edge + n * HOP - x.size))).to(model.device)
    parts = []
    with torch.inference_mode():
        for a in range(0, n, CHUNK_FRAMES):
            b = min(n, a + CHUNK_FRAMES)
            s, e = max(0, a - CONTEXT_FRAMES), min(n, b + CONTEXT_FRAMES)
            layers, _ = model.wavlm.extract_features(wav[s * HOP:e * HOP + 2 * model.edge][None],
                                                     num_layers=LAYER)
            f = layers[LAYER - 1][0]
            assert f.shape[0] == e - s, (f.shape, e - s)
            parts.append(f[a - s:b - s].float())
    return torch.cat(parts) if parts else torch.zeros(0, model.feature_dim, device=model.device)


def vocode(model: KnnVC, features: Any) -> np.ndarray:
    """Audio (``len(features) * 320`` samples at 16 kHz) of a ``[frames, dim]`` feature tensor."""
    import torch

    n = features.shape[0]
    parts = []
    with torch.inference_mode():
        for a in range(0, n, VOCODER_CHUNK_FRAMES):
            b = min(n, a + VOCODER_CHUNK_FRAMES)
            s, e = max(0, a - VOCODER_CONTEXT_FRAMES), min(n, b + VOCODER_CONTEXT_FRAMES)
            y = model.vocoder(features[s:e][None].to(model.device))[0, 0]
            parts.append(y[(a - s) * HOP:(b - s) * HOP].float().cpu())
    return torch.cat(parts).numpy() if parts else np.zeros(0, np.float32)


def matching_set(model: KnnVC, samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """WavLM layer-6 features ``[frames, dim]`` (float16) of the target speaker's reference
    speech; concatenate the results of several recordings for one larger set."""
    x = _mono16k(samples, sample_rate, "reference speech")
    if x.size < HOP:
        raise ParameterError("reference speech is too short for a matching set (under 20 ms); "
                             "give at least a few seconds of the target speaker")
    return _features(model, x).cpu().numpy().astype(np.float16)


def knn_average(query: Any, matching: Any, k: int) -> Any:
    """Each query row replaced by the mean of its `k` most cosine-similar matching rows."""
    import torch
    import torch.nn.functional as F

    m = F.normalize(matching, dim=-1)
    out = []
    for i in range(0, query.shape[0], _QUERY_BLOCK):
        sim = F.normalize(query[i:i + _QUERY_BLOCK], dim=-1) @ m.T
        idx = sim.topk(k, dim=-1).indices
        out.append(matching[idx].mean(dim=1))
    return torch.cat(out) if out else query[:0]


def convert(model: KnnVC, samples: np.ndarray, sample_rate: int, matching: np.ndarray, *,
            k: int = 4) -> np.ndarray:
    """Speech `samples` in the voice of the `matching` set: mono float32 at 16 kHz, exactly
    ``round(len(samples) * 16000 / sample_rate)`` samples long."""
    import torch

    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ParameterError(f"k must be a positive integer, not {k!r}")
    mset = np.asarray(matching)
    if mset.ndim != 2 or mset.shape[1] != model.feature_dim:
        raise ParameterError(f"matching set must be [frames, {model.feature_dim}] features from "
                             f"matching_set(), not shape {mset.shape}")
    if mset.shape[0] < k:
        raise ParameterError(f"matching set has {mset.shape[0]} frames, fewer than k={k}; give "
                             "more reference speech")
    if not np.isfinite(mset).all():
        raise ParameterError("matching set contains NaN or infinite values")
    x = _mono16k(samples, sample_rate, "source speech")
    length = round(np.asarray(samples).shape[-1] * KnnVC.SAMPLE_RATE / int(sample_rate))
    if x.size == 0 or length == 0:
        return np.zeros(length, np.float32)
    query = _features(model, x)
    target = torch.from_numpy(mset.astype(np.float32)).to(query.device)
    with torch.inference_mode():
        y = vocode(model, knn_average(query, target, int(k)))
    y = y[:length] if y.size >= length else np.pad(y, (0, length - y.size))
    return np.ascontiguousarray(y, dtype=np.float32)
