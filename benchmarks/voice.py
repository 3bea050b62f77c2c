#!/usr/bin/env python3
"""Voice benchmark: conversion toward corpus speakers, TTS durations, and the watermark.

Conversion
    Speakers with clean single-speaker material in the corpus: the LJ Speech reader (5 files),
    JFK (one 11 s file), VoiceBank p287 (3 clean files), and the two speakers of
    ``multispeaker/pyannote_sample`` (their RTTM turns, overlaps removed). Each speaker's
    *reference* is all of that speaker's speech (VAD); its voice statistics are what a profile
    stores (:func:`voxpost.voice.vocoder.voice_stats`). JFK and p287 have under 10 s of speech:
    ``voice enroll`` would refuse them, so their statistics are taken directly (the 10 s rule is
    the product's policy and is tested separately).

    Speaker identification (the measure): a Gaussian speaker model, full covariance (variance
    floored at 1% of the mean variance) over 19 MFCCs (c1..c19 of 30 mel bands over 100-3800 Hz,
    25 ms / 10 ms, 16 kHz, speech frames = within 25 dB of the file's loudest), fitted on each
    speaker's reference; an utterance is identified as the speaker whose model gives its frames
    the highest mean log-likelihood. The band is what every speaker's recording holds (the
    pyannote sample is telephone band: with the full band its empty upper mel bands make the
    covariance degenerate and even an unmodified resynthesis is misidentified). No cepstral mean
    normalisation, so the models hold both voice and recording channel. The "originals" line
    gives how often it identifies the unconverted utterances' own speaker.

    Trials: every source utterance (3-10 s pieces of each speaker's material) converted toward
    every other speaker. Reported: identified as the target (%), identified as the source (%),
    F0 median error to the target's median (YIN, voiced frames), and for sources with a
    transcript (LJ, JFK) the word-start shift of the script alignment between the original and
    the converted utterance (intelligibility kept = the aligner still finds the words where they
    were). RTF is conversion time over audio time on one thread.
    Peer in the same run: a pitch shift to the target's median F0 (librosa.effects.pitch_shift),
    which moves F0 but not the voice's timbre.

Speed
    Live conversion: ``VoiceConvert`` (target JFK, source LJ, -2 semitones) prepared at 48 kHz mono,
    LJ001-0002 resampled to 48 kHz fed through ``process`` in 10 ms blocks (480 frames); RTF = wall
    time of the blocks / audio duration (must stay well under 1 to keep up live). Time-stretch:
    ``voice.stretch.time_stretch`` at ratio 1.1 on LJ001-0001 (22.05 kHz mono) and on the same
    signal as 44.1 kHz stereo, after a 1 s warm-up, best of 3 (1 with --quick).

TTS duration
    Ten sentences at targets from 0.7x to 1.4x their natural length: error of the final file
    (frames) and of the rate search alone (before the stretch), and the stretch it left.

Watermark
    ``benchmarks/watermark.py`` (transforms, false alarms, SNR) is run and its table included.

Usage:
    .venv/bin/python benchmarks/voice.py [--out DIR] [--quick]
Writes DIR/voice.md (default benchmarks/results/).
"""

from __future__ import annotations

from _setup import CORPUS, ROOT  # noqa: E402,F401 - one thread per library, before NumPy loads

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from _timing import best_of_s  # noqa: E402

RATE = 16000
#: Speaker-ID band: what every corpus speaker's recording holds (the pyannote sample is telephone band).
ID_FMAX_HZ = 3800
#: Frames within this many dB of the loudest are speech frames for speaker ID.
ID_GATE_DB = 25

SENTENCES = [
    "Meet me at the station before the last train leaves.",
    "Nobody saw me, and I told nobody.",
    "The fishermen had pulled their boats high on the shingle.",
    "Tell the captain the lights are out again.",
    "I waited by the harbour until the lamps went out.",
    "Where were you on the night of the storm?",
    "Get down!",
    "If you see her, tell her I kept my promise, whatever they say about me now.",
    "Three hundred and twelve francs, not a centime more.",
    "We leave at dawn.",
]


# -- material -------------------------------------------------------------------------------------
def _load16(path: Path) -> np.ndarray:
    from voxpost.audio import load, resample

    a = load(path)
    mono = a.with_samples(a.samples.mean(axis=0, keepdims=True))
    return resample(mono, RATE).samples[0]


