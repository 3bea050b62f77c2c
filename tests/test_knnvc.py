"""Tests of the kNN-VC backend on tiny random-weight checkpoints written in the published on-disk
formats (Microsoft's WavLM ``{"cfg", "model"}`` with Microsoft's parameter names; kNN-VC's
``{"generator": state}`` with weight-norm ``weight_g``/``weight_v``), loaded by the real loader,
from explicit paths and through a registry, and run on real speech."""

from __future__ import annotations

import re

import numpy as np
import pytest
import soundfile as sf
import torch

from voxpost.errors import ModelError, ParameterError, VoxpostError
from voxpost.models import Registry, sha256_file
from voxpost.voice import hifigan, knnvc, wavlm

DIM = 32
CFG = {  # Microsoft WavLMConfig keys; a tiny model with WavLM-Large's frame layout
    "extractor_mode": "default", "encoder_layers": 8, "encoder_embed_dim": DIM,
    "encoder_ffn_embed_dim": 64, "encoder_attention_heads": 2, "activation_fn": "gelu",
    "layer_norm_first": True, "conv_feature_layers": "[(16,10,5)] + [(16,3,2)] * 4 + [(16,2,2)] * 2",
    "conv_bias": False, "dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.0,
    "encoder_layerdrop": 0.0, "dropout_input": 0.0, "conv_pos": 16, "conv_pos_groups": 4,
    "relative_position_embedding": True, "num_buckets": 32, "max_distance": 64, "gru_rel_pos": True,
    "normalize": True, "mask_prob": 0.65,
}
TINY_GEN = hifigan.GeneratorDims(feature_dim=DIM, hidden_dim=16, initial_channels=16,
                                 resblock_kernel_sizes=(3,))


def to_microsoft(state: dict) -> dict:
    """Inverse of wavlm.convert_wavlm_state: torchaudio names -> Microsoft's unilm names."""
    out = {"mask_emb": torch.rand(16)}
    for key, v in state.items():
        if m := re.fullmatch(r"feature_extractor\.conv_layers\.(\d+)\.conv\.(\w+)", key):
            out[f"feature_extractor.conv_layers.{m[1]}.0.{m[2]}"] = v
        elif m := re.fullmatch(r"feature_extractor\.conv_layers\.(\d+)\.layer_norm\.(\w+)", key):
            out[f"feature_extractor.conv_layers.{m[1]}.2.{m[2]}"] = v     # GroupNorm ("default")
        elif m := re.fullmatch(r"encoder\.feature_projection\.layer_norm\.(\w+)", key):
            out[f"layer_norm.{m[1]}"] = v
        elif m := re.fullmatch(r"encoder\.feature_projection\.projection\.(\w+)", key):
            out[f"post_extract_proj.{m[1]}"] = v
        elif key == "encoder.transformer.pos_conv_embed.conv.bias":
            out["encoder.pos_conv.0.bias"] = v
        elif key.endswith("pos_conv_embed.conv.parametrizations.weight.original0"):
            out["encoder.pos_conv.0.weight_g"] = v
        elif key.endswith("pos_conv_embed.conv.parametrizations.weight.original1"):
            out["encoder.pos_conv.0.weight_v"] = v
        elif m := re.fullmatch(r"encoder\.transformer\.layer_norm\.(\w+)", key):
            out[f"encoder.layer_norm.{m[1]}"] = v
        elif m := re.fullmatch(r"encoder\.transformer\.layers\.(\d+)\.attention\.attention\.in_proj_(\w+)", key):
            for name, part in zip("qkv", v.chunk(3)):
                out[f"encoder.layers.{m[1]}.self_attn.{name}_proj.{m[2]}"] = part
        elif m := re.fullmatch(r"encoder\.transformer\.layers\.(\d+)\.(.+)", key):
            rest = {"attention.attention.out_proj.": "self_attn.out_proj.",
                    "attention.rel_attn_embed.": "self_attn.relative_attention_bias.",
                    "attention.gru_rel_pos_linear.": "self_attn.grep_linear.",
                    "attention.gru_rel_pos_const": "self_attn.grep_a",
                    "layer_norm.": "self_attn_layer_norm.",
                    "feed_forward.intermediate_dense.": "fc1.",
                    "feed_forward.output_dense.": "fc2.",
                    "final_layer_norm.": "final_layer_norm."}
            for a, b in rest.items():
                if m[2].startswith(a):
                    out[f"encoder.layers.{m[1]}.{b}{m[2][len(a):]}"] = v
                    break
            else:
                raise AssertionError(key)
        else:
            raise AssertionError(key)
    return out


