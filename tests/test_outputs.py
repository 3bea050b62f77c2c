"""voxpost.outputs: the one front door for writing files (checks, atomic writes, roll-back)."""

from __future__ import annotations

import os

import pytest

from voxpost.errors import VoxpostError
from voxpost.outputs import Written, atomic_path, check_outputs, temp_path, write_json, write_text


def test_write_text_refuses_existing_and_inputs(tmp_path):
    out = tmp_path / "a.srt"
    assert write_text(out, "one\n") == out and out.read_text() == "one\n"
    with pytest.raises(VoxpostError, match="exists; use --force"):
        write_text(out, "two\n")
    assert out.read_text() == "one\n"
    write_text(out, "two\n", overwrite=True)
    assert out.read_text() == "two\n"
    src = tmp_path / "in.wav"
    src.write_bytes(b"RIFF")
    with pytest.raises(VoxpostError, match="refusing to overwrite an input"):
        write_text(src, "x", overwrite=True, protect=[src])
    assert src.read_bytes() == b"RIFF"
    with pytest.raises(VoxpostError, match="does not exist"):
        write_text(tmp_path / "no" / "b.srt", "x")
    # permissions follow the umask, not the 0600 of a temporary file
    mode = out.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.srt", "in.wav"]   # no temporaries


def test_write_text_leaves_nothing_on_failure(tmp_path):
    out = tmp_path / "b.vtt"
    out.write_text("old")
    with pytest.raises(VoxpostError, match="not valid Unicode"):
        write_text(out, "bad \udc80 text", overwrite=True)
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["b.vtt"]
    if os.geteuid() != 0:
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        try:
            with pytest.raises(VoxpostError, match="not writable"):
                write_text(ro / "c.srt", "x")
        finally:
            ro.chmod(0o700)


def test_temp_path_keeps_extension_and_folder(tmp_path):
    t = temp_path(tmp_path / "take.wav")
    assert t.parent == tmp_path and t.suffix == ".wav" and t.name.startswith(".voxpost-")
    assert temp_path(tmp_path / "take.wav") != t


def test_atomic_path_failure_keeps_the_old_file(tmp_path):
    out = tmp_path / "x.json"
    write_json(out, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(out, overwrite=True) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer died")
    assert out.read_text() == '{\n  "a": 1\n}\n' and [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_check_outputs_refuses_duplicates_and_checks_all_before_any_write(tmp_path):
    (tmp_path / "b.json").write_text("{}")
    with pytest.raises(VoxpostError, match="same file"):
        check_outputs([tmp_path / "a.json", tmp_path / "." / "a.json"])
    with pytest.raises(VoxpostError, match="exists"):
        check_outputs([tmp_path / "a.json", None, tmp_path / "b.json"])
    assert not (tmp_path / "a.json").exists()


def test_written_removes_what_a_failed_job_wrote(tmp_path):
    with pytest.raises(KeyError):
        with Written() as done:
            done.add(write_text(tmp_path / "one.txt", "1"), None)
            done.add(write_text(tmp_path / "two.txt", "2"))
            raise KeyError("third")
    assert list(tmp_path.iterdir()) == []
    with Written() as done:
        done.add(write_text(tmp_path / "kept.txt", "k"))
    assert (tmp_path / "kept.txt").read_text() == "k"
