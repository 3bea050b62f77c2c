"""kNN-VC voice conversion (Baas, van Niekerk, Kamper 2023; github.com/bshall/knn-vc, MIT).

Any-to-any conversion with no training per voice: the source speech is encoded as WavLM-Large
layer-6 features (50 frames/s); each frame is replaced by the mean of its ``k`` nearest frames
(cosine) in the target speaker's *matching set*, the layer-6 features of reference speech by
that speaker; a HiFi-GAN vocoder trained on (prematched) WavLM features turns the result back
into 16 kHz audio.

Checkpoints are the ones published with upstream's v0.1 release, registered as
``knnvc-wavlm-large`` (``WavLM-Large.pt``, Microsoft's unilm format: ``{"cfg": dict, "model":
state_dict}``) and ``knnvc-hifigan-prematched`` (``prematch_g_02500000.pt``: ``{"generator":
state_dict}``). Both load with ``torch.load(weights_only=True)``. WavLM runs on torchaudio's
implementation (:func:`torchaudio.models.wavlm_model`); :func:`wavlm_config` and
:func:`convert_wavlm_state` map Microsoft's config and parameter names onto it. Only the first
six transformer layers are built and loaded: kNN-VC reads layer 6 and never needs the rest.

Differences from upstream, on purpose: the source is padded by 40 samples on each side (half of
WavLM's 400-sample receptive field minus its 320-sample hop) and up to a whole hop, so frame
``i`` is centred on output samples ``[320 i, 320 i + 320)`` and the output covers the input;
long inputs are encoded and vocoded in overlapping chunks (:data:`CHUNK_FRAMES`); no voice
activity trimming of the reference and no loudness normalisation of the output (later stages of
the engine do both). As upstream does (also when it prepared the vocoder's training features), the
waveform goes into WavLM as it is, without the zero-mean unit-variance normalisation that
WavLM-Large's ``cfg["normalize"]`` asks for.
"""

from __future__ import annotations

import ast
import logging
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from voxpost.errors import ModelError, ParameterError
from voxpost.voice import hifigan

log = logging.getLogger(__name__)

WAVLM_ENTRY = "knnvc-wavlm-large"
VOCODER_ENTRY = "knnvc-hifigan-prematched"
LAYER = 6            # WavLM layer kNN-VC matches and vocodes
HOP = 320            # samples per WavLM frame at 16 kHz
#: encoder chunk and the context encoded on each side of it, in frames (20 s, 2 s)
CHUNK_FRAMES, CONTEXT_FRAMES = 1000, 100
#: vocoder chunk and context in frames; the context exceeds the generator's receptive field
VOCODER_CHUNK_FRAMES, VOCODER_CONTEXT_FRAMES = 500, 32
_QUERY_BLOCK = 2048  # source frames per similarity block

# Microsoft's WavLMConfig defaults, for keys a checkpoint's cfg leaves out.
_CFG_DEFAULTS: dict[str, Any] = {
    "extractor_mode": "default", "encoder_layers": 12, "encoder_embed_dim": 768,
    "encoder_ffn_embed_dim": 3072, "encoder_attention_heads": 12, "activation_fn": "gelu",
    "layer_norm_first": False, "conv_feature_layers": "[(512,10,5)] + [(512,3,2)] * 4 + [(512,2,2)] * 2",
    "conv_bias": False, "dropout": 0.1, "attention_dropout": 0.1, "activation_dropout": 0.0,
    "encoder_layerdrop": 0.0, "dropout_input": 0.0, "conv_pos": 128, "conv_pos_groups": 16,
    "relative_position_embedding": False, "num_buckets": 320, "max_distance": 1280,
    "gru_rel_pos": False,
}


