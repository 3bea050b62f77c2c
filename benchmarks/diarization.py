#!/usr/bin/env python3
"""Speaker diarization benchmark: the embedded diarizer on the corpus's multi-speaker clips.

Files: ``multispeaker/pyannote_sample.wav`` (two speakers, some overlap) and the AMI excerpts
``ami_debug_dev00``/``dev01`` (far-field meeting audio, heavy overlap), scored against their RTTM
(and UEM where given) with pyannote.metrics ``DiarizationErrorRate(collar=0.25,
skip_overlap=False)``. The baseline gives every speech region of the same Silero VAD (threshold
0.3, as the diarizer uses) one label. RTF is diarizer seconds over audio seconds, one thread,
decoding included, after one warm-up run (Numba compile, ONNX session).

Usage:
    .venv/bin/python benchmarks/diarization.py [--out DIR]
Writes DIR/diarization.md (default benchmarks/results/).
"""

from __future__ import annotations

from _setup import CORPUS, ROOT  # noqa: E402,F401 - one thread per library, before NumPy loads

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

FILES = ("pyannote_sample", "ami_debug_dev00", "ami_debug_dev01")


def _annotation(turns):
    from pyannote.core import Annotation, Segment

    a = Annotation()
    for i, (s, e, label) in enumerate(turns):
        a[Segment(s, e), i] = label
    return a


def _rttm(path: Path):
    out = []
    for line in path.read_text().splitlines():
        p = line.split()
        if p and p[0] == "SPEAKER":
            out.append((float(p[3]), float(p[3]) + float(p[4]), p[7]))
    return out


def _uem(path: Path, duration: float):
    from pyannote.core import Segment, Timeline

    if path.is_file():
        return Timeline([Segment(float(p[2]), float(p[3])) for p in (l.split() for l in path.read_text().splitlines()) if p])
    return Timeline([Segment(0.0, duration)])


def run(corpus: Path = CORPUS) -> list[dict]:
    """Score the embedded diarizer on each multi-speaker file; one dict per file."""
    from pyannote.metrics.diarization import DiarizationErrorRate

    from voxpost.speech import vad
    from voxpost.speech.diarize import DEFAULT, diarize_file
    from voxpost.stream import AudioReader

    folder = corpus / "multispeaker"
    diarize_file(folder / f"{FILES[0]}.wav", backend="embedded")      # warm-up
    rows = []
    for name in FILES:
        wav = folder / f"{name}.wav"
        with AudioReader(wav) as r:
            duration = r.count_frames() / r.sample_rate
            x, sr = r.read(), r.sample_rate
        t0 = time.perf_counter()
        turns = diarize_file(wav, backend="embedded")
        seconds = time.perf_counter() - t0
        ref = _annotation(_rttm(folder / f"{name}.rttm"))
        uem = _uem(folder / f"{name}.uem", duration)
        metric = DiarizationErrorRate(collar=0.25, skip_overlap=False)
        d = metric(ref, _annotation(turns), uem=uem, detailed=True)
        regions = vad.speech_regions(x, sr, threshold=DEFAULT.vad_threshold)
        base = DiarizationErrorRate(collar=0.25, skip_overlap=False)(
            ref, _annotation([(s, e, "A") for s, e in regions]), uem=uem)
        total = d["total"]
        rows.append({"file": name, "duration_s": round(duration, 2),
                     "speakers_ref": len(ref.labels()), "speakers_found": len({t[2] for t in turns}),
                     "der": d["diarization error rate"], "miss": d["missed detection"] / total,
                     "false_alarm": d["false alarm"] / total, "confusion": d["confusion"] / total,
                     "baseline_der": base, "rtf": seconds / duration})
    return rows


def table(rows: list[dict]) -> str:
    head = ("| file | speakers (ref / found) | DER | miss | false alarm | confusion | one-speaker-on-VAD DER | RTF |\n"
            "|---|---|---|---|---|---|---|---|\n")
    body = "".join(f"| {r['file']} | {r['speakers_ref']} / {r['speakers_found']} | **{r['der']:.1%}** | {r['miss']:.1%} | "
                   f"{r['false_alarm']:.1%} | {r['confusion']:.1%} | {r['baseline_der']:.1%} | {r['rtf']:.3f} |\n"
                   for r in rows)
    return head + body


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    rows = run()
    text = ("# Speaker diarization (embedded)\n\n"
            "DER with pyannote.metrics, collar 0.25 s, overlap scored; baseline: every VAD speech region "
            "one label. RTF: one thread, decoding included.\n\n" + table(rows))
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "diarization.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
