"""Weather and water: rain, wind, thunder, fire, a stream, drips and splashes (procedural).

Physically informed synthesis after Farnell ("Designing Sound", chapters on rain, wind, thunder,
fire and water) and Van den Doel ("Physically-based models for liquid sounds", 2005):

- rain: drops arrive as a Poisson process; their diameters follow Marshall-Palmer's exponential
  distribution for the rain rate, their momentum sets the strike. Every drop is an impulse into
  the surface's response, run once over the whole buffer (so a downpour of 6000 drops a second
  costs what a drizzle costs): soil thuds, leaf ticks, the ringing modes of a tin roof, glassy
  window ticks, or pavement splats with small bubbles in the puddles; a bed of unresolved drops
  fills in under them.
- wind: a wind speed (strength plus a slow random gust envelope) drives band-passed noise whose
  centre and level rise with the speed, and a narrow whistle resonance that tracks the speed.
- thunder: N-waves (pressure jumps, linear ramps, jumps back) from the lightning channel's
  segments; near, the closest segments arrive first as a sharp broadband crack; the rest arrive
  over the roll as ever longer, lower N-waves in clusters, with a low rumble. Distant strikes
  lose the crack: a low boom, then a long low-passed roll.
- fire: a low filtered-noise roar with flicker, hiss, and crackles (Poisson pops, each a short
  resonant burst with a few fizzy followers).
- stream, drips and splashes: bubbles, each a damped sine whose pitch rises as it nears the
  surface (Minnaert frequency ``3.26 / r`` kHz for radius ``r`` in mm, Van den Doel damping),
  over a noise bed (stream), after a tiny impact click (drips), or after an impact burst with
  spray (splash).

Drops, bubbles and pops are rendered by the kernels of :mod:`voxpost.dsp.grains`,
:mod:`voxpost.dsp.svf` and :mod:`voxpost.dsp.modal`, or vectorised; nothing loops over samples in Python.
"""

from __future__ import annotations

import numpy as np

from voxpost.dsp.grains import damped_grains
from voxpost.dsp.modal import modal_bank
from voxpost.dsp.svf import svf_bandpass
from voxpost.foley.model import Param, SoundModel, event_times, register
from voxpost.foley.synth import band, cue_times, finish, frames, impulses, slow_random, white

# ----------------------------------------------------------------------------------------------
# helpers (also used by :mod:`voxpost.foley.textures`)


def bubbles(n: int, sample_rate: int, onset: np.ndarray, radius_mm: np.ndarray, amp: np.ndarray,
            xi: float = 0.1, out: np.ndarray | None = None, span: float = 5.0) -> np.ndarray:
    """Van den Doel bubbles: Minnaert pitch ``3.26 / r`` kHz, damping ``0.13 f + 0.0072 f^1.5`` /s,
    pitch rising by ``xi`` of the damping rate per second."""
    f = 3260.0 / np.maximum(radius_mm, 0.05)
    d = 0.13 * f + 0.0072 * f ** 1.5
    return damped_grains(n, sample_rate, onset, f, 1.0 / d, xi * d, amp, span=span, out=out)


def level_word(x: float, words=("Light", "Steady", "Heavy")) -> str:
    """One of three words for ``x`` in 0..1 (below 1/3, below 2/3, above)."""
    return words[min(int(x * 3), 2)]


# ----------------------------------------------------------------------------------------------
# rain

_SURFACES = ("ground", "leaves", "tin_roof", "window", "pavement")
#: The UCS CatID of rain on each surface (the model's own is the general RAIN).
RAIN_CAT_IDS = {"ground": "RAIN", "leaves": "RAINVege", "tin_roof": "RAINMetl", "window": "RAINGlas",
                "pavement": "RAINConc"}


