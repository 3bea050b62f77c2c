"""Voice: speech synthesis, consented voice profiles, conversion into a profile's voice, and the mark.

- (the embedded espeak-ng TTS and its word events live below, in :mod:`voxpost.espeak`.)
- :mod:`voxpost.voice.tts`: text to speech at a target duration; :mod:`~voxpost.voice.stretch`: WSOLA time-stretch.
- :mod:`voxpost.voice.profile`: voice profiles with their consent record.
- :mod:`voxpost.voice.analysis`, :mod:`~voxpost.voice.vocoder`, :mod:`~voxpost.voice.convert`: the embedded
  source-filter conversion; :mod:`~voxpost.voice.knnvc` (with :mod:`~voxpost.voice.wavlm` and
  :mod:`~voxpost.voice.hifigan`): the neural backend; :mod:`~voxpost.voice.backends` picks one.
- :mod:`voxpost.voice.watermark`, :mod:`~voxpost.voice.provenance`: what marks audio as synthetic.
"""
