"""The speech part of ``voxpost demo``: a line spoken in one voice, aligned by another, measured.

The line is spoken by the embedded TTS (British voice, slow, low) and placed in a 48 kHz scene
with hiss; the alignment job times the script with the default (American) voice, and each word
start is scored against the speaking voice's own sample-exact word events.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from voxpost.demo.scene import SCENE_FPS, SCENE_RATE

#: The demo's dialogue: a line spoken by the embedded TTS in one voice, aligned by the default voice.
DEMO_SCRIPT = ("Where were you on the night of the storm? "
               "At the harbour, mending the nets, like every night before it.")
#: Silence before the line, seconds.
LEAD_S = 0.8


def speech_demo(out_dir: Path) -> dict[str, Any]:
    """Speak, place and align the demo line in ``out_dir``; return the measurements."""
    from voxpost.audio import Audio, save
    from voxpost.espeak import synthesize
    from voxpost.espeak.words import script_words
    from voxpost.outputs import write_text
    from voxpost.speech.jobs import align_job
    from voxpost.resample import resample

    syn = synthesize(DEMO_SCRIPT, language="en-gb-x-rp", rate_wpm=150, pitch=35)
    voice = resample(syn.samples, syn.sample_rate, SCENE_RATE, quality="HQ")
    lead = int(LEAD_S * SCENE_RATE)
    x = np.zeros(int((LEAD_S + 0.5) * SCENE_RATE) + voice.size, np.float32)
    x[lead:lead + voice.size] = 0.5 * voice
    x += 0.003 * np.random.default_rng(1).standard_normal(x.size).astype(np.float32)
    line, script = out_dir / "line.wav", out_dir / "line.txt"
    save(Audio(x, SCENE_RATE, 10 * 3600 * SCENE_RATE, {"subtype": "PCM_24", "fps": SCENE_FPS}), line, overwrite=True)
    write_text(script, DEMO_SCRIPT + "\n", overwrite=True)
    result = align_job(line, script, output=out_dir / "line.words.json", srt=out_dir / "line.srt",
                       language="en-us", force=True)
    index = {t.start: i for i, t in enumerate(script_words(DEMO_SCRIPT))}
    errs = [abs(result["words"][index[g.char_start]]["start"] - (LEAD_S + g.start / syn.sample_rate)) * 1000
            for g in syn.words if g.char_start in index]
    # where each sentence of the line really starts and ends (the speaking voice's own events): the dub demo's truth
    split = DEMO_SCRIPT.index("? ") + 2
    sentences = [(round(LEAD_S + ev[0].start / syn.sample_rate, 4), round(LEAD_S + ev[-1].end / syn.sample_rate, 4))
                 for ev in ([g for g in syn.words if g.char_start < split], [g for g in syn.words if g.char_start >= split])]
    return {"words": len(result["words"]), "words_scored": len(errs), "sentence_spans_s": sentences,
            "line": str(line),
            "median_error_ms": round(float(np.median(errs)), 1),
            "p90_error_ms": round(float(np.percentile(errs, 90)), 1),
            "confidence": result["confidence"], "subtitles": str(out_dir / "line.srt"),
            "first_cue_timecode": result["timecode"]["timecode"]}
