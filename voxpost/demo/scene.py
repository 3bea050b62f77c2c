"""The demo's scene: a period-film problem in miniature, made with no download.

A voiced, formant-shaped "line" over traffic rumble, a DC offset, hiss and an old optical track's
clicks, in a 48 kHz, 24-bit Broadcast WAV stamped 10:00:00:00 with iXML.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy import signal

from voxpost import bwf
from voxpost.audio import Audio

SCENE_RATE = 48000
SCENE_FPS = Fraction(25)
CLICKS = 12


def example_scene(*, duration_s: float = 6.0, seed: int = 0) -> Audio:
    """A synthetic dialogue scene: voice-like buzz through formants, rumble below 60 Hz, DC, hiss."""
    rng = np.random.default_rng(seed)
    sr = SCENE_RATE
    t = np.arange(int(duration_s * sr)) / sr
    f0 = 118.0 * (1 + 0.04 * np.sin(2 * np.pi * 0.7 * t))  # a drifting male pitch
    phase = 2 * np.pi * np.cumsum(f0) / sr
    buzz = signal.sawtooth(phase, 0.1)
    voice = np.zeros_like(buzz)
    for formant_hz, bw_hz, gain in ((700, 110, 1.0), (1220, 120, 0.5), (2600, 160, 0.25)):
        sos = signal.butter(2, [formant_hz - bw_hz, formant_hz + bw_hz], "bandpass", fs=sr, output="sos")
        voice += gain * signal.sosfilt(sos, buzz)
    syllables = np.clip(np.sin(2 * np.pi * 3.1 * t), 0, None) ** 0.7 * (t % 3.0 < 2.4)
    voice *= 0.25 * syllables / max(1e-9, np.abs(voice).max())
    rumble = signal.sosfilt(signal.butter(4, [18, 55], "bandpass", fs=sr, output="sos"), rng.standard_normal(t.size))
    rumble *= 0.12 / np.abs(rumble).max()
    hiss = 0.002 * rng.standard_normal((2, t.size))
    left = voice + rumble + 0.05
    right = 0.8 * voice + rumble + 0.05
    samples = np.stack([left, right]) + hiss
    for pos in rng.integers(sr // 2, t.size - sr // 2, CLICKS):  # an old optical track's clicks
        samples[:, pos:pos + 3] += 0.5 * rng.choice([-1.0, 1.0])
    samples = samples.astype(np.float32)
    tc = 10 * 3600 * sr  # 10:00:00:00
    ixml = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><BWFXML><IXML_VERSION>2.10</IXML_VERSION>"
            "<PROJECT>voxpost demo</PROJECT><SCENE>1A</SCENE><TAKE>3</TAKE>"
            "<SPEED><TIMECODE_RATE>25/1</TIMECODE_RATE><TIMECODE_FLAG>NDF</TIMECODE_FLAG></SPEED></BWFXML>")
    meta = {"subtype": "PCM_24", "fps": SCENE_FPS, "ixml": ixml,
            "bext": bwf.Bext(description="voxpost demo scene 1A take 3", originator="voxpost")}
    return Audio(samples, sr, tc, meta)


def band_db(x: np.ndarray, sample_rate: int, lo_hz: float, hi_hz: float) -> float:
    """Energy of ``x`` (all channels) between ``lo_hz`` and ``hi_hz``, in dB."""
    spec = np.abs(np.fft.rfft(x, axis=-1)) ** 2
    freqs = np.fft.rfftfreq(x.shape[-1], 1 / sample_rate)
    band = (freqs >= lo_hz) & (freqs < hi_hz)
    return float(10 * np.log10(spec[..., band].sum() + 1e-30))
