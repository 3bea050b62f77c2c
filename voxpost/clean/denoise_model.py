"""Learned causal, streaming speech-enhancement mask (the ``Denoise`` stage's "model" engine).

The model sees the same low-delay STFT frames as the DSP engine (:mod:`voxpost.dsp.stft`; the
stage uses a 20 ms analysis window and a 2.5 ms hop, so 400 frames per second at every sample
rate and 50 Hz between bins) and returns a gain in [0, 1] for every bin of every frame.

Features are independent of the sample rate: bin power is pooled into :data:`N_BANDS`
triangular bands whose peaks lie on a fixed Hz grid (:data:`BAND_EDGES_HZ`, ERB-spaced with at
least 100 Hz between peaks, 0 to 8 kHz), after scaling the power so that the same sound gives the
same band power at any rate. Per frame the features are

- ``logE``: log10 band power, offset and scaled to about [-2, 2] (absolute level), and
- ``logE - ema``: the same minus a causal per-band exponential moving average of it
  (time constant :data:`EMA_SECONDS`), i.e. how far each band stands above its recent level.

:class:`DenoiseNet` (RNNoise-like) runs its GRU once per *group* of :data:`GROUP` frames (10 ms):
a dense layer reads the features of the group's frames, the GRU steps once, and a per-frame dense
head turns the GRU state *after the previous complete group* plus the frame's own features into
band gains (sigmoid). So the gain of frame ``f`` depends on frames ``<= f`` only, reacts to the
frame's own spectrum at once, and the recurrent context lags by at most ``GROUP`` frames, while
the GRU runs 100 steps per second instead of 400 (a quarter of the inference and training cost).
Band gains are interpolated back to bins linearly over the band peaks (:func:`band_to_bins`);
bins above 8 kHz take the top band's gain.

:class:`MaskEstimator` runs inference without torch, in the Numba kernel
:func:`voxpost.dsp.maskgru.mask_gains` (one call per block; the torch calls' fixed cost made a
10 ms block 10x slower), on the net's weights; it matches ``DenoiseNet.forward`` to about 1e-6.
It carries every piece of state (moving average, GRU state, features of the frames of an
unfinished group), so splitting a stream of frames into calls in any way gives the same gains as
one call, bit for bit. Checkpoints are plain torch dicts (``state_dict``, ``hparams``,
``feature_version``) loaded with ``weights_only=True``; :func:`load_default` loads the shipped
``models/denoise-gru.pt`` through the sha256-verifying model registry.

Training: ``models/train_denoiser.py`` (seeded, reproducible).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from voxpost.dsp import maskgru
from voxpost.dsp.spectral import SILENCE
from voxpost.dsp.stft import low_delay_windows

#: Registry entry of the shipped checkpoint.
REGISTRY_NAME = "denoise-gru"
#: Bump when the features change: a checkpoint records the version it was trained on.
FEATURE_VERSION = 1
#: Peaks of the triangular bands in Hz (ERB-spaced, at least 100 Hz apart, 0 to 8 kHz).
#: Band ``b`` rises from ``BAND_EDGES_HZ[b-1]`` to 1 at ``BAND_EDGES_HZ[b]`` and falls to 0 at
#: ``BAND_EDGES_HZ[b+1]``; the weights of all bands sum to 1 at every frequency in [0, 8000].
BAND_EDGES_HZ = (0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1125, 1250, 1400, 1550,
                 1700, 1900, 2100, 2325, 2550, 2825, 3100, 3425, 3775, 4150, 4550, 5000, 5500,
                 6050, 6650, 7300, 8000)
N_BANDS = len(BAND_EDGES_HZ)
MAX_HZ = float(BAND_EDGES_HZ[-1])
#: Frames per GRU step (4 frames of 2.5 ms = 10 ms).
GROUP = 4
#: Time constant of the per-band moving average of log band power, seconds.
EMA_SECONDS = 1.5
#: Frame rate the model was designed for (hop 2.5 ms); the EMA coefficient uses the real one.
FRAME_RATE = 400.0
N_FEATURES = 2 * N_BANDS
_POWER_FLOOR = 1e-10
_LOG_OFFSET, _LOG_SCALE = 5.0, 2.5


def bin_freqs(sample_rate: int, window: int) -> np.ndarray:
    """Centre frequency in Hz of every rfft bin of a ``window``-sample frame."""
    return np.arange(window // 2 + 1) * (sample_rate / window)


def _triangles(freqs: np.ndarray) -> np.ndarray:
    """``[bands, len(freqs)]`` triangular weights; zero above :data:`MAX_HZ`."""
    edges = np.asarray(BAND_EDGES_HZ, np.float64)
    w = np.zeros((N_BANDS, freqs.size))
    for b in range(N_BANDS):
        if b > 0:
            lo, c = edges[b - 1], edges[b]
            sel = (freqs >= lo) & (freqs <= c)
            w[b, sel] = (freqs[sel] - lo) / (c - lo)
        if b < N_BANDS - 1:
            c, hi = edges[b], edges[b + 1]
            sel = (freqs >= c) & (freqs < hi)
            w[b, sel] = (hi - freqs[sel]) / (hi - c)
    w[N_BANDS - 1, freqs == MAX_HZ] = 1.0
    return w


@lru_cache(maxsize=32)
def _band_matrix(sample_rate: int, window: int) -> np.ndarray:
    m = _triangles(bin_freqs(sample_rate, window))
    m.setflags(write=False)
    return m


def band_matrix(sample_rate: int, window: int) -> np.ndarray:
    """``[bands, bins]`` weights pooling bin power into bands (bins above 8 kHz in no band)."""
    return _band_matrix(int(sample_rate), int(window)).copy()


@lru_cache(maxsize=32)
def _band_to_bins(sample_rate: int, window: int) -> np.ndarray:
    freqs = bin_freqs(sample_rate, window)
    m = _triangles(freqs).T.copy()
    m[freqs > MAX_HZ, :] = 0.0
    m[freqs > MAX_HZ, N_BANDS - 1] = 1.0
    m.setflags(write=False)
    return m


def band_to_bins(sample_rate: int, window: int) -> np.ndarray:
    """``[bins, bands]`` linear interpolation of band gains to bins; bins above 8 kHz take the
    top band's gain. Every row sums to 1, so gains in [0, 1] stay in [0, 1]."""
    return _band_to_bins(int(sample_rate), int(window)).copy()


