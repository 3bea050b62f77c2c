"""Neural foley: text-to-audio with Stable Audio Open 1.0 through diffusers' ``StableAudioPipeline``.

A sound designer types a prompt and gets takes: :func:`generate` runs the latent diffusion model
(a T5-base text encoder, a DiT denoising the latents of an Oobleck autoencoder, conditioned on
the prompt and on the requested duration) and returns mono audio at the engine's rate, the same
audio for the same seed. Stable Audio Open generates up to ~47 s of 44.1 kHz stereo; the stereo
pair is folded to mono (foley is rendered dry and close, then placed by :mod:`voxpost.foley.space`)
and resampled (:func:`voxpost.resample.resample`). Loudness is left to the caller (:data:`voxpost.foley.model.LOUDNESS_LUFS`).

The checkpoint is the diffusers folder of ``stabilityai/stable-audio-open-1.0`` on Hugging Face
(gated: log in and accept the Stability AI Community License to download it). Loading never
downloads it: the folder goes at ``stable-audio-open-1.0/`` under a models directory
(:func:`voxpost.models.search_dirs`). Its four weight files are registry entries
(:data:`ENTRIES`), which ``voxpost models fetch stable-audio-open-1.0`` downloads and locks; its
configs and tokenizer come from ``hf download``. Loading through the registry sha256-verifies
each weight file before diffusers reads anything, and refuses one whose sha256 neither the
registry nor the folder's lock records. ``load(path)`` loads a
folder the user names instead, verifying nothing but recording the sha256 of its weight files
in :attr:`NeuralFoley.sources`.

diffusers, transformers and torchsde (the pipeline's cosine DPM-Solver SDE scheduler draws its
Brownian noise with it) are imported only when a model is loaded.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxpost.errors import ModelError
from voxpost.foley.model import FoleyError

log = logging.getLogger(__name__)

#: the model, and the folder its diffusers files live in under a models directory
NAME = "stable-audio-open-1.0"
#: registry entry -> weight file inside the diffusers folder; the registry's ``file`` of each
#: entry is ``f"{NAME}/{file}"``
ENTRIES: dict[str, str] = {
    "stable-audio-open-1.0-transformer": "transformer/diffusion_pytorch_model.safetensors",
    "stable-audio-open-1.0-vae": "vae/diffusion_pytorch_model.safetensors",
    "stable-audio-open-1.0-text-encoder": "text_encoder/model.safetensors",
    "stable-audio-open-1.0-projection": "projection_model/diffusion_pytorch_model.safetensors",
}
PIPELINE_CLASS = "StableAudioPipeline"
_PACKAGES = ("diffusers", "transformers", "torchsde")
#: extra seconds generated beyond the request, so that resampling has real audio at the end
_TAIL_S = 0.05


@dataclass
class NeuralFoley:
    """A loaded Stable Audio pipeline.

    ``sources`` records where it came from: ``{"path": folder, "verified": bool (sha256-checked
    against the registry), "files": {weight file: sha256}}``.
    """

    pipeline: Any
    sources: dict = field(default_factory=dict)

    @property
    def sample_rate(self) -> int:
        """The rate the model generates at (44100 for Stable Audio Open)."""
        return int(self.pipeline.vae.config.sampling_rate)

    @property
    def max_duration_s(self) -> float:
        """The longest audio one generation can make (~47.55 s for Stable Audio Open)."""
        p = self.pipeline
        return p.transformer.config.sample_size * p.vae.hop_length / p.vae.config.sampling_rate

    @property
    def device(self) -> Any:
        return self.pipeline.transformer.device


# ------------------------------------------------------------------------------------------------
# availability and loading
# ------------------------------------------------------------------------------------------------

def _missing_packages() -> list[str]:
    return [p for p in _PACKAGES if importlib.util.find_spec(p) is None]


def unavailable_reason(registry: Any = None) -> str | None:
    """Why the neural backend cannot be used, in one line, or None when it can.

    The packages must be importable and every registry entry of :data:`ENTRIES` installed and
    sha256-verified (a verified file is stamped, so only the first call hashes the weights).
    """
    missing = _missing_packages()
    if missing:
        return f"{', '.join(missing)} not installed (pip install {' '.join(missing)})"
    try:
        _registry_folder(registry)
    except ModelError as exc:
        return str(exc)
    return None


def available(registry: Any = None) -> bool:
    """Whether diffusers is importable and the checkpoint is installed and verified."""
    return unavailable_reason(registry) is None


def _registry_folder(registry: Any) -> tuple[Path, dict[str, str]]:
    """Verify every weight entry and return the diffusers folder holding them and their sha256."""
    from voxpost.models import Registry

    reg = registry or Registry.load()
    root: Path | None = None
    files: dict[str, str] = {}
    for name, rel in ENTRIES.items():
        found = reg.path(name)                     # sha256-checked, or ModelError
        here = found
        for _ in Path(rel).parts:
            here = here.parent
        if here / rel != found:
            raise ModelError(f"model '{name}' at {found} is not the {rel} of a diffusers folder; "
                             f"fix its 'file' in {reg.source or 'the model registry'}")
        if root is None:
            root = here
        elif here != root:
            raise ModelError(f"model '{name}' is installed at {found}, outside {root} where the "
                             f"other {NAME} files are; keep the whole diffusers folder together")
        files[rel] = reg.sha256(name)
    assert root is not None
    _check_folder(root)
    return root, files


def _check_folder(root: Path) -> None:
    index = root / "model_index.json"
    try:
        cls = json.loads(index.read_text(encoding="utf-8")).get("_class_name")
    except OSError:
        raise ModelError(f"{root} is not a diffusers model folder: it has no model_index.json; "
                         f"download the whole {NAME} folder (configs and tokenizer too)") from None
    except (ValueError, AttributeError):
        raise ModelError(f"{index} is not a diffusers model index (unreadable JSON)") from None
    if cls != PIPELINE_CLASS:
        raise ModelError(f"{root} holds a {cls!r} pipeline, not a {PIPELINE_CLASS} (Stable Audio Open)")


def load(path: str | os.PathLike[str] | None = None, *, registry: Any = None,
         device: str = "cpu", dtype: str = "float32") -> NeuralFoley:
    """Load the Stable Audio pipeline from a diffusers folder the user names, or from the registry.

    Parameters
    ----------
    path : path-like, optional
        A diffusers folder (``model_index.json`` and the component folders). Nothing in it is
        verified; the sha256 of its weight files is computed, logged and recorded in
        ``sources``. Default: the registry's :data:`ENTRIES`, each sha256-verified first.
    registry : voxpost.models.Registry, optional
        Default ``Registry.load()``.
    device : str
        Torch device, e.g. ``"cpu"`` or ``"cuda"``.
    dtype : str
        ``"float32"`` (default), ``"float16"`` or ``"bfloat16"`` (half precision for GPUs).

    Raises
    ------
    ModelError
        diffusers is not installed, a file is missing, unverifiable or corrupt, or the folder
        is not a Stable Audio pipeline diffusers can load.
    """
    missing = _missing_packages()
    if missing:
        raise ModelError(f"the neural foley backend needs {', '.join(missing)}: "
                         f"pip install {' '.join(missing)}")
    if path is not None:
        from voxpost.models import sha256_file

        root = Path(path).expanduser()
        if not root.is_dir():
            raise ModelError(f"{NAME} folder {root} does not exist (expected a diffusers model folder)")
        _check_folder(root)
        files = {}
        for rel in ENTRIES.values():
            if not (root / rel).is_file():
                raise ModelError(f"{root} has no {rel}; it is not a complete {NAME} diffusers folder "
                                 "(safetensors weights are required)")
            files[rel] = sha256_file(root / rel)
            log.info("%s %s: sha256 %s (not verified against the registry)", NAME, root / rel, files[rel])
        verified = False
    else:
        root, files = _registry_folder(registry)
        verified = True

    import torch
    from diffusers import StableAudioPipeline

    torch_dtype = {"float32": torch.float32, "float16": torch.float16,
                   "bfloat16": torch.bfloat16}.get(dtype)
    if torch_dtype is None:
        raise ModelError(f"dtype must be float32, float16 or bfloat16, not {dtype!r}")
    try:
        with warnings.catch_warnings():   # the Oobleck VAE still uses torch's old weight_norm
            warnings.filterwarnings("ignore", message=".*weight_norm.* is deprecated", category=FutureWarning)
            pipe = StableAudioPipeline.from_pretrained(root, local_files_only=True,
                                                       use_safetensors=True, dtype=torch_dtype)
    except Exception as exc:  # noqa: BLE001 - a folder diffusers cannot read is the user's to fix
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ModelError(f"{NAME} folder {root} cannot be loaded by diffusers "
                         f"({type(exc).__name__}: {first}); replace it with the published files") from exc
    try:
        pipe = pipe.to(device)
    except Exception as exc:  # noqa: BLE001 - e.g. no such device
        raise ModelError(f"cannot move {NAME} to device {device!r}: {exc}") from exc
    pipe.set_progress_bar_config(disable=True)
    return NeuralFoley(pipeline=pipe, sources={"path": str(root), "verified": verified, "files": files})


# ------------------------------------------------------------------------------------------------
# generation
# ------------------------------------------------------------------------------------------------

def generate(model: NeuralFoley, prompt: str, *, duration_s: float, seed: int, sample_rate: int = 48000,
             steps: int = 100, guidance: float = 7.0, negative_prompt: str | None = None) -> np.ndarray:
    """Generate one take for a prompt.

    Parameters
    ----------
    model : NeuralFoley
        From :func:`load`.
    prompt : str
        What to hear ("footsteps on gravel, slow, leather soles").
    duration_s : float
        Length in seconds, > 0 and at most ``model.max_duration_s``.
    seed : int
        The take: the same seed gives the same audio (on the same device and dtype).
    sample_rate : int
        Output rate; the model's output is resampled (:func:`voxpost.resample.resample`).
    steps : int
        Diffusion steps (Stable Audio Open's default is 100; more is slower and cleaner).
    guidance : float
        Classifier-free guidance scale; <= 1 disables guidance (default 7.0, as the model's).
    negative_prompt : str, optional
        What to steer away from ("low quality").

    Returns
    -------
    numpy.ndarray
        Mono float32, exactly ``round(duration_s * sample_rate)`` frames.

    Raises
    ------
    FoleyError
        An argument out of range, or the model produced non-finite audio.
    """
    import torch

    from voxpost.resample import resample

    if not isinstance(prompt, str) or not prompt.strip():
        raise FoleyError("the neural foley prompt must be non-empty text")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise FoleyError(f"sample_rate must be a positive integer, got {sample_rate!r}")
    try:
        duration_s = float(duration_s)
        seed = int(seed)
        steps = int(steps)
        guidance = float(guidance)
    except (TypeError, ValueError) as exc:
        raise FoleyError(f"neural foley: {exc}") from None
    limit = model.max_duration_s
    if not math.isfinite(duration_s) or duration_s <= 0 or duration_s > limit:
        raise FoleyError(f"neural foley duration must be > 0 and at most {limit:.2f} s "
                         f"({NAME}'s longest take), got {duration_s!r}")
    frames = round(duration_s * sample_rate)
    if frames < 1:
        raise FoleyError(f"duration {duration_s} s is shorter than one sample at {sample_rate} Hz")
    if steps < 1:
        raise FoleyError(f"steps must be >= 1, got {steps}")
    if not math.isfinite(guidance) or guidance < 0:
        raise FoleyError(f"guidance must be >= 0, got {guidance!r}")
    if not 0 <= seed < 2**63:
        raise FoleyError(f"seed must be in 0 .. 2**63 - 1, got {seed}")

    sr = model.sample_rate
    end_s = min(limit, duration_s + _TAIL_S)
    generator = torch.Generator("cpu").manual_seed(seed)   # CPU: the same latents on any device
    with torch.inference_mode(), warnings.catch_warnings():
        # torchsde's Brownian interval complains when the scheduler's float32 sigmas overshoot
        # [sigma_min, sigma_max] by a rounding error; harmless, and not the user's to fix
        warnings.filterwarnings("ignore", message="Should have t", category=UserWarning)
        audio = model.pipeline(prompt, negative_prompt=negative_prompt or None, audio_end_in_s=end_s,
                               num_inference_steps=steps, guidance_scale=guidance,
                               generator=generator, output_type="pt").audios[0]
    x = audio.float().mean(dim=0).cpu().numpy().astype(np.float64)   # stereo -> mono
    if not np.all(np.isfinite(x)):
        raise FoleyError(f"{NAME} produced non-finite audio for {prompt!r} (seed {seed}); "
                         "try float32 or another seed")
    if sr != sample_rate:
        x = resample(x, sr, sample_rate)
    if len(x) < frames:      # only when end_s was capped at the model's limit: a sample or two
        x = np.pad(x, (0, frames - len(x)))
    return np.ascontiguousarray(x[:frames], dtype=np.float32)
