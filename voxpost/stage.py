"""Stages and chains: audio in, audio out, block by block, with latency bookkeeping.

A :class:`Stage` is a dataclass whose fields are its parameters, in units (``gain_db``,
``cutoff_hz``, ``release_ms``), each declared with :func:`param` so that presets can validate it.
A ``str`` parameter named ``*_path`` (``model_path``, ``profile_path``) names a file: when not
empty it must exist, and a preset resolves it relative to the preset file.
Its life: ``prepare(sample_rate, channels)`` once, then ``process(block)`` on float32 blocks
``[channels, frames]`` as many times as there are blocks (live at 10 ms or offline over a whole
file, the same code), ``reset()`` to forget the past, and ``latency_samples`` for the delay it
adds. Every stage returns exactly as many frames as it was given.

A :class:`Chain` is a list of stages and itself a stage. ``Chain.stream`` and ``Chain.render``
compensate the total latency, so offline outputs stay sample-aligned with their inputs.

Examples
--------
>>> import numpy as np
>>> from voxpost.audio import Audio
>>> from voxpost.stage import Chain
>>> from voxpost.clean import DCBlock, Gain, HighPass
>>> take = Audio(np.random.default_rng(0).normal(size=(2, 4800)).astype(np.float32) * 0.1, 48000)
>>> chain = Chain([DCBlock(), HighPass(cutoff_hz=80.0), Gain(gain_db=-3.0)])
>>> out = chain.render(take)
>>> out.samples.shape, chain.latency_samples
((2, 4800), 0)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from voxpost.errors import ParameterError

if TYPE_CHECKING:
    from voxpost.audio import Audio

#: Stage classes by preset type name, filled by :func:`register`. Import :mod:`voxpost.stages`
#: to have every stage of the engine registered (this module imports no capability).
STAGES: dict[str, type["Stage"]] = {}
#: Name suffix of a parameter that is a file path (checked to exist when not empty).
PATH_SUFFIX = "_path"


def param(default: Any, *, min: float | None = None, max: float | None = None,
          choices: tuple | None = None, help: str = "") -> Any:
    """Declare a stage parameter with its default, bounds and one-line help."""
    meta = {"min": min, "max": max, "choices": choices, "help": help}
    return dataclasses.field(default=default, metadata=meta)


def register(cls: type["Stage"]) -> type["Stage"]:
    """Class decorator: make ``cls`` a keyword-only dataclass and a preset type under ``cls.kind``."""
    cls = dataclasses.dataclass(kw_only=True, eq=False)(cls)
    STAGES[cls.kind] = cls
    return cls


@dataclasses.dataclass(kw_only=True, eq=False)
class Stage:
    """Base class of every stage. Subclasses are ``@register``-ed keyword-only dataclasses."""

    kind: ClassVar[str] = "stage"
    description: ClassVar[str] = ""
    #: True for a stage that must hear the whole programme before processing it (integrated
    #: loudness). Offline rendering then makes a first pass through ``analyse``; live use skips it.
    needs_analysis: ClassVar[bool] = False

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, check_param(self.kind, f, getattr(self, f.name)))
        self.sample_rate: int | None = None
        self.channels: int | None = None

    # -- the protocol ----------------------------------------------------------------------
    def prepare(self, sample_rate: int, channels: int) -> None:
        """Set the rate and channel count, compute coefficients, allocate state (then reset)."""
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self.reset()

    def process(self, block: np.ndarray) -> np.ndarray:
        """Process one float32 ``[channels, frames]`` block; state carries to the next block."""
        raise NotImplementedError

    def reset(self) -> None:
        """Forget all history, as if no block had been processed."""

    @property
    def latency_samples(self) -> int:
        """Samples by which the output lags the input."""
        return 0

    def end_of_input(self) -> None:
        """Offline hint: the real input has ended, only silence follows (``Chain.stream`` calls it
        once a stage has had its last real sample). A stage that holds back long stretches (a
        segment-wise model) gives them back now instead of waiting for that much silence; the
        output stays what feeding silence would give. Forgotten by ``reset()``."""

    def analyse(self, blocks: Iterable[np.ndarray]) -> None:
        """Offline first pass over this stage's whole input (only when ``needs_analysis``).

        What it learns survives ``reset()``; ``prepare`` has been called before.
        """

    def report(self) -> dict[str, Any]:
        """Measurements since the last reset, for reports (e.g. ``{"clicks_repaired": 12}``)."""
        return {}

    # -- conveniences ----------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def render(self, audio: "Audio", *, block_frames: int | None = None) -> "Audio":
        """Offline: the whole ``audio`` through this stage, latency compensated."""
        return Chain([self]).render(audio, block_frames=block_frames)

    def __call__(self, audio: "Audio") -> "Audio":
        return self.render(audio)

    def _require_prepared(self) -> None:
        if self.sample_rate is None:
            raise RuntimeError(f"{self.kind}: call prepare(sample_rate, channels) before process()")


class Chain(Stage):
    """Stages applied in order; reports and compensates their total latency."""

    kind: ClassVar[str] = "chain"

    def __init__(self, stages: Iterable[Stage], *, name: str = "chain") -> None:
        self.stages = list(stages)
        for s in self.stages:
            if not isinstance(s, Stage):
                raise TypeError(f"Chain takes stages, got {type(s).__name__}")
        self.name = name
        self.sample_rate = self.channels = None

    def __repr__(self) -> str:
        return f"Chain({self.stages!r})"

    def __iter__(self) -> Iterator[Stage]:
        return iter(self.stages)

    def __len__(self) -> int:
        return len(self.stages)

    def params(self) -> dict[str, Any]:
        return {"stages": [{"type": s.kind, **s.params()} for s in self.stages]}

    def prepare(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        self._tail = None
        for s in self.stages:
            s.prepare(sample_rate, channels)

    def reset(self) -> None:
        self._tail = None
        for s in self.stages:
            s.reset()

    def end_of_input(self) -> None:
        """From now on only silence comes in: each stage is told so once its own real input,
        delayed by the stages before it, has passed (see :meth:`Stage.end_of_input`)."""
        lat = [s.latency_samples for s in self.stages]
        self._tail = [sum(lat[:i]) for i in range(len(self.stages))]   # real samples still to come

    @property
    def latency_samples(self) -> int:
        return sum(s.latency_samples for s in self.stages)

    def process(self, block: np.ndarray) -> np.ndarray:
        frames = block.shape[1]
        tail = getattr(self, "_tail", None)
        for i, s in enumerate(self.stages):
            if tail is None or tail[i] is None:
                block = s.process(block)
            elif tail[i] >= frames:
                block, tail[i] = s.process(block), tail[i] - frames
            else:                              # the stage's real input ends in this block
                cut = tail[i]
                head = s.process(block[:, :cut]) if cut else block[:, :0]
                s.end_of_input()
                block, tail[i] = np.concatenate([head, s.process(block[:, cut:])], axis=1), None
            if block.shape[1] != frames:
                raise RuntimeError(f"stage {s.kind} returned {block.shape[1]} frames for {frames}")
        return block

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for s in self.stages:
            out.update(s.report())
        return out

    def analyse_with(self, source: Callable[[], Iterable[np.ndarray]]) -> None:
        """Run the offline first pass of every stage that ``needs_analysis``.

        ``source()`` must give the chain's input blocks afresh on each call (one pass per
        analysing stage, through the stages before it). A stage that can re-read its input
        (``analyse_source``, e.g. integrated loudness with its trial passes) gets a re-readable
        source instead of one pass of blocks, so it need not hold the programme in memory.
        """
        self._require_prepared()
        for i, stage in enumerate(self.stages):
            if stage.needs_analysis:
                # the stages before are prepared already (and an analysing one among them has
                # learnt its pass): prepare() again would make it forget
                before = Chain(self.stages[:i])
                before.sample_rate, before.channels, before._tail = self.sample_rate, self.channels, None
                if hasattr(stage, "analyse_source"):
                    stage.analyse_source(lambda before=before: before.stream(source()))
                else:
                    stage.analyse(before.stream(source()))

    def stream(self, blocks: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
        """Process blocks offline with the latency removed: the output lines up with the input.

        The first ``latency_samples`` output frames are dropped and the tail is flushed with
        silence, so exactly as many frames come out as went in, at the same positions.
        The chain must be prepared; it is reset first.
        """
        self._require_prepared()
        self.reset()
        skip = self.latency_samples
        taken = given = 0
        largest = 1
        for block in blocks:
            taken += block.shape[1]
            largest = max(largest, block.shape[1])
            out = self.process(block)
            if skip:
                cut = min(skip, out.shape[1])
                out, skip = out[:, cut:], skip - cut
            if out.shape[1]:
                given += out.shape[1]
                yield out
        if given < taken:
            self.end_of_input()
        while given < taken:
            n = min(largest, taken - given + skip)
            out = self.process(np.zeros((self.channels, n), np.float32))
            cut = min(skip, n)
            out, skip = out[:, cut:cut + taken - given], skip - cut
            given += out.shape[1]
            if out.shape[1]:
                yield out

    def render(self, audio: "Audio", *, block_frames: int | None = None) -> "Audio":
        """Offline: the whole ``audio`` through the chain in blocks (whole file when None)."""
        self.prepare(audio.sample_rate, audio.channels)
        n = block_frames or max(1, audio.frames)

        def blocks() -> Iterator[np.ndarray]:
            return (audio.samples[:, i:i + n] for i in range(0, audio.frames, n))

        self.analyse_with(blocks)
        parts = list(self.stream(blocks()))
        out = np.concatenate(parts, axis=1) if parts else np.zeros_like(audio.samples)
        return audio.with_samples(out)


def check_param(kind: str, f: dataclasses.Field, value: Any) -> Any:
    """Check one parameter value against its declared type, bounds and choices; return it typed."""
    meta, name = f.metadata, f.name
    want = f.type if isinstance(f.type, type) else {"float": float, "int": int, "bool": bool, "str": str}.get(f.type)
    ok = (isinstance(value, bool) if want is bool
          else isinstance(value, (int, float)) and not isinstance(value, bool) if want is float
          else isinstance(value, int) and not isinstance(value, bool) if want is int
          else isinstance(value, str) if want is str else True)
    if not ok:
        raise ParameterError(f"{kind}: {name} must be {want.__name__}, got {value!r}")
    if want is float:
        value = float(value)
        if not np.isfinite(value):
            raise ParameterError(f"{kind}: {name} must be a finite number, got {value!r}")
    lo, hi, choices = meta.get("min"), meta.get("max"), meta.get("choices")
    if lo is not None and value < lo or hi is not None and value > hi:
        raise ParameterError(f"{kind}: {name} must be between {lo} and {hi}, got {value!r}")
    if choices and value not in choices:
        raise ParameterError(f"{kind}: {name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    if want is str and name.endswith(PATH_SUFFIX) and value and not Path(value).expanduser().is_file():
        raise ParameterError(f"{kind}: {name} {value!r}: no such file")
    return value