@lru_cache(maxsize=32)
def power_scale(sample_rate: int, window: int, hop: int) -> float:
    """Divisor making ``|X|^2`` of the low-delay STFT independent of sample rate and window.

    White noise of variance ``s2`` gives ``E|X|^2 = s2 * sum(w^2)``; the same band-limited sound
    at ``r`` times the rate has ``r`` times the discrete power density, so dividing by
    ``sum(w^2) * sample_rate / 16000`` refers everything to the 16 kHz per-sample scale.
    """
    analysis, _ = low_delay_windows(int(window), int(hop))
    return float(np.sum(analysis ** 2) * sample_rate / 16000.0)


def ema_coefficient(hop: int, sample_rate: int) -> float:
    """Pole of the one-pole moving average for the actual frame rate."""
    return float(np.exp(-hop / (EMA_SECONDS * sample_rate)))


def band_log_power(power: np.ndarray, sample_rate: int, window: int, hop: int) -> np.ndarray:
    """``[..., frames, bins]`` STFT power -> ``[..., frames, bands]`` scaled log10 band power."""
    bands = np.asarray(power, np.float64) @ _band_matrix(int(sample_rate), int(window)).T
    bands /= power_scale(int(sample_rate), int(window), int(hop))
    return (np.log10(bands + _POWER_FLOOR) + _LOG_OFFSET) / _LOG_SCALE


@lru_cache(maxsize=128)
def _ema_matrices(frames: int, coef: float) -> tuple[np.ndarray, np.ndarray]:
    """``decay[t] = coef ** (t + 1)`` and ``mix[t, k] = (1 - coef) * coef ** (t - k)`` (k <= t):
    the one-pole average over ``frames`` frames as one small matrix product."""
    t = np.arange(frames)
    lag = t[:, None] - t[None, :]
    mix = np.where(lag >= 0, (1.0 - coef) * coef ** np.maximum(lag, 0), 0.0)
    return coef ** (t + 1.0), mix


def features(logp: np.ndarray, ema_state: np.ndarray | None, coef: float
             ) -> tuple[np.ndarray, np.ndarray]:
    """Features ``[..., frames, N_FEATURES]`` of scaled log band power ``[..., frames, bands]``.

    ``ema_state`` ``[..., bands]`` is the moving average after the previous frame (None at the
    start of a stream: the first frame's value). Returns the features and the new state.
    """
    logp = np.asarray(logp, np.float64)
    if ema_state is None:
        ema_state = logp[..., 0, :]
    frames = logp.shape[-2]
    if frames == 0:
        return np.zeros(logp.shape[:-1] + (N_FEATURES,)), ema_state
    # ema[t] = coef * ema[t-1] + (1 - coef) * x[t]; the feature uses the average *before* frame
    # t (ema[t-1]), so a sudden rise shows in full.
    if frames <= 64:  # short blocks (live use): a small matrix product beats lfilter's overhead
        decay, mix = _ema_matrices(frames, coef)
        ema = decay[:, None] * ema_state[..., None, :] + mix @ logp
    else:
        from scipy.signal import lfilter

        ema, _ = lfilter([1.0 - coef], [1.0, -coef], logp, axis=-2,
                         zi=(coef * ema_state)[..., None, :])
    ema_before = np.concatenate([ema_state[..., None, :], ema[..., :-1, :]], axis=-2)
    feats = np.concatenate([logp, logp - ema_before], axis=-1)
    return feats, ema[..., -1, :].copy()


