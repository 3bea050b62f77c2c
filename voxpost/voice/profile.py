"""Voice profiles: what conversion needs to speak in someone's timbre, and proof they agreed.

A profile is enrolled from at least 10 s of a speaker's recorded speech and a consent record (any
non-empty file: a signed release, a scan, an e-mail). It stores

- the consent record's sha256, size and file name, and the enrolment date;
- each reference recording's sha256, duration and seconds of speech (not the audio itself);
- the voice statistics the embedded converter maps to (:func:`voxpost.voice.vocoder.voice_stats`:
  F0 distribution, mel-cepstral envelope mean/std, formant medians), and, when the kNN-VC
  checkpoints are installed at enrolment, that backend's matching set of WavLM features.

On disk a ``.voice`` file is a NumPy ``.npz`` archive (a zip, read with ``allow_pickle=False``):
``meta`` holds the JSON above as UTF-8 bytes, other members hold arrays. The profile ``id`` is
the sha256 of the canonical JSON and the array bytes, so a modified or truncated profile is
refused rather than used.

Examples
--------
>>> from pathlib import Path
>>> from voxpost.audio import Audio, save
>>> from voxpost.espeak import synthesize
>>> from voxpost.voice.profile import enroll, load_profile
>>> for name, text in [("actor-a.wav", "The fishermen had pulled their boats high on the shingle, "
...                     "and nobody spoke of the storm that had taken the harbour wall."),
...                    ("actor-b.wav", "Margaret counted the boats twice, then once more, to be sure, "
...                     "while a bell tolled seven times far away.")]:
...     s = synthesize(text, language="en")
...     _ = save(Audio(s.samples[None, :], s.sample_rate), name)
>>> _ = Path("release.txt").write_text("I agree that my voice may be used for this film.")
>>> p = enroll(["actor-a.wav", "actor-b.wav"], name="actor", consent="release.txt")
>>> p.save("actor.voice")
PosixPath('actor.voice')
>>> load_profile("actor.voice").stats["f0"]["median_hz"] == p.stats["f0"]["median_hz"]
True
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import io
import json
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voxpost.errors import VoxpostError
from voxpost.models import sha256_file

FORMAT = "voxpost-voice"
FORMAT_VERSION = 1
#: Speech needed to enrol, seconds (after voice-activity detection).
MIN_SPEECH_S = 10.0
#: Voiced speech needed among it, seconds (F0 found): music and noise have little.
MIN_VOICED_S = 3.0
_ANALYSIS_RATE = 16000


class ProfileError(VoxpostError):
    """A profile that cannot be enrolled, read or used."""


@dataclass
class VoiceProfile:
    """A speaker's voice statistics, with the consent and references they were enrolled from."""

    name: str
    consent: dict[str, Any]
    references: list[dict[str, Any]]
    stats: dict[str, Any]
    created_utc: str
    tool: dict[str, str] = field(default_factory=dict)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)

    # -- identity ------------------------------------------------------------------------------
    def _meta(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": FORMAT_VERSION, "name": self.name,
                "created_utc": self.created_utc, "tool": self.tool, "consent": self.consent,
                "references": self.references, "stats": self.stats,
                "arrays": sorted(self.arrays)}

    @property
    def id(self) -> str:
        """sha256 (hex) of the canonical metadata and array bytes: the profile's identity."""
        h = hashlib.sha256(json.dumps(self._meta(), sort_keys=True, separators=(",", ":")).encode())
        for key in sorted(self.arrays):
            a = np.ascontiguousarray(self.arrays[key])
            h.update(key.encode() + str(a.dtype).encode() + str(a.shape).encode() + a.tobytes())
        return h.hexdigest()

    def summary(self) -> dict[str, Any]:
        """What ``voxpost voice info`` prints: identity, consent, references, key statistics."""
        f0 = self.stats.get("f0", {})
        return {"name": self.name, "id": self.id, "created_utc": self.created_utc,
                "consent": self.consent, "references": self.references,
                "speech_s": self.stats.get("speech_s"), "f0_median_hz": f0.get("median_hz"),
                "f0_range_hz": [f0.get("p05_hz"), f0.get("p95_hz")],
                "formants_hz": self.stats.get("formants"),
                "backends": ["embedded"] + (["knnvc"] if "knnvc_matching_set" in self.arrays else [])}

    # -- disk ----------------------------------------------------------------------------------
    def to_bytes(self) -> bytes:
        meta = dict(self._meta(), id=self.id)
        buf = io.BytesIO()
        members = {"meta": np.frombuffer(json.dumps(meta, sort_keys=True, indent=1).encode(), np.uint8)}
        members.update(self.arrays)
        np.savez_compressed(buf, **members)
        return buf.getvalue()

    def save(self, path: str | os.PathLike[str], *, overwrite: bool = False,
             protect: tuple[str | os.PathLike[str], ...] = ()) -> Path:
        """Write the profile atomically (temporary file beside it, then rename)."""
        from voxpost.outputs import check_output, write_bytes

        check_output(path, overwrite=overwrite, protect=protect)
        return write_bytes(path, self.to_bytes(), overwrite=overwrite, protect=protect)


