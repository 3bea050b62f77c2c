"""The rythmo band (*bande rythmo*) of a dub report, as PNG pages.

The reel is cut into rows of ``row_s`` seconds and only rows where a line is spoken are drawn. Each row
is a band with a timecode axis (``HH:MM:SS:FF``, non-drop, at the report's ``fps``) and two lanes:

- top, the original: its words at their times (text at the start, a bar over the word), or the window
  as a grey ``(original)`` bar when the original text is unknown; its inner pauses hatched;
- bottom, the dub: each dubbed word on its bar, cut with an ellipsis where it would spill past its bar,
  the dubbed line's own p/b/m as small triangles.

Each line's window is shaded, lip closures are red ticks across both lanes with a ``B`` between the lanes
(a triangle under a ``B`` means the dub closes the lips where the picture does), and flagged lines are
drawn in red with the syllable suggestion (``-3 syl``) at their start.
"""

from __future__ import annotations

import math
from pathlib import Path

_FIG_W, _LEFT, _RIGHT = 16.0, 0.085, 0.99  # inches, axes margins as figure fractions
_ROW_H, _GAP_H, _TOP_H, _BOTTOM_H = 0.95, 0.35, 0.6, 0.3  # inches
_WORD_PT, _CHAR_EM = 8.0, 0.6  # word font size, average glyph width in ems (DejaVu Sans)
_RED, _DUB, _ORIG, _SHADE = "#d0352b", "#1f4e79", "#3a3a3a", "#d6e6f5"
_LEGEND = ("top: original words \u00b7 bottom: dub \u00b7 shaded: window \u00b7 hatched: pause \u00b7 "
           "red B: lip closure \u00b7 \u25b2: dub p/b/m \u00b7 red: flagged line (syllables to add/cut)")


def timecode(t: float, fps: float) -> str:
    """``HH:MM:SS:FF`` of ``t`` seconds at ``fps``, non-drop (frames counted at the nominal rate).

    Examples
    --------
    >>> timecode(3661.5, 25.0)
    '01:01:01:12'
    """
    nominal = round(fps)
    frames = math.floor(t * fps + 1e-6)
    s, ff = divmod(frames, nominal)
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{ff:02d}"


def _fit(word: str, width_s: float, char_s: float) -> str:
    """``word`` cut with an ellipsis so that it spans at most one glyph more than ``width_s``."""
    n = max(1, int(width_s / char_s) + 1)
    return word if len(word) <= n else word[:max(1, n - 1)] + "\u2026"


def _span(line: dict) -> tuple[float, float]:
    return min(line["window_start"], line["start"]), max(line["window_end"], line["end"])


