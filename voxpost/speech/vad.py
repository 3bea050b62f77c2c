"""Voice activity detection: Silero VAD, run through onnxruntime on the model its package ships.

The silero-vad package carries its weights (``silero_vad/data/*.onnx``), so this works offline
with no download. We use its *sequence* export (``silero_vad_16k_sequence.onnx``): the same
network as the streaming model, but one ONNX call runs a whole block of 32 ms frames with the
LSTM state carried in and out, so there is no per-frame Python loop. The package itself is not
imported (its ``__init__`` imports torch: seconds and about 1 GB); only its data directory is
located.

:class:`VoiceActivity` is streaming: feed 16 kHz mono blocks of any size, get one speech
probability per completed 512-sample frame (32 ms); any split of the input gives the same
probabilities. :func:`speech_probabilities` and :func:`speech_regions` take audio at any rate
and channel count (mixed to mono, resampled to 16 kHz with soxr).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from voxpost.errors import ModelError

#: The model's rate, frame and the context each frame carries from the previous one.
RATE = 16000
FRAME = 512
CONTEXT = 64
#: Seconds per probability.
FRAME_S = FRAME / RATE
MODEL_FILE = "silero_vad_16k_sequence.onnx"


def model_path() -> Path:
    """The sequence ONNX file inside the installed silero-vad package (not imported)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("silero-vad is not installed: pip install silero-vad")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / MODEL_FILE
    if not path.is_file():
        raise ModelError(f"silero-vad has no {MODEL_FILE} (found {path.parent}); install silero-vad >= 6")
    return path


class VoiceActivity:
    """Streaming speech probabilities for 16 kHz mono audio, one per 32 ms frame."""

    def __init__(self, *, max_frames: int = 512) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.inter_op_num_threads = 1
        opts.intra_op_num_threads = 1
        self._session = ort.InferenceSession(str(model_path()), sess_options=opts,
                                             providers=["CPUExecutionProvider"])
        self.max_frames = int(max_frames)
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros((1, 1, 128), np.float32)
        self._c = np.zeros((1, 1, 128), np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._fill = np.zeros(0, np.float32)

    def probabilities(self, block: np.ndarray) -> np.ndarray:
        """Speech probabilities of the frames ``block`` completes (16 kHz mono float)."""
        x = np.concatenate([self._fill, np.asarray(block, np.float32).reshape(-1)])
        n = x.size // FRAME
        self._fill = x[n * FRAME:]
        out = []
        for first in range(0, n, self.max_frames):
            frames = x[first * FRAME:(first + min(self.max_frames, n - first)) * FRAME].reshape(-1, FRAME)
            ctx = np.empty((frames.shape[0], CONTEXT), np.float32)
            ctx[0] = self._context
            ctx[1:] = frames[:-1, -CONTEXT:]
            self._context = frames[-1, -CONTEXT:].copy()
            probs, self._h, self._c = self._session.run(
                ["speech_probs", "hn", "cn"],
                {"input": np.ascontiguousarray(np.concatenate([ctx, frames], axis=1)), "h": self._h, "c": self._c})
            out.append(np.asarray(probs, np.float32).reshape(-1))
        return np.concatenate(out) if out else np.zeros(0, np.float32)


def speech_probabilities(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-32 ms speech probabilities of ``samples`` ``[channels, frames]`` or ``[frames]`` at any
    rate (mixed to mono, resampled to 16 kHz); the last partial frame is zero-padded."""
    from voxpost.resample import resample

    x = np.asarray(samples, np.float32)
    mono = resample(x if x.ndim == 1 else x.mean(axis=0), sample_rate, RATE)
    pad = (-mono.size) % FRAME
    return VoiceActivity().probabilities(np.concatenate([mono, np.zeros(pad, np.float32)]))


def regions_from_probabilities(probs: np.ndarray, *, threshold: float = 0.5, min_speech_ms: float = 250.0,
                               min_silence_ms: float = 100.0, pad_ms: float = 30.0,
                               duration_s: float | None = None) -> list[tuple[float, float]]:
    """Speech regions ``(start_s, end_s)`` from per-frame probabilities, Silero's rules: speech
    starts at ``p >= threshold`` and ends where ``p < threshold - 0.15`` (hysteresis); pauses
    under ``min_silence_ms`` are bridged, regions under ``min_speech_ms`` dropped, and each
    region padded by ``pad_ms`` (clipped to the file and to its neighbours)."""
    p = np.asarray(probs, np.float64)
    if p.size == 0:
        return []
    on, off = p >= threshold, p < max(threshold - 0.15, 0.01)
    # hysteresis: the state at each frame is that of the last frame that was on or off
    events = np.where(on, 1, np.where(off, 0, -1))
    idx = np.where(events >= 0, np.arange(p.size), -1)
    last = np.maximum.accumulate(idx)
    speech = np.where(last >= 0, events[np.maximum(last, 0)], 0).astype(bool)
    edges = np.diff(np.concatenate([[0], speech.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    gap = int(np.ceil(min_silence_ms / 1000 / FRAME_S))
    if starts.size == 0:
        return []
    apart = starts[1:] - ends[:-1] >= gap            # pauses long enough to split regions
    starts, ends = starts[np.concatenate([[True], apart])], ends[np.concatenate([apart, [True]])]
    long_enough = (ends - starts) * FRAME_S >= min_speech_ms / 1000
    starts, ends = starts[long_enough] * FRAME_S, ends[long_enough] * FRAME_S
    total = p.size * FRAME_S if duration_s is None else duration_s
    pad = pad_ms / 1000
    out = []
    for i, (s, e) in enumerate(zip(starts, ends)):
        lo = max(0.0, s - pad, (out[-1][1] if out else 0.0))
        hi = min(total, e + pad, (starts[i + 1] if i + 1 < starts.size else total))
        out.append((round(float(lo), 4), round(float(hi), 4)))
    return out


def speech_regions(samples: np.ndarray, sample_rate: int, **kwargs: float) -> list[tuple[float, float]]:
    """Speech regions ``(start_s, end_s)`` of ``samples`` at any rate; see
    :func:`regions_from_probabilities` for the keyword arguments."""
    frames = np.asarray(samples).shape[-1]
    return regions_from_probabilities(speech_probabilities(samples, sample_rate),
                                      duration_s=frames / sample_rate, **kwargs)
