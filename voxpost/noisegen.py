"""Seeded synthetic noises a period-film sound editor meets, for training and benchmarking cleanup.

Every generator has the signature ``fn(seconds, sample_rate, rng) -> np.ndarray`` (float32,
shape ``(frames,)`` with ``frames = round(seconds * sample_rate)``), is normalised to unit RMS
(the caller scales it to an SNR, e.g. with :func:`mix_at_snr`), is fully vectorised
(numpy/scipy, no per-sample Python loop) and draws all its randomness from ``rng`` only, so the
same seed gives the same array:

- ``traffic``: low-passed brown-noise rumble plus 1-3 passing cars per 10 s (engine harmonics
  and tyre noise, Doppler-shifted through the propagation delay, 1/distance envelope).
- ``hum``: 50 or 60 Hz mains with a slow +-0.2 Hz drift, 6-12 harmonics with decaying random
  amplitudes and phases, plus a little odd-harmonic buzz.
- ``hiss``: white noise with a slight random spectral tilt (tape hiss).
- ``crackle``: sparse heavy-tailed clicks (Poisson rate 5-30/s, 1-30 samples long, random sign)
  over a low-level bed of tiny high-passed impulses (optical-track crackle).
- ``siren``: two-tone, wail or yelp siren (fundamental within 600-1400 Hz, with harmonics) under
  an approach/recede amplitude envelope.
- ``babble``: crowd babble.  With real speech use :func:`babble_from`; the ``KINDS`` entry has no
  speech to hand, so it sums 4-8 *synthetic* talkers (glottal pulse trains with jittered,
  intonated f0, switched between random vowel formant filters per syllable, with fricative
  noise and pauses).  It is speech-like in spectrum and modulation, but not real speech.

>>> import numpy as np
>>> from voxpost.noisegen import KINDS, mix_at_snr
>>> rng = np.random.default_rng(0)
>>> noise = KINDS["hum"](2.0, 16000, rng)
>>> speech = KINDS["babble"](2.0, 16000, rng)
>>> noisy = mix_at_snr(speech, noise, 5.0)
>>> noisy.shape, noisy.dtype
((32000,), dtype('float32'))
>>> round(float(10 * np.log10(np.sum(speech ** 2) / np.sum((noisy - speech) ** 2))), 1)
5.0
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
from scipy import signal

__all__ = ["KINDS", "traffic", "hum", "hiss", "crackle", "siren", "babble", "babble_from", "mix_at_snr"]

Generator = Callable[[float, int, np.random.Generator], np.ndarray]

_SPEED_OF_SOUND = 343.0


def _frames(seconds: float, sample_rate: int) -> int:
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if not np.isfinite(seconds) or seconds < 0:
        raise ValueError(f"seconds must be a finite non-negative number, got {seconds}")
    return int(round(seconds * sample_rate))


def _unit_rms(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    rms = np.sqrt(np.mean(x * x)) if x.size else 0.0
    if rms > 0 and np.isfinite(rms):
        x = x / rms
    return x.astype(np.float32)


def _butter(kind: str, hz, sample_rate: int, order: int = 4) -> np.ndarray:
    nyq = 0.5 * sample_rate
    hz = np.clip(np.atleast_1d(np.asarray(hz, float)), 1.0, 0.95 * nyq)
    return signal.butter(order, hz if hz.size > 1 else hz[0], kind, fs=sample_rate, output="sos")


def _smooth_noise(n: int, sample_rate: int, rng: np.random.Generator, cutoff_hz: float) -> np.ndarray:
    """Slow random control signal in [-1, 1] (white noise low-passed at ``cutoff_hz``, peak-normalised)."""
    if n == 0:
        return np.zeros(0)
    # Generate at a low control rate and interpolate: cheap and free of filter start-up transients.
    step = max(1, int(sample_rate / (20 * cutoff_hz)))
    m = n // step + 3
    knots = np.cumsum(rng.standard_normal(m))
    knots = knots - np.linspace(knots[0], knots[-1], m)  # pin both ends: no long-term trend
    out = np.interp(np.arange(n) / step, np.arange(m), knots)
    peak = np.max(np.abs(out))
    return out / peak if peak > 0 else out


# --------------------------------------------------------------------------------------------
# traffic


def traffic(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Street traffic: low-frequency rumble plus a few passing cars with Doppler and rise/fall."""
    n = _frames(seconds, sample_rate)
    if n == 0:
        return np.zeros(0, np.float32)
    t = np.arange(n) / sample_rate
    # Rumble: brown noise (integrated white), DC/drift removed, low-passed ~200-300 Hz.
    brown = np.cumsum(rng.standard_normal(n))
    brown = signal.sosfilt(_butter("highpass", 20.0, sample_rate, 2), brown)
    rumble = signal.sosfilt(_butter("lowpass", rng.uniform(200.0, 300.0), sample_rate, 4), brown)
    rumble = rumble / (np.sqrt(np.mean(rumble ** 2)) + 1e-12)
    out = rumble * rng.uniform(0.5, 1.0)

    cars = max(1, int(round(rng.uniform(1.0, 3.0) * seconds / 10.0)))
    for _ in range(cars):  # a handful of cars; each is a whole-array operation
        t0 = rng.uniform(-0.1, 1.1) * seconds          # moment of closest approach
        speed = rng.uniform(8.0, 22.0)                  # m/s
        dist = rng.uniform(4.0, 15.0)                   # m, closest distance
        # Source signal (in the car's own time): engine harmonics + band-limited tyre noise.
        margin = int(0.1 * sample_rate)
        m = n + margin
        ts = (np.arange(m) - margin) / sample_rate
        f_engine = rng.uniform(25.0, 70.0) * (1 + 0.05 * _smooth_noise(m, sample_rate, rng, 0.3))
        phase = 2 * np.pi * np.cumsum(f_engine) / sample_rate
        k = np.arange(1, 9)[:, None]
        amps = rng.uniform(0.3, 1.0, (8, 1)) * k ** -1.0
        amps[(k[:, 0] * f_engine.max()) > 0.45 * sample_rate] = 0
        engine = np.sum(amps * np.sin(k * phase[None, :] + rng.uniform(0, 2 * np.pi, (8, 1))), axis=0)
        lo = rng.uniform(250.0, 500.0)
        tyre = signal.sosfilt(_butter("bandpass", [lo, lo * rng.uniform(4.0, 8.0)], sample_rate, 2),
                              rng.standard_normal(m))
        src = engine / (np.std(engine) + 1e-12) * rng.uniform(0.3, 0.8) + tyre / (np.std(tyre) + 1e-12)
        # Received: s(t - r(t)/c) / r(t); the time-varying delay is the Doppler sweep.
        r = np.sqrt(dist ** 2 + (speed * (t - t0)) ** 2)
        received = np.interp(t - r / _SPEED_OF_SOUND, ts, src) * (dist / r)
        out = out + received * rng.uniform(1.0, 3.0)
    return _unit_rms(out)


