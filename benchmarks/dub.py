#!/usr/bin/env python3
"""Dubbing benchmark: where dubbed lines land on real speech, their pace, flags, and speed.

Material
    The corpus's real speech: ``speech/`` (LJ001-0001..0005, jfk.flac), ``multilingual/fleurs-en-*``
    and ``noisy/p287_*_clean``: 14 utterances, mono, 48 kHz. Each utterance's ground-truth onset and
    offset is measured on the isolated file, independently of voxpost's VAD: 10 ms RMS frames
    (1 ms hop), first / last frame above the file's loudest frame - 30 dB.

Scene
    The utterances end to end in a seeded random order, gaps drawn from 0.25..2.0 s, over a pink
    room-noise floor at -60 dBFS. Each utterance is one script line. The script's timecodes are
    the true onset and offset each moved by a uniform random -200..+200 ms, then made
    non-overlapping (a start before the previous end moves to that end + 10 ms).

Translation
    French text for every line, written "to length, imperfectly": words of the French FLEURS
    transcripts (cycled) until the natural espeak duration (175 wpm, trimmed at -50 dBFS) reaches
    the original's speech duration x r. r: 80% of lines in 0.85..1.2, 20% in 0.5..0.75 or
    1.35..1.8 (lines an adaptor must rewrite).

Measures
    In the output stem, per line: the dubbed speech onset = the first 10 ms frame (1 ms hop) above
    the line's loudest frame in the stem - 30 dB, searched from 0.5 s before the true onset (not
    before the previous line's true offset, nor into the previous line's own audio); error =
    |dub onset - true onset|. Drift = Theil-Sen slope (median of pairwise slopes) of the signed error against scene time.
    Pace = natural / placed duration (voxpost: the report's ``speed``). Flags: the report's status,
    compared with r and with the speed the line needed on the window the engine found.

Peer (same run, same scene and script): the common open-source approach. Each line spoken at
the default rate (``speak``), time-stretched (WSOLA) to its subtitle slot (rough end - rough
start) but only sped up and at most 1.3x (open-dubbing's cap), placed at the rough start; a line
that overruns pushes the next one back (Linly-style), which is where drift comes from.

RTF: a 10-minute scene (2 minutes with --quick) built the same way, dubbed on one thread, with and
without a voice profile (enrolled from LJ001-0001/0003/0005 with a consent file). Its lines are
measured too (second pair of columns).

Mouth tracking: ``dub.video.mouth_track`` on each GRID clip of the corpus (``video/grid_*.mpg``,
3 s, 25 fps) after one warm-up call (cascade file, codec), best of 3 (1 with --quick). Target: under
1 s per clip.

Usage:
    .venv/bin/python benchmarks/dub.py [--out DIR] [--quick] [--seed N]
Writes DIR/dub.md (default benchmarks/results/).
"""

from __future__ import annotations

from _setup import CORPUS, ROOT  # noqa: E402,F401 - one thread per library, before NumPy loads

import argparse  # noqa: E402
import re  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from _timing import best_of_s  # noqa: E402

SR = 48000
LANG = "fr"
#: RMS frame and hop for onsets, seconds.
FRAME_S, HOP_S = 0.010, 0.001
#: Onset / offset threshold below the loudest frame, dB.
REL_DB = 30.0
#: Ground truth on the corpus recordings: threshold at least this far above the noise floor, dB,
#: and a run at least this long above it, seconds.
FLOOR_MARGIN_DB, MIN_RUN_S = 15.0, 0.03
#: Every utterance is set to this loudest 10 ms frame, dBFS (the FLEURS files differ by 45 dB).
SPEECH_PEAK_DBFS = -12.0
#: Rough timecodes: uniform error bound, seconds.
TC_ERR_S = 0.2
GAP_S = (0.25, 2.0)
NOISE_DBFS = -60.0
#: Peer: largest speed-up (open-dubbing caps at 1.3x).
PEER_MAX_SPEED = 1.3
MIN_SPEED, MAX_SPEED = 0.8, 1.25
LONG_S, LONG_QUICK_S = 600.0, 120.0
PROFILE_REFS = ["speech/LJ001-0001.wav", "speech/LJ001-0003.wav", "speech/LJ001-0005.wav"]


