"""voxpost: audio post-production and voice engine for film and television."""

__version__ = "0.1.0"
