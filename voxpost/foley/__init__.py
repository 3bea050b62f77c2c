"""Foley from prompts: procedural, physically informed sound models (and a neural backend when its
weights are present), placed in space, named the way sound libraries are named.

- :mod:`voxpost.foley.model`: what a sound model is (parameters with units, render, UCS CatID).
- :mod:`voxpost.foley.catalog`: every model, registered by importing its module.
- :mod:`voxpost.foley.synth`: building blocks the models share (filters, bursts, contact pulses, modal ringing).
- :mod:`voxpost.foley.steps`, :mod:`~voxpost.foley.doors`, :mod:`~voxpost.foley.impacts`,
  :mod:`~voxpost.foley.weather`, :mod:`~voxpost.foley.textures`: the 22 models.
- :mod:`voxpost.foley.prompt` (with :mod:`voxpost.foley.phrases` and :mod:`voxpost.foley.lexicon`): free text to
  models and parameters.
- :mod:`voxpost.foley.space`: distance (level, air absorption) and rooms (early reflections, reverb).
- :mod:`voxpost.foley.generate`: takes, cues, loudness per category; :mod:`voxpost.foley.takes` and
  :mod:`voxpost.foley.ucs` write them (BWF, JSON sidecar, Universal Category System names).
- :mod:`voxpost.foley.neural`: a text-to-audio diffusion backend, used when its checkpoint is installed.
"""
