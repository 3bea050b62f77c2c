#!/usr/bin/env python3
"""Audio watermark benchmark: robustness, false alarms, mark SNR and speed of voxpost.voice.watermark.

Hosts are every corpus speech, multilingual and noisy file, mixed to mono and resampled to 48 kHz.
Each is marked at the default 36 dB SNR with a fixed payload. Detection rate and payload-correct
rate are then measured after each transform:

- MP3 128 kb/s encode and decode (PyAV, libmp3lame);
- resampling 48 -> 16 -> 48 kHz (soxr);
- -6 dB and +6 dB gain, in float with no clipping, plus +6 dB hard-clipped to [-1, 1];
- cropping the first 30 %;
- white noise added at 20 dB SNR (seeded).

False alarms are counted on every unmarked corpus recording (.wav/.flac/.ogg, and the audio of the
videos) and on 1000 seeded noise segments: white, pink and brown, 1-10 s at 48 kHz. The detector
score on those is the null distribution (there is no installable peer). RTF is seconds per second
of audio with one thread.

Usage:
    .venv/bin/python benchmarks/watermark.py [--out DIR] [--noise N]
Writes DIR/watermark.md (default benchmarks/results/).
"""

from __future__ import annotations

from _setup import CORPUS, ROOT  # noqa: E402,F401 - one thread per library, before NumPy loads

import argparse  # noqa: E402
import io  # noqa: E402
import time  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

RATE = 48000


def mp3_roundtrip(x: np.ndarray, sample_rate: int, *, kbps: int = 128) -> np.ndarray:
    """Mono float signal -> MP3 (libmp3lame, CBR ``kbps``) -> decoded float32."""
    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="mp3") as out:
        stream = out.add_stream("libmp3lame", rate=sample_rate)
        stream.bit_rate = kbps * 1000
        stream.layout = "mono"
        frame = av.AudioFrame.from_ndarray(np.asarray(x, np.float32)[None, :], format="flt", layout="mono")
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):
            out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    buf.seek(0)
    with av.open(buf) as inp:
        pieces = [f.to_ndarray().reshape(-1) for f in inp.decode(audio=0)]
    return np.concatenate(pieces).astype(np.float32)


def transforms(x: np.ndarray, sample_rate: int, rng: np.random.Generator) -> dict:
    """The benchmark's transforms of a mono marked signal, by name."""
    import soxr

    noise = rng.standard_normal(x.size)
    noise *= np.sqrt(np.mean(x.astype(np.float64) ** 2) / np.mean(noise ** 2) / 100.0)
    return {
        "none": x,
        "mp3 128k": mp3_roundtrip(x, sample_rate),
        "48->16->48 kHz": soxr.resample(soxr.resample(x, sample_rate, 16000), 16000, sample_rate),
        "-6 dB": x * 0.5,
        "+6 dB (float)": x * 2.0,
        "+6 dB (clipped)": np.clip(x * 2.0, -1.0, 1.0),
        "crop first 30%": x[int(0.3 * x.size):],
        "white noise 20 dB SNR": (x + noise).astype(np.float32),
    }


def colored_noise(kind: str, frames: int, rng: np.random.Generator) -> np.ndarray:
    """White, pink (1/f power) or brown (1/f^2 power) noise at 0.1 RMS."""
    spec = np.fft.rfft(rng.standard_normal(frames))
    f = np.fft.rfftfreq(frames, 1.0 / RATE)
    f[0] = f[1]
    spec *= {"white": 1.0, "pink": f ** -0.5, "brown": f ** -1.0}[kind]
    x = np.fft.irfft(spec, n=frames)
    return (0.1 * x / np.sqrt(np.mean(x ** 2))).astype(np.float32)


def _corpus_files(corpus: Path) -> list[Path]:
    return sorted(p for p in corpus.rglob("*") if p.suffix.lower() in {".wav", ".flac", ".ogg", ".mpg", ".mp4"})


