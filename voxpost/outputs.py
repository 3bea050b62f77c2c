"""Every file voxpost writes goes through here: checked before any work, written atomically.

One scheme for the whole engine, whatever the kind of file (audio, JSON, text, PNG, OTIO, a
checkpoint):

- :func:`check_output` says before any work whether a path may be written: never an input
  (``protect``), an existing file only with ``overwrite`` (``--force``), never a directory, and
  only into a writable folder that exists. :func:`check_outputs` does it for a job's whole list
  and refuses two outputs naming the same file.
- :func:`atomic_path` hands the writer a temporary name beside the target (same folder, so the
  rename is atomic; the target's extension kept last, so libraries that pick a format from the
  name still do) and renames it into place only when the writer finished; on any failure the
  temporary file is removed and an existing target is untouched. :func:`write_text`,
  :func:`write_json` and :func:`write_bytes` are the one-liners on top.
- :class:`Written` collects what a job has put in place so far, so a job that fails part way
  removes its own outputs: nothing half-done is left.

Examples
--------
>>> import json, tempfile
>>> from pathlib import Path
>>> folder = Path(tempfile.mkdtemp())
>>> write_json(folder / "report.json", {"lufs": -23.0}).name
'report.json'
>>> json.loads((folder / "report.json").read_text())
{'lufs': -23.0}
>>> write_json(folder / "report.json", {})
Traceback (most recent call last):
...
voxpost.errors.AudioError: ...report.json: exists; use --force to replace it
>>> sorted(p.name for p in folder.iterdir())      # no temporary file left behind
['report.json']
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from voxpost.errors import AudioError

PathLike = str | os.PathLike

#: Temporary files start with this, so a folder listing (and a crash clean-up) can tell them apart.
TEMP_PREFIX = ".voxpost-"


def check_output(path: PathLike, *, overwrite: bool = False, protect: Iterable[PathLike] = (),
                 suffix: str | None = None) -> Path:
    """Raise :class:`AudioError` unless ``path`` may be written; return it as a :class:`Path`.

    ``suffix`` (e.g. ``".json"``) is the extension the file is written as; another one is refused.
    """
    path = Path(path)
    if suffix is not None and path.suffix.lower() != suffix:
        raise AudioError(f"{path}: this output is written as {suffix}; name it so")
    target = path.resolve()
    for p in protect:
        if p and Path(p).resolve() == target:
            raise AudioError(f"{path}: refusing to overwrite an input file; choose another output")
    if target.is_dir():
        raise AudioError(f"{path}: is a directory")
    if target.exists() and not overwrite:
        raise AudioError(f"{path}: exists; use --force to replace it")
    parent = target.parent
    if not parent.is_dir():
        raise AudioError(f"{path}: cannot write: directory {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise AudioError(f"{path}: cannot write: directory {parent} is not writable")
    return path


def check_outputs(paths: Iterable[PathLike | None], *, overwrite: bool = False,
                  protect: Iterable[PathLike] = ()) -> list[Path]:
    """:func:`check_output` for each of a job's outputs (``None`` entries skipped), and no two alike."""
    outs = [Path(p) for p in paths if p]
    if len({o.resolve() for o in outs}) != len(outs):
        raise AudioError("two outputs name the same file")
    protect = list(protect)
    return [check_output(o, overwrite=overwrite, protect=protect) for o in outs]


def temp_path(target: PathLike) -> Path:
    """A fresh temporary name beside ``target`` that keeps its extension last."""
    target = Path(target)
    return target.with_name(f"{TEMP_PREFIX}{target.stem}-{os.getpid()}-{secrets.token_hex(4)}.part{target.suffix}")


@contextmanager
def atomic_path(target: PathLike, *, overwrite: bool = False, protect: Iterable[PathLike] = (),
                check: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``, on failure it is removed.

    ``check=False`` skips :func:`check_output` for callers that checked every output up front.
    """
    target = Path(target)
    if check:
        check_output(target, overwrite=overwrite, protect=protect)
    tmp = temp_path(target)
    try:
        yield tmp
        if not tmp.exists():
            raise AudioError(f"{target}: the writer produced no file")
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise AudioError(f"{target}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_bytes(path: PathLike, data: bytes, *, overwrite: bool = False,
                protect: Iterable[PathLike] = ()) -> Path:
    """Write ``data`` to ``path`` atomically (fsynced before the rename)."""
    with atomic_path(path, overwrite=overwrite, protect=protect) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
    return Path(path)


def write_text(path: PathLike, text: str, *, overwrite: bool = False, protect: Iterable[PathLike] = ()) -> Path:
    """Write ``text`` as UTF-8 (``\\n`` line ends) to ``path`` atomically."""
    try:
        data = text.encode("utf-8")
    except UnicodeError as exc:
        raise AudioError(f"{path}: cannot write: the text is not valid Unicode ({exc.reason})") from None
    return write_bytes(path, data, overwrite=overwrite, protect=protect)


def write_json(path: PathLike, data: object, *, overwrite: bool = False, protect: Iterable[PathLike] = ()) -> Path:
    """Write ``data`` as indented UTF-8 JSON to ``path`` atomically."""
    return write_text(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n", overwrite=overwrite,
                      protect=protect)


class Written:
    """The outputs a job has put in place so far; on failure inside ``with``, they are removed.

    >>> import tempfile
    >>> from pathlib import Path
    >>> folder = Path(tempfile.mkdtemp())
    >>> try:
    ...     with Written() as done:
    ...         done.add(write_text(folder / "a.txt", "first"))
    ...         raise RuntimeError("the second output failed")
    ... except RuntimeError:
    ...     pass
    >>> list(folder.iterdir())
    []
    """

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def add(self, *paths: PathLike | None) -> None:
        self.paths += [Path(p) for p in paths if p]

    def __enter__(self) -> Written:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            for p in self.paths:
                p.unlink(missing_ok=True)
