"""``voxpost clean`` on bad and odd input: silence, noise, DC, rails, odd rates, multichannel, a
0.1 s file. Each gives sensible output or one ``voxpost: error:`` line with exit code 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from conftest import run_cli
from voxpost.audio import Audio, save
from voxpost.clean.meter import measure_loudness

PRESETS = {"period-dialogue": -1.0, "period-dialogue-live": -1.0, "broadcast-r128": -1.0, "netflix-dialogue": -2.0}


def _signal(case):
    rng = np.random.default_rng(0)
    sr, ch, sec = 48000, 1, 2.0
    if case == "8k":
        sr = 8000
    if case == "192k":
        sr = 192000
    if case == "stereo":
        ch = 2
    if case == "5.1":
        ch = 6
    if case == "short":
        sec = 0.1
    n = int(sr * sec)
    t = np.arange(n) / sr
    speechy = 0.2 * np.sin(2 * np.pi * 180 * t) * (1 + np.sin(2 * np.pi * 3 * t)) / 2 + 0.01 * rng.standard_normal(n)
    x = np.tile(speechy, (ch, 1))
    if case == "silence":
        x = np.zeros((1, n))
    elif case == "noise":
        x = 0.3 * rng.standard_normal((1, n))
    elif case == "dc":
        x = np.full((1, n), 0.25)
    elif case == "rails":
        x = np.clip(4.0 * np.sin(2 * np.pi * 150 * t), -1.0, 1.0)[None]
    elif case in ("stereo", "5.1"):
        x = x * np.linspace(0.3, 1.0, ch)[:, None]
    return Audio(x.astype(np.float32), sr, metadata={"subtype": "FLOAT"})


CASES = ("silence", "noise", "dc", "rails", "8k", "192k", "stereo", "5.1", "short")


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("case", CASES)
def test_clean_bad_input(tmp_path, case, preset):
    a = _signal(case)
    src, dst, rep = tmp_path / "in.wav", tmp_path / "out.wav", tmp_path / "r.json"
    save(a, src)
    out = run_cli("clean", src, "-o", dst, "--preset", preset, "--report", rep, "-q")
    assert "Traceback" not in out.stderr
    if out.returncode == 2:      # a clear refusal is acceptable
        assert out.stderr.startswith("voxpost: error:") and out.stderr.count("\n") == 1
        return
    assert out.returncode == 0, out.stderr
    y, sr = sf.read(dst, dtype="float32", always_2d=True)
    y = y.T
    assert sr == a.sample_rate and y.shape == a.samples.shape
    assert np.isfinite(y).all()
    r = json.loads(rep.read_text())
    if case == "silence":
        assert not np.abs(y).max() > 1e-6          # silence stays silence, not boosted noise
        return
    m = measure_loudness(y, sr, lra=False)
    assert m["true_peak_dbtp"] <= PRESETS[preset] + 0.1
    assert r["true_peak_dbtp_out"] is None or r["true_peak_dbtp_out"] <= PRESETS[preset] + 0.1