def _single_speaker_turns(rttm: Path) -> dict[str, list[tuple[float, float]]]:
    turns = []
    for line in rttm.read_text().splitlines():
        p = line.split()
        if p and p[0] == "SPEAKER":
            turns.append((float(p[3]), float(p[3]) + float(p[4]), p[7]))
    edges = sorted({t for s, e, _ in turns for t in (s, e)})
    out: dict[str, list[tuple[float, float]]] = {}
    for a, b in zip(edges[:-1], edges[1:]):
        active = {spk for s, e, spk in turns if s < b and e > a}
        if len(active) == 1 and b - a > 0.05:
            out.setdefault(active.pop(), []).append((a, b))
    return out


def speakers() -> dict[str, dict]:
    """name -> {"reference": 16 kHz speech, "utterances": [(samples, text or None)]}."""
    sp: dict[str, dict] = {}
    lj = [CORPUS / f"speech/LJ001-000{i}.wav" for i in range(1, 6)]
    sp["LJ"] = {"files": lj, "utterances": [(_load16(f), f.with_suffix(".txt").read_text().strip()) for f in lj]}
    jfk = _load16(CORPUS / "speech/jfk.flac")
    sp["JFK"] = {"utterances": [(jfk, (CORPUS / "speech/jfk.txt").read_text().strip())]}
    p287 = [CORPUS / f"noisy/p287_00{i}_clean.wav" for i in (1, 2, 3)]
    sp["p287"] = {"utterances": [(_load16(f), None) for f in p287]}
    x = _load16(CORPUS / "multispeaker/pyannote_sample.wav")
    for spk, regions in _single_speaker_turns(CORPUS / "multispeaker/pyannote_sample.rttm").items():
        pieces = [x[int(a * RATE):int(b * RATE)] for a, b in regions]
        whole = np.concatenate(pieces)
        n = max(1, int(whole.size / RATE // 4))        # ~4 s utterances
        sp[f"sample-{spk}"] = {"utterances": [(u, None) for u in np.array_split(whole, n)]}
    for v in sp.values():
        v["reference"] = np.concatenate([u for u, _ in v["utterances"]])
    return sp


# -- speaker identification -----------------------------------------------------------------------
def _mfcc(x: np.ndarray) -> np.ndarray:
    import librosa

    m = librosa.feature.mfcc(y=x.astype(np.float32), sr=RATE, n_mfcc=20, n_fft=512, win_length=400,
                             hop_length=160, n_mels=30, fmin=100, fmax=ID_FMAX_HZ)
    e = librosa.feature.rms(y=x, frame_length=400, hop_length=160)[0]
    n = min(m.shape[1], e.size)
    keep = 20 * np.log10(e[:n] + 1e-9) > 20 * np.log10(e.max() + 1e-9) - ID_GATE_DB
    return m[1:, :n][:, keep].T


class SpeakerModel:
    def __init__(self, x: np.ndarray) -> None:
        f = _mfcc(x)
        self.mean = f.mean(0)
        cov = np.cov(f, rowvar=False)
        cov += 0.01 * np.trace(cov) / len(cov) * np.eye(len(cov))     # variance floor
        self.inv = np.linalg.inv(cov)
        self.logdet = np.linalg.slogdet(cov)[1]

    def score(self, f: np.ndarray) -> float:
        d = f - self.mean
        return float(-0.5 * (np.einsum("ij,jk,ik->i", d, self.inv, d).mean() + self.logdet))


def identify(models: dict[str, SpeakerModel], x: np.ndarray) -> str:
    f = _mfcc(x)
    return max(models, key=lambda k: models[k].score(f))


def _f0_median(x: np.ndarray) -> float:
    from voxpost.voice.vocoder import voice_stats

    return float(voice_stats(x, RATE)["f0"]["median_hz"])


def _word_shift_ms(orig: np.ndarray, conv: np.ndarray, text: str) -> float:
    from voxpost.speech.align import align

    a = align(orig, RATE, text, language="en")["words"]
    b = align(conv, RATE, text, language="en")["words"]
    return float(np.median([abs(u["start"] - v["start"]) * 1000 for u, v in zip(a, b)]))


def conversion(quick: bool = False) -> dict:
    import librosa

    from voxpost.voice.convert import convert
    from voxpost.voice.vocoder import voice_stats

    sp = speakers()
    names = list(sp)
    stats = {k: voice_stats(v["reference"], RATE) for k, v in sp.items()}
    models = {k: SpeakerModel(v["reference"]) for k, v in sp.items()}
    originals = [(k, identify(models, u) == k) for k in names for u, _ in sp[k]["utterances"]]
    convert(sp["LJ"]["utterances"][1][0], RATE, stats["JFK"])          # warm-up (Numba compile)
    rows, peer_rows = [], []
    conv_time = audio_time = 0.0
    for src in names:
        utts = sp[src]["utterances"][:2] if quick else sp[src]["utterances"]
        for u, text in utts:
            for tgt in names:
                if tgt == src:
                    continue
                t0 = time.perf_counter()
                y = np.asarray(convert(u, RATE, stats[tgt]), np.float32)
                conv_time += time.perf_counter() - t0
                audio_time += u.size / RATE
                who = identify(models, y)
                f0_t = stats[tgt]["f0"]["median_hz"]
                row = {"src": src, "tgt": tgt, "as_target": who == tgt, "as_source": who == src,
                       "f0_err": abs(_f0_median(y) - f0_t) / f0_t, "len_ok": y.size == u.size}
                if text and not quick:
                    row["shift_ms"] = _word_shift_ms(u, y, text)
                rows.append(row)
                steps = 12 * np.log2(f0_t / max(stats[src]["f0"]["median_hz"], 1.0))
                z = librosa.effects.pitch_shift(u, sr=RATE, n_steps=float(steps))
                pw = identify(models, z)
                peer_rows.append({"as_target": pw == tgt, "as_source": pw == src,
                                  "f0_err": abs(_f0_median(z) - f0_t) / f0_t})
    return {"speakers": {k: {"reference_s": round(v["reference"].size / RATE, 1),
                             "f0_median_hz": round(stats[k]["f0"]["median_hz"], 1),
                             "utterances": len(v["utterances"])} for k, v in sp.items()},
            "originals_correct": float(np.mean([ok for _, ok in originals])),
            "rows": rows, "peer": peer_rows, "rtf": conv_time / audio_time}


# -- speed ------------------------------------------------------------------------------------------
def speed(quick: bool = False) -> dict:
    """Live conversion in 10 ms blocks and time-stretch RTF (see the module docstring)."""
    import scipy.signal
    import soundfile as sf

    from voxpost.voice.convert import VoiceConvert
    from voxpost.voice.stretch import time_stretch
    from voxpost.voice.vocoder import voice_stats

    def mono(name: str) -> tuple[np.ndarray, int]:
        x, sr = sf.read(str(CORPUS / "speech" / name), dtype="float32", always_2d=True)
        return np.ascontiguousarray(x.mean(axis=1)), sr

    reps = 1 if quick else 3
    (lj2, sr), (jfk, sr_jfk), (lj1, sr1) = mono("LJ001-0002.wav"), mono("jfk.flac"), mono("LJ001-0001.wav")
    x48 = scipy.signal.resample_poly(lj2, 48000, sr).astype(np.float32)[None, :]
    stage = VoiceConvert(target=voice_stats(jfk, sr_jfk), source=voice_stats(lj2, sr), pitch_shift_semitones=-2.0)

    def live():
        stage.prepare(48000, 1)
        for i in range(0, x48.shape[1], 480):
            stage.process(x48[:, i:i + 480])

    live()                                                              # warm-up (Numba compile)
    out = {"live_rtf": best_of_s(live, reps) / (x48.shape[1] / 48000)}
    time_stretch(lj1[:sr1], sr1, ratio=1.1)                             # compile / load the cache
    stereo = np.stack([np.repeat(lj1, 2)] * 2)
    out["stretch_mono_rtf"] = best_of_s(lambda: time_stretch(lj1, sr1, ratio=1.1), reps) / (lj1.size / sr1)
    out["stretch_stereo_rtf"] = best_of_s(lambda: time_stretch(stereo, 2 * sr1, ratio=1.1), reps) / (lj1.size / sr1)
    return out


# -- TTS duration -----------------------------------------------------------------------------------
def tts_durations() -> dict:
    from voxpost.voice.tts import speak

    final, rate_only, stretch = [], [], []
    for s in SENTENCES:
        natural = speak(s).audio.duration_s
        for k in (0.7, 0.85, 1.0, 1.2, 1.4):
            target = round(natural * k, 3)
            line = speak(s, duration_s=target)
            final.append(abs(line.audio.duration_s - target) / target)
            rate_only.append(abs(1 / line.stretch_ratio - 1))
            stretch.append(line.stretch_ratio)
    return {"n": len(final), "final_max_pct": 100 * max(final), "rate_only_median_pct": 100 * float(np.median(rate_only)),
            "rate_only_max_pct": 100 * max(rate_only), "stretch_range": (min(stretch), max(stretch))}


# -- report -----------------------------------------------------------------------------------------
def _pct(xs) -> str:
    return f"{100 * float(np.mean(xs)):.0f}%"


def markdown(conv: dict, spd: dict, tts: dict, wm_table: str | None) -> str:
    rows, peer = conv["rows"], conv["peer"]
    lines = ["# Voice benchmark", "",
             "Produced by `benchmarks/voice.py` (one thread). Method in the script's docstring.", "",
             "## Conversion (embedded vocoder) toward corpus speakers", "",
             "| speaker | reference s | F0 median Hz | utterances |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['reference_s']} | {v['f0_median_hz']} | {v['utterances']} |"
              for k, v in conv["speakers"].items()]
    shifts = [r["shift_ms"] for r in rows if "shift_ms" in r]
    lines += ["", f"Speaker-ID check on the unconverted utterances: {100 * conv['originals_correct']:.0f}% "
              "identified as their own speaker.", "",
              "| method | trials | identified as target | identified as source | F0 median error (median / p90) | length kept |",
              "|---|---|---|---|---|---|",
              f"| voxpost embedded | {len(rows)} | {_pct([r['as_target'] for r in rows])} | "
              f"{_pct([r['as_source'] for r in rows])} | {100 * np.median([r['f0_err'] for r in rows]):.1f}% / "
              f"{100 * np.percentile([r['f0_err'] for r in rows], 90):.1f}% | "
              f"{_pct([r['len_ok'] for r in rows])} |",
              f"| pitch shift to target median (librosa) | {len(peer)} | {_pct([r['as_target'] for r in peer])} | "
              f"{_pct([r['as_source'] for r in peer])} | {100 * np.median([r['f0_err'] for r in peer]):.1f}% / "
              f"{100 * np.percentile([r['f0_err'] for r in peer], 90):.1f}% | - |", ""]
    by_tgt = {}
    for r in rows:
        by_tgt.setdefault(r["tgt"], []).append(r["as_target"])
    lines += ["Identified as target, by target: " + ", ".join(f"{k} {_pct(v)}" for k, v in by_tgt.items()) + ".", ""]
    if shifts:
        lines += [f"Intelligibility: script alignment on {len(shifts)} converted utterances with a transcript "
                  f"(LJ, JFK) moves word starts by a median {np.median(shifts):.1f} ms (max of medians "
                  f"{max(shifts):.1f} ms) from where it places them in the original.", ""]
    lines += [f"Real-time factor of conversion: {conv['rtf']:.3f} (one thread, 16 kHz).", "",
              "## Speed (one thread)", "",
              "| path | RTF |", "|---|---:|",
              f"| VoiceConvert live, 10 ms blocks, 48 kHz mono | {spd['live_rtf']:.3f} |",
              f"| time_stretch x1.1, 22.05 kHz mono | {spd['stretch_mono_rtf']:.4f} |",
              f"| time_stretch x1.1, 44.1 kHz stereo | {spd['stretch_stereo_rtf']:.4f} |", "",
              "## TTS at a target duration", "",
              f"{tts['n']} lines (10 sentences x targets 0.7-1.4x their natural length): final duration error "
              f"max {tts['final_max_pct']:.3f}% (exact frames); the rate search alone lands within a median "
              f"{tts['rate_only_median_pct']:.2f}% (max {tts['rate_only_max_pct']:.2f}%), so the time-stretch "
              f"covers {tts['stretch_range'][0]:.3f}-{tts['stretch_range'][1]:.3f}x.", ""]
    if wm_table:
        body = "\n".join(ln for ln in wm_table.strip().splitlines() if not ln.startswith("# "))
        lines += ["## Watermark (`benchmarks/watermark.py`)", "", body.strip(), ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--quick", action="store_true", help="two utterances per speaker, no alignment")
    ap.add_argument("--no-watermark", action="store_true")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not (CORPUS / "MANIFEST.md").is_file():
        sys.exit(f"corpus not found at {CORPUS}")
    conv = conversion(quick=args.quick)
    spd = speed(quick=args.quick)
    tts = tts_durations()
    wm = None
    if not args.no_watermark:
        import watermark as wm_bench

        wm_bench.run(out)
        wm = (out / "watermark.md").read_text()
    text = markdown(conv, spd, tts, wm)
    (out / "voice.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
