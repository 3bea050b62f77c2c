"""The dubbing part of ``voxpost demo``: the demo's English line dubbed into French.

The original is the speech demo's line (two sentences, a pause between them). The adaptor's
script has deliberately rough timecodes (150 ms early, 120 ms late); the original script is given
for word alignment. The lines are spoken in the demo's consented profile and laid over an M&E of
street noise, through the dub job the ``voxpost dub`` command calls. Measured: where the dubbed speech starts
against where the original's sentences really start (the speaking voice's own word events).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

#: (French line, original English line): the two sentences of :data:`voxpost.demo.speech.DEMO_SCRIPT`.
DUB_LINES = [("Où étais-tu, la nuit de la tempête ?", "Where were you on the night of the storm?"),
             ("Au port, à réparer les filets, comme tous les soirs avant celui-là.",
              "At the harbour, mending the nets, like every night before it.")]
#: How far the script's timecodes are off the real speech (start, end), seconds.
ROUGH_S = [(-0.15, 0.12), (0.12, -0.15)]


def _srt(cues: list[tuple[float, float, str]]) -> str:
    from voxpost.dub.script import format_time

    return "\n".join(f"{i + 1}\n{format_time(a)} --> {format_time(b)}\n{t}\n" for i, (a, b, t) in enumerate(cues))


def dub_demo(out_dir: Path, *, original: Path, sentence_spans_s: list[tuple[float, float]],
             profile: Path) -> dict[str, Any]:
    """Dub ``original`` (whose sentences really span ``sentence_spans_s``) into French."""
    from voxpost import noisegen
    from voxpost.audio import Audio, info, load, save
    from voxpost.dub.jobs import dub_job
    from voxpost.dub.engine import measured_onset
    from voxpost.outputs import write_text
    from voxpost.voice import watermark

    meta = info(original)
    rate, frames = meta["sample_rate"], meta["frames"]
    fr = [(max(0.0, a + da), b + db, text) for (a, b), (da, db), (text, _) in zip(sentence_spans_s, ROUGH_S, DUB_LINES)]
    en = [(a, b, orig) for (a, b), (_, orig) in zip(sentence_spans_s, DUB_LINES)]
    fr_srt = write_text(out_dir / "dub.fr.srt", _srt(fr), overwrite=True)
    en_srt = write_text(out_dir / "dub.en.srt", _srt(en), overwrite=True)
    rng = np.random.default_rng(7)
    street = noisegen.traffic(frames / rate, rate, rng)[:frames]
    me = np.stack([street, np.roll(street, rate // 50)]) * np.float32(0.02)
    save(Audio(me.astype(np.float32), rate, metadata={"subtype": "PCM_24"}), out_dir / "dub.me.wav", overwrite=True)
    outputs = {"stem": out_dir / "dub.fr.wav", "mix": out_dir / "dub.fr.mix.wav", "report": out_dir / "dub.timing.json",
               "rythmo": out_dir / "dub.rythmo.png", "otio": out_dir / "dub.otio"}
    report = dub_job(original, script=fr_srt, language="fr", original_script=en_srt, voices={None: profile},
                     me=out_dir / "dub.me.wav", mix=outputs["mix"], output=outputs["stem"], report=outputs["report"],
                     rythmo=outputs["rythmo"], otio=outputs["otio"], force=True)
    stem = load(outputs["stem"])
    errors, prev_end = [], 0.0
    for (a, _), e in zip(sentence_spans_s, report["lines"]):
        onset = measured_onset(stem.samples[0], rate, max(a - 0.3, prev_end), e["end"])
        errors.append(round(abs(onset - a) * 1000, 1))
        prev_end = e["end"] + 0.02
    return {
        "lines": report["summary"]["lines"], "ok": report["summary"]["ok"], "flagged": report["summary"]["flagged"],
        "script_offsets_ms": [[round(d * 1000) for d in pair] for pair in ROUGH_S],
        "onset_error_ms": errors, "speeds": [e["speed"] for e in report["lines"]],
        "frames_equal_original": stem.frames == frames,
        "stem_marked": bool(watermark.detect(stem.samples, rate).marked),
        "mix_lufs": report["mix_loudness"]["loudness_lufs_out"],
        **{k: str(v) for k, v in outputs.items()},
    }
