"""The voice jobs: speak a line, enrol a consented profile, convert a recording, mark and detect.

Everything these jobs write as audio is watermarked and gets a provenance record
(:func:`voxpost.voice.provenance.write_synthetic`); every output is checked before any work.
"""

from __future__ import annotations

import os
from typing import Any

from voxpost.errors import ModelError, VoxpostError
from voxpost.outputs import Written, check_output, write_json
from voxpost.progress import SILENT, Listener

PathLike = str | os.PathLike

#: Output rates ``speak`` writes, Hz.
SPEAK_RATES_HZ = (8000, 192000)


def speak_job(text: str, *, output: PathLike, language: str = "en", voice: PathLike | None = None,
              rate_wpm: float | None = None, duration_s: float | None = None, pitch: int = 50,
              sample_rate: int = 48000, timings: PathLike | None = None, inputs: list[PathLike] = (),
              force: bool = False, listener: Listener = SILENT) -> dict[str, Any]:
    """Speak ``text`` (optionally in ``voice``'s profile) into ``output``, marked; ``timings`` gets the words.

    ``inputs`` are files the text came from, protected like the profile.
    """
    from voxpost.voice.profile import load_profile
    from voxpost.voice.provenance import check_outputs, describe_inputs, sidecar_path, write_synthetic
    from voxpost.voice.tts import speak

    protect = [p for p in (*inputs, voice) if p]
    check_outputs(output, overwrite=force, protect=protect)
    if timings:
        check_output(timings, overwrite=force, protect=[*protect, output])
    lo, hi = SPEAK_RATES_HZ
    if not lo <= sample_rate <= hi:
        raise VoxpostError(f"--sample-rate {sample_rate} is out of range ({lo}..{hi})")
    profile = load_profile(voice) if voice else None
    line = speak(text, language=language, rate_wpm=rate_wpm, duration_s=duration_s, pitch=pitch, voice=profile,
                 sample_rate=sample_rate)
    with Written() as done:
        prov = write_synthetic(line.audio, output, line.stages, inputs=describe_inputs(protect),
                               profile_id=profile.id if profile else None, overwrite=force, protect=protect)
        done.add(output, sidecar_path(output))
        if timings:
            done.add(write_json(timings, line.timings(), overwrite=force, protect=[*protect, output]))
    report = {"output": str(output), "duration_s": line.audio.duration_s, "words": len(line.words),
              "rate_wpm": line.rate_wpm, "stretch_ratio": line.stretch_ratio,
              "watermark_snr_db": prov["stages"][-1]["snr_db"], "profile_id": profile.id if profile else None}
    listener.note(f"{output}: {line.audio.duration_s:.3f} s, {len(line.words)} words at {line.rate_wpm:.0f} wpm, "
                  f"stretch x{line.stretch_ratio:.4f}, watermarked ({report['watermark_snr_db']:.1f} dB SNR)")
    return report


def enroll_job(references: list[PathLike], *, name: str, consent: PathLike, output: PathLike,
               force: bool = False, listener: Listener = SILENT) -> dict[str, Any]:
    """Build a voice profile from recordings of one speaker and their consent record; returns its summary."""
    from voxpost.voice import knnvc
    from voxpost.voice.profile import enroll

    protect = [*references, consent]
    check_output(output, overwrite=force, protect=protect)
    model = None
    if knnvc.available():
        try:
            model = knnvc.load()
        except ModelError as exc:
            listener.warn(f"kNN-VC not used for this profile: {exc}")
    prof = enroll(list(references), name=name, consent=consent, knnvc=model)
    prof.save(output, overwrite=force, protect=protect)
    f0 = prof.stats["f0"]
    listener.note(f"{output}: profile '{prof.name}' ({prof.id[:12]}), {prof.stats['speech_s']:.1f} s of speech "
                  f"from {len(prof.references)} file(s), F0 median {f0['median_hz']:.0f} Hz, consent "
                  f"{prof.consent['sha256'][:12]}")
    return dict(prof.summary(), output=str(output))


def convert_job(input: PathLike, *, voice: PathLike, output: PathLike, backend: str = "auto",
                force: bool = False, listener: Listener = SILENT) -> dict[str, Any]:
    """The same words and timing as ``input``, in the profile's voice, marked; returns the stage record."""
    from voxpost.audio import load
    from voxpost.stream import AudioReader
    from voxpost.voice.backends import convert_audio
    from voxpost.voice.profile import load_profile
    from voxpost.voice.provenance import check_outputs, describe_inputs, write_synthetic

    protect = [input, voice]
    AudioReader(input).close()
    check_outputs(output, overwrite=force, protect=protect)
    profile = load_profile(voice)
    converted, stage = convert_audio(load(input), profile, backend=backend)
    write_synthetic(converted, output, [stage], inputs=describe_inputs([input]), profile_id=profile.id,
                    overwrite=force, protect=protect)
    listener.note(f"{output}: {converted.duration_s:.3f} s in the voice of '{profile.name}' ({stage['backend']}), "
                  "watermarked")
    return dict(stage, output=str(output), duration_s=converted.duration_s, profile_id=profile.id)


def mark_detect_job(files: list[PathLike], *, listener: Listener = SILENT) -> list[dict[str, Any]]:
    """Detect the AI-generated mark in each file: ``{"marked", "score", "payload", ...}`` per file."""
    from voxpost.voice import provenance, watermark

    results = []
    for f in files:
        det = watermark.detect_file(f).to_dict()
        prov = provenance.read(f)
        if prov:
            det["provenance"] = {"stages": [s.get("stage") for s in prov.get("stages", [])],
                                 "created_utc": prov.get("created_utc")}
        results.append(dict(det, file=str(f)))
    return results


def mark_embed_job(input: PathLike, *, output: PathLike, force: bool = False,
                   listener: Listener = SILENT) -> dict[str, Any]:
    """Mark a file made elsewhere as AI-generated (watermark + provenance); returns the record."""
    from voxpost.audio import load
    from voxpost.stream import AudioReader
    from voxpost.voice.provenance import check_outputs, describe_inputs, write_synthetic

    protect = [input]
    AudioReader(input).close()
    check_outputs(output, overwrite=force, protect=protect)
    prov = write_synthetic(load(input), output, [{"stage": "mark-embed", "note": "made elsewhere; marked by voxpost"}],
                           inputs=describe_inputs([input]), overwrite=force, protect=protect)
    listener.note(f"{output}: watermarked ({prov['stages'][-1]['snr_db']:.1f} dB SNR)")
    return prov
