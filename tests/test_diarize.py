"""Tests of speaker diarization: the embedded diarizer on real and synthetic conversations, edge
cases, and the pyannote backend end to end on tiny random-weight checkpoints in pyannote's real
on-disk formats, loaded through the registry like a user's install."""

from __future__ import annotations

import json
import os
import warnings

import numpy as np
import pytest
import soundfile as sf

from voxpost.errors import ModelError, ParameterError
from voxpost.speech import diarize as D
from voxpost.speech.diarize import diarize, diarize_file


def der(reference, turns, duration, component=None):
    from pyannote.core import Annotation, Segment, Timeline
    from pyannote.metrics.diarization import DiarizationErrorRate

    ref, hyp = Annotation(), Annotation()
    for i, (s, e, label) in enumerate(reference):
        ref[Segment(s, e), i] = label
    for i, (s, e, label) in enumerate(turns):
        hyp[Segment(s, e), i] = label
    d = DiarizationErrorRate(collar=0.25, skip_overlap=False)(ref, hyp, uem=Timeline([Segment(0, duration)]),
                                                             detailed=True)
    return d["diarization error rate"] if component is None else d[component] / d["total"]


def read_rttm(path):
    out = []
    for line in path.read_text().splitlines():
        p = line.split()
        out.append((float(p[3]), float(p[3]) + float(p[4]), p[7]))
    return out


def well_formed(turns, duration):
    assert turns == sorted(turns, key=lambda t: t[0])
    for s, e, label in turns:
        assert 0.0 <= s < e <= duration + 1e-6
        assert label.startswith("SPEAKER_") and len(label) == 10
    labels = []
    for *_, label in turns:
        if label not in labels:
            labels.append(label)
    assert labels == [f"SPEAKER_{i:02d}" for i in range(len(labels))]


def mono16k(path):
    from voxpost.stream import AudioReader
    import soxr

    with AudioReader(path) as r:
        x, sr = r.read().mean(axis=0), r.sample_rate
    return soxr.resample(x, sr, 16000).astype(np.float32) if sr != 16000 else x


def conversation(corpus):
    """LJSpeech (female) and JFK (male) alternating, 8 turns of 2-4 s with short pauses."""
    a = np.concatenate([mono16k(corpus / "speech" / f"LJ001-000{i}.wav") for i in (1, 3)])
    b = mono16k(corpus / "speech" / "jfk.flac")
    a, b = a / np.abs(a).max() * 0.5, b / np.abs(b).max() * 0.5
    rng = np.random.default_rng(7)
    parts, ref, t, pos = [np.zeros(8000, np.float32)], [], 0.5, {0: 0, 1: 0}
    for i in range(8):
        who = i % 2
        src = (a, b)[who]
        n = int(rng.uniform(2.0, 4.0) * 16000)
        if pos[who] + n > src.size:
            pos[who] = 0
        seg = src[pos[who]:pos[who] + n]
        pos[who] += n
        parts.append(seg)
        ref.append((t, t + seg.size / 16000, "AB"[who]))
        t += seg.size / 16000
        gap = int(rng.uniform(0.2, 0.5) * 16000)
        parts.append(np.zeros(gap, np.float32))
        t += gap / 16000
    x = np.concatenate(parts) + np.random.default_rng(8).normal(0, 1e-3, sum(p.size for p in parts))
    return x.astype(np.float32), ref


# ------------------------------------------------------------------------------------------------
# embedded diarizer
# ------------------------------------------------------------------------------------------------

def test_embedded_der_on_pyannote_sample(corpus):
    path = corpus / "multispeaker" / "pyannote_sample.wav"
    turns = diarize_file(path, backend="embedded")
    well_formed(turns, 30.0)
    assert len({t[2] for t in turns}) == 2
    # measured 0.083 (collar 0.25 s, overlap scored); target <= 0.25
    assert der(read_rttm(corpus / "multispeaker" / "pyannote_sample.rttm"), turns, 30.0) <= 0.11


