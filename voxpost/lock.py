"""The lock file of a models folder: what ``voxpost models fetch`` put there, and its sha256.

``models.lock.toml`` sits at the top of a models folder (one of :func:`voxpost.models.search_dirs`)
with one table per registry entry fetched into it: ``file`` and ``url`` (the registry's, at the
time of the fetch), ``sha256`` and ``size`` of the bytes put in place, ``checked`` (what the
sha256 was checked against: the registry, the hash the host publishes, or nothing: first use),
``fetched`` (UTC), and for a Hugging Face file ``hf_repo``, ``hf_revision``, ``hf_file`` and
``hf_commit`` (the commit the hub served).

The registry pins most checkpoints by sha256. For the entries it cannot pin (their sha256 is
``""``), :meth:`voxpost.models.Registry.path` checks the installed file against the sha256 its
folder's lock recorded, and only while the lock entry still names the registry's ``file`` and
``url``: change the registry's URL (a new revision) and the old lock entry no longer counts.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = record(folder, "demo", {"file": "demo.bin", "url": "https://example.org/demo.bin",
...                            "sha256": "ab" * 32, "size": 4})
>>> read(folder)["demo"]["size"]
4
>>> locked_sha256(folder, "demo", file="demo.bin", url="https://example.org/demo.bin") == "ab" * 32
True
>>> locked_sha256(folder, "demo", file="demo.bin", url="https://example.org/v2/demo.bin")
''
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from pathlib import Path
from typing import Any

from voxpost.errors import ModelError
from voxpost.outputs import write_text

#: The lock file's name, at the top of a models folder.
LOCK_NAME = "models.lock.toml"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_HEADER = ("# Written by `voxpost models fetch`: what was downloaded into this folder, verified, and its\n"
           "# sha256. The model loader checks entries the registry cannot pin against it. Do not edit.\n\n")


def read(folder: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The lock entries of ``folder`` by registry name; ``{}`` when it has no lock.

    Raises
    ------
    ModelError
        If the lock exists but cannot be read or parsed.
    """
    path = Path(folder) / LOCK_NAME
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{path} is not valid TOML ({exc}); remove it and fetch the models again") from exc
    return {name: table for name, table in data.items() if isinstance(table, dict)}


def locked_sha256(folder: str | os.PathLike[str], name: str, *, file: str, url: str) -> str:
    """The sha256 the lock of ``folder`` records for entry ``name`` at ``file`` from ``url``, or ``""``."""
    table = read(folder).get(name, {})
    sha = table.get("sha256")
    if table.get("file") == file and table.get("url") == url and isinstance(sha, str) and _SHA256.fullmatch(sha):
        return sha
    return ""


def record(folder: str | os.PathLike[str], name: str, fields: dict[str, str | int]) -> Path:
    """Set the lock entry ``name`` of ``folder`` to ``fields`` (strings and integers), atomically."""
    tables = read(folder)
    tables[name] = dict(fields)
    body = "\n".join(f"[{_value(n)}]\n" + "".join(f"{k} = {_value(v)}\n" for k, v in t.items())
                     for n, t in tables.items())
    return write_text(Path(folder) / LOCK_NAME, _HEADER + body, overwrite=True)


def _value(v: Any) -> str:
    """A TOML string, integer or boolean (JSON's string escapes are TOML's)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return json.dumps(str(v), ensure_ascii=False)
