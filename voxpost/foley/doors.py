"""Doors: creaks, opening, slamming and knocking on a wooden door, in the "impacts" category.

A door is a modal resonator (Farnell, "Designing Sound"): its lower modes, scaled by size, are rung
by contact pulses (knocks, the latch) or by the slip pulses of stick-slip friction (the hinge's
creak, :func:`voxpost.foley.steps.stick_slip`), through :func:`voxpost.dsp.modal.modal_bank`. A
harder striker shortens the contact (brighter); force scales the level. All takes are dry and close.
"""

from __future__ import annotations

import numpy as np

from voxpost.foley.model import Param, SoundModel, event_times, register
from voxpost.foley.steps import stick_slip
from voxpost.foley.synth import add_at, band, burst, contact, cue_times, finish, first_cue_s, frames, ring

#: a wooden door's lower modes (Hz) and their T60s (s), at size 0.5
_DOOR_F = np.array([72, 128, 186, 262, 355, 478, 640, 850, 1150, 1520], float)
_DOOR_T60 = np.array([0.3, 0.26, 0.22, 0.18, 0.15, 0.12, 0.09, 0.07, 0.05, 0.04])
_DOOR_A = np.array([0.5, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.15, 0.12, 0.1])


def door_modes(size: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Door mode frequencies (Hz) and T60s (s) for ``size`` 0 (cabinet) .. 1 (barn door)."""
    scale = 2.0 ** (1.0 - 2.0 * size)
    return _DOOR_F * scale * rng.uniform(0.94, 1.06, _DOOR_F.size), _DOOR_T60 * (0.6 + 0.8 * size)


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
    t0 = first_cue_s(events_s, duration_s, 0.05)
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
    length = min(60.0 / speed, max(duration_s - first_cue_s(events_s, duration_s, 0.05) - t1 - 0.05, 0.05))
    i0, m = _span(n, sample_rate, first_cue_s(events_s, duration_s, 0.05), t1 + length + 0.4)
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
    t0 = first_cue_s(events_s, duration_s, 0.25 + (0.0 if events_s is not None else rng.uniform(0.0, 0.03)))
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