@dataclass
class KnnVC:
    """The loaded models. ``sources`` records where each came from:
    ``{"wavlm": {"path", "sha256"}, "vocoder": {"path", "sha256"}}``."""

    wavlm: Any
    vocoder: Any
    sources: dict = field(default_factory=dict)
    edge: int = 40          # samples of padding on each side: (receptive field - hop) / 2
    SAMPLE_RATE: ClassVar[int] = 16000

    @property
    def device(self) -> Any:
        return next(self.vocoder.parameters()).device

    @property
    def feature_dim(self) -> int:
        return self.vocoder.dims.feature_dim


# ------------------------------------------------------------------------------------------------
# loading
# ------------------------------------------------------------------------------------------------

def available(registry: Any = None) -> bool:
    """Whether both registry checkpoints are installed (present; not hashed)."""
    from voxpost.models import Registry

    try:
        reg = registry or Registry.load()
        return reg.find(WAVLM_ENTRY) is not None and reg.find(VOCODER_ENTRY) is not None
    except ModelError:
        return False


def load(*, wavlm_path: str | os.PathLike[str] | None = None,
         vocoder_path: str | os.PathLike[str] | None = None, registry: Any = None,
         device: str = "cpu") -> KnnVC:
    """Load WavLM and the vocoder, each from a file the user names or from the registry.

    A registry checkpoint is sha256-verified against the registry before it is read; a file the
    user names is the user's, and its computed sha256 is recorded in ``KnnVC.sources`` (and
    logged) for provenance.

    Raises
    ------
    ModelError
        A checkpoint is missing, unverifiable, unreadable, or not of the expected design.
    """
    import torch

    reg = registry

    def fetch(name: str, path: Any, what: str) -> tuple[Any, dict[str, str]]:
        nonlocal reg
        if path is not None:
            from voxpost.models import sha256_file

            p = Path(path).expanduser()
            if not p.is_file():
                raise ModelError(f"{what} checkpoint {p} does not exist")
            digest = sha256_file(p)
            log.info("kNN-VC %s: %s (sha256 %s, not verified against the registry)", what, p, digest)
            try:
                ckpt = torch.load(p, map_location="cpu", weights_only=True)
            except Exception as exc:  # noqa: BLE001 - an unreadable file is the user's to fix
                first = (str(exc).strip().splitlines() or [""])[0][:200]
                raise ModelError(f"{what} checkpoint {p} cannot be loaded as torch weights "
                                 f"({type(exc).__name__}: {first}); replace it with the published "
                                 "file") from exc
            return ckpt, {"path": str(p), "sha256": digest}
        if reg is None:
            from voxpost.models import Registry

            reg = Registry.load()
        ckpt = reg.load_torch(name)          # sha256-checked first
        return ckpt, {"path": str(reg.find(name)), "sha256": reg.get(name).sha256}

    wckpt, wsrc = fetch(WAVLM_ENTRY, wavlm_path, "WavLM")
    wavlm, edge, dim = build_wavlm(wckpt, wsrc["path"])
    del wckpt
    vckpt, vsrc = fetch(VOCODER_ENTRY, vocoder_path, "vocoder")
    if not isinstance(vckpt, dict) or "generator" not in vckpt:
        raise ModelError(f"vocoder checkpoint {vsrc['path']} is not a kNN-VC HiFi-GAN checkpoint: "
                         "expected a dict with a 'generator' state dict")
    try:
        vocoder = hifigan.build(vckpt["generator"])
    except ModelError as exc:
        raise ModelError(f"vocoder checkpoint {vsrc['path']}: {exc}") from None
    if vocoder.dims.feature_dim != dim:
        raise ModelError(f"vocoder checkpoint {vsrc['path']} takes {vocoder.dims.feature_dim}-dimensional "
                         f"features but the WavLM checkpoint gives {dim}; they are not a kNN-VC pair")
    if vocoder.dims.hop != HOP:
        raise ModelError(f"vocoder checkpoint {vsrc['path']} has hop {vocoder.dims.hop}, not {HOP}")
    return KnnVC(wavlm=wavlm.to(device).eval(), vocoder=vocoder.to(device).eval(),
                 sources={"wavlm": wsrc, "vocoder": vsrc}, edge=edge)


