"""The catalogue of sound models: importing this module registers every model."""

from __future__ import annotations

import importlib

from voxpost.foley.model import REGISTRY, SoundModel

#: Modules that define and register sound models.
MODULES = ("voxpost.foley.steps", "voxpost.foley.impacts", "voxpost.foley.weather", "voxpost.foley.textures")

for _name in MODULES:
    importlib.import_module(_name)


def models() -> dict[str, SoundModel]:
    """Every registered model, by name."""
    return dict(REGISTRY)