def test_embedded_synthetic_conversation(corpus):
    x, ref = conversation(corpus)
    turns = diarize(x, 16000, backend="embedded")
    well_formed(turns, x.size / 16000)
    assert len({t[2] for t in turns}) == 2
    # the reference turns include the pauses inside each excerpt, so most of the DER is missed
    # "speech" that is silence; speaker confusion is what this measures (0.163 and 0.000 measured)
    assert der(ref, turns, x.size / 16000) <= 0.20
    assert der(ref, turns, x.size / 16000, "confusion") <= 0.02
    # purity: nearly all labelled time inside each reference turn has one label, one per speaker
    owner = {}
    for s, e, who in ref:
        cover = {}
        for ts, te, label in turns:
            cover[label] = cover.get(label, 0.0) + max(0.0, min(e, te) - max(s, ts))
        best = max(cover, key=cover.get)
        assert cover[best] >= 0.95 * sum(cover.values())
        owner.setdefault(who, set()).add(best)
    assert all(len(v) == 1 for v in owner.values()) and owner["A"] != owner["B"]


def test_num_speakers_is_honoured(corpus):
    x, _ = conversation(corpus)
    for k in (1, 2, 3):
        assert len({t[2] for t in diarize(x, 16000, backend="embedded", num_speakers=k)}) == k
    assert len({t[2] for t in diarize(x, 16000, backend="embedded", max_speakers=1)}) == 1


def test_silence_and_tiny_inputs():
    assert diarize(np.zeros(16000 * 3, np.float32), 16000, backend="embedded") == []
    noise = np.random.default_rng(0).normal(0, 1e-4, 4800).astype(np.float32)
    turns = diarize(noise, 16000, backend="embedded")          # 0.3 s
    well_formed(turns, 0.3)
    assert diarize(np.zeros(0, np.float32), 16000, backend="embedded") == []


def test_tiny_speech_input(corpus):
    x = mono16k(corpus / "speech" / "jfk.flac")[16000:16000 + 4800]
    turns = diarize(x, 16000, backend="embedded")
    well_formed(turns, 0.3)
    assert len({t[2] for t in turns}) <= 1


def test_stereo_48k_and_telephone_8k(corpus):
    import soxr

    x, sr = sf.read(corpus / "multispeaker" / "pyannote_sample.wav", dtype="float32")
    ref = read_rttm(corpus / "multispeaker" / "pyannote_sample.rttm")
    x48 = soxr.resample(x, sr, 48000).astype(np.float32)
    stereo = np.stack([x48, 0.5 * x48])
    turns = diarize(stereo, 48000, backend="embedded")
    well_formed(turns, 30.0)
    assert der(ref, turns, 30.0) <= 0.25
    x8 = soxr.resample(x, sr, 8000).astype(np.float32)
    turns = diarize(x8, 8000, backend="embedded")
    well_formed(turns, 30.0)
    assert der(ref, turns, 30.0) <= 0.35


def test_deterministic(corpus):
    x, _ = conversation(corpus)
    assert diarize(x, 16000, backend="embedded") == diarize(x, 16000, backend="embedded")


def test_bad_parameters():
    x = np.zeros(16000, np.float32)
    for kw in ({"backend": "nemo"}, {"num_speakers": 0}, {"min_speakers": 3, "max_speakers": 2},
               {"num_speakers": 1.5}):
        with pytest.raises(ParameterError) as info:
            diarize(x, 16000, **kw)
        assert "\n" not in str(info.value)
    with pytest.raises(ParameterError):
        diarize(np.full(100, np.nan, np.float32), 16000)


def test_viterbi_kernel_matches_reference():
    from voxpost.dsp.viterbi import viterbi, viterbi_reference

    rng = np.random.default_rng(3)
    for k, pen in ((2, 0.0), (3, 5.0), (5, 40.0), (1, 1.0)):
        s = rng.normal(0, 3, (500, k))
        assert np.array_equal(viterbi(s, pen), viterbi_reference(s, pen))
    s = np.zeros((10, 3))                     # ties go to the lowest state
    assert np.array_equal(viterbi(s, 1.0), np.zeros(10, np.int64))
    assert viterbi(np.zeros((0, 2)), 1.0).size == 0