# --------------------------------------------------------------------------------------------
# hum


def hum(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Mains hum: 50 or 60 Hz, +-0.2 Hz slow drift, 6-12 decaying harmonics, a little odd buzz."""
    n = _frames(seconds, sample_rate)
    if n == 0:
        return np.zeros(0, np.float32)
    mains = float(rng.choice([50.0, 60.0]))
    f = mains + 0.2 * _smooth_noise(n, sample_rate, rng, 0.2)
    phase = 2 * np.pi * np.cumsum(f) / sample_rate
    nh = int(rng.integers(6, 13))
    k = np.arange(1, nh + 1, dtype=float)
    amps = rng.uniform(0.4, 1.0, nh) * k ** -rng.uniform(0.5, 1.5)
    # Buzz: odd harmonics above the main series (rectifier/transformer saturation), low level.
    odd = np.arange(nh + 1 + (nh % 2 == 1), 3 * nh + 1, 2, dtype=float)  # odd k > nh
    odd_amps = rng.uniform(0.02, 0.08) * rng.uniform(0.5, 1.0, odd.size) * (odd / nh) ** -1.0
    ks = np.concatenate([k, odd])
    a = np.concatenate([amps, odd_amps])
    a[ks * (mains + 0.2) >= 0.45 * sample_rate] = 0.0
    phases = rng.uniform(0, 2 * np.pi, ks.size)
    out = np.zeros(n)
    for kk, aa, ph in zip(ks, a, phases):  # <= ~36 harmonics, each a whole-array sine
        if aa:
            out += aa * np.sin(kk * phase + ph)
    return _unit_rms(out)


# --------------------------------------------------------------------------------------------
# hiss


def hiss(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Tape hiss: white noise with a slight random spectral tilt (-2..+1.5 dB/octave)."""
    n = _frames(seconds, sample_rate)
    if n == 0:
        return np.zeros(0, np.float32)
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / sample_rate)
    tilt_db_oct = rng.uniform(-2.0, 1.5)
    ref = 1000.0
    gain_db = tilt_db_oct * np.log2(np.clip(freqs, 250.0, None) / ref)  # flat below 250 Hz
    spec *= 10 ** (gain_db / 20)
    out = np.fft.irfft(spec, n)
    return _unit_rms(out)


