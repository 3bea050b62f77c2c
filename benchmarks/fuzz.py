#!/usr/bin/env python3
"""Mutation fuzzing of the commands that read files: the error contract under damaged inputs.

Small seed recordings (WAV, BWF with bext and iXML, RF64, FLAC, AIFF, Ogg Vorbis, Ogg Opus, MPEG
audio made with PyAV, and a few corpus files when present) are damaged with a seeded generator: bit
flips, truncation, chunk sizes that lie, spliced garbage, zeroed blocks and broken ``fmt `` /
STREAMINFO fields. Each damaged file goes through one of ``info``, ``clean``, ``mark detect``,
``align``, ``diarize`` and ``transcribe`` (no model installed: it still opens the file), in turn,
in its own ``python -m voxpost`` process with a 60 s timeout and an address-space limit, and the contract is
counted: exit code 0 or 2, on 2 exactly one printable stderr line ``voxpost: error: ...``, no
traceback, no signal, no hang, no output (nor temporary file) left on error, input bytes
unchanged, peak resident memory (``ru_maxrss`` of the child).

Usage: .venv/bin/python benchmarks/fuzz.py [--mutations 1000] [--seed 7] [--jobs 2]
Writes benchmarks/results/fuzz.md and fuzz.json. ``tests/test_fuzz.py`` runs the same mutators
in-process, fewer of them.
"""

from __future__ import annotations

import _setup  # noqa: F401  (threads, sys.path, corpus location)

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
SCRIPT = "the quick brown fox jumps over the lazy dog"
#: Corpus files damaged too when the corpus is there (small ones, one per container).
CORPUS_SEEDS = ("speech/LJ001-0001.wav", "speech/jfk.flac", "multilingual/fleurs-en-000.ogg",
                "noisy/p287_001_noisy.wav", "video/grid_bbaf2n.mpg", "multispeaker/ami_debug_dev00.wav")


