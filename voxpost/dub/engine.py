"""The dubbing job: every script line found on the original, fitted, voiced, and laid into a stem.

:func:`dub` is the library call behind ``voxpost dub``. It returns the dubbed dialogue stem
(mono, the original's rate and exact length, so it is sample-aligned with the original) and the
timing report. :func:`mix` lays the stem over an M&E stem at a delivery loudness. Writing, marking
and provenance are the caller's (:mod:`voxpost.voice.provenance`).

Each line is placed on its own window, so an error never carries from one line to the next: there
is no drift across a reel. Each dubbed line sits at the level the original spoke it (RMS over the
window, within ``LEVEL_RANGE_DB``), so the stem drops into the mix where the original was.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from voxpost.dub.fit import MAX_SPEED, MIN_SPEED, FittedLine, fit_line
from voxpost.dub.windows import Window, analyse, find_windows, refine_with_text
from voxpost.errors import VoxpostError

#: Largest gain applied to match a dubbed line to the original's level, dB (either way).
LEVEL_RANGE_DB = 24.0
#: Peak ceiling of the stem, dBFS (room for the mark and codecs).
STEM_PEAK_DB = -1.0
#: Mouth activity (0..1) above which the speaker is taken to be on screen.
ON_SCREEN_ACTIVITY = 0.15


class DubError(VoxpostError):
    """A dubbing job that cannot be done as asked (incompatible stems, nothing to dub)."""


@dataclass
class DubResult:
    stem: Any                                   # voxpost.audio.Audio, mono
    report: dict[str, Any]
    stages: list[dict[str, Any]] = field(default_factory=list)
    fitted: list[FittedLine] = field(default_factory=list)


def _rms_db(x: np.ndarray) -> float:
    x = np.asarray(x, np.float64)
    loud = x[np.abs(x) > 1e-4]
    return float(10 * np.log10(np.mean(loud ** 2) + 1e-12)) if loud.size else -120.0


def _clip_windows(windows: list[Window]) -> None:
    """Keep refined windows in order and apart (alignment may reach into a neighbour's margin)."""
    for a, b in zip(windows[:-1], windows[1:]):
        if a.end_s > b.start_s:
            mid = round((a.end_s + b.start_s) / 2, 4)
            a.end_s, b.start_s = mid, mid
            a.pauses = [p for p in a.pauses if p[1] < mid]
            b.pauses = [p for p in b.pauses if p[0] > mid]


def _mouth_window(w: Window, line, mouth, search_s: float) -> Window:
    """A line the audio gave no speech for (under music, effects or noise) takes the span where the
    mouth on screen moves near its timecode, when there is one."""
    t = np.asarray(mouth.times_s)
    act = np.nan_to_num(np.asarray(mouth.activity, np.float64))
    near = (t >= line.start_s - search_s) & (t <= line.end_s + search_s)
    moving = np.flatnonzero(near & (act >= ON_SCREEN_ACTIVITY))
    if moving.size < 3:
        return w
    return Window(round(float(t[moving[0]]), 4), round(float(t[moving[-1]] + 1.0 / mouth.fps), 4),
                  source="video", found=True)


def _with_mouth(w: Window, mouth) -> Window:
    """Closures seen on screen become the anchors when the speaker's mouth moves in the window.

    Closures from the aligned original text (its own p, b, m) are surer than the picture's (frame
    resolution, and lips also close on f, v, w and in jitter), so they are kept when present."""
    if mouth is None or w.closures or mouth.speaking(w.start_s, w.end_s) < ON_SCREEN_ACTIVITY:
        return w
    seen = [round(float(c), 4) for c in mouth.closures_s if w.start_s <= c <= w.end_s]
    if seen:
        w.closures = seen
        w.source = w.source if w.source == "video" else w.source + "+video"
    return w


def dub(original, lines: Sequence[Any], *, language: str, voice=None, backend: str = "auto",
        original_language: str = "en", mouth=None, min_speed: float = MIN_SPEED,
        max_speed: float = MAX_SPEED, search_s: float = 0.5,
        progress: Callable[[int, int], None] | None = None) -> DubResult:
    """Dub ``lines`` (:class:`voxpost.dub.script.ScriptLine`) over ``original`` (an Audio).

    Parameters
    ----------
    original : voxpost.audio.Audio
        The original dialogue stem.
    lines : sequence of ScriptLine
        The translated script; a line's ``original`` text, when given, is aligned for its window.
    language : str
        espeak-ng language of the translation.
    voice : VoiceProfile or dict, optional
        Convert every line into this voice, or ``{speaker: profile}`` with the script's speaker
        names (key ``None``: every other line); lines with no profile keep the TTS voice.
    backend : str
        Voice conversion backend (:func:`voxpost.voice.backends.convert_audio`).
    original_language : str
        espeak-ng language of the original text (for alignment).
    mouth : MouthTrack, optional
        Mouth activity and lip closures from the picture (:func:`voxpost.dub.video.mouth_track`).
    min_speed, max_speed : float
        Pace bounds relative to the voice's natural pace.
    search_s : float
        How far from its rough timecode a line's speech is looked for, seconds.
    """
    from voxpost.audio import Audio
    from voxpost.espeak import check_language

    if not lines:
        raise DubError("the script has no lines to dub")
    if not 0.5 <= min_speed <= 1.0 <= max_speed <= 2.0:
        raise DubError(f"pace bounds must satisfy 0.5 <= min <= 1 <= max <= 2, got {min_speed:g}..{max_speed:g}")
    check_language(language)
    sr = original.sample_rate
    speech = analyse(original.samples, sr)
    windows = find_windows(speech, lines, search_s=search_s)
    for i, line in enumerate(lines):
        if line.original and windows[i].found:
            windows[i] = refine_with_text(windows[i], original.samples, sr, line.original,
                                          language=original_language)
    _clip_windows(windows)
    if mouth is not None:
        windows = [_mouth_window(w, line, mouth, search_s) if not w.found else w for w, line in zip(windows, lines)]
        _clip_windows(windows)
    windows = [_with_mouth(w, mouth) for w in windows]
    stem = np.zeros(original.frames, np.float32)
    fitted: list[FittedLine] = []
    stages: list[dict[str, Any]] = [{"stage": "dub", "engine": "voxpost dub", "language": language,
                                     "tts": "espeak-ng", "pace_bounds": [min_speed, max_speed],
                                     "lines": len(lines)}]
    voices = voice if isinstance(voice, dict) else {None: voice}
    convert_stages: dict[str, dict[str, Any]] = {}
    for i, (line, w) in enumerate(zip(lines, windows)):
        f = fit_line(line.text, w, language=language, min_speed=min_speed, max_speed=max_speed)
        profile = voices.get(line.speaker, voices.get(None)) if line.speaker else voices.get(None)
        if profile is not None:
            from voxpost.voice.backends import convert_audio

            conv, stage = convert_audio(Audio(f.samples[np.newaxis, :], f.sample_rate), profile, backend=backend)
            f.samples = conv.samples[0]
            f.voice = profile.name
            convert_stages[profile.id] = stage
        _place(stem, original.samples, sr, f, w)
        fitted.append(f)
        if progress:
            progress(i + 1, len(lines))
    stages += list(convert_stages.values())
    peak = float(np.abs(stem).max(initial=0.0))
    ceiling = 10 ** (STEM_PEAK_DB / 20)
    if peak > ceiling:
        stem *= np.float32(ceiling / peak)
    for f in fitted:
        f.measured_start_s = measured_onset(stem, sr, f.offset_s, f.end_s)
    report = build_report(lines, windows, fitted, sample_rate=sr, duration_s=original.duration_s,
                          language=language, min_speed=min_speed, max_speed=max_speed)
    result = original.with_samples(stem[np.newaxis, :])
    return DubResult(stem=result, report=report, stages=stages, fitted=fitted)


def _place(stem: np.ndarray, orig: np.ndarray, sr: int, f: FittedLine, w: Window) -> None:
    """Resample a fitted line to the stem's rate, match the original's level, add it in place."""
    from voxpost.resample import resample

    y = f.samples if f.sample_rate == sr else resample(f.samples, f.sample_rate, sr)
    y = np.asarray(y, np.float32)
    a, b = int(w.start_s * sr), int(w.end_s * sr)
    mono = orig.mean(axis=0) if orig.ndim == 2 else orig
    gain_db = float(np.clip(_rms_db(mono[a:b]) - _rms_db(y), -LEVEL_RANGE_DB, LEVEL_RANGE_DB))
    y = y * np.float32(10 ** (gain_db / 20))
    k0 = int(round(f.offset_s * sr))
    lo, hi = max(k0, 0), min(k0 + y.size, stem.size)
    if hi > lo:
        stem[lo:hi] += y[lo - k0:hi - k0]


def measured_onset(stem: np.ndarray, sample_rate: int, t0: float, t1: float, *, below_peak_db: float = 30.0) -> float:
    """Where speech starts in ``stem`` between ``t0`` and ``t1``: the first 5 ms frame within
    ``below_peak_db`` of the loudest frame there (seconds; ``t0`` if silent)."""
    from voxpost.espeak.words import frame_db

    hop = max(1, int(0.005 * sample_rate))
    a = max(0, int(t0 * sample_rate))
    db = frame_db(stem[a:max(a, int(t1 * sample_rate))], hop)
    loud = np.flatnonzero(db >= db.max(initial=-120.0) - below_peak_db)
    return round(float(t0 + (loud[0] * hop / sample_rate if loud.size and db.max() > -100 else 0.0)), 4)


def build_report(lines, windows, fitted, *, sample_rate: int, duration_s: float, language: str,
                 min_speed: float, max_speed: float) -> dict[str, Any]:
    """The timing report (``--report``): one entry per line and a summary."""
    out = []
    for line, w, f in zip(lines, windows, fitted):
        entry: dict[str, Any] = {
            "index": line.index, "text": line.text, "speaker": line.speaker,
            "window_start": round(w.start_s, 4), "window_end": round(w.end_s, 4),
            "start": round(f.start_s, 4), "end": round(f.end_s, 4), "speed": round(f.speed, 4),
            "measured_start": f.measured_start_s,
            "status": f.status, "script_start": round(line.start_s, 4), "script_end": round(line.end_s, 4),
            "window_source": w.source, "speech_found": w.found, "voice": f.voice, "rate_wpm": round(f.rate_wpm, 1),
            "syllables": f.syllables, "group_speeds": f.group_speeds,
            "words": f.words, "original_words": w.original_words,
            "pauses": [[round(a, 4), round(b, 4)] for a, b in w.pauses],
            "closures": w.closures, "bilabials": f.bilabials, "bilabials_on_closures": f.anchored,
        }
        if f.status == "flagged":
            entry["suggest_syllables"] = f.suggest_syllables
            entry["reason"] = f.reason
        if not w.found:
            entry["note"] = "no speech found near the timecode: placed at the script's time"
        out.append(entry)
    # onset error: where the dubbed speech actually starts in the stem, against the window
    onset_ms = [abs(e["measured_start"] - e["window_start"]) * 1000 for e in out if e["speech_found"]]
    speeds = [e["speed"] for e in out]
    overlaps = sum(1 for a, b in zip(out[:-1], out[1:]) if a["end"] > b["start"])
    summary = {
        "lines": len(out), "ok": sum(e["status"] == "ok" for e in out),
        "flagged": sum(e["status"] == "flagged" for e in out),
        "speech_not_found": sum(not e["speech_found"] for e in out),
        "overlapping_next": overlaps,
        "median_onset_error_ms": round(statistics.median(onset_ms), 2) if onset_ms else None,
        "max_onset_error_ms": round(max(onset_ms), 2) if onset_ms else None,
        "speed_min": round(min(speeds), 4), "speed_median": round(statistics.median(speeds), 4),
        "speed_max": round(max(speeds), 4), "pace_bounds": [min_speed, max_speed],
        "bilabials_on_closures": sum(e["bilabials_on_closures"] for e in out),
    }
    return {"sample_rate": sample_rate, "duration_s": round(duration_s, 6), "language": language,
            "lines": out, "summary": summary}


def check_me(me_rate: int, me_frames: int, rate: int, frames: int) -> None:
    """Raise :class:`DubError` unless an M&E of ``me_frames`` at ``me_rate`` fits the original."""
    if me_rate != rate:
        raise DubError(f"the M&E is at {me_rate} Hz and the original at {rate} Hz; "
                       "resample the M&E to the original's rate")
    if abs(me_frames - frames) > rate / 24:
        raise DubError(f"the M&E lasts {me_frames / me_rate:.3f} s and the original {frames / rate:.3f} s; "
                       "they must be the same reel")


def mix(stem, me, *, target_lufs: float = -23.0, ceiling_dbtp: float = -1.0) -> tuple[Any, dict[str, Any]]:
    """Lay the dubbed ``stem`` (mono Audio) over the M&E ``me`` and normalise to ``target_lufs``.

    The mix has the M&E's channels: the dialogue goes to every channel of a mono or stereo M&E and
    to the centre (channel 3, SMPTE order) of a 5.1 or 7.1 one. The M&E must have the stem's rate
    and length (within one 24 fps frame; shorter is padded, longer trimmed).
    """
    from voxpost.clean.loudness import Loudness

    check_me(me.sample_rate, me.frames, stem.sample_rate, stem.frames)
    diff = me.frames - stem.frames
    m = np.zeros((me.channels, stem.frames), np.float32)
    m[:, :min(me.frames, stem.frames)] = me.samples[:, :stem.frames]
    d = stem.samples[0]
    if me.channels in (6, 8):
        m[2] += d
    else:
        m += d[np.newaxis, :]
    stage = Loudness(target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp)
    out = stage.render(stem.with_samples(m))
    info = {"stage": "mix", "me_channels": me.channels, "target_lufs": target_lufs,
            "ceiling_dbtp": ceiling_dbtp, **{k: (round(v, 2) if isinstance(v, float) else v)
                                              for k, v in stage.report().items()}}
    if diff:
        info["me_length_adjusted_frames"] = -diff
    return out, info
