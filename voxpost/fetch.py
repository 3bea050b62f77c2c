"""``voxpost models fetch``: download registry checkpoints, checked, resumable, put in place atomically.

The job is :func:`fetch_models`. An entry's bytes are streamed into ``.voxpost-<name>.part``
beside their final place in the user models folder (:func:`user_dir`); the sha256 is computed as
they arrive and checked before the part file is renamed onto the final name, so nothing
half-written ever carries that name. A transfer that stops leaves the part file and a note of
where it came from (``<part>.json``); the next run asks for the rest (HTTP ``Range``, with
``If-Range`` when the server gave a validator) and starts over when the server sends the whole
file instead (``200``). A wrong hash removes the part file.

Hugging Face entries (``hf_repo``, ``hf_revision``, ``hf_file`` in the registry) come from
``$HF_ENDPOINT/<repo>/resolve/<revision>/<file>`` (default https://huggingface.co) with the
user's token (:func:`hf_token`), which is sent to that host only, never to the storage host a
resolve redirects to. The hub publishes a hash of every file, in the headers of that answer:
the sha256 of an LFS file (``X-Linked-Etag``) or the git blob id of a small one (``ETag``); the
bytes are checked against it and, when the registry has one, against the registry's sha256.
Every fetch is recorded in the folder's lock (:mod:`voxpost.lock`), which lets the loader verify
the entries the registry cannot pin. A file whose host publishes no hash and whose registry
sha256 is ``""`` (kNN-VC's GitHub release assets) is recorded as ``checked = "first use"``, with a
warning naming its sha256.

``offline=True`` (``--offline``) or ``VOXPOST_OFFLINE=1`` never opens a connection.

>>> group_names(["knnvc"], ["knnvc-wavlm-large", "knnvc-hifigan-prematched", "whisper-tiny"])
['knnvc-wavlm-large', 'knnvc-hifigan-prematched']
>>> git_blob_id(b"hello\\n")
'ce013625030ba8dba906f756967f9e9ca394464a'
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin, urlsplit

from voxpost import __version__, lock
from voxpost.errors import ModelError
from voxpost.models import REPO_MODELS_DIR, ModelEntry, Registry
from voxpost.outputs import TEMP_PREFIX
from voxpost.progress import SILENT, Listener

#: The Hugging Face hub, unless ``$HF_ENDPOINT`` names another (a mirror, or a test server).
HF_ENDPOINT = "https://huggingface.co"
_CHUNK = 1 << 20
_TIMEOUT_S = 30.0
_REDIRECTS = 10
_HEX40, _HEX64 = re.compile(r"[0-9a-f]{40}"), re.compile(r"[0-9a-f]{64}")


class _Refused(Exception):
    """An HTTP error status from the server; the caller words it."""

    def __init__(self, code: int, url: str) -> None:
        super().__init__(code, url)
        self.code, self.url = code, url


def offline_env() -> bool:
    """Whether ``$VOXPOST_OFFLINE`` forbids the network (``1``, ``true``, ``yes``, ``on``)."""
    return os.environ.get("VOXPOST_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def hf_endpoint() -> str:
    """``$HF_ENDPOINT`` without a trailing slash, else :data:`HF_ENDPOINT`."""
    return (os.environ.get("HF_ENDPOINT") or HF_ENDPOINT).rstrip("/")


def hf_token() -> str | None:
    """The user's Hugging Face token, where huggingface_hub keeps it: ``$HF_TOKEN``, else the file
    that ``hf auth login`` writes (``$HF_TOKEN_PATH``, else ``$HF_HOME/token``, HF_HOME defaulting
    to ``~/.cache/huggingface``); None when there is none."""
    token = os.environ.get("HF_TOKEN") or os.environ.get("HUGGING_FACE_HUB_TOKEN")
    if not token:
        home = os.environ.get("HF_HOME") or Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache") / "huggingface"
        try:
            token = Path(os.environ.get("HF_TOKEN_PATH") or Path(home) / "token").expanduser().read_text()
        except (OSError, UnicodeError):
            return None
    return token.strip() or None


def git_blob_id(data: bytes) -> str:
    """The git blob id (sha1 of ``blob <size>\\0`` and the bytes): the hub's ETag of a small file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def group_names(names: Iterable[str], known: Sequence[str]) -> list[str]:
    """Each name as itself when ``known`` has it, else the known names it prefixes (``NAME-...``)."""
    out: list[str] = []
    for n in names:
        out += [n] if n in known else [k for k in known if k.startswith(f"{n}-")] or [n]
    return list(dict.fromkeys(out))


