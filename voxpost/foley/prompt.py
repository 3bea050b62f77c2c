"""Free text to sound models and their parameters: ``parse("heavy rain with thunder far away")``.

The lexicon is built from the registry (each model's name, ``keywords``, ``vocabulary`` and the
``choices`` of its parameters) plus :data:`voxpost.foley.lexicon.SYNONYMS`; words are compared after a light stemming
(plurals, -ing, -ed), so "knocks", "knocking" and "knock" are one word, and a misspelt sound name
("thundr", "foot steps") is found by a fuzzy fallback (:mod:`difflib`), with a warning.

The prompt is cut into clauses on "with", "and", "while", commas and semicolons. A clause that
names a model starts a layer; one that does not ("far away", "in a church") modifies the layer
before it. Durations ("for ten seconds", "2 min") apply to the whole take; counts ("three
knocks", "a dozen shots") to event models; distances ("distant", "5 metres away") and spaces
("in a church", "outdoors") to their layer, a space named once to every layer that names none.

Examples
--------
>>> plan = parse("three knocks on a wooden door")
>>> plan.layers[0].model, plan.layers[0].count
('door_knock', 3)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from voxpost.foley.lexicon import (ADJECTIVES, AXIS_PARAMS, COUNT_PHRASES, DISTANCE_RE, DISTANCES, DURATION_RE, GAINS,
                                   NUMBERS, SPLIT_RE, STOP, SYNONYMS, TIMES_RE)
from voxpost.foley import catalog
from voxpost.foley.model import FoleyError, SoundModel
from voxpost.foley.phrases import Lexicon, closest, fuzzy_model, match_phrases, number, stem, tokens
from voxpost.foley.space import SPACE_ALIASES, SPACES



@dataclass
class Layer:
    """One sound of a prompt: a model, its resolved parameters and where it is."""

    model: str
    params: dict[str, Any]
    count: int | None = None
    distance_m: float = 1.0
    space: str = "dry"
    gain_db: float = 0.0
    text: str = ""


@dataclass
class Plan:
    """What a prompt asks for: its layers, the duration it names (if any) and notes for the user."""

    layers: list[Layer]
    duration_s: float | None = None
    warnings: list[str] = field(default_factory=list)


def load_models() -> dict[str, SoundModel]:
    """Every registered sound model, by name (:mod:`voxpost.foley.catalog` registers them all)."""
    return catalog.models()


def spaces() -> tuple[tuple[str, ...], dict[str, str]]:
    """The room names of :data:`voxpost.foley.space.SPACES` and the words a prompt may use for them."""
    return tuple(SPACES), dict(SPACE_ALIASES)

def _axis_param(model: SoundModel, axis: str):
    for p in model.params:
        if not p.choices and p.lo is not None and p.hi is not None and p.name.split("_")[0] in AXIS_PARAMS[axis]:
            return p
    return None


def _apply_words(layer: Layer, model: SoundModel, words: list[str], used: list[bool], warnings: list[str]) -> None:
    """Vocabulary, parameter choices and adjectives of one clause, onto ``layer.params``."""
    vocab = dict(model.vocabulary)
    for p in model.params:
        for c in p.choices:
            vocab.setdefault(c.replace("_", " "), (p.name, c))
    for name, value in match_phrases(words, used, vocab):
        layer.params[name] = value
    for axis, level in match_phrases(words, used, ADJECTIVES):
        p = _axis_param(model, axis)
        if p is None:
            warnings.append(f"'{axis}' words have no effect on {model.name}")
            continue
        base = float(layer.params.get(p.name, p.default))
        v = base * level if axis == "pace" else p.lo + level * (p.hi - p.lo)
        layer.params[p.name] = float(min(max(v, p.lo), p.hi))


def _apply_place(layer: Layer, words: list[str], used: list[bool], text: str,
                 space_table: dict[str, str], near_used: list[bool] | None = None) -> bool:
    """Distance, gain and space words of a clause onto ``layer``; True when one was found.

    ``near_used`` marks the words distances may not use (default ``used``): a distance word may
    also be a model's parameter ("distant thunder": both the thunder's character and its distance).
    """
    near_used = list(used if near_used is None else near_used)
    found = False
    m = DISTANCE_RE.search(text)
    if m:
        unit = m.group(2)
        scale = 1000.0 if unit.startswith("k") else 0.3048 if unit.startswith("f") else 0.9144 if unit.startswith("y") else 1.0
        layer.distance_m = max(0.1, number(m.group(1)) * scale)
        found = True
    for d in match_phrases(words, near_used, DISTANCES, stemmed=False):
        layer.distance_m, found = d, True
    used[:] = [a or b for a, b in zip(used, near_used)]
    for g in match_phrases(words, used, GAINS, stemmed=False):
        layer.gain_db, found = g, True
    for s in match_phrases(words, used, space_table, stemmed=False):
        layer.space, found = s, True
    return found

def parse(text: str) -> Plan:
    """Read a prompt into a :class:`Plan` (layers with resolved parameters, duration, warnings).

    Raises
    ------
    FoleyError
        For an empty prompt, or one that names no sound model (with the closest models).
    """
    prompt = " ".join(str(text or "").split())
    if not prompt.strip(" ,;.!?"):
        raise FoleyError("the prompt is empty; describe a sound, e.g. 'footsteps on gravel' "
                         "(see 'voxpost foley --list')")
    models = load_models()
    if not models:
        raise FoleyError("no sound models are installed")
    lex = Lexicon(models)
    names, aliases = spaces()
    space_table = {**{n: n for n in names}, **aliases}
    lower = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", prompt.lower())
    warnings: list[str] = []
    duration = None
    for m in DURATION_RE.finditer(lower):
        unit = m.group(2)
        value = number(m.group(1)) * (3600 if unit.startswith("h") else 60 if unit.startswith("m") else 1)
        if duration is None:
            duration = value
        elif value != duration:
            warnings.append(f"the prompt names two durations; using {duration:g} s")
    lower = DURATION_RE.sub(" ", lower)
    layers: list[Layer] = []
    own_space: list[bool] = []      # per layer: a space was named for it
    implied: list[bool] = []        # per layer: added by a synonym naming several models ("storm")
    named_space = None
    last_targets: list[Layer] = []  # the layers the previous clause described
    for clause in (c.strip(" .!?") for c in SPLIT_RE.split(lower)):
        words = tokens(clause)
        if not words:
            continue
        used = [False] * len(words)
        hits = _drop_parameter_words(lex.find(words, used), words, models, warnings)
        if not hits and (not layers or not _modifies(words, space_table, layers[-1], models)):
            fuzzy = fuzzy_model(words, lex)
            if fuzzy:
                warnings.append(f"read '{fuzzy[1]}' as '{fuzzy[2]}'")
                hits = [(0, 0, fuzzy[0])]
        targets: list[Layer] = []
        for _, _, model_names in hits:
            for name in model_names:
                if any(t.model == name for t in targets):
                    continue
                old = [i for i, layer in enumerate(layers) if layer.model == name and implied[i]]
                if old:     # "a storm ... heavy rain": the rain of the storm, now described
                    implied[old[0]] = False
                    targets.append(layers[old[0]])
                    continue
                layers.append(Layer(name, dict(models[name].defaults()), text=clause))
                own_space.append(False)
                implied.append(len(model_names) > 1)
                targets.append(layers[-1])
        content = [w for w in words if w not in STOP]
        if not targets:
            if not layers:
                raise FoleyError(f"no sound model for '{clause}'; closest: {', '.join(closest(content, lex))}; "
                                 "see 'voxpost foley --list'")
            targets = list(last_targets)           # "a horse-drawn carriage, distant": both of its layers
            for layer in targets:
                layer.text += ", " + clause
        count = _count(clause)
        recognised = bool(hits)
        for layer in targets:
            model = models[layer.model]
            before = (dict(layer.params), layer.distance_m, layer.space, layer.gain_db)
            vocab_used = [False] * len(words)
            room = _room_after_preposition(words, used, vocab_used, space_table)
            if room:
                layer.space = room
            _apply_words(layer, model, words, vocab_used, warnings)
            place_used = [a or b for a, b in zip(used, vocab_used)]
            _apply_place(layer, words, place_used, clause, space_table, list(used))
            if layer.space != before[2]:
                own_space[layers.index(layer)] = True
                named_space = named_space or layer.space
            recognised = recognised or before != (layer.params, layer.distance_m, layer.space, layer.gain_db)
            if count is not None:
                if model.event_based:
                    layer.count = count
                    p = next((p for p in model.params if p.name == "count"), None)
                    if p is not None and not p.choices:
                        layer.params["count"] = min(max(count, p.lo), p.hi)
                        if layer.params["count"] != count:
                            warnings.append(f"{model.name} renders {p.lo:g}..{p.hi:g} events by itself; "
                                            f"{count} are placed one by one")
                else:
                    warnings.append(f"a count has no meaning for {model.name} (not a sound of separate events)")
        if not recognised and content and count is None:
            raise FoleyError(f"no sound model for '{clause}'; closest: {', '.join(closest(content, lex))}; "
                             "see 'voxpost foley --list'")
        last_targets = targets
    for layer, own in zip(layers, own_space):
        if not own and named_space:
            layer.space = named_space
        layer.params = models[layer.model].resolve(layer.params)
    return Plan(layers, duration, warnings)


def _room_after_preposition(words: list[str], used: list[bool], mark: list[bool],
                            space_table: dict[str, str]) -> str | None:
    """A space named right after "in", "inside", "at"... ("in a cathedral"), even where the word is
    also a model's parameter; its words are marked in ``mark``."""
    for i, w in enumerate(words):
        if w in ("in", "inside", "within", "at", "through", "across") and not used[i]:
            j = i + 1 + (i + 1 < len(words) and words[i + 1] in ("a", "an", "the"))
            for key in sorted(space_table, key=lambda k: -len(k.split())):
                n = len(key.split())
                if words[j:j + n] == key.split() and not any(used[j:j + n]):
                    mark[j:j + n] = [True] * n
                    return space_table[key]
    return None


