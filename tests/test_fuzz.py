"""The error contract under damaged inputs: seeded mutations of small files through the reading commands.

Every damaged file (bit flips, truncation, chunk sizes that lie, spliced garbage, zeroed blocks,
broken ``fmt `` / STREAMINFO fields, from :mod:`benchmarks/fuzz.py`) must give exit code 0, or 2
with exactly one printable stderr line ``voxpost: error: ...``, write nothing on error and leave the
input unchanged. Most runs are in-process (``voxpost.cli.main``); a few go through a real
``python -m voxpost`` so that a crash in native code shows as a signal. The benchmark runs the
long version.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path

import numpy as np
import pytest

from conftest import CORPUS, run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import fuzz  # noqa: E402  (benchmarks/fuzz.py: the seeds and mutators)

from voxpost.cli import main  # noqa: E402

SEED = 20261202
MUTATIONS = 200
#: Heavier commands, one per mutation in turn; every mutation also goes through ``info``.
HEAVY = ("clean", "mark-detect", "align", "diarize")
CORPUS_SEEDS = ("speech/LJ001-0001.wav", "multilingual/fleurs-en-000.ogg")


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> list[Path]:
    return fuzz.make_seeds(tmp_path_factory.mktemp("seeds"), seconds=1.0, corpus=CORPUS, corpus_seeds=CORPUS_SEEDS)


def _damaged(seeds: list[Path], rng: np.random.Generator, folder: Path, i: int) -> tuple[Path, Path, str, bytes]:
    seed = seeds[i % len(seeds)]
    data, what = fuzz.mutate(seed.read_bytes(), rng)
    out = folder / f"m{i:04d}" / "out"
    out.mkdir(parents=True)
    (out.parent / "script.txt").write_text(fuzz.SCRIPT)
    path = out.parent / f"in{seed.suffix}"
    path.write_bytes(data)
    return path, out, f"{seed.name} ({what})", data


def test_seeds_are_read_cleanly(seeds, tmp_path, capsys):
    """The undamaged seeds pass every command: the failures below are the mutations' doing."""
    assert {p.suffix for p in seeds} >= {".wav", ".flac", ".aiff", ".ogg", ".opus", ".mp3"}
    for p in seeds:
        assert main(["info", str(p)]) == 0, capsys.readouterr().err


def test_damaged_inputs_keep_the_error_contract(seeds, tmp_path, capsys):
    rng = np.random.default_rng(SEED)
    broken, exits = [], {0: 0, 2: 0}
    for i in range(MUTATIONS):
        path, out, label, data = _damaged(seeds, rng, tmp_path, i)
        lines = fuzz.command_lines(path, out, out.parent / "script.txt")
        for command in ("info", HEAVY[i % len(HEAVY)]):
            capsys.readouterr()
            try:
                rc = main(lines[command])
            except Exception as exc:  # noqa: BLE001 - a traceback is what this test looks for
                broken.append(f"{command} {label}: {traceback.format_exception_only(exc)[-1].strip()}")
                continue
            err = capsys.readouterr().err
            written = sorted(f.name for f in out.iterdir())
            problems = fuzz.contract_problems(rc, err, written, path.read_bytes() != data)
            if problems:
                broken.append(f"{command} {label}: {problems}: {err.strip()[-300:]!r}")
            exits[rc] = exits.get(rc, 0) + 1
            for f in out.iterdir():
                f.unlink()
    assert not broken, "\n".join(broken)
    assert exits[2] >= MUTATIONS // 4        # the mutations do damage: many files are refused...
    assert exits[0] >= MUTATIONS // 4        # ...and many still read (damage inside the samples)


def test_damaged_inputs_never_crash_a_real_process(seeds, tmp_path):
    """Native code (libsndfile, FFmpeg, Numba, onnxruntime) in a real process: no signal, no traceback."""
    rng = np.random.default_rng(SEED + 1)
    for i, command in enumerate(("diarize", "align", "mark-detect", "clean")):
        path, out, label, data = _damaged(seeds, rng, tmp_path, i)
        p = run_cli(*fuzz.command_lines(path, out, out.parent / "script.txt")[command])
        problems = fuzz.contract_problems(p.returncode, p.stderr, sorted(f.name for f in out.iterdir()),
                                          path.read_bytes() != data)
        assert not problems, f"{command} {label}: {problems}: {p.stderr[-500:]}"
