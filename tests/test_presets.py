"""Presets: every shipped one loads; a bad key or value is named in the error."""

from __future__ import annotations

import pytest

from conftest import run_cli
from voxpost.errors import PresetError
from voxpost.presets import list_presets, load_preset


def test_shipped_presets_load_and_describe_themselves():
    presets = list_presets()
    assert {"dialogue-prep", "rumble-cut", "bandwidth-voice"} <= {p.name for p in presets}
    for p in presets:
        assert p.description and len(p.chain) >= 1
        p.chain.prepare(48000, 2)


def test_cli_lists_presets():
    out = run_cli("presets")
    assert out.returncode == 0
    line = next(l for l in out.stdout.splitlines() if l.startswith("dialogue-prep"))
    assert "80 Hz" in line


@pytest.mark.parametrize("body,match", [
    ('[[stage]]\ntype = "highpass"\ncutof_hz = 80.0\n', r"stage 1 \(highpass\): unknown parameter 'cutof_hz'"),
    ('[[stage]]\ntype = "highpass"\ncutoff_hz = -5.0\n', r"stage 1: highpass: cutoff_hz must be between"),
    ('[[stage]]\ntype = "highpass"\norder = "four"\n', r"order must be int, got 'four'"),
    ('[[stage]]\ntype = "dc_block"\n[[stage]]\ntype = "hipass"\n', r"stage 2: unknown stage type 'hipass'; did you mean 'highpass'"),
    ('[[stage]]\ncutoff_hz = 80.0\n', r"stage 1: missing 'type'"),
    ('description = "x"\n', r"needs at least one \[\[stage\]\]"),
    ('colour = "red"\n[[stage]]\ntype = "gain"\n', r"unknown key 'colour'"),
    ('[[stage]\ntype = "gain"\n', r"not valid TOML"),
])
def test_bad_presets_name_the_bad_key(tmp_path, body, match):
    p = tmp_path / "bad.toml"
    p.write_text(body)
    with pytest.raises(PresetError, match=match):
        load_preset(p)


def test_unknown_preset_name_suggests():
    with pytest.raises(PresetError, match="did you mean 'dialogue-prep'"):
        load_preset("dialog-prep")