def _conv_layers(spec: Any) -> list[tuple[int, int, int]]:
    """Evaluate ``conv_feature_layers`` ("[(512,10,5)] + [(512,3,2)] * 4 + ...") without eval()."""
    def ev(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if isinstance(node, ast.List | ast.Tuple):
            items = [ev(e) for e in node.elts]
            return items if isinstance(node, ast.List) else tuple(items)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Mult):
            a, b = ev(node.left), ev(node.right)
            return a + b if isinstance(node.op, ast.Add) else a * b
        raise ValueError("unsupported expression")

    try:
        layers = ev(ast.parse(spec, mode="eval").body) if isinstance(spec, str) else spec
        layers = [tuple(int(v) for v in t) for t in layers]
        if not layers or any(len(t) != 3 or min(t) < 1 for t in layers):
            raise ValueError("bad layer")
    except (SyntaxError, ValueError, TypeError, RecursionError):
        raise ModelError(f"WavLM checkpoint cfg has an unreadable conv_feature_layers: {str(spec)[:80]!r}") from None
    return layers


def wavlm_config(cfg: dict[str, Any]) -> dict[str, Any]:
    """Map Microsoft's WavLM ``cfg`` to :func:`torchaudio.models.wavlm_model` arguments (the
    transformer cut to :data:`LAYER` layers).

    Raises
    ------
    ModelError
        The config describes a model torchaudio's WavLM cannot represent, or has fewer than
        :data:`LAYER` layers.
    """
    c = {**_CFG_DEFAULTS, **cfg}
    mode = {"default": "group_norm", "layer_norm": "layer_norm"}.get(c["extractor_mode"])
    if mode is None:
        raise ModelError(f"WavLM checkpoint cfg has extractor_mode {c['extractor_mode']!r}; "
                         "expected 'default' or 'layer_norm'")
    if not (c["relative_position_embedding"] and c["gru_rel_pos"]) or c["activation_fn"] != "gelu":
        raise ModelError("WavLM checkpoint cfg is not a WavLM (it needs gated relative position "
                         "bias and GELU); not a kNN-VC encoder")
    try:
        if int(c["encoder_layers"]) < LAYER:
            raise ModelError(f"WavLM checkpoint has {c['encoder_layers']} layers; kNN-VC reads layer {LAYER}")
        return {
            "extractor_mode": mode,
            "extractor_conv_layer_config": _conv_layers(c["conv_feature_layers"]),
            "extractor_conv_bias": bool(c["conv_bias"]),
            "encoder_embed_dim": int(c["encoder_embed_dim"]),
            "encoder_projection_dropout": float(c["dropout_input"]),
            "encoder_pos_conv_kernel": int(c["conv_pos"]),
            "encoder_pos_conv_groups": int(c["conv_pos_groups"]),
            "encoder_num_layers": LAYER,
            "encoder_num_heads": int(c["encoder_attention_heads"]),
            "encoder_num_buckets": int(c["num_buckets"]),
            "encoder_max_distance": int(c["max_distance"]),
            "encoder_attention_dropout": float(c["attention_dropout"]),
            "encoder_ff_interm_features": int(c["encoder_ffn_embed_dim"]),
            "encoder_ff_interm_dropout": float(c["activation_dropout"]),
            "encoder_dropout": float(c["dropout"]),
            "encoder_layer_norm_first": bool(c["layer_norm_first"]),
            "encoder_layer_drop": float(c["encoder_layerdrop"]),
        }
    except (TypeError, ValueError) as exc:
        raise ModelError(f"WavLM checkpoint cfg has an ill-typed value ({exc})") from None


