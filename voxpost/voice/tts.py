"""Text to speech with timing control: espeak-ng, a target duration, word timings, a voice profile.

:func:`speak` says a line with the embedded espeak-ng (every language it speaks, no download) and
returns the audio at the delivery rate with the time of every script word. Timing:

- ``rate_wpm`` sets espeak's speaking rate directly;
- ``duration_s`` asks for an exact length. The speaking rate is chosen first: espeak's speech
  duration is close to ``a + b / rate``, so two or three syntheses (secant steps on that model)
  land within about 1%; only the remainder is time-stretched (WSOLA,
  :func:`voxpost.voice.stretch.time_stretch`), so the output has exactly ``duration_s * rate``
  frames and the stretch stays small.

The output spans the speech (espeak's leading and trailing silence trimmed to
:data:`EDGE_S`). With a voice profile the line is converted to that voice
(:mod:`voxpost.voice.convert`) before the stretch. Marking and provenance are applied where the
file is written (:mod:`voxpost.voice.provenance`).

Examples
--------
>>> from voxpost.voice.tts import speak
>>> line = speak("Meet me at the station.", language="en", duration_s=1.6)
>>> line.audio.duration_s, sorted(line.words[0]), line.words[0]["word"]
(1.6, ['end', 'start', 'text', 'word'], 'Meet')
>>> 0.0 <= line.words[0]["start"] < line.words[0]["end"] <= line.words[1]["start"]
True
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voxpost.errors import VoxpostError

DEFAULT_SAMPLE_RATE = 48000
#: Silence kept before the first and after the last sound, seconds.
EDGE_S = 0.01
#: Largest time-stretch used to honour a duration after the rate search (beyond: an error).
MAX_STRETCH = 2.0
#: Symbols espeak-ng reads aloud although Unicode files them as "other symbols".
_SAYABLE_SYMBOLS = set("°©®™")


class SpeakError(VoxpostError):
    """Text that cannot be spoken, or a timing that cannot be met."""


@dataclass
class Spoken:
    """A spoken line: audio, word times (seconds from the start of ``audio``), how it was made."""

    audio: Any                        # voxpost.audio.Audio
    words: list[dict[str, Any]]
    language: str
    rate_wpm: float
    stretch_ratio: float
    stages: list[dict[str, Any]] = field(default_factory=list)

    def timings(self) -> dict[str, Any]:
        """The ``--timings`` JSON: the shape ``voxpost align`` writes."""
        return {"words": self.words, "language": self.language,
                "duration_s": round(self.audio.duration_s, 6), "rate_wpm": round(self.rate_wpm, 1),
                "stretch_ratio": round(self.stretch_ratio, 5), "method": "espeak-ng synthesis events"}


def check_text(text: str, language: str) -> str:
    """Return ``text`` with whitespace normalised, or raise :class:`SpeakError` naming the first
    character the voice cannot say (control, private-use, unassigned, emoji and other pictographs,
    or letters of a script the language's voice only names: "Chinese letter")."""
    from voxpost.espeak.words import script_words

    flat = " ".join(text.split())
    if not script_words(flat):
        raise SpeakError("nothing to say: the text has no words")
    scripts: dict[str, tuple[int, str]] = {}
    for i, ch in enumerate(flat):
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Co", "Cn", "Cs") or (cat in ("So", "Sk") and ch not in _SAYABLE_SYMBOLS):
            raise SpeakError(f"cannot say character {ch!r} (U+{ord(ch):04X}, "
                             f"{unicodedata.name(ch, 'unnamed')}) at position {i + 1}; remove it or "
                             "write it out in words")
        if cat.startswith("L") and not ("a" <= ch.lower() <= "z"):
            script = unicodedata.name(ch, "UNKNOWN").split()[0]
            if script not in ("LATIN",):
                scripts.setdefault(script, (i, ch))
    for script, (i, ch) in scripts.items():
        if _names_script(ch, language):
            raise SpeakError(f"the '{language}' voice cannot say {ch!r} (U+{ord(ch):04X}, {script} "
                             f"script) at position {i + 1}: it would only name the script; use a "
                             "language that reads it, or transliterate")
    return flat


def _names_script(ch: str, language: str) -> bool:
    """Whether espeak, in ``language``, says a script's name ("Japanese letter") for ``ch``."""
    from voxpost.espeak import synthesize

    syn = synthesize(ch, language=language)
    phonemes = [p for p, _, _ in syn.phonemes if not p.startswith("_")]
    # A letter's own sound or name is a few phonemes; "<script> letter" is seven or more.
    return len(phonemes) >= 7


def _span(syn) -> tuple[int, int]:
    """First and one-past-last sample above -50 dBFS of a synthesis (the whole of it if none)."""
    x = syn.samples
    loud = np.flatnonzero(np.abs(x) > 10 ** (-50 / 20))
    if loud.size == 0:
        return 0, x.size
    return int(loud[0]), int(loud[-1]) + 1


def _synth(text: str, language: str, rate_wpm: float, pitch: int):
    from voxpost.espeak import synthesize

    syn = synthesize(text, language=language, rate_wpm=rate_wpm, pitch=pitch)
    s, e = _span(syn)
    return syn, s, e


def _fit_rate(text: str, language: str, duration_s: float, pitch: int, edge: int):
    """Synthesise at the speaking rate whose trimmed duration is closest to ``duration_s``."""
    from voxpost.espeak import DEFAULT_RATE_WPM, MAX_RATE_WPM, MIN_RATE_WPM

    def trimmed(r):
        syn, s, e = _synth(text, language, r, pitch)
        return syn, s, e, (e - s + 2 * edge) / syn.sample_rate

    rate = DEFAULT_RATE_WPM
    best = trimmed(rate) + (rate,)
    tried = [(rate, best[3])]
    for _ in range(4):
        if abs(best[3] - duration_s) <= 0.005 * duration_s:
            break
        if len(tried) == 1:
            nxt = rate * tried[0][1] / duration_s
        else:   # secant on d = a + b / rate through the last two points
            (r1, d1), (r2, d2) = tried[-2], tried[-1]
            if abs(1 / r1 - 1 / r2) < 1e-9 or abs(d1 - d2) < 1e-6:
                break
            b = (d1 - d2) / (1 / r1 - 1 / r2)
            a = d1 - b / r1
            nxt = b / (duration_s - a) if duration_s - a > 1e-3 else MAX_RATE_WPM
        nxt = float(np.clip(nxt, MIN_RATE_WPM, MAX_RATE_WPM))
        if any(abs(nxt - r) < 0.5 for r, _ in tried):
            break
        cand = trimmed(nxt) + (nxt,)
        tried.append((nxt, cand[3]))
        if abs(cand[3] - duration_s) < abs(best[3] - duration_s):
            best = cand
    return best


def speak(text: str, *, language: str = "en", rate_wpm: float | None = None,
          duration_s: float | None = None, pitch: int = 50, voice: Any = None,
          sample_rate: int = DEFAULT_SAMPLE_RATE) -> Spoken:
    """Speak ``text``; see the module docstring.

    Parameters
    ----------
    text : str
        Plain text; punctuation gives clause pauses.
    language : str
        espeak-ng language code (``voxpost languages``).
    rate_wpm : float, optional
        Speaking rate, 80..450 words per minute. Exclusive with ``duration_s``.
    duration_s : float, optional
        Exact output duration, seconds.
    pitch : int
        espeak base pitch 0..100.
    voice : VoiceProfile, optional
        Convert the line into this profile's voice (embedded converter).
    sample_rate : int
        Output rate, Hz.

    Raises
    ------
    SpeakError, ParameterError
        Unsayable text, an unknown language, a rate out of range, or a duration the line cannot
        fit even at espeak's fastest or slowest rate with a 2x stretch.
    """
    from voxpost.audio import Audio, resample
    from voxpost.espeak import DEFAULT_RATE_WPM, check_language, sample_rate as tts_rate
    from voxpost.voice.stretch import time_stretch
    from voxpost.espeak.words import script_words, token_times

    if rate_wpm is not None and duration_s is not None:
        raise SpeakError("give a speaking rate or a duration, not both")
    if duration_s is not None and not (0.05 <= duration_s <= 3600):
        raise SpeakError(f"duration {duration_s:g} s is out of range (0.05..3600 s)")
    check_language(language)
    flat = check_text(text, language)
    edge = int(round(EDGE_S * tts_rate()))
    if duration_s is None:
        rate = float(rate_wpm if rate_wpm is not None else DEFAULT_RATE_WPM)
        syn, s, e = _synth(flat, language, rate, pitch)
    else:
        syn, s, e, _, rate = _fit_rate(flat, language, duration_s, pitch, edge)
    sr0 = syn.sample_rate
    lo, hi = max(0, s - edge), min(syn.samples.size, e + edge)
    x = np.zeros(e - s + 2 * edge, np.float32)
    x[(lo - (s - edge)):(lo - (s - edge)) + hi - lo] = syn.samples[lo:hi]
    tokens = script_words(flat)
    times = token_times(syn, tokens, language) - (s - edge) / sr0
    stages: list[dict[str, Any]] = [{"stage": "tts", "engine": "espeak-ng", "language": language,
                                     "rate_wpm": round(rate, 1), "pitch": pitch}]
    audio = Audio(x, sr0)
    if voice is not None:
        from voxpost.voice.convert import convert

        audio = audio.with_samples(convert(audio.samples, sr0, voice.stats))
        stages.append({"stage": "voice-convert", "backend": "embedded-vocoder",
                       "profile": {"name": voice.name, "id": voice.id,
                                   "consent_sha256": voice.consent.get("sha256")}})
    audio = resample(audio, sample_rate)
    ratio = 1.0
    if duration_s is not None:
        frames = int(round(duration_s * sample_rate))
        ratio = frames / max(audio.frames, 1)
        if not 1 / MAX_STRETCH <= ratio <= MAX_STRETCH:
            raise SpeakError(f"cannot fit the line into {duration_s:g} s: even at {rate:.0f} wpm it "
                             f"needs {audio.duration_s:.2f} s (more than a {MAX_STRETCH:g}x stretch)")
        if frames != audio.frames:
            audio = audio.with_samples(time_stretch(audio.samples, sample_rate, frames=frames))
            stages.append({"stage": "time-stretch", "method": "wsola", "ratio": round(ratio, 5)})
        times = times * ratio
    peak = float(np.abs(audio.samples).max(initial=0.0))
    if peak > 0.891:                           # keep 1 dB of headroom for the mark and codecs
        audio = audio.with_samples(audio.samples * np.float32(0.891 / peak))
    dur = audio.duration_s
    def at(t: float) -> float:            # 0.1 ms resolution, never past the end of the file
        return min(round(float(max(t, 0.0)), 4), dur)

    words = [{"word": t.text, "start": at(a), "end": at(b), "text": t.raw}
             for t, (a, b) in zip(tokens, times)]
    return Spoken(audio=audio, words=words, language=language, rate_wpm=rate, stretch_ratio=ratio,
                  stages=stages)
