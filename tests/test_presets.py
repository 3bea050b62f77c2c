"""Presets: every shipped one loads; every registered stage is usable; a bad key or value is one
PresetError line naming it; file parameters resolve relative to the preset."""

from __future__ import annotations

import pytest

import numpy as np

from conftest import make_voice_profile, run_cli, voice_like
from voxpost.audio import Audio
from voxpost.errors import PresetError
from voxpost.presets import chain_from_dict, list_presets, load_preset
from voxpost.stages import registry


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
    ('[[stage]]\ntype = ["gain"]\n', r"stage 1: unknown stage type \['gain'\]"),
    ('[[stage]]\ntype = "gain"\ngain_db = true\n', r"stage 1: gain: gain_db must be float, got True"),
    ('[[stage]]\ntype = "denoise"\nengine = "model"\nmodel_path = "gone.pt"\n',
     r"stage 1: denoise: model_path '.*gone.pt': no such file"),
    ('[[stage]]\ntype = "denoise"\nengine = "hybrid"\nmodel_path = "bad.toml"\n',
     r"stage 1: denoise: model_path '.*bad.toml': not a voxpost denoise-gru checkpoint"),
    ('[[stage]]\ntype = "voice-convert"\nprofile_path = "nobody.voice"\n',
     r"stage 1: voice-convert: profile_path '.*nobody.voice': no such file"),
    ('[[stage]]\ntype = "voice-convert"\nprofile_path = "bad.toml"\n',
     r"stage 1: voice-convert: profile_path: .*not a voxpost voice profile"),
    ('[[stage]]\ntype = "voice-convert"\npitch_shift_semitones = 30\n',
     r"stage 1: voice-convert: pitch_shift_semitones must be between -24 and 24"),
])
def test_bad_presets_name_the_bad_key(tmp_path, body, match):
    p = tmp_path / "bad.toml"
    p.write_text(body)
    with pytest.raises(PresetError, match=match) as err:
        load_preset(p)
    assert "\n" not in str(err.value)


def test_every_registered_stage_is_preset_able():
    """Each stage type of the registry builds from a [[stage]] table with its defaults."""
    kinds = registry()
    assert {"denoise", "dehum", "loudness", "voice-convert"} <= set(kinds)
    chain = chain_from_dict({"stage": [{"type": kind} for kind in kinds]})
    assert [s.kind for s in chain] == list(kinds)


def test_voice_convert_profile_resolves_next_to_the_preset(tmp_path, monkeypatch):
    make_voice_profile(tmp_path / "voices")
    (tmp_path / "dub.toml").write_text('description = "into the actor\'s voice"\n[[stage]]\n'
                                       'type = "voice-convert"\nprofile_path = "voices/actor.voice"\n')
    monkeypatch.chdir(tmp_path / "voices")            # relative to the preset, not the cwd
    preset = load_preset(tmp_path / "dub.toml")
    stage = preset.chain.stages[0]
    assert stage.profile_path == str(tmp_path / "voices" / "actor.voice")
    take = Audio(voice_like(1.0, 16000)[None].astype(np.float32), 16000)
    out = preset.chain.render(take)
    assert out.samples.shape == take.samples.shape and np.isfinite(out.samples).all()
    assert stage.report()["target_f0_median_hz"] > 0


def test_voice_convert_profile_without_consent_is_refused(tmp_path):
    make_voice_profile(tmp_path, consent=False)
    (tmp_path / "dub.toml").write_text('[[stage]]\ntype = "voice-convert"\nprofile_path = "actor.voice"\n')
    with pytest.raises(PresetError, match=r"stage 1: voice-convert: profile_path .*no consent record"):
        load_preset(tmp_path / "dub.toml")


def test_unknown_preset_name_suggests():
    with pytest.raises(PresetError, match="did you mean 'dialogue-prep'"):
        load_preset("dialog-prep")


def test_denoise_model_path_resolves_next_to_the_preset(tmp_path, monkeypatch):
    """A checkpoint beside the preset (a tiny one, in the real format) is the model the stage uses."""
    import torch

    from voxpost.clean import denoise_model

    torch.manual_seed(0)
    denoise_model.save_checkpoint(denoise_model.DenoiseNet(input_size=8, hidden=8, head=8), tmp_path / "tiny.pt")
    (tmp_path / "mine.toml").write_text('[[stage]]\ntype = "denoise"\nengine = "model"\nmodel_path = "tiny.pt"\n')
    monkeypatch.chdir(tmp_path.parent)
    chain = load_preset(tmp_path / "mine.toml").chain
    chain.prepare(16000, 1)
    assert chain.stages[0]._model.net.hparams["hidden"] == 8