def user_dir(registry: Registry) -> Path:
    """Where fetched models go: the first searched directory that is writable or can be made (not
    the shipped ``models/``)."""
    for d in registry.dirs():
        if d.resolve() == REPO_MODELS_DIR.resolve():
            continue
        probe = d
        while not probe.exists() and probe.parent != probe:
            probe = probe.parent
        if probe.is_dir() and os.access(probe, os.W_OK | os.X_OK):
            return d
    raise ModelError("no models folder can be written: set VOXPOST_MODELS to a folder you can write")


def fetch_models(names: Sequence[str], *, registry: Registry | None = None, offline: bool = False,
                 force: bool = False, listener: Listener = SILENT) -> list[dict[str, Any]]:
    """Install the registry entries ``names`` (or the groups they prefix), each verified.

    An entry already installed and verified is left alone unless ``force``. Returns one dict per
    entry: ``name``, ``path``, ``sha256``, ``fetched`` (bool) and ``checked`` (what the sha256 was
    checked against).

    Raises
    ------
    ModelError
        On the first entry that is unknown, cannot be fetched (offline, refused, unreachable,
        interrupted: run again to resume) or whose bytes fail their check.
    """
    reg = registry or Registry.load()
    todo = group_names(names, reg.names())
    for name in todo:
        reg.get(name)                       # an unknown name fails before any download
    offline = offline or offline_env()
    return [_fetch_one(reg, name, offline=offline, force=force, listener=listener) for name in todo]


