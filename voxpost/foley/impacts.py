"""Struck, rubbed and fired things: doors, knocks, clocks, bells, breaking glass, period firearms.

Struck objects are modal resonators (Farnell, "Designing Sound"; GameSynth's impact model): an
excitation (a contact pulse whose width follows the hardness of the striker, a noise burst, or the
slip pulses of stick-slip friction for creaks) rings the object's modes, each a frequency and a
T60, through :func:`voxpost.dsp.modal.modal_bank`. Sizes scale the modes down in frequency and up
in decay; forces scale level and shorten the contact (brighter). Firearms are a muzzle blast
(a Friedlander/N-wave pressure pulse plus a shaped noise burst) with a burning-gas tail, after
the lock's click for flintlocks. All takes are dry and close.
"""

from __future__ import annotations

import numpy as np

from voxpost.foley.model import Param, SoundModel, event_times, register
from voxpost.foley.steps import stick_slip
from voxpost.foley.synth import add_at, band, burst, cue_times, finish, frames, ring

#: a wooden door's lower modes (Hz) and their T60s (s), at size 0.5
_DOOR_F = np.array([72, 128, 186, 262, 355, 478, 640, 850, 1150, 1520], float)
_DOOR_T60 = np.array([0.3, 0.26, 0.22, 0.18, 0.15, 0.12, 0.09, 0.07, 0.05, 0.04])
_DOOR_A = np.array([0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.12, 0.1])


