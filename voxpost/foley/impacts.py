"""Struck and fired things: clocks, bells, breaking glass, period firearms (doors: :mod:`voxpost.foley.doors`).

Struck objects are modal resonators (Farnell, "Designing Sound"; GameSynth's impact model): an
excitation (a contact pulse whose width follows the hardness of the striker, or a noise burst)
rings the object's modes, each a frequency and a T60, through :func:`voxpost.dsp.modal.modal_bank`.
Sizes scale the modes down in frequency and up in decay; forces scale level and shorten the contact
(brighter). Firearms are a muzzle blast (a Friedlander/N-wave pressure pulse plus a shaped noise
burst) with a burning-gas tail, after the lock's click for flintlocks. All takes are dry and close.
"""

from __future__ import annotations

import numpy as np

from voxpost.foley.model import Param, SoundModel, event_times, register
from voxpost.foley.synth import add_at, band, burst, contact, cue_times, finish, first_cue_s, frames, ring

_CLOCKS = {
    # escapement: metal modes (Hz, T60 s, amp); case: modes (Hz, T60 s, amp); level
    "wall": dict(metal=((2200, 3600, 5100), (0.04, 0.03, 0.02), (0.25, 0.2, 0.15)),
                 case=((240, 410, 690, 1080), (0.09, 0.08, 0.06, 0.05), (0.3, 0.3, 0.25, 0.2)), level=1.0),
    "pocket": dict(metal=((4600, 6900, 9300, 11600), (0.015, 0.012, 0.01, 0.008), (0.25, 0.2, 0.15, 0.1)),
                   case=((2900, 4100), (0.02, 0.015), (0.1, 0.08)), level=0.4),
}


def _render_clock(params, duration_s, sample_rate, rng, events_s):
    n = frames(duration_s, sample_rate)
    c = _CLOCKS[params["kind"]]
    rate = float(params["rate_hz"])
    t = cue_times(events_s, duration_s, lambda: event_times(duration_s, rate, rng, jitter=0.003))
    tick, tock = np.zeros(n), np.zeros(n)
    for k, tk in enumerate(t):
        # the escape wheel strikes one pallet (tick), then the other (tock): different, softer
        add_at(tick if k % 2 == 0 else tock, burst(rng, int(0.0006 * sample_rate), 0.00015 * sample_rate)
               * rng.uniform(0.9, 1.0) * (1.0 if k % 2 == 0 else 0.75), int(round(tk * sample_rate)))
    y = np.zeros(n)
    for exc, shift in ((tick, 1.0), (tock, 0.86)):
        f, t60, a = (np.asarray(v, float) for v in c["metal"])
        y += ring(exc, sample_rate, f * shift * rng.uniform(0.97, 1.03, f.size), t60, a)
        f, t60, a = (np.asarray(v, float) for v in c["case"])
        y += ring(exc, sample_rate, f * rng.uniform(0.97, 1.03, f.size), t60, a)
        y += 0.5 * band(exc, sample_rate, 2500.0, None)
    return finish(0.3 * c["level"] * y, n)


register(SoundModel(
    name="clock_tick", cat_id="CLOCKTick",
    fx_name=lambda p: ("Wall Clock" if p["kind"] == "wall" else "Pocket Watch") + " Ticking",
    params=(Param("kind", "wall", choices=tuple(_CLOCKS), help="wall clock (wooden case) or pocket watch"),
            Param("rate_hz", 1.0, lo=0.25, hi=10.0, unit="Hz",
                  help="ticks per second: a wall clock 1 or 2, a pocket watch about 5")),
    render=_render_clock,
    description="A clock's escapement ticking, tick and tock alternating, through its case.",
    keywords=("clock", "ticking", "tick", "tock", "watch", "pocket watch", "grandfather clock", "clock ticking"),
    examples=("a wall clock ticking", "a pocket watch ticking fast"),
    category="effects", event_based=True,
    vocabulary={"wall": ("kind", "wall"), "grandfather": ("kind", "wall"), "pendulum": ("kind", "wall"),
                "pocket": ("kind", "pocket"), "watch": ("rate_hz", 5.0), "wristwatch": ("kind", "pocket"),
                "fast": ("rate_hz", 2.0), "slow": ("rate_hz", 1.0)},
))

#: a tuned church bell's partials relative to its prime (strike note), amplitudes and base T60s (s)
BELL_RATIOS = np.array([0.5, 1.0, 1.183, 1.506, 2.0, 2.514, 2.662, 3.011, 4.166, 5.433, 6.796])
BELL_AMPS = np.array([0.5, 0.45, 0.5, 0.2, 0.7, 0.3, 0.25, 0.22, 0.18, 0.1, 0.07])
BELL_T60 = np.array([14.0, 8.0, 6.0, 4.0, 4.0, 2.5, 2.2, 1.8, 1.2, 0.8, 0.6])
#: names of those partials (Hum, Prime, Tierce, Quint, Nominal, ...)
BELL_NAMES = ("hum", "prime", "tierce", "quint", "nominal", "deciem", "undeciem", "duodeciem",
              "upper octave", "upper tierce", "upper fifth")