# -- material -------------------------------------------------------------------------------------
def frame_rms_db(x: np.ndarray, sr: int = SR) -> np.ndarray:
    """dB RMS of 10 ms frames every 1 ms; element k covers [k*hop, k*hop + frame)."""
    n, h = int(FRAME_S * sr), int(HOP_S * sr)
    x = np.asarray(x, np.float64)
    if x.size < n:
        return np.full(1, -120.0)
    c = np.concatenate([[0.0], np.cumsum(x * x)])
    starts = np.arange(0, x.size - n + 1, h)
    e = (c[starts + n] - c[starts]) / n
    return 10 * np.log10(e + 1e-14)


def frame_time(k: int) -> float:
    """Centre of frame k, seconds."""
    return k * HOP_S + FRAME_S / 2


@dataclass
class Utterance:
    name: str
    samples: np.ndarray     # mono 48 kHz
    onset_s: float          # in the file
    offset_s: float

    @property
    def speech_s(self) -> float:
        return self.offset_s - self.onset_s


def _load48(path: Path) -> np.ndarray:
    from voxpost.audio import load, resample

    a = load(path)
    mono = a.with_samples(a.samples.mean(axis=0, keepdims=True))
    return resample(mono, SR).samples[0].astype(np.float32)


def utterances() -> list[Utterance]:
    files = sorted((CORPUS / "speech").glob("*.wav")) + sorted((CORPUS / "speech").glob("*.flac"))
    files += sorted((CORPUS / "multilingual").glob("fleurs-en-*.ogg"))
    files += sorted((CORPUS / "noisy").glob("p287_*_clean.wav"))
    out = []
    for f in files:
        x = _load48(f)
        e = frame_rms_db(x)
        x *= np.float32(10 ** ((SPEECH_PEAK_DBFS - e.max()) / 20))      # dialogue level
        on, off = speech_edges(e)
        out.append(Utterance(f.stem, x, on, off))
    return out


def speech_edges(e: np.ndarray) -> tuple[float, float]:
    """Ground-truth speech onset / offset (seconds) from 10 ms RMS frames (1 ms hop) of an isolated
    utterance: the first / last frame above max(loudest - 30 dB, floor + 15 dB) that begins / ends a
    run of at least 30 ms above it (the corpus recordings carry noise beds and clicks within 30 dB
    of the speech peak; the floor is the 10th percentile of the non-silent frames)."""
    live = e[e > -100]
    floor = float(np.percentile(live, 10))
    thr = max(float(e.max()) - REL_DB, floor + FLOOR_MARGIN_DB)
    above = e >= thr
    run = int(round(MIN_RUN_S / HOP_S))
    c = np.concatenate([[0], np.cumsum(above)])
    full = (c[run:] - c[:-run]) == run               # full[k]: frames k..k+run-1 all above
    ks = np.flatnonzero(full)
    return frame_time(int(ks[0])), frame_time(int(ks[-1]) + run - 1)


def french_words() -> list[str]:
    words = []
    for f in sorted((CORPUS / "multilingual").glob("fleurs-fr-*.txt")):
        words += f.read_text(encoding="utf-8").split()
    return words


def pink_noise(n: int, rng: np.random.Generator, dbfs: float) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SR)
    spec[1:] /= np.sqrt(f[1:])
    spec[0] = 0
    x = np.fft.irfft(spec, n)
    x *= 10 ** (dbfs / 20) / (np.sqrt(np.mean(x ** 2)) + 1e-12)
    return x.astype(np.float32)


def natural_s(text: str) -> float:
    from voxpost.espeak import DEFAULT_RATE_WPM, synthesize
    from voxpost.voice.tts import _span

    syn = synthesize(text, language=LANG, rate_wpm=DEFAULT_RATE_WPM)
    s, e = _span(syn)
    return (e - s) / syn.sample_rate


def draw_r(rng: np.random.Generator) -> float:
    if rng.random() < 0.8:
        return float(rng.uniform(0.85, 1.2))
    return float(rng.uniform(0.5, 0.75) if rng.random() < 0.5 else rng.uniform(1.35, 1.8))


class Adaptor:
    """Writes French lines to a target natural duration from the FLEURS words, in order, cycling."""

    def __init__(self) -> None:
        self.words = french_words()
        self.pos = 0

    def _text(self, n: int) -> str:
        w = [self.words[(self.pos + k) % len(self.words)] for k in range(n)]
        w[0] = w[0][:1].upper() + w[0][1:]
        return " ".join(w) + "."

    def write(self, target_s: float) -> tuple[str, float]:
        """Fewest words whose natural duration reaches ``target_s`` (binary search on the count)."""
        lo, hi = 1, 4
        while natural_s(self._text(hi)) < target_s:
            lo, hi = hi, hi * 2
        while lo < hi:
            mid = (lo + hi) // 2
            if natural_s(self._text(mid)) >= target_s:
                hi = mid
            else:
                lo = mid + 1
        text = self._text(lo)
        self.pos = (self.pos + lo) % len(self.words)
        return text, natural_s(text)