def tiny_wavlm():
    from torchaudio.models import wavlm_model

    torch.manual_seed(0)
    params = wavlm.wavlm_config(CFG)
    params["encoder_num_layers"] = CFG["encoder_layers"]       # the whole model, 8 layers
    model = wavlm_model(**params, aux_num_out=None).eval()
    with torch.no_grad():   # make the random layer norms and biases non-trivial
        for name, p in model.named_parameters():
            if "layer_norm" in name or name.endswith("bias") or "gru_rel_pos_const" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model


def with_weight_norm(state: dict) -> dict:
    """A plain generator state written as upstream saves it: conv weights as weight_g/weight_v."""
    out = {}
    for key, w in state.items():
        if key.endswith(".weight") and w.dim() == 3:
            g = w.norm(dim=(1, 2), keepdim=True)
            out[key[:-len("weight")] + "weight_g"] = g
            out[key[:-len("weight")] + "weight_v"] = w * 2.5
        else:
            out[key] = w
    return out


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    d = tmp_path_factory.mktemp("knnvc")
    net = tiny_wavlm()
    torch.save({"cfg": dict(CFG), "model": to_microsoft(net.state_dict())}, d / "WavLM-Large.pt")
    torch.manual_seed(1)
    gen = hifigan.Generator(TINY_GEN).eval()
    torch.save({"generator": with_weight_norm(gen.state_dict())}, d / "prematch_g_02500000.pt")
    return {"dir": d, "wavlm": d / "WavLM-Large.pt", "vocoder": d / "prematch_g_02500000.pt",
            "wavlm_model": net, "generator": gen}


@pytest.fixture(scope="module")
def model(checkpoints):
    return knnvc.load(wavlm_path=checkpoints["wavlm"], vocoder_path=checkpoints["vocoder"])


def speech(corpus, *names):
    parts = [sf.read(corpus / "speech" / f"{n}.wav", dtype="float32") for n in names]
    assert len({sr for _, sr in parts}) == 1
    return np.concatenate([x for x, _ in parts]), parts[0][1]


def one_line_error(excinfo):
    msg = str(excinfo.value)
    assert msg and "\n" not in msg, msg
    return msg


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------

def test_load_from_paths_maps_every_weight(model, checkpoints):
    assert isinstance(model, knnvc.KnnVC) and model.SAMPLE_RATE == 16000
    for part in ("wavlm", "vocoder"):
        assert model.sources[part] == {"path": str(checkpoints[part]),
                                       "sha256": sha256_file(checkpoints[part])}
    assert len(model.wavlm.encoder.transformer.layers) == wavlm.LAYER   # layers 7-8 not built
    # the renamed WavLM computes exactly what the original torchaudio module computes at layer 6
    x = torch.randn(1, 16000 + 80)
    with torch.inference_mode():
        ref = checkpoints["wavlm_model"].extract_features(x, num_layers=6)[0][5]
        got = model.wavlm.extract_features(x, num_layers=6)[0][5]
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)
    # folding weight_g/weight_v gives back the generator's plain weights
    f = torch.randn(1, 7, DIM)
    with torch.inference_mode():
        torch.testing.assert_close(model.vocoder(f), checkpoints["generator"](f), rtol=1e-5, atol=1e-6)
    assert model.vocoder(f).shape == (1, 1, 7 * 320)


