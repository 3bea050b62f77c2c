"""The ``voxpost`` command: one subcommand per capability, each a thin layer over the library.

Errors a user can cause print one line, ``voxpost: error: ...``, and exit with code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from voxpost import __version__
from voxpost.errors import VoxpostError

EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise VoxpostError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="voxpost", description="Audio post-production and voice engine for film and television.")
    p.add_argument("--version", action="version", version=f"voxpost {__version__}")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes on stderr")
    common = _Parser(add_help=False)
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="no progress bars or notes on stderr")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("info", parents=[common], help="print sample rate, channels, frames, duration, subtype and timecode as JSON")
    s.add_argument("files", nargs="+", metavar="FILE")
    s.set_defaults(run=cmd_info)

    s = sub.add_parser("process", parents=[common], help="run files through a preset chain")
    s.add_argument("inputs", nargs="+", metavar="IN")
    s.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file, or a directory for several inputs (DIR/<input file name>)")
    s.add_argument("--preset", required=True, metavar="NAME|FILE", help="preset name (see 'voxpost presets') or .toml path")
    s.add_argument("--sample-rate", type=int, metavar="HZ", help="resample the output (default: keep the input's)")
    s.add_argument("--subtype", metavar="S", help="output sample format, e.g. PCM_16, PCM_24, FLOAT (default: keep)")
    s.add_argument("--force", action="store_true", help="replace existing outputs (inputs are never replaced)")
    s.set_defaults(run=cmd_process)

    s = sub.add_parser("clean", parents=[common], help="clean dialogue: rumble, clipping, clicks, loudness (see presets)")
    s.add_argument("inputs", nargs="+", metavar="IN")
    s.add_argument("-o", "--output", required=True, metavar="OUT",
                   help="output file, or a directory for several inputs (DIR/<input file name>)")
    s.add_argument("--preset", default="period-dialogue", metavar="NAME|FILE",
                   help="period-dialogue (default), broadcast-r128, netflix-dialogue, ... or a .toml path")
    s.add_argument("--report", metavar="JSON", help="write measurements (clicks repaired, LUFS in/out, ...) here")
    s.add_argument("--plot", metavar="PNG", help="write before/after spectrograms here")
    s.add_argument("--stream", action="store_true",
                   help="process as live: 10 ms blocks, no look at the whole file (loudness becomes short-term)")
    s.add_argument("--force", action="store_true", help="replace existing outputs (inputs are never replaced)")
    s.set_defaults(run=cmd_clean, sample_rate=None, subtype=None)

    s = sub.add_parser("transcribe", parents=[common], help="speech to text with word timings (whisper), silences skipped")
    s.add_argument("input", metavar="IN", help="audio file, or a video file's audio track")
    s.add_argument("-o", "--output", required=True, metavar="OUT.json")
    s.add_argument("--srt", metavar="FILE", help="also write subtitles (SRT; timecodes from the file's start time)")
    s.add_argument("--vtt", metavar="FILE", help="also write WebVTT subtitles")
    s.add_argument("--model", default="whisper-tiny", metavar="NAME|PATH",
                   help="registry name (see 'voxpost models list'), whisper short name, or checkpoint path (default whisper-tiny)")
    s.add_argument("--language", metavar="L", help="spoken language code (default: detect)")
    s.add_argument("--diarize", action="store_true", help="label every word and cue with its speaker")
    s.add_argument("--force", action="store_true", help="replace existing outputs (inputs are never replaced)")
    s.set_defaults(run=cmd_transcribe)

    s = sub.add_parser("align", parents=[common], help="word timings of a known script (embedded TTS + DTW, any espeak-ng language)")
    s.add_argument("input", metavar="IN", help="audio file, or a video file's audio track")
    s.add_argument("--text", required=True, metavar="FILE", help="the script, UTF-8 text")
    s.add_argument("--language", default="en", metavar="L", help="script language, an espeak-ng code (default en; see 'voxpost languages')")
    s.add_argument("-o", "--output", required=True, metavar="words.json")
    s.add_argument("--srt", metavar="FILE", help="also write subtitles built from the aligned words")
    s.add_argument("--force", action="store_true", help="replace existing outputs (inputs are never replaced)")
    s.set_defaults(run=cmd_align)

    s = sub.add_parser("diarize", parents=[common], help="who speaks when: RTTM (pyannote when installed, else embedded)")
    s.add_argument("input", metavar="IN", help="audio file, or a video file's audio track")
    s.add_argument("-o", "--output", required=True, metavar="OUT.rttm")
    s.add_argument("--backend", default="auto", choices=["auto", "pyannote", "embedded"],
                   help="auto (default): pyannote when its checkpoints are installed, else embedded")
    s.add_argument("--num-speakers", type=int, metavar="N", help="the number of speakers, when known")
    s.add_argument("--force", action="store_true", help="replace existing outputs (inputs are never replaced)")
    s.set_defaults(run=cmd_diarize)

    from voxpost.cli_voice import add_parsers as add_voice_parsers

    add_voice_parsers(sub, common, _Parser)

    from voxpost.cli_dub import add_parsers as add_dub_parsers

    add_dub_parsers(sub, common)

    from voxpost.cli_foley import add_parsers as add_foley_parsers

    add_foley_parsers(sub, common)

    s = sub.add_parser("languages", parents=[common], help="the language codes the embedded TTS and aligner speak")
    s.set_defaults(run=cmd_languages)

    s = sub.add_parser("presets", parents=[common], help="list the presets with a one-line description")
    s.set_defaults(run=cmd_presets)

    s = sub.add_parser("models", parents=[common], help="the model checkpoint registry")
    msub = s.add_subparsers(dest="models_command", metavar="ACTION", parser_class=_Parser, required=True)
    m = msub.add_parser("list", parents=[common], help="every checkpoint the engine can use, and whether it is installed")
    m.add_argument("--json", action="store_true")
    m.set_defaults(run=cmd_models_list)
    m = msub.add_parser("path", parents=[common], help="print the verified path of an installed checkpoint")
    m.add_argument("name")
    m.set_defaults(run=cmd_models_path)

    s = sub.add_parser("doctor", parents=[common], help="list each backend and model, whether it is available, and how to provide it")
    s.add_argument("--json", action="store_true")
    s.set_defaults(run=cmd_doctor)

    s = sub.add_parser("demo", parents=[common], help="build an example scene (or take --input) and run every capability on it")
    s.add_argument("--input", metavar="FILE", help="use this recording instead of the built-in scene")
    s.add_argument("--out", default="demo-out", metavar="DIR", help="where results and the report go (default: demo-out)")
    s.set_defaults(run=cmd_demo)
    return p


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        if not getattr(args, "run", None):
            build_parser().print_help(sys.stderr)
            return EXIT_USAGE
        return args.run(args) or 0
    except VoxpostError as exc:
        print(f"voxpost: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("voxpost: interrupted; no partial output was left", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


# -- commands ---------------------------------------------------------------------------------
def cmd_info(args: argparse.Namespace) -> int:
    from voxpost.audio import info

    results = [info(f) for f in args.files]
    print(json.dumps(results[0] if len(results) == 1 else results, indent=2))
    return 0


def cmd_process(args: argparse.Namespace) -> int:
    _render_files(args)
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    from voxpost.clean.plot import before_after_png
    from voxpost.render import measure_file
    from voxpost.stream import AudioReader

    extra = [p for p in (args.report, args.plot) if p]
    reports = []
    for src, dst, report in _render_files(args, live=args.stream, also_written=extra):
        m_in, m_out = measure_file(src), measure_file(dst)     # streamed: flat memory
        keys = ("hum_hz", "hum_reduction_db", "clicks_repaired", "clipped_samples_repaired", "noise_reduction_db")
        row = {k: report.get(k) for k in keys}
        row.update(input=str(src), output=str(dst), lufs_in=_round(m_in["integrated_lufs"]),
                   lufs_out=_round(m_out["integrated_lufs"]), true_peak_dbtp_out=_round(m_out["true_peak_dbtp"]),
                   latency_ms=report["latency_ms"], rtf=report["rtf"], preset=args.preset, live=args.stream)
        reports.append(row)
        if args.plot:
            target = Path(args.plot) if len(args.inputs) == 1 else \
                Path(args.plot).with_name(f"{Path(args.plot).stem}-{Path(src).stem}.png")
            with AudioReader(src) as r_in, AudioReader(dst) as r_out:
                before_after_png(r_in.read(), r_out.read(), r_out.sample_rate, target, title=Path(src).name)
    if args.report:
        _write_json(Path(args.report), reports[0] if len(reports) == 1 else reports)
    return 0


def _render_files(args: argparse.Namespace, *, live: bool = False, also_written: list[str] = ()) -> list:
    """Check every input and output first, then render each input through the preset's chain.

    Returns ``(input, output, report)`` per file. Shared by ``process`` and ``clean``.
    """
    from voxpost.presets import load_preset
    from voxpost.render import output_paths, render_file
    from voxpost.stream import AudioReader, check_output_path

    if args.sample_rate is not None and not 1000 <= args.sample_rate <= 768000:
        raise VoxpostError(f"--sample-rate {args.sample_rate} is outside 1000..768000 Hz")
    preset = load_preset(args.preset)
    outputs = output_paths(args.inputs, args.output)
    if len(outputs) > 1:
        Path(args.output).mkdir(parents=True, exist_ok=True)
    if len(set(outputs)) != len(outputs):
        raise VoxpostError("several inputs share a file name; they would write the same output")
    # Check everything before writing anything: a bad third input must not leave two outputs behind.
    for src in args.inputs:
        AudioReader(src).close()
    for dst in [*outputs, *map(Path, also_written)]:
        check_output_path(dst, overwrite=args.force, protect=args.inputs)
    done = []
    for src, dst in zip(args.inputs, outputs):
        with _progress(args, f"{Path(src).name} -> {dst}") as tick:
            report = render_file(src, dst, preset.chain, live=live, sample_rate=args.sample_rate,
                                 subtype=args.subtype, overwrite=args.force, protect=args.inputs, progress=tick)
        if not args.quiet:
            print(f"{src} -> {dst}  ({report['frames_out']} frames, {report['subtype']}, "
                  f"rtf {report['rtf']})", file=sys.stderr)
        done.append((src, dst, report))
    return done


def _round(x: float | None, digits: int = 2) -> float | None:
    import math

    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def _write_json(path: Path, data: object) -> None:
    """Write JSON atomically (temporary file, then rename)."""
    import os

    tmp = path.with_name(f".{path.name}.voxpost-{os.getpid()}.part")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise VoxpostError(f"{path}: cannot write ({exc.strerror})") from None


def _check_outputs(args: argparse.Namespace, outputs: list, inputs: list) -> None:
    """Open the input and check every output before any work: nothing is half-done on a bad path."""
    from voxpost.stream import AudioReader, check_output_path

    AudioReader(args.input).close()
    outs = [Path(o) for o in outputs if o]
    if len({o.resolve() for o in outs}) != len(outs):
        raise VoxpostError("two outputs name the same file")
    for o in outs:
        check_output_path(o, overwrite=args.force, protect=inputs)


def _read_script(path: str) -> str:
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise VoxpostError(f"{path}: cannot read the script ({exc.strerror or exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise VoxpostError(f"{path}: the script is not UTF-8 text") from None


def _subtitles(words: list, offset_s: float, vtt: bool = False) -> str:
    """Subtitle cues from aligned words, with the script's punctuation."""
    from voxpost.speech.formats import segments_from_words, to_srt, to_vtt

    segs = segments_from_words([dict(w, word=w.get("text") or w["word"]) for w in words])
    return to_vtt(segs, offset_s=offset_s) if vtt else to_srt(segs, offset_s=offset_s)


