"""Tests of the neural foley backend (Stable Audio Open through diffusers) on a tiny random-weight
pipeline written in the published on-disk format: a diffusers folder saved by
``StableAudioPipeline.save_pretrained`` (model_index.json, safetensors weights and configs of the
T5 text encoder, projection model, DiT and Oobleck VAE, the cosine DPM-Solver scheduler config and
a T5 tokenizer whose Unigram vocabulary the test writes itself). Loaded by the real loader, from
a path and through a registry; nothing is downloaded."""

from __future__ import annotations

import shutil
import sys
import warnings

import numpy as np
import soundfile as sf
import pytest

pytest.importorskip("diffusers")
pytest.importorskip("transformers")
pytest.importorskip("torchsde")

import torch  # noqa: E402

from voxpost.errors import ModelError  # noqa: E402
from voxpost.foley import neural  # noqa: E402
from voxpost.foley.model import FoleyError  # noqa: E402
from voxpost.models import Registry, sha256_file  # noqa: E402

MODEL_SR = 8000                  # the tiny VAE's rate (the real one: 44100)
HOP = 4 * 8                      # its downsampling ratios' product (the real one: 2048)
SAMPLE_SIZE = 128                # latent frames: 128 * 32 / 8000 = 0.512 s (the real one: 1024)
WORDS = ("▁foot ▁steps ▁on ▁gravel ▁door ▁slam ▁rain ▁wind ▁low ▁quality ▁a ▁the "
         "▁ a b c d e f g h i j k l m n o p q r s t u v w x y z , .").split()


def build_tiny(folder):
    """Save a random-weight StableAudioPipeline (~200 KB) with the real pipeline's component classes."""
    from diffusers import (AutoencoderOobleck, CosineDPMSolverMultistepScheduler, StableAudioDiTModel,
                           StableAudioPipeline)
    from diffusers.pipelines.stable_audio.modeling_stable_audio import StableAudioProjectionModel
    from transformers import T5Config, T5EncoderModel, T5Tokenizer

    torch.manual_seed(0)
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)] + [(w, -1.0 - i) for i, w in enumerate(WORDS)]
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=16)
    text_encoder = T5EncoderModel(T5Config(vocab_size=len(tokenizer), d_model=16, d_kv=4, d_ff=32,
                                           num_layers=2, num_heads=4, relative_attention_num_buckets=8,
                                           decoder_start_token_id=0)).eval()
    projection = StableAudioProjectionModel(text_encoder_dim=16, conditioning_dim=8, min_value=0, max_value=512)
    transformer = StableAudioDiTModel(sample_size=SAMPLE_SIZE, in_channels=4, num_layers=2, attention_head_dim=8,
                                      num_attention_heads=2, num_key_value_attention_heads=1, out_channels=4,
                                      cross_attention_dim=16, time_proj_dim=8, global_states_input_dim=16,
                                      cross_attention_input_dim=8)
    with warnings.catch_warnings():   # the Oobleck VAE still uses torch's old weight_norm
        warnings.filterwarnings("ignore", message=".*weight_norm.* is deprecated", category=FutureWarning)
        vae = AutoencoderOobleck(encoder_hidden_size=8, downsampling_ratios=[4, 8], channel_multiples=[1, 2],
                                 decoder_channels=8, decoder_input_channels=4, audio_channels=2,
                                 sampling_rate=MODEL_SR)
    # Stable Audio Open's scheduler settings (v-prediction, exponential sigmas 0.3 .. 500)
    scheduler = CosineDPMSolverMultistepScheduler(sigma_min=0.3, sigma_max=500, sigma_data=1.0,
                                                  sigma_schedule="exponential", solver_order=2,
                                                  prediction_type="v_prediction")
    with torch.no_grad():   # random weights big enough that the output is not near silence
        for p in transformer.proj_out.parameters():
            p.normal_(0, 0.5)
    pipe = StableAudioPipeline(vae=vae, text_encoder=text_encoder, projection_model=projection,
                               tokenizer=tokenizer, transformer=transformer, scheduler=scheduler)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return build_tiny(tmp_path_factory.mktemp("sao") / neural.NAME)


