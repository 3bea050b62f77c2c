"""The dub job: a translated script on the original's mouths, in a consented voice, with its deliverables.

:func:`dub_job` reads every input and checks every output before any work (the M&E's rate and
length too), tracks the mouths when there is a picture, enrols the original actor when asked
(consent required), dubs, mixes over the M&E, and writes the stem and the mix (watermarked, with
provenance), the timing report, the rythmo band and the OTIO timeline. A failure part way
removes what this run wrote.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from voxpost.errors import VoxpostError
from voxpost.outputs import Written, check_output, check_outputs, write_json
from voxpost.progress import SILENT, Listener

PathLike = str | os.PathLike

#: Option ranges the job accepts.
FPS_RANGE = (1.0, 240.0)
SEARCH_MS_RANGE = (10.0, 3000.0)
MIX_LUFS_RANGE = (-60.0, -5.0)


def _check_options(*, me, mix, clone_original, consent, fps, search_ms, mix_lufs) -> None:
    if bool(me) != bool(mix):
        raise VoxpostError("--me and --mix go together: the M&E stem and where to write the mix")
    if clone_original and not consent:
        raise VoxpostError("--clone-original needs --consent FILE: the original actor's consent record")
    if consent and not clone_original:
        raise VoxpostError("--consent is for --clone-original (a --voice profile carries its own consent)")
    for value, (lo, hi), flag in ((fps or 25, FPS_RANGE, "--fps"), (search_ms, SEARCH_MS_RANGE, "--search-ms"),
                                  (mix_lufs, MIX_LUFS_RANGE, "--mix-lufs")):
        if not lo <= value <= hi:
            raise VoxpostError(f"{flag} {value:g} is outside {lo:g}..{hi:g}")


def _load_voices(voices: dict[str | None, PathLike] | None, lines, script: PathLike) -> dict | None:
    """The profiles of ``voices`` (``{speaker or None: profile path}``), checked against the script's speakers."""
    from voxpost.voice.profile import load_profile

    speakers = {line.speaker for line in lines if line.speaker}
    for name in voices or {}:
        if name is not None and name not in speakers:
            known = ", ".join(sorted(speakers)) or "none (the script has no speaker column)"
            raise VoxpostError(f"--voice names speaker {name!r}, who has no line in {script}; speakers: {known}")
    return {k: load_profile(p) for k, p in (voices or {}).items()} or None


def _with_original_texts(path: PathLike, lines, fps):
    from voxpost.dub.script import read_script

    orig = read_script(path, fps=fps).lines
    if len(orig) != len(lines):
        raise VoxpostError(f"{path}: {len(orig)} lines, but the script has {len(lines)}; "
                           "the original script must hold the same lines in the same order")
    return [replace(line, original=o.text) for line, o in zip(lines, orig)]


def dub_job(original: PathLike, *, script: PathLike, language: str, output: PathLike,
            voices: dict[str | None, PathLike] | None = None, clone_original: bool = False,
            consent: PathLike | None = None, original_script: PathLike | None = None,
            original_language: str = "en", me: PathLike | None = None, mix: PathLike | None = None,
            mix_lufs: float = -23.0, video: PathLike | None = None, report: PathLike | None = None,
            rythmo: PathLike | None = None, otio: PathLike | None = None, fps: float | None = None,
            min_speed: float = 0.8, max_speed: float = 1.25, search_ms: float = 500.0, backend: str = "auto",
            force: bool = False, listener: Listener = SILENT) -> dict[str, Any]:
    """Dub ``script`` onto ``original``; returns the timing report (also written to ``report``).

    ``voices`` maps a script speaker to a ``.voice`` profile (``None`` for every other line);
    ``clone_original`` enrols the original stem itself under ``consent``.
    """
    from voxpost.audio import info, load
    from voxpost.dub.engine import check_me, dub, mix as mix_over
    from voxpost.dub.script import read_script
    from voxpost.voice.profile import enroll
    from voxpost.voice.provenance import check_outputs as check_audio_output, describe_inputs, sidecar_path, \
        write_synthetic

    _check_options(me=me, mix=mix, clone_original=clone_original, consent=consent, fps=fps, search_ms=search_ms,
                   mix_lufs=mix_lufs)
    inputs = [str(p) for p in (original, script, *(voices or {}).values(), consent, original_script, me, video) if p]
    check_outputs([output, mix, report, rythmo, otio], overwrite=force, protect=inputs)
    check_audio_output(output, overwrite=force, protect=inputs)
    if mix:
        check_audio_output(mix, overwrite=force, protect=inputs)
    for path, ext in ((report, ".json"), (rythmo, ".png"), (otio, ".otio")):
        if path:
            check_output(path, overwrite=force, protect=inputs, suffix=ext)

    meta = info(original)
    if me:
        me_meta = info(me)
        check_me(me_meta["sample_rate"], me_meta["frames"], meta["sample_rate"], meta["frames"])
    mouth = None
    if video:
        from voxpost.dub.video import mouth_track

        mouth = mouth_track(video)
        fps = fps or mouth.fps
    fps = fps or meta.get("timecode_fps") or 25.0
    parsed = read_script(script, duration_s=meta["duration_s"], fps=fps)
    lines = parsed.lines
    if original_script:
        lines = _with_original_texts(original_script, lines, fps)
    profiles = _load_voices(voices, lines, script)
    if clone_original:
        profiles = {None: enroll([original], name=f"{Path(original).stem} (cloned from the original)",
                                 consent=consent)}
    for w in parsed.warnings:
        listener.warn(w)
    result = dub(load(original), lines, language=language, voice=profiles, backend=backend,
                 original_language=original_language, mouth=mouth, min_speed=min_speed, max_speed=max_speed,
                 search_s=search_ms / 1000)
    mixed = mix_info = None
    if me:
        mixed, mix_info = mix_over(result.stem, load(me), target_lufs=mix_lufs)
    doc = dict(result.report, original=str(original), stem=str(output), mix=str(mix) if mix else None, fps=fps,
               script=str(script), warnings=parsed.warnings,
               voices={str(k) if k else "*": p.summary() for k, p in (profiles or {}).items()} or None,
               mix_loudness=mix_info)
    one = list((profiles or {}).values())
    prof_id = one[0].id if len(one) == 1 else None     # the mark's payload holds one id
    with Written() as done:
        write_synthetic(result.stem, output, result.stages, inputs=describe_inputs(inputs), profile_id=prof_id,
                        overwrite=force, protect=inputs)
        done.add(output, sidecar_path(output))
        if mixed is not None:
            write_synthetic(mixed, mix, result.stages + [mix_info], inputs=describe_inputs(inputs),
                            profile_id=prof_id, overwrite=force, protect=inputs)
            done.add(mix, sidecar_path(mix))
        if report:
            done.add(write_json(report, doc, overwrite=force, protect=inputs))
        if rythmo:
            from voxpost.dub.rythmo import rythmo_png

            done.add(*rythmo_png(doc, rythmo))
        if otio:
            from voxpost.dub.timeline import write_otio

            done.add(write_otio(doc, otio, overwrite=force))
    s = doc["summary"]
    listener.note(f"{output}: {s['lines']} lines dubbed ({s['ok']} ok, {s['flagged']} flagged), pace "
                  f"{s['speed_min']:.2f}-{s['speed_max']:.2f}x, onset vs window median "
                  f"{s['median_onset_error_ms']} ms; watermarked")
    for e in doc["lines"]:
        if e["status"] == "flagged":
            listener.note(f"  line {e['index']}: {e['reason']}; suggest {e['suggest_syllables']:+d} syllables")
    return doc
