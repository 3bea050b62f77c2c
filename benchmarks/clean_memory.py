#!/usr/bin/env python3
"""Peak memory and speed of the full ``voxpost clean --preset period-dialogue`` on long reels.

The chain (DC block, high-pass, de-clip, de-click, denoise, two-pass integrated loudness with
true-peak limiting) on seeded 48 kHz mono 24-bit reels of several lengths, each run in its own
process with its peak resident memory (ru_maxrss). Flat memory means the same peak for every
length. ``--report`` is on, so the streamed loudness measurement of input and output is included.

Usage: .venv/bin/python benchmarks/clean_memory.py [--minutes 5 30 90] [--workdir /tmp/voxpost-bench]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from io_memory import make_reel, measure  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[5.0, 30.0])
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/voxpost-bench"))
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    voxpost = [str(Path(sys.executable).with_name("voxpost")), "--quiet"]
    rows = []
    for minutes in sorted(args.minutes):
        reel = args.workdir / f"mono-{minutes:g}min.wav"
        if not reel.exists():
            make_reel(reel, minutes, channels=1)
        out, rep = args.workdir / f"mono-{minutes:g}min.clean.wav", args.workdir / "clean-report.json"
        m = measure([*voxpost, "clean", str(reel), "-o", str(out), "--preset", "period-dialogue",
                     "--report", str(rep), "--force"])
        report = json.loads(rep.read_text())
        row = {"minutes": minutes, **m, "rtf_wall": round(m["seconds"] / (minutes * 60), 4),
               "lufs_out": report["lufs_out"], "true_peak_dbtp_out": report["true_peak_dbtp_out"]}
        rows.append(row)
        print(json.dumps(row), flush=True)
    res = ROOT / "benchmarks" / "results"
    res.mkdir(exist_ok=True)
    (res / "clean_memory.json").write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
