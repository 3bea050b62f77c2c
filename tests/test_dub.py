"""Dubbing: windows found on the original's speech, lines fitted within pace bounds, the stem and the CLI.

Originals are built from known speech at known places (espeak-ng English, always available; the
corpus's LJ Speech recordings when present), and script timecodes are moved off by up to 200 ms,
so every placement is checked against where the speech really is.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from tests.conftest import run_cli
from voxpost.audio import Audio
from voxpost.dub.engine import dub, measured_onset, mix
from voxpost.dub.fit import MAX_SPEED, MIN_SPEED, fit_line
from voxpost.dub.script import ScriptLine
from voxpost.dub.windows import Window, analyse, find_windows

SR = 48000
ORIGINAL_LINES = ["Meet me at the station tomorrow morning.", "I will bring the papers, and the money.",
                  "Nobody must know about this.", "Good night, my friend."]
FRENCH = ["Retrouve-moi à la gare demain matin.", "J'apporterai les papiers, et l'argent.",
          "Personne ne doit le savoir.", "Bonne nuit, mon ami."]


def _onset_offset(y: np.ndarray, sr: int) -> tuple[float, float]:
    hop = int(0.01 * sr)
    n = y.size // hop
    db = 10 * np.log10((y[:n * hop].reshape(n, hop).astype(np.float64) ** 2).mean(1) + 1e-12)
    loud = np.flatnonzero(db >= db.max() - 30)
    return loud[0] * hop / sr, (loud[-1] + 1) * hop / sr


def _scene(utterances: list[np.ndarray], sr: int, gaps_s: list[float], seed: int = 0):
    """Utterances end to end; returns the scene and each one's true (onset, offset) in it."""
    rng = np.random.default_rng(seed)
    total = sum(u.size for u in utterances) + int(sum(gaps_s) * sr) + sr
    x = (rng.normal(size=total) * 1e-4).astype(np.float32)
    truth, t = [], gaps_s[0]
    for u, gap in zip(utterances, gaps_s[1:] + [1.0]):
        k = int(t * sr)
        x[k:k + u.size] += u
        on, off = _onset_offset(u, sr)
        truth.append((t + on, t + off))
        t += u.size / sr + gap
    return x[:int(t * sr)], truth


def _rough(truth, texts, seed: int = 1, off_s: float = 0.2):
    rng = np.random.default_rng(seed)
    lines, prev = [], 0.0
    for i, ((on, off), text) in enumerate(zip(truth, texts)):
        s = max(on + rng.uniform(-off_s, off_s), prev + 0.01)
        e = off + rng.uniform(-off_s, off_s)
        lines.append(ScriptLine(index=i + 1, start_s=round(s, 3), end_s=round(e, 3), text=text, label=str(i + 1)))
        prev = e
    return lines


@pytest.fixture(scope="module")
def espeak_scene():
    from voxpost.voice.tts import speak

    utts = [speak(t, language="en", sample_rate=SR).audio.samples[0] * 0.5 for t in ORIGINAL_LINES]
    x, truth = _scene(utts, SR, [0.8, 0.9, 0.3, 1.4])
    return x, truth


def test_windows_land_on_speech_despite_rough_timecodes(espeak_scene):
    x, truth = espeak_scene
    lines = _rough(truth, FRENCH)
    wins = find_windows(analyse(x, SR), lines)
    starts = np.array([w.start_s for w in wins])
    ends = np.array([w.end_s for w in wins])
    err_on = np.abs(starts - [t[0] for t in truth]) * 1000
    err_off = np.abs(ends - [t[1] for t in truth]) * 1000
    assert err_on.max() < 40, err_on
    assert np.median(err_off) < 60, err_off
    assert all(w.found for w in wins)
    assert np.all(starts[1:] >= ends[:-1])              # never overlapping