def run(out_dir: Path | None = None, *, corpus: Path = CORPUS, noise_segments: int = 1000) -> dict:
    """Run every measurement; returns the numbers and writes ``out_dir/watermark.md`` when given."""
    import soxr

    from voxpost.audio import load
    from voxpost.voice import watermark as wm

    payload = wm.make_payload(profile_id="3fa2c1", when=datetime(2026, 11, 23, 14, 5, tzinfo=timezone.utc))
    hosts = [p for p in _corpus_files(corpus) if p.parent.name in {"speech", "multilingual", "noisy"}]
    rng = np.random.default_rng(1234)
    wm.detect(wm.embed(np.ones(RATE, np.float32) * 0.01 + rng.standard_normal(RATE).astype(np.float32) * 0.1,
                       RATE, payload)[0], RATE)                                    # warm-up
    results: dict[str, list[tuple[bool, bool, float]]] = {}
    snrs, embed_s, detect_s, audio_s, durations = [], 0.0, 0.0, 0.0, []
    for path in hosts:
        a = load(path)
        x = soxr.resample(a.samples.mean(axis=0), a.sample_rate, RATE).astype(np.float32)
        t0 = time.perf_counter()
        marked, snr = wm.embed(x, RATE, payload)
        t1 = time.perf_counter()
        wm.detect(marked, RATE)
        detect_s += time.perf_counter() - t1
        embed_s += t1 - t0
        audio_s += x.size / RATE
        snrs.append(snr)
        durations.append(x.size / RATE)
        for name, y in transforms(marked, RATE, rng).items():
            d = wm.detect(y, RATE)
            results.setdefault(name, []).append((d.marked, d.payload == payload, d.score))

    null_files = []
    for path in _corpus_files(corpus):
        a = load(path)
        d = wm.detect(a.samples, a.sample_rate)
        null_files.append((path.relative_to(corpus).as_posix(), d.marked, d.score))
    null_noise = []
    for i in range(noise_segments):
        kind = ("white", "pink", "brown")[i % 3]
        seconds = float(rng.uniform(1.0, 10.0))
        d = wm.detect(colored_noise(kind, int(seconds * RATE), np.random.default_rng(10_000 + i)), RATE)
        null_noise.append((d.marked, d.score))

    summary = {"hosts": len(hosts), "host_seconds": (min(durations), float(np.median(durations)), max(durations)),
               "transforms": {k: (np.mean([v[0] for v in rows]), np.mean([v[1] for v in rows]),
                                  min(v[2] for v in rows), float(np.median([v[2] for v in rows])))
                              for k, rows in results.items()},
               "snr_db": (min(snrs), float(np.median(snrs))),
               "null_files": null_files, "null_noise": null_noise,
               "rtf_embed": embed_s / audio_s, "rtf_detect": detect_s / audio_s, "threshold": wm.THRESHOLD}
    text = report(summary)
    print(text)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "watermark.md").write_text(text, encoding="utf-8")
    return summary


def report(s: dict) -> str:
    lo, med, hi = s["host_seconds"]
    lines = ["# Audio watermark (voxpost.voice.watermark)\n",
             f"{s['hosts']} hosts (corpus speech, multilingual, noisy; mono, 48 kHz; {lo:.1f}-{hi:.1f} s, "
             f"median {med:.1f} s), marked at 36 dB SNR. Threshold z >= {s['threshold']}.\n",
             "| transform | detected | payload correct | min z | median z |", "|---|---|---|---|---|"]
    for name, (det, pay, zmin, zmed) in s["transforms"].items():
        lines.append(f"| {name} | **{det:.1%}** | {pay:.1%} | {zmin:.1f} | {zmed:.1f} |")
    nf = s["null_files"]
    nn = s["null_noise"]
    fz = [z for _, _, z in nf]
    nz = [z for _, z in nn]
    lines += ["", "| false alarms (unmarked) | count | alarms | max z | median z |", "|---|---|---|---|---|",
              f"| corpus recordings (all, incl. video audio) | {len(nf)} | {sum(m for _, m, _ in nf)} | "
              f"{max(fz):.2f} | {np.median(fz):.2f} |",
              f"| white/pink/brown noise 1-10 s | {len(nn)} | {sum(m for m, _ in nn)} | {max(nz):.2f} | "
              f"{np.median(nz):.2f} |", "",
              f"Mark SNR (host over mark, whole file): min {s['snr_db'][0]:.2f} dB, median {s['snr_db'][1]:.2f} dB.  ",
              f"Speed (one thread): embed RTF {s['rtf_embed']:.4f}, detect RTF {s['rtf_detect']:.4f}.\n"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--noise", type=int, default=1000, help="number of random noise segments")
    args = parser.parse_args(argv)
    run(args.out, noise_segments=args.noise)


if __name__ == "__main__":
    main()