def analyse_batch(x: np.ndarray, window: int, hop: int) -> np.ndarray:
    """Low-delay STFT of whole signals ``[..., samples]`` from a fresh stream (zeros before time
    0): the spectra ``LowDelaySTFT(window, hop, ...).analyse(x)`` gives, as one vectorised call.
    Returns complex ``[..., frames, window // 2 + 1]`` with ``frames = samples // hop``."""
    analysis, _ = low_delay_windows(int(window), int(hop))
    x = np.asarray(x, np.float64)
    n_frames = x.shape[-1] // hop
    pad = np.concatenate([np.zeros(x.shape[:-1] + (window - hop,)), x[..., :n_frames * hop]],
                         axis=-1)
    frames = np.lib.stride_tricks.sliding_window_view(pad, window, axis=-1)[..., ::hop, :]
    return np.fft.rfft(frames[..., :n_frames, :] * analysis, axis=-1)


class DenoiseNet(nn.Module):
    """Causal GRU band-gain estimator: dense -> GRU (one step per ``group`` frames) -> per-frame
    dense head on [GRU state of the previous complete group, frame features] -> sigmoid."""

    def __init__(self, n_features: int = N_FEATURES, n_bands: int = N_BANDS, group: int = GROUP,
                 input_size: int = 128, hidden: int = 128, head: int = 128) -> None:
        super().__init__()
        self.hparams = {"n_features": int(n_features), "n_bands": int(n_bands),
                        "group": int(group), "input_size": int(input_size),
                        "hidden": int(hidden), "head": int(head)}
        self.group, self.hidden = int(group), int(hidden)
        self.inp = nn.Linear(group * n_features, input_size)
        self.gru = nn.GRU(input_size, hidden, batch_first=True)
        self.head1 = nn.Linear(hidden + n_features, head)
        self.head2 = nn.Linear(head, n_bands)

    def forward(self, feats: torch.Tensor, h0: torch.Tensor | None = None
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """``feats`` ``[batch, frames, n_features]`` -> band gains ``[batch, frames, n_bands]`` and
        the GRU state ``[1, batch, hidden]`` after the last *complete* group of frames.

        Frame ``i`` (group ``i // group``) uses the GRU state after group ``i // group - 1`` (``h0``
        for the first group) and its own features, so trailing frames of an unfinished group get
        their gains now and the group is stepped once it is complete (see
        :class:`MaskEstimator`).
        """
        b, t, f = feats.shape
        if h0 is None:
            h0 = feats.new_zeros(1, b, self.hidden)
        n_groups = t // self.group
        if n_groups:
            x = feats[:, :n_groups * self.group].reshape(b, n_groups, self.group * f)
            out, h_last = self.gru(torch.tanh(F.linear(x, self.inp.weight, self.inp.bias)), h0)
            states = torch.cat([h0.transpose(0, 1), out], dim=1)   # [b, n_groups + 1, hidden]
        else:
            h_last, states = h0, h0.transpose(0, 1)
        per_frame = states[:, torch.arange(t) // self.group]
        z = torch.relu(F.linear(torch.cat([per_frame, feats], dim=-1), self.head1.weight,
                                self.head1.bias))
        return torch.sigmoid(F.linear(z, self.head2.weight, self.head2.bias)), h_last


class MaskEstimator:
    """Streaming bin gains from STFT power with a :class:`DenoiseNet`.

    Inference runs in the Numba kernel :func:`voxpost.dsp.maskgru.mask_gains` on the net's
    weights (copied at construction; torch is not called per block), which matches the net's own
    ``forward`` to about 1e-6 (float32).

    Parameters
    ----------
    net : DenoiseNet
    sample_rate, window, hop, channels : int
        The framing of the power handed to :meth:`gains` (``LowDelaySTFT(window, hop,
        channels)`` at ``sample_rate``). Channels are processed independently.
    """

    def __init__(self, net: DenoiseNet, sample_rate: int, window: int, hop: int,
                 channels: int) -> None:
        self.net = net.eval()
        self.sample_rate, self.window, self.hop = int(sample_rate), int(window), int(hop)
        self.channels = int(channels)
        self.bins = self.window // 2 + 1
        self._coef = ema_coefficient(self.hop, self.sample_rate)
        self.weights = maskgru.pack_weights(
            {k: v.detach().cpu().numpy() for k, v in net.state_dict().items()}, net.hidden)
        self.framing = maskgru.make_framing(
            _band_matrix(self.sample_rate, self.window), _band_to_bins(self.sample_rate, self.window),
            power_scale(self.sample_rate, self.window, self.hop), _POWER_FLOOR, _LOG_OFFSET,
            _LOG_SCALE, self._coef)
        self._w, self._fr = tuple(self.weights), tuple(self.framing)   # plain tuples dispatch faster
        self.reset()

    def reset(self) -> None:
        """Forget the stream: the next call starts a new one."""
        self._state = maskgru.new_state(self.channels, self.weights, N_BANDS)
        self._started = False
        self._warm_left: int | None = None     # frames still to pass before the model starts

    def gains(self, power: np.ndarray) -> np.ndarray:
        """``power`` ``[channels, frames, bins]`` (``|X|^2``) -> gains of the same shape in [0, 1]."""
        power = np.asarray(power)
        if power.ndim != 3 or power.shape[0] != self.channels or power.shape[2] != self.bins:
            raise ValueError(f"power must be [{self.channels}, frames, {self.bins}], "
                             f"got {power.shape}")
        frames = power.shape[1]
        if frames == 0:
            return np.zeros(power.shape, np.float32)
        if not self._started:
            # Leading digital silence (pre-roll) passes at unity and is not fed to the model, nor
            # are the frames whose window still reaches back into it: a running average started
            # on zeros would read the first second of noise as speech.
            if self._warm_left is None:
                loud = np.flatnonzero((power > SILENCE).any(axis=(0, 2)))
                if loud.size == 0:
                    return np.ones(power.shape, np.float32)
                self._warm_left = int(loud[0]) + max(0, self.window // self.hop - 1)
            if self._warm_left >= frames:
                self._warm_left -= frames
                return np.ones(power.shape, np.float32)
            first, self._started = self._warm_left, True
            if first:
                rest = self.gains(power[:, first:])
                return np.concatenate([np.ones((self.channels, first, self.bins), np.float32), rest], axis=1)
        if power.dtype != np.float32 and power.dtype != np.float64:
            power = power.astype(np.float64)
        out = np.empty(power.shape, np.float32)
        maskgru.mask_gains(np.ascontiguousarray(power), self._w, self._fr, *self._state, out)
        return out


def save_checkpoint(net: DenoiseNet, path: str | os.PathLike[str], **extra: Any) -> Path:
    """Write ``net`` as a torch dict (``state_dict``, ``hparams``, ``feature_version``, extra)."""
    ckpt = {"format": "voxpost-denoise-gru", "feature_version": FEATURE_VERSION,
            "hparams": dict(net.hparams),
            "band_edges_hz": list(BAND_EDGES_HZ), "group": net.group,
            "state_dict": {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}}
    ckpt.update(extra)
    from voxpost.outputs import atomic_path

    with atomic_path(path, overwrite=True) as tmp:
        torch.save(ckpt, tmp)
    return Path(path)


def net_from_checkpoint(ckpt: dict[str, Any]) -> DenoiseNet:
    """Build the :class:`DenoiseNet` a loaded checkpoint dict describes."""
    if ckpt.get("format") != "voxpost-denoise-gru":
        raise ValueError("not a voxpost denoise-gru checkpoint")
    if ckpt.get("feature_version") != FEATURE_VERSION or \
            list(ckpt.get("band_edges_hz", ())) != list(BAND_EDGES_HZ):
        raise ValueError(f"checkpoint has feature version {ckpt.get('feature_version')}, this "
                         f"code computes version {FEATURE_VERSION}")
    net = DenoiseNet(**ckpt["hparams"])
    net.load_state_dict(ckpt["state_dict"])
    return net.eval()


def load_checkpoint(path: str | os.PathLike[str]) -> DenoiseNet:
    """Load a checkpoint file written by :func:`save_checkpoint` (weights-only unpickling)."""
    return net_from_checkpoint(torch.load(Path(path), map_location="cpu", weights_only=True))


def load_default(registry: Any = None) -> DenoiseNet:
    """The shipped model, ``models/denoise-gru.pt``, loaded through the sha256-verifying
    registry (:class:`voxpost.models.Registry`; default: the repository's)."""
    from voxpost.models import Registry

    reg = registry if registry is not None else Registry.load()
    return net_from_checkpoint(reg.load_torch(REGISTRY_NAME))