def _drop_parameter_words(hits: list, words: list[str], models: dict[str, SoundModel], warnings: list[str]) -> list:
    """The clause's sound: its first model phrase, once those that are a parameter of another model
    named in it are dropped ("a horse walking": "walking" is the horse's gait, not footsteps)."""
    def vocab_stems(name: str) -> set[tuple[str, ...]]:
        m = models[name]
        phrases = [*m.vocabulary, *(c.replace("_", " ") for p in m.params for c in p.choices)]
        return {tuple(stem(w) for w in tokens(ph)) for ph in phrases}

    keep = []
    for h in hits:
        phrase = tuple(stem(w) for w in words[h[0]:h[1]])
        others = {n for g in hits if g is not h for n in g[2] if n not in h[2]}
        if not any(phrase in vocab_stems(n) for n in others):
            keep.append(h)
    keep.sort(key=lambda h: h[0])
    for h in keep[1:]:
        if set(h[2]) <= set(keep[0][2]):
            continue                     # another word for the same sound ("a horse trotting")
        warnings.append(f"'{' '.join(words[h[0]:h[1]])}' read as part of {' and '.join(keep[0][2])}; "
                        f"for another sound, join it with 'with' or 'and'")
    return keep[:1]


def _modifies(words: list[str], space_table: dict[str, str], layer: Layer, models: dict[str, SoundModel]) -> bool:
    """Whether a clause without a model reads wholly as modifiers of ``layer`` ("far away")."""
    probe = Layer(layer.model, dict(layer.params))
    used = [w in STOP for w in words]
    _apply_words(probe, models[probe.model], words, used, [])
    _apply_place(probe, words, used, " ".join(words), space_table)
    return all(used) or _count(" ".join(words)) is not None


def _count(clause: str) -> int | None:
    """How many events a clause asks for ("three knocks", "twice", "a dozen shots"), if it says."""
    text = DISTANCE_RE.sub(" ", clause)
    m = TIMES_RE.search(text)
    if m and m.group(1) not in ("a", "an"):
        return max(1, int(round(number(m.group(1)))))
    for phrase, n in sorted(COUNT_PHRASES.items(), key=lambda kv: -len(kv[0])):
        if re.search(rf"\b{phrase}\b", text):
            return n
    m = re.search(r"\b(\d+|(?:twenty|thirty|forty|fifty|sixty)\s+(?:one|two|three|four|five|six|seven|eight|nine)|"
                  + "|".join(w for w in sorted(NUMBERS, key=len, reverse=True) if w != "zero") + r")\b", text)
    if m:
        return max(1, int(round(number(m.group(1)))))
    return None


__all__ = ["ADJECTIVES", "DISTANCES", "SYNONYMS", "Layer", "Plan", "load_models", "parse", "spaces"]
