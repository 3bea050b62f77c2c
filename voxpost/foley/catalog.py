"""The catalogue of sound models: importing this module registers every model."""

from __future__ import annotations

# importing a model module registers its models; this order is the catalogue's order
from voxpost.foley import steps, doors, impacts, weather, textures  # noqa: F401, I001
from voxpost.foley.model import REGISTRY, SoundModel


def models() -> dict[str, SoundModel]:
    """Every registered model, by name."""
    return dict(REGISTRY)