# ------------------------------------------------------------------------------------------------
# pyannote backend
# ------------------------------------------------------------------------------------------------

CONFIG = """\
# like pyannote/speaker-diarization-community-1's config.yaml: VBx clustering with a PLDA
pipeline:
  name: pyannote.audio.pipelines.SpeakerDiarization
  params:
    clustering: VBxClustering
    embedding: $model/embedding
    embedding_batch_size: 8
    embedding_exclude_overlap: true
    plda: $model/plda
    segmentation: $model/segmentation
    segmentation_batch_size: 8
params:
  clustering:
    Fa: 0.07
    Fb: 0.8
    threshold: 0.6
  segmentation:
    min_duration_off: 0.0
"""


def build_pipeline_dir(root):
    """Tiny random-weight community-1 look-alike: a powerset PyanNet, a WeSpeaker ResNet34 (the
    real embedding architecture, random weights), PLDA/x-vector transforms in VBx's npz layout."""
    import torch
    from pyannote.audio.core.task import Problem, Resolution, Specifications
    from pyannote.audio.models.embedding import WeSpeakerResNet34
    from pyannote.audio.models.segmentation import PyanNet

    torch.manual_seed(0)
    seg = PyanNet(lstm={"hidden_size": 16, "num_layers": 1}, linear={"hidden_size": 16, "num_layers": 1})
    seg.specifications = Specifications(
        problem=Problem.MONO_LABEL_CLASSIFICATION, resolution=Resolution.FRAME, duration=10.0,
        classes=["speaker#1", "speaker#2", "speaker#3"], powerset_max_classes=2, permutation_invariant=True)
    seg.setup()
    emb = WeSpeakerResNet34()
    emb.specifications = Specifications(problem=Problem.REPRESENTATION, resolution=Resolution.CHUNK, duration=5.0)
    for sub, model in (("segmentation", seg), ("embedding", emb)):
        model.eval()
        ckpt = {"state_dict": model.state_dict(), "hyper_parameters": dict(model.hparams)}
        model.on_save_checkpoint(ckpt)    # pyannote's own checkpoint block
        (root / sub).mkdir(parents=True, exist_ok=True)
        torch.save(ckpt, root / sub / "pytorch_model.bin")
    rng = np.random.default_rng(0)
    dim, lda = 256, 16
    (root / "plda").mkdir(exist_ok=True)
    np.savez(root / "plda" / "xvec_transform.npz", mean1=rng.normal(size=dim) * 0.01,
             mean2=rng.normal(size=lda) * 0.01, lda=np.linalg.qr(rng.normal(size=(dim, lda)))[0])
    np.savez(root / "plda" / "plda.npz", mu=np.zeros(lda), tr=np.eye(lda) + 0.01 * rng.normal(size=(lda, lda)),
             psi=np.linspace(2.0, 0.5, lda))
    (root / "config.yaml").write_text(CONFIG)
    return root


@pytest.fixture(scope="module")
def pyannote_models(tmp_path_factory):
    from voxpost.models import sha256_file
    from voxpost.speech.diarize_pyannote import DIR, FILES

    models = tmp_path_factory.mktemp("models")
    root = build_pipeline_dir(models / DIR)
    tables = []
    for name, rel in FILES.items():
        keys = {"capability": "diarize", "backend": "pyannote", "url": f"https://huggingface.co/{DIR}/resolve/x/{rel}",
                "sha256": sha256_file(root / rel), "size_mb": 1.0, "licence": "CC-BY-4.0",
                "file": f"{DIR}/{rel}", "description": "tiny test model"}
        tables.append(f'["{name}"]\n' + "\n".join(f"{k} = {json.dumps(v)}" for k, v in keys.items()))
    registry = models / "registry.toml"
    registry.write_text("\n\n".join(tables) + "\n")
    return models, registry, root