def _rain(p: dict, duration_s: float, sr: int, rng: np.random.Generator, events_s) -> np.ndarray:
    n, x, surface = frames(duration_s, sr), float(p["intensity"]), p["surface"]
    rate_mm_h = 0.3 * 200.0 ** x  # 0.3 (drizzle) .. 60 mm/h (downpour)
    count = rng.poisson((80.0 + 6000.0 * x ** 1.5) * duration_s)
    lam = 4.1 * rate_mm_h ** -0.21  # Marshall-Palmer slope, 1/mm
    d_mm = np.clip(0.3 + rng.exponential(1.0 / lam, count), 0.3, 6.0)
    v = 9.65 - 10.3 * np.exp(-0.6 * d_mm)  # terminal velocity, m/s (Atlas et al.)
    amp = (d_mm / 2.0) ** 1.5 * (v / 9.0) * rng.uniform(0.5, 1.0, count)
    idx = rng.integers(0, max(n, 1), count)
    sign = np.where(rng.random(count) < 0.5, -1.0, 1.0)
    cls = np.digitize(d_mm, (1.0, 2.2))  # small / medium / large drops
    imp = [impulses(n, idx[cls == c], (amp * sign)[cls == c]) for c in range(3)]
    every = imp[0] + imp[1] + imp[2]
    bed = white(rng, n) * (0.02 + 0.1 * x) * np.sqrt(x + 0.05)
    y = np.zeros(n)
    if surface == "ground":  # dull thuds on soil, darker for big drops
        for c, fc in enumerate((900.0, 550.0, 320.0)):
            y += 6.0 * svf_bandpass(imp[c], sr, fc, 1.2)
        y += 4.0 * band(bed, sr, None, 1200.0)
    elif surface == "leaves":  # short soft ticks and a little leaf flutter
        for c, fc in enumerate((3200.0, 2300.0, 1600.0)):
            y += 1.8 * svf_bandpass(imp[c], sr, fc, 1.5)
        f = rng.uniform(600.0, 3000.0, 8)
        y += 0.9 * modal_bank(every, sr, f, rng.uniform(0.02, 0.05, 8), np.full(8, 1.0))
        y += 2.1 * band(bed, sr, 1200.0, 6000.0)
    elif surface == "tin_roof":  # a click into the long metallic modes of the sheet
        f = 190.0 * np.array([1.0, 1.62, 2.37, 2.93, 3.85, 4.71, 5.97, 7.3, 8.9, 11.6, 15.4, 21.0])
        f *= rng.uniform(0.97, 1.03, f.size)
        y += 1.5 * svf_bandpass(every, sr, 3000.0, 0.8)
        y += 3.2 * modal_bank(every, sr, f, 1.1 * (f[0] / f) ** 0.4, (f[0] / f) ** 0.3)
        y += 0.65 * band(bed, sr, 800.0, 6000.0)
    elif surface == "window":  # narrow glassy ticks and the pane's short ring
        for c, fc in enumerate((7000.0, 5600.0, 4300.0)):
            y += 6.0 * svf_bandpass(imp[c], sr, fc * rng.uniform(0.9, 1.1), 8.0)
        f = rng.uniform(2500.0, 8000.0, 8)
        y += 2.5 * modal_bank(every, sr, f, rng.uniform(0.04, 0.12, 8), np.full(8, 1.0))
        y += 0.8 * band(bed, sr, 2500.0, 12000.0)
    else:  # pavement: broadband splats and small bubbles in the puddles
        y += 1.0 * svf_bandpass(every, sr, 2500.0, 0.5)
        pick = rng.random(count) < min(0.3, 1500.0 * duration_s / max(count, 1))
        bubbles(n, sr, idx[pick], d_mm[pick] * rng.uniform(0.3, 0.6, int(pick.sum())),
                0.55 * amp[pick] * sign[pick], out=y)
        y += 0.9 * band(bed, sr, 400.0, 9000.0)
    return finish(0.8 * y, n)


