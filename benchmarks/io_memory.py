#!/usr/bin/env python3
"""Peak memory and speed of ``voxpost process`` on a long multichannel reel, with peers in the same run.

Writes a seeded 48 kHz, 6-channel, 24-bit BWF of ``--minutes`` (default 90: 4.7 GB, so RF64),
then runs, each in its own process with its peak resident memory (ru_maxrss) measured:

- ``voxpost process --preset dialogue-prep`` (DC removal + 4th-order 80 Hz high-pass, streamed);
- pedalboard (Spotify): ``AudioFile`` read in chunks, ``HighpassFilter(80)``, streamed write;
- the whole-file script most people write: ``soundfile.read`` -> ``scipy.signal.sosfilt`` ->
  ``soundfile.write``; run on a ``--peer-minutes`` excerpt because the 90-minute reel needs
  about 20 GB that way.

Usage: .venv/bin/python benchmarks/io_memory.py [--minutes 90] [--workdir /tmp/voxpost-bench]
Needs: pip install pedalboard (optional peer; skipped when absent).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RATE, CHANNELS = 48000, 6

_MEASURE = """
import resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:]).returncode
print(rc, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""

_PEDALBOARD = """
import sys
from pedalboard import HighpassFilter, Pedalboard
from pedalboard.io import AudioFile
board = Pedalboard([HighpassFilter(cutoff_frequency_hz=80)])
with AudioFile(sys.argv[1]) as f, AudioFile(sys.argv[2], "w", f.samplerate, f.num_channels, bit_depth=24) as o:
    while f.tell() < f.frames:
        o.write(board(f.read(65536), f.samplerate, reset=False))
"""

_WHOLE_FILE = """
import sys, soundfile as sf
from scipy import signal
x, sr = sf.read(sys.argv[1], dtype="float32")
sos = signal.butter(4, 80, "highpass", fs=sr, output="sos")
sf.write(sys.argv[2], signal.sosfilt(sos, x, axis=0).astype("float32"), sr, subtype="PCM_24")
"""


def make_reel(path: Path, minutes: float, seed: int = 0, channels: int = CHANNELS) -> None:
    from voxpost.writer import AudioWriter

    rng = np.random.default_rng(seed)
    frames, block = int(minutes * 60 * RATE), RATE * 10
    with AudioWriter(path, sample_rate=RATE, channels=channels, subtype="PCM_24", overwrite=True) as w:
        for start in range(0, frames, block):
            n = min(block, frames - start)
            w.write((rng.standard_normal((channels, n), np.float32) * 0.05 + 0.01).astype(np.float32))


def measure(cmd: list[str]) -> dict:
    out = subprocess.run([sys.executable, "-c", _MEASURE, *cmd], capture_output=True, text=True)
    rc, seconds, maxrss_kb = out.stdout.split()[-3:]
    if int(rc) != 0:
        raise SystemExit(f"benchmark command failed: {' '.join(cmd)}\n{out.stderr}")
    return {"seconds": round(float(seconds), 1), "peak_rss_mb": round(int(maxrss_kb) / 1024)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=90.0)
    ap.add_argument("--peer-minutes", type=float, default=10.0)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/voxpost-bench"))
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    voxpost = [str(Path(sys.executable).with_name("voxpost")), "--quiet"]
    results = []
    for minutes in sorted({args.peer_minutes, args.minutes}):
        reel = args.workdir / f"reel-{minutes:g}min.wav"
        if not reel.exists():
            t = time.perf_counter()
            make_reel(reel, minutes)
            print(f"wrote {reel} ({reel.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        audio_s = minutes * 60
        runs = [("voxpost process (dialogue-prep)", voxpost + ["process", str(reel), "-o", "{out}", "--preset",
                                                                 "dialogue-prep", "--force"])]
        try:
            import pedalboard  # noqa: F401
            runs.append(("pedalboard AudioFile + HighpassFilter", [sys.executable, "-c", _PEDALBOARD, str(reel), "{out}"]))
        except ImportError:
            print("pedalboard not installed: peer skipped", file=sys.stderr)
        if minutes <= args.peer_minutes:
            runs.append(("soundfile.read + scipy sosfilt (whole file)", [sys.executable, "-c", _WHOLE_FILE, str(reel), "{out}"]))
        for name, cmd in runs:
            out = args.workdir / "out.wav"
            r = measure([c.replace("{out}", str(out)) for c in cmd])
            out.unlink(missing_ok=True)
            r.update(tool=name, minutes=minutes, channels=CHANNELS, sample_rate=RATE,
                     rtf=round(r["seconds"] / audio_s, 4))
            print(json.dumps(r), file=sys.stderr)
            results.append(r)
    (ROOT / "benchmarks" / "results").mkdir(exist_ok=True)
    (ROOT / "benchmarks" / "results" / "io_memory.json").write_text(json.dumps(results, indent=2) + "\n")
    print("| reel | tool | peak memory | wall time | real-time factor |\n|---|---|---|---|---|")
    for r in results:
        print(f"| {r['minutes']:g} min, {RATE // 1000} kHz, {CHANNELS} ch, 24-bit | {r['tool']} | "
              f"{r['peak_rss_mb']} MB | {r['seconds']} s | {r['rtf']} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
