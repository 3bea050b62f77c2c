"""Choosing the voice-conversion backend for a profile: embedded vocoder or kNN-VC.

- ``embedded`` (always there): the analysis/synthesis vocoder with F0 and envelope mapping,
  :mod:`voxpost.voice.convert`. Keeps every channel, the sample rate and the exact length.
- ``knnvc``: WavLM features matched to the profile's matching set, HiFi-GAN vocoder
  (:mod:`voxpost.voice.knnvc`). Needs its checkpoints installed and a profile enrolled while they
  were. It works on the mono mix at 16 kHz; the result is resampled back and given to every
  channel, at the input's exact length.
- ``auto``: kNN-VC when both are available, else embedded.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxpost.errors import VoxpostError

BACKENDS = ("auto", "embedded", "knnvc")


def _knnvc_ready(profile) -> bool:
    from voxpost.voice import knnvc

    return "knnvc_matching_set" in profile.arrays and knnvc.available()


def convert_audio(audio, profile, *, backend: str = "auto") -> tuple[Any, dict[str, Any]]:
    """Convert ``audio`` (a :class:`voxpost.audio.Audio`) into ``profile``'s voice.

    Returns the converted audio (same rate, channels, frames, timecode, metadata) and the
    provenance stage describing what was done.
    """
    if backend not in BACKENDS:
        raise VoxpostError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    use = backend
    model = None
    if backend == "auto" and _knnvc_ready(profile):
        from voxpost.errors import ModelError
        from voxpost.voice import knnvc

        try:
            model = knnvc.load()
        except ModelError:               # installed but not verifiable: the embedded default
            model = None
    if backend == "auto":
        use = "knnvc" if model is not None else "embedded"
    stage: dict[str, Any] = {"stage": "voice-convert",
                             "profile": {"name": profile.name, "id": profile.id,
                                         "consent_sha256": profile.consent.get("sha256")}}
    if use == "embedded":
        from voxpost.voice.convert import convert

        out = convert(audio.samples, audio.sample_rate, profile.stats)
        stage["backend"] = "embedded-vocoder"
        return audio.with_samples(np.asarray(out, np.float32).reshape(audio.samples.shape)), stage
    if "knnvc_matching_set" not in profile.arrays:
        raise VoxpostError(f"profile '{profile.name}' has no kNN-VC matching set: re-enrol it with the "
                           "kNN-VC checkpoints installed (see 'voxpost models list'), or use --backend embedded")
    from voxpost.resample import resample
    from voxpost.voice import knnvc

    model = model or knnvc.load()
    mono = audio.samples.mean(axis=0)
    y = knnvc.convert(model, mono, audio.sample_rate, profile.arrays["knnvc_matching_set"])
    if audio.sample_rate != model.SAMPLE_RATE:
        y = resample(y, model.SAMPLE_RATE, audio.sample_rate)
    y = np.asarray(y, np.float32)[: audio.frames]
    y = np.pad(y, (0, audio.frames - y.size))
    stage.update(backend="knnvc", models=model.sources)
    return audio.with_samples(np.tile(y, (audio.channels, 1))), stage