def bell_prime_hz(diameter_m: float) -> float:
    """The prime (strike note) of a bell ``diameter_m`` across: 240 / diameter (0.3 m: 800 Hz, 1.6 m: 150 Hz)."""
    return 240.0 / diameter_m


def _render_bell(params, duration_s, sample_rate, rng, events_s):
    n = frames(duration_s, sample_rate)
    d = float(params["diameter_m"])
    t = cue_times(events_s, duration_s, lambda: event_times(duration_s, float(params["rate_hz"]), rng, jitter=0.02))
    exc = np.zeros(n)
    for tk in t:
        # the clapper: a short iron-on-bronze contact
        add_at(exc, contact(0.0006, sample_rate) * rng.uniform(0.85, 1.0), int(round(tk * sample_rate)))
    f = bell_prime_hz(d) * BELL_RATIOS * rng.uniform(0.995, 1.005, BELL_RATIOS.size)
    # each partial is a doublet (the bell is not perfectly round): slow beats, the bell's warble
    beat = rng.uniform(0.3, 2.0, f.size) * (f / f[1]) ** 0.5
    freqs = np.concatenate([f, f + beat])
    t60 = np.tile(BELL_T60 * (0.3 + 0.8 * d), 2)
    y = ring(exc, sample_rate, freqs, t60, np.concatenate([BELL_AMPS * 0.6, BELL_AMPS * 0.2]))
    y += 0.3 * band(exc, sample_rate, 2000.0, None)
    return finish(0.3 * y, n)


register(SoundModel(
    name="church_bell", cat_id="BELLLrg", fx_name=lambda p: ("Large " if p["diameter_m"] > 1.0 else "")
    + "Church Bell Toll",
    params=(Param("diameter_m", 0.9, lo=0.3, hi=1.6, unit="m", help="bell size: prime 800 Hz (0.3 m) .. 150 Hz (1.6 m)"),
            Param("rate_hz", 0.33, lo=0.07, hi=1.25, unit="Hz", help="tolls per second when no cues are given")),
    render=_render_bell,
    description="A tuned church bell tolling: inharmonic partials (hum, prime, tierce, quint, nominal...) with long decays.",
    keywords=("bell", "bells", "church bell", "toll", "tolling", "tolls", "chime", "knell", "bell tower"),
    examples=("a church bell tolling in the distance", "a large bell tolls slowly", "a small chapel bell"),
    category="effects", event_based=True,
    vocabulary={"large": ("diameter_m", 1.4), "big": ("diameter_m", 1.4), "huge": ("diameter_m", 1.6),
                "cathedral": ("diameter_m", 1.5), "small": ("diameter_m", 0.45), "chapel": ("diameter_m", 0.5),
                "slowly": ("rate_hz", 0.17), "slow": ("rate_hz", 0.17), "fast": ("rate_hz", 0.7)},
))


def _render_glass(params, duration_s, sample_rate, rng, events_s):
    n = frames(duration_s, sample_rate)
    size = float(params["size"])
    t0 = first_cue_s(events_s, duration_s, 0.05)
    i0 = int(round(t0 * sample_rate))
    m = min(n - i0, int((1.2 + 1.5 * size) * sample_rate))      # the span the break occupies
    if m <= 0:
        return np.zeros(n, np.float32)
    # impact: a crack (hard broadband burst) ringing the pane's modes before it gives way
    crack = np.zeros(m)
    crack[:int(0.004 * sample_rate)] = burst(rng, int(0.004 * sample_rate), 0.0008 * sample_rate)
    pane = np.array([650, 1400, 2300, 3500, 5200, 7300], float) / (0.4 + size) * rng.uniform(0.95, 1.05, 6)
    y = 0.8 * band(crack, sample_rate, 1500.0, None) + ring(crack, sample_rate, pane, 0.06, 0.15)
    # shards: most in the first half second, then late small ones (tinkles) as pieces settle
    count = int(80 + 220 * size)
    span = 0.5 + 0.4 * size
    ts = np.concatenate([rng.gamma(1.5, span / 4.0, int(count * 0.8)),
                         rng.uniform(0.3, m / sample_rate, count - int(count * 0.8))])
    amp = np.exp(-ts / (0.6 * span)) * rng.uniform(0.1, 1.0, ts.size) * 0.5
    idx = np.minimum((ts * sample_rate).astype(int) + int(0.003 * sample_rate), m - 1)
    lo_hz = 1200.0 + 3000.0 * (1.0 - size)
    groups = 12
    gid = rng.integers(0, groups, ts.size)
    for g in range(groups):
        exc = np.zeros(m)
        np.add.at(exc, idx[gid == g], amp[gid == g])
        f = rng.uniform(lo_hz, 2.6 * lo_hz + 6000.0, 3)
        y += ring(exc, sample_rate, f, rng.uniform(0.03, 0.15, 3), [0.3, 0.2, 0.15])
        y += 0.3 * band(np.convolve(exc, burst(rng, 24, 5.0))[:m], sample_rate, 3000.0, None)
    out = np.zeros(n)
    out[i0:i0 + m] = y
    return finish(0.5 * out, n)


