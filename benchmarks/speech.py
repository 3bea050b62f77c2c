#!/usr/bin/env python3
"""Speech benchmark: script alignment accuracy and speed, and the embedded diarizer's DER.

Alignment
    Word-boundary error (every start and end; a reference start at 0.000 s, where the aligner
    that made the reference marked no leading silence, is not a boundary and is skipped) of
    ``voxpost.speech.align`` against published reference alignments of real recordings in
    ../shared/corpus: LJSpeech LJ001-0001..0005 (Montreal Forced Aligner alignments distributed
    with FastSpeech2) and GRID bbaf2n (the GRID corpus' own alignment file); see
    benchmarks/data/wordtimes/README.md (times only; words from the corpus transcripts). Peer in the same run: the proportional baseline that
    simple subtitle tools use (words spread over the VAD speech span in proportion to their
    length in characters).
Speed and scaling
    Real-time factor on the corpus files (warm), and on long synthetic readings (another espeak
    voice, 2 / 10 / 30 min) in a fresh process each, with its peak memory, to show that time
    and memory grow linearly.
Transcription
    benchmarks/transcription.py: WER of ``voxpost transcribe`` on the corpus's English speech
    (LJSpeech + JFK, FLEURS en, GRID) with the embedded faster-whisper tiny.en and, when its
    checkpoint is installed, openai-whisper tiny.en; RTF on one thread; no words on the no-speech
    files; word boundaries of whisper and of ``--align-words`` against the reference alignments.
Diarization
    benchmarks/diarization.py: DER (pyannote.metrics, collar 0.25 s, overlap scored) of the
    embedded diarizer on ../shared/corpus/multispeaker, against the one-speaker-on-VAD baseline.

Usage:  .venv/bin/python benchmarks/speech.py [--out DIR] [--long-minutes 2,10,30] [--only transcription] [--reps N]
Writes DIR/speech.json and DIR/speech.md (default benchmarks/results/). ``--only transcription``
runs that part alone and keeps the other sections of an existing DIR/speech.json.
"""

from __future__ import annotations

from _setup import CORPUS, ROOT  # noqa: E402,F401 - one thread per library, before NumPy loads

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

LONG_TEXT = ("The old harbour was quiet that morning, and the fishermen mended their nets in silence. "
             "Nobody spoke of the storm. A cart rolled past the church with its wheels singing on the "
             "stones. Far away, a bell tolled seven times and the gulls answered. Margaret counted the "
             "boats twice, then once more, to be sure. ")


def boundary_errors(words: list[dict], ref: list[dict]) -> np.ndarray:
    errs = []
    for k, (got, want) in enumerate(zip(words, ref)):
        if not (k == 0 and want["start"] == 0.0):
            errs.append(abs(got["start"] - want["start"]))
        errs.append(abs(got["end"] - want["end"]))
    return np.array(errs) * 1000


def proportional(samples: np.ndarray, sr: int, text: str) -> list[dict]:
    """The peer: words spread over the speech span in proportion to their length."""
    from voxpost.speech.align import script_words
    from voxpost.speech.vad import speech_regions

    regions = speech_regions(samples, sr, pad_ms=0.0)
    t0, t1 = regions[0][0], regions[-1][1]
    toks = script_words(" ".join(text.split()))
    w = np.array([len(t.text) + 1 for t in toks], float)
    edges = t0 + (t1 - t0) * np.concatenate([[0], np.cumsum(w)]) / w.sum()
    return [{"word": t.text, "start": edges[i], "end": edges[i + 1]} for i, t in enumerate(toks)]


def alignment_rows(corpus: Path) -> tuple[list[dict], dict]:
    from voxpost.audio import load
    from voxpost.speech.align import align

    from wordtimes import references

    rows, ours_all, peer_all = [], [], []
    refs = list(references(corpus))
    a = load(refs[0][0])                        # warm-up: Numba kernels, the VAD session, espeak
    align(a.samples, a.sample_rate, refs[0][1])
    for audio, text, ref in refs:
        a = load(audio)
        t = time.perf_counter()
        result = align(a.samples, a.sample_rate, text, language="en")
        dt = time.perf_counter() - t
        ours = boundary_errors(result["words"], ref)
        peer = boundary_errors(proportional(a.samples, a.sample_rate, text), ref)
        ours_all.append(ours)
        peer_all.append(peer)
        rows.append({"file": str(audio.relative_to(corpus)), "words": len(ref), "boundaries": ours.size,
                     "median_ms": float(np.median(ours)), "p90_ms": float(np.percentile(ours, 90)),
                     "peer_median_ms": float(np.median(peer)), "peer_p90_ms": float(np.percentile(peer, 90)),
                     "rtf": dt / a.duration_s, "confidence": result["confidence"]})
    o, p = np.concatenate(ours_all), np.concatenate(peer_all)
    total = {"boundaries": o.size, "median_ms": float(np.median(o)), "p90_ms": float(np.percentile(o, 90)),
             "peer_median_ms": float(np.median(p)), "peer_p90_ms": float(np.percentile(p, 90)),
             "within_25ms": float((o <= 25).mean()), "within_60ms": float((o <= 60).mean())}
    return rows, total