def test_dub_places_every_line_on_its_window_without_drift(espeak_scene):
    x, truth = espeak_scene
    lines = _rough(truth, FRENCH, seed=7)
    res = dub(Audio(x[np.newaxis], SR), lines, language="fr")
    stem = res.stem.samples[0]
    assert res.stem.frames == x.size and res.stem.sample_rate == SR and res.stem.channels == 1
    rep = res.report["lines"]
    assert len(rep) == len(lines)
    prev_end = 0.0
    for e, (on, _), nxt in zip(rep, truth, truth[1:] + [(x.size / SR, 0)]):
        measured = measured_onset(stem, SR, max(on - 0.3, prev_end), nxt[0] - 0.05)
        prev_end = e["end"] + 0.02
        assert abs(measured - on) < 0.04, (e["index"], measured, on)
        if e["status"] == "ok":
            assert MIN_SPEED - 1e-6 <= e["speed"] <= MAX_SPEED + 1e-6
            assert e["end"] <= e["window_end"] + 0.1
    s = res.report["summary"]
    assert s["lines"] == 4 and s["ok"] + s["flagged"] == 4
    assert s["median_onset_error_ms"] <= 10


def test_line_follows_the_originals_inner_pause():
    w = Window(1.0, 4.0, pauses=[(2.2, 2.8)])
    f = fit_line("Je pars demain matin, mais je reviendrai vite avant la nuit.", w, language="fr")
    assert f.status == "ok", f.reason
    for word in f.words:        # no dubbed word sits in the original's pause
        assert word["end"] <= 2.2 + 0.02 or word["start"] >= 2.8 - 0.02, word
    assert any(word["start"] >= 2.8 - 0.02 for word in f.words)
    assert all(MIN_SPEED - 1e-6 <= s <= MAX_SPEED + 1e-6 for s in f.group_speeds)


@pytest.mark.parametrize("window_s, sign", [(0.9, -1), (6.0, 1)])
def test_line_that_cannot_fit_is_flagged_at_the_bound(window_s, sign):
    text = "Nous partirons ensemble vers le sud."
    f = fit_line(text, Window(1.0, 1.0 + window_s), language="fr")
    assert f.status == "flagged"
    assert f.speed == pytest.approx(MAX_SPEED if sign < 0 else MIN_SPEED, abs=1e-3)
    assert np.sign(f.suggest_syllables) == sign and f.suggest_syllables != 0
    assert f.start_s == pytest.approx(1.0, abs=1e-6)        # placed from its window start, not squeezed
    # the suggestion is about right: the line at the bound with that many syllables more or less fits
    natural = (f.end_s - f.start_s) * f.speed
    fits = natural * (f.syllables + f.suggest_syllables) / f.syllables / window_s
    assert MIN_SPEED * 0.9 <= fits <= MAX_SPEED * 1.1


def test_bilabials_are_pulled_onto_lip_closures():
    text = "Bonjour, mon ami, tu parles bien."
    free = fit_line(text, Window(1.0, 2.8), language="fr")
    assert free.status == "ok" and len(free.bilabials) >= 3
    # closures 60 ms away from where the free fit puts three of the bilabials
    closures = [round(b + d, 4) for b, d in zip(free.bilabials[1:4], (0.06, -0.06, 0.05))]
    anchored = fit_line(text, Window(1.0, 2.8, closures=closures), language="fr")
    assert anchored.anchored >= 2
    hits = [min(abs(np.array(anchored.bilabials) - c)) for c in closures]
    assert sorted(hits)[1] < 0.012, hits
    assert anchored.end_s == pytest.approx(free.end_s, abs=0.01)


def test_mix_puts_dialogue_on_the_centre_of_51_and_refuses_other_rates():
    stem = Audio(np.zeros((1, SR), np.float32), SR)
    stem.samples[0, 1000:2000] = 0.5
    me = Audio((np.random.default_rng(0).normal(size=(6, SR)) * 0.01).astype(np.float32), SR)
    out, info = mix(stem, me, target_lufs=-23.0)
    assert out.channels == 6 and out.frames == SR and info["me_channels"] == 6
    with pytest.raises(Exception, match="Hz"):
        mix(stem, Audio(np.zeros((2, 44100), np.float32), 44100))
    with pytest.raises(Exception, match="same reel"):
        mix(stem, Audio(np.zeros((2, 3 * SR), np.float32), SR))


