#!/usr/bin/env python3
"""Foley benchmark: speed per model, descriptors against real recordings, distinctness of the
models, parameters moving descriptors, prompts, and events on cues.

Speed
    Per model: ``render`` of 10 s at 48 kHz with default parameters (after one warm-up), best of 3;
    and the full take path (``generate.render_take`` on the model's first example prompt, i.e.
    its layers placed at the prompt's distance and space, loudness set, then ``generate.limit``),
    10 s, best of 3. RTF = wall time / audio duration, one thread. Target: 0.01 or less.
    Per space: ``space.place`` of 10 s of white noise (0.1 rms) at 5 m, after one 1 s warm-up
    (compile, calibrate), best of 3. Target: 0.005 or less.

Descriptors (all on mono, the channel mean)
    spectral centroid (Hz, of the long-term average power spectrum; STFT 2048, hop 512, Hann);
    spectral flatness (geometric / arithmetic mean power per frame, mean over frames within 50 dB
    of the loudest); onset rate (onsets per second from an energy-flux detector: 40 mel bands,
    21 ms frames every 5 ms, band levels in dB floored at the loudest - 80 dB, flux = mean over
    bands of the positive level change over 10 ms; an onset is a flux peak that is the largest
    within +-50 ms, at least 3 dB above the median flux, in a frame within 50 dB of the loudest);
    envelope: crest factor (dB, peak / RMS) and short-term level std (dB, 50 ms RMS frames within
    60 dB of the loudest); spectral balance: energy below 500 Hz over energy above 4 kHz (dB) and
    the share of energy above 4 kHz.

ESC-50
    The corpus's ``foley/esc50_*`` clips (dog, car_horn, thunderstorm; 5 s, 44.1 kHz). voxpost
    covers thunderstorm: 10 takes of "a thunderstorm" (rain and thunder layered) (``generate``, 10 s, seeds 0..9
    as variations), resampled to 44.1 kHz, first 5 s. The descriptor vector (log centroid, log
    flatness, onset rate, crest, level std, low/high ratio) is z-scored across all 13 clips; a
    take's distance to each real clip is Euclidean in that space.

Classifier
    Per model 12 takes (4 s, 48 kHz) with random seeds and parameters drawn uniformly in each
    Param's range (a random choice for choices), rendered through ``render_take`` (dry, 1 m,
    loudness set) and limited. Features: the 40 log-mel band means and stds plus the descriptors.
    Train on 8 takes per model, test on the other 4. Logistic regression (scikit-learn, on
    standardised features) and nearest class mean (standardised features, Euclidean).

Parameters
    Each check renders the model dry (``model.render``, no loudness normalisation, so level is
    meaningful) on several seeds at two values of one parameter, everything else default, and
    passes when the descriptor moves the expected way on every seed. Distance and space go through
    ``space.place``. Decay time: from the loudest 10 ms frame until the 10 ms RMS envelope stays
    30 dB below it. Bell fundamental: the lowest spectral peak (2 s after the strike, 0.5 Hz bins,
    above 40 Hz) within 30 dB of the strongest.

Prompts
    Every model's ``examples`` and every ``voxpost foley "..."`` prompt in README.md must parse.

Cues
    For each event model, ``generate(first example, cues_s=[0.5, 1.3, 2.0, 3.1])``; the written
    24-bit file is read back; for each cue the onset is the first sample in [cue - 50 ms,
    cue + 50 ms] whose |x| (channel mean) reaches -20 dB of the largest |x| in that window. Error
    = onset - cue. Also on the signal high-passed at 1 kHz (4th-order Butterworth, zero phase), which
    takes the low rumble and a previous event's hum out. Church bell and thunder ring longer than the
    cue spacing (a strike would sound inside the last one's tail), so they get one cue per take.
    Target: max |error| <= 5 ms.

Usage:
    .venv/bin/python benchmarks/foley.py [--out DIR] [--quick] [--seed N]
Writes DIR/foley.md (default benchmarks/results/).
"""

from __future__ import annotations

from _setup import CORPUS, ROOT  # noqa: E402,F401 - one thread per library, before NumPy loads

import argparse  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from _timing import best_of_s  # noqa: E402

SR = 48000
ESC_SR = 44100
N_MEL = 40
CUES = [0.5, 1.3, 2.0, 3.1]
CUE_WIN_S = 0.050
CUE_REL_DB = -20.0
#: the onset must also rise this far above what sounded 50..20 ms before the cue
BG_MARGIN_DB, BG_GAP_S = 6.0, 0.020
RTF_TARGET = 0.01
PLACE_RTF_TARGET = 0.005
CUE_TARGET_MS = 5.0
MODELS_TARGET = 20
EVENT_MODELS = ["footsteps", "hooves", "door_knock", "clock_tick", "church_bell", "gunshot", "drips", "splash",
                "thunder"]