def _long_child(minutes: float) -> None:
    """Run in a fresh process: align a long synthetic reading; print JSON with time and peak memory."""
    from voxpost.speech.align import align, script_words
    from voxpost.espeak import synthesize

    reps = max(1, int(round(minutes * 60 / 24.0)))
    text = LONG_TEXT * reps
    rec = synthesize(text, language="en-gb-x-rp", rate_wpm=150, pitch=30)
    align(rec.samples[: rec.sample_rate * 20], rec.sample_rate, "The old harbour was quiet that morning")
    t = time.perf_counter()
    result = align(rec.samples, rec.sample_rate, text, language="en-us")
    dt = time.perf_counter() - t
    index = {tok.start: i for i, tok in enumerate(script_words(" ".join(text.split())))}
    errs = [abs(result["words"][index[g.char_start]]["start"] - g.start / rec.sample_rate) * 1000
            for g in rec.words if g.char_start in index]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"minutes": rec.duration_s / 60, "seconds": dt, "rtf": dt / rec.duration_s,
                      "peak_mb": peak_mb, "median_ms": float(np.median(errs)),
                      "p90_ms": float(np.percentile(errs, 90))}))


def long_rows(minutes: list[float]) -> list[dict]:
    rows = []
    for m in minutes:
        out = subprocess.run([sys.executable, __file__, "--child", str(m)], capture_output=True, text=True,
                             check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return rows


def report(align_rows: list[dict], total: dict, longs: list[dict], diar: list[dict],
           trans: dict | None = None) -> str:
    """speech.md from the sections of speech.json."""
    lines = ["# Speech benchmark", "",
             "## Script alignment (`voxpost align`, embedded: espeak-ng synthesis + log-mel DTW)", "",
             "Word-boundary error against published reference alignments (LJSpeech: MFA; GRID: the corpus' "
             "own alignment). Peer: words spread over the speech span by length.", "",
             "| file | words | boundaries | median ms | p90 ms | peer median ms | peer p90 ms | RTF | confidence |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in align_rows:
        lines.append(f"| {r['file']} | {r['words']} | {r['boundaries']} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} | "
                     f"{r['peer_median_ms']:.1f} | {r['peer_p90_ms']:.1f} | {r['rtf']:.4f} | {r['confidence']:.2f} |")
    lines += [f"| **all** | | {total['boundaries']} | **{total['median_ms']:.1f}** | **{total['p90_ms']:.1f}** | "
              f"{total['peer_median_ms']:.1f} | {total['peer_p90_ms']:.1f} | | |", "",
              f"{100 * total['within_25ms']:.0f}% of boundaries within 25 ms, {100 * total['within_60ms']:.0f}% within 60 ms. "
              "Targets: median <= 25 ms, p90 <= 60 ms, RTF <= 0.05.", ""]
    if longs:
        lines += ["## Long files (synthetic reading by another espeak voice, fresh process each)", "",
                  "| minutes | align seconds | RTF | peak memory MB | word-start median ms | p90 ms |",
                  "|---|---|---|---|---|---|"]
        lines += [f"| {r['minutes']:.1f} | {r['seconds']:.1f} | {r['rtf']:.4f} | {r['peak_mb']:.0f} | "
                  f"{r['median_ms']:.1f} | {r['p90_ms']:.1f} |" for r in longs]
        lines.append("")
    if trans:
        from transcription import table as transcription_table

        lines += ["## Transcription (`voxpost transcribe`, corpus English speech, one thread)", "",
                  "WER after lower-casing, removing punctuation and writing digits as words; RTF over the "
                  "files of a set, model loaded, best of the runs. Targets: WER <= 7% on the corpus's English "
                  "speech, RTF <= 0.12.", "", transcription_table(trans), ""]
    if diar:
        from diarization import table

        lines += ["## Diarization (embedded), DER with collar 0.25 s, overlap scored", "", table(diar), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    p.add_argument("--long-minutes", default="2,10,30")
    p.add_argument("--only", choices=["transcription"], help="run one part; keep the others from speech.json")
    p.add_argument("--reps", type=int, default=2, help="transcription timing: best of N (default 2)")
    p.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        _long_child(args.child)
        return
    if not (CORPUS / "MANIFEST.md").is_file():
        sys.exit(f"corpus not found at {CORPUS}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    saved = out / "speech.json"
    doc = json.loads(saved.read_text()) if args.only and saved.is_file() else {}
    if not args.only:
        rows, total = alignment_rows(CORPUS)
        from diarization import run as diarization_run

        doc.update(alignment={"rows": rows, "total": total},
                   long=long_rows([float(m) for m in args.long_minutes.split(",") if m]),
                   diarization=diarization_run(CORPUS))
    from transcription import run as transcription_run

    doc["transcription"] = transcription_run(CORPUS, reps=args.reps)
    saved.write_text(json.dumps(doc, indent=1, default=float) + "\n")
    align = doc.get("alignment", {"rows": [], "total": None})
    text = report(align["rows"], align["total"], doc.get("long", []), doc.get("diarization", []),
                  doc["transcription"]) if align["total"] else report_transcription(doc["transcription"])
    (out / "speech.md").write_text(text)
    print(text)


def report_transcription(trans: dict) -> str:
    """speech.md when only the transcription part has been run into an empty DIR."""
    from transcription import table as transcription_table

    return "\n".join(["# Speech benchmark (transcription only)", "", transcription_table(trans), ""])


if __name__ == "__main__":
    main()