register(SoundModel(
    name="rain", cat_id="RAIN", cat_id_for=lambda p: RAIN_CAT_IDS.get(p["surface"], "RAIN"),
    fx_name=lambda p: f"Rain {level_word(float(p['intensity']))} {p['surface'].replace('_', ' ').title()}",
    params=(Param("intensity", 0.5, 0.0, 1.0, help="drizzle .. downpour: drop rate and drop size"),
            Param("surface", "ground", choices=_SURFACES, help="what the drops hit")),
    render=_rain, category="weather", default_duration_s=10.0,
    description="Rain: Poisson drops of Marshall-Palmer sizes striking ground, leaves, a tin roof, a window "
                "or pavement, over a bed of unresolved drops.",
    keywords=("rain", "raining", "rainfall", "downpour", "drizzle", "shower", "rainy"),
    examples=("heavy rain on a tin roof", "light rain on leaves", "rain against a window"),
    vocabulary={"heavy": ("intensity", 0.9), "downpour": ("intensity", 0.95), "pouring": ("intensity", 0.9),
                "torrential": ("intensity", 1.0), "light": ("intensity", 0.25), "drizzle": ("intensity", 0.08),
                "steady": ("intensity", 0.5), "tin": ("surface", "tin_roof"), "roof": ("surface", "tin_roof"),
                "metal": ("surface", "tin_roof"), "leaves": ("surface", "leaves"), "trees": ("surface", "leaves"),
                "window": ("surface", "window"), "glass": ("surface", "window"), "pane": ("surface", "window"),
                "pavement": ("surface", "pavement"), "street": ("surface", "pavement"),
                "concrete": ("surface", "pavement"), "ground": ("surface", "ground"), "soil": ("surface", "ground"),
                "grass": ("surface", "ground")},
))


# ----------------------------------------------------------------------------------------------
# wind


def _wind(p: dict, duration_s: float, sr: int, rng: np.random.Generator, events_s) -> np.ndarray:
    n, s, gust, whistle = frames(duration_s, sr), float(p["strength"]), float(p["gustiness"]), float(p["whistle"])
    gusts = slow_random(rng, n, sr, 0.6) * 0.7 * gust + slow_random(rng, n, sr, 3.0) * 0.12
    v = np.clip((0.1 + 0.9 * s) * (1.0 + gusts), 0.02, None)  # wind speed, 0..~1
    src = white(rng, n)
    y = svf_bandpass(src, sr, 150.0 + 1900.0 * v ** 1.3, 0.8) * v ** 1.5
    y += band(src, sr, None, 120.0) * v * 1.5  # low buffeting
    if whistle > 0:  # an edge tone: a narrow resonance riding the speed
        y += 14.0 * whistle * svf_bandpass(src, sr, 450.0 + 1600.0 * v, 40.0) * v ** 1.5
    return finish(0.6 * y, n)


register(SoundModel(
    name="wind", cat_id="WIND",
    fx_name=lambda p: " ".join(["Wind", level_word(float(p["strength"]), ("Light", "Moderate", "Strong"))]
                               + (["Gusty"] if float(p["gustiness"]) >= 0.5 else [])
                               + (["Whistling"] if float(p["whistle"]) >= 0.3 else [])),
    params=(Param("strength", 0.5, 0.0, 1.0, help="breeze .. gale: level and brightness"),
            Param("gustiness", 0.4, 0.0, 1.0, help="depth of the slow random gusts"),
            Param("whistle", 0.0, 0.0, 1.0, help="a narrow whistle tracking the wind speed")),
    render=_wind, category="weather", default_duration_s=10.0,
    description="Wind: band-passed noise driven by a wind speed with slow gusts; an optional whistle tracks the speed.",
    keywords=("wind", "windy", "breeze", "gust", "gusts", "gale", "blustery"),
    examples=("strong gusty wind", "a light breeze", "howling wind whistling"),
    vocabulary={"breeze": ("strength", 0.2), "gale": ("strength", 0.95), "howling": ("whistle", 0.7),
                "whistling": ("whistle", 0.8), "gusty": ("gustiness", 0.85), "blustery": ("gustiness", 0.9),
                "steady": ("gustiness", 0.1), "strong": ("strength", 0.85), "light": ("strength", 0.25)},
))


