"""Reference word timings for corpus recordings (benchmarks/data/wordtimes/reference-times.json).

The file keeps times only; the words come from the corpus transcript next to each recording, so
nothing of the corpus is copied into the repository.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

REFERENCE_TIMES = Path(__file__).resolve().parent / "data" / "wordtimes" / "reference-times.json"


def references(corpus: Path) -> Iterator[tuple[Path, str, list[dict]]]:
    """``(audio path, transcript, [{"word", "start", "end"}])`` per reference, in file order."""
    from voxpost.speech.align import script_words

    for rel, entry in json.loads(REFERENCE_TIMES.read_text())["files"].items():
        audio = corpus / rel
        text = audio.with_suffix(".txt").read_text()
        words = script_words(" ".join(text.split()))
        if len(words) != len(entry["times"]):
            raise ValueError(f"{rel}: {len(words)} transcript words but {len(entry['times'])} reference times")
        yield audio, text, [{"word": w.text, "start": s, "end": e} for w, (s, e) in zip(words, entry["times"])]
