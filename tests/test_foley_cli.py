"""The ``voxpost foley`` command: --list, bad input (one line, exit 2), cue files, a real run."""

from __future__ import annotations

import json

import pytest
from conftest import run_cli
from test_foley_prompt import fakes  # noqa: F401  (fixture)

from voxpost.cli import main
from voxpost.foley.jobs import parse_time, read_cues
from voxpost.errors import VoxpostError


def _run(capsys, *argv):
    code = main(["foley", *map(str, argv)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list(fakes, capsys):
    code, out, _ = _run(capsys, "--list")
    assert code == 0
    for name in ("footsteps", "door_knock", "rain", "pace_hz", "0.5..4 Hz", "e.g. voxpost foley"):
        assert name in out
    code, out, _ = _run(capsys, "--list", "--json")
    doc = json.loads(out)
    assert code == 0 and {m["name"] for m in doc["models"]} >= {"footsteps", "rain"} and "church" in doc["spaces"]


@pytest.mark.parametrize("argv,message", [
    (["", "-o", "{out}"], "empty"),
    (["a spaceship hum", "-o", "{out}"], "no sound model for 'a spaceship hum'; closest:"),
    (["footsteps", "-o", "{out}", "--variations", "0"], "variations"),
    (["footsteps", "-o", "{out}", "--duration", "-2"], "more than 0 s"),
    (["footsteps", "-o", "{out}", "--at", "1,0.5"], "comes before"),
    (["footsteps", "-o", "{out}", "--at", "1,abc"], "not a time"),
    (["footsteps", "-o", "{out}", "--at", "-1"], "0 or later"),
    (["rain", "-o", "{out}", "--at", "1"], "cues need an event sound"),
    (["footsteps"], "-o OUTDIR is required"),
    ([], "give a PROMPT"),
    (["footsteps", "-o", "{out}", "--list"], "--list takes no PROMPT"),
    (["footsteps", "-o", "{out}", "--at", "1", "--cues", "c.csv"], "not allowed with"),
])
def test_bad_input_exits_2_with_one_line(fakes, capsys, tmp_path, argv, message):
    argv = [a.replace("{out}", str(tmp_path / "out")) for a in argv]
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("voxpost: error: ") and message in err, err
    assert not (tmp_path / "out").exists()


def test_cue_file(fakes, capsys, tmp_path):
    cues = tmp_path / "cues.csv"
    cues.write_text("name,time\nstep 1,0.5\nstep 2,00:00:01.250\n")
    assert read_cues(str(cues)) == [0.5, 1.25]
    code, _, err = _run(capsys, "footsteps on gravel", "-o", tmp_path / "out", "--cues", cues, "--variations", "2")
    assert code == 0 and err.count("LUFS") == 2
    doc = json.loads(next((tmp_path / "out").glob("*T01.json")).read_text())
    assert doc["cues_s"] == [0.5, 1.25]
    bad = tmp_path / "bad.csv"
    bad.write_text("time\n2.0\n1.0\n")
    code, _, err = _run(capsys, "footsteps", "-o", tmp_path / "o2", "--cues", bad)
    assert code == 2 and "comes before" in err and not (tmp_path / "o2").exists()
    plain = tmp_path / "plain.csv"
    plain.write_text("0.1\n0.2\n")
    assert read_cues(str(plain)) == [0.1, 0.2]


def test_parse_time():
    assert parse_time("1:02.5") == 62.5 and parse_time("01:00:00.000") == 3600.0 and parse_time(" 3 ") == 3.0
    with pytest.raises(VoxpostError):
        parse_time("1:2:3:4")


def test_force(fakes, capsys, tmp_path):
    args = ["footsteps", "-o", tmp_path, "--variations", "1", "--duration", "1"]
    assert _run(capsys, *args)[0] == 0
    code, _, err = _run(capsys, *args)
    assert code == 2 and "--force" in err
    assert _run(capsys, *args, "--force")[0] == 0


def test_real_run(tmp_path):
    r = run_cli("foley", "footsteps on gravel, slow, in a church", "-o", tmp_path, "--variations", "2",
                "--duration", "3", "--seed", "5")
    assert r.returncode == 0, r.stderr
    wavs = sorted(tmp_path.glob("FEETHmn_*_VOXPOST_T0?.wav"))
    assert len(wavs) == 2 and len(list(tmp_path.glob("*.json"))) == 2
    doc = json.loads(wavs[0].with_suffix(".json").read_text())
    assert doc["layers"][0]["space"] == "church" and doc["seed"] == 5
    r = run_cli("foley", "--list")
    assert r.returncode == 0 and "footsteps" in r.stdout
    r = run_cli("foley", "a spaceship hum", "-o", tmp_path / "x")
    assert r.returncode == 2 and r.stderr.count("\n") == 1