def cmd_align(args: argparse.Namespace) -> int:
    from voxpost.speech.align import align_file
    from voxpost.speech.formats import write_text_atomic
    from voxpost.espeak import check_language

    text = _read_script(args.text)
    check_language(args.language)
    protect = [args.input, args.text]
    _check_outputs(args, [args.output, args.srt], protect)
    result = align_file(args.input, text, language=args.language)
    for w in result["warnings"]:
        print(f"voxpost: warning: {w}", file=sys.stderr)
    write_text_atomic(args.output, json.dumps(result, indent=2, ensure_ascii=False) + "\n",
                      overwrite=args.force, protect=protect)
    if args.srt:
        write_text_atomic(args.srt, _subtitles(result["words"], result["timecode"]["offset_s"]),
                          overwrite=args.force, protect=protect)
    if not args.quiet:
        print(f"{args.input}: {len(result['words'])} words aligned, confidence {result['confidence']:.2f} "
              f"-> {args.output}", file=sys.stderr)
    return 0


def cmd_transcribe(args: argparse.Namespace) -> int:
    from voxpost.speech.formats import assign_speakers, segments_from_words, to_srt, to_vtt, write_text_atomic
    from voxpost.speech.transcribe import normalize_language, transcribe_file

    if args.language:
        normalize_language(args.language)
    protect = [args.input]
    _check_outputs(args, [args.output, args.srt, args.vtt], protect)
    with _progress(args, f"transcribing {Path(args.input).name}") as tick:
        doc = transcribe_file(args.input, model=args.model, language=args.language, progress=tick)
    if args.diarize:
        from voxpost.speech.diarize import diarize_file

        turns = diarize_file(args.input)
        doc["words"] = assign_speakers(doc["words"], turns)
        doc["speakers"] = sorted({t[2] for t in turns})
        doc["turns"] = [{"start": round(a, 3), "end": round(b, 3), "speaker": s} for a, b, s in turns]
    offset = doc["timecode"]["offset_s"]
    cues = segments_from_words(doc["words"])
    if args.diarize:
        doc["segments"] = cues
    write_text_atomic(args.output, json.dumps(doc, indent=2, ensure_ascii=False) + "\n",
                      overwrite=args.force, protect=protect)
    if args.srt:
        write_text_atomic(args.srt, to_srt(cues, offset_s=offset), overwrite=args.force, protect=protect)
    if args.vtt:
        write_text_atomic(args.vtt, to_vtt(cues, offset_s=offset), overwrite=args.force, protect=protect)
    if not args.quiet:
        print(f"{args.input}: {len(doc['words'])} words ({doc['language']}) -> {args.output}", file=sys.stderr)
    return 0