@dataclass
class Line:
    index: int
    utt: str
    true_on: float
    true_off: float
    rough_start: float
    rough_end: float
    text: str
    natural_s: float
    r: float


@dataclass
class Scene:
    samples: np.ndarray
    lines: list[Line]

    @property
    def duration_s(self) -> float:
        return self.samples.size / SR


def build_scene(utts: list[Utterance], rng: np.random.Generator, adaptor: Adaptor, *,
                min_duration_s: float | None = None, room_db: float = NOISE_DBFS) -> Scene:
    """One pass over ``utts`` in random order, or passes (reshuffled) until ``min_duration_s``."""
    order: list[Utterance] = []
    total = 0.0
    while True:
        for k in rng.permutation(len(utts)):
            order.append(utts[k])
            total += utts[k].samples.size / SR + 1.1
            if min_duration_s is not None and total >= min_duration_s + 2:
                break
        if min_duration_s is None or total >= min_duration_s + 2:
            break
    gaps = rng.uniform(*GAP_S, size=len(order) + 1)
    lead = 0.5
    n = int((lead + sum(u.samples.size / SR for u in order) + gaps[1:].sum()) * SR) + SR
    x = np.zeros(n, np.float32)
    t = lead
    lines: list[Line] = []
    prev_end = -np.inf
    for i, u in enumerate(order):
        k = int(round(t * SR))
        x[k:k + u.samples.size] += u.samples
        on, off = k / SR + u.onset_s, k / SR + u.offset_s
        rs = on + rng.uniform(-TC_ERR_S, TC_ERR_S)
        re_ = off + rng.uniform(-TC_ERR_S, TC_ERR_S)
        if rs < prev_end:
            rs = prev_end + 0.01
        re_ = max(re_, rs + 0.3)
        prev_end = re_
        r = draw_r(rng)
        text, nat = adaptor.write((off - on) * r)
        lines.append(Line(i + 1, u.name, on, off, round(rs, 3), round(re_, 3), text, nat, r))
        t = (k + u.samples.size) / SR + gaps[i + 1]
    x += pink_noise(n, rng, room_db)
    return Scene(x, lines)


def script_lines(scene: Scene):
    from voxpost.dub.script import ScriptLine

    return [ScriptLine(index=ln.index, start_s=ln.rough_start, end_s=ln.rough_end, text=ln.text,
                       label=str(ln.index)) for ln in scene.lines]


# -- measuring ------------------------------------------------------------------------------------
def measure(stem: np.ndarray, scene: Scene, extents: list[tuple[float, float]]) -> list[dict]:
    """Per line: dubbed onset / end in ``stem`` (see the module docstring). ``extents``: where each
    line's own audio lies in the stem (only used to keep a neighbour's audio out of the search)."""
    e = frame_rms_db(stem)
    out = []
    for i, ln in enumerate(scene.lines):
        own_a, own_b = extents[i]
        prev_off = scene.lines[i - 1].true_off if i else 0.0
        a = max(ln.true_on - 0.5, prev_off)
        a = min(a, own_a)                                   # never skip the line's own audio
        if i:
            a = max(a, min(extents[i - 1][1], own_a))       # nor search in the previous line's audio
        b = max(own_b, a + FRAME_S)
        ka, kb = int(a / HOP_S), min(int((b - FRAME_S) / HOP_S) + 1, e.size)
        seg = e[ka:kb]
        if seg.size == 0 or seg.max() < -100:
            out.append({"onset": None, "end": None, "err_ms": None, "signed_ms": None, "end_err_ms": None})
            continue
        above = np.flatnonzero(seg >= seg.max() - REL_DB)
        on = frame_time(ka + int(above[0]))
        end = frame_time(ka + int(above[-1]))
        out.append({"onset": on, "end": end, "err_ms": abs(on - ln.true_on) * 1000,
                    "signed_ms": (on - ln.true_on) * 1000, "end_err_ms": (end - ln.true_off) * 1000})
    return out


