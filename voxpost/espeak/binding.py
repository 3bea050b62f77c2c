"""espeak-ng, the embedded text-to-speech, bound with ctypes: samples plus sample-exact word events.

The library and its voice data come from the ``espeakng-loader`` wheel, so synthesis works on a
fresh machine with no download. Synthesis runs in espeak's synchronous mode: a callback receives
each block of 16-bit samples together with the events inside it. Every event carries ``sample``,
the index of the output sample where it happens (espeak counts it itself), so word and phoneme
times are exact to the sample, not rounded to the millisecond like ``audio_position``.

espeak-ng keeps one global state per process; :func:`synthesize` holds a lock around it.

What espeak reports, and what this module makes of it:

- A WORD event per spoken word group with the group's character position in the text. espeak
  joins some unstressed function words to their neighbour ("in the", "of a"), giving one event for
  both; :func:`synthesize` returns the groups as espeak made them and :class:`Synthesis` keeps
  the phoneme events so callers can split them (see :mod:`voxpost.speech.align`).
- PHONEME events with the phoneme mnemonic; names starting with ``_`` are pauses.
- A stop consonant's event is at its burst: the silent closure before it is still counted in the
  previous phoneme. Callers that need acoustic word starts correct for that.

Examples
--------
>>> from voxpost.espeak import synthesize
>>> s = synthesize("Hello there.", language="en")
>>> s.sample_rate, [w.text for w in s.words]
(22050, ['Hello', 'there'])
>>> s.words[0].start < s.words[0].end <= s.words[1].start < s.words[1].end   # sample positions
True
"""

from __future__ import annotations

import ctypes
import difflib
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from voxpost.errors import ParameterError, VoxpostError

#: Speaking-rate limits espeak-ng accepts, words per minute.
MIN_RATE_WPM, MAX_RATE_WPM = 80, 450
DEFAULT_RATE_WPM = 175

_AUDIO_OUTPUT_SYNCHRONOUS = 2
_INIT_PHONEME_EVENTS, _INIT_DONT_EXIT = 0x0001, 0x8000
_CHARS_UTF8, _SSML, _ENDPAUSE = 0x1, 0x10, 0x1000
_POS_CHARACTER = 1
_EV_END_OF_LIST, _EV_WORD, _EV_SENTENCE, _EV_END, _EV_MSG_TERMINATED, _EV_PHONEME = 0, 1, 2, 5, 6, 7
_RATE, _VOLUME, _PITCH, _RANGE, _PUNCTUATION, _CAPITALS, _WORDGAP = 1, 2, 3, 4, 5, 6, 7

_lock = threading.RLock()


class _Event(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("unique_identifier", ctypes.c_uint),
                ("text_position", ctypes.c_int), ("length", ctypes.c_int),
                ("audio_position", ctypes.c_int), ("sample", ctypes.c_int),
                ("user_data", ctypes.c_void_p), ("id", ctypes.c_char * 8)]


class _Voice(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("languages", ctypes.c_char_p),
                ("identifier", ctypes.c_char_p), ("gender", ctypes.c_ubyte), ("age", ctypes.c_ubyte),
                ("variant", ctypes.c_ubyte), ("xx1", ctypes.c_ubyte), ("score", ctypes.c_int),
                ("spare", ctypes.c_void_p)]


_Callback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                             ctypes.POINTER(_Event))


@dataclass(frozen=True)
class SynthWord:
    """One word group as espeak spoke it.

    ``char_start``/``char_end`` index the synthesised text (Python string positions);
    ``start``/``end`` are output samples: from the group's first phoneme to the start of the
    pause after it, or to the next group's start.
    """

    text: str
    char_start: int
    char_end: int
    start: int
    end: int


@dataclass
class Synthesis:
    """Mono float32 samples of synthesised speech with their word groups and phoneme events."""

    samples: np.ndarray
    sample_rate: int
    words: list[SynthWord] = field(default_factory=list)
    #: ``(name, sample, char_position)`` per phoneme event; names starting with ``_`` are pauses.
    phonemes: list[tuple[str, int, int]] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        return self.samples.size / self.sample_rate


