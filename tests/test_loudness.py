"""Loudness: true-peak kernel, limiter, measurement, and normalisation to delivery specs.
Registration, latency alignment, block-size invariance and input shapes: test_stage_contract.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from voxpost.audio import Audio, load
from voxpost.clean.gain import Gain
from voxpost.clean.loudness import Loudness, TruePeakLimiter
from voxpost.clean.bs1770 import integrated_loudness, k_weighting_sos
from voxpost.clean.meter import measure_loudness, speech_mask
from voxpost.dsp import truepeak as tp
from voxpost.stage import Chain


def _db(x):
    return 20 * math.log10(x)


def _speech(corpus, name):
    return load(corpus / "speech" / name)


def _fade(n, ramp):
    i = np.arange(n)
    return np.minimum(1.0, np.minimum(i, i[::-1]) / ramp)


# -- kernels --------------------------------------------------------------------------------

@pytest.mark.parametrize("rate", [44100, 48000, 192000])
def test_truepeak_kernel_matches_reference_across_blocks(rate):
    poly = tp.design_interpolator(rate)
    assert poly.shape[0] == (4 if rate < 176400 else 2)
    x = np.random.default_rng(1).standard_normal((2, 6000)).astype(np.float32) * 0.3
    ref = tp.truepeak_reference(x, poly)
    hist = tp.new_history(2, poly)
    cuts = [0, 1, 480, 481, 3000, 6000]
    got = np.concatenate([tp.truepeak_block(x[:, a:b], poly, hist) for a, b in zip(cuts, cuts[1:])], axis=1)
    assert np.abs(got - ref).max() <= 1e-6
    # each phase's sum in order of k, as a scalar loop adds it: the same bits
    line = np.r_[np.zeros(poly.shape[1] - 1), x[0, :200].astype(np.float64)]
    nh = poly.shape[1] - 1
    want = [max(abs(sum(poly[p, k] * line[nh + m - k] for k in range(poly.shape[1]))) for p in range(poly.shape[0]))
            for m in range(200)]
    assert np.array_equal(tp.truepeak_block(x[:1, :200], poly, tp.new_history(1, poly))[0], want)


def test_truepeak_never_below_sample_peak():
    x = np.random.default_rng(2).standard_normal((1, 4000)).astype(np.float32)
    poly = tp.design_interpolator(48000)
    peaks = tp.truepeak_block(x, poly, tp.new_history(1, poly))
    delay = (poly.shape[1] - 1) // 2  # phase 0 reproduces x delayed by taps // 2
    assert np.all(peaks[0, delay:] >= np.abs(x[0, :-delay]) - 1e-6)


def test_limiter_gain_kernel_matches_reference_across_blocks():
    rng = np.random.default_rng(3)
    required = np.ones(5000)
    hits = rng.integers(0, 5000, 40)
    required[hits] = rng.uniform(0.1, 0.9, hits.size)
    window, hold, coef = 72, 72 + 17, math.exp(-1 / 2400)
    ref = tp.limiter_gain_reference(required, coef, window, hold)
    hold_buf, box_buf, st = tp.new_limiter_state(window, hold)
    cuts = [0, 7, 480, 2222, 5000]
    got = np.concatenate([tp.limiter_gain(required[a:b], coef, hold_buf, box_buf, st) for a, b in zip(cuts, cuts[1:])])
    assert np.abs(got - ref).max() <= 1e-9
    # the guarantee the limiter relies on: gain <= required over [k + window - 1, k + hold - 1]
    for k in hits:
        seg = got[k + window - 1: k + hold]
        assert np.all(seg <= required[k] + 1e-12)


def test_limiter_gain_is_exactly_one_again_after_limiting():
    """The shortcut for rings of ones: after a stretch of limiting the gain returns to exactly 1,
    as the full passes over the rings give, and matches the reference throughout."""
    required = np.ones(30000)
    required[1000:1500] = 0.3
    window, hold, coef = 72, 89, math.exp(-1 / 480)
    hold_buf, box_buf, st = tp.new_limiter_state(window, hold)
    got = np.concatenate([tp.limiter_gain(required[a:a + 480], coef, hold_buf, box_buf, st)
                          for a in range(0, required.size, 480)])
    np.testing.assert_allclose(got, tp.limiter_gain_reference(required, coef, window, hold), rtol=0, atol=1e-12)
    assert got.min() < 0.31 and np.all(got[-5000:] == 1.0) and st[3] == st[4] == 0


@pytest.mark.parametrize("channels", [1, 2])
def test_limit_block_matches_reference_across_blocks(channels):
    fs = 48000
    rng = np.random.default_rng(7)
    x = (rng.standard_normal((channels, 12000)) * np.linspace(0.05, 2.0, 12000)).astype(np.float32)
    lim = TruePeakLimiter(ceiling_dbtp=-3.0)
    lim.prepare(fs, channels)
    cuts = [0, 1, 300, 780, 5000, 12000]
    got = np.concatenate([lim.process(x[:, a:b]) for a, b in zip(cuts, cuts[1:])], axis=1)
    ref = tp.limit_reference(x, lim.poly, lim.ceiling, lim.release_coef, lim.window, lim.hold, lim.delay)
    assert np.abs(got - ref).max() <= 1e-6
    assert lim.report()["limiter_max_reduction_db"] > 6.0


def test_intersample_peak_of_fs4_tone_at_45_degrees():
    fs, n = 48000, 48000
    x = (np.sin(2 * np.pi * np.arange(n) / 4 + np.pi / 4) * _fade(n, 4800))[None].astype(np.float32)
    m = measure_loudness(x, fs)
    assert m["sample_peak_dbfs"] == pytest.approx(-3.01, abs=0.01)  # samples at +-0.707
    assert m["true_peak_dbtp"] == pytest.approx(0.0, abs=0.2)  # the waveform reaches 1.0 between them


def test_true_peak_of_997hz_sine_at_minus_3():
    fs, n = 48000, 48000
    x = (10 ** (-3 / 20) * np.sin(2 * np.pi * 997 * np.arange(n) / fs) * _fade(n, 4800))[None].astype(np.float32)
    assert measure_loudness(x, fs)["true_peak_dbtp"] == pytest.approx(-3.0, abs=0.2)


# -- measurement ----------------------------------------------------------------------------

def test_k_weighting_matches_pyloudnorm():
    import pyloudnorm

    for rate in (44100, 48000):
        f = pyloudnorm.Meter(rate)._filters
        sos = k_weighting_sos(rate)
        assert np.allclose(sos[0], np.r_[f["high_shelf"].b, f["high_shelf"].a], atol=1e-9)
        assert np.allclose(sos[1], np.r_[f["high_pass"].b, f["high_pass"].a], atol=1e-9)


def test_integrated_loudness_consistent_with_pyloudnorm(corpus):
    import pyloudnorm

    # 1 kHz sine at -20 dBFS (peak) -> about -23 LUFS (-20 - 3.01 + 0.69 - 0.69 + K at 1 kHz ~0)
    fs = 48000
    x = (0.1 * np.sin(2 * np.pi * 1000 * np.arange(5 * fs) / fs))[None].astype(np.float32)
    m = measure_loudness(x, fs)
    assert m["integrated_lufs"] == pytest.approx(pyloudnorm.Meter(fs).integrated_loudness(x[0].astype(float)))
    assert m["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)
    assert integrated_loudness(x, fs) == pytest.approx(m["integrated_lufs"], abs=0.02)
    for name in ("jfk.flac", "LJ001-0001.wav"):
        a = _speech(corpus, name)
        m = measure_loudness(a)
        ref = pyloudnorm.Meter(a.sample_rate).integrated_loudness(a.samples.T.astype(float))
        assert m["integrated_lufs"] == pytest.approx(ref, abs=1e-9)
        assert integrated_loudness(a.samples, a.sample_rate) == pytest.approx(ref, abs=0.1)
        assert m["true_peak_dbtp"] >= m["sample_peak_dbfs"] - 1e-6
        assert 0.5 < m["loudness_range_lu"] < 15


# -- the limiter ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["jfk.flac", "LJ001-0001.wav"])
def test_limiter_holds_ceiling_on_hot_speech(corpus, name):
    a = _speech(corpus, name)
    hot = a.with_samples(a.samples * np.float32(10 ** (10 / 20)))
    assert measure_loudness(hot, lra=False)["true_peak_dbtp"] > 5.0
    lim = TruePeakLimiter(ceiling_dbtp=-1.0)
    whole = lim.render(hot)
    assert whole.frames == hot.frames
    assert measure_loudness(whole, lra=False)["true_peak_dbtp"] <= -1.0 + 0.1


def test_limiter_leaves_quiet_audio_bit_identical(corpus):
    a = _speech(corpus, "jfk.flac")
    quiet = a.with_samples(a.samples * np.float32(0.5))  # true peak about -8 dBTP
    assert np.array_equal(TruePeakLimiter(ceiling_dbtp=-1.0).render(quiet, block_frames=480).samples, quiet.samples)


def test_limiter_on_intersample_tone():
    fs, n = 48000, 24000
    x = (np.sin(2 * np.pi * np.arange(n) / 4 + np.pi / 4) * _fade(n, 2400))[None].astype(np.float32)
    y = TruePeakLimiter(ceiling_dbtp=-2.0).render(Audio(x, fs)).samples
    assert measure_loudness(y, fs, lra=False)["true_peak_dbtp"] <= -2.0 + 0.1


# -- normalisation --------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["jfk.flac", "LJ001-0001.wav"])
@pytest.mark.parametrize("target, ceiling, gated", [(-23.0, -1.0, False),   # EBU R128
                                                    (-24.0, -2.0, False),   # ATSC A/85
                                                    (-27.0, -2.0, True),    # Netflix, dialogue-gated
                                                    (-14.0, -1.0, False)])  # hot: the limiter works
def test_loudness_fit_hits_delivery_spec(corpus, name, target, ceiling, gated):
    a = _speech(corpus, name)
    stage = Loudness(target_lufs=target, ceiling_dbtp=ceiling, dialogue_gated=gated).fit(a)
    out = stage.render(a)
    m = measure_loudness(out, dialogue_gated=gated, lra=False)
    got = m["dialogue_lufs"] if gated else m["integrated_lufs"]
    assert got == pytest.approx(target, abs=0.2)
    assert stage.lufs_out == pytest.approx(got, abs=1e-6)
    assert stage.lufs_in == pytest.approx(stage.measured_in["dialogue_lufs" if gated else "integrated_lufs"])
    assert m["true_peak_dbtp"] <= ceiling + 0.1
    assert out.frames == a.frames


def test_unfitted_integrated_refuses_but_render_fits_itself(corpus):
    stage = Loudness()
    stage.prepare(48000, 1)
    with pytest.raises(RuntimeError, match="fit"):
        stage.process(np.zeros((1, 480), np.float32))
    a = _speech(corpus, "LJ001-0001.wav")
    stage = Loudness(target_lufs=-23.0)
    assert stage.needs_analysis and not Loudness(mode="short_term").needs_analysis
    out = stage.render(a, block_frames=480)  # Chain.render runs the analysis pass
    assert measure_loudness(out)["integrated_lufs"] == pytest.approx(-23.0, abs=0.2)
    rep = stage.report()
    assert rep["loudness_lufs_in"] == pytest.approx(-20.34, abs=0.05)
    assert rep["loudness_gain_db"] == pytest.approx(-2.66, abs=0.05)


def test_silence_and_quiet_inputs(corpus):
    silence = Audio(np.zeros((2, 48000), np.float32), 48000)
    stage = Loudness().fit(silence)
    out = stage.render(silence)
    assert np.isfinite(out.samples).all() and not out.samples.any()
    assert stage.gain_db == 0.0 and stage.lufs_in == -math.inf
    assert measure_loudness(silence)["integrated_lufs"] == -math.inf
    live = Loudness(mode="short_term").render(silence, block_frames=480)
    assert np.isfinite(live.samples).all()
    a = _speech(corpus, "jfk.flac")
    quiet = a.with_samples(a.samples * np.float32(1e-2))  # about -52.5 LUFS
    stage = Loudness(target_lufs=-23.0, max_gain_db=20.0).fit(quiet)
    assert stage.gain_db == 20.0
    assert stage.lufs_out == pytest.approx(stage.lufs_in + 20.0, abs=0.05)


def test_tenth_of_a_second_file(corpus):
    a = _speech(corpus, "LJ001-0001.wav")
    short = Audio(a.samples[:, 22050: 22050 + 2205], a.sample_rate)
    m = measure_loudness(short, dialogue_gated=True)
    assert all(not math.isnan(v) for v in m.values())
    for mode in ("integrated", "short_term"):
        stage = Loudness(mode=mode).fit(short)
        out = stage.render(short, block_frames=480)
        assert out.frames == short.frames and np.isfinite(out.samples).all()


def test_short_term_mode_converges():
    fs = 48000
    rng = np.random.default_rng(5)
    noise = rng.standard_normal(20 * fs)
    x = (0.02 * noise)[None].astype(np.float32)  # about -37 LUFS, steady
    a = Audio(x, fs)
    stage = Loudness(target_lufs=-23.0, mode="short_term", adapt_s=1.0)
    whole = stage.render(a)
    tail = whole.samples[:, -5 * fs:]
    assert integrated_loudness(tail, fs) == pytest.approx(-23.0, abs=0.3)
    assert stage.gain_db == pytest.approx(stage.target_lufs - stage.lufs_in, abs=0.3)


def test_dialogue_gating_ignores_non_speech(corpus):
    a = _speech(corpus, "jfk.flac")
    noise = (np.random.default_rng(6).standard_normal(a.samples.shape) * 0.03).astype(np.float32)
    mix = np.concatenate([a.samples, noise], axis=1)
    speech_only = measure_loudness(a, dialogue_gated=True)
    both = measure_loudness(mix, a.sample_rate, dialogue_gated=True)
    assert both["integrated_lufs"] < speech_only["integrated_lufs"] - 2.0  # noise drags the full-programme figure
    assert both["dialogue_lufs"] == pytest.approx(speech_only["dialogue_lufs"], abs=0.5)
    mask = speech_mask(mix, a.sample_rate)
    assert mask[a.frames:].mean() < 0.05 and mask[: a.frames].mean() > 0.4


def test_chain_analysis_fits_on_what_reaches_the_stage(corpus):
    a = _speech(corpus, "LJ001-0001.wav")
    chain = Chain([Gain(gain_db=-12.0), Loudness(target_lufs=-23.0), TruePeakLimiter(ceiling_dbtp=-1.0)])
    out = chain.render(a, block_frames=1024)
    assert chain.stages[1].lufs_in == pytest.approx(measure_loudness(a)["integrated_lufs"] - 12.0, abs=0.01)
    assert measure_loudness(out)["integrated_lufs"] == pytest.approx(-23.0, abs=0.2)


def test_parameters():
    assert Loudness().params()["mode"] == "integrated"
    from voxpost.errors import ParameterError

    with pytest.raises(ParameterError):
        Loudness(mode="momentary")
    with pytest.raises(ParameterError):
        TruePeakLimiter(ceiling_dbtp=3.0)


# -- streaming measurement ------------------------------------------------------------------

@pytest.mark.parametrize("name", ["jfk.flac", "LJ001-0001.wav"])
def test_streaming_accumulator_matches_pyloudnorm_at_any_block_size(corpus, name):
    import pyloudnorm

    from voxpost.clean.meter import LoudnessAccumulator

    a = _speech(corpus, name)
    ref = pyloudnorm.Meter(a.sample_rate).integrated_loudness(a.samples.T.astype(float))
    whole = measure_loudness(a, dialogue_gated=True)
    for bs in (1, 480, 1001, 65536, a.frames):
        if bs == 1:
            continue  # (one sample per block works, but is slow in Python)
        acc = LoudnessAccumulator(a.sample_rate, a.channels, dialogue_gated=True)
        for i in range(0, a.frames, bs):
            acc.add(a.samples[:, i:i + bs])
        r = acc.result()
        assert r["integrated_lufs"] == pytest.approx(ref, abs=0.05)          # measured: < 1e-9
        assert r["dialogue_lufs"] == pytest.approx(whole["dialogue_lufs"], abs=0.05)
        assert r["loudness_range_lu"] == pytest.approx(whole["loudness_range_lu"], abs=0.05)
        assert r["true_peak_dbtp"] == pytest.approx(whole["true_peak_dbtp"], abs=1e-6)


def test_streaming_accumulator_memory_is_flat():
    from voxpost.clean.meter import LoudnessAccumulator

    fs, rng = 48000, np.random.default_rng(9)
    acc = LoudnessAccumulator(fs, 6, dialogue_gated=True)
    block = (0.1 * rng.standard_normal((6, fs))).astype(np.float32)   # one second, re-used
    sizes = []
    for minute in range(2):
        for _ in range(60):
            acc.add(block)
        sizes.append(acc.stored_floats())
    # one float per 100 ms sub-block plus one VAD probability per 32 ms frame: 2,475 per minute, never samples
    assert sizes[1] - sizes[0] <= 60 * (10 + 31.25) + 1
    assert math.isfinite(acc.result()["integrated_lufs"])


def test_fit_stream_equals_fit(corpus):
    a = _speech(corpus, "LJ001-0001.wav")
    hot = a.with_samples(a.samples * np.float32(3.0))
    one = Loudness(target_lufs=-14.0).fit(hot)
    two = Loudness(target_lufs=-14.0).fit_stream(lambda: (hot.samples[:, i:i + 4096] for i in range(0, hot.frames, 4096)),
                                                 hot.sample_rate, hot.channels)
    assert two.gain_db == pytest.approx(one.gain_db, abs=0.02)
    assert two.lufs_out == pytest.approx(-14.0, abs=0.2)
