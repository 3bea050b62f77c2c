"""``voxpost demo``: build an example scene with no downloads and run every capability on it.

Each capability has its module here, and each calls the same library jobs the command line
calls (never the command line itself): :mod:`.clean` (a preset chain, then the dialogue
cleanup), :mod:`.speech` (script alignment), :mod:`.voice` (TTS, a consented profile,
conversion, the watermark), :mod:`.dub` (the line dubbed into French over an M&E) and
:mod:`.foley` (an ambience and knocks on cue). The report (``report.json`` and ``report.md``,
:mod:`.report`) gives what was measured, not just what ran.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voxpost import __version__


def run_demo(*, out_dir: Path, input_path: str | None = None, quiet: bool = False) -> dict[str, Any]:
    """Run the demo into ``out_dir``; returns the report (also written as JSON and Markdown)."""
    from voxpost.audio import info, save
    from voxpost.demo.clean import cleanup_demo, process_demo
    from voxpost.demo.dub import dub_demo
    from voxpost.demo.foley import foley_demo
    from voxpost.demo.report import markdown, summary
    from voxpost.demo.scene import CLICKS, example_scene
    from voxpost.demo.speech import speech_demo
    from voxpost.demo.voice import voice_demo
    from voxpost.outputs import write_json, write_text

    out_dir.mkdir(parents=True, exist_ok=True)
    if input_path is None:
        src = out_dir / "scene.wav"
        save(example_scene(), src, overwrite=True)
    else:
        src = Path(input_path)
    report: dict[str, Any] = {"voxpost": __version__, "input": str(src), "info_in": info(src)}
    report["process"], report["measurements"] = process_demo(src, out_dir)
    report["info_out"] = info(report["process"]["output"])
    report["cleanup"] = cleanup_demo(src, out_dir, clicks_added=CLICKS if input_path is None else None)
    report["speech"] = sp = speech_demo(out_dir)
    report["voice"] = vo = voice_demo(out_dir)
    report["dub"] = dub_demo(out_dir, original=Path(sp["line"]), sentence_spans_s=sp["sentence_spans_s"],
                             profile=Path(vo["profile"]))
    report["foley"] = foley_demo(out_dir)
    report["summary"] = summary(report, out_dir)
    write_json(out_dir / "report.json", _plain(report), overwrite=True)
    write_text(out_dir / "report.md", markdown(report), overwrite=True)
    return report


def _plain(value: Any) -> Any:
    """``value`` with anything JSON cannot hold (paths, fractions) as text."""
    import json

    return json.loads(json.dumps(value, default=str))
