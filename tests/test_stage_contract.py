"""The contract every registered stage keeps, checked over the whole registry.

Parametrised over :func:`voxpost.stages.registry`, so a new stage is covered as soon as its module
is listed there (and a module that registers a stage without being listed fails
:func:`test_every_registering_module_is_listed`). Each stage is checked with its defaults, and the
configurations in :data:`VARIANTS` with the resources they need, built here as real files: a tiny
denoise checkpoint in the real on-disk format and a real ``.voice`` profile with its consent
record.

The contract:

- **registration**: name and class round-trip through the registry; every parameter has a help
  line; every float parameter carries its unit in its name (:data:`UNIT_SUFFIXES`) or is a bounded
  dimensionless amount (both ``min`` and ``max`` declared).
- **bounded latency**: ``latency_samples`` is a non-negative int under :data:`MAX_LATENCY_MS`, and
  a probe through a :class:`~voxpost.stage.Chain` comes out where the input went in: the waveform
  at lag 0 (within :data:`WAVEFORM_LAG_SAMPLES`, filters' group delay) when the stage keeps the
  waveform (correlation >= 0.9), else its envelope within :data:`ENVELOPE_LAG_MS` (voice
  conversion resynthesises).
- **block-size invariance**: 10 ms blocks give the whole-file output within :data:`BLOCK_TOLERANCE`.
- **bad input shapes** (:data:`conftest.EDGE_CASES`): finite output of the input's shape, or, for a
  rate the stage refuses, a one-line :class:`~voxpost.errors.VoxpostError`.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.signal

from conftest import EDGE_CASES, REPO, edge_case_shape, make_voice_profile, voice_like
from voxpost.audio import Audio
from voxpost.errors import VoxpostError
from voxpost.stage import STAGES, Chain, Stage
from voxpost.stages import MODULES, registry

#: Name endings that state a parameter's unit.
UNIT_SUFFIXES = ("_hz", "_ms", "_s", "_db", "_dbtp", "_lufs", "_semitones", "_samples")
#: Largest algorithmic latency any stage may have (voice conversion: 22.7 ms).
MAX_LATENCY_MS = 50.0
#: Waveform-keeping stages line up to the sample, up to the group delay of a filter.
WAVEFORM_LAG_SAMPLES = 1
#: Resynthesising stages: their envelope lines up within this (voice-convert measured -4.5 ms on
#: the gated probe with pitch only, +0.6 ms toward a profile).
ENVELOPE_LAG_MS = 5.0
#: 10 ms blocks against the whole file, largest absolute difference (outputs are about 0.3 peak).
#: On this probe every stage measures 0 (the learned denoiser too: its inference runs frame by
#: frame, :mod:`voxpost.dsp.maskgru`). Voice
#: conversion gets 1e-3: toward a profile it differed by 7e-4 on an ungated 2 s voice-like signal
#: (cause not traced; test_convert holds real speech to 1e-3 of the peak).
BLOCK_TOLERANCE = {"voice-convert": 1e-3}
DEFAULT_BLOCK_TOLERANCE = 1e-6
RATES = (16000, 48000)

#: Configurations checked besides the defaults: name -> parameters, given the built resources.
VARIANTS = {
    "declick": {"two-pass": lambda r: {"passes": 2}},
    "denoise": {"hybrid-model": lambda r: {"engine": "hybrid", "model_path": str(r["model"])}},
    "loudness": {"short-term": lambda r: {"mode": "short_term"}},
    "voice-convert": {"profile": lambda r: {"profile_path": str(r["profile"])}},
}
CASES = [(kind, "defaults") for kind in registry()] + [
    (kind, name) for kind, variants in VARIANTS.items() for name in variants]
IDS = [f"{kind}-{name}" for kind, name in CASES]


@pytest.fixture(scope="module")
def resources(tmp_path_factory) -> dict[str, Path]:
    """A tiny denoise checkpoint (real format, seeded weights) and a real voice profile."""
    import torch

    from voxpost.clean import denoise_model

    folder = tmp_path_factory.mktemp("resources")
    torch.manual_seed(0)
    net = denoise_model.DenoiseNet(input_size=16, hidden=16, head=16)
    return {"model": denoise_model.save_checkpoint(net, folder / "tiny-denoise.pt"),
            "profile": make_voice_profile(folder)}


def make(kind: str, variant: str, resources: dict[str, Path]) -> Stage:
    params = {} if variant == "defaults" else VARIANTS[kind][variant](resources)
    return registry()[kind](**params)


def probe(sample_rate: int, seconds: float = 2.0, channels: int = 1) -> np.ndarray:
    """Dialogue with trouble: voice-like syllables with 5 ms edges, light 50 Hz hum and hiss, a
    click; different in each channel."""
    rows = []
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    kernel = np.hanning(int(0.005 * sample_rate))
    gate = np.convolve((t % 0.35 < 0.2).astype(float), kernel / kernel.sum(), "same")
    for c in range(channels):
        x = voice_like(seconds, sample_rate, seed=1 + c) * gate
        x += 0.003 * np.sin(2 * np.pi * 50 * t) + 0.001 * np.random.default_rng(c).standard_normal(t.size)
        x[int(min(0.61, seconds / 2) * sample_rate)] += 0.3
        rows.append(x)
    return np.asarray(rows, np.float32)


def best_lag(x: np.ndarray, y: np.ndarray, max_lag: int) -> tuple[int, float]:
    """The lag of ``y`` behind ``x`` (within +-max_lag) of largest cross-correlation, and the
    normalised correlation there."""
    n = x.size + y.size
    c = np.fft.irfft(np.fft.rfft(y, n) * np.conj(np.fft.rfft(x, n)), n)
    lags = np.r_[0:max_lag + 1, -max_lag:0]
    i = int(np.argmax(c[lags]))
    return int(lags[i]), float(c[lags[i]] / np.sqrt(np.sum(x * x) * np.sum(y * y)))


def envelope(x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Hilbert envelope smoothed over 2 ms, mean removed."""
    k = int(0.002 * sample_rate)
    e = np.convolve(np.abs(scipy.signal.hilbert(x)), np.ones(k) / k, "same")
    return e - e.mean()