def door_modes(size: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Door mode frequencies (Hz) and T60s (s) for ``size`` 0 (cabinet) .. 1 (barn door)."""
    scale = 2.0 ** (1.0 - 2.0 * size)
    return _DOOR_F * scale * rng.uniform(0.94, 1.06, _DOOR_F.size), _DOOR_T60 * (0.6 + 0.8 * size)


def contact(width_s: float, sample_rate: int) -> np.ndarray:
    """A half-sine contact pulse ``width_s`` long and of unit area (the momentum delivered): a softer
    striker stays in contact longer, which rings the low modes as much and the high ones less."""
    m = max(2, int(width_s * sample_rate))
    p = np.sin(np.pi * (np.arange(m) + 0.5) / m)
    return p / p.sum()


def _start(events_s, duration_s: float, default_s: float) -> float:
    t = cue_times(events_s, duration_s, lambda: [default_s])
    return float(t[0]) if t.size else min(default_s, 0.5 * duration_s)


def _span(n: int, sample_rate: int, t0_s: float, long_s: float) -> tuple[int, int]:
    """Start sample and length of the part of the take a one-off sound occupies (the rest is silence)."""
    i0 = min(int(round(t0_s * sample_rate)), n)
    return i0, max(0, min(n - i0, int(long_s * sample_rate)))


def _place(y: np.ndarray, n: int, i0: int) -> np.ndarray:
    out = np.zeros(n)
    out[i0:i0 + y.size] = y[:n - i0]
    return out


def _creak(rng, m, sample_rate, t0_s, length_s, speed_dps, size, level=1.0):
    """A hinge creak: stick-slip pulses (rate follows the swing speed) ringing hinge and door."""
    t = np.arange(m) / sample_rate - t0_s
    u = np.clip(t / max(length_s, 1e-3), 0.0, 1.0)
    vel = np.where((t >= 0) & (t <= length_s), np.sin(np.pi * u) ** 0.6, 0.0)
    pulses = stick_slip(rng, m, sample_rate, vel, (60.0 + 4.0 * speed_dps) * rng.uniform(0.85, 1.15), 0.25)
    f, t60 = door_modes(size, rng)
    y = ring(pulses, sample_rate, f[:7], t60[:7] * 0.5, _DOOR_A[:7] * 0.5)
    hinge = np.array([1250, 2050, 3100, 4400], float) * rng.uniform(0.9, 1.1, 4)
    y += ring(pulses, sample_rate, hinge, [0.03, 0.025, 0.02, 0.015], [0.12, 0.1, 0.07, 0.05])
    return level * y


def _render_door_creak(params, duration_s, sample_rate, rng, events_s):
    n = frames(duration_s, sample_rate)
    speed = float(params["speed_dps"])
    t0 = _start(events_s, duration_s, 0.05)
    length = min(80.0 / speed, max(duration_s - t0 - 0.1, 0.05))
    i0, m = _span(n, sample_rate, t0, length + 0.4)
    y = _creak(rng, m, sample_rate, 0.0, length, speed, float(params["size"]))
    return finish(0.5 * _place(y, n, i0), n)


_DOOR_PARAMS = (
    Param("speed_dps", 45.0, lo=5.0, hi=240.0, unit="deg/s", help="how fast the door swings (creak pitch, length)"),
    Param("size", 0.5, lo=0.0, hi=1.0, help="cabinet door .. heavy barn door (lower, longer modes)"),
)
_DOOR_VOCAB = {"slow": ("speed_dps", 15.0), "slowly": ("speed_dps", 15.0), "fast": ("speed_dps", 120.0),
               "quickly": ("speed_dps", 120.0), "small": ("size", 0.15), "cabinet": ("size", 0.1),
               "cupboard": ("size", 0.1), "large": ("size", 0.85), "heavy": ("size", 0.85), "big": ("size", 0.85),
               "barn": ("size", 1.0), "gate": ("size", 0.9)}

register(SoundModel(
    name="door_creak", cat_id="DOORWood", fx_name=lambda p: "Door Creak " + ("Slow" if p["speed_dps"] < 30 else "Fast"
                                                                           if p["speed_dps"] > 90 else "Medium"),
    params=_DOOR_PARAMS, render=_render_door_creak,
    description="A hinge creaking: stick-slip friction driving the modes of a wooden door.",
    keywords=("creak", "creaking", "creaky", "squeak", "squeaky hinge", "hinge", "door creak"),
    examples=("a door creaking open slowly", "a creaky hinge on a heavy barn door"),
    category="effects", vocabulary=_DOOR_VOCAB,
))


def _latch(rng, m, sample_rate, times_s, amps):
    """Metal latch clicks at ``times_s``: tiny hard contacts ringing small bright modes."""
    exc = np.zeros(m)
    for t_s, amp in zip(times_s, amps):
        add_at(exc, burst(rng, int(0.0008 * sample_rate), 0.0002 * sample_rate) * amp, int(round(t_s * sample_rate)))
    f = np.array([2300, 3700, 5200, 7100], float) * rng.uniform(0.9, 1.1, 4)
    return ring(exc, sample_rate, f, [0.04, 0.03, 0.02, 0.015], [0.5, 0.4, 0.3, 0.2]) + band(exc, sample_rate, 3000, None)


def _render_door_open(params, duration_s, sample_rate, rng, events_s):
    n = frames(duration_s, sample_rate)
    speed, size = float(params["speed_dps"]), float(params["size"])
    t1 = 0.2
    length = min(60.0 / speed, max(duration_s - _start(events_s, duration_s, 0.05) - t1 - 0.05, 0.05))
    i0, m = _span(n, sample_rate, _start(events_s, duration_s, 0.05), t1 + length + 0.4)
    # handle turned, then the bolt leaves the strike plate
    y = _latch(rng, m, sample_rate, (0.0, rng.uniform(0.08, 0.14)), (0.6, 0.9))
    y += 0.6 * _creak(rng, m, sample_rate, t1, min(length, rng.uniform(0.4, 0.7) * length + 0.2), speed, size)
    # the leaf moving air: a low swish over the swing
    t = np.arange(m) / sample_rate - t1
    env = np.where((t > 0) & (t < length), np.sin(np.pi * np.clip(t / length, 0, 1)), 0.0)
    y += 0.08 * band(rng.standard_normal(m), sample_rate, 60.0, 500.0 * (1.5 - size)) * env
    return finish(0.5 * _place(y, n, i0), n)


register(SoundModel(
    name="door_open", cat_id="DOORWood", fx_name=lambda p: "Wooden Door Open",
    params=_DOOR_PARAMS, render=_render_door_open,
    description="A wooden door opening: handle and latch clicks, a short hinge creak, the leaf moving.",
    keywords=("door open", "door opening", "opens a door", "opening door", "door opens", "unlatch"),
    examples=("a wooden door opens", "someone opens a heavy door slowly"),
    category="effects", vocabulary=_DOOR_VOCAB,
))


def _render_door_slam(params, duration_s, sample_rate, rng, events_s):
    n = frames(duration_s, sample_rate)
    force, size = float(params["force"]), float(params["size"])
    pre = 0.2                                       # the air push before the leaf shuts
    t0 = _start(events_s, duration_s, 0.25 + (0.0 if events_s is not None else rng.uniform(0.0, 0.03)))
    i0, m = _span(n, sample_rate, max(t0 - pre, 0.0), 2.0)
    j = int(round(t0 * sample_rate)) - i0           # the impact, in the span
    exc = np.zeros(m)
    # leaf hits frame: harder slams have shorter contact (brighter) and more energy
    add_at(exc, contact(0.004 - 0.003 * force, sample_rate) * (0.2 + 0.8 * force), j)
    f, t60 = door_modes(size, rng)
    y = ring(exc, sample_rate, f, t60, _DOOR_A * rng.uniform(0.25, 0.6, f.size))
    y += ring(exc, sample_rate, np.array([48.0 + 20 * (1 - size), 95.0]) * rng.uniform(0.85, 1.15, 2), [0.25, 0.15],
              [0.35, 0.15])                                 # wall/frame thud
    add_at(y, band(burst(rng, int(0.05 * sample_rate), 0.004 * sample_rate), sample_rate, 300.0,
                   2500.0 + 6000.0 * force) * (0.02 + 0.4 * force), j)
    # the latch rattles: a few bouncing clicks, quicker and quieter each time
    gaps = 0.045 * (0.7 ** np.arange(4)) * rng.uniform(0.8, 1.2, 4)
    y += _latch(rng, m, sample_rate, j / sample_rate + 0.012 + np.cumsum(gaps),
                (0.02 + 0.3 * force) * 0.6 ** np.arange(4))
    t = np.arange(m) / sample_rate - j / sample_rate
    env = np.where((t > -pre) & (t < 0), ((t + pre) / pre) ** 3, 0.0)
    y += 0.05 * force * band(rng.standard_normal(m), sample_rate, 50.0, 400.0) * env
    return finish(0.6 * _place(y, n, i0), n)


register(SoundModel(
    name="door_slam", cat_id="DOORWood", fx_name=lambda p: ("Heavy " if p["size"] > 0.7 else "") + "Wooden Door Slam",
    params=(Param("force", 0.7, lo=0.0, hi=1.0, help="gentle close .. violent slam"),
            Param("size", 0.5, lo=0.0, hi=1.0, help="cabinet door .. heavy barn door")),
    render=_render_door_slam,
    description="A wooden door slammed shut: the leaf striking the frame, the wall's thud, the latch rattling.",
    keywords=("slam", "slams", "slammed", "door slam", "door shut", "door close", "door closing", "shuts"),
    examples=("a heavy wooden door slams shut", "a door closing gently"),
    category="impacts",
    vocabulary={"gently": ("force", 0.2), "softly": ("force", 0.2), "violently": ("force", 1.0),
                "hard": ("force", 0.95), "heavy": ("size", 0.85), "large": ("size", 0.85), "small": ("size", 0.15),
                "cabinet": ("size", 0.1), "cupboard": ("size", 0.1), "barn": ("size", 1.0)},
))


def _render_door_knock(params, duration_s, sample_rate, rng, events_s):
    n = frames(duration_s, sample_rate)
    force, hard = float(params["force"]), float(params["hardness"])
    t = cue_times(events_s, duration_s,
                  lambda: event_times(duration_s, 4.5, rng, jitter=0.06, count=int(params["count"])))
    exc = np.zeros(n)
    snap = np.zeros(n)
    for tk in t:
        a = (0.25 + 0.75 * force) * rng.uniform(0.85, 1.0)
        i = int(round(tk * sample_rate))
        add_at(exc, contact((0.0026 - 0.0022 * hard) * rng.uniform(0.9, 1.1), sample_rate) * a, i)
        add_at(snap, burst(rng, int(0.002 * sample_rate), 0.0003 * sample_rate) * a, i)
    f, t60 = door_modes(0.55, rng)
    y = ring(exc, sample_rate, f, t60 * 0.8, _DOOR_A)
    y += ring(exc, sample_rate, [1900.0, 2700.0, 3600.0] * rng.uniform(0.9, 1.1, 3), [0.02, 0.015, 0.01],
              [0.2, 0.15, 0.1])
    y += (0.15 + 0.6 * hard) * band(snap, sample_rate, 1500.0, None) + 0.5 * band(exc, sample_rate, 500.0, None)
    return finish(0.5 * y, n)


register(SoundModel(
    name="door_knock", cat_id="DOORKnck", fx_name=lambda p: f"Knocks On Wooden Door {int(p['count'])}x",
    params=(Param("force", 0.6, lo=0.0, hi=1.0, help="tentative tap .. pounding"),
            Param("hardness", 0.3, lo=0.0, hi=1.0, help="knuckles .. a cane or the knocker (shorter contact)"),
            Param("count", 3, lo=1, hi=12, help="knocks when no cue times are given")),
    render=_render_door_knock,
    description="Knocks on a wooden door: contact pulses ringing the door's modes.",
    keywords=("knock", "knocks", "knocking", "knocked", "rap", "raps", "rapping", "pounding on the door"),
    examples=("three knocks on a wooden door", "loud pounding on a door", "a gentle knock"),
    category="impacts", event_based=True,
    vocabulary={"loud": ("force", 0.9),
                "pounding": ("force", 1.0), "gentle": ("force", 0.2), "soft": ("force", 0.2),
                "cane": ("hardness", 0.9), "knocker": ("hardness", 1.0), "knuckles": ("hardness", 0.2)},
))


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
    t0 = _start(events_s, duration_s, 0.05)
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
