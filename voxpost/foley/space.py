"""Distance and room: place a dry, close, mono take in space (stereo out).

Sound models render what a microphone a metre away would hear in a dead room. :func:`place` puts
the source ``distance_m`` away in one of :data:`SPACES`:

- the **direct sound**, centred (equal in both channels): inverse-square level
  (:func:`distance_gain_db`, -6 dB per doubling beyond 1 m, floored at -30 dB) and air absorption
  (:func:`air_absorption`, ISO 9613-1 at 20 C and 60 % relative humidity, a zero-phase FIR);
- the room's **early reflections** (a sparse tap pattern per channel, seeded; the street's slap
  echoes off facades; the open field's ground reflection);
- the **late reverberation**, a feedback delay network (:mod:`voxpost.dsp.fdn`) with the room's
  RT60 at low and high frequency.

The reverberant energy stays the same wherever the source is (a diffuse field, Sabine); it
equals the direct sound's at the room's critical distance, so the direct-to-reverberant ratio
falls 6 dB per doubling of distance and beyond ``critical_distance_m`` the room dominates.

Examples
--------
>>> import numpy as np
>>> x = np.zeros(4800, np.float32); x[0] = 1.0
>>> y = place(x, 48000, distance_m=8.0, space="hall")
>>> y.shape[0], y.shape[1] > x.size
(2, True)
>>> place(x, 48000, space="cathedral", keep_length=True).shape
(2, 4800)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from voxpost.dsp.fdn import fdn, prime_delays, tapped_delay
from voxpost.foley.model import FoleyError

SPEED_OF_SOUND_M_S = 343.0
DISTANCE_RANGE_M = (0.1, 2000.0)
AIR_FIR_TAPS = 255


@dataclass(frozen=True)
class Space:
    """A room type. ``rt60_s``/``rt60_high_s``: reverberation time at low/mid and at high
    frequency (0: no late reverb); ``line_ms``: the FDN's shortest and longest delay line (room
    size); ``er_count`` early reflections per channel between ``er_window_ms``, carrying
    ``er_share`` of the reverberant energy; ``slaps_ms``: discrete echoes (with ``slap_share``);
    ``lowpass_hz``: darkening of the reverberant field; ``ground``: ground reflection coefficient."""

    name: str
    rt60_s: float = 0.0
    rt60_high_s: float = 0.0
    critical_distance_m: float = float("inf")
    line_ms: tuple[float, float] = (10.0, 30.0)
    er_count: int = 0
    er_window_ms: tuple[float, float] = (2.0, 30.0)
    er_share: float = 0.0
    slaps_ms: tuple[float, ...] = ()
    slap_share: float = 0.0
    lowpass_hz: float | None = None
    ground: float = 0.0
    description: str = ""

    @property
    def tail_s(self) -> float:
        """How long the room rings after the take ends (late reverb to about -60 dB)."""
        er_end = max((self.er_window_ms[1] if self.er_count else 0.0), *self.slaps_ms, 0.0) / 1e3
        if not self.rt60_s:
            return 0.01 if self.ground else 0.0
        return max(er_end + 0.01, self.rt60_s + self.line_ms[0] / 1e3)


SPACES: dict[str, Space] = {s.name: s for s in (
    Space("dry", description="no room: the direct sound only"),
    Space("small room", 0.4, 0.3, 1.0, (4.0, 11.0), 16, (1.5, 25.0), 0.45,
          description="a furnished room: dense, close early reflections, short tail"),
    Space("hall", 1.8, 1.3, 4.0, (23.0, 61.0), 10, (8.0, 70.0), 0.3,
          description="a concert hall or large interior"),
    Space("church", 3.5, 1.7, 5.0, (37.0, 89.0), 8, (15.0, 110.0), 0.2, lowpass_hz=5000.0,
          description="stone nave: long and dark (high frequencies die first)"),
    Space("street", 0.8, 0.5, 6.0, (9.0, 29.0), 5, (3.0, 25.0), 0.2, (38.0, 71.0, 109.0), 0.35,
          description="between facades: short diffuse tail plus slap echoes at 30-120 ms"),
    Space("forest", 0.6, 0.2, 8.0, (7.0, 23.0), 4, (12.0, 60.0), 0.25, lowpass_hz=1500.0,
          description="diffuse scattering off trunks and foliage, strongly low-passed"),
    Space("open field", ground=0.6, description="no reflecting surface but the ground"),
)}

#: words a prompt might use for a space -> its name in :data:`SPACES`
SPACE_ALIASES: dict[str, str] = {
    "room": "small room", "bedroom": "small room", "kitchen": "small room", "office": "small room",
    "interior": "small room", "auditorium": "hall", "theatre": "hall", "theater": "hall", "corridor": "hall",
    "hallway": "hall", "town": "street", "studio": "dry",
    "cathedral": "church", "chapel": "church", "alley": "street", "city": "street", "urban": "street",
    "woods": "forest", "jungle": "forest", "outdoors": "open field", "outside": "open field",
    "field": "open field", "meadow": "open field", "anechoic": "dry", "close": "dry",
}


def get_space(space: str) -> Space:
    """The :class:`Space` named ``space`` (or one of its aliases); FoleyError when unknown."""
    key = " ".join(str(space).lower().replace("_", " ").replace("-", " ").split())
    key = SPACE_ALIASES.get(key, key)
    if key not in SPACES:
        raise FoleyError(f"unknown space {space!r}; spaces are: {', '.join(SPACES)} "
                         f"(aliases: {', '.join(SPACE_ALIASES)})")
    return SPACES[key]


def distance_gain_db(distance_m: float) -> float:
    """Inverse-square level re 1 m: -6 dB per doubling beyond 1 m, never below -30 dB."""
    return float(max(-20.0 * np.log10(max(float(distance_m), 1.0)), -30.0))


def air_absorption_db_per_m(freqs_hz, temperature_c: float = 20.0, humidity_pct: float = 60.0) -> np.ndarray:
    """Atmospheric absorption coefficient (dB/m) of ISO 9613-1 at sea-level pressure: about
    0.005 dB/m at 1 kHz, 0.02 at 4 kHz and 0.1 at 10 kHz at 20 C and 60 % humidity."""
    f = np.asarray(freqs_hz, np.float64)
    t = temperature_c + 273.15
    tr = t / 293.15
    h = humidity_pct * 10.0 ** (-6.8346 * (273.16 / t) ** 1.261 + 4.6151)
    fr_o = 24.0 + 4.04e4 * h * (0.02 + h) / (0.391 + h)
    fr_n = tr ** -0.5 * (9.0 + 280.0 * h * np.exp(-4.170 * (tr ** (-1 / 3) - 1.0)))
    return 8.686 * f ** 2 * (1.84e-11 * tr ** 0.5 + tr ** -2.5 * (
        0.01275 * np.exp(-2239.1 / t) / (fr_o + f ** 2 / fr_o) + 0.1068 * np.exp(-3352.0 / t) / (fr_n + f ** 2 / fr_n)))


@lru_cache(maxsize=256)
def _air_fir(sample_rate: int, distance_m: float) -> np.ndarray:
    """Zero-phase FIR (``AIR_FIR_TAPS`` taps, centred) with the air's magnitude response over ``distance_m``."""
    nfft = 4096
    mag = 10.0 ** (-air_absorption_db_per_m(np.fft.rfftfreq(nfft, 1.0 / sample_rate)) * distance_m / 20.0)
    h = np.roll(np.fft.irfft(mag, nfft), AIR_FIR_TAPS // 2)[:AIR_FIR_TAPS] * np.blackman(AIR_FIR_TAPS)
    return h / h.sum()  # DC passes unchanged (the air does not absorb it)


def _air_full(x: np.ndarray, sample_rate: int, distance_m: float) -> np.ndarray:
    """Air-absorbed ``x`` with its ringing kept: ``len(x) + AIR_FIR_TAPS // 2`` samples, aligned."""
    from scipy.signal import oaconvolve

    return oaconvolve(x, _air_fir(int(sample_rate), float(distance_m)).astype(x.dtype))[AIR_FIR_TAPS // 2:]


def air_absorption(x: np.ndarray, sample_rate: int, distance_m: float) -> np.ndarray:
    """``x`` as heard ``distance_m`` away through air (same length, zero phase, no level change at DC).

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=48000).astype(np.float32)
    >>> far = air_absorption(x, 48000, 300.0)
    >>> bool(np.std(far) < np.std(x))
    True
    """
    x = np.asarray(x, np.float32)
    return _air_full(x, sample_rate, distance_m)[: x.shape[-1]] if x.size else x.copy()


def _reflections(sp: Space, sample_rate: int, rng: np.random.Generator):
    """Tap delays (samples) and gains per channel ``[2, k]``: early reflections, slaps, ground;
    their energy per channel is ``er_share + slap_share`` of the reverberant field (1)."""
    delays, gains = [], []
    lo, hi = sp.er_window_ms
    for _ in range(2):
        d_ms = np.empty(0)
        g = np.empty(0)
        if sp.er_count:  # reflection density grows like t^2: sample t^3 uniformly
            d_ms = np.sort((lo ** 3 + rng.uniform(size=sp.er_count) * (hi ** 3 - lo ** 3)) ** (1 / 3))
            g = rng.choice([-1.0, 1.0], sp.er_count) * rng.uniform(0.5, 1.0, sp.er_count) * lo / d_ms
            g *= np.sqrt(sp.er_share / np.sum(g ** 2))
        if sp.slaps_ms:
            s_ms = np.asarray(sp.slaps_ms) + rng.uniform(-2.0, 2.0, len(sp.slaps_ms))
            s_g = np.asarray(sp.slaps_ms[0]) / s_ms * rng.uniform(0.7, 1.0, len(sp.slaps_ms))
            d_ms, g = np.r_[d_ms, s_ms], np.r_[g, s_g * np.sqrt(sp.slap_share / np.sum(s_g ** 2))]
        delays.append(np.round(d_ms * 1e-3 * sample_rate))
        gains.append(g)
    return np.array(delays, np.int64), np.array(gains, np.float64)


@lru_cache(maxsize=64)
def _late_energy(name: str, sample_rate: int) -> float:
    """Energy per channel of the FDN's impulse response (to scale the late reverb exactly)."""
    sp = SPACES[name]
    imp = np.zeros(1)
    imp[0] = 1.0
    y = fdn(imp, sample_rate, rt60_s=sp.rt60_s, rt60_high_s=sp.rt60_high_s, n_out=int(1.5 * sp.rt60_s * sample_rate),
            delays_samples=prime_delays(sample_rate, *sp.line_ms), input_lowpass_hz=sp.lowpass_hz)
    return float(np.mean(np.sum(y.astype(np.float64) ** 2, axis=1)))


def place(dry: np.ndarray, sample_rate: int, *, distance_m: float = 1.0, space: str = "dry", seed: int = 0,
          keep_length: bool = False) -> np.ndarray:
    """Place a mono take ``distance_m`` away in ``space``: float32 ``[2, n_out]``.

    Parameters
    ----------
    dry : mono take (close and dry), any float dtype.
    sample_rate : Hz.
    distance_m : source distance, 0.1 .. 2000 m.
    space : a key of :data:`SPACES` or :data:`SPACE_ALIASES`.
    seed : picks the early reflection pattern (same seed, same output).
    keep_length : cut the output to ``len(dry)``; otherwise the room's tail is appended.

    Raises
    ------
    FoleyError
        Unknown space, distance out of range, or a take that is not mono.
    """
    sp = get_space(space)
    try:
        r = float(distance_m)
    except (TypeError, ValueError):
        raise FoleyError(f"distance_m must be a number, got {distance_m!r}") from None
    if not (np.isfinite(r) and DISTANCE_RANGE_M[0] <= r <= DISTANCE_RANGE_M[1]):
        raise FoleyError(f"distance_m must be between {DISTANCE_RANGE_M[0]:g} and {DISTANCE_RANGE_M[1]:g} m, "
                         f"got {distance_m!r}")
    x = np.asarray(dry, np.float32)
    if x.ndim != 1:
        raise FoleyError(f"place needs a mono take (1-D), got shape {x.shape}")
    sr = int(sample_rate)
    n = x.size
    n_out = n if keep_length or n == 0 else n + int(np.ceil(sp.tail_s * sr)) + AIR_FIR_TAPS // 2
    out = np.zeros((2, n_out), np.float32)
    if n == 0 or n_out == 0:
        return out
    u = _air_full(x, sr, r)[:n_out]  # what arrives at the listener's position, before the room
    g_direct = 10.0 ** (distance_gain_db(r) / 20.0)
    out += np.float32(g_direct) * np.pad(u, (0, n_out - u.size))[None, :]

    rng = np.random.default_rng(seed)
    g_rev = 1.0 / sp.critical_distance_m  # reverberant field: direct's energy at the critical distance
    d, g = _reflections(sp, sr, rng)
    g = g * g_rev
    if sp.ground:  # image source below the ground; source 1 m and microphone 1.5 m high
        extra_m = np.hypot(r, 2.5) - r
        d = np.c_[d, np.full(2, max(int(round(extra_m / SPEED_OF_SOUND_M_S * sr)), 1))]
        g = np.c_[g, np.full(2, sp.ground * g_direct * r / (r + extra_m))]
    if d.size:
        out += tapped_delay(u, d, g, n_out)
    if sp.rt60_s > 0:
        late = fdn(u, sr, rt60_s=sp.rt60_s, rt60_high_s=sp.rt60_high_s, n_out=n_out,
                   delays_samples=prime_delays(sr, *sp.line_ms), input_lowpass_hz=sp.lowpass_hz)
        share = max(1.0 - sp.er_share - sp.slap_share, 0.0)
        late *= np.float32(g_rev * np.sqrt(share / _late_energy(sp.name, sr)))
        out += late
    return out
