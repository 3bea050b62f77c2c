"""``voxpost models fetch`` against a local HTTP server: checked downloads, resumed, refused, locked.

The server (a threaded ``http.server`` on 127.0.0.1, ephemeral port) serves bytes, answers
``Range`` with 206 (or ignores it, like some servers), can cut a transfer half-way, and plays the
Hugging Face hub: ``/<repo>/resolve/<revision>/<file>`` answers 401 without the right token, and
for an LFS file redirects to a storage host (``localhost``, another host name for the same
server) with the file's sha256 in ``X-Linked-Etag``; a small file comes straight back with its
git blob id as ``ETag``. Every request is recorded, so tests see what the client asked for.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import tomllib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from conftest import run_cli
from voxpost.errors import ModelError
from voxpost.fetch import git_blob_id
from voxpost.lock import LOCK_NAME
from voxpost.models import Registry

REPO, REV = "acme/diarizer", "0123456789abcdef0123456789abcdef01234567"
TOKEN = "hf_test_token"


class Server:
    """The routes served (path -> options) and the requests seen (path, headers)."""

    def __init__(self) -> None:
        self.routes: dict[str, dict] = {}
        self.seen: list[tuple[str, dict[str, str]]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.seen.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                route = server.routes.get(self.path)
                if route is None:
                    return self._send(404, b"not found")
                if route.get("token") and self.headers.get("Authorization") != f"Bearer {route['token']}":
                    return self._send(401, b"gated", {"X-Error-Code": "GatedRepo"})
                if "redirect" in route:
                    return self._send(302, b"", {"Location": route["redirect"], **route.get("headers", {})})
                body, start = route["body"], 0
                asked = self.headers.get("Range", "")
                if asked.startswith("bytes=") and not route.get("ignore_range"):
                    start = int(asked[6:].split("-")[0])
                extra = dict(route.get("headers", {}))
                if start:
                    extra["Content-Range"] = f"bytes {start}-{len(body) - 1}/{len(body)}"
                if route.pop("cut", False):     # send half of what is asked, then hang up
                    self._send(206 if start else 200, body[start:], extra, cut=(len(body) - start) // 2)
                else:
                    self._send(206 if start else 200, body[start:], extra)

            def _send(self, code, data, headers=None, cut=None):
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data if cut is None else data[:cut])
                self.wfile.flush()
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Empty models folder, a registry file to fill, no Hugging Face token anywhere."""
    models = tmp_path / "models"
    monkeypatch.setenv("VOXPOST_MODELS", str(models))
    monkeypatch.setenv("VOXPOST_REGISTRY", str(tmp_path / "registry.toml"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_TOKEN_PATH", "VOXPOST_OFFLINE", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    return models


def write_registry(path, **entries):
    """One table per keyword: its name (underscores become dashes) and keys over the defaults."""
    text = ""
    for name, keys in entries.items():
        table = {"capability": "diarize", "backend": "pyannote", "sha256": "", "size_mb": 0.3,
                 "licence": "MIT", "description": "a test checkpoint", **keys}
        text += f'["{name.replace("_", "-")}"]\n' + "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items())
    path.write_text(text)


def blob(n=300_000, seed=0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def one_error_line(out, *needles):
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("voxpost: error: "), out.stderr
    for n in needles:
        assert n in lines[0], lines[0]
    return lines[0]


def test_good_fetch_installs_verified_bytes_and_records_them(server, env, tmp_path):
    data = blob()
    server.routes["/files/seg.bin"] = {"body": data}
    write_registry(tmp_path / "registry.toml",
                   demo_seg={"url": server.url("/files/seg.bin"), "sha256": sha(data), "file": "demo/seg.bin"})
    out = run_cli("models", "fetch", "demo-seg")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(env / "demo" / "seg.bin")
    assert (env / "demo" / "seg.bin").read_bytes() == data
    assert files_under(env) == ["demo/seg.bin", LOCK_NAME]          # no part file left
    locked = tomllib.loads((env / LOCK_NAME).read_text())["demo-seg"]
    assert (locked["sha256"], locked["size"], locked["file"]) == (sha(data), len(data), "demo/seg.bin")
    assert locked["checked"] == "registry's sha256"
    assert run_cli("models", "path", "demo-seg").stdout.strip() == str(env / "demo" / "seg.bin")
    again = run_cli("models", "fetch", "demo-seg")                 # installed: nothing is asked
    assert again.returncode == 0 and len(server.seen) == 1, again.stderr


@pytest.mark.parametrize("honours_range", [True, False])
def test_cut_transfer_is_resumed_on_the_next_run(server, env, tmp_path, honours_range):
    data = blob(seed=1)
    server.routes["/files/emb.bin"] = {"body": data, "cut": True, "ignore_range": not honours_range}
    write_registry(tmp_path / "registry.toml",
                   demo_emb={"url": server.url("/files/emb.bin"), "sha256": sha(data), "file": "demo/emb.bin"})
    one_error_line(run_cli("models", "fetch", "demo-emb"), f"stopped at {len(data) // 2} of {len(data)} bytes",
                   "run the same command again to resume")
    assert not (env / "demo" / "emb.bin").exists()                 # nothing under the final name
    assert [p.name for p in (env / "demo").iterdir() if p.suffix == ".part"] == [".voxpost-emb.bin.part"]
    out = run_cli("models", "fetch", "demo-emb")
    assert out.returncode == 0, out.stderr
    assert server.seen[1][1].get("range") == f"bytes={len(data) // 2}-"
    assert (env / "demo" / "emb.bin").read_bytes() == data
    assert files_under(env) == ["demo/emb.bin", LOCK_NAME]


def test_wrong_hash_is_refused_and_nothing_is_left(server, env, tmp_path):
    data, expected = blob(seed=2), sha(b"the published bytes")
    server.routes["/files/plda.npz"] = {"body": data}
    write_registry(tmp_path / "registry.toml",
                   demo_plda={"url": server.url("/files/plda.npz"), "sha256": expected, "file": "demo/plda.npz"})
    one_error_line(run_cli("models", "fetch", "demo-plda"), f"expected {expected} got {sha(data)}",
                   "nothing was installed")
    assert files_under(env) == []                                   # no file, no part file, no lock


@pytest.mark.parametrize("how", ["flag", "env"])
def test_offline_refuses_without_a_connection(server, env, tmp_path, monkeypatch, how):
    server.routes["/files/seg.bin"] = {"body": blob()}
    write_registry(tmp_path / "registry.toml",
                   demo_seg={"url": server.url("/files/seg.bin"), "sha256": sha(blob()), "file": "demo/seg.bin"})
    if how == "env":
        monkeypatch.setenv("VOXPOST_OFFLINE", "1")
    out = run_cli("models", "fetch", "demo-seg", *(["--offline"] if how == "flag" else []))
    one_error_line(out, "model 'demo-seg' is not installed", "downloads are off", "voxpost models fetch demo-seg")
    assert server.seen == [] and files_under(env) == []


def hub_routes(server, files: dict[str, bytes], *, token=TOKEN, lfs=("weights.bin",)):
    """Serve ``files`` as the gated hub repository REPO at REV (LFS ones through a storage host)."""
    for name, data in files.items():
        resolve = f"/{REPO}/resolve/{REV}/{name}"
        if name in lfs:
            stored = f"/storage/{sha(data)}"
            server.routes[resolve] = {"token": token, "redirect": server.url(stored, host="localhost"),
                                      "headers": {"X-Linked-Etag": f'"{sha(data)}"', "X-Repo-Commit": REV,
                                                  "ETag": f'"{git_blob_id(b"pointer")}"'}}
            server.routes[stored] = {"body": data, "headers": {"ETag": '"storage-etag"'}}
        else:
            server.routes[resolve] = {"token": token, "body": data,
                                      "headers": {"ETag": f'"{git_blob_id(data)}"', "X-Repo-Commit": REV}}


def hub_registry(path, server, files):
    write_registry(path, **{f"demo_hub_{name.split('.')[0]}": {
        "url": f"https://huggingface.co/{REPO}/resolve/{REV}/{name}", "hf_repo": REPO, "hf_revision": REV,
        "hf_file": name, "file": f"acme/diarizer/{name}"} for name in files})


def test_gated_hub_repo_without_token_says_how_to_give_one(server, env, tmp_path, monkeypatch):
    files = {"weights.bin": blob(seed=3)}
    hub_routes(server, files)
    hub_registry(tmp_path / "registry.toml", server, files)
    monkeypatch.setenv("HF_ENDPOINT", server.url(""))
    line = one_error_line(run_cli("models", "fetch", "demo-hub-weights"), "HTTP 401", "no Hugging Face token",
                          "hf auth login", "huggingface-cli login", "HF_TOKEN", "accept its licence",
                          server.url(f"/{REPO}"))
    assert "Traceback" not in line and files_under(env) == []
    assert "authorization" not in server.seen[0][1]


def test_hub_fetch_is_locked_and_then_accepted_by_the_loader(server, env, tmp_path, monkeypatch):
    files = {"config.yaml": b"pipeline:\n  name: acme\n", "weights.bin": blob(seed=4)}
    hub_routes(server, files)
    hub_registry(tmp_path / "registry.toml", server, files)
    monkeypatch.setenv("HF_ENDPOINT", server.url(""))
    (tmp_path / "hf-home").mkdir()
    (tmp_path / "hf-home" / "token").write_text(TOKEN + "\n")     # as `hf auth login` leaves it
    reg = Registry.load(tmp_path / "registry.toml", dirs=[env])
    target = env / REPO / "weights.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(files["weights.bin"])                        # unverifiable until fetched
    with pytest.raises(ModelError, match="sha256 is not yet recorded .* `voxpost models fetch demo-hub-weights`"):
        reg.path("demo-hub-weights")
    target.unlink()

    out = run_cli("models", "fetch", "demo-hub")                   # the group: both files
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(env / REPO / "config.yaml"), str(target)]
    lock = tomllib.loads((env / LOCK_NAME).read_text())
    weights, config = lock["demo-hub-weights"], lock["demo-hub-config"]
    assert (weights["sha256"], weights["checked"]) == (sha(files["weights.bin"]), "hub's LFS sha256")
    assert (weights["hf_repo"], weights["hf_revision"], weights["hf_commit"], weights["hf_file"]) == \
        (REPO, REV, REV, "weights.bin")
    assert (config["sha256"], config["checked"]) == (sha(files["config.yaml"]), "hub's git blob id")
    storage = [h for path, h in server.seen if path.startswith("/storage/")]
    resolve = [h for path, h in server.seen if "/resolve/" in path]
    assert resolve and all(h["authorization"] == f"Bearer {TOKEN}" for h in resolve)
    assert storage and not any("authorization" in h for h in storage)   # the token stays with the hub

    assert reg.path("demo-hub-weights") == target and reg.sha256("demo-hub-weights") == sha(files["weights.bin"])
    assert reg.path("demo-hub-config") == env / REPO / "config.yaml"
    target.write_bytes(files["weights.bin"][:-1] + b"\0")
    with pytest.raises(ModelError, match=f"expected {weights['sha256']} \\(recorded in {LOCK_NAME}"):
        reg.path("demo-hub-weights")


def test_hub_bytes_that_differ_from_the_lfs_sha256_are_refused(server, env, tmp_path, monkeypatch):
    files = {"weights.bin": blob(seed=5)}
    hub_routes(server, files, token=None)
    server.routes[f"/storage/{sha(files['weights.bin'])}"]["body"] = blob(seed=6)
    hub_registry(tmp_path / "registry.toml", server, files)
    monkeypatch.setenv("HF_ENDPOINT", server.url(""))
    one_error_line(run_cli("models", "fetch", "demo-hub-weights"), "the hub's LFS sha256",
                   f"expected {sha(files['weights.bin'])} got {sha(blob(seed=6))}")
    assert files_under(env) == []


def test_a_file_with_no_published_hash_is_locked_on_first_use(server, env, tmp_path):
    data = blob(seed=7)
    server.routes["/release/wavlm.pt"] = {"body": data}
    write_registry(tmp_path / "registry.toml",
                   demo_wavlm={"url": server.url("/release/wavlm.pt"), "file": "demo/wavlm.pt"})
    out = run_cli("models", "fetch", "demo-wavlm")
    assert out.returncode == 0, out.stderr
    warning = [line for line in out.stderr.splitlines() if line.startswith("voxpost: warning: ")]
    assert len(warning) == 1 and "trust on first use" in warning[0] and sha(data) in warning[0]
    assert tomllib.loads((env / LOCK_NAME).read_text())["demo-wavlm"]["checked"] == "first use"
    assert Registry.load(tmp_path / "registry.toml", dirs=[env]).path("demo-wavlm") == env / "demo" / "wavlm.pt"


def test_unknown_name_suggests_close_ones(server, env, tmp_path):
    write_registry(tmp_path / "registry.toml",
                   demo_seg={"url": server.url("/files/seg.bin"), "sha256": sha(b""), "file": "demo/seg.bin"})
    one_error_line(run_cli("models", "fetch", "demo-sge"), "unknown model 'demo-sge'", "did you mean demo-seg?")
    assert server.seen == []


def test_lock_of_an_older_url_does_not_count(server, env, tmp_path):
    data = blob(seed=8)
    server.routes["/v1/wavlm.pt"] = {"body": data}
    write_registry(tmp_path / "registry.toml", demo_wavlm={"url": server.url("/v1/wavlm.pt"), "file": "demo/wavlm.pt"})
    assert run_cli("models", "fetch", "demo-wavlm", "-q").returncode == 0
    write_registry(tmp_path / "registry.toml", demo_wavlm={"url": server.url("/v2/wavlm.pt"), "file": "demo/wavlm.pt"})
    with pytest.raises(ModelError, match="not yet recorded"):
        Registry.load(tmp_path / "registry.toml", dirs=[env]).path("demo-wavlm")
    assert os.path.getsize(env / "demo" / "wavlm.pt") == len(data)


def test_doctor_names_what_serves_each_capability_once_fetched(server, env, tmp_path):
    data = blob(seed=9)
    server.routes["/whisper/tiny.pt"] = {"body": data}
    write_registry(tmp_path / "registry.toml", whisper_tiny={
        "capability": "transcribe", "backend": "whisper", "url": server.url("/whisper/tiny.pt"),
        "sha256": sha(data), "file": "whisper/tiny.pt"})
    before = {r["name"]: r for r in json.loads(run_cli("doctor", "--json").stdout)}
    assert not before["capability: transcribe"]["available"]
    # the default is the embedded CTranslate2 tiny.en, which this registry lacks
    assert "voxpost models fetch faster-whisper-tiny.en" in before["capability: transcribe"]["detail"]
    assert run_cli("models", "fetch", "whisper-tiny").returncode == 0
    out = run_cli("doctor", "--json")
    assert out.returncode == 0, out.stderr
    rows = {r["name"]: r for r in json.loads(out.stdout)}
    for capability in ("diarize", "denoise", "voice-convert", "foley"):
        assert rows[f"capability: {capability}"]["detail"], capability
    assert "voxpost models fetch knnvc" in rows["capability: voice-convert"]["detail"]