def test_load_through_registry(checkpoints, tmp_path, monkeypatch):
    toml = tmp_path / "registry.toml"
    rows = []
    for name, key in ((knnvc.WAVLM_ENTRY, "wavlm"), (knnvc.VOCODER_ENTRY, "vocoder")):
        rows.append(f'["{name}"]\ncapability = "voice-convert"\nbackend = "knnvc"\n'
                    f'url = "https://example.invalid/x"\nsha256 = "{sha256_file(checkpoints[key])}"\nsize_mb = 1\nlicence = "MIT"\n'
                    f'file = "knnvc/{checkpoints[key].name}"\ndescription = "tiny"\n')
    toml.write_text("\n".join(rows))
    models = tmp_path / "models"
    (models / "knnvc").mkdir(parents=True)
    assert not knnvc.available(Registry.load(toml, dirs=[models]))
    for key in ("wavlm", "vocoder"):
        (models / "knnvc" / checkpoints[key].name).write_bytes(checkpoints[key].read_bytes())
    monkeypatch.setenv("VOXPOST_MODELS", str(models))
    reg = Registry.load(toml)
    assert knnvc.available(reg)
    m = knnvc.load(registry=reg)
    assert m.sources["vocoder"] == {"path": str(models / "knnvc" / "prematch_g_02500000.pt"),
                                    "sha256": sha256_file(checkpoints["vocoder"])}
    monkeypatch.setenv("VOXPOST_REGISTRY", str(toml))    # the default registry is read from here
    assert knnvc.load().sources == m.sources
    # a checkpoint that does not match the recorded sha256 is refused before it is read
    (models / "knnvc" / "WavLM-Large.pt").write_bytes(checkpoints["vocoder"].read_bytes())
    with pytest.raises(ModelError, match="sha256 mismatch") as e:
        knnvc.load(registry=Registry.load(toml))
    one_line_error(e)


def test_repository_registry_entries():
    reg = Registry.load()
    for name, file in ((knnvc.WAVLM_ENTRY, "WavLM-Large.pt"), (knnvc.VOCODER_ENTRY, "prematch_g_02500000.pt")):
        entry = reg.get(name)
        assert (entry.capability, entry.backend) == ("voice-convert", "knnvc")
        assert entry.url == f"https://github.com/bshall/knn-vc/releases/download/v0.1/{file}"
        assert entry.file == f"knnvc/{file}"


