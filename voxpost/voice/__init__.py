"""Voice: the embedded text-to-speech (espeak-ng), and later profiles, conversion and marking."""