#: event sounds whose tail outlasts the cue spacing: measured one cue per take
LONG_TAIL = {"church_bell", "thunder"}
STORM_PROMPT = "a thunderstorm"


# -- audio helpers --------------------------------------------------------------------------------
def mono(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x.mean(axis=0) if x.ndim == 2 else x


def load_mono(path: Path, sr: int | None = None) -> tuple[np.ndarray, int]:
    from voxpost.audio import load, resample

    a = load(path)
    if sr is not None and a.sample_rate != sr:
        a = resample(a, sr)
    return mono(a.samples), a.sample_rate


def resample_to(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(sr_in, sr_out)
    return resample_poly(x, sr_out // g, sr_in // g)


def stft_power(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Power spectrogram ``[frames, bins]`` (Hann)."""
    x = np.asarray(x, np.float64)
    if x.size < n_fft:
        x = np.pad(x, (0, n_fft - x.size))
    nfr = 1 + (x.size - n_fft) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(nfr)[:, None]
    return np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft), axis=1)) ** 2


def mel_fb(sr: int, n_fft: int, n_mel: int = N_MEL, fmin: float = 30.0, fmax: float | None = None) -> np.ndarray:
    fmax = fmax or sr / 2
    mel = lambda f: 2595 * np.log10(1 + f / 700.0)  # noqa: E731
    imel = lambda m: 700 * (10 ** (m / 2595) - 1)  # noqa: E731
    pts = imel(np.linspace(mel(fmin), mel(fmax), n_mel + 2))
    f = np.fft.rfftfreq(n_fft, 1 / sr)
    fb = np.zeros((n_mel, f.size))
    for i in range(n_mel):
        lo, c, hi = pts[i], pts[i + 1], pts[i + 2]
        fb[i] = np.clip(np.minimum((f - lo) / (c - lo), (hi - f) / (hi - c)), 0, None)
    fb[fb.sum(axis=1) == 0, np.argmin(np.abs(f[None, :] - pts[1:-1, None]), axis=1)[fb.sum(axis=1) == 0]] = 1.0
    return fb


def onsets(x: np.ndarray, sr: int) -> np.ndarray:
    """Onset times (s) from the energy-flux detector described in the module docstring."""
    n_fft, hop = 1024 if sr <= 48000 else 2048, int(round(0.005 * sr))
    p = stft_power(x, n_fft, hop)
    e = p @ mel_fb(sr, n_fft).T
    db = 10 * np.log10(e + 1e-20)
    db = np.maximum(db, db.max() - 80.0)
    lag = 2
    flux = np.zeros(db.shape[0])
    flux[lag:] = np.mean(np.maximum(db[lag:] - db[:-lag], 0.0), axis=1)
    level = 10 * np.log10(p.sum(axis=1) + 1e-20)
    thr = np.median(flux) + 3.0
    w = int(round(0.050 / (hop / sr)))
    out = []
    for t in np.flatnonzero((flux >= thr) & (level >= level.max() - 50.0)):
        lo, hi = max(0, t - w), min(flux.size, t + w + 1)
        if flux[t] == flux[lo:hi].max() and (not out or t - out[-1] > w):
            out.append(t)
    return (np.asarray(out) * hop + n_fft / 2) / sr


def rms_db_frames(x: np.ndarray, sr: int, frame_s: float, hop_s: float | None = None) -> np.ndarray:
    n, h = int(frame_s * sr), int((hop_s or frame_s) * sr)
    c = np.concatenate([[0.0], np.cumsum(np.asarray(x, np.float64) ** 2)])
    starts = np.arange(0, max(1, x.size - n + 1), h)
    return 10 * np.log10((c[np.minimum(starts + n, x.size)] - c[starts]) / n + 1e-20)


DESC_KEYS = ["centroid_hz", "flatness", "onsets_per_s", "crest_db", "level_std_db", "low_high_db", "hf_share"]


def descriptors(x: np.ndarray, sr: int) -> dict[str, float]:
    x = np.asarray(x, np.float64)
    p = stft_power(x, 2048, 512)
    f = np.fft.rfftfreq(2048, 1 / sr)
    avg = p.mean(axis=0)
    lvl = 10 * np.log10(p.sum(axis=1) + 1e-20)
    live = lvl >= lvl.max() - 50.0
    pl = p[live] + 1e-20
    flat = np.exp(np.mean(np.log(pl), axis=1)) / np.mean(pl, axis=1)
    st = rms_db_frames(x, sr, 0.050)
    st = st[st >= st.max() - 60.0]
    rms = np.sqrt(np.mean(x ** 2)) + 1e-20
    lo_e, hi_e = avg[f < 500].sum(), avg[f > 4000].sum()
    return {"centroid_hz": float((f * avg).sum() / (avg.sum() + 1e-30)),
            "flatness": float(flat.mean()),
            "onsets_per_s": len(onsets(x, sr)) / (x.size / sr),
            "crest_db": float(20 * np.log10(np.abs(x).max() / rms + 1e-20)),
            "level_std_db": float(st.std()),
            "low_high_db": float(10 * np.log10((lo_e + 1e-30) / (hi_e + 1e-30))),
            "hf_share": float(hi_e / (avg.sum() + 1e-30))}


def desc_vector(d: dict[str, float]) -> np.ndarray:
    return np.array([np.log(d["centroid_hz"] + 1e-9), np.log(d["flatness"] + 1e-9), d["onsets_per_s"], d["crest_db"],
                     d["level_std_db"], d["low_high_db"]])


def features(x: np.ndarray, sr: int) -> np.ndarray:
    p = stft_power(x, 2048, 512)
    lm = np.log(p @ mel_fb(sr, 2048).T + 1e-10)
    d = descriptors(x, sr)
    return np.concatenate([lm.mean(axis=0), lm.std(axis=0), desc_vector(d), [d["hf_share"]]])


def decay_time_s(x: np.ndarray, sr: int, drop_db: float = 30.0) -> float:
    e = rms_db_frames(x, sr, 0.010, 0.005)
    k = int(np.argmax(e))
    above = np.flatnonzero(e[k:] >= e[k] - drop_db)
    return float(above[-1] * 0.005) if above.size else 0.0


def lowest_strong_peak_hz(x: np.ndarray, sr: int, rel_db: float = 30.0) -> float:
    from scipy.signal import find_peaks

    seg = x[: 2 * sr] * np.hanning(min(x.size, 2 * sr))
    mag = np.abs(np.fft.rfft(seg, 2 * sr))
    f = np.fft.rfftfreq(2 * sr, 1 / sr)
    mag[f < 40] = 0
    db = 20 * np.log10(mag + 1e-20)
    pk, _ = find_peaks(db, height=db.max() - rel_db, distance=10)
    return float(f[pk[0]]) if pk.size else float("nan")


# -- sections ----------------------------------------------------------------------------------------
def bench_rtf(models, quick: bool, seed: int) -> list[dict]:
    from voxpost.foley import generate as gen
    from voxpost.foley.prompt import parse

    dur = 3.0 if quick else 10.0
    reps = 1 if quick else 3
    rows = []
    for name, m in models.items():
        params = m.defaults()
        m.render(dict(params), 1.0, SR, np.random.default_rng(seed), None)  # warm-up
        t_r = best_of_s(lambda: m.render(dict(params), dur, SR, np.random.default_rng(seed), None), reps)
        plan = parse(m.examples[0])

        def full():
            mix, _ = gen.render_take(plan, models, dur, SR, seed, None, [])
            gen.limit(mix, SR)

        full()
        t_f = best_of_s(full, reps)
        lay = plan.layers[0]
        rows.append({"model": name, "render": t_r / dur, "full": t_f / dur, "prompt": m.examples[0],
                     "where": f"{lay.distance_m:g} m, {lay.space}" + (f" (+{len(plan.layers) - 1} layers)"
                                                                      if len(plan.layers) > 1 else "")})
    return rows


def bench_place_rtf(quick: bool, seed: int) -> list[dict]:
    from voxpost.foley.space import SPACES, place

    dur = 3.0 if quick else 10.0
    reps = 1 if quick else 3
    x = (np.random.default_rng(seed).normal(size=int(dur * SR)) * 0.1).astype(np.float32)
    rows = []
    for name in SPACES:
        place(x[:SR], SR, distance_m=5.0, space=name)  # compile, calibrate
        rows.append({"space": name, "rtf": best_of_s(lambda: place(x, SR, distance_m=5.0, space=name), reps) / dur})
    return rows


def bench_esc50(quick: bool, seed: int) -> dict:
    from voxpost.foley.generate import generate

    real = {}
    for wav in sorted((CORPUS / "foley").glob("esc50_*.wav")):
        label = wav.with_suffix(".txt").read_text().strip()
        x, sr = load_mono(wav)
        if sr != ESC_SR:
            x = resample_to(x, sr, ESC_SR)
        real[label] = x[: 5 * ESC_SR]
    n_takes = 4 if quick else 10
    gen_x = []
    with tempfile.TemporaryDirectory() as td:
        takes = generate(STORM_PROMPT, td, duration_s=10.0, variations=n_takes, seed=seed)
        for t in takes:
            x, sr = load_mono(t.path)
            gen_x.append(resample_to(x, sr, ESC_SR)[: 5 * ESC_SR])
    names = [f"real {k}" for k in real] + [f"gen {i + 1}" for i in range(len(gen_x))]
    sigs = list(real.values()) + gen_x
    descs = [descriptors(s, ESC_SR) for s in sigs]
    v = np.array([desc_vector(d) for d in descs])
    z = (v - v.mean(axis=0)) / (v.std(axis=0) + 1e-12)
    labels = list(real)
    zr = {k: z[i] for i, k in enumerate(labels)}
    zg = z[len(labels):]
    dist = {k: np.linalg.norm(zg - zr[k], axis=1) for k in labels}
    nearest = [labels[int(np.argmin([dist[k][i] for k in labels]))] for i in range(len(gen_x))]
    mean_dist = {k: float(np.linalg.norm(zg.mean(axis=0) - zr[k])) for k in labels}
    gen_mean = {k: float(np.mean([d[k] for d in descs[len(labels):]])) for k in DESC_KEYS}
    gen_sd = {k: float(np.std([d[k] for d in descs[len(labels):]])) for k in DESC_KEYS}
    return {"names": names, "descs": descs, "labels": labels, "dist": dist, "nearest": nearest,
            "mean_dist": mean_dist, "gen_mean": gen_mean, "gen_sd": gen_sd}


def draw_params(m, rng: np.random.Generator) -> dict:
    out = {}
    for p in m.params:
        if p.choices:
            out[p.name] = str(rng.choice(p.choices))
        else:
            v = float(rng.uniform(p.lo, p.hi))
            if isinstance(p.default, int) or p.name in ("count", "strikes"):
                v = float(int(round(v)))
            out[p.name] = v
    return m.resolve(out)


def bench_classifier(models, quick: bool, seed: int) -> dict:
    from voxpost.foley import generate as gen
    from voxpost.foley.prompt import Layer, Plan

    dur = 2.0 if quick else 4.0
    n_per, n_train = 12, 8
    rng = np.random.default_rng(seed + 17)
    X, y, params_log, silent = [], [], [], []
    for ci, (name, m) in enumerate(models.items()):
        for k in range(n_per):
            params = draw_params(m, rng)
            plan = Plan([Layer(name, dict(params))])
            mix, _ = gen.render_take(plan, models, dur, SR, int(rng.integers(1 << 30)), None, [])
            mix, _ = gen.limit(mix, SR)
            xm = mono(mix)
            if not np.any(xm):
                silent.append((name, params))
            X.append(features(xm, SR))
            y.append(ci)
            params_log.append(params)
    X, y = np.array(X), np.array(y)
    names = list(models)
    idx = np.arange(len(y)) % n_per
    tr, te = idx < n_train, idx >= n_train
    mu, sd = X[tr].mean(axis=0), X[tr].std(axis=0) + 1e-9
    Xs = (X - mu) / sd
    # nearest class mean
    cents = np.array([Xs[tr & (y == c)].mean(axis=0) for c in range(len(names))])
    pred_nc = np.argmin(((Xs[te][:, None, :] - cents[None]) ** 2).sum(axis=2), axis=1)
    res = {"names": names, "n_test": int(te.sum()), "nc_acc": float(np.mean(pred_nc == y[te])), "silent": silent}
    preds = {"nearest mean": pred_nc}
    try:
        from sklearn.linear_model import LogisticRegression

        clf = LogisticRegression(max_iter=5000, C=1.0)
        clf.fit(Xs[tr], y[tr])
        pred_lr = clf.predict(Xs[te])
        res["lr_acc"] = float(np.mean(pred_lr == y[te]))
        preds["logistic"] = pred_lr
    except ImportError:
        res["lr_acc"] = None
    errs = []
    test_params = [p for p, t in zip(params_log, te) if t]
    for clf_name, pr in preds.items():
        for i, (t, p) in enumerate(zip(y[te], pr)):
            if t != p:
                errs.append((clf_name, names[t], names[p], test_params[i]))
    res["errors"] = errs
    return res


def _dry(models, name, params, dur, seed, events=None):
    m = models[name]
    return np.asarray(m.render(m.resolve(params), dur, SR, np.random.default_rng(seed), events), np.float64)


def bench_params(models, quick: bool, seed: int) -> list[dict]:
    from voxpost.foley import space

    seeds = [seed + i for i in range(2 if quick else 4)]
    dur = 4.0 if quick else 8.0
    lvl = lambda x: float(10 * np.log10(np.mean(x ** 2) + 1e-20))  # noqa: E731
    ons = lambda x: descriptors(x, SR)["onsets_per_s"]  # noqa: E731
    cen = lambda x: descriptors(x, SR)["centroid_hz"]  # noqa: E731
    hf = lambda x: descriptors(x, SR)["hf_share"]  # noqa: E731

    def dry_check(label, model, pname, a, b, measure, mname, up, extra=None):
        return {"label": label, "check": f"{model} {pname} {a:g} -> {b:g}", "measure": mname, "up": up,
                "vals": [(measure(_dry(models, model, {**(extra or {}), pname: a}, dur, s)),
                          measure(_dry(models, model, {**(extra or {}), pname: b}, dur, s))) for s in seeds]}

    checks = [
        dry_check("pace", "footsteps", "pace_hz", 1.0, 2.5, ons, "onsets/s", True),
        dry_check("pace", "hooves", "pace", 0.7, 1.5, ons, "onsets/s", True),
        dry_check("rate", "clock_tick", "rate_hz", 1.0, 4.0, ons, "onsets/s", True),
        dry_check("rate", "drips", "rate_hz", 0.5, 4.0, ons, "onsets/s", True),
        dry_check("rate", "church_bell", "rate_hz", 0.25, 1.0, ons, "onsets/s", True),
        dry_check("intensity", "rain", "intensity", 0.2, 0.9, lvl, "level dBFS (dry)", True),
        dry_check("intensity", "rain", "intensity", 0.2, 0.9, ons, "onsets/s", True),
        dry_check("strength", "wind", "strength", 0.2, 0.9, lvl, "level dBFS (dry)", True),
        dry_check("strength", "wind", "strength", 0.2, 0.9, cen, "centroid Hz", True),
        dry_check("size", "church_bell", "diameter_m", 0.5, 1.4, lambda x: lowest_strong_peak_hz(x, SR),
                  "fundamental Hz", False, {"rate_hz": 0.07}),
        dry_check("size", "fire", "size", 0.1, 0.9, lvl, "level dBFS (dry)", True),
        dry_check("flow", "stream", "flow", 0.1, 0.9, lvl, "level dBFS (dry)", True),
    ]

    def placed(name, params, s, **kw):
        return mono(space.place(_dry(models, name, params, dur, s).astype(np.float32), SR, seed=s, **kw))

    for mname, fn in (("centroid Hz", cen), ("HF share >4 kHz", hf)):
        checks.append({"label": "distance", "check": "rain (ground) through place(): 1 m -> 100 m", "measure": mname,
                       "up": False, "vals": [(fn(placed("rain", {}, s, distance_m=1.0)),
                                              fn(placed("rain", {}, s, distance_m=100.0))) for s in seeds]})
    checks.append({"label": "space", "check": "one door knock through place(): dry -> church",
                   "measure": "decay to -30 dB, s", "up": True,
                   "vals": [(decay_time_s(placed("door_knock", {"count": 1}, s, space="dry"), SR),
                             decay_time_s(placed("door_knock", {"count": 1}, s, space="church"), SR))
                            for s in seeds]})
    for c in checks:
        c["pass"] = all((b > a) if c["up"] else (b < a) for a, b in c["vals"])
    return checks


def readme_prompts() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return list(dict.fromkeys(re.findall(r"voxpost foley\s+[\"“']([^\"”']+)[\"”']", text)))


def bench_prompts(models) -> dict:
    from voxpost.foley.model import FoleyError
    from voxpost.foley.prompt import parse

    ex = [(m.name, e) for m in models.values() for e in m.examples]
    rd = [("README", p) for p in readme_prompts()]
    fails, wrong = [], []
    for owner, p in ex + rd:
        try:
            plan = parse(p)
            if owner != "README" and plan.layers[0].model != owner:
                wrong.append((owner, p, [lay.model for lay in plan.layers]))
        except FoleyError as exc:
            fails.append((owner, p, str(exc)))
    return {"n_examples": len(ex), "n_readme": len(rd), "fails": fails, "wrong": wrong}


def first_at_or_above(x: np.ndarray, c: float, sr: int) -> float:
    """Onset near cue ``c`` (s): the first sample in ``c`` +-50 ms whose |x| reaches both -20 dB of
    the window's peak and ``BG_MARGIN_DB`` above the largest |x| in [c - 50 ms, c - 20 ms] (what was
    already sounding); NaN when the window's peak is not that far above it (no distinct onset)."""
    a = np.abs(x)
    lo, hi = int(round((c - CUE_WIN_S) * sr)), int(round((c + CUE_WIN_S) * sr)) + 1
    lo = max(lo, 0)
    w = a[lo:hi]
    bg = float(a[lo:max(lo, int(round((c - BG_GAP_S) * sr)))].max(initial=0.0)) * 10 ** (BG_MARGIN_DB / 20)
    if w.max() <= bg:
        return float("nan")
    k = int(np.flatnonzero(w >= max(w.max() * 10 ** (CUE_REL_DB / 20), bg))[0])
    return (lo + k) / sr


def _nanmaxabs(v) -> float:
    a = np.abs(np.asarray(v, float))
    return float(np.nanmax(a)) if np.isfinite(a).any() else float("nan")


def bench_cues(models, seed: int) -> list[dict]:
    from scipy.signal import butter, sosfiltfilt

    from voxpost.foley.generate import generate
    from voxpost.foley.prompt import parse

    sos = butter(4, 1000.0 / (SR / 2), "highpass", output="sos")
    rows = []
    with tempfile.TemporaryDirectory() as td:
        for name, ex in [(n, 0) for n in EVENT_MODELS] + [("thunder", 1)]:
            if name not in models:
                rows.append({"model": name, "missing": True})
                continue
            prompt = models[name].examples[ex]
            # a bell or a thunder roll rings for seconds: the next strike sounds inside the last one's tail,
            # so those take one cue per take (the cue rule cannot see an onset under a louder tail)
            groups = [[c] for c in CUES] if name in LONG_TAIL else [CUES]
            e_raw, e_hp = [], []
            for gi, cues_s in enumerate(groups):
                t = generate(prompt, Path(td) / f"{name}{ex}-{gi}", variations=1, seed=seed, cues_s=cues_s)[0]
                x, sr = load_mono(t.path)
                xh = sosfiltfilt(sos, x)
                e_raw += [1e3 * (first_at_or_above(x, c, sr) - c) for c in cues_s]
                e_hp += [1e3 * (first_at_or_above(xh, c, sr) - c) for c in cues_s]
            m = models[name]
            params = parse(prompt).layers[0].params
            iso = []
            for c in CUES:  # one event alone, dry render: is the model's own onset on the cue?
                xi = np.asarray(m.render(dict(params), CUES[-1] + 1.0, SR, np.random.default_rng(seed),
                                         np.array([c])), np.float64)
                iso.append(1e3 * (first_at_or_above(xi, c, SR) - c))
            rows.append({"model": name, "prompt": prompt, "raw": e_raw, "hp": e_hp, "iso": _nanmaxabs(iso),
                         "max_raw": _nanmaxabs(e_raw), "max_hp": _nanmaxabs(e_hp),
                         "masked": sum(np.isnan(e) for e in e_raw),
                         "where": f"{t.layers[0]['distance_m']:g} m, {t.layers[0]['space']}"})
    return rows


# -- report -----------------------------------------------------------------------------------------
def yn(ok: bool) -> str:
    return "met" if ok else "NOT met"


def report(models, rtf, place_rtf, esc, cls, par, pr, cues, args, elapsed) -> str:
    L = []
    L.append("# Foley benchmark\n")
    L.append(f"`benchmarks/foley.py`{' --quick' if args.quick else ''} --seed {args.seed}; one thread; "
             f"{elapsed:.0f} s. Method in the script's docstring; in short: RTF per model (render alone, and the "
             "full take path: render, loudness, place at the first example's distance and space, true-peak limit); "
             "descriptors of generated thunderstorms against the ESC-50 clips in the corpus; a classifier on "
             "generated takes with random parameters; parameter -> descriptor checks on several seeds; every "
             "example prompt parsed; event onsets against cues in the written files.\n")
    # targets
    n = len(models)
    worst_r = max(r["render"] for r in rtf)
    worst_f = max(r["full"] for r in rtf)
    cue_ok = [r for r in cues if not r.get("missing")]
    max_cue = _nanmaxabs([r["max_raw"] for r in cue_ok])
    max_cue_hp = _nanmaxabs([r["max_hp"] for r in cue_ok])
    n_masked = sum(r["masked"] for r in cue_ok)
    n_cues = len(CUES) * len(cue_ok)
    L.append("## Targets\n")
    L.append("| target | result | |")
    L.append("|---|---|---|")
    L.append(f"| 20 or more models | {n} | {yn(n >= MODELS_TARGET)} |")
    L.append(f"| RTF <= {RTF_TARGET} (render) | worst {worst_r:.4f} ({max(rtf, key=lambda r: r['render'])['model']}) "
             f"| {yn(worst_r <= RTF_TARGET)} |")
    L.append(f"| RTF <= {RTF_TARGET} (full take) | worst {worst_f:.4f} ({max(rtf, key=lambda r: r['full'])['model']}) "
             f"| {yn(worst_f <= RTF_TARGET)} |")
    worst_p = max(place_rtf, key=lambda r: r["rtf"])
    L.append(f"| RTF <= {PLACE_RTF_TARGET} (place in a space, 5 m) | worst {worst_p['rtf']:.4f} ({worst_p['space']}) "
             f"| {yn(worst_p['rtf'] <= PLACE_RTF_TARGET)} |")
    n_p = pr["n_examples"] + pr["n_readme"]
    L.append(f"| every README example prompt resolves | {n_p - len(pr['fails'])}/{n_p} "
             f"({pr['n_readme']} from README.md) | {yn(not pr['fails'])}"
             f"{' (README lists no foley prompts)' if not pr['n_readme'] else ''} |")
    L.append(f"| event timing on cues within {CUE_TARGET_MS:g} ms | max {max_cue:.2f} ms over "
             f"{n_cues - n_masked} of {n_cues} cues with a distinct onset in the mix (high-passed: {max_cue_hp:.2f} ms); "
             f"isolated events: max {_nanmaxabs([r['iso'] for r in cue_ok]):.2f} ms | "
             f"{yn(max_cue <= CUE_TARGET_MS)}{f' on those; {n_masked} cue(s) unverifiable (masked)' if n_masked else ''} |")
    L.append("")

    L.append("## Real-time factor (48 kHz, one thread)\n")
    dur = "3 s, best of 1" if args.quick else "10 s, best of 3"
    L.append(f"{dur}. Full take: `render_take` + `limit` on the first example prompt (distance, space as parsed).\n")
    L.append("| model | render RTF | full-take RTF | first example (distance, space) |")
    L.append("|---|---:|---:|---|")
    for r in rtf:
        L.append(f"| {r['model']} | {r['render']:.4f} | {r['full']:.4f} | {r['prompt']} ({r['where']}) |")
    L.append("")
    L.append("`space.place` of white noise at 5 m (same length and repeats), per space:\n")
    L.append("| space | place RTF |")
    L.append("|---|---:|")
    for r in place_rtf:
        L.append(f"| {r['space']} | {r['rtf']:.4f} |")
    L.append("")

    L.append("## Descriptors against ESC-50\n")
    L.append(f"Generated: \"{STORM_PROMPT}\" ({len(esc['names']) - len(esc['labels'])} takes, first 5 s at "
             "44.1 kHz). Real: the corpus's ESC-50 clips.\n")
    L.append("| clip | centroid Hz | flatness | onsets/s | crest dB | level std dB | low/high dB | HF share | "
             "dist to thunderstorm | dist to dog | dist to car_horn |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    nl = len(esc["labels"])
    for i, (nm, d) in enumerate(zip(esc["names"], esc["descs"])):
        if i < nl:
            dd = ["", "", ""]
        else:
            dd = [f"{esc['dist'][k][i - nl]:.2f}" for k in ("thunderstorm", "dog", "car_horn")]
        L.append(f"| {nm} | {d['centroid_hz']:.0f} | {d['flatness']:.3f} | {d['onsets_per_s']:.1f} | "
                 f"{d['crest_db']:.1f} | {d['level_std_db']:.1f} | {d['low_high_db']:.1f} | {d['hf_share']:.3f} | "
                 + " | ".join(dd) + " |")
    gm, gs = esc["gen_mean"], esc["gen_sd"]
    L.append("| generated mean (sd) | " + " | ".join(
        f"{gm[k]:.{0 if k == 'centroid_hz' else 3 if k in ('flatness', 'hf_share') else 1}f} "
        f"({gs[k]:.{0 if k == 'centroid_hz' else 3 if k in ('flatness', 'hf_share') else 1}f})"
        for k in DESC_KEYS) + " | | | |")
    L.append("")
    near = esc["nearest"]
    n_storm = sum(1 for k in near if k == "thunderstorm")
    md = esc["mean_dist"]
    L.append(f"Nearest real clip (z-scored descriptor vector): thunderstorm for {n_storm} of {len(near)} takes "
             f"(others: {', '.join(f'{k} x{near.count(k)}' for k in esc['labels'] if k != 'thunderstorm' and near.count(k)) or 'none'}). "
             f"Mean generated vector: distance {md['thunderstorm']:.2f} to thunderstorm, {md['dog']:.2f} to dog, "
             f"{md['car_horn']:.2f} to car_horn -> "
             f"{'nearer to the real thunderstorm' if md['thunderstorm'] < min(md['dog'], md['car_horn']) else 'NOT nearest to the real thunderstorm'}."
             " One real clip per class: this says the takes sit on the right side of these three recordings, "
             "no more.\n")

    L.append("## Classifier: are the models distinct?\n")
    L.append(f"{len(cls['names'])} models x 12 takes ({'2' if args.quick else '4'} s, random seeds and parameters), "
             f"8 train / 4 test each ({cls['n_test']} test takes); {2 * N_MEL} log-mel stats + 7 descriptors.\n")
    L.append("| classifier | test accuracy |")
    L.append("|---|---:|")
    if cls["lr_acc"] is not None:
        L.append(f"| logistic regression (scikit-learn) | {cls['lr_acc']:.3f} |")
    L.append(f"| nearest class mean | {cls['nc_acc']:.3f} |")
    L.append("")
    for nm, pa in cls["silent"]:
        ps = ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in pa.items())
        L.append(f"- SILENT take: {nm} ({ps})")
    if cls["silent"]:
        L.append("")
    if cls["errors"]:
        L.append("Misclassified test takes:\n")
        L.append("| classifier | true | predicted | parameters |")
        L.append("|---|---|---|---|")
        for c, t, p, pa in cls["errors"]:
            ps = ", ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in pa.items())
            L.append(f"| {c} | {t} | {p} | {ps} |")
        L.append("")

    L.append("## Parameters move descriptors\n")
    L.append("Dry render (no loudness normalisation) unless `place()` is named; values per seed as a -> b; pass: "
             "every seed moves the expected way.\n")
    L.append("| check | descriptor | expected | per seed (a -> b) | mean a -> b | |")
    L.append("|---|---|---|---|---|---|")
    for c in par:
        per = "; ".join(f"{a:.3g} -> {b:.3g}" for a, b in c["vals"])
        ma = np.mean([a for a, _ in c["vals"]])
        mb = np.mean([b for _, b in c["vals"]])
        L.append(f"| {c['check']} | {c['measure']} | {'up' if c['up'] else 'down'} | {per} | {ma:.3g} -> {mb:.3g} | "
                 f"{'pass' if c['pass'] else 'FAIL'} |")
    L.append("")

    L.append("## Prompts\n")
    L.append(f"{pr['n_examples']} model example prompts and {pr['n_readme']} README `voxpost foley \"...\"` prompts; "
             f"{len(pr['fails'])} fail to parse.")
    for o, p, e in pr["fails"]:
        L.append(f"- FAIL ({o}) \"{p}\": {e}")
    if pr["wrong"]:
        L.append(f"\n{len(pr['wrong'])} example(s) parse to a different first model than the one they belong to:")
        for o, p, ms in pr["wrong"]:
            L.append(f"- ({o}) \"{p}\" -> {', '.join(ms)}")
    L.append("")

    L.append("## Events on cues\n")
    L.append(f"Cues {', '.join(f'{c:g}' for c in CUES)} s; onset = first sample in cue +-50 ms (|x|, channel mean "
             "of the written file) at -20 dB of that window's peak and at least 6 dB above the largest |x| 50..20 ms "
             "before the cue (what was already sounding); error = onset - cue, ms; nan = no distinct onset (the "
             "window never rises 6 dB above the preceding sound, e.g. a strike inside the previous one's roll). "
             "Right columns: the same on the file high-passed at 1 kHz. The last row is thunder's second example "
             "(a near strike, with a crack). Isolated: the model rendered dry with one event at each cue time "
             "(the example's parameters), same onset rule.\n")
    L.append("| model | prompt (distance, space) | errors (ms) | max abs | high-passed 1 kHz: errors | max abs | "
             "isolated event, dry render: max abs | |")
    L.append("|---|---|---|---:|---|---:|---:|---|")
    for r in cues:
        if r.get("missing"):
            L.append(f"| {r['model']} | (no such model) | | | | | |")
            continue
        L.append(f"| {r['model']} | {r['prompt']} ({r['where']}) | {', '.join(f'{e:+.2f}' for e in r['raw'])} | "
                 f"{r['max_raw']:.2f} | {', '.join(f'{e:+.2f}' for e in r['hp'])} | {r['max_hp']:.2f} | {r['iso']:.2f} | "
                 f"{'ok' if r['max_raw'] <= CUE_TARGET_MS else 'OVER'}"
                 + (f", {r['masked']} masked" if r["masked"] else "") + " |")
    L.append("")
    return "\n".join(L)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    ap.add_argument("--quick", action="store_true", help="shorter renders, fewer repeats and seeds")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    from voxpost.foley.prompt import load_models

    t0 = time.perf_counter()
    models = load_models()
    stages = {}

    def stage(name, fn):
        t = time.perf_counter()
        out = fn()
        stages[name] = time.perf_counter() - t
        print(f"[{name}: {stages[name]:.1f} s]", file=sys.stderr, flush=True)
        return out

    rtf = stage("rtf", lambda: bench_rtf(models, args.quick, args.seed))
    place_rtf = stage("place_rtf", lambda: bench_place_rtf(args.quick, args.seed))
    esc = stage("esc50", lambda: bench_esc50(args.quick, args.seed))
    cls = stage("classifier", lambda: bench_classifier(models, args.quick, args.seed))
    par = stage("params", lambda: bench_params(models, args.quick, args.seed))
    pr = stage("prompts", lambda: bench_prompts(models))
    cues = stage("cues", lambda: bench_cues(models, args.seed))
    md = report(models, rtf, place_rtf, esc, cls, par, pr, cues, args, time.perf_counter() - t0)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "foley.md").write_text(md + "\n", encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