def test_not_installed_names_the_download(tmp_path, monkeypatch):
    monkeypatch.setenv("VOXPOST_MODELS", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("VOXPOST_REGISTRY", raising=False)
    assert not knnvc.available()
    with pytest.raises(ModelError) as e:
        knnvc.load()
    msg = one_line_error(e)
    assert "WavLM-Large.pt" in msg and str(tmp_path) in msg
    with pytest.raises(ModelError, match="does not exist"):
        knnvc.load(wavlm_path=tmp_path / "nope.pt", vocoder_path=tmp_path / "nope2.pt")


def test_corrupt_checkpoints_are_refused(checkpoints, tmp_path):
    data = checkpoints["wavlm"].read_bytes()
    cut = tmp_path / "cut.pt"
    cut.write_bytes(data[:len(data) // 2])
    with pytest.raises(ModelError, match="cannot be loaded as torch weights") as e:
        knnvc.load(wavlm_path=cut, vocoder_path=checkpoints["vocoder"])
    one_line_error(e)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint at all")
    with pytest.raises(ModelError) as e:
        knnvc.load(wavlm_path=checkpoints["wavlm"], vocoder_path=junk)
    one_line_error(e)
    # a well-formed torch file of the wrong kind
    torch.save({"model": {}}, junk)
    with pytest.raises(ModelError, match="Microsoft's WavLM format") as e:
        knnvc.load(wavlm_path=junk, vocoder_path=checkpoints["vocoder"])
    one_line_error(e)
    with pytest.raises(ModelError, match="'generator'"):
        knnvc.load(wavlm_path=checkpoints["wavlm"], vocoder_path=checkpoints["wavlm"])


def test_wrong_shaped_checkpoints_are_refused(checkpoints, tmp_path):
    ck = torch.load(checkpoints["wavlm"], weights_only=True)
    ck["model"]["encoder.layers.2.fc1.weight"] = torch.zeros(64, DIM + 1)
    bad = tmp_path / "bad_wavlm.pt"
    torch.save(ck, bad)
    with pytest.raises(ModelError, match="does not match its cfg.*fc1|size mismatch") as e:
        knnvc.load(wavlm_path=bad, vocoder_path=checkpoints["vocoder"])
    one_line_error(e)
    ck = torch.load(checkpoints["wavlm"], weights_only=True)
    ck["model"]["encoder.layers.0.self_attn.mystery.weight"] = torch.zeros(1)
    torch.save(ck, bad)
    with pytest.raises(ModelError, match="unexpected parameter"):
        knnvc.load(wavlm_path=bad, vocoder_path=checkpoints["vocoder"])
    ck = torch.load(checkpoints["wavlm"], weights_only=True)
    ck["cfg"]["encoder_layers"] = 4
    torch.save(ck, bad)
    with pytest.raises(ModelError, match="reads layer 6"):
        knnvc.load(wavlm_path=bad, vocoder_path=checkpoints["vocoder"])
    # a vocoder for other features (48-dimensional) does not pair with this WavLM
    gen = hifigan.Generator(hifigan.GeneratorDims(feature_dim=48, hidden_dim=16, initial_channels=16,
                                                  resblock_kernel_sizes=(3,)))
    voc = tmp_path / "bad_vocoder.pt"
    torch.save({"generator": with_weight_norm(gen.state_dict())}, voc)
    with pytest.raises(ModelError, match="48-dimensional") as e:
        knnvc.load(wavlm_path=checkpoints["wavlm"], vocoder_path=voc)
    one_line_error(e)
    state = with_weight_norm(hifigan.Generator(TINY_GEN).state_dict())
    state["resblocks.1.convs2.0.bias"] = torch.zeros(5)
    torch.save({"generator": state}, voc)
    with pytest.raises(ModelError, match="published design") as e:
        knnvc.load(wavlm_path=checkpoints["wavlm"], vocoder_path=voc)
    one_line_error(e)
    del state["ups.3.weight_v"]
    torch.save({"generator": state}, voc)
    with pytest.raises(ModelError, match="weight-norm pair"):
        knnvc.load(wavlm_path=checkpoints["wavlm"], vocoder_path=voc)


def test_published_generator_dimensions():
    dims = hifigan.GeneratorDims()
    assert dims.hop == 320
    state = hifigan.Generator(dims).state_dict()
    assert hifigan.GeneratorDims.from_state_dict(state) == dims
    assert sum(v.numel() for v in state.values()) > 10_000_000


# ------------------------------------------------------------------------------------------------
# matching and conversion
# ------------------------------------------------------------------------------------------------

def test_knn_average_is_mean_of_k_nearest_by_cosine():
    rng = np.random.default_rng(0)
    matching = rng.normal(size=(200, 8)).astype(np.float32)
    # scale rows wildly: cosine must ignore length, a Euclidean kNN would not
    matching *= rng.uniform(0.01, 100, size=(200, 1)).astype(np.float32)
    query = rng.normal(size=(37, 8)).astype(np.float32)
    for k in (1, 4, 7):
        got = knnvc.knn_average(torch.from_numpy(query), torch.from_numpy(matching), k).numpy()
        cos = (query / np.linalg.norm(query, axis=1, keepdims=True)) @ \
              (matching / np.linalg.norm(matching, axis=1, keepdims=True)).T
        expect = matching[np.argsort(-cos, axis=1)[:, :k]].mean(axis=1)
        np.testing.assert_allclose(got, expect, rtol=1e-5, atol=1e-4)
    # constructed: each query is nearest to exactly its own 4 planted neighbours
    base = np.eye(8, dtype=np.float32)
    planted = np.concatenate([base[i] + 0.01 * (j + 1) * base[(i + 1) % 8] for i in range(8) for j in range(4)])
    planted = planted.reshape(32, 8) * np.arange(1, 33, dtype=np.float32)[:, None]   # lengths vary
    got = knnvc.knn_average(torch.from_numpy(base), torch.from_numpy(planted), 4).numpy()
    np.testing.assert_allclose(got, planted.reshape(8, 4, 8).mean(axis=1), rtol=1e-6)


def test_convert_real_speech(model, corpus):
    src, sr = speech(corpus, "LJ001-0001")
    ref, rsr = speech(corpus, "LJ001-0002", "LJ001-0003")
    mset = knnvc.matching_set(model, ref, rsr)
    assert mset.dtype == np.float16 and mset.shape == (-(-round(ref.size * 16000 / rsr) // 320), DIM)
    assert np.isfinite(mset).all()
    y = knnvc.convert(model, src, sr, mset)
    assert y.dtype == np.float32 and y.ndim == 1
    assert y.size == round(src.size * 16000 / sr)
    assert np.isfinite(y).all() and np.abs(y).max() <= 1.0 and np.abs(y).max() > 0
    # the pipeline is exactly encode -> kNN (k=4) -> vocode
    x16 = knnvc._mono16k(src, sr, "x")
    feats = knnvc._features(model, x16)
    expect = knnvc.vocode(model, knnvc.knn_average(feats, torch.from_numpy(mset.astype(np.float32)), 4))
    np.testing.assert_allclose(y, expect[:y.size], atol=1e-6)
    # stereo (channels, frames) input and other rates give the exact length too
    for rate in (8000, 44100, 16000, 48000):
        n = 12345
        out = knnvc.convert(model, np.tile(src[:n], (2, 1)), rate, mset, k=2)
        assert out.size == round(n * 16000 / rate)


def test_features_are_aligned_and_chunking_is_seamless(model, monkeypatch):
    rng = np.random.default_rng(3)
    x = (0.1 * rng.normal(size=16000 * 3 + 123)).astype(np.float32)
    full = knnvc._features(model, x)
    assert full.shape == (-(-x.size // 320), DIM)
    feats = torch.from_numpy(rng.normal(size=(157, DIM)).astype(np.float32))
    whole = knnvc.vocode(model, feats)
    assert whole.shape == (157 * 320,)
    monkeypatch.setattr(knnvc, "VOCODER_CHUNK_FRAMES", 40)
    np.testing.assert_allclose(knnvc.vocode(model, feats), whole, atol=1e-5)
    monkeypatch.setattr(knnvc, "CHUNK_FRAMES", 50)
    monkeypatch.setattr(knnvc, "CONTEXT_FRAMES", 20)
    chunked = knnvc._features(model, x)
    assert chunked.shape == full.shape and torch.isfinite(chunked).all()


def test_bad_inputs(model):
    mset = np.zeros((10, DIM), np.float16) + 1
    with pytest.raises(ParameterError, match="too short"):
        knnvc.matching_set(model, np.zeros(100, np.float32), 16000)
    with pytest.raises(ParameterError, match="k must be"):
        knnvc.convert(model, np.zeros(1600, np.float32), 16000, mset, k=0)
    with pytest.raises(ParameterError, match="fewer than k"):
        knnvc.convert(model, np.zeros(1600, np.float32), 16000, mset[:3])
    with pytest.raises(ParameterError, match=r"\[frames, 32\]"):
        knnvc.convert(model, np.zeros(1600, np.float32), 16000, np.zeros((10, 5)))
    with pytest.raises(ParameterError, match="NaN"):
        knnvc.convert(model, np.full(1600, np.nan, np.float32), 16000, mset)
    with pytest.raises(ParameterError, match="sample rate"):
        knnvc.convert(model, np.zeros(1600, np.float32), 0, mset)
    with pytest.raises(VoxpostError):
        knnvc.convert(model, np.zeros((2, 2, 2), np.float32), 16000, mset)
    assert knnvc.convert(model, np.zeros(0, np.float32), 44100, mset).shape == (0,)
    y = knnvc.convert(model, np.zeros(5, np.float32), 16000, mset)    # under one frame
    assert y.shape == (5,) and np.isfinite(y).all()


def test_unrecorded_sha256_is_refused(checkpoints, tmp_path, monkeypatch):
    """The repository's entries have no sha256 yet: installed files are refused, not loaded."""
    (tmp_path / "knnvc").mkdir()
    for key in ("wavlm", "vocoder"):
        (tmp_path / "knnvc" / checkpoints[key].name).write_bytes(checkpoints[key].read_bytes())
    monkeypatch.setenv("VOXPOST_MODELS", str(tmp_path))
    monkeypatch.delenv("VOXPOST_REGISTRY", raising=False)
    reg = Registry.load()
    assert knnvc.available(reg)
    if reg.get(knnvc.WAVLM_ENTRY).sha256:
        pytest.skip("the registry records a sha256 for WavLM-Large.pt now")
    with pytest.raises(ModelError, match="cannot be verified") as e:
        knnvc.load(registry=reg)
    one_line_error(e)