def _draw_line(ax, line: dict, char_s: float, *, lifted: bool = False) -> None:
    ws, we = line["window_start"], line["window_end"]
    flagged = line.get("status") == "flagged"
    dub = _RED if flagged else _DUB
    ax.axvspan(ws, we, color=_SHADE, alpha=0.6, lw=0, zorder=0)
    for a, b in line.get("pauses", []):
        ax.axvspan(a, b, ymin=0.5, ymax=1.0, fill=False, hatch="////", edgecolor="#9a9a9a", lw=0, zorder=1)
    label = f"L{line['index']}" + (f" {line['speaker']}" if line.get("speaker") else "")
    ax.text(ws, 1.95, label, fontsize=6.5, color="#777777", va="top", clip_on=True)

    words = line.get("original_words") or []
    if words:
        ax.broken_barh([(w["start"], w["end"] - w["start"]) for w in words], (1.22, 0.12), color=_ORIG,
                       edgecolor="white", lw=0.6)
        for w in words:
            ax.text(w["start"], 1.4, _fit(w["word"], w["end"] - w["start"], char_s), fontsize=_WORD_PT,
                    color=_ORIG, va="bottom", clip_on=True)
    else:
        ax.broken_barh([(ws, we - ws)], (1.22, 0.12), color="#b0b0b0")
        ax.text(ws, 1.4, "(original)", fontsize=_WORD_PT, color="#8a8a8a", style="italic", va="bottom", clip_on=True)

    words = line.get("words", [])
    y = 0.58 if lifted else 0.26          # a line overlapping the one before it gets the upper half of the lane
    ax.broken_barh([(w["start"], w["end"] - w["start"]) for w in words], (y, 0.12), color=dub,
                   edgecolor="white", lw=0.6)
    for w in words:
        ax.text(w["start"], y + 0.18, _fit(w["word"], w["end"] - w["start"], char_s), fontsize=_WORD_PT,
                color=dub, va="bottom", clip_on=True, fontweight="bold" if flagged else "normal")
    bilabials = line.get("bilabials", [])
    ax.plot(bilabials, [0.14] * len(bilabials), ls="none", marker="^", ms=5, color=_RED, clip_on=True)
    closures = line.get("closures", [])
    ax.vlines(closures, 0.0, 2.0, color=_RED, lw=1.0, alpha=0.75, zorder=3)
    for c in closures:
        ax.text(c, 1.0, "B", fontsize=6.5, color=_RED, ha="center", va="center", fontweight="bold", clip_on=True,
                zorder=4, bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": _RED, "lw": 0.6})
    if flagged:
        syl = line.get("suggest_syllables")
        note = f"{int(syl):+d} syl" if syl else "flagged"
        ax.text(line["start"], 0.97, note, fontsize=7, color=_RED, fontweight="bold", va="top", clip_on=True)


def _draw_row(ax, t0: float, row_s: float, fps: float, lines: list[dict], char_s: float) -> None:
    ax.set_xlim(t0, t0 + row_s)
    ax.set_ylim(0.0, 2.0)
    ax.axhline(1.0, color="#c8c8c8", lw=0.6, zorder=1)
    ax.set_yticks([0.5, 1.5], ["dub", "orig"], fontsize=7)
    ax.tick_params(axis="y", length=0)
    ax.set_ylabel(timecode(t0, fps), rotation=0, ha="right", va="center", fontsize=9, labelpad=22)
    # major ticks on whole timecode seconds (every `step` of them), a frame ruler below
    step = round(fps) * next(s for s in (1, 2, 5, 10, 30, 60) if row_s / s <= 16)
    f0, f1 = math.ceil(t0 * fps - 1e-6), math.floor((t0 + row_s) * fps + 1e-6)
    majors = [f / fps for f in range(-(-f0 // step) * step, f1, step)]  # the row's end is the next row's start
    ax.set_xticks(majors, [timecode(t, fps) for t in majors], fontsize=7)
    if f1 - f0 <= 600:  # one collection, not Tick artists: those cost a millisecond each
        ax.vlines([f / fps for f in range(f0, f1 + 1)], 0.0, 0.03, color="black", lw=0.5,
                  transform=ax.get_xaxis_transform())
    for spine in ("top", "right"):
        ax.spines[spine].set_visible(False)
    prev_end, prev_lifted = -math.inf, False
    for line in sorted(lines, key=lambda ln: ln["start"]):
        lifted = line["start"] < prev_end and not prev_lifted
        _draw_line(ax, line, char_s, lifted=lifted)
        prev_end, prev_lifted = max(prev_end, line["end"]) if lifted else line["end"], lifted


def _page_path(path: Path, page: int) -> Path:
    return path if page == 1 else path.with_name(f"{path.stem}-p{page}{path.suffix}")


def _save(fig, path: Path) -> Path:
    from voxpost.outputs import atomic_path

    with atomic_path(path, overwrite=True) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return path


def rythmo_png(report: dict, path, *, row_s: float = 12.0, rows_per_page: int = 30) -> list[Path]:
    """Draw the rythmo band of a dub report (see :mod:`voxpost.dub.rythmo`) and write it as PNG pages.

    Parameters
    ----------
    report : dict
        The dub engine's timing report: ``fps``, ``original`` and ``lines`` (each with ``index``,
        ``window_start/end``, ``start``, ``end``, ``status``, ``words``, and optionally
        ``original_words``, ``pauses``, ``closures``, ``bilabials``, ``suggest_syllables``).
    path : str or os.PathLike
        The first page; further pages go next to it as ``<stem>-p2.png``, ``<stem>-p3.png``...
    row_s : float
        Seconds of reel per row.
    rows_per_page : int
        Rows on one page.

    Returns
    -------
    list of pathlib.Path
        The pages written, in order; one page with a "no lines" note when the report has no lines.

    Examples
    --------
    >>> words = [{"word": "Bonjour", "start": 1.02, "end": 1.4}, {"word": "Paul", "start": 1.45, "end": 1.7}]
    >>> line = {"index": 1, "text": "Bonjour Paul", "window_start": 1.0, "window_end": 1.7, "start": 1.02,
    ...         "end": 1.7, "status": "ok", "words": words}
    >>> report = {"fps": 25.0, "original": "reel1.wav", "duration_s": 30.0, "lines": [line]}
    >>> rythmo_png(report, "reel1-rythmo.png")
    [PosixPath('reel1-rythmo.png')]
    >>> rythmo_png(report, "reel1-rythmo.png", row_s=0.5, rows_per_page=1)   # the line spans two rows
    [PosixPath('reel1-rythmo.png'), PosixPath('reel1-rythmo-p2.png')]
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path, fps = Path(path), float(report["fps"])
    rows: dict[int, list[dict]] = {}
    for line in report["lines"]:
        lo, hi = _span(line)
        for k in range(int(lo // row_s), int(max(lo, hi - 1e-9) // row_s) + 1):
            rows.setdefault(k, []).append(line)
    title = f"rythmo band \u2014 {Path(report['original']).name} \u2014 {report.get('language', '')}".rstrip(" \u2014")
    if not rows:
        fig = plt.figure(figsize=(_FIG_W, 1.8))
        try:
            fig.text(0.5, 0.62, title, ha="center", fontsize=11)
            fig.text(0.5, 0.35, "no lines", ha="center", fontsize=14, color="#777777")
            return [_save(fig, path)]
        finally:
            plt.close(fig)

    keys = sorted(rows)
    pages = [keys[i:i + rows_per_page] for i in range(0, len(keys), rows_per_page)]
    char_s = _CHAR_EM * _WORD_PT / 72 * row_s / (_FIG_W * (_RIGHT - _LEFT))
    written = []
    for p, page in enumerate(pages, 1):
        height = _TOP_H + _BOTTOM_H + len(page) * (_ROW_H + _GAP_H) - _GAP_H
        fig, axes = plt.subplots(len(page), 1, figsize=(_FIG_W, height), squeeze=False)
        try:
            fig.subplots_adjust(left=_LEFT, right=_RIGHT, top=1 - _TOP_H / height, bottom=_BOTTOM_H / height,
                                hspace=_GAP_H / _ROW_H)
            fig.suptitle(f"{title} \u2014 page {p}/{len(pages)}", x=_LEFT, ha="left", y=1 - 0.12 / height,
                         fontsize=11)
            fig.text(_LEFT, 1 - 0.38 / height, _LEGEND, fontsize=8, color="#555555")
            for ax, k in zip(axes[:, 0], page):
                _draw_row(ax, k * row_s, row_s, fps, rows[k], char_s)
            written.append(_save(fig, _page_path(path, p)))
        finally:
            plt.close(fig)
    return written
