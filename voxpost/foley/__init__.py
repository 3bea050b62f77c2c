"""Foley from prompts: procedural, physically informed sound models (and a neural backend when its
weights are present), placed in space, named the way sound libraries are named.

- :mod:`voxpost.foley.model`: what a sound model is (parameters with units, render, UCS CatID).
- :mod:`voxpost.foley.catalog`: every model, registered by importing its module.
- :mod:`voxpost.foley.prompt`: free text to models and parameters.
- :mod:`voxpost.foley.space`: distance (level, air absorption) and rooms (early reflections, reverb).
- :mod:`voxpost.foley.generate`: takes, cues, loudness per category, UCS names, BWF and sidecars.
- :mod:`voxpost.foley.neural`: a text-to-audio diffusion backend, used when its checkpoint is installed.
"""