@pytest.fixture(scope="module")
def model(tiny):
    return neural.load(tiny)


def write_registry(toml, sha=None, **over):
    """A registry with the four weight entries of the repository's registry, their sha256 given."""
    repo = Registry.load(neural_registry_path())
    lines = []
    for name, rel in neural.ENTRIES.items():
        e = repo.get(name)
        lines += [f'["{name}"]', f'capability = "{e.capability}"', f'backend = "{e.backend}"',
                  f'url = "{e.url}"', f'sha256 = "{(sha or {}).get(rel, "")}"', f"size_mb = {e.size_mb}",
                  f'licence = "{e.licence}"', f'file = "{over.get(rel, e.file)}"',
                  f'description = "{e.description}"', ""]
    toml.write_text("\n".join(lines), encoding="utf-8")
    return toml


def neural_registry_path():
    from voxpost.models import REPO_MODELS_DIR

    return REPO_MODELS_DIR / "registry.toml"


def install(tiny, models):
    shutil.copytree(tiny, models / neural.NAME)
    return {rel: sha256_file(models / neural.NAME / rel) for rel in neural.ENTRIES.values()}


def one_line(excinfo):
    msg = str(excinfo.value)
    assert msg and "\n" not in msg, msg
    return msg


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------

def test_tiny_checkpoint_is_a_diffusers_folder(tiny):
    index = (tiny / "model_index.json").read_text()
    assert '"StableAudioPipeline"' in index and '"CosineDPMSolverMultistepScheduler"' in index
    for rel in neural.ENTRIES.values():
        assert (tiny / rel).is_file()
    assert (tiny / "tokenizer" / "tokenizer.json").is_file()
    assert sum(f.stat().st_size for f in tiny.rglob("*") if f.is_file()) < 1_000_000


def test_load_from_path_reports_sha256(model, tiny):
    assert isinstance(model, neural.NeuralFoley)
    assert model.sources["path"] == str(tiny) and model.sources["verified"] is False
    assert model.sources["files"] == {rel: sha256_file(tiny / rel) for rel in neural.ENTRIES.values()}
    assert model.sample_rate == MODEL_SR
    assert model.max_duration_s == pytest.approx(SAMPLE_SIZE * HOP / MODEL_SR)