def test_lj_scene_onsets_within_40_ms(corpus):
    import soxr

    utts = []
    for name in ("LJ001-0002.wav", "LJ001-0004.wav", "LJ001-0005.wav"):
        y, r = sf.read(corpus / "speech" / name, dtype="float32")
        utts.append(soxr.resample(y, r, SR).astype(np.float32))
    x, truth = _scene(utts, SR, [1.0, 0.6, 1.2])
    texts = ["Le premier livre imprimé venait d'Allemagne.",
             "L'art de l'imprimerie est le seul qui nous intéresse ici, et il diffère des autres métiers.",
             "Les Chinois imprimaient avec des blocs gravés bien avant les orfèvres de Haarlem, sans rien inventer."]
    res = dub(Audio(x[np.newaxis], SR), _rough(truth, texts, seed=3), language="fr")
    stem = res.stem.samples[0]
    for e, (on, _), nxt in zip([{"end": 0.0}] + res.report["lines"], truth, truth[1:] + [(x.size / SR, 0)]):
        assert abs(measured_onset(stem, SR, max(on - 0.3, e["end"] + 0.02), nxt[0] - 0.05) - on) < 0.04


# -- CLI ---------------------------------------------------------------------------------------------

def _srt(lines) -> str:
    from voxpost.dub.script import format_time

    return "\n".join(f"{i + 1}\n{format_time(l.start_s)} --> {format_time(l.end_s)}\n{l.text}\n"
                     for i, l in enumerate(lines))


@pytest.fixture
def cli_scene(tmp_path, espeak_scene):
    x, truth = espeak_scene
    sf.write(tmp_path / "orig.wav", x, SR, subtype="PCM_24")
    (tmp_path / "fr.srt").write_text(_srt(_rough(truth, FRENCH, seed=5)), encoding="utf-8")
    me = (np.random.default_rng(2).normal(size=(x.size, 2)) * 0.02).astype(np.float32)
    sf.write(tmp_path / "me.wav", me, SR)
    return tmp_path


