"""Textures: crowd murmur (walla), cloth rustle, sea waves and birdsong (procedural).

- crowd_murmur: up to six foreground voices are synthesised (a glottal buzz with breath noise
  through formant filters that move from vowel to vowel, with syllabic amplitude modulation at
  4-6 Hz and pauses between phrases, so there is speech rhythm but no words); the rest of the crowd
  is a speech-shaped noise bed whose level grows as the square root of the number of voices and
  whose syllabic modulation smooths out as it grows. Excitement raises pitch, pace, level and
  brightness.
- cloth_rustle: random gestures drive brushed friction noise with the fabric's spectrum, and
  crinkles (short resonant ticks) at a density that follows the motion: silk is bright and fine,
  cotton mid, wool dull and soft, leather low with creaks.
- sea_waves: every wave period a swell of low noise builds, breaks in a broadband crash, and
  recedes as a hissing wash of bubbles and sand (Farnell, "Designing Sound", water chapters).
- birdsong: birds sing phrases of FM chirps (gliding notes with trills), small birds high, short
  and fast, large birds lower, longer and harmonically richer.

The per-sample work runs in the kernels of :mod:`voxpost.dsp.grains` and :mod:`voxpost.dsp.babble`, or vectorised.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from voxpost.dsp.babble import babble_voices
from voxpost.dsp.grains import damped_grains, fm_notes
from voxpost.foley.model import Param, SoundModel, register
from voxpost.foley.synth import band, finish, frames, slow_random, white
from voxpost.foley.weather import level_word

# ----------------------------------------------------------------------------------------------
# crowd murmur

#: (F1, F2, F3) of five vowels, Hz (adult male; scaled for other voices).
_VOWELS = np.array([[730, 1090, 2440], [530, 1840, 2480], [270, 2290, 3010], [570, 840, 2410], [300, 870, 2240]],
                   np.float64)
_BLOCK = 64


def _syllables(rng, n_block: int, block_s: float, rate_hz: float, pause_p: float):
    """Per block: syllable envelope (0..1), syllable index, and position in the syllable (0..1)."""
    k = int(n_block * block_s * rate_hz * 1.5) + 8
    dur = rng.uniform(0.6, 1.4, k) / rate_hz
    gap = np.where(rng.random(k) < pause_p, rng.uniform(0.25, 0.9, k), 0.0)
    start = np.cumsum(np.concatenate(([-rng.uniform(0.0, 1.0)], (dur + gap)[:-1])))
    t = np.arange(n_block) * block_s
    i = np.clip(np.searchsorted(start, t, "right") - 1, 0, k - 1)
    x = (t - start[i]) / dur[i]
    env = np.where(x < 1.0, np.sin(np.pi * np.clip(x, 0.0, 1.0)) ** 0.6, 0.0)
    return env * rng.uniform(0.5, 1.0, k)[i], i, np.clip(x, 0.0, 1.0)


def _crowd(p: dict, duration_s: float, sr: int, rng: np.random.Generator, events_s) -> np.ndarray:
    n, size, exc = frames(duration_s, sr), int(round(float(p["size"]))), float(p["excitement"])
    fg = min(size, 6)
    nb, bs = n // _BLOCK + 2, _BLOCK / sr
    rate, pause = 4.0 + 2.0 * exc, 0.15 - 0.08 * exc
    f0, amp, breath, form = np.empty((fg, nb)), np.empty((fg, nb)), np.empty((fg, nb)), np.empty((fg, 3, nb))
    smooth = lambda a, c: lfilter([c], [1.0, c - 1.0], a, axis=-1)  # noqa: E731 - one-pole, block rate
    for v in range(fg):
        female = rng.random() < 0.5
        env, syl, x = _syllables(rng, nb, bs, rate * rng.uniform(0.85, 1.15), pause)
        base = (205.0 if female else 115.0) * rng.uniform(0.9, 1.1) * (1.0 + 0.45 * exc)
        accent = rng.normal(0.0, 0.08 + 0.06 * exc, syl.max() + 1)[syl]
        f0[v] = base * (1.0 + accent - 0.08 * x)
        amp[v] = smooth(env, 0.2)
        fric = (rng.random(syl.max() + 1) < 0.4)[syl] & (x < 0.18)  # a fricative opens some syllables
        breath[v] = smooth(np.where(fric, 0.85, 0.06), 0.3)
        vowel = _VOWELS[rng.integers(0, 5, syl.max() + 1)][syl] * (1.17 if female else 1.0)
        form[v] = smooth(vowel.T, 0.06)
    gain = 0.25 * (1.0 + exc)
    noise = white(rng, min(n, 4 * sr) + 1)
    y = gain * babble_voices(n, sr, _BLOCK, f0, amp, breath, form, (5.0, 8.0, 10.0), (1.0, 0.6, 0.3),
                             0.18 + 0.3 * exc, noise, rng.integers(0, noise.size, fg))
    if size > fg:  # the rest of the crowd: speech-shaped noise, modulation averaging out
        rest = size - fg
        mod = np.clip(1.0 + (1.2 / np.sqrt(rest)) * slow_random(rng, n, sr, rate), 0.0, None)
        bed = band(white(rng, n), sr, 200.0 + 100.0 * exc, 2200.0 + 1500.0 * exc)
        y += bed * mod * gain * 0.35 * np.sqrt(rest)
    return finish(0.35 * y, n)


register(SoundModel(
    name="crowd_murmur", cat_id="CRWDWalla",
    fx_name=lambda p: "Crowd Murmur " + level_word((float(p["size"]) - 3) / 197, ("Small", "Medium", "Large"))
    + (" Excited" if float(p["excitement"]) >= 0.6 else " Calm" if float(p["excitement"]) < 0.3 else ""),
    params=(Param("size", 20, 3, 200, "voices", help="number of people talking"),
            Param("excitement", 0.3, 0.0, 1.0, help="calm .. excited: pitch, pace, level, brightness")),
    render=_crowd, category="ambience", default_duration_s=10.0,
    description="Crowd murmur (walla): formant-filtered voices with syllabic rhythm and no words, over a "
                "speech-shaped bed for the rest of the crowd.",
    keywords=("crowd", "murmur", "murmuring", "walla", "chatter", "babble", "hubbub", "people talking"),
    examples=("a crowd murmuring in a tavern", "excited crowd chatter", "a few people talking quietly"),
    vocabulary={"few": ("size", 5), "couple": ("size", 3), "small": ("size", 8), "large": ("size", 120),
                "big": ("size", 120), "huge": ("size", 200), "tavern": ("size", 25), "excited": ("excitement", 0.85),
                "animated": ("excitement", 0.7), "rowdy": ("excitement", 0.95), "quiet": ("excitement", 0.1),
                "calm": ("excitement", 0.15), "hushed": ("excitement", 0.05)},
))


# ----------------------------------------------------------------------------------------------
# cloth rustle

#: fabric -> (noise band Hz, crinkles per second at full motion, crinkle band Hz, crinkle decay s, crinkle level)
_FABRICS = {"cotton": ((500.0, 5000.0), 120.0, (2000.0, 5000.0), 4e-4, 0.5),
            "silk": ((2500.0, 14000.0), 300.0, (5000.0, 11000.0), 2e-4, 0.35),
            "wool": ((200.0, 2200.0), 40.0, (900.0, 2500.0), 5e-4, 0.25),
            "leather": ((150.0, 2500.0), 25.0, (300.0, 1100.0), 6e-3, 0.5)}


def _cloth(p: dict, duration_s: float, sr: int, rng: np.random.Generator, events_s) -> np.ndarray:
    n, act, fabric = frames(duration_s, sr), float(p["activity"]), p["fabric"]
    rustle_hz, crink_rate, crink_band, decay, crink_level = _FABRICS[fabric]
    # gestures: raised-cosine bursts of motion at a rate set by the activity (control rate 1 kHz)
    step = sr // 1000 if sr >= 1000 else 1
    m = n // step + 2
    k = rng.poisson((0.3 + 2.5 * act) * duration_s) + 1
    start = rng.uniform(-0.3, duration_s, k)
    length = rng.uniform(0.25, 1.0, k)
    t = np.arange(m) * step / sr
    x = (t[None, :] - start[:, None]) / length[:, None]
    motion = (np.where((x > 0) & (x < 1), np.sin(np.pi * np.clip(x, 0, 1)) ** 2, 0.0)
              * rng.uniform(0.4, 1.0, k)[:, None]).sum(axis=0)
    motion = np.clip(motion, 0.0, 1.5) * (0.3 + 0.7 * act)
    env = np.interp(np.arange(n) / step, np.arange(m), motion)
    y = band(white(rng, n), sr, *rustle_hz) * env * (0.6 + 0.4 * np.abs(slow_random(rng, n, sr, 25.0)))
    # crinkles: a Poisson process thinned by the motion
    cand = rng.uniform(0.0, duration_s, rng.poisson(crink_rate * 1.5 * duration_s))
    on = (cand * sr).astype(np.int64)
    keep = rng.random(cand.size) < np.minimum(env[np.minimum(on, n - 1)] / 1.5, 1.0) if n else np.zeros(0, bool)
    on = on[keep]
    f = np.exp(rng.uniform(*np.log(crink_band), on.size))
    a = crink_level * rng.lognormal(0.0, 0.5, on.size) * np.sign(rng.uniform(-1, 1, on.size))
    y += damped_grains(n, sr, on, f, decay * rng.uniform(0.6, 1.5, on.size), 0.0, a)
    return finish(0.5 * y, n)


register(SoundModel(
    name="cloth_rustle", cat_id="CLOTHMvmt",
    fx_name=lambda p: f"Cloth Rustle {p['fabric'].title()} " + level_word(float(p["activity"]), ("Gentle", "Moving", "Active")),
    params=(Param("activity", 0.5, 0.0, 1.0, help="still .. busy: motion level and crinkle density"),
            Param("fabric", "cotton", choices=tuple(_FABRICS), help="spectrum and crinkle of the cloth")),
    render=_cloth, category="effects", default_duration_s=5.0,
    description="Cloth rustle: gestures of brushed friction noise with the fabric's spectrum and crinkles.",
    keywords=("cloth", "clothes", "clothing", "rustle", "rustling", "fabric", "garment", "coat", "dress"),
    examples=("silk dress rustling", "a leather jacket creaking as he moves", "cloth rustle"),
    vocabulary={"silk": ("fabric", "silk"), "satin": ("fabric", "silk"), "dress": ("fabric", "silk"),
                "leather": ("fabric", "leather"), "jacket": ("fabric", "leather"), "wool": ("fabric", "wool"),
                "woollen": ("fabric", "wool"), "coat": ("fabric", "wool"), "cotton": ("fabric", "cotton"),
                "shirt": ("fabric", "cotton"), "fidgeting": ("activity", 0.8), "busy": ("activity", 0.85),
                "slight": ("activity", 0.15), "still": ("activity", 0.05)},
))


# ----------------------------------------------------------------------------------------------
# sea waves


def _waves(p: dict, duration_s: float, sr: int, rng: np.random.Generator, events_s) -> np.ndarray:
    n, size, period = frames(duration_s, sr), float(p["size"]), float(p["period_s"])
    step = 64
    m = n // step + 2
    t = np.arange(m) * step / sr
    k = int(duration_s / period) + 3
    crest = rng.uniform(-0.8, 0.0) * period + np.cumsum(period * rng.uniform(0.85, 1.15, k))
    big = rng.uniform(0.6, 1.0, k)
    d = t[None, :] - crest[:, None]  # seconds from each wave's break
    rise = np.clip(1.0 + d / (0.6 * period), 0.0, 1.0) ** 2 * (d < 0)
    da = np.maximum(d, 0.0)
    crash = (d >= 0) * (1.0 - np.exp(-da / 0.08)) * np.exp(-da / (0.35 + 0.6 * size))
    wash = (d >= 0) * (1.0 - np.exp(-da / 0.5)) * np.exp(-da / (0.3 * period))
    up = lambda e: np.interp(np.arange(n) / step, np.arange(m), (e * big[:, None]).sum(axis=0))  # noqa: E731
    swell, crash, wash = up(rise), up(crash), up(wash)
    src = white(rng, n)
    y = band(src, sr, 40.0, 350.0) * (0.15 + swell * (0.4 + 0.8 * size) + crash * (1.0 + 2.0 * size))
    y += band(src, sr, 250.0, 4000.0) * crash * (0.5 + 1.0 * size)
    y += band(white(rng, n), sr, 1500.0, 8000.0) * (0.02 + wash) * (0.12 + 0.15 * size)
    return finish(0.6 * y, n)


register(SoundModel(
    name="sea_waves", cat_id="WATRWave",
    fx_name=lambda p: "Sea Waves " + level_word(float(p["size"]), ("Small Lapping", "Medium", "Large Crashing"))
    + (" Slow" if float(p["period_s"]) >= 11 else ""),
    params=(Param("size", 0.5, 0.0, 1.0, help="lapping .. crashing: level and low end of the break"),
            Param("period_s", 8.0, 3.0, 20.0, "s", help="time between waves")),
    render=_waves, category="ambience", default_duration_s=20.0,
    description="Sea waves: swells of low noise, a broadband crash at the break, a receding hissing wash.",
    keywords=("waves", "wave", "sea", "ocean", "surf", "shore", "beach", "breakers"),
    examples=("waves crashing on the shore", "gentle sea waves lapping", "a stormy ocean surf"),
    vocabulary={"crashing": ("size", 0.85), "stormy": ("size", 1.0), "rough": ("size", 0.85), "lapping": ("size", 0.15),
                "calm": ("size", 0.15), "gentle": ("size", 0.25), "breakers": ("size", 0.8), "slow": ("period_s", 13.0),
                "choppy": ("period_s", 4.0)},
))


# ----------------------------------------------------------------------------------------------
# birdsong


def _birds(p: dict, duration_s: float, sr: int, rng: np.random.Generator, events_s) -> np.ndarray:
    n, dens, small = frames(duration_s, sr), float(p["density"]), p["kind"] == "small"
    cols = [[] for _ in range(8)]  # onset, length, f0, f1, vib_hz, vib_depth, h2, amp
    for _bird in range(1 + int(round(4 * dens))):
        lo, hi = (rng.uniform(2500, 4000), rng.uniform(5000, 7500)) if small else (rng.uniform(700, 1100),
                                                                                  rng.uniform(1600, 2600))
        n_notes = rng.integers(3, 10) if small else rng.integers(2, 5)
        tmpl_f = np.exp(rng.uniform(np.log(lo), np.log(hi), (n_notes, 2)))  # the bird's phrase, reused
        tmpl_d = rng.uniform(0.03, 0.12, n_notes) if small else rng.uniform(0.12, 0.35, n_notes)
        level = rng.uniform(0.4, 1.0)
        rate = 0.25 + 0.6 * dens  # phrases per second
        starts = rng.uniform(0.0, min(1.0 / rate, 0.5 * duration_s)) + np.concatenate(
            ([0.0], np.cumsum(rng.exponential(1.0 / rate, int(duration_s * rate) + 3))))
        for s in starts[starts < duration_s]:
            dur = tmpl_d * rng.uniform(0.85, 1.15, n_notes)
            gaps = rng.uniform(0.02, 0.08, n_notes) if small else rng.uniform(0.08, 0.2, n_notes)
            on = s + np.concatenate(([0.0], np.cumsum(dur + gaps)[:-1]))
            f = tmpl_f * rng.uniform(0.95, 1.05, (n_notes, 1))
            for c, vals in enumerate(((on * sr).astype(np.int64), (dur * sr).astype(np.int64), f[:, 0], f[:, 1],
                                      rng.uniform(25, 60, n_notes) if small else rng.uniform(5, 12, n_notes),
                                      rng.uniform(0.0, 0.06, n_notes) * (rng.random(n_notes) < 0.5),
                                      np.full(n_notes, 0.05) if small else rng.uniform(0.2, 0.5, n_notes),
                                      level * rng.uniform(0.6, 1.0, n_notes))):
                cols[c].append(vals)
    args = [np.concatenate(c) if c else np.zeros(0) for c in cols]
    return finish(0.3 * fm_notes(n, sr, *args), n)


register(SoundModel(
    name="birdsong", cat_id="BIRDSong",
    fx_name=lambda p: f"Birdsong {'Small' if p['kind'] == 'small' else 'Large'} Birds "
    + level_word(float(p["density"]), ("Sparse", "Active", "Chorus")),
    params=(Param("density", 0.4, 0.0, 1.0, help="a lone bird .. a dawn chorus: birds and phrases per second"),
            Param("kind", "small", choices=("small", "large"), help="small songbirds (high, fast) or larger birds")),
    render=_birds, category="ambience", default_duration_s=10.0,
    description="Birdsong: phrases of FM chirps, each bird repeating its own phrase with variations.",
    keywords=("birds", "bird", "birdsong", "songbird", "songbirds", "chirping", "tweeting", "dawn chorus"),
    examples=("birds singing in the morning", "a dawn chorus", "a lone blackbird singing"),
    vocabulary={"chorus": ("density", 0.95), "dawn": ("density", 0.9), "many": ("density", 0.8),
                "lone": ("density", 0.05), "single": ("density", 0.05), "sparrows": ("kind", "small"),
                "finches": ("kind", "small"), "blackbird": ("kind", "large"), "thrush": ("kind", "large"),
                "pigeons": ("kind", "large"), "doves": ("kind", "large")},
))