# -- seeds ----------------------------------------------------------------------------------------
def speechlike(sample_rate: int, seconds: float, channels: int = 1, seed: int = 0) -> np.ndarray:
    """Voiced bursts (harmonics of 110-220 Hz under a syllable envelope) in light noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(sample_rate * seconds)) / sample_rate
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sample_rate
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    env = np.clip(np.sin(2 * np.pi * 2.5 * t), 0, None) ** 2
    x = 0.2 * env * voice + 0.003 * rng.standard_normal(t.size)
    return np.tile(x, (channels, 1)).astype(np.float32)


def _rf64(wav: bytes) -> bytes:
    """voxpost's WAV (a 28-byte JUNK chunk first) turned into RF64 with its ds64 chunk."""
    assert wav[12:16] == b"JUNK"
    pos = wav.index(b"data", 36)
    data_bytes = struct.unpack_from("<I", wav, pos + 4)[0]
    block_align = struct.unpack_from("<H", wav, wav.index(b"fmt ") + 20)[0]
    out = bytearray(wav)
    out[0:8] = b"RF64" + struct.pack("<I", 0xFFFFFFFF)
    out[12:48] = b"ds64" + struct.pack("<IQQQI", 28, len(wav) - 8, data_bytes, data_bytes // block_align, 0)
    out[pos + 4:pos + 8] = struct.pack("<I", 0xFFFFFFFF)
    return bytes(out)


def _mpeg(path: Path, x: np.ndarray, sample_rate: int) -> None:
    import av

    with av.open(str(path), "w", format="mp3") as out:
        st = out.add_stream("mp3", rate=sample_rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(x[:1].astype(np.float32), format="fltp", layout="mono")
        frame.sample_rate = sample_rate
        for packet in st.encode(frame):
            out.mux(packet)
        for packet in st.encode(None):
            out.mux(packet)


def make_seeds(folder: Path, *, seconds: float = 1.5, mpeg: bool = True, corpus: Path | None = None,
               corpus_seeds: tuple[str, ...] = CORPUS_SEEDS) -> list[Path]:
    """Write the seed files into ``folder``; returns their paths."""
    from voxpost import bwf
    from voxpost.audio import Audio, save

    folder.mkdir(parents=True, exist_ok=True)
    mono16 = speechlike(16000, seconds)
    stereo48 = speechlike(48000, seconds, channels=2, seed=1)
    seeds = []

    def put(name: str, audio: Audio, subtype: str | None = None) -> None:
        save(audio, folder / name, subtype=subtype, overwrite=True)
        seeds.append(folder / name)

    put("pcm16.wav", Audio(mono16, 16000), "PCM_16")
    put("bwf24.wav", Audio(stereo48, 48000, timecode_samples=48000 * 3600,
                           metadata={"bext": bwf.Bext(description="take 1"),
                                     "ixml": "<BWFXML><TIMECODE_RATE>25/1</TIMECODE_RATE></BWFXML>"}), "PCM_24")
    put("float32.wav", Audio(stereo48[:, ::3], 16000), "FLOAT")
    rf64 = folder / "rf64.wav"
    rf64.write_bytes(_rf64((folder / "pcm16.wav").read_bytes()))
    seeds.append(rf64)
    put("flac16.flac", Audio(mono16, 16000), "PCM_16")
    put("pcm24.aiff", Audio(stereo48, 48000), "PCM_24")
    put("vorbis.ogg", Audio(stereo48, 48000))
    put("opus.opus", Audio(stereo48, 48000))
    if mpeg:
        _mpeg(folder / "mpeg.mp3", stereo48, 48000)
        seeds.append(folder / "mpeg.mp3")
    if corpus is not None and (corpus / "MANIFEST.md").is_file():
        for pattern in corpus_seeds:
            found = sorted(corpus.glob(pattern))[:1]
            for src in found:
                dst = folder / f"corpus-{src.name}"
                shutil.copyfile(src, dst)   # a scratch copy to damage, outside the repository
                seeds.append(dst)
    return seeds


# -- mutators -------------------------------------------------------------------------------------
def _riff_chunks(data: bytes) -> list[int]:
    """Offsets of the chunk headers of a RIFF/RF64 file (what a scan finds before it breaks)."""
    out, pos = [], 12
    while pos + 8 <= len(data) and len(out) < 64:
        out.append(pos)
        size = struct.unpack_from("<I", data, pos + 4)[0]
        if data[pos:pos + 4] == b"data" or size > len(data):
            break
        pos += 8 + size + (size & 1)
    return out


def bit_flips(rng: np.random.Generator, data: bytearray) -> str:
    n = int(rng.integers(1, 9))
    hot = min(len(data), 128)
    for _ in range(n):
        i = int(rng.integers(0, hot)) if rng.random() < 0.6 else int(rng.integers(0, len(data)))
        data[i] ^= 1 << int(rng.integers(0, 8))
    return f"bitflip x{n}"


def truncate(rng: np.random.Generator, data: bytearray) -> str:
    keep = int(rng.integers(1, len(data))) if rng.random() < 0.5 else int(rng.integers(1, min(len(data), 200)))
    del data[keep:]
    return f"truncate at {keep}"


def lying_size(rng: np.random.Generator, data: bytearray) -> str:
    choices = (0, 1, 7, 15, 23, 0x7FFFFFFF, 0xFFFFFFFE, 0xFFFFFFFF, len(data), len(data) * 3)
    value = int(rng.choice(choices)) if rng.random() < 0.6 else int(rng.integers(0, 1 << 32))
    if data[:4] in (b"RIFF", b"RF64"):
        offsets = _riff_chunks(bytes(data)) + [-8]       # -8: the RIFF size itself
        at = int(rng.choice(offsets)) + 4
        struct.pack_into("<I", data, at, value & 0xFFFFFFFF)
        if data[:4] == b"RF64" and rng.random() < 0.5 and len(data) >= 44:
            struct.pack_into("<Q", data, 28, (value << int(rng.integers(0, 30))) & (2**64 - 1))  # ds64 data size
        return f"size {value} at {at}"
    if data[:4] == b"fLaC" and len(data) >= 42:
        if rng.random() < 0.5:
            data[5:8] = (value & 0xFFFFFF).to_bytes(3, "big")         # STREAMINFO block length
        else:   # total samples: 36 bits at byte 21
            total = value << int(rng.integers(0, 5))
            data[21] = (data[21] & 0xF0) | ((total >> 32) & 0x0F)
            data[22:26] = (total & 0xFFFFFFFF).to_bytes(4, "big")
        return f"flac size {value}"
    if data[:4] == b"OggS" and len(data) > 27:
        pages = [i for i in range(0, len(data) - 27) if data[i:i + 4] == b"OggS"][:16]
        at = int(rng.choice(pages))
        data[at + 27 + int(rng.integers(0, max(1, data[at + 26])))] = int(rng.integers(0, 256))  # segment table
        return f"ogg lacing at {at}"
    i = int(rng.integers(0, max(1, len(data) - 4)))
    struct.pack_into("<I", data, i, value & 0xFFFFFFFF)
    return f"u32 {value} at {i}"


def splice(rng: np.random.Generator, data: bytearray) -> str:
    """Random bytes inserted, or written over what was there (garbage samples in a float file)."""
    at = int(rng.integers(0, len(data)))
    n = int(rng.integers(1, 4096))
    garbage = rng.integers(0, 256, n, dtype=np.uint8).tobytes()
    if rng.random() < 0.5:
        data[at:at] = garbage
        return f"splice {n} at {at}"
    data[at:at + n] = garbage[:len(data) - at]
    return f"overwrite {n} at {at}"


def zero_block(rng: np.random.Generator, data: bytearray) -> str:
    at = int(rng.integers(0, len(data)))
    n = int(rng.integers(1, 2048))
    data[at:at + n] = bytes(len(data[at:at + n]))
    return f"zero {n} at {at}"


def broken_header(rng: np.random.Generator, data: bytearray) -> str:
    """Break one field of the format header: WAV ``fmt ``, FLAC STREAMINFO, Ogg/other first bytes."""
    if data[:4] in (b"RIFF", b"RF64") and b"fmt " in data[:200]:
        at = data.index(b"fmt ") + 8
        field, fmt, offset = [("tag", "<H", 0), ("channels", "<H", 2), ("rate", "<I", 4), ("byte rate", "<I", 8),
                              ("block align", "<H", 12), ("bits", "<H", 14)][int(rng.integers(0, 6))]
        wide = fmt == "<I"
        values = (0, 1, 3, 7, 13, 255, 0xFFFF) + ((999, 1000, 768001, 0xFFFFFFFF, 2**31) if wide else ())
        value = int(rng.choice(values)) if rng.random() < 0.7 else int(rng.integers(0, 1 << (32 if wide else 16)))
        struct.pack_into(fmt, data, at + offset, value)
        return f"fmt {field}={value}"
    if data[:4] == b"fLaC" and len(data) >= 42:
        # STREAMINFO: rate 20 bits from byte 18, channels-1 3 bits, bits-1 5 bits
        value = int(rng.integers(0, 1 << 28))
        data[18:21] = (value >> 8).to_bytes(3, "big")
        data[21] = (data[21] & 0x0F) | ((value & 0xF) << 4)
        return f"streaminfo {value:#x}"
    i = int(rng.integers(0, min(len(data), 96)))
    data[i] = int(rng.integers(0, 256))
    return f"header byte {i}"


MUTATORS = (bit_flips, truncate, lying_size, splice, zero_block, broken_header)


def mutate(seed_bytes: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """One to three mutations of ``seed_bytes``; returns the damaged bytes and what was done."""
    data = bytearray(seed_bytes)
    done = []
    for _ in range(int(rng.choice([1, 1, 1, 2, 3]))):
        if len(data) < 2:
            break
        done.append(MUTATORS[int(rng.integers(0, len(MUTATORS)))](rng, data))
    return bytes(data), "; ".join(done)


# -- commands -------------------------------------------------------------------------------------
def command_lines(path: Path, out_dir: Path, script: Path) -> dict[str, list[str]]:
    """``voxpost`` argument lists for each reading command; outputs go to ``out_dir``."""
    return {
        "info": ["info", str(path)],
        "clean": ["clean", str(path), "-o", str(out_dir / "clean.wav"), "--report", str(out_dir / "r.json"), "-q"],
        "mark-detect": ["mark", "detect", str(path)],
        "align": ["align", str(path), "--text", str(script), "-o", str(out_dir / "words.json"), "-q"],
        "diarize": ["diarize", str(path), "-o", str(out_dir / "d.rttm"), "--backend", "embedded", "-q"],
        "transcribe": ["transcribe", str(path), "-o", str(out_dir / "t.json"), "--model",
                       str(out_dir / "no-such-model.pt"), "-q"],
    }


def contract_problems(rc: int, stderr: str, written: list[str], changed: bool) -> list[str]:
    """Ways one run broke the error contract (empty: it kept it)."""
    problems = []
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("voxpost: error:")]
    if "Traceback (most recent call last)" in stderr:
        problems.append("traceback")
    if rc < 0:
        problems.append(f"signal {-rc}")
    elif rc not in (0, 2):
        problems.append(f"exit {rc}")
    if rc == 2:
        if len(errors) != 1 or len([ln for ln in lines if not ln.startswith("voxpost: warning:")]) != 1:
            problems.append("multi-line error")
        if errors and not errors[0].isprintable():
            problems.append("unprintable error")
        if written:
            problems.append("written on error")
    if changed:
        problems.append("input changed")
    return problems


# -- the benchmark --------------------------------------------------------------------------------
_CHILD = """
import resource, subprocess, sys
limit = int(sys.argv[1])
def cap():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
try:
    p = subprocess.run(sys.argv[3:], capture_output=True, text=True, errors="replace", timeout=float(sys.argv[2]),
                       preexec_fn=cap)
    rc, err = p.returncode, p.stderr
except subprocess.TimeoutExpired as e:
    rc, err = "hang", (e.stderr or b"").decode("utf-8", "replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
import json
print(json.dumps({"rc": rc, "stderr": err[-4000:], "maxrss_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""


def run_one(case: dict, timeout_s: float, limit_bytes: int) -> dict:
    work = Path(case["dir"])
    out_dir = work / "out"
    out_dir.mkdir(exist_ok=True)
    path = Path(case["path"])
    before = path.read_bytes()
    argv = command_lines(path, out_dir, work / "script.txt")[case["command"]]
    env = dict(os.environ, PYTHONWARNINGS="ignore", OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    t = time.perf_counter()
    p = subprocess.run([sys.executable, "-c", _CHILD, str(limit_bytes), str(timeout_s), sys.executable, "-m", "voxpost",
                        *argv], capture_output=True, text=True, env=env, cwd=ROOT)
    wall = time.perf_counter() - t
    res = json.loads(p.stdout.strip().splitlines()[-1])
    written = sorted(f.name for f in out_dir.iterdir())
    changed = path.read_bytes() != before
    if res["rc"] == "hang":
        problems = ["hang"]
    else:
        problems = contract_problems(res["rc"], res["stderr"], written, changed)
        if res["rc"] == 0 and any(".part" in w for w in written):
            problems.append("temporary file left")
    if "MemoryError" in res["stderr"] or "std::bad_alloc" in res["stderr"]:
        problems.append("out of memory")
    shutil.rmtree(out_dir)
    first = next((ln for ln in res["stderr"].splitlines() if ln.strip()), "")
    tail = res["stderr"].strip().splitlines()[-1:] if problems else []
    return {**{k: case[k] for k in ("seed", "mutation", "command", "index")}, "rc": res["rc"], "wall_s": round(wall, 2),
            "peak_rss_mb": round(res["maxrss_kb"] / 1024, 1), "problems": problems, "stderr_first": first[:300],
            "stderr_last": tail[0][:300] if tail else ""}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--mutations", type=int, default=1000, help="damaged files (default 1000)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout-s", type=float, default=60.0)
    ap.add_argument("--limit-gb", type=float, default=6.0, help="address-space limit of each run (RLIMIT_AS)")
    ap.add_argument("--commands", default="info,clean,mark-detect,align,diarize,transcribe")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args()
    commands = args.commands.split(",")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="voxpost-fuzz-"))
    seeds = make_seeds(work / "seeds", corpus=_setup.CORPUS)
    rng = np.random.default_rng(args.seed)
    cases = []
    for i in range(args.mutations):
        seed = seeds[i % len(seeds)]
        data, what = mutate(seed.read_bytes(), rng)
        d = work / f"m{i:05d}"
        d.mkdir(parents=True, exist_ok=True)
        (d / "script.txt").write_text(SCRIPT)
        path = d / f"in{seed.suffix}"
        path.write_bytes(data)
        # one command per damaged file; the command changes after each pass over the seeds, so
        # every command meets every seed
        command = commands[(i // len(seeds)) % len(commands)]
        cases.append({"dir": str(d), "path": str(path), "seed": seed.name, "mutation": what, "command": command,
                      "index": i})
    t0 = time.perf_counter()
    limit = int(args.limit_gb * 2**30)
    rows = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for n, row in enumerate(pool.map(lambda c: run_one(c, args.timeout_s, limit), cases), 1):
            rows.append(row)
            if row["problems"]:
                print(f"[{n}/{len(cases)}] {row['command']} {row['seed']} ({row['mutation']}): {row['problems']} "
                      f"{row['stderr_last']}", flush=True)
            elif n % 100 == 0:
                print(f"[{n}/{len(cases)}] {time.perf_counter() - t0:.0f} s", flush=True)
    summary = summarize(rows, args, time.perf_counter() - t0, [s.name for s in seeds])
    write_results(summary, rows)
    print(json.dumps(summary["totals"], indent=2))
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def summarize(rows: list[dict], args: argparse.Namespace, wall_s: float, seeds: list[str]) -> dict:
    kinds = Counter(p.split(" ")[0] if p.startswith("signal") else p for r in rows for p in r["problems"])
    per_cmd = {}
    for c in sorted({r["command"] for r in rows}):
        sel = [r for r in rows if r["command"] == c]
        per_cmd[c] = {"runs": len(sel), "exit_0": sum(r["rc"] == 0 for r in sel), "exit_2": sum(r["rc"] == 2 for r in sel),
                      "broken": sum(bool(r["problems"]) for r in sel),
                      "max_peak_rss_mb": max(r["peak_rss_mb"] for r in sel),
                      "max_wall_s": max(r["wall_s"] for r in sel)}
    totals = {"mutations": args.mutations, "runs": len(rows), "seed": args.seed,
              "tracebacks": kinds.get("traceback", 0), "crashes": kinds.get("signal", 0) + kinds.get("out of memory", 0),
              "hangs": kinds.get("hang", 0), "multi_line_errors": kinds.get("multi-line error", 0),
              "unprintable_errors": kinds.get("unprintable error", 0),
              "written_on_error": kinds.get("written on error", 0), "inputs_changed": kinds.get("input changed", 0),
              "other_exit_codes": sum(v for k, v in kinds.items() if k.startswith("exit")),
              "max_peak_rss_mb": max(r["peak_rss_mb"] for r in rows), "wall_s": round(wall_s)}
    return {"totals": totals, "per_command": per_cmd, "seeds": seeds, "timeout_s": args.timeout_s,
            "limit_gb": args.limit_gb, "broken": [r for r in rows if r["problems"]]}


def write_results(summary: dict, rows: list[dict]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "fuzz.json").write_text(json.dumps(summary, indent=1) + "\n")
    t = summary["totals"]
    md = ["# Mutation fuzzing of the reading commands", "",
          f"`benchmarks/fuzz.py --mutations {t['mutations']} --seed {t['seed']}`: {t['runs']} runs, each "
          f"`python -m voxpost` in its own process ({summary['timeout_s']:g} s timeout, "
          f"RLIMIT_AS {summary['limit_gb']:g} GB), {t['wall_s']} s on this machine.",
          f"Seeds: {', '.join(summary['seeds'])}.", "",
          "| measure | count |", "|---|---|"]
    md += [f"| {k.replace('_', ' ')} | {v} |" for k, v in t.items() if k not in ("mutations", "runs", "seed", "wall_s")]
    md += ["", "| command | runs | exit 0 | exit 2 | broken | max peak RSS (MB) | max wall (s) |", "|---|---|---|---|---|---|---|"]
    md += [f"| {c} | {v['runs']} | {v['exit_0']} | {v['exit_2']} | {v['broken']} | {v['max_peak_rss_mb']} | "
           f"{v['max_wall_s']} |" for c, v in summary["per_command"].items()]
    if summary["broken"]:
        md += ["", "## Runs that broke the contract", ""]
        md += [f"- {r['command']} on {r['seed']} ({r['mutation']}): {', '.join(r['problems'])}: `{r['stderr_last']}`"
               for r in summary["broken"][:50]]
    (RESULTS / "fuzz.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    sys.exit(main())