def drift_ms_per_min(scene: Scene, meas: list[dict], within_ms: float | None = None) -> float | None:
    pts = [(ln.true_on / 60, m["signed_ms"]) for ln, m in zip(scene.lines, meas) if m["signed_ms"] is not None
           and (within_ms is None or abs(m["signed_ms"]) <= within_ms)]
    if len(pts) < 3:
        return None
    from scipy.stats import theilslopes

    t, y = np.array(pts).T
    return float(theilslopes(y, t)[0])        # robust: one misplaced line is not a trend


# -- systems --------------------------------------------------------------------------------------
def run_voxpost(scene: Scene, voice=None) -> dict:
    from voxpost.audio import Audio
    from voxpost.dub.engine import dub

    lines = script_lines(scene)
    t0 = time.perf_counter()
    res = dub(Audio(scene.samples[np.newaxis, :], SR), lines, language=LANG, voice=voice)
    wall = time.perf_counter() - t0
    stem = res.stem.samples[0]
    assert res.stem.sample_rate == SR and stem.size == scene.samples.size, "stem rate/length differ"
    extents = [(f.offset_s, f.offset_s + f.samples.size / f.sample_rate) for f in res.fitted]
    meas = measure(stem, scene, extents)
    rep = res.report["lines"]
    speeds = [e["speed"] for e in rep]
    required = []
    for e in rep:
        m = re.search(r"needs ([0-9.]+)x", e.get("reason") or "")
        required.append(float(m.group(1)) if (e["status"] == "flagged" and m) else e["speed"])
    return {"name": "voxpost" + (" + voice" if voice is not None else ""), "meas": meas, "speeds": speeds,
            "required": required, "status": [e["status"] for e in rep], "report": res.report,
            "placed": sum(1 for e in rep if e.get("start") is not None and e.get("speech_found")),
            "present": len(rep) == len(lines), "wall_s": wall, "rtf": wall / scene.duration_s,
            "overlaps": res.report["summary"]["overlapping_next"]}


def run_peer(scene: Scene) -> dict:
    """TTS at the default rate, stretched (speed-up only, <= 1.3x) to the subtitle slot, pushed."""
    import soxr

    from voxpost.voice.stretch import time_stretch
    from voxpost.voice.tts import speak

    stem = np.zeros(scene.samples.size, np.float32)
    t0 = time.perf_counter()
    extents, speeds, pushed = [], [], 0
    prev_end = 0.0
    for ln in scene.lines:
        sp = speak(ln.text, language=LANG, sample_rate=SR)
        y = sp.audio.samples[0]
        if sp.audio.sample_rate != SR:
            y = soxr.resample(y, sp.audio.sample_rate, SR)
        slot = ln.rough_end - ln.rough_start
        speed = float(np.clip((y.size / SR) / slot, 1.0, PEER_MAX_SPEED))
        if speed > 1.0:
            y = time_stretch(y, SR, frames=int(round(y.size / speed)))
        start = ln.rough_start
        if start < prev_end:
            start, pushed = prev_end, pushed + 1
        k = int(round(start * SR))
        seg = y[:max(0, stem.size - k)]
        stem[k:k + seg.size] += seg
        prev_end = start + y.size / SR
        extents.append((start, prev_end))
        speeds.append(speed)
    wall = time.perf_counter() - t0
    meas = measure(stem, scene, extents)
    return {"name": "peer (TTS + stretch to slot)", "meas": meas, "speeds": speeds, "required": None,
            "status": None, "placed": len(scene.lines), "present": True, "wall_s": wall,
            "rtf": wall / scene.duration_s, "pushed": pushed,
            "overlaps": 0}


# -- summary --------------------------------------------------------------------------------------
def _q(v, p):
    return float(np.percentile(v, p)) if v else float("nan")


def summarise(sys_: dict, scene: Scene) -> dict:
    errs = [m["err_ms"] for m in sys_["meas"] if m["err_ms"] is not None]
    ends = [abs(m["end_err_ms"]) for m in sys_["meas"] if m["end_err_ms"] is not None]
    sp = sys_["speeds"]
    flagged = None if sys_["status"] is None else sum(s == "flagged" for s in sys_["status"])
    return {
        "lines": len(scene.lines), "placed": sys_["placed"], "measured": len(errs),
        "median": statistics.median(errs) if errs else float("nan"), "p90": _q(errs, 90),
        "max": max(errs) if errs else float("nan"), "over100": sum(e > 100 for e in errs),
        "end_median": statistics.median(ends) if ends else float("nan"),
        "drift": drift_ms_per_min(scene, sys_["meas"]),
        "drift100": drift_ms_per_min(scene, sys_["meas"], within_ms=100),
        "sp_min": min(sp), "sp_med": statistics.median(sp), "sp_max": max(sp),
        "outside": sum(not (MIN_SPEED - 1e-6 <= s <= MAX_SPEED + 1e-6) for s in sp) / len(sp),
        "flagged": flagged, "rtf": sys_["rtf"],
    }


