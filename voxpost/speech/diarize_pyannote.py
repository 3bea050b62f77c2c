"""pyannote.audio backend of :func:`voxpost.speech.diarize.diarize`.

It runs pyannote.audio's ``SpeakerDiarization`` pipeline on the checkpoints of
``pyannote/speaker-diarization-community-1``, installed as the registry entries
``pyannote-community-1-*`` (``config.yaml``, ``segmentation/pytorch_model.bin``,
``embedding/pytorch_model.bin``, ``plda/plda.npz``, ``plda/xvec_transform.npz`` under
``pyannote/speaker-diarization-community-1/`` in a models directory), or on a pipeline directory
of the user's own laid out the same way.

What differs from ``Pipeline.from_pretrained(dir)``, on purpose:

- every registry file is sha256-checked through :class:`voxpost.models.Registry` before it is
  read. The community-1 entries have no sha256 in ``models/registry.toml``: the registry refuses
  them until ``voxpost models fetch pyannote-community-1`` has downloaded them, checked each file
  against the hash the hub publishes and recorded it in the folder's lock (voxpost never loads an
  unverified checkpoint), and the error says so. A directory the user passes (``pipeline_dir``)
  is theirs and is not hashed.
- models are loaded with ``torch.load(weights_only=True)`` (allowing only pyannote's
  ``Specifications``/``Problem``/``Resolution`` and torch's ``TorchVersion``), not through
  pyannote's own loader, which unpickles with ``weights_only=False``. The architecture named in
  the checkpoint must be a class of ``pyannote.audio.models``.
- ``config.yaml`` is read with ``yaml.safe_load``; only ``pyannote.audio`` ``SpeakerDiarization``
  pipelines are accepted, and ``$model/<folder>`` references resolve inside the directory.
- audio goes in as ``{"waveform": tensor[1, n], "sample_rate": 16000}`` (no torchcodec decoding),
  and pyannote's usage telemetry is switched off (``PYANNOTE_METRICS_ENABLED=false`` unless the
  user set it), so nothing leaves the machine.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any

import numpy as np

from voxpost.errors import ModelError

DIR = "pyannote/speaker-diarization-community-1"
#: registry entry -> file inside the pipeline directory
FILES = {
    "pyannote-community-1-config": "config.yaml",
    "pyannote-community-1-segmentation": "segmentation/pytorch_model.bin",
    "pyannote-community-1-embedding": "embedding/pytorch_model.bin",
    "pyannote-community-1-plda": "plda/plda.npz",
    "pyannote-community-1-xvec-transform": "plda/xvec_transform.npz",
}
PIPELINES = ("pyannote.audio.pipelines.SpeakerDiarization",
             "pyannote.audio.pipelines.speaker_diarization.SpeakerDiarization")


def installed(registry: Any = None) -> bool:
    """Whether all community-1 files are present in a models directory (not verified)."""
    from voxpost.models import Registry

    try:
        reg = registry or Registry.load()
        return all(reg.find(name) is not None for name in FILES)
    except ModelError:
        return False


def diarize(mono: np.ndarray, sample_rate: int, *, num_speakers: int | None = None,
            min_speakers: int | None = None, max_speakers: int | None = None,
            progress: Callable[[float], None] | None = None,
            pipeline_dir: str | os.PathLike[str] | None = None) -> list[tuple[float, float, str]]:
    """Turns ``(start_s, end_s, label)`` of mono float audio, from the pyannote pipeline."""
    import torch

    pipeline = load_pipeline(pipeline_dir)
    report = progress or (lambda f: None)
    report(0.05)
    steps = {"segmentation": (0.05, 0.4), "speaker_counting": (0.4, 0.45), "embeddings": (0.45, 0.95)}

    def hook(step, artefact, file=None, total=None, completed=None):
        lo, hi = steps.get(step, (None, None))
        if lo is not None and total and completed is not None:
            report(lo + (hi - lo) * min(1.0, completed / total))

    wave = torch.from_numpy(np.ascontiguousarray(mono, np.float32).reshape(1, -1))
    kwargs = {k: v for k, v in (("num_speakers", num_speakers), ("min_speakers", min_speakers),
                                 ("max_speakers", max_speakers)) if v is not None}
    with torch.inference_mode():
        out = pipeline({"waveform": wave, "sample_rate": int(sample_rate), "uri": "voxpost"}, hook=hook, **kwargs)
    annotation = getattr(out, "speaker_diarization", out)
    turns = sorted((float(seg.start), float(seg.end), str(label))
                   for seg, _, label in annotation.itertracks(yield_label=True))
    duration = mono.size / sample_rate
    names: dict[str, str] = {}
    result = []
    for s, e, label in turns:
        s, e = round(max(0.0, s), 3), round(min(duration, e), 3)
        if e > s:
            names.setdefault(label, f"SPEAKER_{len(names):02d}")
            result.append((s, e, names[label]))
    report(1.0)
    return result


def _files(pipeline_dir: str | os.PathLike[str] | None) -> tuple[Path, dict[str, Path], Any]:
    """The pipeline directory and its verified files (registry) or present files (user directory)."""
    from voxpost.models import Registry

    if pipeline_dir is not None:
        root = Path(pipeline_dir).expanduser()
        if not (root / "config.yaml").is_file():
            raise ModelError(f"{root} is not a pyannote pipeline directory: it has no config.yaml")
        return root, {name: root / rel for name, rel in FILES.items()}, None
    reg = Registry.load()
    missing = [name for name in FILES if reg.find(name) is None]
    if missing:
        where = reg.dirs()[0] / DIR
        files = ", ".join(FILES[n] for n in missing)
        raise ModelError(f"the pyannote backend needs pyannote/speaker-diarization-community-1, not installed "
                         f"(missing {files} in {where}): run `voxpost models fetch pyannote-community-1` "
                         f"(gated: accept its conditions on https://huggingface.co/{DIR} first, and give "
                         "voxpost your Hugging Face token: HF_TOKEN or `hf auth login`); or use the embedded "
                         "backend, which needs no download")
    paths = {name: reg.path(name) for name in FILES}   # sha256-checked; "" hashes are refused here
    root = paths["pyannote-community-1-config"].parent
    for name, rel in FILES.items():
        if paths[name] != root / rel:
            raise ModelError(f"model '{name}' was found at {paths[name]}, not beside its config.yaml at "
                             f"{root / rel}; install the whole {DIR} directory in one models directory")
    return root, paths, reg


def load_pipeline(pipeline_dir: str | os.PathLike[str] | None = None) -> Any:
    """Build the ``SpeakerDiarization`` pipeline; see the module docstring for how."""
    import yaml

    root, paths, reg = _files(pipeline_dir)
    try:
        config = yaml.safe_load((root / "config.yaml").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ModelError(f"{root / 'config.yaml'} is not a readable YAML file: {str(exc).splitlines()[0]}") from exc
    try:
        name = config["pipeline"]["name"]
        params = dict(config["pipeline"].get("params") or {})
    except (TypeError, KeyError) as exc:
        raise ModelError(f"{root / 'config.yaml'} has no pipeline name: not a pyannote pipeline config") from exc
    if name not in PIPELINES:
        raise ModelError(f"{root / 'config.yaml'} names pipeline {name!r}; only pyannote.audio's "
                         "SpeakerDiarization is supported")
    os.environ.setdefault("PYANNOTE_METRICS_ENABLED", "false")
    from pyannote.audio.core.plda import PLDA
    from pyannote.audio.pipelines import SpeakerDiarization

    by_rel = {rel: name for name, rel in FILES.items()}

    def resolve(key: str, filename: str) -> tuple[str, Path]:
        value = params.get(key)
        if not (isinstance(value, str) and value.startswith("$model/")):
            raise ModelError(f"{root / 'config.yaml'}: pipeline param '{key}' must be a $model/<folder> "
                             f"reference inside the directory, not {value!r}")
        rel = f"{value[len('$model/'):].split('@')[0].strip('/')}/{filename}"
        entry = by_rel.get(rel)
        if entry is None:
            raise ModelError(f"{root / 'config.yaml'}: '{key}' points at {rel}, which is not one of the "
                             f"files voxpost knows ({', '.join(FILES.values())})")
        if not paths[entry].is_file():
            raise ModelError(f"{paths[entry]} is missing: the pipeline's '{key}' needs it")
        return entry, paths[entry]

    seg = _load_model(*resolve("segmentation", "pytorch_model.bin"), reg)
    params["segmentation"] = seg
    if params.get("clustering", "VBxClustering") != "OracleClustering":
        params["embedding"] = _load_model(*resolve("embedding", "pytorch_model.bin"), reg)
    if "plda" in params:
        _, plda_npz = resolve("plda", "plda.npz")
        _, xvec_npz = resolve("plda", "xvec_transform.npz")
        try:
            params["plda"] = PLDA(xvec_npz, plda_npz)
        except Exception as exc:  # noqa: BLE001 - a bad file is the user's to replace
            raise ModelError(f"{plda_npz.parent}: cannot read the PLDA files ({type(exc).__name__}: "
                             f"{str(exc).splitlines()[0] if str(exc) else ''}); replace them") from exc
    params.pop("token", None)
    params.pop("cache_dir", None)
    try:
        pipeline = SpeakerDiarization(**params)
        if config.get("freeze"):
            pipeline.freeze(config["freeze"])
        pipeline.instantiate(config.get("params") or pipeline.default_parameters())
    except (TypeError, ValueError, KeyError) as exc:
        raise ModelError(f"{root / 'config.yaml'}: pyannote refuses this configuration "
                         f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})") from exc
    return pipeline


def _load_model(entry: str, path: Path, reg: Any) -> Any:
    """A pyannote ``Model`` from its checkpoint, loaded weights-only."""
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications

    allowed = [Specifications, Problem, Resolution, torch.torch_version.TorchVersion]
    if reg is not None:
        ckpt = reg.load_torch(entry, safe_globals=allowed)
    else:
        try:
            with torch.serialization.safe_globals(allowed):
                ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001
            raise ModelError(f"{path} cannot be loaded as torch weights ({type(exc).__name__}: "
                             f"{(str(exc).splitlines() or [''])[0][:200]})") from exc
    try:
        arch = ckpt["pyannote.audio"]["architecture"]
        module_name, class_name = arch["module"], arch["class"]
        hparams = dict(ckpt.get("hyper_parameters") or {})
        state = ckpt["state_dict"]
    except (TypeError, KeyError) as exc:
        raise ModelError(f"{path} is not a pyannote.audio checkpoint (no architecture or state_dict)") from exc
    if not module_name.startswith("pyannote.audio.models."):
        raise ModelError(f"{path} names architecture {module_name}.{class_name}, outside pyannote.audio.models")
    try:
        klass = getattr(import_module(module_name), class_name)
        # as Lightning's load_from_checkpoint: hyper-parameters the constructor does not take are
        # dropped (pyannote saves some, e.g. WeSpeaker's round_to_power_of_two, that it fixes itself)
        sig = inspect.signature(klass.__init__).parameters
        if not any(p.kind is p.VAR_KEYWORD for p in sig.values()):
            hparams = {k: v for k, v in hparams.items() if k in sig}
        model = klass(**hparams)
        model.on_load_checkpoint(ckpt)
        model.load_state_dict(state, strict=True)
    except Exception as exc:  # noqa: BLE001 - mismatched weights are the user's to replace
        raise ModelError(f"{path}: cannot build {class_name} from this checkpoint ({type(exc).__name__}: "
                         f"{(str(exc).splitlines() or [''])[0][:200]})") from exc
    model.eval()
    return model