# ----------------------------------------------------------------------------------------------
# thunder


def _n_waves(n: int, start: np.ndarray, length: np.ndarray, amp: np.ndarray) -> np.ndarray:
    """Sum of N-waves (jump to ``+amp``, linear ramp to ``-amp`` over ``length`` samples, jump to 0),
    built from impulses and two running sums: cost independent of their number."""
    step, ramp = np.zeros(n + 1), np.zeros(n + 1)
    length = np.maximum(length, 2)
    for pos, val in ((start, amp), (start + length, amp)):
        np.add.at(step, np.minimum(pos, n), val)
    np.add.at(ramp, np.minimum(start, n), -2.0 * amp / length)
    np.add.at(ramp, np.minimum(start + length, n), 2.0 * amp / length)
    ramp = np.cumsum(np.cumsum(ramp))
    return (np.cumsum(step) + np.concatenate(([0.0], ramp[:-1])))[:n]


def _thunder(p: dict, duration_s: float, sr: int, rng: np.random.Generator, events_s) -> np.ndarray:
    n, near, roll_s = frames(duration_s, sr), p["proximity"] == "near", float(p["roll_s"])
    strikes = int(p["strikes"])
    times = cue_times(events_s, duration_s, lambda: event_times(duration_s, strikes / duration_s, rng, count=strikes,
                                                           start_s=0.1, jitter=0.3))
    dec = 8  # the roll is all below 500 Hz: it is built at sr / 8 and interpolated up once
    srl, nl = sr / dec, n // dec + 2
    y, low = np.zeros(n), np.zeros(nl)
    for t in times:
        s0 = int(round(t * sr))
        if s0 >= n:
            continue
        l0 = -(-s0 // dec) + 1  # first low-rate sample wholly after the strike
        # the roll: clusters of channel segments arriving over roll_s, ever longer and weaker
        ml = max(min(nl - l0, int((roll_s * 1.4 + 1.5) * srl)), 0)
        k = int(30 + 40 * roll_s)
        centre = roll_s * rng.beta(1.2, 2.2, k // 12 + 1)
        delay = np.abs(centre[rng.integers(0, centre.size, k)] + rng.normal(0.0, 0.12, k)) + 0.03
        ln_ms = (rng.uniform(6, 25, k) if near else rng.uniform(20, 60, k)) * (1 + delay / roll_s)
        roll = _n_waves(ml, (delay * srl).astype(np.int64), (ln_ms * 1e-3 * srl).astype(np.int64),
                        np.exp(-2.5 * delay / roll_s) * rng.uniform(0.2, 1.0, k) * np.sign(rng.uniform(-1, 1, k)))
        tl = np.arange(ml) / srl
        env = band(np.where(tl < roll_s, 1.0, 0.0) * np.exp(-tl / (0.6 * roll_s)), srl, None, 2.0, order=1)
        roll = band(roll, srl, None, 500.0 if near else 160.0) + 2.5 * env * band(white(rng, ml), srl, 25.0, 110.0)
        mh = min(n - s0, int(0.6 * sr))
        if near:  # the crack: the closest segments' short N-waves, broadband
            c = 40
            st = np.concatenate(([0], (rng.exponential(0.05, c) * sr).astype(np.int64)))
            ln = (np.concatenate(([2.5], rng.uniform(0.8, 5.0, c))) * 1e-3 * sr).astype(np.int64)
            a = np.concatenate(([1.0], rng.uniform(0.15, 0.7, c) * np.sign(rng.uniform(-1, 1, c))))
            head = band(_n_waves(mh, st, ln, a), sr, 30.0, 9000.0)
        else:  # distant: only a low boom leads the roll
            head = band(_n_waves(mh, np.array([0]), np.array([int(0.035 * sr)]), np.array([1.0])), sr, None, 260.0)
        # the event starts with its head: keep the roll within 1.5x of the head's peak
        roll *= min(1.0, 1.5 * np.abs(head).max() / max(np.abs(roll).max(), 1e-12))
        y[s0:s0 + mh] += head
        low[l0:l0 + ml] += roll
    y += np.interp(np.arange(n) / dec, np.arange(nl), low)
    return finish(0.6 * y, n)


register(SoundModel(
    name="thunder", cat_id="THUN",
    fx_name=lambda p: "Thunder Near Crack Roll" if p["proximity"] == "near" else "Thunder Distant Roll",
    params=(Param("proximity", "distant", choices=("near", "distant"), help="near: crack then roll; distant: roll"),
            Param("roll_s", 6.0, 1.0, 20.0, "s", help="length of the rumbling roll"),
            Param("strikes", 1, 1, 8, help="number of strikes when no cue times are given")),
    render=_thunder, category="weather", default_duration_s=10.0, event_based=True,
    description="Thunder: N-waves from a lightning channel; near strikes crack then roll, distant ones rumble.",
    keywords=("thunder", "thunderclap", "lightning"),           # "thunderstorm" layers rain too (lexicon)
    examples=("distant thunder rolling", "a close thunder crack", "thunder far away"),
    vocabulary={"distant": ("proximity", "distant"), "far": ("proximity", "distant"), "rumble": ("proximity", "distant"),
                "rumbling": ("proximity", "distant"), "close": ("proximity", "near"), "near": ("proximity", "near"),
                "overhead": ("proximity", "near"), "crack": ("proximity", "near"), "clap": ("proximity", "near"),
                "long": ("roll_s", 12.0), "short": ("roll_s", 3.0)},
))


# ----------------------------------------------------------------------------------------------
# fire


def _fire(p: dict, duration_s: float, sr: int, rng: np.random.Generator, events_s) -> np.ndarray:
    n, size = frames(duration_s, sr), float(p["size"])
    flicker = np.clip(1.0 + 0.45 * slow_random(rng, n, sr, 4.0), 0.1, None)
    roar = band(white(rng, n), sr, 30.0, 420.0 - 260.0 * size) * flicker * (0.25 + 1.4 * size)
    hiss = band(white(rng, n), sr, 3500.0, None) * (0.6 + 0.4 * slow_random(rng, n, sr, 9.0)) ** 2 * (0.02 + 0.04 * size)
    # crackles: Poisson pops (exponential intervals), each a few fizzy followers
    rate = 4.0 + 60.0 * size ** 1.2
    t = np.cumsum(rng.exponential(1.0 / rate, int(rate * duration_s * 1.5) + 10))
    t = t[t < duration_s]
    fol = rng.poisson(2.0, t.size)
    tt = np.concatenate((t, np.repeat(t, fol) + rng.exponential(0.008, int(fol.sum()))))
    k = tt.size
    amp = np.concatenate((np.ones(t.size), rng.uniform(0.1, 0.4, k - t.size))) * np.minimum(rng.lognormal(0.0, 0.5, k), 3.0)
    big = rng.random(k) < 0.05 + 0.1 * size  # a log splitting: lower, longer pops
    f = np.where(big, rng.uniform(500, 1500, k), np.exp(rng.uniform(np.log(1500), np.log(7000), k)))
    dec = np.where(big, rng.uniform(1.5e-3, 4e-3, k), rng.uniform(1.5e-4, 8e-4, k))
    pops = damped_grains(n, sr, (tt * sr).astype(np.int64), f, dec, 0.0,
                         amp * np.where(big, 1.5, 1.0) * np.sign(rng.uniform(-1, 1, k)))
    return finish(0.7 * (roar + hiss) + 0.12 * pops, n)


register(SoundModel(
    name="fire", cat_id="FIREBurn",
    fx_name=lambda p: "Fire " + level_word(float(p["size"]), ("Campfire Crackle", "Crackle Roar", "Bonfire Roar")),
    params=(Param("size", 0.4, 0.0, 1.0, help="campfire .. bonfire: roar level, crackle density"),),
    render=_fire, category="weather", default_duration_s=10.0,
    description="Fire: a flickering low roar, hiss, and crackles with exponentially distributed intervals.",
    keywords=("fire", "campfire", "bonfire", "fireplace", "hearth", "flames", "blaze"),
    examples=("a campfire crackling", "a roaring bonfire", "fire in the hearth"),
    vocabulary={"campfire": ("size", 0.35), "crackling": ("size", 0.4), "fireplace": ("size", 0.3),
                "hearth": ("size", 0.3), "bonfire": ("size", 0.85), "roaring": ("size", 0.9), "blaze": ("size", 0.95),
                "candle": ("size", 0.05), "embers": ("size", 0.1)},
))


# ----------------------------------------------------------------------------------------------
# stream, drips, splash


def _stream(p: dict, duration_s: float, sr: int, rng: np.random.Generator, events_s) -> np.ndarray:
    n, flow = frames(duration_s, sr), float(p["flow"])
    rate = 60.0 + 900.0 * flow
    cand = rng.uniform(0.0, duration_s, rng.poisson(rate * 1.6 * duration_s))
    babble = np.clip(0.55 + 0.45 * slow_random(rng, n, sr, 2.5), 0.0, 1.0)  # bubbles come in bursts
    keep = rng.random(cand.size) < babble[np.minimum((cand * sr).astype(np.int64), max(n - 1, 0))]
    on = (cand[keep] * sr).astype(np.int64)
    r = np.exp(rng.uniform(np.log(1.2), np.log(3.0 + 5.0 * flow), on.size))
    y = bubbles(n, sr, on, r, 0.12 * r ** 1.2 * rng.lognormal(0, 0.4, on.size), xi=0.1)
    y += band(white(rng, n), sr, 250.0, 2500.0) * (0.03 + 0.12 * flow) * (0.8 + 0.2 * babble)
    return finish(0.08 * y, n)


register(SoundModel(
    name="stream", cat_id="WATRFlow",
    fx_name=lambda p: "Stream " + level_word(float(p["flow"]), ("Trickle", "Babbling", "Rushing")),
    params=(Param("flow", 0.4, 0.0, 1.0, help="trickle .. rushing: bubble rate and size, bed level"),),
    render=_stream, category="ambience", default_duration_s=10.0,
    description="A babbling brook: many small rising-pitch bubbles (Van den Doel) over a noise bed.",
    keywords=("stream", "brook", "creek", "babbling brook", "rivulet", "trickle", "running water"),
    examples=("a babbling brook", "a gentle stream trickling", "a rushing creek"),
    vocabulary={"trickle": ("flow", 0.1), "trickling": ("flow", 0.1), "gentle": ("flow", 0.25),
                "babbling": ("flow", 0.45), "rushing": ("flow", 0.9), "fast": ("flow", 0.8), "river": ("flow", 0.85)},
))


def _drips(p: dict, duration_s: float, sr: int, rng: np.random.Generator, events_s) -> np.ndarray:
    n, size = frames(duration_s, sr), float(p["size"])
    t = cue_times(events_s, duration_s, lambda: event_times(duration_s, float(p["rate_hz"]), rng, jitter=0.35))
    on, k = np.round(t * sr).astype(np.int64), t.size
    r = (0.6 + 3.5 * size) * rng.uniform(0.8, 1.25, k)
    y = bubbles(n, sr, on, r, (r / 2.0) ** 0.6 * rng.uniform(0.7, 1.0, k), xi=rng.uniform(0.2, 0.4, k), span=6.0)
    damped_grains(n, sr, on, rng.uniform(6000, 9000, k), np.full(k, 1.5e-4), 0.0, np.full(k, 0.5), out=y)
    return finish(0.8 * y, n)


register(SoundModel(
    name="drips", cat_id="WATRDrip",
    fx_name=lambda p: "Water Drips " + level_word(float(p["size"]), ("Small", "Medium", "Large")),
    params=(Param("rate_hz", 1.5, 0.05, 20.0, "Hz", help="drops per second when no cue times are given"),
            Param("size", 0.4, 0.0, 1.0, help="drop size: larger drops, lower plinks")),
    render=_drips, category="effects", default_duration_s=5.0, event_based=True,
    description="Water drips: each drop a tiny impact click and a rising-pitch bubble.",
    keywords=("drip", "drips", "dripping", "drop", "drops", "leak", "plink"),
    examples=("water dripping in a cave", "a slow drip into a bucket", "fast dripping water"),
    vocabulary={"slow": ("rate_hz", 0.5), "fast": ("rate_hz", 5.0), "big": ("size", 0.8), "small": ("size", 0.15),
                "tiny": ("size", 0.05), "heavy": ("size", 0.8)},
))


def _splash(p: dict, duration_s: float, sr: int, rng: np.random.Generator, events_s) -> np.ndarray:
    n, size = frames(duration_s, sr), float(p["size"])
    count = int(p["count"])
    times = cue_times(events_s, duration_s, lambda: event_times(duration_s, count / duration_s, rng, count=count,
                                                           start_s=0.1, jitter=0.3))
    y = np.zeros(n)
    tau = (0.015 + 0.06 * size) * sr
    on_all, r_all, a_all = [], [], []
    for t in times:  # the impact: a noise burst at full level on its first sample
        s0 = int(round(t * sr))
        if s0 >= n:
            continue
        m = min(n - s0, int(8 * tau))
        hit = band(white(rng, m) * np.exp(-np.arange(m) / tau), sr, 120.0, 7000.0 - 3500.0 * size)
        hit[0] = 1.5 * np.abs(hit).max()
        y[s0:s0 + m] += hit * (0.6 + 0.6 * size)
        # bubbles entrained by the cavity, then spray falling back as small high bubbles
        kb, ks = int(40 + 400 * size), int(30 + 300 * size)
        on_all += [s0 + (rng.gamma(1.5, 0.04 + 0.15 * size, kb) * sr).astype(np.int64),
                   s0 + (rng.uniform(0.1, 0.3 + 0.8 * size, ks) * sr).astype(np.int64)]
        r_all += [np.exp(rng.uniform(np.log(0.8), np.log(2.0 + 8.0 * size), kb)), rng.uniform(0.4, 1.0, ks)]
        a_all += [0.25 * rng.uniform(0.3, 1.0, kb), 0.08 * rng.uniform(0.3, 1.0, ks)]
    if on_all:
        r = np.concatenate(r_all)
        bubbles(n, sr, np.concatenate(on_all), r, np.concatenate(a_all) * r ** 0.5, xi=0.15, out=y)
    return finish(0.7 * y, n)


register(SoundModel(
    name="splash", cat_id="WATRSplsh",
    fx_name=lambda p: "Water Splash " + level_word(float(p["size"]), ("Small", "Medium", "Large")),
    params=(Param("size", 0.5, 0.0, 1.0, help="a pebble .. a body into water"),
            Param("count", 1, 1, 20, help="number of splashes when no cue times are given")),
    render=_splash, category="effects", default_duration_s=3.0, event_based=True,
    description="A splash: an impact burst, a cloud of entrained bubbles, and spray falling back.",
    keywords=("splash", "splashing", "plunge", "dive into water", "jumps into water"),
    examples=("a body splashing into a lake", "a small splash", "a rock thrown into the water"),
    vocabulary={"body": ("size", 0.9), "plunge": ("size", 0.85), "big": ("size", 0.85), "small": ("size", 0.15),
                "pebble": ("size", 0.05), "stone": ("size", 0.25), "rock": ("size", 0.4)},
))
