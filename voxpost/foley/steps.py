"""Footfalls: human footsteps, horse hooves and cart wheels (procedural, physically informed).

A footstep is a heel strike followed by a toe (ball) strike (Farnell, "Designing Sound", ch. 60;
GameSynth's footstep model: surface x shoe x gait). Each strike excites the surface in its own way:

- gravel: a burst of grain collisions (sparse clicks, each a short noise burst), band-passed;
- snow: dense crunchy crackle of compressed crystals, low-passed;
- wood: a click exciting the modes of a floor board;
- stone: a hard bright click with short high modes;
- grass: soft brushed noise with blade swishes;
- metal: a click ringing long bright plate modes.

Body weight adds a low thump (a damped low mode) under every strike. Hooves are the same strike
model with iron-shod hooves and the footfall order of each gait (walk 4-beat, trot 2-beat diagonal
pairs, gallop 3-beat plus a suspension). Cart wheels are a continuous texture: the iron tyre hits
each cobble (or bump), the wooden wheel and body ring, and the loaded axle creaks by stick-slip
friction.

Everything is vectorised over events; the resonances run through the Numba modal bank
(:func:`voxpost.dsp.modal.modal_bank`) once per take, over the whole buffer.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import oaconvolve

from voxpost.foley.model import Param, SoundModel, event_times, register
from voxpost.foley.synth import add_at, band, burst, cue_times, finish, frames, ring

# ----------------------------------------------------------------------------------------------
# shared helpers (also used by :mod:`voxpost.foley.doors`)


def grains(rng: np.random.Generator, n: int, count: int, spread: float, grain_len: int) -> np.ndarray:
    """``count`` grain clicks scattered (exponentially) over ``spread`` samples, each a short noise
    burst of ``grain_len`` samples; the first grain sits at sample 0 and is the loudest."""
    imp = np.zeros(n)
    pos = np.minimum(rng.exponential(spread / 3.0, count).astype(int), n - 1)
    amp = rng.uniform(0.15, 0.8, count) * np.sign(rng.uniform(-1, 1, count))
    np.add.at(imp, pos, amp)
    imp[0] = 1.0
    return np.convolve(imp, burst(rng, grain_len, grain_len / 4.0))[:n]


# ----------------------------------------------------------------------------------------------
# footsteps

#: per surface: grain count, spread (s), noise band (Hz), modes (Hz), mode T60 (s), mode gain, level
_SURFACES = {
    "gravel": dict(grains=70, spread=0.09, band=(900.0, 9000.0), modes=(), level=0.9),
    "snow": dict(grains=260, spread=0.16, band=(250.0, 3200.0), modes=(), level=0.8),
    "wood": dict(grains=3, spread=0.01, band=(600.0, 5000.0), modes=(110, 185, 290, 430, 610, 880, 1260),
                 t60=(0.22, 0.18, 0.14, 0.11, 0.08, 0.06, 0.04), amp=0.25, level=0.7),
    "stone": dict(grains=4, spread=0.004, band=(2500.0, 14000.0), modes=(1900, 2950, 4150, 5700, 7400),
                  t60=(0.035, 0.03, 0.025, 0.02, 0.015), amp=0.15, level=0.8),
    "grass": dict(grains=120, spread=0.14, band=(400.0, 2600.0), modes=(), level=0.5),
    "metal": dict(grains=2, spread=0.003, band=(3000.0, 14000.0), modes=(520, 1230, 2210, 3380, 4760, 6300, 8100),
                  t60=(0.9, 0.7, 0.6, 0.45, 0.35, 0.3, 0.25), amp=0.2, level=0.6),
}


def strike_excitation(rng, surface: str, sample_rate: int, strength: float, long_s: float = 0.25) -> np.ndarray:
    """The surface noise of one strike (heel, toe or hoof), ``long_s`` seconds; peak at sample 0."""
    s = _SURFACES[surface]
    n = int(long_s * sample_rate)
    spread = s["spread"] * sample_rate
    if surface in ("snow", "grass"):
        # compressed crystals / brushed blades: a dense crackle under a smooth swell
        env = np.exp(-np.arange(n) / (0.35 * spread)) * (0.35 + 0.65 * (1 - np.exp(-np.arange(n) / (0.1 * spread))))
        x = grains(rng, n, s["grains"], spread, 12 if surface == "snow" else 40) * 0.5
        x += rng.uniform(-1, 1, n) * env * (0.6 if surface == "snow" else 1.0)
        x[0] = np.abs(x).max()
    else:
        x = grains(rng, n, s["grains"], spread, int(0.0012 * sample_rate) if surface == "gravel" else 8)
    return x * strength


def _lay(rng, times_s, sub, sample_rate, n, surface, weight, thump_hz, surf_gain=1.0):
    """Excitations for strikes at ``times_s``; ``sub`` lists (delay_s, relative strength) per strike."""
    noise = np.zeros(n)
    kick = np.zeros(n)
    for t in times_s:
        hard = rng.uniform(0.75, 1.0)
        for delay_s, rel in sub:
            i = int(round((t + delay_s) * sample_rate))
            add_at(noise, strike_excitation(rng, surface, sample_rate, hard * rel * surf_gain), i)
            if 0 <= i < n:
                kick[i] += hard * rel
    s = _SURFACES[surface]
    y = band(noise, sample_rate, *s["band"]) * s["level"]
    if s["modes"]:
        f = np.asarray(s["modes"], float) * rng.uniform(0.93, 1.07, len(s["modes"]))
        y = y + ring(kick + noise * 0.05, sample_rate, f, s["t60"], rng.uniform(0.5, 1.0, f.size) * s["amp"])
    # body weight: the low thump of mass landing (two damped low modes)
    y = y + ring(kick, sample_rate, [thump_hz, thump_hz * 1.9], [0.07, 0.05], [0.03 + 0.45 * weight, 0.05 + 0.15 * weight])
    return y


def _render_footsteps(params, duration_s, sample_rate, rng, events_s):
    n = frames(duration_s, sample_rate)
    run = params["gait"] == "run"
    rate = float(params["pace_hz"]) * (1.6 if run else 1.0)
    t = cue_times(events_s, duration_s, lambda: event_times(duration_s, rate, rng, jitter=0.04))
    weight = float(params["weight"])
    # heel then toe; a run lands harder with heel and ball close together
    sub = ((0.0, 1.0), (rng.uniform(0.018, 0.03), 0.5)) if run else ((0.0, 1.0), (rng.uniform(0.06, 0.09), 0.55))
    y = _lay(rng, t, sub, sample_rate, n, params["surface"], weight, 70.0 - 15.0 * weight,
             surf_gain=1.25 if run else 1.0)
    return finish(0.25 * y, n)


def _fx_footsteps(p):
    return f"{p['surface'].title()} {'Run' if p['gait'] == 'run' else 'Walk'}"


FOOTSTEPS = register(SoundModel(
    name="footsteps", cat_id="FEETHmn", fx_name=_fx_footsteps,
    params=(
        Param("surface", "stone", choices=tuple(_SURFACES), help="what is walked on"),
        Param("gait", "walk", choices=("walk", "run"), help="walk: heel then toe; run: harder, faster"),
        Param("pace_hz", 1.8, lo=0.3, hi=4.0, unit="Hz", help="steps per second when walking (a run is 1.6x)"),
        Param("weight", 0.5, lo=0.0, hi=1.0, help="body weight: light .. heavy (low thump)"),
    ),
    render=_render_footsteps,
    description="Human footsteps: heel and toe strikes on a surface, paced by gait.",
    keywords=("footsteps", "footstep", "steps", "step", "walking", "walk", "running", "footfalls", "feet"),
    examples=("footsteps on gravel, slow", "a man running on a wooden floor", "heavy footsteps in the snow"),
    category="footsteps", event_based=True,
    vocabulary={"gravel": ("surface", "gravel"), "snow": ("surface", "snow"), "wood": ("surface", "wood"),
                "wooden": ("surface", "wood"), "floor": ("surface", "wood"), "stone": ("surface", "stone"),
                "concrete": ("surface", "stone"), "pavement": ("surface", "stone"), "grass": ("surface", "grass"),
                "metal": ("surface", "metal"), "running": ("gait", "run"), "run": ("gait", "run"),
                "walking": ("gait", "walk"), "slow": ("pace_hz", 1.2), "fast": ("pace_hz", 2.4),
                "heavy": ("weight", 0.9), "light": ("weight", 0.15)},
))


# ----------------------------------------------------------------------------------------------
# hooves

#: per gait: stride rate (strides/s) and footfall phases within the stride (fractions of it)
GAITS = {
    "walk": (0.95, (0.0, 0.25, 0.5, 0.75)),          # 4-beat: LH LF RH RF, evenly spaced
    "trot": (1.45, (0.0, 0.012, 0.5, 0.512)),        # 2-beat: diagonal pairs, near-together
    "gallop": (1.9, (0.0, 0.13, 0.26)),              # 3-beat (canter-like) then suspension
}


def hoof_times(gait: str, pace: float, duration_s: float, rng: np.random.Generator, start_s: float = 0.1) -> np.ndarray:
    """Hoof strike times (s) of ``gait`` at ``pace`` x its natural stride rate, jittered a little."""
    rate, phases = GAITS[gait]
    period = 1.0 / (rate * pace)
    strides = start_s + period * np.arange(int(duration_s / period) + 2)
    t = (strides[:, None] + period * np.asarray(phases)[None, :]).ravel()
    t = t + rng.normal(0.0, 0.006 * period, t.size)
    return np.sort(t[(t >= 0) & (t < duration_s)])


def _render_hooves(params, duration_s, sample_rate, rng, events_s):
    n = frames(duration_s, sample_rate)
    gait, surface = params["gait"], params["surface"]
    t = cue_times(events_s, duration_s, lambda: hoof_times(gait, float(params["pace"]), duration_s, rng))
    heavy = {"walk": 0.6, "trot": 0.75, "gallop": 1.0}[gait]
    if surface == "cobblestones":
        # iron shoe on stone: bright click + shoe ring + a little grit, and the hoof's weight
        y = _lay(rng, t, ((0.0, heavy),), sample_rate, n, "stone", 0.8, 110.0)
        y += 0.12 * _lay(rng, t, ((0.002, 0.5 * heavy),), sample_rate, n, "gravel", 0.0, 110.0)
    else:
        # packed earth: a dull thud, grit in the low mids, no ring
        y = _lay(rng, t, ((0.0, heavy),), sample_rate, n, "snow", 1.0, 85.0, surf_gain=0.8)
        y = band(y, sample_rate, None, 1800.0)
    return finish(0.3 * y, n)


HOOVES = register(SoundModel(
    name="hooves", cat_id="FEETHors",
    fx_name=lambda p: f"Horse {p['gait'].title()} {p['surface'].title()}",
    params=(
        Param("gait", "trot", choices=tuple(GAITS), help="walk 4-beat, trot 2-beat diagonal pairs, gallop 3-beat"),
        Param("surface", "cobblestones", choices=("cobblestones", "dirt"), help="what the hooves strike"),
        Param("pace", 1.0, lo=0.5, hi=1.8, help="stride rate as a multiple of the gait's natural rate"),
    ),
    render=_render_hooves,
    description="A shod horse: hoof strikes in the footfall pattern of its gait.",
    keywords=("horse", "hooves", "hoof", "hoofs", "horses", "pony", "trotting", "galloping", "cantering"),
    examples=("a horse trotting on cobblestones", "a horse galloping on a dirt road", "horse walking slowly"),
    category="footsteps", event_based=True,
    vocabulary={"walk": ("gait", "walk"), "walking": ("gait", "walk"), "trot": ("gait", "trot"),
                "trotting": ("gait", "trot"), "gallop": ("gait", "gallop"), "galloping": ("gait", "gallop"),
                "canter": ("gait", "gallop"), "cantering": ("gait", "gallop"),
                "cobblestones": ("surface", "cobblestones"), "cobbles": ("surface", "cobblestones"),
                "cobblestone": ("surface", "cobblestones"), "street": ("surface", "cobblestones"),
                "dirt": ("surface", "dirt"), "road": ("surface", "dirt"), "mud": ("surface", "dirt"),
                "slowly": ("pace", 0.75), "slow": ("pace", 0.75), "fast": ("pace", 1.3)},
))


# ----------------------------------------------------------------------------------------------
# cart wheels


def stick_slip(rng, n: int, sample_rate: int, velocity: np.ndarray, slip_per_s: float, jitter: float = 0.3) -> np.ndarray:
    """Slip pulses of a stick-slip contact sliding at ``velocity`` (0..1, per sample).

    While stuck, the spring load builds at the sliding velocity; when it passes the (randomly
    varying) static limit the contact slips and releases a pulse whose size follows the load
    released. The slip rate is ``slip_per_s * velocity``; the phase is integrated, so it is exact
    for any velocity profile. Vectorised: pulses are where the integrated phase crosses an integer.
    """
    wobble = band(rng.standard_normal(n, dtype=np.float32), sample_rate, None, 30.0)
    v = np.clip(velocity, 0.0, None) * (1.0 + jitter * wobble / (wobble.std() + 1e-12))
    phase = np.cumsum(np.clip(v, 0.0, None) * slip_per_s / sample_rate)
    k = np.flatnonzero(np.diff(np.floor(phase), prepend=0.0) > 0)
    out = np.zeros(n)
    out[k] = velocity[k] * rng.uniform(0.5, 1.0, k.size) * np.sign(rng.uniform(-1, 1, k.size))
    return out


def _render_cart(params, duration_s, sample_rate, rng, events_s):
    n = frames(duration_s, sample_rate)
    speed = float(params["speed_mps"])
    creak = float(params["creak"])
    cobbles = params["surface"] == "cobblestones"
    # four wheels, each hitting cobbles (~0.13 m apart) or bumps (~0.6 m apart)
    spacing = 0.13 if cobbles else 0.6
    count = rng.poisson(4 * duration_s * speed / spacing)
    t = np.sort(rng.uniform(0.0, duration_s, count))
    kicks = np.zeros(n)
    idx = np.minimum((t * sample_rate).astype(int), n - 1)
    np.add.at(kicks, idx, rng.uniform(0.2, 1.0, count) * min(1.0, 0.3 + speed / 4) * (1.0 if cobbles else 0.3))
    # iron tyre on stone: sharp; on earth: soft grit
    tyre = oaconvolve(kicks, burst(rng, int(0.002 * sample_rate), 0.0005 * sample_rate))[:n]
    # the wooden spoked wheel and wagon bed ring under the knocks; on stone the iron tyre rings a little too
    f = np.array([140, 230, 410, 690, 1100, 1700], float) * rng.uniform(0.92, 1.08, 6)
    t60, amp = [0.12, 0.1, 0.08, 0.06, 0.04, 0.03], [0.3, 0.25, 0.2, 0.15, 0.1, 0.08]
    if cobbles:
        y = 1.5 * band(tyre, sample_rate, 1500.0, 9000.0)
        f = np.concatenate([f, [1830.0, 2950.0, 4400.0] * rng.uniform(0.95, 1.05, 3)])
        t60, amp = t60 + [0.05, 0.04, 0.03], amp + [0.15, 0.12, 0.08]
    else:
        y = 0.3 * band(tyre, sample_rate, 200.0, 1500.0)
    y += ring(kicks, sample_rate, f, t60, amp)                     # one pass over the samples for every mode
    rumble = band(rng.standard_normal(n, dtype=np.float32), sample_rate, 40.0, 400.0 if cobbles else 250.0)
    clock = np.arange(n, dtype=np.float32) / np.float32(sample_rate)
    rot = 1 + 0.5 * np.sin(np.float32(2 * np.pi * speed / 3.6) * clock + np.float32(rng.uniform(0, 6.3)))
    y += (0.03 + 0.01 * speed) * rumble * rot
    # loaded axle and body joints creak (stick-slip), in episodes once per wheel turn
    if creak > 0:
        turn_hz = speed / 3.6
        swell = np.clip(np.sin(np.float32(2 * np.pi * turn_hz) * clock + np.float32(rng.uniform(0, 6.3))), 0, None) ** 2
        pulses = stick_slip(rng, n, sample_rate, swell, rng.uniform(140.0, 260.0))
        fw = np.array([310, 520, 780, 1150, 1650, 2400], float) * rng.uniform(0.9, 1.1, 6)
        y += creak * ring(pulses, sample_rate, fw, [0.05, 0.04, 0.035, 0.03, 0.025, 0.02],
                          [0.2, 0.16, 0.14, 0.1, 0.08, 0.06])
    return finish(0.5 * y, n)


CART_WHEELS = register(SoundModel(
    name="cart_wheels", cat_id="VEHWagn",
    fx_name=lambda p: f"Cart Wheels {p['surface'].title()}",
    params=(
        Param("surface", "cobblestones", choices=("cobblestones", "dirt"), help="road the wheels roll on"),
        Param("speed_mps", 2.0, lo=0.3, hi=8.0, unit="m/s", help="how fast the cart rolls"),
        Param("creak", 0.5, lo=0.0, hi=1.0, help="how much the loaded axle and body creak"),
    ),
    render=_render_cart,
    description="Carriage or cart wheels rolling: iron tyres on cobbles or earth, wheel ring, axle creaks.",
    keywords=("cart", "carriage", "wagon", "wheels", "coach", "cartwheels", "wheel"),     # "stagecoach": a lexicon pair
    examples=("a cart rolling over cobblestones", "a heavy wagon creaking on a dirt road"),
    category="effects",
    vocabulary={"cobblestones": ("surface", "cobblestones"), "cobbles": ("surface", "cobblestones"),
                "dirt": ("surface", "dirt"), "road": ("surface", "dirt"), "creaking": ("creak", 0.9),
                "heavy": ("creak", 0.8), "slow": ("speed_mps", 1.0), "fast": ("speed_mps", 4.5)},
))
