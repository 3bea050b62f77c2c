"""Train the learned denoise mask (``voxpost.clean.denoise_model.DenoiseNet``) from scratch.

Seeded and reproducible: all data is generated on the fly at 16 kHz from one
``numpy.random.default_rng(seed)`` and torch is seeded too, so ``--seed S --steps N`` always gives
the same weights on the same software (``--minutes`` stops on wall-clock time instead; the run
prints how many steps it made, so ``--steps`` reproduces it).

Data (the corpus at ``../shared/corpus`` or ``$VOXPOST_CORPUS``; ``speech/`` and ``noisy/`` are
held out, they are the benchmark's test set):

- speech: ``multilingual/*.ogg`` (FLEURS, 5 languages), ``multispeaker/*.wav`` (AMI / pyannote
  sample) and the audio of ``video/*.mpg`` (GRID), mono, 16 kHz. Augmented per example with a
  random level (-40..-10 dBFS RMS), speed/pitch perturbation by resampling (x0.9..1.1) and a
  gentle spectral tilt (+-3 dB/octave around 1 kHz, at most +-9 dB).
- noise: ``voxpost.noisegen`` (traffic, hiss, siren, synthetic babble, and hum and crackle at a
  lower rate), babble built from the training speech (``babble_from``), the real
  ``noise/freesound_573577.wav`` and the ``foley/*.wav`` clips, and coloured noise (random
  tilt); sometimes two at once; mixed at an SNR of -5..20 dB.
- target: ideal band gains ``sqrt(clean band power / noisy band power)`` clipped to [0, 1] on the
  inference framing (low-delay STFT, 320/40 at 16 kHz, the same bands); loss: MSE of
  ``gain ** 0.5`` plus half the MSE of the gains.

Usage::

    .venv/bin/python models/train_denoiser.py --seed 0 --minutes 45 --out models/denoise-gru.pt
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import glob  # noqa: E402
import math  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import soxr  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from voxpost import noisegen  # noqa: E402
from voxpost.audio import load  # noqa: E402
from voxpost.clean.denoise_model import (  # noqa: E402
    DenoiseNet, analyse_batch, band_log_power, band_matrix, ema_coefficient, features,
    save_checkpoint)
from voxpost.models import sha256_file  # noqa: E402

SR, WINDOW, HOP = 16000, 320, 40
CORPUS = Path(os.environ.get("VOXPOST_CORPUS", REPO.parent / "shared" / "corpus"))

#: Relative rates of the noise sources (broadband non-stationary noise and babble first).
NOISE_WEIGHTS = {"babble_real": 0.22, "babble_synth": 0.08, "traffic": 0.12, "hiss": 0.08,
                 "coloured": 0.12, "freesound": 0.12, "foley": 0.1, "siren": 0.06,
                 "hum": 0.05, "crackle": 0.05}


def load_mono16k(path: Path) -> np.ndarray:
    a = load(path)
    x = a.samples.mean(axis=0).astype(np.float64)
    if a.sample_rate != SR:
        x = soxr.resample(x, a.sample_rate, SR, quality="HQ")
    return x


def load_speech() -> list[np.ndarray]:
    paths = (sorted(glob.glob(str(CORPUS / "multilingual" / "*.ogg")))
             + sorted(glob.glob(str(CORPUS / "multispeaker" / "*.wav")))
             + sorted(glob.glob(str(CORPUS / "video" / "*.mpg"))))
    for p in paths:  # the benchmark's test set never goes into training
        assert "/speech/" not in p and "/noisy/" not in p
    out = []
    for p in paths:
        x = load_mono16k(Path(p))
        out.append(x / (np.sqrt(np.mean(x * x)) + 1e-12))
    return out


def tilt(x: np.ndarray, db_per_octave: float) -> np.ndarray:
    """Gentle spectral tilt around 1 kHz (at most +-9 dB), by FFT."""
    spec = np.fft.rfft(x)
    f = np.maximum(np.fft.rfftfreq(x.size, 1.0 / SR), 50.0)
    gain_db = np.clip(db_per_octave * np.log2(f / 1000.0), -9.0, 9.0)
    return np.fft.irfft(spec * 10 ** (gain_db / 20.0), n=x.size)


def unit(x: np.ndarray) -> np.ndarray:
    return x / (np.sqrt(np.mean(x * x)) + 1e-12)


def build_noise_bank(speech: list[np.ndarray], rng: np.random.Generator) -> dict[str, list]:
    bank: dict[str, list[np.ndarray]] = {}
    for kind in ("traffic", "hiss", "siren", "hum", "crackle"):
        bank[kind] = [noisegen.KINDS[kind](20.0, SR, rng).astype(np.float64) for _ in range(4)]
    bank["babble_synth"] = [noisegen.KINDS["babble"](20.0, SR, rng).astype(np.float64)
                            for _ in range(3)]
    bank["babble_real"] = [noisegen.babble_from(speech, 20.0, SR, rng,
                                                talkers=int(rng.integers(3, 9))).astype(np.float64)
                           for _ in range(8)]
    bank["freesound"] = [unit(load_mono16k(CORPUS / "noise" / "freesound_573577.wav"))]
    bank["foley"] = [unit(load_mono16k(Path(p)))
                     for p in sorted(glob.glob(str(CORPUS / "foley" / "*.wav")))]
    return bank


def crop(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    if x.size <= n:
        return np.resize(np.roll(x, -int(rng.integers(x.size))), n)
    start = int(rng.integers(x.size - n))
    return x[start:start + n]


def draw_noise(bank: dict, n: int, rng: np.random.Generator) -> np.ndarray:
    kinds = list(NOISE_WEIGHTS)
    p = np.array([NOISE_WEIGHTS[k] for k in kinds])
    kind = kinds[int(rng.choice(len(kinds), p=p / p.sum()))]
    if kind == "coloured":
        v = tilt(rng.standard_normal(n), rng.uniform(-6.0, 3.0))
        # slow level modulation: non-stationary
        env = np.interp(np.arange(n), np.linspace(0, n, 8), rng.uniform(0.3, 1.0, 8))
        v = v * env if rng.random() < 0.5 else v
    else:
        clips = bank[kind]
        v = crop(clips[int(rng.integers(len(clips)))], n, rng)
    if rng.random() < 0.3:
        v = tilt(v, rng.uniform(-2.0, 2.0))
    return unit(v)


def draw_speech(speech: list[np.ndarray], lengths: np.ndarray, n: int,
                rng: np.random.Generator) -> np.ndarray:
    i = int(rng.choice(len(speech), p=lengths / lengths.sum()))
    factor = rng.uniform(0.9, 1.1)
    seg = crop(speech[i], int(math.ceil(n * factor)) + 64, rng)
    if abs(factor - 1.0) > 1e-3:  # read at SR * factor, play at SR: speed and pitch change
        seg = soxr.resample(seg, SR * factor, SR, quality="HQ")
    seg = np.resize(seg, n) if seg.size < n else seg[:n]
    seg = tilt(seg, rng.uniform(-3.0, 3.0))
    return unit(seg)


def make_example(speech, lengths, bank, n, rng):
    s = draw_speech(speech, lengths, n, rng)
    v = draw_noise(bank, n, rng)
    if rng.random() < 0.3:
        v = unit(v + draw_noise(bank, n, rng) * 10 ** (-rng.uniform(0.0, 6.0) / 20))
    snr = rng.uniform(-5.0, 20.0)
    noisy = noisegen.mix_at_snr(s, v, snr).astype(np.float64)
    level = 10 ** (rng.uniform(-40.0, -10.0) / 20)
    if rng.random() < 0.04:  # now and then noise alone
        s = np.zeros(n)
        noisy = v * 10 ** (-snr / 20)
    return s * level, noisy * level


def make_batch(speech, lengths, bank, batch, n, rng):
    pairs = [make_example(speech, lengths, bank, n, rng) for _ in range(batch)]
    clean = np.stack([p[0] for p in pairs])
    noisy = np.stack([p[1] for p in pairs])
    ps = np.abs(analyse_batch(clean, WINDOW, HOP)) ** 2
    py = np.abs(analyse_batch(noisy, WINDOW, HOP)) ** 2
    bm = band_matrix(SR, WINDOW).T
    bs, by = ps @ bm, py @ bm
    target = np.sqrt(bs / np.maximum(by, 1e-20)).clip(0.0, 1.0)
    target[by < 1e-20] = 1.0
    logp = band_log_power(py, SR, WINDOW, HOP)
    feats, _ = features(logp, None, ema_coefficient(HOP, SR))
    return (torch.from_numpy(feats.astype(np.float32)),
            torch.from_numpy(target.astype(np.float32)))


def loss_fn(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return (torch.mean((pred.clamp_min(1e-8).sqrt() - target.sqrt()) ** 2)
            + 0.5 * torch.mean((pred - target) ** 2))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--minutes", type=float, default=45.0, help="wall-clock training budget")
    ap.add_argument("--steps", type=int, default=0, help="train exactly this many steps instead")
    ap.add_argument("--out", type=Path, default=REPO / "models" / "denoise-gru.pt")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=3.0, help="length of a training example")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--save-every-min", type=float, default=5.0)
    args = ap.parse_args(argv)

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.time()
    speech = load_speech()
    lengths = np.array([x.size for x in speech], float)
    print(f"speech: {len(speech)} files, {lengths.sum() / SR:.1f} s at {SR} Hz", flush=True)
    bank = build_noise_bank(speech, rng)
    print(f"noise bank: {', '.join(f'{k} {sum(c.size for c in v) / SR:.0f} s' for k, v in bank.items())}"
          f" ({time.time() - t0:.1f} s)", flush=True)
    n = int(args.seconds * SR)
    val = make_batch(speech, lengths, bank, 64, n, np.random.default_rng(args.seed + 10_000))

    net = DenoiseNet()
    print(f"DenoiseNet {net.hparams}: {sum(p.numel() for p in net.parameters())} parameters",
          flush=True)
    opt = torch.optim.Adam(net.parameters(), lr=args.lr)
    budget_s = args.minutes * 60.0
    start = time.time()
    last_save = start
    step, running = 0, []

    def progress() -> float:
        return step / args.steps if args.steps else (time.time() - start) / budget_s

    def evaluate() -> float:
        net.eval()
        with torch.no_grad():
            out = loss_fn(net(val[0])[0], val[1]).item()
        net.train()
        return out

    def save(tag: str) -> None:
        save_checkpoint(net, args.out, train_seed=args.seed, train_steps=step,
                        train_seconds=round(time.time() - start, 1))
        print(f"[{tag}] saved {args.out} ({args.out.stat().st_size / 1e6:.2f} MB)", flush=True)

    print(f"val loss at start {evaluate():.4f}", flush=True)
    net.train()
    while progress() < 1.0:
        frac = progress()
        lr = 1e-4 + 0.5 * (args.lr - 1e-4) * (1 + math.cos(math.pi * min(frac, 1.0)))
        if step < 100:
            lr *= (step + 1) / 100
        for g in opt.param_groups:
            g["lr"] = lr
        x, y = make_batch(speech, lengths, bank, args.batch, n, rng)
        pred, _ = net(x)
        loss = loss_fn(pred, y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        running.append(loss.item())
        step += 1
        if step % args.log_every == 0:
            msg = (f"step {step} t {time.time() - start:.0f}s lr {lr:.2e} "
                   f"loss {np.mean(running):.4f}")
            if step % (args.log_every * 4) == 0:
                msg += f" val {evaluate():.4f}"
            print(msg, flush=True)
            running = []
        if time.time() - last_save > args.save_every_min * 60:
            save("periodic")
            last_save = time.time()
    final_val = evaluate()
    print(f"done: {step} steps in {time.time() - start:.0f} s; final val loss {final_val:.4f}",
          flush=True)
    save("final")
    print(f"sha256 {sha256_file(args.out)}", flush=True)
    print(f"reproduce: --seed {args.seed} --steps {step}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