def cmd_diarize(args: argparse.Namespace) -> int:
    from voxpost.speech.diarize import diarize_file
    from voxpost.speech.formats import to_rttm, write_text_atomic

    if args.num_speakers is not None and not 1 <= args.num_speakers <= 64:
        raise VoxpostError(f"--num-speakers {args.num_speakers} is outside 1..64")
    protect = [args.input]
    _check_outputs(args, [args.output], protect)
    turns = diarize_file(args.input, backend=args.backend, num_speakers=args.num_speakers)
    uri = Path(args.input).stem.replace(" ", "_") or "recording"
    write_text_atomic(args.output, to_rttm(turns, uri=uri), overwrite=args.force, protect=protect)
    if not args.quiet:
        speakers = len({t[2] for t in turns})
        print(f"{args.input}: {speakers} speakers, {len(turns)} turns -> {args.output}", file=sys.stderr)
    return 0


def cmd_languages(args: argparse.Namespace) -> int:
    from voxpost.espeak import languages

    print("\n".join(languages()))
    return 0


def cmd_presets(args: argparse.Namespace) -> int:
    from voxpost.presets import list_presets

    for p in list_presets():
        print(f"{p.name:<20} {p.description}")
    return 0


def cmd_models_list(args: argparse.Namespace) -> int:
    from voxpost.models import Registry

    rows = Registry.load().status()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        state = "installed" if r["installed"] else "missing"
        print(f"{r['name']:<32} {r['capability']:<12} {state:<10} {r['size_mb']:>8} MB  {r['licence']}")
    return 0


def cmd_models_path(args: argparse.Namespace) -> int:
    from voxpost.models import Registry

    print(Registry.load().path(args.name))
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    from voxpost.doctor import checks

    rows = checks()
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for r in rows:
        mark = "ok " if r["available"] else "-- "
        print(f"{mark} {r['name']:<34} {r['detail']}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from voxpost.demo import run_demo

    report = run_demo(out_dir=Path(args.out), input_path=args.input, quiet=args.quiet)
    print(report["summary"])
    return 0


@contextmanager
def _progress(args: argparse.Namespace, label: str) -> Iterator[Callable[[int, int | None], None] | None]:
    """A rich progress bar on stderr when it is a terminal and not ``--quiet``; else nothing."""
    if args.quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), TaskProgressColumn(),
                  TimeRemainingColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)

        def tick(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield tick


if __name__ == "__main__":
    sys.exit(main())