# --------------------------------------------------------------------------------------------
# crackle


def _place(n: int, pos: np.ndarray, lengths: np.ndarray, amps: np.ndarray, rng: np.random.Generator,
           out: np.ndarray) -> None:
    """Add clicks (half-sine shaped, slightly noisy) of ``lengths`` at ``pos`` into ``out``."""
    if pos.size == 0:
        return
    starts = np.cumsum(lengths) - lengths
    total = int(lengths.sum())
    offset = np.arange(total) - np.repeat(starts, lengths)
    L = np.repeat(lengths, lengths)
    shape = np.sin(np.pi * (offset + 0.5) / L) * (1 + 0.3 * rng.standard_normal(total))
    idx = np.repeat(pos, lengths) + offset
    keep = idx < n
    np.add.at(out, idx[keep], (np.repeat(amps, lengths) * shape)[keep])


def crackle(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Optical-track crackle: sparse heavy-tailed clicks (5-30/s, 1-30 samples) over a faint bed."""
    n = _frames(seconds, sample_rate)
    if n == 0:
        return np.zeros(0, np.float32)
    out = np.zeros(n)
    rate = rng.uniform(5.0, 30.0)
    count = int(rng.poisson(rate * n / sample_rate))
    pos = np.sort(rng.integers(0, n, count))
    lengths = rng.integers(1, 31, count)
    amps = (rng.pareto(1.5, count) + 1.0) * rng.choice([-1.0, 1.0], count)   # heavy-tailed, random sign
    _place(n, pos, lengths, amps, rng, out)
    # Bed: dense tiny impulses (dust, grain) high-passed, ~35-45 dB under a typical click.
    bed_count = int(rng.poisson(rng.uniform(300.0, 1500.0) * n / sample_rate))
    bed = np.zeros(n)
    bed_pos = rng.integers(0, n, bed_count)
    np.add.at(bed, bed_pos, rng.standard_normal(bed_count) * 10 ** (-rng.uniform(35, 45) / 20))
    bed = signal.sosfilt(_butter("highpass", min(1500.0, 0.3 * sample_rate), sample_rate, 2), bed)
    bed += rng.standard_normal(n) * 10 ** (-rng.uniform(55, 65) / 20)
    return _unit_rms(out + bed)


# --------------------------------------------------------------------------------------------
# siren


def siren(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Emergency siren (two-tone, wail or yelp; 600-1400 Hz plus harmonics) approaching and receding."""
    n = _frames(seconds, sample_rate)
    if n == 0:
        return np.zeros(0, np.float32)
    t = np.arange(n) / sample_rate
    style = rng.choice(["two-tone", "wail", "yelp"])
    if style == "two-tone":
        lo = rng.uniform(600.0, 900.0)
        hi = min(1400.0, lo * rng.uniform(1.25, 1.5))
        period = rng.uniform(0.8, 2.0)
        square = (np.floor((t / period + rng.uniform()) * 2) % 2).astype(float)
        # a 15 ms glide between the tones, as the horn's rotor changes speed
        w = max(1, int(0.015 * sample_rate))
        square = np.convolve(np.pad(square, (w // 2, w - 1 - w // 2), mode="edge"), np.ones(w) / w, "valid")
        f = lo + (hi - lo) * square
    else:
        lo, hi = rng.uniform(600.0, 800.0), rng.uniform(1100.0, 1400.0)
        period = rng.uniform(3.0, 6.0) if style == "wail" else rng.uniform(0.15, 0.35)
        ph = (t / period + rng.uniform()) % 1.0
        sweep = np.where(ph < 0.5, ph * 2, 2 - ph * 2) if style == "yelp" else 0.5 - 0.5 * np.cos(2 * np.pi * ph)
        f = lo + (hi - lo) * sweep
    phase = 2 * np.pi * np.cumsum(f) / sample_rate + rng.uniform(0, 2 * np.pi)
    nh = 6
    k = np.arange(1, nh + 1, dtype=float)[:, None]
    amps = rng.uniform(0.5, 1.0, (nh, 1)) * k ** -rng.uniform(1.0, 2.0)
    alias = k[:, 0] * 1400.0 >= 0.45 * sample_rate
    amps[alias] = 0.0
    tone = np.sum(amps * np.sin(k * phase[None, :]), axis=0)
    # Approach / recede: 1/distance envelope around a random pass time (no Doppler shift).
    t0 = rng.uniform(0.2, 0.8) * seconds
    dist, speed = rng.uniform(10.0, 40.0), rng.uniform(8.0, 20.0)
    env = dist / np.sqrt(dist ** 2 + (speed * (t - t0)) ** 2)
    return _unit_rms(tone * env)


# --------------------------------------------------------------------------------------------
# babble


def _mono(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return x.mean(axis=0) if x.ndim == 2 else x.ravel()


def babble_from(speech_list: Sequence[np.ndarray], seconds: float, sample_rate: int,
                rng: np.random.Generator, talkers: int = 6) -> np.ndarray:
    """Crowd babble from real speech: ``talkers`` randomly offset, gain-scaled speech excerpts summed.

    ``speech_list`` holds speech signals already at ``sample_rate`` (1-D, or ``[channels, frames]``
    which is averaged to mono). Each talker takes a random item, starts it at a random offset,
    loops it to the needed length, and gets a random level within 10 dB of the others.
    Unit RMS, float32.
    """
    n = _frames(seconds, sample_rate)
    items = [_mono(s) for s in speech_list]
    items = [s for s in items if s.size and np.any(s)]
    if not items:
        raise ValueError("babble_from needs at least one non-silent speech signal")
    if talkers < 1:
        raise ValueError(f"talkers must be >= 1, got {talkers}")
    out = np.zeros(n)
    if n == 0:
        return out.astype(np.float32)
    for _ in range(talkers):
        s = items[int(rng.integers(len(items)))]
        s = s / (np.sqrt(np.mean(s * s)) + 1e-12)
        track = np.resize(np.roll(s, -int(rng.integers(s.size))), n)  # random offset, looped
        out += track * 10 ** (-rng.uniform(0.0, 10.0) / 20)
    return _unit_rms(out)


def _synthetic_talker(n: int, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """One speech-like voice: glottal pulses with intonation through per-syllable vowel formants."""
    nyq = 0.5 * sample_rate
    # f0 contour: speaker base, slow intonation, a little jitter.
    base = rng.uniform(90.0, 240.0)
    f0 = base * 2 ** (0.25 * _smooth_noise(n, sample_rate, rng, 1.5) + 0.01 * rng.standard_normal(n))
    cycles = np.cumsum(f0) / sample_rate
    pulses = np.diff(np.floor(cycles), prepend=0.0)               # 1 at each glottal closure
    glottal = signal.lfilter([1.0], [1.0, -0.97], pulses - pulses.mean())  # -6 dB/oct source+radiation
    glottal += 0.02 * rng.standard_normal(n)                       # aspiration

    # Syllables: durations ~ gamma (mean ~0.2 s); each is a vowel, a fricative, or a pause.
    mean_syl = 0.2 * sample_rate
    count = int(n / mean_syl * 1.6) + 4
    durs = np.maximum(1, (rng.gamma(4.0, mean_syl / 4.0, count)).astype(int))
    ends = np.cumsum(durs)
    count = int(np.searchsorted(ends, n)) + 1
    durs = durs[:count]
    n_vowels = 5
    kind = rng.choice(n_vowels + 2, count, p=[0.15] * n_vowels + [0.12, 0.13])  # vowels, fricative, pause
    seg = np.repeat(np.arange(count), durs)[:n]
    seg = np.pad(seg, (0, n - seg.size), mode="edge")
    level = rng.uniform(0.4, 1.0, count)

    # Smooth masks (20 ms) so syllables glide rather than switch.
    w = max(1, min(n, int(0.02 * sample_rate)))
    win = np.hanning(w + 2)[1:-1]
    win /= win.sum()

    def mask(sel: np.ndarray) -> np.ndarray:
        m = (sel[seg] * level[seg]).astype(float)
        return np.convolve(m, win, mode="same")

    out = np.zeros(n)
    for v in range(n_vowels):  # a few formant banks, each a whole-array filter
        formants = [rng.uniform(300, 850), rng.uniform(850, 2400), rng.uniform(2400, 3300)]
        bws = [rng.uniform(60, 120), rng.uniform(80, 160), rng.uniform(120, 250)]
        sos = []
        for fc, bw in zip(formants, bws):
            fc = min(fc, 0.45 * sample_rate)
            r = np.exp(-np.pi * bw / sample_rate)
            th = 2 * np.pi * fc / sample_rate
            sos.append([1 - r, 0.0, 0.0, 1.0, -2 * r * np.cos(th), r * r])
        voiced = signal.sosfilt(np.array(sos), glottal)
        voiced /= np.std(voiced) + 1e-12
        out += voiced * mask(kind == v)
    fric = signal.sosfilt(_butter("bandpass", [min(2500.0, 0.3 * nyq), 0.9 * nyq], sample_rate, 2),
                          rng.standard_normal(n))
    fric /= np.std(fric) + 1e-12
    out += 0.5 * fric * mask(kind == n_vowels)
    return out


def babble(seconds: float, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """Crowd babble of 4-8 *synthetic* talkers (no real speech to hand; see :func:`babble_from`)."""
    n = _frames(seconds, sample_rate)
    if n == 0:
        return np.zeros(0, np.float32)
    talkers = int(rng.integers(4, 9))
    out = np.zeros(n)
    for _ in range(talkers):
        v = _synthetic_talker(n, sample_rate, rng)
        out += v / (np.sqrt(np.mean(v * v)) + 1e-12) * 10 ** (-rng.uniform(0.0, 10.0) / 20)
    return _unit_rms(out)


KINDS: dict[str, Generator] = {
    "traffic": traffic,
    "hum": hum,
    "hiss": hiss,
    "crackle": crackle,
    "siren": siren,
    "babble": babble,
}


# --------------------------------------------------------------------------------------------
# mixing


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech`` plus ``noise`` scaled so that speech energy over noise energy is ``snr_db`` dB.

    ``noise`` (1-D, or shaped like ``speech``) is tiled or cropped along its last axis to the
    speech length first. ``speech`` may be 1-D or ``[channels, frames]``. Returns float32.
    """
    s = np.asarray(speech, np.float64)
    v = np.asarray(noise, np.float64)
    frames = s.shape[-1]
    if v.shape[-1] == 0:
        raise ValueError("noise is empty")
    reps = -(-frames // v.shape[-1])
    v = np.tile(v, (1,) * (v.ndim - 1) + (reps,))[..., :frames]
    v = np.broadcast_to(v, s.shape)
    es, en = float(np.sum(s * s)), float(np.sum(v * v))
    if en <= 0:
        raise ValueError("noise has no energy; cannot set an SNR")
    if es <= 0:
        raise ValueError("speech has no energy; cannot set an SNR")
    gain = np.sqrt(es / (en * 10 ** (snr_db / 10)))
    return (s + gain * v).astype(np.float32)