def test_cli_dub_writes_stem_mix_report_rythmo_and_timeline(cli_scene):
    import pyloudnorm

    from voxpost.voice import watermark

    d = cli_scene
    r = run_cli("dub", d / "orig.wav", "--script", d / "fr.srt", "--language", "fr", "-o", d / "dub.wav",
                "--me", d / "me.wav", "--mix", d / "mix.wav", "--report", d / "t.json",
                "--rythmo", d / "r.png", "--otio", d / "t.otio")
    assert r.returncode == 0, r.stderr
    orig = sf.info(d / "orig.wav")
    stem, sr = sf.read(d / "dub.wav", dtype="float32")
    assert sr == SR and stem.shape[0] == orig.frames          # sample-aligned, same length
    assert watermark.detect(stem, sr).marked
    mixed, _ = sf.read(d / "mix.wav", dtype="float32")
    assert mixed.shape == (orig.frames, 2)
    assert pyloudnorm.Meter(SR).integrated_loudness(mixed) == pytest.approx(-23.0, abs=0.5)
    rep = json.loads((d / "t.json").read_text())
    assert [e["index"] for e in rep["lines"]] == [1, 2, 3, 4]
    for e in rep["lines"]:
        assert {"index", "text", "window_start", "window_end", "start", "end", "speed", "status"} <= set(e)
        assert e["status"] in ("ok", "flagged")
        assert ("suggest_syllables" in e) == (e["status"] == "flagged")
    assert (d / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (d / "t.otio").stat().st_size > 0
    assert (d / "dub.wav.provenance.json").is_file() and (d / "mix.wav.provenance.json").is_file()


@pytest.mark.parametrize("case", ["overlap", "beyond", "empty", "mix-without-me", "me-rate", "me-length",
                                  "clone-without-consent", "output-is-input", "report-ext", "bad-language"])
def test_cli_dub_bad_input_exits_2_and_writes_nothing(cli_scene, case):
    d = cli_scene
    script, extra, out = d / "fr.srt", [], d / "dub.wav"
    if case == "overlap":
        script = d / "bad.srt"
        script.write_text("1\n00:00:01,000 --> 00:00:03,000\nUn.\n\n2\n00:00:02,000 --> 00:00:04,000\nDeux.\n")
    elif case == "beyond":
        script = d / "bad.srt"
        script.write_text("1\n00:10:01,000 --> 00:10:03,000\nUn.\n")
    elif case == "empty":
        script = d / "bad.srt"
        script.write_text("1\n00:00:01,000 --> 00:00:03,000\n<i></i>\n")
    elif case == "mix-without-me":
        extra = ["--mix", d / "mix.wav"]
    elif case == "me-rate":
        sf.write(d / "me44.wav", np.zeros((44100, 2), np.float32), 44100)
        extra = ["--me", d / "me44.wav", "--mix", d / "mix.wav"]
    elif case == "me-length":
        sf.write(d / "short.wav", np.zeros((SR, 2), np.float32), SR)
        extra = ["--me", d / "short.wav", "--mix", d / "mix.wav"]
    elif case == "clone-without-consent":
        extra = ["--clone-original"]
    elif case == "output-is-input":
        out = d / "orig.wav"
    elif case == "report-ext":
        extra = ["--report", d / "t.txt"]
    before = {p.name: p.stat().st_mtime_ns for p in d.iterdir()}
    lang = "xx-nope" if case == "bad-language" else "fr"
    r = run_cli("dub", d / "orig.wav", "--script", script, "--language", lang, "-o", out, *extra)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("voxpost: error:"), r.stderr
    after = {p.name: p.stat().st_mtime_ns for p in d.iterdir()}
    assert after == before                                  # nothing written, nothing touched


def test_cli_dub_stereo_me_under_mono_original_and_clone_with_consent(cli_scene):
    d = cli_scene
    x, _ = sf.read(d / "orig.wav", dtype="float32")
    sf.write(d / "long.wav", np.concatenate([x, x, x]), SR)      # enrolment needs 10 s of speech
    (d / "consent.txt").write_text("I agree to my voice being cloned for the French dub. (test)\n")
    r = run_cli("dub", d / "long.wav", "--script", d / "fr.srt", "--language", "fr", "-o", d / "dub.wav",
                "--clone-original", "--consent", d / "consent.txt", "--report", d / "t.json",
                "--me", d / "me.wav", "--mix", d / "mix.wav")
    assert r.returncode == 2 and "same reel" in r.stderr        # a mono original, a stereo M&E of another length
    r = run_cli("dub", d / "long.wav", "--script", d / "fr.srt", "--language", "fr", "-o", d / "dub.wav",
                "--clone-original", "--consent", d / "consent.txt", "--report", d / "t.json")
    assert r.returncode == 0, r.stderr
    rep = json.loads((d / "t.json").read_text())
    assert rep["voices"]["*"]["consent"]["sha256"]
    prov = json.loads((d / "dub.wav.provenance.json").read_text())
    assert any(s["stage"] == "voice-convert" for s in prov["stages"])


def test_cli_dub_with_video_takes_lip_closures_from_the_picture(corpus, tmp_path):
    clip = corpus / "video" / "grid_pwij3p.mpg"          # "place white in j three please"
    (tmp_path / "fr.srt").write_text("1\n00:00:00,700 --> 00:00:02,300\nPlace blanche en j trois, s'il vous plaît.\n")
    r = run_cli("dub", clip, "--script", tmp_path / "fr.srt", "--language", "fr", "-o", tmp_path / "dub.wav",
                "--video", clip, "--report", tmp_path / "t.json", "--rythmo", tmp_path / "r.png")
    assert r.returncode == 0, r.stderr
    rep = json.loads((tmp_path / "t.json").read_text())
    line = rep["lines"][0]
    assert rep["fps"] == 25
    assert line["window_source"].endswith("+video") and line["closures"]
    assert all(line["window_start"] <= c <= line["window_end"] for c in line["closures"])
    from voxpost.audio import info

    assert sf.info(tmp_path / "dub.wav").frames == info(clip)["frames"]     # sample-aligned with the clip's audio


def test_a_line_with_no_audible_speech_takes_the_moving_mouth_on_screen(corpus):
    from voxpost.audio import load
    from voxpost.dub.video import mouth_track
    from voxpost.speech.align import align

    clip = corpus / "video" / "grid_bbaf2n.mpg"                      # "bin blue at f two now"
    audio = load(clip)
    words = align(audio.samples, audio.sample_rate, (corpus / "video" / "grid_bbaf2n.txt").read_text(),
                  language="en")["words"]
    speech_on, speech_off = words[0]["start"], words[-1]["end"]
    # the dialogue is lost under loud noise: the audio has no speech the VAD can find
    noise = Audio((np.random.default_rng(0).normal(size=(1, audio.frames)) * 0.3).astype(np.float32),
                  audio.sample_rate)
    line = ScriptLine(index=1, start_s=speech_on + 0.15, end_s=speech_off - 0.15, text="Bleu en f deux.", label="1")
    res = dub(noise, [line], language="fr", mouth=mouth_track(clip))
    e = res.report["lines"][0]
    assert e["window_source"].startswith("video") and e["speech_found"]
    assert abs(e["window_start"] - speech_on) < 0.25, (e["window_start"], speech_on)


def test_cli_dub_gives_each_speaker_their_own_profile(cli_scene):
    from voxpost.espeak import synthesize
    from voxpost.voice.profile import enroll
    from voxpost.voice.vocoder import voice_stats

    d = cli_scene
    passage = ("The harbour was quiet that night, and the boats rocked slowly at their moorings. Nobody walked "
               "along the sea wall, and the lamps burned low in the windows of the houses above the shingle.")
    for name, lang, pitch in (("anna", "en-us", 85), ("bruno", "en-gb-x-rp", 20)):
        syn = synthesize(passage, language=lang, rate_wpm=140, pitch=pitch)
        sf.write(d / f"{name}.wav", 0.7 * syn.samples, syn.sample_rate)
        (d / f"{name}.txt").write_text(f"{name} consents to this test voice (synthetic).\n")
        enroll([d / f"{name}.wav"], name=name, consent=d / f"{name}.txt").save(d / f"{name}.voice")
    srt = (d / "fr.srt").read_text().split("\n\n")
    rows = ["start,end,speaker,text"]
    for i, block in enumerate(b for b in srt if b.strip()):
        _, times, text = block.strip().split("\n", 2)
        a, b = (t.strip().replace(",", ".") for t in times.split("-->"))
        rows.append(f'{a},{b},{"Anna" if i % 2 == 0 else "Bruno"},"{text}"')
    (d / "fr.csv").write_text("\n".join(rows) + "\n")
    r = run_cli("dub", d / "orig.wav", "--script", d / "fr.csv", "--language", "fr", "-o", d / "dub.wav",
                "--voice", f"Anna={d / 'anna.voice'}", "--voice", f"Bruno={d / 'bruno.voice'}",
                "--report", d / "t.json")
    assert r.returncode == 0, r.stderr
    rep = json.loads((d / "t.json").read_text())
    assert [e["voice"] for e in rep["lines"]] == ["anna", "bruno", "anna", "bruno"]
    assert set(rep["voices"]) == {"Anna", "Bruno"}
    stem, sr = sf.read(d / "dub.wav", dtype="float32")
    f0 = {who: np.median([voice_stats(stem[int(e["start"] * sr):int(e["end"] * sr)], sr)["f0"]["median_hz"]
                          for e in rep["lines"] if e["voice"] == who]) for who in ("anna", "bruno")}
    assert f0["anna"] > 1.3 * f0["bruno"], f0
    bad = run_cli("dub", d / "orig.wav", "--script", d / "fr.csv", "--language", "fr", "-o", d / "dub2.wav",
                  "--voice", f"Carla={d / 'anna.voice'}")
    assert bad.returncode == 2 and "Carla" in bad.stderr and not (d / "dub2.wav").exists()
