"""The demo's report: a one-paragraph summary and a Markdown page of every measurement."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voxpost.demo.clean import CLEAN_PRESET, DEMO_PRESET

#: The demo report's sections after the cleanup: report key and heading.
SECTIONS = (("speech", "Speech: script alignment (embedded espeak-ng TTS + DTW)"),
            ("voice", "Voice: TTS at an exact duration, consented profile, conversion, watermark"),
            ("dub", "Dub: French lines on the original's speech, in the profile's voice, over an M&E"),
            ("foley", "Foley: an ambience layer and knocks on cue, from prompts"))


def summary(report: dict[str, Any], out_dir: Path) -> str:
    m, c, sp, vo, du, fo = (report[k] for k in ("measurements", "cleanup", "speech", "voice", "dub", "foley"))
    return (
        f"voxpost demo: {Path(report['input']).name} -> {report['process']['output']} with preset '{DEMO_PRESET}': "
        f"rumble -{m['rumble_removed_db']} dB, speech band {m['speech_band_change_db']:+} dB, "
        f"DC {m['dc_in']} -> {m['dc_out']}, {m['frames_out']}/{m['frames_in']} frames, "
        f"timecode {m['timecode_out']}, 10 ms vs whole-file max diff {m['max_diff_10ms_vs_whole_file']:.1e}. "
        f"Cleanup '{CLEAN_PRESET}': {c['clicks_repaired']} clicks repaired, noise -{c['noise_reduction_db']} dB, "
        f"{c['lufs_in']} -> {c['lufs_out']} LUFS, true peak {c['true_peak_dbtp_out']} dBTP. "
        f"Align: {sp['words']} script words placed, median boundary error {sp['median_error_ms']} ms "
        f"(p90 {sp['p90_error_ms']} ms) against the spoken line's own word times. "
        f"Voice: line spoken in {vo['spoken_duration_s']} s (asked {vo['target_duration_s']} s), profile "
        f"'demo-actor' from {vo['reference_speech_s']} s of speech with consent, converted line F0 "
        f"{vo['f0_converted_hz']} Hz vs profile {vo['f0_profile_hz']} Hz, watermark found in "
        f"{sum(vo['marked'])}/2 outputs (scores {vo['mark_scores']}, unmarked {vo['unmarked_reference_score']}). "
        f"Dub: {du['lines']} French lines on {Path(sp['line']).name} in the profile's voice ({du['ok']} ok, "
        f"{du['flagged']} flagged), script off by up to 150 ms, dubbed speech starts {du['onset_error_ms']} ms from "
        f"the original's, pace {du['speeds']}, mix {du['mix_lufs']} LUFS, stem marked {du['stem_marked']}. "
        f"Foley: {len(fo['takes'])} takes from 2 prompts ({', '.join(fo['takes'])}), knocks {fo['knock_cue_error_ms']} ms "
        f"from their cues, takes correlate {fo['ambience_takes_correlation']}; "
        f"report in {out_dir / 'report.md'}"
    )


def _table(title: str, rows: dict[str, Any]) -> list[str]:
    return ["", f"## {title}", "", "| measurement | value |", "|---|---|", *(f"| {k} | {v} |" for k, v in rows.items())]


def markdown(report: dict[str, Any]) -> str:
    lines = [f"# voxpost {report['voxpost']} demo", "", f"Input: `{report['input']}`"]
    lines += _table(f"Cleanup chain (preset `{DEMO_PRESET}`)", report["measurements"])
    lines += ["", f"Real-time factor: {report['process']['rtf']}"]
    lines += _table(f"Dialogue cleanup (preset `{CLEAN_PRESET}`)", report["cleanup"])
    for key, title in SECTIONS:
        if key in report:
            lines += _table(title, report[key])
    lines.append("")
    return "\n".join(lines)
