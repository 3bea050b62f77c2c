"""Word boundaries of a transcript refined by the script aligner (:mod:`voxpost.speech.align`).

Whisper's word times come from its cross-attention and land late (80-140 ms at the median on
read speech, stretched over the pause before a word). Once the words are known they are a
script: the embedded aligner (espeak-ng synthesis + log-mel DTW) times that script against the
same audio to within a few tens of milliseconds. :func:`refine_words` does this for the words of
one chunk, in place: ``start`` and ``end`` become the aligner's, whisper's own are kept as
``whisper_start`` and ``whisper_end``, and ``align_confidence`` is the aligner's confidence.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from voxpost.errors import VoxpostError

#: The aligner's rate: chunks are handed over at 16 kHz mono.
RATE = 16000


def refine_words(audio: np.ndarray, words: list[dict[str, Any]], *, offset_s: float,
                 language: str = "en") -> str | None:
    """Align `words` (dicts with ``word``, ``start``, ``end`` in file seconds) to `audio`, the
    16 kHz mono samples starting at `offset_s` in the file; update them in place.

    Every word gets ``whisper_start``/``whisper_end``. A word without a letter or digit keeps
    whisper's times; so does every word of a chunk the aligner cannot take (its language is
    not one espeak-ng speaks, or it finds no speech), and the reason is returned.

    Returns
    -------
    str or None
        A warning, or None when the chunk was aligned.
    """
    from voxpost.speech.align import align, script_words

    for w in words:
        w["whisper_start"], w["whisper_end"] = w["start"], w["end"]
    counts = [len(script_words(w["word"])) for w in words]
    if not any(counts):
        return None
    try:
        result = align(audio, RATE, " ".join(w["word"] for w, n in zip(words, counts) if n), language=language)
    except VoxpostError as exc:      # an unknown espeak language, no speech found
        return f"word times at {offset_s:.2f} s kept from whisper: {str(exc).splitlines()[0]}"
    aligned = iter(result["words"])
    for w, n in zip(words, counts):
        if not n:
            continue
        parts = [next(aligned) for _ in range(n)]
        w["start"] = round(parts[0]["start"] + offset_s, 3)
        w["end"] = round(parts[-1]["end"] + offset_s, 3)
        w["align_confidence"] = round(float(np.mean([p["confidence"] for p in parts])), 3)
    return None


__all__ = ["refine_words"]
