"""The HiFi-GAN generator of kNN-VC: WavLM features (50 frames/s) to 16 kHz audio.

This is the generator of HiFi-GAN V1 (Kong et al. 2020, "ResBlock1") with the input layer of
kNN-VC (Baas, van Niekerk, Kamper 2023; github.com/bshall/knn-vc, MIT): a linear projection of the
1024-dimensional WavLM features to 512 channels before ``conv_pre``. The published checkpoints
(``prematch_g_02500000.pt``, ``g_02500000.pt``) hold ``{"generator": state_dict}`` with the
module names used here (``lin_pre``, ``conv_pre``, ``ups``, ``resblocks.*.convs1/convs2``,
``conv_post``) and weight-normalised convolutions stored as ``weight_g`` / ``weight_v``, which
:func:`fold_weight_norm` turns into plain weights at load time (``w = g * v / ||v||``, the norm
taken over every dimension but the first), so the module itself has no weight norm.

The architecture is upstream's ``hifigan/config_v1_wavlm.json``: :class:`GeneratorDims` holds its
dimensions. Channel widths and kernel sizes are read from a checkpoint's tensor shapes
(:meth:`GeneratorDims.from_state_dict`), so a smaller generator of the same design loads too;
the upsampling rates (10, 8, 2, 2: hop 320 = WavLM's frame step) and the residual dilations
(1, 3, 5) are not visible in the shapes and are fixed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from voxpost.errors import ModelError

LRELU_SLOPE = 0.1


@dataclass(frozen=True)
class GeneratorDims:
    """Dimensions of the generator; the defaults are upstream's ``config_v1_wavlm.json``."""

    feature_dim: int = 1024                       # "hubert_dim": WavLM-Large features
    hidden_dim: int = 512                         # "hifi_dim": lin_pre output
    initial_channels: int = 512                   # "upsample_initial_channel"
    upsample_rates: tuple[int, ...] = (10, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (20, 16, 4, 4)
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilations: tuple[int, ...] = (1, 3, 5)   # the same for every kernel size

    @property
    def hop(self) -> int:
        """Output samples per input frame."""
        return math.prod(self.upsample_rates)

    @classmethod
    def from_state_dict(cls, state: Mapping[str, torch.Tensor]) -> GeneratorDims:
        """Read widths and kernel sizes from a (weight-norm-folded) generator state dict.

        Raises
        ------
        ModelError
            If a tensor the design needs is missing or has the wrong rank, or the number of
            upsampling layers is not the published four.
        """
        def shape(key: str, rank: int) -> tuple[int, ...]:
            t = state.get(key)
            if not isinstance(t, torch.Tensor):
                raise ModelError(f"not a kNN-VC HiFi-GAN generator: it has no tensor '{key}'")
            if t.dim() != rank:
                raise ModelError(f"not a kNN-VC HiFi-GAN generator: '{key}' has shape "
                                 f"{tuple(t.shape)}, expected {rank} dimensions")
            return tuple(t.shape)

        hidden, feature = shape("lin_pre.weight", 2)
        initial = shape("conv_pre.weight", 3)[0]
        n_ups = len({m.group(1) for k in state if (m := re.match(r"ups\.(\d+)\.", k))})
        rates = cls.upsample_rates
        if n_ups != len(rates):
            raise ModelError(f"not a kNN-VC HiFi-GAN generator: it has {n_ups} upsampling layers, "
                             f"expected {len(rates)}")
        ups_k = tuple(shape(f"ups.{i}.weight", 3)[2] for i in range(n_ups))
        n_res = len({m.group(1) for k in state if (m := re.match(r"resblocks\.(\d+)\.", k))})
        if n_res == 0 or n_res % n_ups:
            raise ModelError(f"not a kNN-VC HiFi-GAN generator: {n_res} residual blocks for "
                             f"{n_ups} upsampling layers")
        res_k = tuple(shape(f"resblocks.{j}.convs1.0.weight", 3)[2] for j in range(n_res // n_ups))
        for k, u in zip(ups_k, rates):
            if k < u or (k - u) % 2:
                raise ModelError(f"not a kNN-VC HiFi-GAN generator: upsampling kernel {k} does "
                                 f"not fit rate {u}")
        return cls(feature_dim=feature, hidden_dim=hidden, initial_channels=initial,
                   upsample_kernel_sizes=ups_k, resblock_kernel_sizes=res_k)


def _conv(ch: int, k: int, d: int) -> nn.Conv1d:
    return nn.Conv1d(ch, ch, k, 1, dilation=d, padding=(k * d - d) // 2)


class ResBlock(nn.Module):
    """HiFi-GAN ResBlock1: three (dilated conv, conv) pairs with residual connections."""

    def __init__(self, channels: int, kernel_size: int, dilations: tuple[int, ...]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(_conv(channels, kernel_size, d) for d in dilations)
        self.convs2 = nn.ModuleList(_conv(channels, kernel_size, 1) for _ in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            x = x + c2(F.leaky_relu(c1(F.leaky_relu(x, LRELU_SLOPE)), LRELU_SLOPE))
        return x


class Generator(nn.Module):
    """Features ``[batch, frames, feature_dim]`` to audio ``[batch, 1, frames * hop]`` in [-1, 1]."""

    def __init__(self, dims: GeneratorDims = GeneratorDims()) -> None:
        super().__init__()
        self.dims = dims
        self.lin_pre = nn.Linear(dims.feature_dim, dims.hidden_dim)
        self.conv_pre = nn.Conv1d(dims.hidden_dim, dims.initial_channels, 7, 1, padding=3)
        self.ups = nn.ModuleList()
        self.resblocks = nn.ModuleList()
        ch = dims.initial_channels
        for u, k in zip(dims.upsample_rates, dims.upsample_kernel_sizes):
            self.ups.append(nn.ConvTranspose1d(ch, ch // 2, k, u, padding=(k - u) // 2))
            ch //= 2
            for rk in dims.resblock_kernel_sizes:
                self.resblocks.append(ResBlock(ch, rk, dims.resblock_dilations))
        self.conv_post = nn.Conv1d(ch, 1, 7, 1, padding=3)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        x = self.conv_pre(self.lin_pre(features).transpose(1, 2))
        n = len(self.dims.resblock_kernel_sizes)
        for i, up in enumerate(self.ups):
            x = up(F.leaky_relu(x, LRELU_SLOPE))
            x = sum(self.resblocks[i * n + j](x) for j in range(n)) / n
        x = self.conv_post(F.leaky_relu(x))   # upstream uses the default slope (0.01) here
        return torch.tanh(x)


def fold_weight_norm(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace each ``X.weight_g`` / ``X.weight_v`` pair (or torch's newer parametrization keys
    ``X.parametrizations.weight.original0/1``) by ``X.weight = g * v / ||v||``, the norm taken
    over all dimensions but the first (``torch.nn.utils.weight_norm``'s default ``dim=0``)."""
    out: dict[str, torch.Tensor] = {}
    pairs: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        m = re.fullmatch(r"(.*)\.(?:weight_([gv])|parametrizations\.weight\.original([01]))", key)
        if m:
            part = m.group(2) or "gv"[int(m.group(3))]
            pairs.setdefault(m.group(1), {})[part] = value
        else:
            out[key] = value
    for prefix, gv in pairs.items():
        if set(gv) != {"g", "v"}:
            raise ModelError(f"not a kNN-VC HiFi-GAN generator: '{prefix}' has only half of its "
                             "weight-norm pair")
        g, v = gv["g"].float(), gv["v"].float()
        dims = tuple(range(1, v.dim()))
        norm = v.norm(dim=dims, keepdim=True) if dims else v.abs()
        if g.numel() != v.shape[0]:
            raise ModelError(f"not a kNN-VC HiFi-GAN generator: '{prefix}.weight_g' has shape "
                             f"{tuple(g.shape)} for weight_v {tuple(v.shape)}")
        out[f"{prefix}.weight"] = g.reshape(norm.shape) * v / norm
    return out


def build(state: Mapping[str, torch.Tensor]) -> Generator:
    """Build the generator from its published state dict (weight norm stored or folded).

    Raises
    ------
    ModelError
        If the state is not a generator of this design; the message is one line.
    """
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ModelError("not a kNN-VC HiFi-GAN generator: expected a state dict of tensors")
    plain = fold_weight_norm(state)
    model = Generator(GeneratorDims.from_state_dict(plain))
    try:
        model.load_state_dict(plain, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"not a kNN-VC HiFi-GAN generator of the published design: "
                         f"{one_line(exc)}") from exc
    return model.eval()


def one_line(exc: BaseException, limit: int = 300) -> str:
    """A load_state_dict error (several lines) as one short line."""
    lines = [s.strip() for s in str(exc).splitlines() if s.strip()]
    if lines and lines[0].startswith("Error(s) in loading state_dict"):
        lines = lines[1:]
    text = "; ".join(lines) or type(exc).__name__
    return text if len(text) <= limit else text[:limit - 3] + "..."