_DROPPED = re.compile(r"mask_emb|label_embs_concat|final_proj\..*|encoder\.layers\.(\d+)\..*")
_LAYER_KEYS = {
    "self_attn.out_proj.": "attention.attention.out_proj.",
    "self_attn.relative_attention_bias.": "attention.rel_attn_embed.",
    "self_attn.grep_linear.": "attention.gru_rel_pos_linear.",
    "self_attn_layer_norm.": "layer_norm.",
    "fc1.": "feed_forward.intermediate_dense.",
    "fc2.": "feed_forward.output_dense.",
    "final_layer_norm.": "final_layer_norm.",
}


def convert_wavlm_state(state: dict[str, Any], target_keys: set[str]) -> dict[str, Any]:
    """Rename Microsoft's WavLM parameters to torchaudio's ``Wav2Vec2Model`` names.

    Layers at or above :data:`LAYER` and pre-training-only tensors (``mask_emb``) are dropped;
    ``q_proj``/``k_proj``/``v_proj`` are concatenated into ``in_proj``; the positional
    convolution's ``weight_g``/``weight_v`` go to whichever form `target_keys` (the torchaudio
    model's state-dict keys) uses. The key mapping follows torchaudio's own fairseq and Hugging
    Face importers (``torchaudio/models/wav2vec2/utils``). Raises ModelError on an unknown key.
    """
    import torch

    out: dict[str, Any] = {}
    qkv: dict[tuple[str, str], dict[str, Any]] = {}
    for key, value in state.items():
        m = _DROPPED.fullmatch(key)
        if m and (m.group(1) is None or int(m.group(1)) >= LAYER):
            continue
        new = None
        if m := re.fullmatch(r"feature_extractor\.conv_layers\.(\d+)\.0\.(weight|bias)", key):
            new = f"feature_extractor.conv_layers.{m[1]}.conv.{m[2]}"
        elif m := re.fullmatch(r"feature_extractor\.conv_layers\.(\d+)\.2(?:\.1)?\.(weight|bias)", key):
            new = f"feature_extractor.conv_layers.{m[1]}.layer_norm.{m[2]}"
        elif m := re.fullmatch(r"layer_norm\.(weight|bias)", key):
            new = f"encoder.feature_projection.layer_norm.{m[1]}"
        elif m := re.fullmatch(r"post_extract_proj\.(weight|bias)", key):
            new = f"encoder.feature_projection.projection.{m[1]}"
        elif m := re.fullmatch(r"encoder\.layer_norm\.(weight|bias)", key):
            new = f"encoder.transformer.layer_norm.{m[1]}"
        elif m := re.fullmatch(r"encoder\.pos_conv\.0\.(bias|weight_g|weight_v)", key):
            new = f"encoder.transformer.pos_conv_embed.conv.{m[1]}"
        elif m := re.fullmatch(r"encoder\.layers\.(\d+)\.self_attn\.([qkv])_proj\.(weight|bias)", key):
            qkv.setdefault((m[1], m[3]), {})[m[2]] = value
            continue
        elif m := re.fullmatch(r"encoder\.layers\.(\d+)\.self_attn\.grep_a", key):
            new = f"encoder.transformer.layers.{m[1]}.attention.gru_rel_pos_const"
        elif m := re.fullmatch(r"encoder\.layers\.(\d+)\.(.+\.)(weight|bias)", key):
            if m[2] in _LAYER_KEYS:
                new = f"encoder.transformer.layers.{m[1]}.{_LAYER_KEYS[m[2]]}{m[3]}"
        if new is None:
            raise ModelError(f"not a WavLM checkpoint: unexpected parameter '{key}'")
        out[new] = value
    for (layer, kind), parts in qkv.items():
        if set(parts) != {"q", "k", "v"}:
            raise ModelError(f"not a WavLM checkpoint: layer {layer} lacks one of q/k/v_proj.{kind}")
        out[f"encoder.transformer.layers.{layer}.attention.attention.in_proj_{kind}"] = torch.cat(
            [parts["q"], parts["k"], parts["v"]])
    # positional convolution: weight norm over dim 2, stored as weight_g (1, 1, K), weight_v
    pos = "encoder.transformer.pos_conv_embed.conv."
    g, v = out.pop(pos + "weight_g", None), out.pop(pos + "weight_v", None)
    if g is not None and v is not None:
        if pos + "parametrizations.weight.original0" in target_keys:
            out[pos + "parametrizations.weight.original0"] = g
            out[pos + "parametrizations.weight.original1"] = v
        elif pos + "weight_g" in target_keys:
            out[pos + "weight_g"], out[pos + "weight_v"] = g, v
        else:
            out[pos + "weight"] = g * v / v.norm(dim=(0, 1), keepdim=True)
    return out