def _fetch_one(reg: Registry, name: str, *, offline: bool, force: bool, listener: Listener) -> dict[str, Any]:
    entry = reg.get(name)
    problem: ModelError | None = None
    if not force:
        try:
            path = reg.path(name)
            listener.note(f"{name}: installed and verified at {path}")
            return {"name": name, "path": str(path), "sha256": reg.sha256(name), "fetched": False,
                    "checked": "installed"}
        except ModelError as exc:
            problem = exc
    if not entry.url:
        raise problem or ModelError(f"model '{name}' ships with voxpost; there is nothing to download")
    folder = user_dir(reg)
    target = folder / entry.file
    if offline:
        if problem is not None and reg.find(name) is not None:
            raise problem
        raise ModelError(f"model '{name}' is not installed and downloads are off (--offline or "
                         f"VOXPOST_OFFLINE=1): run `voxpost models fetch {name}` with a network, or "
                         f"copy the file to {target}")
    if entry.hf_repo:
        url = f"{hf_endpoint()}/{entry.hf_repo}/resolve/{quote(entry.hf_revision, safe='')}/{quote(entry.hf_file)}"
        token, auth_host = hf_token(), urlsplit(hf_endpoint()).netloc
    else:
        url, token, auth_host = entry.url, None, None
    try:
        got = _download(url, target, entry=entry, token=token, auth_host=auth_host, listener=listener)
    except _Refused as r:
        raise ModelError(_refusal(entry, r, token)) from None
    fields: dict[str, Any] = {"file": entry.file, "url": entry.url, "sha256": got["sha256"],
                              "size": got["size"], "checked": got["checked"],
                              "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    if entry.hf_repo:
        fields.update(hf_repo=entry.hf_repo, hf_revision=entry.hf_revision, hf_file=entry.hf_file,
                      hf_commit=got["commit"] or entry.hf_revision)
    lock.record(folder, name, fields)
    if got["checked"] == "first use":
        listener.warn(f"{name}: {entry.url} publishes no sha256 and the registry records none; the "
                      f"download's sha256 {got['sha256']} is recorded in {folder / lock.LOCK_NAME} "
                      "(trust on first use: compare it with a copy you trust)")
    found = reg.find(name)
    if found != target:
        listener.warn(f"{name}: {found} comes before {target} in the search path, and is the copy that is used")
    listener.note(f"{name}: {got['size']} bytes, sha256 {got['sha256']} ({got['checked']}), at {target}")
    return {"name": name, "path": str(target), "sha256": got["sha256"], "fetched": True, "checked": got["checked"]}


def _refusal(entry: ModelEntry, r: _Refused, token: str | None) -> str:
    """The one-line error for an HTTP refusal."""
    if entry.hf_repo and r.code in (401, 403):
        page = f"{hf_endpoint()}/{entry.hf_repo}"
        sent = ("the token voxpost sent was refused or has no access to it" if token else
                "voxpost found no Hugging Face token")
        return (f"model '{entry.name}': {page} refused the download (HTTP {r.code}): the repository is "
                f"gated and {sent}; accept its licence on {page} while logged in, then log in here with "
                "`hf auth login` (`huggingface-cli login` in older huggingface_hub) or set HF_TOKEN, and run "
                "this again")
    what = "not found" if r.code in (404, 410) else "refused"
    return f"model '{entry.name}': {r.url} {what} (HTTP {r.code}); the registry's URL may be out of date"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None            # redirects are followed by _get, which sees each answer's headers


_OPENER = urllib.request.build_opener(_NoRedirect)


def _get(url: str, headers: dict[str, str], *, token: str | None,
         auth_host: str | None) -> tuple[http.client.HTTPResponse, dict[str, str]]:
    """GET ``url`` following redirects; the response and the headers of the hub's own answer."""
    hub: dict[str, str] = {}
    for _ in range(_REDIRECTS):
        host = urlsplit(url).netloc
        send = dict(headers)
        if token and host == auth_host:
            send["Authorization"] = f"Bearer {token}"
        try:
            resp = _OPENER.open(urllib.request.Request(url, headers=send), timeout=_TIMEOUT_S)
        except urllib.error.HTTPError as exc:
            exc.close()
            hub = _hub_answer(hub, exc.headers) if host == auth_host else hub
            if exc.code in (301, 302, 303, 307, 308) and exc.headers.get("Location"):
                url = urljoin(url, exc.headers["Location"])
                continue
            raise _Refused(exc.code, url) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise ModelError(f"cannot reach {host} ({reason}); check the network, or use --offline "
                             "for models already installed") from None
        return resp, _hub_answer(hub, resp.headers) if host == auth_host else hub
    raise ModelError(f"{url}: more than {_REDIRECTS} redirects")


def _hub_answer(kept: dict[str, str], headers: Any) -> dict[str, str]:
    """The hub's last answer on the way to the bytes, unless only an earlier one named the LFS sha256."""
    new = {k.lower(): v for k, v in headers.items()}
    return new if "x-linked-etag" in new or "x-linked-etag" not in kept else kept


def _download(url: str, target: Path, *, entry: ModelEntry, token: str | None, auth_host: str | None,
              listener: Listener, resume: bool = True) -> dict[str, Any]:
    """Stream ``url`` into the part file, check it, rename it onto ``target``."""
    part = target.with_name(f"{TEMP_PREFIX}{target.name}.part")
    note = part.with_name(part.name + ".json")
    target.parent.mkdir(parents=True, exist_ok=True)
    offset, validator = _resume_point(part, note, url) if resume else (0, None)
    headers = {"User-Agent": f"voxpost/{__version__}", "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
        if validator:
            headers["If-Range"] = validator
    try:
        resp, hub = _get(url, headers, token=token, auth_host=auth_host)
    except _Refused as r:
        if r.code == 416 and offset:         # the range is past the end: the part is stale
            return _download(url, target, entry=entry, token=token, auth_host=auth_host,
                             listener=listener, resume=False)
        raise
    with resp:
        if offset and (resp.status != 206 or not (resp.headers.get("Content-Range") or "").startswith(f"bytes {offset}-")):
            if resp.status == 206:           # a range that is not the one asked for: start again
                return _download(url, target, entry=entry, token=token, auth_host=auth_host,
                                 listener=listener, resume=False)
            offset = 0                       # the server ignored Range and sends the whole file
        hub_sha, blob_id = _published(hub, entry)
        if entry.sha256 and hub_sha and hub_sha != entry.sha256:
            raise ModelError(f"model '{entry.name}': the hub serves a file with sha256 {hub_sha}, not the "
                             f"{entry.sha256} the registry records; nothing was downloaded")
        if not offset:
            part.unlink(missing_ok=True)
            note.write_text(json.dumps({"url": url, "validator": resp.headers.get("ETag")
                                        or resp.headers.get("Last-Modified")}), encoding="utf-8")
        length = resp.headers.get("Content-Length")
        total = offset + int(length) if length and length.isdigit() else None
        digest, done = hashlib.sha256(), offset
        if offset:
            with open(part, "rb") as f:
                while chunk := f.read(_CHUNK):
                    digest.update(chunk)
        reason = ""
        with listener.task(f"fetch {entry.name}") as tick, open(part, "ab") as out:
            try:
                while chunk := resp.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    done += len(chunk)
                    if tick:
                        tick(done, total)
            except (OSError, http.client.HTTPException) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            out.flush()
            os.fsync(out.fileno())
    if reason or (total is not None and done != total):
        of = f" of {total}" if total is not None else ""
        raise ModelError(f"model '{entry.name}': the download stopped at {done}{of} bytes "
                         f"({reason or 'the connection closed early'}); run the same command again to resume it")
    return _install(part, note, target, entry=entry, sha256=digest.hexdigest(), size=done,
                    hub_sha=hub_sha, blob_id=blob_id, commit=hub.get("x-repo-commit", ""))


def _resume_point(part: Path, note: Path, url: str) -> tuple[int, str | None]:
    """Bytes already in the part file and the server's validator, when they came from ``url``."""
    try:
        meta = json.loads(note.read_text(encoding="utf-8"))
        if part.is_file() and isinstance(meta, dict) and meta.get("url") == url:
            return part.stat().st_size, meta.get("validator") or None
    except (OSError, ValueError):
        pass
    part.unlink(missing_ok=True)
    return 0, None


def _published(hub: dict[str, str], entry: ModelEntry) -> tuple[str, str]:
    """The hub's sha256 of the file (LFS) and its git blob id (a small file), ``""`` when absent."""
    if not entry.hf_repo:
        return "", ""
    linked = _etag(hub.get("x-linked-etag", ""))
    etag = _etag(hub.get("etag", ""))
    sha = linked if _HEX64.fullmatch(linked) else etag if _HEX64.fullmatch(etag) else ""
    blob = etag if not sha and _HEX40.fullmatch(etag) else ""
    return sha, blob


def _etag(value: str) -> str:
    return value.strip().removeprefix("W/").strip('"').lower()


def _install(part: Path, note: Path, target: Path, *, entry: ModelEntry, sha256: str, size: int,
             hub_sha: str, blob_id: str, commit: str) -> dict[str, Any]:
    """Check the finished part file against every published hash, then rename it onto ``target``."""
    checks = [(entry.sha256, sha256, "the registry's sha256"), (hub_sha, sha256, "the hub's LFS sha256")]
    if blob_id:
        checks.append((blob_id, git_blob_id(part.read_bytes()), "the hub's git blob id"))
    for expected, got, what in checks:
        if expected and got != expected:
            part.unlink(missing_ok=True)
            note.unlink(missing_ok=True)
            raise ModelError(f"model '{entry.name}': the download does not match {what}: expected {expected} "
                             f"got {got}; it was removed and nothing was installed")
    checked = " and ".join(what.removeprefix("the ") for expected, _, what in checks if expected) or "first use"
    os.replace(part, target)
    note.unlink(missing_ok=True)
    return {"sha256": sha256, "size": size, "checked": checked, "commit": commit}
