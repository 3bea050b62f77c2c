"""Transcription benchmark: WER and speed of ``voxpost transcribe`` on the corpus's English speech.

Sets (every file with a reference transcript): ``speech/`` (LJSpeech LJ001-0001..0005, read
audiobook speech, and JFK's inaugural excerpt), ``multilingual/fleurs-en-*`` (FLEURS read
sentences, Opus at 24 kb/s) and ``video/grid_*`` (GRID commands from the audio of the videos: "bin
blue at f two now"). WER with :mod:`voxpost.speech.wer` (lower case, punctuation removed, digits
written as words as the references write them, a letter glued to a digit split: "K7" = "k seven"),
summed over the files of a set. Models: the embedded default (``faster-whisper-tiny.en``, int8)
and the same network through openai-whisper (``whisper-tiny.en``, float32) when its checkpoint is
installed (the table says when it is not). RTF = seconds of ``transcribe_file`` (decode, resample,
VAD, recognition; the model already loaded, one warm-up call before) over audio seconds, best of
``reps``; one thread (``OMP_NUM_THREADS=1``, CTranslate2 ``cpu_threads=1``), wall clock and the
process's CPU time (the machine is shared, so CPU time is the steadier of the two).

Also: no-speech files (the corpus' noise, three ESC-50 clips) must give no words; and word times
against the reference alignments of benchmarks/data/wordtimes (LJSpeech: MFA; GRID: its own),
on the words recognised right: whisper's own, and with ``align_words`` (the script aligner).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _timing import best_of_wall_cpu

SETS = {"speech": "speech/*.txt", "fleurs-en": "multilingual/fleurs-en-*.txt", "grid": "video/grid_*.txt"}
NO_SPEECH = ("noise/freesound_573577.wav", "foley/esc50_1-100032-A-0.wav", "foley/esc50_2-100648-A-43.wav",
             "foley/esc50_3-103051-C-19.wav")
MODELS = ("faster-whisper-tiny.en", "whisper-tiny.en")


def _audio(reference: Path) -> Path:
    return next(p for p in sorted(reference.parent.glob(reference.stem + ".*")) if p.suffix != ".txt")


def model_rows(corpus: Path, name: str, reps: int = 2) -> dict:
    """WER and RTF per set for registry model ``name``; ``{"model", "error"}`` when it is missing."""
    from voxpost.errors import ModelError
    from voxpost.speech.transcribe import load_model, transcribe_file
    from voxpost.speech.wer import counts

    try:
        loaded = load_model(name)
    except ModelError as e:
        return {"model": name, "error": str(e).splitlines()[0]}
    transcribe_file(corpus / "speech" / "jfk.flac", model=loaded, language="en")       # warm-up
    sets, files = {}, []
    for set_name, pattern in SETS.items():
        agg = {"files": 0, "audio_s": 0.0, "wall_s": 0.0, "cpu_s": 0.0, "words": 0, "substitutions": 0,
               "deletions": 0, "insertions": 0}
        for ref in sorted(corpus.glob(pattern)):
            path = _audio(ref)
            doc, wall, cpu = best_of_wall_cpu(lambda: transcribe_file(path, model=loaded, language="en"), reps)
            hyp = " ".join(w["word"] for w in doc["words"])
            c = counts(ref.read_text(), hyp)
            files.append({"set": set_name, "file": str(path.relative_to(corpus)), "hypothesis": hyp,
                          "wer": (c["substitutions"] + c["deletions"] + c["insertions"]) / c["words"],
                          "rtf": wall / doc["duration_s"]})
            agg["files"] += 1
            agg["audio_s"] += doc["duration_s"]
            agg["wall_s"] += wall
            agg["cpu_s"] += cpu
            for k in ("words", "substitutions", "deletions", "insertions"):
                agg[k] += c[k]
        sets[set_name] = agg
    total = {k: sum(s[k] for s in sets.values()) for k in next(iter(sets.values()))}
    for agg in [*sets.values(), total]:
        agg["wer"] = (agg["substitutions"] + agg["deletions"] + agg["insertions"]) / agg["words"]
        agg["rtf"], agg["rtf_cpu"] = agg["wall_s"] / agg["audio_s"], agg["cpu_s"] / agg["audio_s"]
    no_speech = {rel: len(transcribe_file(corpus / rel, model=loaded)["words"]) for rel in NO_SPEECH}
    return {"model": name, "sha256": loaded[1]["sha256"], "sets": sets, "all": total, "files": files,
            "no_speech_words": no_speech, "long_form": long_form(corpus, loaded, reps),
            "long_form_raw": long_form(corpus, loaded, reps, level=False)}


def long_form(corpus: Path, loaded, reps: int, level: bool = True) -> dict:
    """The speech and fleurs-en files read one after another as one 92 s recording, 0.5 s of
    silence between: whisper's 30 s windows filled, as on a reel. ``level``: each brought to the
    same RMS (-26 dBFS) first; else at their own levels (fleurs-en-002 is at -63 dBFS)."""
    from voxpost.audio import load
    from voxpost.resample import resample
    from voxpost.speech.transcribe import transcribe
    from voxpost.speech.wer import counts

    pieces, refs = [], []
    for pattern in (SETS["speech"], SETS["fleurs-en"]):
        for ref in sorted(corpus.glob(pattern)):
            a = load(_audio(ref))
            x = resample(a.samples.mean(axis=0), a.sample_rate, 16000).astype(np.float32)
            gain = 0.05 / np.sqrt(np.mean(x.astype(np.float64) ** 2)) if level else 1.0
            pieces += [x * np.float32(gain), np.zeros(8000, np.float32)]
            refs.append(ref.read_text())
    x = np.concatenate(pieces)
    doc, wall, cpu = best_of_wall_cpu(lambda: transcribe(x, 16000, model=loaded, language="en"), reps)
    c = counts(" ".join(refs), " ".join(w["word"] for w in doc["words"]))
    return {**c, "audio_s": x.size / 16000, "wer": (c["substitutions"] + c["deletions"] + c["insertions"]) / c["words"],
            "rtf": wall / (x.size / 16000), "rtf_cpu": cpu / (x.size / 16000)}


def word_times(corpus: Path, name: str = MODELS[0]) -> dict:
    """Boundary errors (ms) of whisper's word times and of the aligner's, on matched words."""
    from wordtimes import references

    from voxpost.speech.transcribe import load_model, transcribe_file
    from voxpost.speech.wer import match_words

    loaded = load_model(name)
    own, aligned, signed, extra = [], [], [], []
    for audio, _, ref in references(corpus):
        doc, wall, _ = best_of_wall_cpu(lambda: transcribe_file(audio, model=loaded, language="en"), 1)
        doc2, wall2, _ = best_of_wall_cpu(lambda: transcribe_file(audio, model=loaded, language="en", align_words=True), 1)
        extra.append((wall2 - wall) / doc["duration_s"])
        words = doc2["words"]
        for i, j in match_words([r["word"] for r in ref], [w["word"] for w in words]):
            for key in ("start", "end"):
                if key == "start" and i == 0 and ref[i]["start"] == 0.0:
                    continue            # not a boundary (see benchmarks/speech.py)
                own.append(abs(words[j]["whisper_" + key] - ref[i][key]))
                signed.append(words[j]["whisper_" + key] - ref[i][key])
                aligned.append(abs(words[j][key] - ref[i][key]))
    own, aligned = np.array(own) * 1000, np.array(aligned) * 1000
    return {"model": name, "boundaries": int(own.size),
            "whisper_median_ms": float(np.median(own)), "whisper_p90_ms": float(np.percentile(own, 90)),
            "whisper_signed_median_ms": float(np.median(signed) * 1000),
            "aligned_median_ms": float(np.median(aligned)), "aligned_p90_ms": float(np.percentile(aligned, 90)),
            "align_extra_rtf": float(np.median(extra))}


def run(corpus: Path, reps: int = 2) -> dict:
    return {"models": [model_rows(corpus, m, reps) for m in MODELS], "word_times": word_times(corpus)}


def table(result: dict) -> str:
    """The markdown of one :func:`run` result (README and results/speech.md)."""
    lines = ["| model | set | files | audio s | ref words | WER | sub / del / ins | RTF wall | RTF CPU |",
             "|---|---|---|---|---|---|---|---|---|"]
    missing = []
    for m in result["models"]:
        if "error" in m:
            missing.append(f"{m['model']}: not measured: {m['error']}")
            continue
        rows = [*m["sets"].items(), ("**all English**", m["all"]),
                ("long-form: speech + fleurs-en as one file, levelled", dict(m["long_form"], files=1)),
                ("the same at the files' own levels", dict(m["long_form_raw"], files=1))]
        for set_name, s in rows:
            lines.append(f"| {m['model']} | {set_name} | {s['files']} | {s['audio_s']:.1f} | {s['words']} | "
                         f"{100 * s['wer']:.1f}% | {s['substitutions']} / {s['deletions']} / {s['insertions']} | "
                         f"{s['rtf']:.3f} | {s['rtf_cpu']:.3f} |")
    lines.append("")
    for m in result["models"]:
        if "error" not in m:
            found = ", ".join(f"{Path(k).name} {v}" for k, v in m["no_speech_words"].items())
            lines.append(f"{m['model']}, words found on the no-speech files: {found}.")
    lines += [*missing, ""]
    t = result["word_times"]
    lines += ["Word boundaries against the reference alignments (words recognised right, "
              f"{t['boundaries']} boundaries):", "",
              "| word times | median error | p90 error |", "|---|---|---|",
              f"| whisper's own ({t['model']}) | {t['whisper_median_ms']:.0f} ms | {t['whisper_p90_ms']:.0f} ms |",
              f"| `--align-words` (script aligner on the transcript) | **{t['aligned_median_ms']:.0f} ms** | "
              f"**{t['aligned_p90_ms']:.0f} ms** |", "",
              f"Whisper's boundaries are late by {t['whisper_signed_median_ms']:.0f} ms at the median; "
              f"`--align-words` adds RTF {t['align_extra_rtf']:.3f}."]
    return "\n".join(lines)