def build_wavlm(ckpt: Any, where: str) -> tuple[Any, int, int]:
    """torchaudio WavLM (first :data:`LAYER` layers) from a Microsoft-format checkpoint.

    Returns the model, the padding per side in samples and the feature dimension.
    """
    from torchaudio.models import wavlm_model

    if not (isinstance(ckpt, dict) and isinstance(ckpt.get("cfg"), dict)
            and isinstance(ckpt.get("model"), dict)):
        raise ModelError(f"WavLM checkpoint {where} is not in Microsoft's WavLM format: expected a dict "
                         "with 'cfg' (a dict) and 'model' (a state dict)")
    try:
        params = wavlm_config(ckpt["cfg"])
    except ModelError as exc:
        raise ModelError(f"{where}: {exc}") from None
    convs = params["extractor_conv_layer_config"]
    hop = math.prod(s for _, _, s in convs)
    field_ = 1 + sum((k - 1) * math.prod(s for _, _, s in convs[:i]) for i, (_, k, _) in enumerate(convs))
    if hop != HOP or (field_ - hop) % 2:
        raise ModelError(f"WavLM checkpoint {where} has a {hop}-sample frame step; kNN-VC needs {HOP}")
    try:
        model = wavlm_model(**params, aux_num_out=None)
    except Exception as exc:  # noqa: BLE001 - e.g. heads not dividing the width
        raise ModelError(f"WavLM checkpoint {where}: its cfg does not describe a buildable model "
                         f"({type(exc).__name__}: {hifigan.one_line(exc, 160)})") from None
    state = convert_wavlm_state(ckpt["model"], set(model.state_dict()))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"WavLM checkpoint {where} does not match its cfg: {hifigan.one_line(exc)}") from None
    return model.eval(), (field_ - hop) // 2, params["encoder_embed_dim"]


# ------------------------------------------------------------------------------------------------
# inference
# ------------------------------------------------------------------------------------------------

