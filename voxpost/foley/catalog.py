"""The catalogue of sound models: importing this module registers every model."""

from __future__ import annotations

from voxpost.foley import impacts, steps, textures, weather  # noqa: F401 - importing them registers their models
from voxpost.foley.model import REGISTRY, SoundModel


def models() -> dict[str, SoundModel]:
    """Every registered model, by name."""
    return dict(REGISTRY)
