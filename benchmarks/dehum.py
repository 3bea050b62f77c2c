#!/usr/bin/env python3
"""De-hum benchmark: how much of a drifting mains hum ``DeHum`` removes under real speech.

The set (deterministic, rebuilt identically on every run): every LJSpeech file in ``speech/`` at
its own rate (22.05 kHz), LJ001-0001 also resampled to 48 kHz, and ``jfk.flac`` (channel mean,
44.1 kHz; it carries its own 60 Hz mains hum, see below). To each clean file a hum is added: harmonics 1-4 at relative amplitudes 1, .5, .3, .2,
the fundamental ramping linearly from ``f0 - 0.3`` to ``f0 + 0.3`` Hz over the file (the test's
``_hum``), at -20 and -30 dB RMS relative to the speech RMS, f0 = 50 and 60 Hz.

Both modes of the stage are measured: ``offline`` (the default, two-pass) and ``short_term`` (live,
causal). Metrics, per condition:

- **hum removed** (dB) = ``10 log10(sum hum^2 / sum (out - clean)^2)``, on the hum component itself
  (``out - clean`` is the hum left plus whatever the stage did to the speech), rendered with
  ``Chain.render`` (latency compensated) and counted after the stage's warm-up (``detect_ms``: the
  stage passes its first second through untouched while it decides);
- **jfk** has hum of its own: lines at 60, 120 and 180 Hz stand 23, 28 and 19 dB over the spectrum
  around them, about -32 dB relative to the speech, as much as the -30 dB hum added. ``out - clean``
  then counts the removal of that hum as error (and at 60 Hz two hums 0.3 Hz apart beat), so jfk is
  not a clean reference: it is shown, but kept out of the mean, the worst case and the no-hum check,
  where what the stage detects on it alone is reported instead;
- **no hum**: the clean files alone, largest absolute difference between output and input (the
  stage must pass them through bit-exactly) and whether it reported ``hum_hz: None``;
- **RTF**: processing seconds per audio second, one thread, 48 kHz mono, 60 s of LJ001-0001 with
  -20 dB of 50 Hz hum (best of 3, whole file and 10 ms blocks; offline includes its first pass).

Usage: .venv/bin/python benchmarks/dehum.py [--out DIR]
Writes DIR/dehum.md and DIR/dehum.json (default benchmarks/results).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from pathlib import Path

import _setup  # noqa: F401  (threads, sys.path, corpus location)
import numpy as np
from _setup import CORPUS, ROOT
from _timing import best_of_s

from voxpost.audio import Audio, load, resample
from voxpost.clean.dehum import DeHum
from voxpost.stage import Chain

LEVELS_DB = (-20.0, -30.0)
MAINS_HZ = (50.0, 60.0)
DRIFT_HZ = 0.3
#: Target of the issue: hum removed under real speech, every condition.
TARGET_DB = 30.0
MODES = ("offline", "short_term")
#: Files with hum of their own (not clean references; see the module docstring).
OWN_HUM = ("jfk",)


def drifting_hum(frames: int, sample_rate: int, f0: float, level_rms: float, drift: float = DRIFT_HZ) -> np.ndarray:
    """Harmonics 1-4 (1, .5, .3, .2), fundamental ramping ``f0 - drift -> f0 + drift``, RMS ``level_rms``."""
    t = np.arange(frames) / sample_rate
    f = f0 + drift * (2 * t / max(t[-1], 1e-9) - 1)
    ph = 2 * np.pi * np.cumsum(f) / sample_rate
    hum = sum(r * np.sin(k * ph + 0.7 * k) for k, r in zip((1, 2, 3, 4), (1, .5, .3, .2)))
    return hum * level_rms / np.sqrt(np.mean(hum ** 2))


def speech_set(corpus: Path) -> list[tuple[str, np.ndarray, int]]:
    """``(name, mono float64 samples, rate)`` of every clean recording of the set."""
    out = []
    for path in sorted((corpus / "speech").glob("LJ*.wav")):
        a = load(path)
        out.append((path.stem, a.samples.mean(axis=0).astype(np.float64), a.sample_rate))
        if path.stem == "LJ001-0001":
            b = resample(a, 48000)
            out.append((f"{path.stem}@48k", b.samples.mean(axis=0).astype(np.float64), 48000))
    jfk = corpus / "speech" / "jfk.flac"
    if jfk.is_file():
        a = load(jfk)
        out.append(("jfk", a.samples.mean(axis=0).astype(np.float64), a.sample_rate))
    return out


def render(x: np.ndarray, sample_rate: int, **params) -> tuple[np.ndarray, dict]:
    stage = DeHum(**params)
    y = Chain([stage]).render(Audio(np.atleast_2d(x).astype(np.float32), sample_rate)).samples[0]
    return y.astype(np.float64), stage.report()


def hum_removed_db(clean: np.ndarray, sample_rate: int, f0: float, level_db: float, mode: str = "offline"
                   ) -> tuple[float, dict]:
    hum = drifting_hum(clean.size, sample_rate, f0, 10 ** (level_db / 20) * np.sqrt(np.mean(clean ** 2)))
    x = (clean + hum).astype(np.float32).astype(np.float64)  # what the stage really sees
    out, report = render(x, sample_rate, mode=mode)
    skip = round(DeHum().detect_ms * 1e-3 * sample_rate)
    left = out[skip:] - clean[skip:]
    return float(10 * np.log10(np.sum(hum[skip:] ** 2) / max(np.sum(left ** 2), 1e-30))), report


def rtf(corpus: Path, mode: str = "offline") -> dict[str, float]:
    a = resample(load(corpus / "speech" / "LJ001-0001.wav"), 48000)
    x = np.tile(a.samples[0].astype(np.float64), int(np.ceil(60 * 48000 / a.frames)))[:60 * 48000]
    x = x + drifting_hum(x.size, 48000, 50.0, 0.1 * np.sqrt(np.mean(x ** 2)))
    audio = Audio(x[None].astype(np.float32), 48000)
    render(x[:48000 * 2], 48000, mode=mode)  # compile
    whole = best_of_s(lambda: Chain([DeHum(mode=mode)]).render(audio), 3)
    blocks = best_of_s(lambda: Chain([DeHum(mode=mode)]).render(audio, block_frames=480), 3)
    return {"whole_file": whole / 60.0, "blocks_10ms": blocks / 60.0}


def table(rows: list[dict]) -> tuple[list[str], float]:
    lines = ["| file | rate | " + " | ".join(f"{f:.0f} Hz {lv:.0f} dB" for f in MAINS_HZ for lv in LEVELS_DB) + " |",
             "|---|---|" + "---|" * (len(MAINS_HZ) * len(LEVELS_DB))]
    for name in dict.fromkeys(r["file"] for r in rows):
        mine = [r for r in rows if r["file"] == name]
        cells = [f"{next(r['removed_db'] for r in mine if r['mains_hz'] == f and r['level_db'] == lv):.1f}"
                 for f in MAINS_HZ for lv in LEVELS_DB]
        label = f"{name} (own hum: not counted)" if name in OWN_HUM else name
        lines.append(f"| {label} | {mine[0]['rate']} | " + " | ".join(cells) + " |")
    counted = [r for r in rows if r["file"] not in OWN_HUM]
    means = [np.mean([r["removed_db"] for r in counted if r["mains_hz"] == f and r["level_db"] == lv])
             for f in MAINS_HZ for lv in LEVELS_DB]
    worst = [min(r["removed_db"] for r in counted if r["mains_hz"] == f and r["level_db"] == lv)
             for f in MAINS_HZ for lv in LEVELS_DB]
    lines += ["| **mean** | | " + " | ".join(f"**{m:.1f}**" for m in means) + " |",
              "| **worst** | | " + " | ".join(f"**{m:.1f}**" for m in worst) + " |"]
    return lines, min(worst)


def markdown(rows: list[dict], nohum: list[dict], speed: dict, meta: dict) -> str:
    lines = [(f"De-hum benchmark: hum removed under real speech (hum harmonics 1-4, drifting +-{DRIFT_HZ} Hz over "
             f"each file), counted after the first {meta['warmup_ms']:.0f} ms (the live mode's warm-up). Target: "
             f">= {TARGET_DB:.0f} dB everywhere. jfk has a 60 Hz hum of its own (about -32 dB; see "
             "benchmarks/dehum.py), so it is shown but not counted."), ""]
    worst = {}
    for mode in MODES:
        lines += [f"**{mode}**" + (" (default, two-pass)" if mode == "offline" else " (live, causal)"), ""]
        body, worst[mode] = table([r for r in rows if r["mode"] == mode])
        lines += body + [""]
    for mode in MODES:
        mine = [r for r in nohum if r["mode"] == mode]
        lines += [f"No hum, {mode} (clean files alone): " + ", ".join(
            f"{r['file']} max |out - in| = {r['max_abs_diff']:.1e}, hum_hz {r['hum_hz']}"
            for r in mine if r["file"] not in OWN_HUM) + "; jfk alone (its own hum): " + ", ".join(
            f"hum_hz {r['hum_hz']}, max |out - in| = {r['max_abs_diff']:.1e}" for r in mine if r["file"] in OWN_HUM)
            + ".", ""]
    for mode in MODES:
        lines += [(f"RTF {mode} at 48 kHz mono, one thread (60 s): whole file {speed[mode]['whole_file']:.4f}, "
                   f"10 ms blocks {speed[mode]['blocks_10ms']:.4f}.")]
    lines += ["", f"Latency: {meta['latency_samples']} samples (both modes).", ""]
    lines += [f"Target met ({mode}): {'yes' if worst[mode] >= TARGET_DB else 'no'} (worst counted condition "
              f"{worst[mode]:.1f} dB)." for mode in MODES]
    lines += ["", f"Machine: {meta['machine']}; Python {meta['python']}."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()
    if not (CORPUS / "speech").is_dir():
        print(f"corpus not found at {CORPUS}", file=sys.stderr)
        return 2
    files = speech_set(CORPUS)
    rows, nohum = [], []
    for mode in MODES:
        for name, clean, fs in files:
            for f0 in MAINS_HZ:
                for lv in LEVELS_DB:
                    removed, report = hum_removed_db(clean, fs, f0, lv, mode)
                    rows.append({"mode": mode, "file": name, "rate": fs, "mains_hz": f0, "level_db": lv,
                                 "removed_db": round(removed, 2), "hum_hz": report["hum_hz"]})
                    print(f"{mode:>10} {name:>16} {fs} {f0:.0f} Hz {lv:.0f} dB: {removed:6.1f} dB removed", flush=True)
            x32 = clean.astype(np.float32)
            out, report = render(x32.astype(np.float64), fs, mode=mode)
            nohum.append({"mode": mode, "file": name, "max_abs_diff": float(np.max(np.abs(out.astype(np.float32) - x32))),
                          "hum_hz": report["hum_hz"]})
    speed = {mode: rtf(CORPUS, mode) for mode in MODES}
    st = DeHum()
    st.prepare(48000, 1)
    meta = {"warmup_ms": st.detect_ms, "latency_samples": st.latency_samples, "python": platform.python_version(),
            "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "target_db": TARGET_DB}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "dehum.json").write_text(json.dumps({"meta": meta, "rows": rows, "no_hum": nohum, "rtf": speed},
                                                    indent=1) + "\n")
    (args.out / "dehum.md").write_text(markdown(rows, nohum, speed, meta))
    print(markdown(rows, nohum, speed, meta))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
