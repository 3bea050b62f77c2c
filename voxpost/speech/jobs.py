"""The speech jobs: a file in, transcripts, word timings, subtitles and speaker turns out.

:func:`align_job` times a known script word by word, :func:`transcribe_job` recognises the
words (whisper, silences skipped), :func:`diarize_job` says who speaks when. Each opens its
input and checks every output before any work and writes atomically; each returns the document
it wrote.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from voxpost.errors import VoxpostError
from voxpost.outputs import check_outputs, write_json, write_text
from voxpost.progress import SILENT, Listener

PathLike = str | os.PathLike

#: Most speakers the diarizers are asked for.
MAX_SPEAKERS = 64


def read_script(path: PathLike) -> str:
    """A script file as text (UTF-8, a byte-order mark dropped); one-line errors."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise VoxpostError(f"{path}: cannot read the script ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise VoxpostError(f"{path}: the script is not UTF-8 text") from None


def subtitles(words: list[dict[str, Any]], offset_s: float, *, vtt: bool = False) -> str:
    """SRT (or WebVTT) cues from timed words, with the script's punctuation where it is known."""
    from voxpost.speech.formats import segments_from_words, to_srt, to_vtt

    segs = segments_from_words([dict(w, word=w.get("text") or w["word"]) for w in words])
    return to_vtt(segs, offset_s=offset_s) if vtt else to_srt(segs, offset_s=offset_s)


def _preflight(input: PathLike, outputs: list[PathLike | None], protect: list[PathLike], force: bool) -> None:
    from voxpost.stream import AudioReader

    AudioReader(input).close()
    check_outputs(outputs, overwrite=force, protect=protect)


def align_job(input: PathLike, script: PathLike, *, output: PathLike, srt: PathLike | None = None,
              language: str = "en", force: bool = False, listener: Listener = SILENT) -> dict[str, Any]:
    """Word timings of the script in ``script`` (a UTF-8 file) spoken in ``input``; writes JSON (+ SRT)."""
    from voxpost.espeak import check_language
    from voxpost.speech.align import align_file

    text = read_script(script)
    check_language(language)
    protect = [input, script]
    _preflight(input, [output, srt], protect, force)
    result = align_file(input, text, language=language)
    for w in result["warnings"]:
        listener.warn(w)
    write_json(output, result, overwrite=force, protect=protect)
    if srt:
        write_text(srt, subtitles(result["words"], result["timecode"]["offset_s"]), overwrite=force, protect=protect)
    listener.note(f"{input}: {len(result['words'])} words aligned, confidence {result['confidence']:.2f} -> {output}")
    return result


def transcribe_job(input: PathLike, *, output: PathLike, srt: PathLike | None = None, vtt: PathLike | None = None,
                   model: str | None = None, language: str | None = None, diarize: bool = False,
                   align_words: bool = False, force: bool = False, listener: Listener = SILENT) -> dict[str, Any]:
    """Transcribe ``input`` with word timings into JSON (+ SRT / WebVTT); ``diarize`` labels speakers,
    ``align_words`` refines word boundaries with the script aligner (whisper's times are kept too).
    No speech gives an empty transcript and a warning. ``model`` defaults to the embedded English
    model (:data:`~voxpost.speech.whisper_models.DEFAULT_MODEL`)."""
    from voxpost.speech.formats import assign_speakers, segments_from_words, to_srt, to_vtt
    from voxpost.speech.transcribe import DEFAULT_MODEL, normalize_language, transcribe_file

    if language:
        normalize_language(language)
    protect = [input]
    _preflight(input, [output, srt, vtt], protect, force)
    with listener.task(f"transcribing {Path(input).name}") as tick:
        doc = transcribe_file(input, model=model or DEFAULT_MODEL, language=language, progress=tick,
                              align_words=align_words)
    for w in doc["warnings"]:
        listener.warn(f"{input}: {w}")
    if diarize:
        from voxpost.speech.diarize import diarize_file

        turns = diarize_file(input)
        doc["words"] = assign_speakers(doc["words"], turns)
        doc["speakers"] = sorted({t[2] for t in turns})
        doc["turns"] = [{"start": round(a, 3), "end": round(b, 3), "speaker": s} for a, b, s in turns]
    offset = doc["timecode"]["offset_s"]
    cues = segments_from_words(doc["words"])
    if diarize:
        doc["segments"] = cues
    write_json(output, doc, overwrite=force, protect=protect)
    if srt:
        write_text(srt, to_srt(cues, offset_s=offset), overwrite=force, protect=protect)
    if vtt:
        write_text(vtt, to_vtt(cues, offset_s=offset), overwrite=force, protect=protect)
    listener.note(f"{input}: {len(doc['words'])} words ({doc['language']}) -> {output}")
    return doc


def diarize_job(input: PathLike, *, output: PathLike, backend: str = "auto", num_speakers: int | None = None,
                force: bool = False, listener: Listener = SILENT) -> dict[str, Any]:
    """Who speaks when in ``input``, written as RTTM; returns ``{"turns", "speakers", "output"}``."""
    from voxpost.speech.diarize import diarize_file
    from voxpost.speech.formats import to_rttm

    if num_speakers is not None and not 1 <= num_speakers <= MAX_SPEAKERS:
        raise VoxpostError(f"--num-speakers {num_speakers} is outside 1..{MAX_SPEAKERS}")
    protect = [input]
    _preflight(input, [output], protect, force)
    turns = diarize_file(input, backend=backend, num_speakers=num_speakers)
    uri = Path(input).stem.replace(" ", "_") or "recording"
    write_text(output, to_rttm(turns, uri=uri), overwrite=force, protect=protect)
    speakers = sorted({t[2] for t in turns})
    listener.note(f"{input}: {len(speakers)} speakers, {len(turns)} turns -> {output}")
    return {"output": str(output), "speakers": speakers,
            "turns": [{"start": round(a, 3), "end": round(b, 3), "speaker": s} for a, b, s in turns]}