def table(cols: list[tuple[str, dict]]) -> str:
    rows = [
        ("lines", lambda s: f"{s['lines']}"),
        ("placed on found speech", lambda s: f"{s['placed']}"),
        ("onsets measured in the stem", lambda s: f"{s['measured']}"),
        ("onset error median (ms)", lambda s: f"{s['median']:.1f}"),
        ("onset error p90 (ms)", lambda s: f"{s['p90']:.1f}"),
        ("onset error max (ms)", lambda s: f"{s['max']:.1f}"),
        ("lines with onset error > 100 ms", lambda s: f"{s['over100']}"),
        ("end error median, abs (ms)", lambda s: f"{s['end_median']:.0f}"),
        ("drift slope (ms/min)", lambda s: "n/a" if s["drift"] is None else f"{s['drift']:+.1f}"),
        ("drift slope, lines within 100 ms (ms/min)",
         lambda s: "n/a" if s["drift100"] is None else f"{s['drift100']:+.1f}"),
        ("speed min / median / max", lambda s: f"{s['sp_min']:.2f} / {s['sp_med']:.2f} / {s['sp_max']:.2f}"),
        ("lines outside 0.8..1.25 (%)", lambda s: f"{100 * s['outside']:.0f}"),
        ("flagged lines", lambda s: "none (no flags)" if s["flagged"] is None else f"{s['flagged']}"),
        ("RTF (wall / scene, 1 thread)", lambda s: f"{s['rtf']:.3f}"),
    ]
    out = ["| | " + " | ".join(n for n, _ in cols) + " |", "|---|" + "---|" * len(cols)]
    for label, f in rows:
        out.append(f"| {label} | " + " | ".join(f(s) for _, s in cols) + " |")
    return "\n".join(out)


def flag_confusion(vx: dict, scene: Scene) -> tuple[str, dict]:
    """r outside the pace bounds (designed not to fit) and the speed the engine found needed, vs flags."""
    rows = []
    cnt = {"r_out_flagged": 0, "r_out_ok": 0, "r_in_flagged": 0, "r_in_ok": 0,
           "req_out_flagged": 0, "req_out_ok": 0, "req_in_flagged": 0, "req_in_ok": 0,
           "r_high_not_flagged": []}
    for ln, st, req in zip(scene.lines, vx["status"], vx["required"]):
        r_out = not (MIN_SPEED <= ln.r <= MAX_SPEED)
        q_out = not (MIN_SPEED <= req <= MAX_SPEED)
        f = st == "flagged"
        cnt[f"r_{'out' if r_out else 'in'}_{'flagged' if f else 'ok'}"] += 1
        cnt[f"req_{'out' if q_out else 'in'}_{'flagged' if f else 'ok'}"] += 1
        if ln.r > MAX_SPEED and not f:
            cnt["r_high_not_flagged"].append(ln.index)
        rows.append((ln, st, req))
    txt = "\n".join([
        "| | flagged | ok |", "|---|---|---|",
        f"| r outside 0.8..1.25 (written not to fit) | {cnt['r_out_flagged']} | {cnt['r_out_ok']} |",
        f"| r inside 0.8..1.25 | {cnt['r_in_flagged']} | {cnt['r_in_ok']} |",
        f"| needed speed on the engine's window outside 0.8..1.25 | {cnt['req_out_flagged']} | {cnt['req_out_ok']} |",
        f"| needed speed on the engine's window inside | {cnt['req_in_flagged']} | {cnt['req_in_ok']} |",
    ])
    return txt, cnt


def window_check(vx: dict, scene: Scene) -> list[str]:
    """Lines whose window is not on their own utterance's speech (start off by > 150 ms)."""
    bad = []
    for ln, e, m in zip(scene.lines, vx["report"]["lines"], vx["meas"]):
        ws, we = e["window_start"], e["window_end"]
        if abs(ws - ln.true_on) > 0.15 or abs(we - ln.true_off) > 0.3:
            bad.append(f"line {ln.index} ({ln.utt}): true {ln.true_on:.3f}-{ln.true_off:.3f}, rough "
                       f"{ln.rough_start:.3f}-{ln.rough_end:.3f}, window {ws:.3f}-{we:.3f} "
                       f"({e['window_source']}, found={e['speech_found']}), dub onset "
                       f"{m['onset'] if m['onset'] is None else round(m['onset'], 3)}, "
                       f"speed {e['speed']}, {e['status']}")
    return bad