def test_pyannote_end_to_end_through_registry(corpus, pyannote_models, monkeypatch):
    models, registry, _ = pyannote_models
    monkeypatch.setenv("VOXPOST_MODELS", str(models))
    monkeypatch.setenv("VOXPOST_REGISTRY", str(registry))
    x, sr = sf.read(corpus / "multispeaker" / "pyannote_sample.wav", dtype="float32")
    x = x[:12 * sr]
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # random weights: pyannote warns about degenerate statistics
        turns = diarize(x, sr, backend="auto", progress=seen.append)   # auto: the checkpoints are installed
        again = diarize(x, sr, backend="pyannote", num_speakers=2)
    for t in (turns, again):
        well_formed(t, 12.0)     # random weights: no accuracy asserted
    assert seen and seen[-1] == 1.0 and seen == sorted(seen)


def test_pyannote_corrupt_file_is_refused(pyannote_models, monkeypatch, tmp_path):
    import shutil

    from voxpost.speech.diarize_pyannote import DIR

    models, registry, root = pyannote_models
    copy = tmp_path / "models"
    shutil.copytree(models, copy)
    target = copy / DIR / "plda" / "plda.npz"
    data = bytearray(target.read_bytes())
    data[-10] ^= 0xFF
    target.write_bytes(bytes(data))
    monkeypatch.setenv("VOXPOST_MODELS", str(copy))
    monkeypatch.setenv("VOXPOST_REGISTRY", str(registry))
    with pytest.raises(ModelError, match="sha256 mismatch"):
        diarize(np.zeros(16000, np.float32), 16000, backend="pyannote")


def test_pyannote_without_checkpoints_names_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("VOXPOST_MODELS", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("VOXPOST_REGISTRY", raising=False)
    with pytest.raises(ModelError) as info:
        diarize(np.zeros(16000, np.float32), 16000, backend="pyannote")
    message = str(info.value)
    assert "\n" not in message
    assert "pyannote/speaker-diarization-community-1" in message and str(tmp_path) in message
    assert "embedded" in message
    # auto falls back to the embedded diarizer
    assert diarize(np.zeros(16000, np.float32), 16000) == []


def test_pyannote_unrecorded_sha256_is_refused(tmp_path, monkeypatch):
    """The repo registry has no sha256 for the community-1 files yet: installed files are refused."""
    from voxpost.speech.diarize_pyannote import DIR, FILES

    for rel in FILES.values():
        (tmp_path / DIR / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / DIR / rel).write_bytes(b"anything")
    monkeypatch.setenv("VOXPOST_MODELS", str(tmp_path))
    monkeypatch.delenv("VOXPOST_REGISTRY", raising=False)
    with pytest.raises(ModelError, match="sha256 is not yet recorded"):
        diarize(np.zeros(16000, np.float32), 16000, backend="pyannote")


def test_user_pipeline_dir(pyannote_models, tmp_path):
    _, _, root = pyannote_models
    with pytest.raises(ModelError, match="no config.yaml"):
        diarize(np.zeros(16000, np.float32), 16000, backend="pyannote", pyannote_dir=tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.yaml").write_text("pipeline:\n  name: os.system\n")
    with pytest.raises(ModelError, match="only pyannote.audio's SpeakerDiarization"):
        diarize(np.zeros(16000, np.float32), 16000, backend="pyannote", pyannote_dir=bad)
    assert os.path.isdir(root)


def test_cli_diarize_writes_rttm(corpus, tmp_path):
    from conftest import run_cli

    out = tmp_path / "sample.rttm"
    r = run_cli("diarize", corpus / "multispeaker" / "pyannote_sample.wav", "-o", out, "--backend", "embedded")
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert lines and all(line.startswith("SPEAKER pyannote_sample 1 ") for line in lines)
    assert len({line.split()[7] for line in lines}) == 2
    r = run_cli("diarize", corpus / "multispeaker" / "pyannote_sample.wav", "-o", tmp_path / "x.rttm",
                "--num-speakers", "0")
    assert r.returncode == 2 and not (tmp_path / "x.rttm").exists()
