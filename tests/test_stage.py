"""Stage protocol and Chain: block-size invariance, latency compensation, reset, parameter checks."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
from scipy import signal

from conftest import tone
from voxpost.audio import Audio
from voxpost.clean import DCBlock, Gain, HighPass, LowPass
from voxpost.errors import ParameterError
from voxpost.stage import Chain, Stage, param, register


@register
class _Lookahead(Stage):
    """A real stage with latency, as a lookahead limiter or linear-phase filter has: it delays by
    ``delay_samples`` and scales by ``gain``."""

    kind: ClassVar[str] = "test_lookahead"
    delay_samples: int = param(37, min=0, max=100000)
    gain: float = param(1.0)

    def reset(self) -> None:
        if self.channels is not None:
            self.buf = np.zeros((self.channels, self.delay_samples), np.float32)

    @property
    def latency_samples(self) -> int:
        return self.delay_samples

    def process(self, block):
        joined = np.concatenate([self.buf, block], axis=1)
        self.buf = joined[:, joined.shape[1] - self.delay_samples:]
        return joined[:, : block.shape[1]] * np.float32(self.gain)


def _noise(channels=2, seconds=2.0, rate=48000, seed=0):
    x = np.random.default_rng(seed).standard_normal((channels, int(seconds * rate))).astype(np.float32) * 0.1
    return Audio(x + 0.02, rate)


def _chain():
    return Chain([DCBlock(), HighPass(cutoff_hz=80.0, order=4), LowPass(cutoff_hz=12000.0), Gain(gain_db=-3.0),
                  _Lookahead(delay_samples=480)])


@pytest.mark.parametrize("block_frames", [480, 48000, 4097, 1])
def test_block_size_does_not_change_output(block_frames):
    a = _noise(seconds=0.5 if block_frames == 1 else 2.0)
    whole = _chain().render(a)
    blocked = _chain().render(a, block_frames=block_frames)
    assert whole.frames == blocked.frames == a.frames
    assert np.abs(whole.samples - blocked.samples).max() <= 1e-6


@pytest.mark.parametrize("delays", [(0,), (37,), (480, 1000, 3), (5000,)])
def test_latency_is_compensated_to_the_sample(delays):
    a = _noise(seconds=0.1)
    chain = Chain([_Lookahead(delay_samples=d) for d in delays])
    out = chain.render(a, block_frames=256)
    assert chain.latency_samples == sum(delays)
    assert out.frames == a.frames
    assert np.array_equal(out.samples, a.samples)


def test_compensation_when_file_shorter_than_latency():
    a = _noise(seconds=0.001)  # 48 frames
    out = Chain([_Lookahead(delay_samples=1000)]).render(a, block_frames=10)
    assert np.array_equal(out.samples, a.samples)


def test_highpass_response_in_db():
    a = Audio(np.concatenate([tone(40, seconds=2.0), tone(1000, seconds=2.0)]), 48000)
    out = HighPass(cutoff_hz=80.0, order=4).render(a)
    level = lambda x: 20 * np.log10(np.sqrt(np.mean(x[24000:] ** 2)))  # noqa: E731 - skip the onset
    cut_db = level(a.samples[0]) - level(out.samples[0])
    kept_db = level(a.samples[1]) - level(out.samples[1])
    assert 23.0 < cut_db < 25.0  # 4th-order Butterworth one octave below cutoff: 24.1 dB
    assert abs(kept_db) < 0.01


def test_dc_block_removes_offset():
    a = Audio(np.full((1, 48000 * 2), 0.3, np.float32) + tone(200, seconds=2.0), 48000)
    out = DCBlock(cutoff_hz=5.0).render(a)
    assert abs(out.samples[0, 48000:].mean()) < 1e-4


def test_gain_db():
    out = Gain(gain_db=-6.0).render(Audio(np.ones((1, 10)), 48000))
    assert abs(20 * np.log10(out.samples[0, 0]) + 6.0) < 1e-5


def test_reset_forgets_history():
    hp = HighPass(cutoff_hz=100.0)
    hp.prepare(48000, 1)
    x = tone(50, seconds=0.1)
    first = hp.process(x)
    hp.process(x)
    hp.reset()
    assert np.array_equal(hp.process(x), first)


def test_matches_scipy_design():
    a = _noise(channels=1)
    out = HighPass(cutoff_hz=120.0, order=6).render(a)
    ref = signal.sosfilt(signal.butter(6, 120.0, "highpass", fs=48000, output="sos"), a.samples.astype(np.float64))
    assert np.abs(out.samples - ref).max() < 1e-6


def test_parameters_are_checked_with_units_in_the_message():
    with pytest.raises(ParameterError, match="cutoff_hz must be between"):
        HighPass(cutoff_hz=0.0)
    with pytest.raises(ParameterError, match="order must be int"):
        HighPass(order=2.5)
    with pytest.raises(ParameterError, match="not below Nyquist"):
        LowPass(cutoff_hz=30000.0).prepare(48000, 1)
    with pytest.raises(TypeError):
        HighPass(80.0)  # parameters are keyword-only


def test_process_before_prepare_is_a_bug():
    with pytest.raises(RuntimeError, match="prepare"):
        HighPass().process(np.zeros((1, 10), np.float32))


@register
class _PeakNormalize(Stage):
    """A stage that must hear the whole programme first: scales its input's peak to ``peak``."""

    kind: ClassVar[str] = "test_peak_normalize"
    needs_analysis: ClassVar[bool] = True
    peak: float = param(1.0)

    def analyse(self, blocks):
        self.seen = max((float(np.abs(b).max()) for b in blocks), default=0.0)

    def process(self, block):
        return block * np.float32(self.peak / self.seen)

    def report(self):
        return {"peak_in": self.seen}


@pytest.mark.parametrize("block_frames", [None, 480])
def test_analysis_pass_sees_the_output_of_earlier_stages(block_frames):
    a = Audio(np.concatenate([tone(440, seconds=0.5, amplitude=0.5)], axis=0), 48000)
    chain = Chain([Gain(gain_db=-6.0), _PeakNormalize(peak=0.25), _Lookahead(delay_samples=100)])
    out = chain.render(a, block_frames=block_frames)
    assert abs(chain.report()["peak_in"] - 0.5 * 10 ** (-6 / 20)) < 1e-6
    assert abs(np.abs(out.samples).max() - 0.25) < 1e-6
    assert out.frames == a.frames


def test_render_file_runs_the_analysis_pass(tmp_path):
    from voxpost.audio import load, save
    from voxpost.render import render_file

    save(Audio(tone(440, seconds=1.0, amplitude=0.3), 48000, metadata={"subtype": "FLOAT"}), tmp_path / "in.wav")
    report = render_file(tmp_path / "in.wav", tmp_path / "out.wav", Chain([_PeakNormalize(peak=0.9)]), block_frames=1000)
    assert abs(report["peak_in"] - 0.3) < 1e-6
    assert abs(np.abs(load(tmp_path / "out.wav").samples).max() - 0.9) < 1e-6
