"""Whisper transcription on a tiny random-weight checkpoint saved in whisper's real on-disk format
(``{"dims", "model_state_dict"}`` through torch.save) and loaded the way users load theirs: by
path, and through the sha256-checked model registry. Real weights cannot be downloaded here, so
the text is gibberish; what is tested is the machinery around whisper: loading, errors, VAD
gating, chunking, time bookkeeping and the output structure."""

from __future__ import annotations

import json
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
                        "words", "speech_regions"}
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
    assert doc == {"language": None, "segments": [], "words": [], "speech_regions": []}
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