# -- registration ----------------------------------------------------------------------------------
def test_every_registering_module_is_listed():
    """A module with a ``@register``-ed stage that voxpost.stages does not list is not preset-able."""
    listed = {m.__name__ for m in MODULES}
    registering = {".".join(p.relative_to(REPO).with_suffix("").parts)
                   for p in (REPO / "voxpost").rglob("*.py")
                   if re.search(r"^@register\b", p.read_text(encoding="utf-8"), re.M)}
    assert registering == listed


@pytest.mark.parametrize("kind", list(registry()))
def test_registration(kind):
    cls = registry()[kind]
    assert STAGES[kind] is cls and cls.kind == kind and issubclass(cls, Stage) and cls.description
    stage = cls()
    assert type(cls(**stage.params())).__name__ == cls.__name__ and cls(**stage.params()).params() == stage.params()
    with pytest.raises(TypeError):
        cls(0.0)                                         # keyword-only
    for f in dataclasses.fields(cls):
        meta = f.metadata
        assert meta.get("help"), f"{kind}.{f.name} has no help line"
        if f.type in (float, "float") and not meta.get("choices"):
            assert f.name.endswith(UNIT_SUFFIXES) or (meta["min"] is not None and meta["max"] is not None), \
                f"{kind}.{f.name}: a float parameter needs its unit in its name, or bounds"


# -- latency ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,variant", CASES, ids=IDS)
def test_latency_is_bounded_and_compensated(kind, variant, resources):
    tried = 0
    for sr in RATES:
        stage = make(kind, variant, resources)
        try:
            stage.prepare(sr, 1)
        except VoxpostError:                             # a rate the stage refuses (lowpass at 16 kHz)
            continue
        tried += 1
        latency = stage.latency_samples
        assert isinstance(latency, int) and 0 <= latency <= MAX_LATENCY_MS * 1e-3 * sr, latency
        x = probe(sr)
        y = Chain([make(kind, variant, resources)]).render(Audio(x, sr)).samples
        assert y.shape == x.shape
        lag, r = best_lag(x[0].astype(np.float64), y[0].astype(np.float64), int(0.03 * sr))
        if r >= 0.9:
            assert abs(lag) <= WAVEFORM_LAG_SAMPLES, (sr, lag, r)
        else:
            env_lag, _ = best_lag(envelope(x[0], sr), envelope(y[0], sr), int(0.03 * sr))
            assert abs(env_lag) <= ENVELOPE_LAG_MS * 1e-3 * sr, (sr, env_lag, r)
    assert tried, f"{kind} refuses every rate of {RATES}"


# -- block size ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind,variant", CASES, ids=IDS)
def test_10ms_blocks_equal_the_whole_file(kind, variant, resources):
    sr = 48000
    a = Audio(probe(sr, seconds=1.5, channels=2), sr)
    whole = Chain([make(kind, variant, resources)]).render(a).samples
    blocked = Chain([make(kind, variant, resources)]).render(a, block_frames=sr // 100).samples
    assert blocked.shape == whole.shape == a.samples.shape
    assert np.abs(blocked - whole).max() <= BLOCK_TOLERANCE.get(kind, DEFAULT_BLOCK_TOLERANCE)


# -- bad input shapes ------------------------------------------------------------------------------
@pytest.mark.parametrize("case", EDGE_CASES)
@pytest.mark.parametrize("kind,variant", CASES, ids=IDS)
def test_edge_cases(kind, variant, case, resources):
    sr, frames, channels = edge_case_shape(case)
    x = np.zeros((channels, frames), np.float32) if case == "silence" else \
        probe(sr, frames / sr, channels)[:, :frames]
    try:
        y = Chain([make(kind, variant, resources)]).render(Audio(x, sr)).samples
    except VoxpostError as exc:
        assert case == "8k", f"{kind} refused {case}: {exc}"
        assert str(exc) and "\n" not in str(exc)
        return
    assert y.shape == x.shape and y.dtype == np.float32 and np.isfinite(y).all()
    if case == "silence":
        assert np.abs(y).max() < 1e-6