def per_line(vx: dict, peer: dict, scene: Scene) -> str:
    out = ["| # | utterance | true on | rough start | window | r | speed | status | err ms | peer err ms | peer speed |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for ln, e, m, pm, ps in zip(scene.lines, vx["report"]["lines"], vx["meas"], peer["meas"], peer["speeds"]):
        fmt = lambda v: "-" if v is None else f"{v:.0f}"  # noqa: E731
        out.append(f"| {ln.index} | {ln.utt} | {ln.true_on:.3f} | {ln.rough_start:.3f} | "
                   f"{e['window_start']:.3f}-{e['window_end']:.3f} | {ln.r:.2f} | {e['speed']:.2f} | "
                   f"{e['status']} | {fmt(m['err_ms'])} | {fmt(pm['err_ms'])} | {ps:.2f} |")
    return "\n".join(out)


def ground_truth_check(utts: list[Utterance]) -> str:
    """The energy ground truth beside voxpost's own aligner (first / last word) where a transcript exists."""
    from voxpost.speech.align import align

    out = ["| utterance | truth onset (s) | aligner first word (s) | truth offset (s) | aligner last word end (s) |",
           "|---|---|---|---|---|"]
    for u in utts:
        txt = next((p.read_text(encoding="utf-8").strip() for d in ("speech", "multilingual")
                    if (p := CORPUS / d / f"{u.name}.txt").is_file()), None)
        a0 = a1 = "-"
        if txt:
            try:
                w = align(u.samples[np.newaxis, :], SR, txt, language="en")["words"]
                a0, a1 = f"{w[0]['start']:.3f}", f"{w[-1]['end']:.3f}"
            except Exception:  # noqa: BLE001 - a cross-check only
                pass
        out.append(f"| {u.name} | {u.onset_s:.3f} | {a0} | {u.offset_s:.3f} | {a1} |")
    return "\n".join(out)


def make_profile():
    from voxpost.voice.profile import enroll

    with tempfile.TemporaryDirectory() as d:
        c = Path(d) / "consent.txt"
        c.write_text("I agree that my voice may be used for the dub of this film. Signed, L. J.\n")
        return enroll([CORPUS / f for f in PROFILE_REFS], name="reader", consent=c)


GRID_CLIPS = ("bbaf2n", "brbk7n", "lbax4n", "lbbc2a", "lrwp9a", "pwij3p")
MOUTH_TARGET_S = 1.0


def mouth_speed(quick: bool) -> list[dict]:
    """Wall time of ``mouth_track`` per GRID clip (see the module docstring)."""
    from voxpost.dub.video import mouth_track

    rows = []
    for name in GRID_CLIPS:
        path = CORPUS / "video" / f"grid_{name}.mpg"
        if not path.is_file():
            continue
        tr = mouth_track(path)                                       # warm caches (cascade file, codec)
        best = best_of_s(lambda: mouth_track(path), 1 if quick else 3)
        rows.append({"clip": name, "seconds": best, "video_s": tr.times_s.size / tr.fps})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    ap.add_argument("--quick", action="store_true", help="2-minute RTF scene instead of 10 minutes")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--room-db", type=float, default=NOISE_DBFS,
                    help="room-noise floor of the scene, dBFS RMS (default -60)")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if not (CORPUS / "MANIFEST.md").is_file():
        sys.exit(f"corpus not found at {CORPUS}")
    rng = np.random.default_rng(args.seed)
    t_start = time.perf_counter()
    utts = utterances()
    adaptor = Adaptor()
    scene = build_scene(utts, rng, adaptor, room_db=args.room_db)
    long_s = LONG_QUICK_S if args.quick else LONG_S
    long_scene = build_scene(utts, rng, adaptor, min_duration_s=long_s, room_db=args.room_db)
    print(f"# material: {len(utts)} utterances, scene {scene.duration_s:.1f} s / {len(scene.lines)} lines, "
          f"long scene {long_scene.duration_s:.1f} s / {len(long_scene.lines)} lines "
          f"({time.perf_counter() - t_start:.1f} s)", flush=True)

    vx = run_voxpost(scene)
    peer = run_peer(scene)
    profile = make_profile()
    vxv = run_voxpost(scene, voice=profile)
    print(f"# scene dubbed: voxpost {vx['wall_s']:.1f} s, with voice {vxv['wall_s']:.1f} s, "
          f"peer {peer['wall_s']:.1f} s", flush=True)
    same_timing = max(abs(a["start"] - b["start"]) + abs(a["end"] - b["end"])
                      for a, b in zip(vx["report"]["lines"], vxv["report"]["lines"]))
    vx2 = run_voxpost(scene)
    same_plain = max(abs(a["start"] - b["start"]) + abs(a["end"] - b["end"])
                     for a, b in zip(vx["report"]["lines"], vx2["report"]["lines"]))
    onset_shift = max((abs(a["onset"] - b["onset"]) * 1000 for a, b in zip(vx["meas"], vxv["meas"])
                       if a["onset"] is not None and b["onset"] is not None), default=float("nan"))

    lvx = run_voxpost(long_scene)
    print(f"# long scene dubbed: {lvx['wall_s']:.1f} s (RTF {lvx['rtf']:.3f})", flush=True)
    lvxv = run_voxpost(long_scene, voice=profile)
    print(f"# long scene with voice: {lvxv['wall_s']:.1f} s (RTF {lvxv['rtf']:.3f})", flush=True)
    lpeer = run_peer(long_scene)
    mouth = mouth_speed(args.quick)

    s_vx, s_peer = summarise(vx, scene), summarise(peer, scene)
    s_lvx, s_lpeer = summarise(lvx, long_scene), summarise(lpeer, long_scene)
    s_vx["rtf"], s_lvx["rtf"] = vx["rtf"], lvx["rtf"]
    long_label = f"{long_scene.duration_s / 60:.0f}-min scene"
    tab = table([("voxpost (scene)", s_vx), ("peer (scene)", s_peer),
                 (f"voxpost ({long_label})", s_lvx), (f"peer ({long_label})", s_lpeer)])
    conf, cnt = flag_confusion(vx, scene)
    lconf, lcnt = flag_confusion(lvx, long_scene)
    bad = window_check(vx, scene) + ["(long scene) " + b for b in window_check(lvx, long_scene)]

    def all_fit(sys_, s):
        return all(MIN_SPEED - 1e-6 <= sp <= MAX_SPEED + 1e-6
                   for sp, st in zip(sys_["speeds"], sys_["status"]) if st == "ok")

    targets = [
        ("every line placed (in the report, on found speech)",
         vx["present"] and lvx["present"] and s_vx["placed"] == s_vx["lines"] and s_lvx["placed"] == s_lvx["lines"]),
        ("no drift (|slope| < 5 ms/min on the long scene)",
         s_lvx["drift"] is not None and abs(s_lvx["drift"]) < 5),
        ("median onset error <= 40 ms", s_vx["median"] <= 40 and s_lvx["median"] <= 40),
        ("no onset error over 100 ms", s_vx["over100"] == 0 and s_lvx["over100"] == 0
         and s_vx["measured"] == s_vx["lines"] and s_lvx["measured"] == s_lvx["lines"]),
        ("every fitted (ok) line's speed within 0.8..1.25", all_fit(vx, s_vx) and all_fit(lvx, s_lvx)),
        ("every line that cannot fit its window is flagged (needed speed outside bounds -> flagged)",
         cnt["req_out_ok"] == 0 and lcnt["req_out_ok"] == 0),
        ("(information) every line written > 1.25x the ground-truth speech span is flagged: "
         f"{len(cnt['r_high_not_flagged']) + len(lcnt['r_high_not_flagged'])} not flagged; the ground-truth "
         "offsets cut quiet word endings the aligner keeps (up to 0.6 s on FLEURS, see the cross-check), so "
         "this is not a target", not cnt["r_high_not_flagged"] and not lcnt["r_high_not_flagged"]),
        (f"{long_label} at RTF <= 0.2 on one CPU thread (no voice profile)", lvx["rtf"] <= 0.2),
        (f"{long_label} at RTF <= 0.2 on one CPU thread (with voice profile)", lvxv["rtf"] <= 0.2),
        (f"mouth tracking under {MOUTH_TARGET_S:g} s per GRID clip (3 s of video)",
         bool(mouth) and max(m["seconds"] for m in mouth) < MOUTH_TARGET_S),
    ]
    r = np.array([ln.r for ln in scene.lines + long_scene.lines])
    md = [
        "# Dubbing benchmark (`benchmarks/dub.py`)", "",
        f"Seed {args.seed}{', --quick' if args.quick else ''}, room noise {args.room_db:g} dBFS; run took {time.perf_counter() - t_start:.0f} s.", "",
        "Method: the corpus's real speech (LJ Speech 0001-0005, JFK, FLEURS en 000-004, VoiceBank p287 "
        "clean 001-003; 14 utterances, 48 kHz mono) laid end to end in a seeded random order with "
        "0.25-2.0 s gaps over pink room noise (level below), each set to a loudest 10 ms frame of -12 dBFS. Ground truth: each utterance's first/last "
        "10 ms RMS frame (1 ms hop) above max(loudest frame - 30 dB, noise floor + 15 dB) starting/ending a "
        "30 ms run, measured on the isolated file (the recordings carry noise beds and clicks within 30 dB "
        "of the speech peak, so peak - 30 dB alone lands on them). "
        "Script timecodes: truth moved by uniform +-200 ms, then made non-overlapping. French text per "
        "line (FLEURS fr words) written until espeak's natural duration reaches speech duration x r; "
        f"r: {np.mean((r >= 0.85) & (r <= 1.2)) * 100:.0f}% of lines in 0.85..1.2, the rest in 0.5..0.75 "
        "or 1.35..1.8. Dubbed onset: first 10 ms frame (1 ms hop) above the line's loudest frame in the "
        "stem - 30 dB, searched from 0.5 s before the true onset (not before the previous line's true "
        "offset nor inside the previous line's audio). Drift: Theil-Sen slope (median of pairwise slopes, so one misplaced line is not a trend) of the signed onset "
        "error against scene time. The peer (common open-source approach): each line at espeak's "
        "default rate, WSOLA-stretched to its subtitle slot, speed-up only and capped at 1.3x, placed "
        "at the rough start, pushed back when the previous line overran. RTF: wall time of `dub()` over "
        "the scene's duration, one thread.", "",
        tab, "",
        f"With a voice profile (LJ reader, embedded converter): scene RTF {vxv['rtf']:.3f}, "
        f"{long_label} RTF {lvxv['rtf']:.3f}; largest change of a line's start+end in the report "
        f"{same_timing * 1000:.1f} ms, of a measured onset {onset_shift:.1f} ms (the same run twice without a "
        f"profile: {same_plain * 1000:.1f} ms; espeak's natural length of a text varies by up to ~0.7% from call "
        "to call, which moves the end of lines fitted at a pace bound).", "",
        f"Peer: {peer['pushed']} of {len(scene.lines)} lines pushed back by the previous line (scene), "
        f"{lpeer['pushed']} of {len(long_scene.lines)} ({long_label}).", "",
        "## Flags (voxpost, scene)", "", conf, "",
        f"## Flags (voxpost, {long_label})", "", lconf, "",
        "r is the natural duration over the original's speech duration including its inner pauses; the "
        "engine's window leaves pauses out, so a line with r inside the bounds may need more than 1.25x "
        "and one with r a little under 0.8 may fit.", "",
        "## Targets", "",
    ]
    md += [f"- [{'x' if ok else ' '}] {name}" for name, ok in targets]
    md += ["", "## Windows not on their own utterance (start off by > 150 ms or end by > 300 ms)", ""]
    md += [f"- {b}" for b in bad] or ["- none"]
    md += ["", "## Mouth tracking speed (one thread)", "", "| GRID clip | video s | mouth_track s |", "|---|---:|---:|"]
    md += [f"| {m['clip']} | {m['video_s']:.2f} | {m['seconds']:.3f} |" for m in mouth] or ["| (no GRID clips) | | |"]
    md += ["", f"## Onset error by recording (voxpost, {long_label})", "",
           "| utterance | lines | median (ms) | max (ms) | > 100 ms | median signed (ms) |", "|---|---|---|---|---|---|"]
    for u in utts:
        ev = [m["signed_ms"] for ln, m in zip(long_scene.lines, lvx["meas"]) if ln.utt == u.name
              and m["signed_ms"] is not None]
        if ev:
            a = np.abs(ev)
            md.append(f"| {u.name} | {len(ev)} | {np.median(a):.0f} | {a.max():.0f} | {int((a > 100).sum())} | "
                      f"{np.median(ev):+.0f} |")
    md += ["", "## Per line (voxpost and peer, scene)", "", per_line(vx, peer, scene), ""]
    md += ["## Ground truth beside voxpost's aligner (cross-check, 10-20 ms word-boundary precision at best)", "",
           ground_truth_check(utts), ""]
    text = "\n".join(md)
    (out / "dub.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
