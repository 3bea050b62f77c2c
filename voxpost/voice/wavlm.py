"""WavLM-Large for kNN-VC: Microsoft's checkpoint format mapped onto torchaudio's model, cut at layer 6.

The checkpoint (``WavLM-Large.pt``, unilm format ``{"cfg": dict, "model": state_dict}``) loads
with ``torch.load(weights_only=True)``; :func:`wavlm_config` maps its config onto
:func:`torchaudio.models.wavlm_model`'s arguments and :func:`convert_wavlm_state` its parameter
names onto torchaudio's. Only the first :data:`LAYER` transformer layers are built and loaded:
kNN-VC (:mod:`voxpost.voice.knnvc`) reads layer 6 and never needs the rest.
"""

from __future__ import annotations

import ast
import math
import re
from typing import Any

from voxpost.errors import ModelError
from voxpost.voice import hifigan

LAYER = 6            # WavLM layer kNN-VC matches and vocodes
HOP = 320            # samples per WavLM frame at 16 kHz

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