register(SoundModel(
    name="glass_break", cat_id="GLASBrk", fx_name=lambda p: ("Window Pane" if p["size"] > 0.6 else "Glass") + " Break",
    params=(Param("size", 0.5, lo=0.0, hi=1.0, help="a drinking glass .. a large window pane (more, larger shards)"),),
    render=_render_glass,
    description="Glass breaking: the crack, shards scattering over half a second, then tinkles as they settle.",
    keywords=("glass", "shatter", "shatters", "shattering", "smash", "smashing", "window breaks", "glass break"),
    examples=("a window shatters", "a wine glass smashes on the floor"),
    category="impacts",
    vocabulary={"window": ("size", 0.85), "pane": ("size", 0.85), "large": ("size", 0.9), "big": ("size", 0.9),
                "wine": ("size", 0.15), "bottle": ("size", 0.25), "small": ("size", 0.15), "cup": ("size", 0.1)},
))

#: per kind: N-wave length (s), burst decay (s), burst low-pass (Hz), tail decay (s), lock click lead (s), click level
_GUNS = {
    "musket": dict(nwave=0.0022, burst=0.03, lp=3500.0, tail=0.45, lead=0.06, click=0.025, pan=True, gap=2.0),
    "pistol": dict(nwave=0.001, burst=0.012, lp=7000.0, tail=0.15, lead=0.035, click=0.02, pan=False, gap=1.0),
    "rifle": dict(nwave=0.0007, burst=0.016, lp=9500.0, tail=0.25, lead=0.012, click=0.015, pan=False, gap=1.5),
}


def _render_gunshot(params, duration_s, sample_rate, rng, events_s):
    n = frames(duration_s, sample_rate)
    g = _GUNS[params["kind"]]
    t = cue_times(events_s, duration_s, lambda: event_times(duration_s, 1.0 / g["gap"], rng, jitter=0.1,
                                                            start_s=0.15, count=int(params["count"])))
    blast, hiss, lock = np.zeros(n), np.zeros(n), np.zeros(n)
    L = int((0.05 + 5 * g["tail"]) * sample_rate)
    k = np.arange(L) / sample_rate
    # Friedlander pressure pulse: positive phase for nwave seconds, then the negative phase
    fried = (1 - k / g["nwave"]) * np.exp(-k / (1.5 * g["nwave"]))
    for tk in t:
        i = int(round(tk * sample_rate))
        a = rng.uniform(0.9, 1.0)
        add_at(blast, fried * a, i)
        env = 0.7 * np.exp(-k / g["burst"]) + 0.12 * np.exp(-k / g["tail"])
        noise = rng.uniform(-1, 1, L) * env
        add_at(hiss, noise * a, i)
        # the lock: flint on frizzen (or hammer on cap) before the charge goes off, and the pan flash
        j = i - int(g["lead"] * rng.uniform(0.85, 1.15) * sample_rate)
        add_at(lock, burst(rng, int(0.001 * sample_rate), 0.0002 * sample_rate) * g["click"], j)
        if g["pan"]:
            m = i - j
            if m > 0:
                fl = rng.uniform(-1, 1, m) * np.linspace(0.0, 1.0, m) ** 2 * 0.01
                add_at(lock, fl, j + int(0.004 * sample_rate))
    y = blast + band(hiss, sample_rate, 80.0, g["lp"])
    y += 0.8 * band(hiss, sample_rate, None, 400.0)                             # powder boom / body
    y += ring(lock, sample_rate, [3100.0, 4700.0, 6900.0] * rng.uniform(0.9, 1.1, 3), [0.02, 0.015, 0.01],
              [0.6, 0.5, 0.3]) + band(lock, sample_rate, 1000.0, None)
    return finish(0.55 * y, n)


register(SoundModel(
    name="gunshot", cat_id="GUNAntq",
    fx_name=lambda p: {"musket": "Flintlock Musket", "pistol": "Flintlock Pistol", "rifle": "Percussion Rifle"}[p["kind"]]
    + " Shot",
    params=(Param("kind", "musket", choices=tuple(_GUNS), help="period firearm: musket, pistol or rifle"),
            Param("count", 1, lo=1, hi=12, help="shots when no cue times are given")),
    render=_render_gunshot,
    description="A period firearm shot: lock click (and pan flash), muzzle blast (N-wave and burst), long tail.",
    keywords=("gunshot", "gunshots", "shot", "shots", "gun", "fires", "firing", "musket", "pistol", "rifle", "flintlock"),
    examples=("a musket shot", "a flintlock pistol fires twice", "a rifle shot"),
    category="impacts", event_based=True,
    vocabulary={"musket": ("kind", "musket"), "flintlock": ("kind", "musket"), "pistol": ("kind", "pistol"),
                "rifle": ("kind", "rifle"), "volley": ("count", 5)},
))
