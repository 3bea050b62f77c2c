"""What a foley sound model is: its parameters (with units and ranges), how it renders, how it is named.

A :class:`SoundModel` is a physically informed procedural synthesiser: ``render(params,
duration_s, sample_rate, rng, events_s)`` returns mono float32 audio, dry and close (distance and
room are applied afterwards by :mod:`voxpost.foley.space`). Event-based models (footsteps, hooves,
knocks, ticks, tolls, shots) put an event onset exactly at each time in ``events_s`` when given;
otherwise they place their own events from their pace and count parameters.

Models register themselves with :func:`register` when their module is imported; the catalogue
(:mod:`voxpost.foley.catalog`) imports them all.

Examples
--------
>>> from voxpost.foley.model import Param
>>> Param("pace", 0.5, lo=0.0, hi=1.0, help="slow walk .. run").check(0.7)
0.7
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from voxpost.errors import VoxpostError


class FoleyError(VoxpostError):
    """A prompt, parameter or cue list the foley engine cannot honour (one line)."""


@dataclass(frozen=True)
class Param:
    """One parameter of a sound model: a number in ``lo..hi`` (with its unit) or one of ``choices``."""

    name: str
    default: float | str
    lo: float | None = None
    hi: float | None = None
    unit: str = ""
    choices: tuple[str, ...] = ()
    help: str = ""

    def check(self, value: Any) -> float | str:
        """Return ``value`` validated (numbers clamped to the range would hide mistakes: refused)."""
        if self.choices:
            if value not in self.choices:
                raise FoleyError(f"{self.name} must be one of {', '.join(self.choices)}, got {value!r}")
            return value
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise FoleyError(f"{self.name} must be a number, got {value!r}") from None
        if not np.isfinite(v) or (self.lo is not None and v < self.lo) or (self.hi is not None and v > self.hi):
            raise FoleyError(f"{self.name} must be between {self.lo:g} and {self.hi:g}{(' ' + self.unit) if self.unit else ''}"
                             f", got {value!r}")
        return v

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "default": self.default, "help": self.help}
        if self.choices:
            out["choices"] = list(self.choices)
        else:
            out.update(lo=self.lo, hi=self.hi, unit=self.unit)
        return out


#: render(params, duration_s, sample_rate, rng, events_s) -> mono float32 [frames]
Renderer = Callable[[dict, float, int, np.random.Generator, "np.ndarray | None"], np.ndarray]


@dataclass(frozen=True)
class SoundModel:
    """A procedural sound model.

    ``name`` is the catalogue key ("footsteps"); ``cat_id`` its Universal Category System CatID
    ("FEETHmn"); ``fx_name(params)`` the FXName part of the file name ("Gravel Walk Slow");
    ``keywords`` the words and phrases a prompt names it by (lower case; the prompt parser also
    knows synonyms); ``examples`` prompts that must resolve to it; ``category`` the loudness class
    (see :data:`LOUDNESS_LUFS`). ``event_based`` models accept cue times.
    """

    name: str
    cat_id: str
    fx_name: Callable[[dict], str]
    params: tuple[Param, ...]
    render: Renderer
    description: str
    keywords: tuple[str, ...]
    examples: tuple[str, ...]
    category: str = "effects"
    default_duration_s: float = 5.0
    event_based: bool = False
    #: words in a prompt that set a parameter: {"gravel": ("surface", "gravel"), "running": ("gait", "run")}
    vocabulary: dict[str, tuple[str, Any]] = field(default_factory=dict)
    #: a CatID that depends on the parameters (rain on a tin roof is RAINMetl); ``cat_id`` otherwise
    cat_id_for: Callable[[dict], str] | None = None

    def cat(self, params: dict) -> str:
        """The UCS CatID of a take with these parameters."""
        return self.cat_id_for(params) if self.cat_id_for else self.cat_id

    def defaults(self) -> dict[str, Any]:
        return {p.name: p.default for p in self.params}

    def resolve(self, overrides: dict[str, Any]) -> dict[str, Any]:
        """Defaults updated by ``overrides``, each checked; an unknown name is refused."""
        known = {p.name: p for p in self.params}
        out = self.defaults()
        for k, v in overrides.items():
            if k not in known:
                raise FoleyError(f"{self.name} has no parameter '{k}'; it has {', '.join(known)}")
            out[k] = known[k].check(v)
        return out

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "cat_id": self.cat_id, "description": self.description,
                "event_based": self.event_based, "params": [p.describe() for p in self.params],
                "examples": list(self.examples)}


#: Integrated loudness each category of take is normalised to (LUFS), under a -1 dBTP ceiling.
#: Short events are measured on their loudest second (see :mod:`voxpost.foley.generate`).
LOUDNESS_LUFS = {"ambience": -30.0, "weather": -26.0, "effects": -20.0, "impacts": -16.0, "footsteps": -24.0}

REGISTRY: dict[str, SoundModel] = {}


def register(model: SoundModel) -> SoundModel:
    """Add ``model`` to :data:`REGISTRY` (names are unique)."""
    if model.name in REGISTRY:
        raise ValueError(f"sound model {model.name!r} registered twice")
    if model.category not in LOUDNESS_LUFS:
        raise ValueError(f"sound model {model.name!r}: unknown loudness category {model.category!r}")
    REGISTRY[model.name] = model
    return model


def event_times(duration_s: float, rate_hz: float, rng: np.random.Generator, *, jitter: float = 0.05,
                start_s: float = 0.1, count: int | None = None) -> np.ndarray:
    """Evenly paced event times (``rate_hz`` per second, each jittered by ``jitter`` of a period, or
    of a second for periods over a second, so a slow event never jitters out of a short take) from
    ``start_s``, ``count`` of them if given, else as many as fit in ``duration_s`` (at least one)."""
    period = 1.0 / max(rate_hz, 1e-3)
    n = count if count is not None else max(1, int((duration_s - start_s) / period))
    t = start_s + np.arange(n) * period + rng.uniform(-jitter, jitter, n) * min(period, 1.0)
    return np.clip(np.sort(t), 0.0, None)