def load_profile(path: str | os.PathLike[str]) -> VoiceProfile:
    """Read a ``.voice`` file, checking its format, version and integrity.

    Raises
    ------
    ProfileError
        Missing, not a voice profile, corrupt (contents do not match the recorded id), or
        written by an incompatible version of voxpost.
    """
    p = Path(path)
    if not p.is_file():
        raise ProfileError(f"{p}: no such voice profile")
    try:
        with np.load(p, allow_pickle=False) as z:
            members = {k: z[k] for k in z.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as exc:
        raise ProfileError(f"{p}: not a voxpost voice profile or corrupt ({type(exc).__name__}); "
                           "re-enrol it with `voxpost voice enroll`") from None
    raw = members.pop("meta", None)
    try:
        meta = json.loads(bytes(raw).decode("utf-8")) if raw is not None else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ProfileError(f"{p}: not a voxpost voice profile (no profile metadata); "
                           "enrol one with `voxpost voice enroll`")
    if meta.get("version") != FORMAT_VERSION:
        raise ProfileError(f"{p}: voice profile format {meta.get('version')!r} is not supported by this "
                           f"voxpost (reads format {FORMAT_VERSION}); re-enrol from the references")
    from voxpost.voice.vocoder import STATS_VERSION

    stats = meta.get("stats") or {}
    if stats.get("version") != STATS_VERSION:
        raise ProfileError(f"{p}: voice statistics version {stats.get('version')!r} is incompatible "
                           f"(this voxpost uses {STATS_VERSION}); re-enrol from the references")
    try:
        prof = VoiceProfile(name=str(meta["name"]), consent=dict(meta["consent"]),
                            references=list(meta["references"]), stats=stats,
                            created_utc=str(meta["created_utc"]), tool=dict(meta.get("tool") or {}),
                            arrays=members)
    except (KeyError, TypeError, ValueError):
        raise ProfileError(f"{p}: voice profile metadata is incomplete; re-enrol it") from None
    if prof.id != meta.get("id"):
        raise ProfileError(f"{p}: voice profile is corrupt or was edited (its contents do not match "
                           "its id); re-enrol it")
    return prof


# -- enrolment --------------------------------------------------------------------------------------
def consent_record(path: str | os.PathLike[str], *, when: _dt.datetime | None = None) -> dict[str, Any]:
    """The consent entry of a profile: file name, size, sha256 and date recorded.

    Raises
    ------
    ProfileError
        Missing, unreadable, or empty (only whitespace) consent file.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ProfileError(f"consent file {p}: cannot read ({exc.strerror or exc}); a voice profile "
                           "needs the speaker's consent record") from None
    if not data.strip():
        raise ProfileError(f"consent file {p} is empty; a voice profile needs the speaker's signed "
                           "consent (a release, a scan or a written statement)")
    when = when or _dt.datetime.now(_dt.timezone.utc)
    return {"file": p.name, "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "recorded_utc": when.strftime("%Y-%m-%dT%H:%M:%SZ")}


def _speech_of(path: Path) -> tuple[np.ndarray, dict[str, Any]]:
    """Mono 16 kHz speech of one reference (voice-activity regions only) and its description."""
    from voxpost.audio import load, resample
    from voxpost.speech.vad import speech_regions

    audio = load(path)
    mono = audio.with_samples(audio.samples.mean(axis=0, keepdims=True))
    x = resample(mono, _ANALYSIS_RATE).samples[0]
    regions = speech_regions(x, _ANALYSIS_RATE)
    parts = [x[int(s * _ANALYSIS_RATE):int(e * _ANALYSIS_RATE)] for s, e in regions]
    speech = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    desc = {"file": path.name, "sha256": sha256_file(path), "duration_s": round(audio.duration_s, 3),
            "speech_s": round(speech.size / _ANALYSIS_RATE, 3)}
    return speech, desc


def enroll(references: list[str | os.PathLike[str]], *, name: str, consent: str | os.PathLike[str],
           knnvc: Any = None, when: _dt.datetime | None = None) -> VoiceProfile:
    """Build a profile from reference recordings of one speaker and their consent record.

    Parameters
    ----------
    references : list of path
        Recordings of the speaker (any format voxpost reads); together at least
        :data:`MIN_SPEECH_S` seconds of speech. The same file given twice counts once.
    name : str
        The profile's name (e.g. the actor's or character's).
    consent : path
        The consent record; checked (non-empty) before any audio is read.
    knnvc : voxpost.voice.knnvc.KnnVC, optional
        Loaded neural backend: its matching set is stored too, enabling ``--backend knnvc``.

    Raises
    ------
    ProfileError
        No consent, too little speech (silence, music), an unreadable reference.
    """
    from voxpost import __version__
    from voxpost.voice.vocoder import voice_stats

    if not name or not name.strip():
        raise ProfileError("a voice profile needs a --name")
    record = consent_record(consent, when=when)
    if not references:
        raise ProfileError("no reference recordings given")
    speech_parts, refs, seen = [], [], set()
    for ref in references:
        path = Path(ref)
        if not path.is_file():
            raise ProfileError(f"reference {path}: no such file")
        speech, desc = _speech_of(path)
        if desc["sha256"] in seen:
            continue
        seen.add(desc["sha256"])
        refs.append(desc)
        speech_parts.append(speech)
    speech = np.concatenate(speech_parts) if speech_parts else np.zeros(0, np.float32)
    total = speech.size / _ANALYSIS_RATE
    if total < MIN_SPEECH_S:
        raise ProfileError(f"the references hold {total:.1f} s of speech; a voice profile needs at least "
                           f"{MIN_SPEECH_S:g} s of the speaker talking (silence, music and noise do not count)")
    stats = voice_stats(speech, _ANALYSIS_RATE)
    voiced = float(stats.get("f0", {}).get("voiced_s") or 0.0)
    if voiced < MIN_VOICED_S:
        raise ProfileError(f"the references hold only {voiced:.1f} s of voiced speech (pitch found); "
                           f"at least {MIN_VOICED_S:g} s are needed: is this speech, not music or noise?")
    arrays = {}
    if knnvc is not None:
        from voxpost.voice import knnvc as knn

        arrays["knnvc_matching_set"] = knn.matching_set(knnvc, speech, _ANALYSIS_RATE)
    created = (when or _dt.datetime.now(_dt.timezone.utc)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return VoiceProfile(name=name.strip(), consent=record, references=refs, stats=stats,
                        created_utc=created, tool={"name": "voxpost", "version": __version__},
                        arrays=arrays)