def test_load_refuses_what_is_not_the_model(tmp_path, tiny):
    with pytest.raises(ModelError, match="does not exist") as e:
        neural.load(tmp_path / "nowhere")
    one_line(e)
    with pytest.raises(ModelError, match="model_index.json"):
        neural.load(tmp_path)
    other = tmp_path / "other"
    shutil.copytree(tiny, other)
    (other / "model_index.json").write_text('{"_class_name": "AudioLDMPipeline"}')
    with pytest.raises(ModelError, match="not a StableAudioPipeline"):
        neural.load(other)
    broken = tmp_path / "broken"
    shutil.copytree(tiny, broken)
    (broken / "vae" / "diffusion_pytorch_model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(ModelError, match="cannot be loaded by diffusers") as e:
        neural.load(broken)
    one_line(e)


# ------------------------------------------------------------------------------------------------
# generation
# ------------------------------------------------------------------------------------------------

def test_generate_length_determinism_and_seeds(model):
    kw = dict(duration_s=0.3, sample_rate=16000, steps=4)
    a = neural.generate(model, "footsteps on gravel", seed=1, **kw)
    assert a.dtype == np.float32 and a.shape == (round(0.3 * 16000),)
    assert np.all(np.isfinite(a)) and np.abs(a).max() > 1e-4
    np.testing.assert_array_equal(a, neural.generate(model, "footsteps on gravel", seed=1, **kw))
    b = neural.generate(model, "footsteps on gravel", seed=2, **kw)
    assert np.abs(a - b).max() > 1e-4
    c = neural.generate(model, "door slam", seed=1, **kw)
    assert np.abs(a - c).max() > 1e-6          # the prompt conditions the output


def test_generate_exact_frames_at_odd_rates_and_the_limit(model):
    for d, sr in ((0.1234, 48000), (0.2, 44100), (model.max_duration_s, 48000)):
        x = neural.generate(model, "rain", duration_s=d, seed=3, sample_rate=sr, steps=2,
                            guidance=1.0, negative_prompt="low quality")
        assert x.shape == (round(d * sr),) and np.all(np.isfinite(x))
    x = neural.generate(model, "rain", duration_s=0.2, seed=3, sample_rate=MODEL_SR, steps=2)
    assert x.shape == (round(0.2 * MODEL_SR),)


@pytest.mark.parametrize("kw, match", [
    (dict(prompt=" "), "non-empty"),
    (dict(duration_s=0.0), "duration"),
    (dict(duration_s=5.0), "at most 0.51"),
    (dict(duration_s=float("nan")), "duration"),
    (dict(sample_rate=0), "sample_rate"),
    (dict(steps=0), "steps"),
    (dict(guidance=-1.0), "guidance"),
    (dict(seed=-1), "seed"),
])
def test_generate_refuses_bad_arguments(model, kw, match):
    args = dict(prompt="wind", duration_s=0.2, seed=0, sample_rate=16000, steps=2) | kw
    prompt = args.pop("prompt")
    with pytest.raises(FoleyError, match=match) as e:
        neural.generate(model, prompt, **args)
    one_line(e)


# ------------------------------------------------------------------------------------------------
# registry
# ------------------------------------------------------------------------------------------------

def test_repository_registry_entries():
    reg = Registry.load()
    for name, rel in neural.ENTRIES.items():
        e = reg.get(name)
        assert e.file == f"{neural.NAME}/{rel}"
        assert e.url == f"https://huggingface.co/stabilityai/stable-audio-open-1.0/resolve/main/{rel}"
        assert e.capability == "foley" and e.backend == "stable-audio"


def test_load_through_registry(tiny, tmp_path, monkeypatch):
    models = tmp_path / "models"
    sha = install(tiny, models)
    toml = write_registry(tmp_path / "registry.toml", sha)
    reg = Registry.load(toml, dirs=[models])
    assert neural.unavailable_reason(reg) is None and neural.available(reg)
    m = neural.load(registry=reg)
    assert m.sources == {"path": str(models / neural.NAME), "verified": True, "files": sha}
    x = neural.generate(m, "wind", duration_s=0.2, seed=5, sample_rate=16000, steps=2)
    y = neural.generate(neural.load(tiny), "wind", duration_s=0.2, seed=5, sample_rate=16000, steps=2)
    np.testing.assert_array_equal(x, y)
    # the default registry and search path come from the environment
    monkeypatch.setenv("VOXPOST_MODELS", str(models))
    monkeypatch.setenv("VOXPOST_REGISTRY", str(toml))
    assert neural.available()
    assert neural.load().sources["verified"] is True


def test_corrupt_file_is_refused(tiny, tmp_path):
    models = tmp_path / "models"
    sha = install(tiny, models)
    reg = Registry.load(write_registry(tmp_path / "registry.toml", sha), dirs=[models])
    vae = models / neural.NAME / "vae" / "diffusion_pytorch_model.safetensors"
    data = bytearray(vae.read_bytes())
    data[-1] ^= 0x01
    vae.write_bytes(bytes(data))
    assert not neural.available(reg)
    assert "sha256 mismatch" in neural.unavailable_reason(reg)
    with pytest.raises(ModelError, match="sha256 mismatch") as e:
        neural.load(registry=reg)
    one_line(e)


def test_unrecorded_sha256_and_missing_files_are_refused(tiny, tmp_path):
    models = tmp_path / "models"
    assert "not installed" in neural.unavailable_reason(Registry.load(write_registry(tmp_path / "a.toml"),
                                                                      dirs=[models]))
    install(tiny, models)
    reg = Registry.load(write_registry(tmp_path / "b.toml"), dirs=[models])   # sha256 ""
    reason = neural.unavailable_reason(reg)
    assert "not yet recorded" in reason and "\n" not in reason
    with pytest.raises(ModelError, match="not yet recorded"):
        neural.load(registry=reg)


def test_the_repository_registry_refuses_until_hashes_are_recorded(tiny, tmp_path, monkeypatch):
    monkeypatch.setenv("VOXPOST_MODELS", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("VOXPOST_REGISTRY", raising=False)
    reason = neural.unavailable_reason()
    assert reason and "huggingface.co/stabilityai/stable-audio-open-1.0" in reason
    install(tiny, tmp_path)
    if all(Registry.load().get(n).sha256 for n in neural.ENTRIES):
        pytest.skip("the registry records the sha256 of every Stable Audio Open file now")
    assert not neural.available()


def test_split_folder_is_refused(tiny, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    sha = install(tiny, a)
    install(tiny, b)
    (a / neural.NAME / "vae" / "diffusion_pytorch_model.safetensors").unlink()
    reg = Registry.load(write_registry(tmp_path / "r.toml", sha), dirs=[a, b])
    with pytest.raises(ModelError, match="keep the whole diffusers folder together"):
        neural.load(registry=reg)


def test_missing_packages(tiny, tmp_path, monkeypatch):
    models = tmp_path / "models"
    sha = install(tiny, models)
    reg = Registry.load(write_registry(tmp_path / "registry.toml", sha), dirs=[models])
    assert neural.available(reg)
    monkeypatch.setitem(sys.modules, "diffusers", None)    # as if it were not installed
    assert not neural.available(reg)
    assert "diffusers not installed" in neural.unavailable_reason(reg)
    with pytest.raises(ModelError, match="pip install diffusers"):
        neural.load(tiny)


# -- through voxpost foley's take generation ------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sao") / "stable-audio-open-1.0"
    build_tiny(folder)
    return folder


def test_generate_falls_back_to_neural_for_sounds_the_models_do_not_know(tiny_folder, tmp_path):
    import json

    from voxpost.foley.generate import generate

    takes = generate("a spaceship hum", tmp_path / "out", duration_s=0.4, variations=2, backend="auto",
                     model_path=str(tiny_folder), neural_steps=2)
    assert [t.path.name for t in takes] == ["MISCMisc_A Spaceship Hum_VOXPOST_T01.wav",
                                            "MISCMisc_A Spaceship Hum_VOXPOST_T02.wav"]
    doc = json.loads(takes[0].sidecar.read_text())
    assert doc["backend"] == "neural" and doc["model"]["files"] and doc["take_seed"] == 0
    x, sr = sf.read(takes[0].path)
    assert sr == 48000 and x.shape == (int(0.4 * 48000), 2) and np.isfinite(x).all()
    assert takes[0].peak_dbtp <= -1.0 + 0.05


def test_generate_neural_keeps_the_prompts_model_name_and_refuses_cues(tiny_folder, tmp_path):
    from voxpost.foley.generate import generate
    from voxpost.foley.model import FoleyError

    takes = generate("footsteps on gravel", tmp_path / "out", duration_s=0.4, variations=1, backend="neural",
                     model_path=str(tiny_folder), neural_steps=2)
    assert takes[0].path.name.startswith("FEETHmn_")
    with pytest.raises(FoleyError, match="cues"):
        generate("footsteps on gravel", tmp_path / "o2", cues_s=[0.1], backend="neural", model_path=str(tiny_folder))
    with pytest.raises(FoleyError, match="no sound model"):
        generate("a spaceship hum", tmp_path / "o3", backend="procedural")
    assert not (tmp_path / "o2").exists() or not any((tmp_path / "o2").iterdir())