class _Engine:
    """The loaded library, initialised once per process."""

    def __init__(self) -> None:
        try:
            import espeakng_loader
        except ImportError as exc:   # a broken install: the package is a dependency
            raise VoxpostError("espeak-ng is not available: the espeakng-loader package is not "
                               "installed (pip install espeakng-loader)") from exc
        try:
            self.lib = ctypes.CDLL(espeakng_loader.get_library_path())
        except OSError as exc:
            raise VoxpostError(f"cannot load espeak-ng from espeakng-loader: {exc}") from exc
        lib = self.lib
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_SetSynthCallback.argtypes = [_Callback]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByProperties.argtypes = [ctypes.POINTER(_Voice)]
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_Synth.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
        lib.espeak_ListVoices.restype = ctypes.POINTER(ctypes.POINTER(_Voice))
        lib.espeak_ListVoices.argtypes = [ctypes.c_void_p]
        self.data_path = espeakng_loader.get_data_path()
        self.sample_rate = lib.espeak_Initialize(_AUDIO_OUTPUT_SYNCHRONOUS, 0, self.data_path.encode(),
                                                 _INIT_PHONEME_EVENTS | _INIT_DONT_EXIT)
        if self.sample_rate <= 0:
            raise VoxpostError("espeak-ng failed to initialise (its data directory in "
                               "espeakng-loader may be damaged)")
        self._blocks: list[np.ndarray] = []
        self._events: list[tuple[int, int, int, int, bytes]] = []
        self._callback = _Callback(self._collect)     # kept referenced while the library holds it
        lib.espeak_SetSynthCallback(self._callback)
        self.voice: str | None = None

    def _collect(self, wav, n, events) -> int:   # noqa: ANN001 - ctypes callback
        if n > 0:
            self._blocks.append(np.ctypeslib.as_array(wav, (n,)).copy())
        i = 0
        while events[i].type != _EV_END_OF_LIST:
            e = events[i]
            self._events.append((e.type, e.text_position, e.length, e.sample, bytes(e.id)))
            i += 1
        return 0

    def select(self, language: str) -> int:
        """Select the voice for a language code (espeak's best match for it); 0 on success."""
        spec = _Voice(name=None, languages=language.encode(), identifier=None, gender=0, age=0,
                      variant=0)
        return self.lib.espeak_SetVoiceByProperties(ctypes.byref(spec))

    def run(self, text: str, voice: str, params: dict[int, int]) -> tuple[np.ndarray, list]:
        if voice != self.voice:
            if self.select(voice) != 0:
                raise ParameterError(f"espeak-ng cannot load the voice for language '{voice}'")
            self.voice = voice
        for key, value in params.items():
            self.lib.espeak_SetParameter(key, int(value), 0)
        self._blocks, self._events = [], []
        raw = text.encode("utf-8") + b"\0"
        buf = ctypes.create_string_buffer(raw, len(raw))
        err = self.lib.espeak_Synth(buf, len(raw), 0, _POS_CHARACTER, 0, _CHARS_UTF8, None, None)
        if err != 0:
            raise VoxpostError(f"espeak-ng synthesis failed (error {err})")
        samples = np.concatenate(self._blocks) if self._blocks else np.zeros(0, np.int16)
        return samples, self._events


@lru_cache(maxsize=1)
def _engine() -> _Engine:
    return _Engine()


def sample_rate() -> int:
    """The rate espeak-ng synthesises at (22050 Hz)."""
    with _lock:
        return _engine().sample_rate


@lru_cache(maxsize=1)
def languages() -> tuple[str, ...]:
    """Every language code espeak-ng speaks (``en``, ``en-us``, ``de``, ``pt-br``, ...), sorted."""
    with _lock:
        eng = _engine()
        voices = eng.lib.espeak_ListVoices(None)
        codes: set[str] = set()
        i = 0
        while voices[i]:
            raw = voices[i].contents.languages or b""
            # A list of (priority byte, NUL-terminated name) pairs, ended by a zero priority byte.
            pos = 0
            while pos < len(raw) or pos == 0:
                j = raw.find(b"\0", pos + 1)
                name = raw[pos + 1: j if j >= 0 else None]
                if not name:
                    break
                codes.add(name.decode("ascii", "replace").lower())
                if j < 0:
                    break
                pos = j + 1
            i += 1
        # Bare language codes ("en", "pt") that only appear with a region select a voice too;
        # keep the codes that really load one.
        codes |= {c.split("-")[0] for c in codes}
        # A voice whose dictionary the wheel does not ship selects, then speaks nothing useful.
        data = Path(eng.data_path)
        codes = {c for c in codes if (data / f"{c.split('-')[0]}_dict").is_file() and eng.select(c) == 0}
        # Every voice change queues an event for the next synthesis, and espeak's event list is
        # short: flush them now, or the next text would lose its first word events.
        eng.voice = None
        eng.run(" ", "en", {})
        eng.voice = None
    return tuple(sorted(codes))