def _mono16k(samples: np.ndarray, sample_rate: int, what: str) -> np.ndarray:
    x = np.asarray(samples)
    if x.ndim == 2:
        x = x.mean(axis=0)          # (channels, frames)
    if x.ndim != 1:
        raise ParameterError(f"{what} must be mono samples or (channels, frames), not shape {x.shape}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise ParameterError(f"sample rate must be a positive integer, not {sample_rate!r}")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        raise ParameterError(f"{what} contains NaN or infinite samples")
    if sample_rate != KnnVC.SAMPLE_RATE and x.size:
        import soxr

        x = soxr.resample(x, int(sample_rate), KnnVC.SAMPLE_RATE).astype(np.float32)
    return np.ascontiguousarray(x)


def _features(model: KnnVC, x: np.ndarray) -> Any:
    """Layer-6 features ``[ceil(len/320), dim]`` of 16 kHz audio; frame i centred on hop i."""
    import torch

    n = -(-x.size // HOP)
    wav = torch.from_numpy(np.pad(x, (model.edge, model.edge + n * HOP - x.size))).to(model.device)
    parts = []
    with torch.inference_mode():
        for a in range(0, n, CHUNK_FRAMES):
            b = min(n, a + CHUNK_FRAMES)
            s, e = max(0, a - CONTEXT_FRAMES), min(n, b + CONTEXT_FRAMES)
            layers, _ = model.wavlm.extract_features(wav[s * HOP:e * HOP + 2 * model.edge][None],
                                                     num_layers=LAYER)
            f = layers[LAYER - 1][0]
            assert f.shape[0] == e - s, (f.shape, e - s)
            parts.append(f[a - s:b - s].float())
    return torch.cat(parts) if parts else torch.zeros(0, model.feature_dim, device=model.device)


def vocode(model: KnnVC, features: Any) -> np.ndarray:
    """Audio (``len(features) * 320`` samples at 16 kHz) of a ``[frames, dim]`` feature tensor."""
    import torch

    n = features.shape[0]
    parts = []
    with torch.inference_mode():
        for a in range(0, n, VOCODER_CHUNK_FRAMES):
            b = min(n, a + VOCODER_CHUNK_FRAMES)
            s, e = max(0, a - VOCODER_CONTEXT_FRAMES), min(n, b + VOCODER_CONTEXT_FRAMES)
            y = model.vocoder(features[s:e][None].to(model.device))[0, 0]
            parts.append(y[(a - s) * HOP:(b - s) * HOP].float().cpu())
    return torch.cat(parts).numpy() if parts else np.zeros(0, np.float32)


def matching_set(model: KnnVC, samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """WavLM layer-6 features ``[frames, dim]`` (float16) of the target speaker's reference
    speech; concatenate the results of several recordings for one larger set."""
    x = _mono16k(samples, sample_rate, "reference speech")
    if x.size < HOP:
        raise ParameterError("reference speech is too short for a matching set (under 20 ms); "
                             "give at least a few seconds of the target speaker")
    return _features(model, x).cpu().numpy().astype(np.float16)


def knn_average(query: Any, matching: Any, k: int) -> Any:
    """Each query row replaced by the mean of its `k` most cosine-similar matching rows."""
    import torch
    import torch.nn.functional as F

    m = F.normalize(matching, dim=-1)
    out = []
    for i in range(0, query.shape[0], _QUERY_BLOCK):
        sim = F.normalize(query[i:i + _QUERY_BLOCK], dim=-1) @ m.T
        idx = sim.topk(k, dim=-1).indices
        out.append(matching[idx].mean(dim=1))
    return torch.cat(out) if out else query[:0]


def convert(model: KnnVC, samples: np.ndarray, sample_rate: int, matching: np.ndarray, *,
            k: int = 4) -> np.ndarray:
    """Speech `samples` in the voice of the `matching` set: mono float32 at 16 kHz, exactly
    ``round(len(samples) * 16000 / sample_rate)`` samples long."""
    import torch

    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ParameterError(f"k must be a positive integer, not {k!r}")
    mset = np.asarray(matching)
    if mset.ndim != 2 or mset.shape[1] != model.feature_dim:
        raise ParameterError(f"matching set must be [frames, {model.feature_dim}] features from "
                             f"matching_set(), not shape {mset.shape}")
    if mset.shape[0] < k:
        raise ParameterError(f"matching set has {mset.shape[0]} frames, fewer than k={k}; give "
                             "more reference speech")
    if not np.isfinite(mset).all():
        raise ParameterError("matching set contains NaN or infinite values")
    x = _mono16k(samples, sample_rate, "source speech")
    length = round(np.asarray(samples).shape[-1] * KnnVC.SAMPLE_RATE / int(sample_rate))
    if x.size == 0 or length == 0:
        return np.zeros(length, np.float32)
    query = _features(model, x)
    target = torch.from_numpy(mset.astype(np.float32)).to(query.device)
    with torch.inference_mode():
        y = vocode(model, knn_average(query, target, int(k)))
    y = y[:length] if y.size >= length else np.pad(y, (0, length - y.size))
    return np.ascontiguousarray(y, dtype=np.float32)
