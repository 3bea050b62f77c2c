"""Voice profiles: consent required, >= 10 s of speech, integrity and version checks."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile

import numpy as np
import pytest

from voxpost.audio import Audio, save
from voxpost.voice.profile import FORMAT_VERSION, ProfileError, enroll, load_profile

LJ = [f"speech/LJ001-000{i}.wav" for i in (1, 3, 5)]      # 9.7 + 9.7 + 8.1 s of one reader


@pytest.fixture
def consent(tmp_path):
    p = tmp_path / "consent.txt"
    p.write_text("I agree that my voice may be used for the dub of this film. Signed, L. J.\n")
    return p


@pytest.fixture
def lj_profile(corpus, consent):
    return enroll([corpus / f for f in LJ], name="reader", consent=consent)


def test_profile_records_consent_references_and_stats(lj_profile, consent, corpus, tmp_path):
    p = lj_profile
    assert p.consent["sha256"] == hashlib.sha256(consent.read_bytes()).hexdigest()
    assert p.consent["recorded_utc"].endswith("Z")
    assert [r["sha256"] for r in p.references] == [
        hashlib.sha256((corpus / f).read_bytes()).hexdigest() for f in LJ]
    assert p.stats["speech_s"] >= 20
    assert 150 < p.stats["f0"]["median_hz"] < 260          # LJ Speech: a female reader
    path = p.save(tmp_path / "reader.voice")
    back = load_profile(path)
    assert back.id == p.id and back.stats == p.stats and back.summary()["name"] == "reader"


def test_the_same_reference_twice_counts_once(corpus, consent):
    with pytest.raises(ProfileError, match="10 s"):
        enroll([corpus / "speech/LJ001-0004.wav"] * 3, name="x", consent=consent)


@pytest.mark.parametrize("kind", ["empty", "blank", "missing"])
def test_no_consent_no_profile(corpus, tmp_path, kind):
    c = tmp_path / "consent.txt"
    if kind != "missing":
        c.write_text("" if kind == "empty" else "  \n\t\n")
    with pytest.raises(ProfileError, match="consent"):
        enroll([corpus / f for f in LJ], name="x", consent=c)


def test_short_reference_is_refused(corpus, consent):
    with pytest.raises(ProfileError, match="at least 10 s"):
        enroll([corpus / "speech/LJ001-0001.wav"], name="x", consent=consent)


def test_silence_and_music_are_refused(tmp_path, consent):
    sr = 16000
    t = np.arange(20 * sr) / sr
    chords = sum(np.sin(2 * np.pi * f * t) for f in (220, 277.2, 329.6, 440)) * 0.1
    for name, x in (("silence", np.zeros(20 * sr)), ("music", chords),
                    ("noise", 0.1 * np.random.default_rng(0).standard_normal(20 * sr))):
        path = tmp_path / f"{name}.wav"
        save(Audio(x.astype(np.float32), sr), path)
        with pytest.raises(ProfileError):
            enroll([path], name=name, consent=consent)


def _rewrite(path, meta_edit=None, truncate=None):
    raw = path.read_bytes()
    if truncate:
        path.write_bytes(raw[:truncate])
        return
    with zipfile.ZipFile(io.BytesIO(raw)) as z:
        members = {n: z.read(n) for n in z.namelist()}
    arr = np.load(io.BytesIO(members["meta.npy"]))
    meta = json.loads(bytes(arr).decode())
    meta_edit(meta)
    buf = io.BytesIO()
    np.save(buf, np.frombuffer(json.dumps(meta).encode(), np.uint8))
    members["meta.npy"] = buf.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, b in members.items():
            z.writestr(n, b)
    path.write_bytes(out.getvalue())


def test_corrupt_edited_and_incompatible_profiles_are_refused(lj_profile, tmp_path):
    cases = {
        "truncated": dict(truncate=200),
        "edited": dict(meta_edit=lambda m: m["stats"]["f0"].update(median_hz=90.0)),
        "version": dict(meta_edit=lambda m: m.update(version=FORMAT_VERSION + 1)),
        "foreign": dict(meta_edit=lambda m: m.update(format="something-else")),
    }
    for name, kw in cases.items():
        path = lj_profile.save(tmp_path / f"{name}.voice")
        _rewrite(path, **kw)
        with pytest.raises(ProfileError) as err:
            load_profile(path)
        assert "\n" not in str(err.value)
    (tmp_path / "text.voice").write_text("not a profile")
    with pytest.raises(ProfileError):
        load_profile(tmp_path / "text.voice")
    with pytest.raises(ProfileError):
        load_profile(tmp_path / "absent.voice")