def check_language(language: str) -> str:
    """Return the espeak-ng voice name for ``language`` (case and ``_`` forgiven).

    Raises
    ------
    ParameterError
        If espeak-ng does not speak it; the message names close codes and how to list them all.
    """
    code = (language or "").strip().lower().replace("_", "-")
    known = languages()
    if code in known:
        return code
    base = code.split("-")[0]
    close = [c for c in known if c.split("-")[0] == base] or difflib.get_close_matches(code, known, n=4)
    hint = f" (close: {', '.join(close[:6])})" if close else ""
    raise ParameterError(f"espeak-ng does not speak language '{language}'{hint}; "
                         f"`voxpost languages` lists the {len(known)} it does")


def synthesize(text: str, *, language: str = "en", rate_wpm: float = DEFAULT_RATE_WPM,
               pitch: int = 50, pitch_range: int = 50, word_gap_ms: float = 0.0) -> Synthesis:
    """Speak ``text`` with espeak-ng; return the samples and sample-exact word groups.

    Parameters
    ----------
    text : str
        Plain text (no SSML); punctuation gives clause pauses as a reader would make.
    language : str
        An espeak-ng language code (see :func:`languages`).
    rate_wpm : float
        Speaking rate, words per minute, 80..450 (espeak's own limits).
    pitch, pitch_range : int
        Base pitch and its range, 0..100 (espeak defaults 50).
    word_gap_ms : float
        Extra pause between words, milliseconds.
    """
    if not MIN_RATE_WPM <= rate_wpm <= MAX_RATE_WPM:
        raise ParameterError(f"speaking rate {rate_wpm:g} wpm is outside espeak-ng's "
                             f"{MIN_RATE_WPM}..{MAX_RATE_WPM}")
    for name, v in (("pitch", pitch), ("pitch range", pitch_range)):
        if not 0 <= v <= 100:
            raise ParameterError(f"{name} {v} is outside 0..100")
    voice = check_language(language)
    gap = int(round(word_gap_ms / 10.0))     # espeak's unit: 10 ms at the default speed
    params = {_RATE: int(round(rate_wpm)), _PITCH: pitch, _RANGE: pitch_range, _WORDGAP: gap,
              _VOLUME: 100}
    with _lock:
        eng = _engine()
        raw, events = eng.run(text, voice, params)
        sr = eng.sample_rate
    samples = (raw.astype(np.float32) / 32768.0)
    return _build(text, samples, sr, events)


def _build(text: str, samples: np.ndarray, sr: int, events: list) -> Synthesis:
    """Turn espeak's raw events into word groups with starts and ends."""
    n = samples.size
    phonemes: list[tuple[str, int, int]] = []
    word_events: list[tuple[int, int, int]] = []        # (char_start, length, sample)
    for etype, pos, length, sample, ident in events:
        if etype == _EV_PHONEME:
            name = ident.split(b"\0")[0].decode("utf-8", "replace")
            phonemes.append((name, min(max(sample, 0), n), pos - 1))
        elif etype == _EV_WORD:
            word_events.append((pos - 1, length, min(max(sample, 0), n)))
    ph_samples = np.array([p[1] for p in phonemes], dtype=np.int64)
    pause = np.array([p[0].startswith("_") for p in phonemes], dtype=bool)
    words: list[SynthWord] = []
    for k, (c0, length, s0) in enumerate(word_events):
        nxt = word_events[k + 1][2] if k + 1 < len(word_events) else n
        # The group's first phoneme is the first non-pause event at or after its WORD event.
        first = np.searchsorted(ph_samples, s0, side="left")
        while first < len(phonemes) and pause[first] and ph_samples[first] < nxt:
            first += 1
        start = int(ph_samples[first]) if first < len(phonemes) and ph_samples[first] < nxt else s0
        # It ends where the first pause after its first phoneme starts, or at the next group.
        end = nxt
        j = first + 1
        while j < len(phonemes) and ph_samples[j] < nxt:
            if pause[j] and ph_samples[j] > start:
                end = int(ph_samples[j])
                break
            j += 1
        if k + 1 == len(word_events) and end == n:
            # The last group: espeak appends a final pause phoneme; without one, trim silence.
            end = _last_sound(samples, start)
        c0 = max(c0, 0)
        words.append(SynthWord(text=text[c0:c0 + length], char_start=c0, char_end=c0 + length,
                               start=start, end=max(end, start)))
    return Synthesis(samples=samples, sample_rate=sr, words=words, phonemes=phonemes)


def _last_sound(samples: np.ndarray, start: int) -> int:
    """Index after the last sample above -50 dBFS, searched after ``start``."""
    loud = np.flatnonzero(np.abs(samples[start:]) > 10 ** (-50 / 20))
    return start + int(loud[-1]) + 1 if loud.size else start
