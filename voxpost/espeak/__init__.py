"""espeak-ng below both speech and voice: the ctypes binding (:mod:`.binding`: samples with
sample-exact word and phoneme events) and the words of a script with where the synthesis speaks
each (:mod:`.words`). Speech alignment, TTS and dubbing all build on this package; it imports no
capability.
"""

from voxpost.espeak.binding import (DEFAULT_RATE_WPM, MAX_RATE_WPM, MIN_RATE_WPM, Synthesis, SynthWord,
                                    check_language, languages, sample_rate, synthesize)

__all__ = ["DEFAULT_RATE_WPM", "MAX_RATE_WPM", "MIN_RATE_WPM", "SynthWord", "Synthesis", "check_language",
           "languages", "sample_rate", "synthesize"]
