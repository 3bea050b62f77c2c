"""``voxpost transcribe``, ``align``, ``diarize`` and ``languages``."""

from __future__ import annotations

import argparse

from voxpost.cli.common import add_force, listener


def add_parsers(sub, common) -> None:
    s = sub.add_parser("transcribe", parents=[common],
                       help="speech to text with word timings (whisper; English model embedded), silences skipped")
    s.add_argument("input", metavar="IN", help="audio file, or a video file's audio track")
    s.add_argument("-o", "--output", required=True, metavar="OUT.json")
    s.add_argument("--srt", metavar="FILE", help="also write subtitles (SRT; timecodes from the file's start time)")
    s.add_argument("--vtt", metavar="FILE", help="also write WebVTT subtitles")
    s.add_argument("--model", default=None, metavar="NAME|PATH",
                   help="registry name (see 'voxpost models list'), whisper short name, .pt checkpoint or CTranslate2 "
                        "folder (default faster-whisper-tiny.en: English, ships with voxpost; other languages need a "
                        "multilingual model such as whisper-small)")
    s.add_argument("--language", metavar="L",
                   help="spoken language code (default: en for an English-only model, else detected)")
    s.add_argument("--diarize", action="store_true", help="label every word and cue with its speaker")
    s.add_argument("--align-words", action="store_true",
                   help="refine word boundaries with the embedded aligner (whisper's own kept as whisper_start/_end)")
    add_force(s)
    s.set_defaults(run=cmd_transcribe)

    s = sub.add_parser("align", parents=[common], help="word timings of a known script (embedded TTS + DTW, any espeak-ng language)")
    s.add_argument("input", metavar="IN", help="audio file, or a video file's audio track")
    s.add_argument("--text", required=True, metavar="FILE", help="the script, UTF-8 text")
    s.add_argument("--language", default="en", metavar="L", help="script language, an espeak-ng code (default en; see 'voxpost languages')")
    s.add_argument("-o", "--output", required=True, metavar="words.json")
    s.add_argument("--srt", metavar="FILE", help="also write subtitles built from the aligned words")
    add_force(s)
    s.set_defaults(run=cmd_align)

    s = sub.add_parser("diarize", parents=[common], help="who speaks when: RTTM (pyannote when installed, else embedded)")
    s.add_argument("input", metavar="IN", help="audio file, or a video file's audio track")
    s.add_argument("-o", "--output", required=True, metavar="OUT.rttm")
    s.add_argument("--backend", default="auto", choices=["auto", "pyannote", "embedded"],
                   help="auto (default): pyannote when its checkpoints are installed, else embedded")
    s.add_argument("--num-speakers", type=int, metavar="N", help="the number of speakers, when known")
    add_force(s)
    s.set_defaults(run=cmd_diarize)

    s = sub.add_parser("languages", parents=[common], help="the language codes the embedded TTS and aligner speak")
    s.set_defaults(run=cmd_languages)


def cmd_transcribe(args: argparse.Namespace) -> int:
    from voxpost.speech.jobs import transcribe_job

    transcribe_job(args.input, output=args.output, srt=args.srt, vtt=args.vtt, model=args.model,
                   language=args.language, diarize=args.diarize, align_words=args.align_words, force=args.force,
                   listener=listener(args))
    return 0


def cmd_align(args: argparse.Namespace) -> int:
    from voxpost.speech.jobs import align_job

    align_job(args.input, args.text, output=args.output, srt=args.srt, language=args.language, force=args.force,
              listener=listener(args))
    return 0


def cmd_diarize(args: argparse.Namespace) -> int:
    from voxpost.speech.jobs import diarize_job

    diarize_job(args.input, output=args.output, backend=args.backend, num_speakers=args.num_speakers,
                force=args.force, listener=listener(args))
    return 0


def cmd_languages(args: argparse.Namespace) -> int:
    from voxpost.espeak import languages

    print("\n".join(languages()))
    return 0
