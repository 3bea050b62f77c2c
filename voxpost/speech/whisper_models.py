"""Whisper checkpoints: load one from the registry, a whisper short name or a file; check languages.

:func:`load_model` resolves ``"whisper-small"``, ``"small"``, ``"turbo"`` or a path, checks the
registry's sha256 before torch reads anything (nothing is downloaded), loads with whisper and puts
back the alignment heads of whisper's published checkpoints; every failure is a one-line
:class:`~voxpost.errors.ModelError`. :func:`normalize_language` turns a code or an English name
into whisper's code, refusing what the model cannot transcribe.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

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
    """Load a whisper checkpoint.

    Parameters
    ----------
    model : str or path-like
        An existing checkpoint file, a registry entry (``"whisper-small"``), or whisper's short
        name for one (``"small"``, ``"base.en"``, ``"large"`` = ``whisper-large-v3``,
        ``"turbo"`` = ``whisper-large-v3-turbo``). A registry checkpoint has its sha256
        checked before it is read; a file's sha256 is recorded.
    device : str or torch.device
        Where the model runs; default ``"cpu"``.
    registry : Registry, optional
        Default :meth:`Registry.load` (``$VOXPOST_REGISTRY`` or ``models/registry.toml``).

    Returns
    -------
    (whisper.model.Whisper, dict)
        The model, in eval mode, and ``{"name", "path", "sha256"}``.

    Raises
    ------
    ModelError
        Unknown or uninstalled registry model (the message says where to download it and
        where to put it), sha256 mismatch, missing file, or a file that is not a whisper
        checkpoint.
    ParameterError
        An unusable device.
    """
    text = os.fspath(model)
    path = Path(text).expanduser()
    if path.is_file():
        sha = sha256_file(path)
        name = _official_name(sha) or path.name
    elif path.exists():
        raise ModelError(f"{text}: is a directory, not a whisper checkpoint file")
    elif isinstance(model, os.PathLike) or _looks_like_path(text):
        raise ModelError(f"{text}: no such model file")
    else:
        reg = registry if registry is not None else Registry.load()
        name = WHISPER_NAMES.get(text, text)
        if name not in reg.names() and f"whisper-{text}" in reg.names():
            name = f"whisper-{text}"
        entry = reg.get(name)
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
    from whisper.tokenizer import LANGUAGES, TO_LANGUAGE_CODE

    key = str(language).strip().lower()
    code = key if key in LANGUAGES else TO_LANGUAGE_CODE.get(key)
    if code is None:
        raise ParameterError(f"unknown language '{language}': give a whisper language code "
                             f"(en, de, fr, es, ja, ...) or its English name; {_LANGUAGE_HELP}")
    if model is not None:
        if not model.is_multilingual and code != "en":
            raise ParameterError(f"language '{language}' asked for, but this model is English-only; "
                                 "use a multilingual model (a name without .en)")
        if model.is_multilingual and code not in list(LANGUAGES)[:model.num_languages]:
            raise ParameterError(f"language '{language}' is not one of the {model.num_languages} "
                                 "languages this model knows; use whisper-large-v3 for it")
    return code


__all__ = ["WHISPER_NAMES", "load_model", "normalize_language"]
