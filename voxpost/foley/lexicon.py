"""The foley prompt lexicon: synonyms, adjectives, distances, numbers and the patterns
:mod:`voxpost.foley.prompt` reads a prompt with. Data only; the parser is in ``prompt.py``."""

from __future__ import annotations

import re

#: Words and phrases that name a model besides its own keywords: phrase -> model name(s).
#: Entries naming a model that is not registered are ignored. A storm layers rain and thunder.
SYNONYM_TABLE = {
    ('footsteps',): "footstep, footfall, step, walking, walk, walker, running, jogging, pacing, stomping, treading, "
                    "tiptoeing, shuffling, feet, person walking, someone walking, marching, strolling",
    ('hooves',): "horse, hoof, hooves, hoofbeat, galloping, gallop, trotting, trot, cantering, canter, pony, mare, "
                 "stallion, cavalry, horseback",
    ('door_knock',): "knock, knocking, door knock, rap on the door, rapping, knocker",
    ('door_open',): "opens, opening, opened",
    ('rain',): "rain, raining, rainfall, downpour, drizzle, drizzling, shower, pouring rain, rainy",
    ('thunder',): "thunder, thunderclap, thunder clap, lightning, rumble of thunder",
    ('rain', 'thunder'): "storm, thunderstorm, rainstorm, tempest",
    ('hooves', 'cart_wheels'): "horse-drawn carriage, horse drawn carriage, horse and cart, horse and carriage, "
                               "horse pulling a cart, horse pulling a carriage, horse-drawn cart, horse drawn cart, "
                               "stagecoach, hansom cab, hackney carriage",
    ('wind',): "wind, windy, gust, gusts, breeze, gale, howling wind",
    ('fire',): "fire, bonfire, campfire, camp fire, fireplace, hearth, flames, flame, crackling fire, blaze, "
               "burning logs",
    ('stream',): "stream, brook, creek, river, babbling brook, running water, trickle, rivulet, flowing water",
    ('crowd_murmur',): "crowd, murmur, murmuring, chatter, chattering, walla, people talking, hubbub, babble, "
                       "audience, crowd noise",
    ('church_bell',): "church bell, bell, bells, toll, tolling, peal, carillon, belfry",
    ('clock_tick',): "clock, ticking, tick, tick tock, pocket watch, watch, grandfather clock",
    ('gunshot',): "gunshot, gun, shot, shots, gunfire, musket, pistol, rifle, revolver, firing",
    ('sea_waves',): "waves, wave, surf, sea, ocean, shore, seaside, beach, breakers, tide",
    ('cloth_rustle',): "jacket, leather jacket, shirt, sleeve, cloak, skirt, trousers, blanket, fabric rustle, "
                       "clothes rustling",
    ('splash',): "splash, splashes, plop, into the water, into water, falls into the water, thrown into the water, "
                 "jumps in the water",
    ('drips',): "drip, drips, dripping, droplets, leak, leaking, dripping tap",
    ('cart_wheels',): "cart, carriage, wagon, wheels",
    ('door_creak',): "creak, creaks, creaking, creaky, hinge, squeaky hinge",
    ('door_slam',): "slam, slams, slammed, door slam",
    ('glass_break',): "breaking glass, shattering, shatter, smash, smashed, broken glass",
    ('birdsong',): "birds, bird, birdsong, chirping, songbird, blackbird, thrush, sparrow, sparrows, birds singing, "
                   "dawn chorus, robin",
}
SYNONYMS: dict[str, tuple[str, ...]] = {p.strip(): m for m, text in SYNONYM_TABLE.items() for p in text.split(",")}

#: Adjectives that move a generic parameter: word -> (axis, level). Intensity and size levels
#: are fractions of the parameter's range; pace levels multiply its default.
ADJECTIVES: dict[str, tuple[str, float]] = {
    **{w: ("intensity", 0.8) for w in "heavy heavily hard loud loudly strong pouring intense".split()},
    **{w: ("intensity", 0.95) for w in "violent torrential raging roaring fierce furious".split()},
    **{w: ("intensity", 0.25) for w in "light lightly gentle gently soft softly quiet quietly mild weak".split()},
    **{w: ("intensity", 0.1) for w in "faint drizzle drizzling barely".split()},
    **{w: ("intensity", 0.5) for w in "moderate medium steady".split()},
    **{w: ("pace", 0.7) for w in "slow slowly leisurely lazy".split()},
    **{w: ("pace", 1.4) for w in "fast quick quickly brisk hurried hurriedly".split()},
    **{w: ("pace", 1.8) for w in "rapid rapidly frantic".split()},
    **{w: ("size", 0.85) for w in "big large huge massive enormous".split()},
    **{w: ("size", 0.2) for w in "small little tiny".split()},
}
AXIS_PARAMS = {"intensity": ("intensity", "force", "strength", "velocity", "loudness"),
                "pace": ("pace", "rate", "tempo", "speed"), "size": ("size", "mass")}

#: Distance words: phrase -> metres.
DISTANCES = {"right next to": 0.3, "close up": 0.3, "up close": 0.3, "very close": 0.5, "close": 0.7,
             "nearby": 3.0, "near": 3.0, "next door": 8.0, "across the room": 5.0, "in the distance": 60.0,
             "distant": 50.0, "far": 50.0, "far away": 100.0, "far off": 100.0, "very far": 300.0,
             "miles away": 1000.0, "far in the distance": 150.0}
GAINS = {"in the background": -8.0, "background": -8.0, "barely audible": -14.0, "faintly": -10.0}

NUMBERS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve "
                                       "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty".split())}
NUMBERS.update(thirty=30, forty=40, fifty=50, sixty=60, ninety=90, hundred=100)
COUNT_PHRASES = {"a dozen": 12, "dozen": 12, "a couple of": 2, "a couple": 2, "a pair of": 2, "a few": 3,
                  "several": 4, "a single": 1, "single": 1, "once": 1, "twice": 2, "thrice": 3}
NUM = r"(?:\d+(?:\.\d+)?|(?:twenty|thirty|forty|fifty|sixty)\s+(?:one|two|three|four|five|six|seven|eight|nine)" \
       r"|" + "|".join(sorted(NUMBERS, key=len, reverse=True)) + r"|half an?|an?|a few|a couple of)"
DURATION_RE = re.compile(rf"\b(?:for\s+)?(?:about\s+|around\s+|roughly\s+)?({NUM})\s*"
                          r"(seconds?|secs?|s|minutes?|mins?|hours?|hrs?|h)\b(?:\s+long)?")
DISTANCE_RE = re.compile(rf"\b({NUM})\s*(metres?|meters?|m|kilometres?|kilometers?|km|feet|foot|ft|yards?)"
                          r"\b(?:\s+(?:away|off))?")
TIMES_RE = re.compile(rf"\b({NUM})\s+times\b")
STOP = set("a an the of on in at to some with and while is are from over across through into onto by very "
            "sound sounds noise noises someone something somebody being its his her their as it".split())
SPLIT_RE = re.compile(r"\s*(?:[,;]|\bwith\b|\band\b|\bwhile\b|\bthen\b)\s*")
