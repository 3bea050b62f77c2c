"""Voice conversion: the same words and timing in another voice's pitch range and timbre.

The embedded engine needs no download. It is the source-filter vocoder of
:mod:`voxpost.voice.vocoder` with two statistical mappings between analysis and synthesis,
frame by frame:

- **F0**, log-Gaussian normalisation: ``f0' = exp((log f0 - mu_s) / sd_s * sd_t + mu_t)``, then
  ``pitch_shift_semitones`` on top. The median and the spread of the source's pitch land on the
  target's, and intonation keeps its shape.
- **Spectral envelope**, per mel-cepstral coefficient (fixed 0-8 kHz mel grid, ``c1..c24``):
  ``c' = mu_t + (c - mu_s) sd_t / sd_s``. The average spectral shape, where the long-term formant
  positions, tilt and the recording's colour live, becomes the target's, and the dynamics scale
  to its range. ``c0`` (level) is kept, so loudness follows the input. The change is a smooth
  difference curve added to the frame's full-resolution log envelope, so detail beyond the 24th
  coefficient, and everything above 8 kHz (which gets the 8 kHz difference), stays the source's.
  When both statistics hold the covariance of ``c1..c24`` (profiles do; the offline analysis of
  the input does), the voiced mapping is the full one, ``c' = mu_t + C_t^(1/2) C_s^(-1/2) (c - mu_s)``:
  the correlations between coefficients, which a speaker model sees, become the target's too.
  It applies in proportion to the frame's voicing. Fricatives and silence keep the source
  envelope, because statistics taken on voiced frames say nothing about them. ``envelope_amount``
  fades the envelope mapping from none (0) to full (1).

There is no explicit vocal-tract-length frequency warp. The mean mapping already moves the
average formant pattern, and a warp would need source statistics taken after warping, which a
profile cannot store for an unknown input.

Source statistics, in order of preference: the ``source`` parameter (a :func:`voice_stats`
dict); offline (``needs_analysis``), those measured by :meth:`VoiceConvert.analyse` on the whole
input; live with neither, running estimates over the voiced frames heard so far, with a prior of
``PRIOR_S`` seconds of the target's own statistics. The conversion therefore starts as an
identity and approaches the full mapping after a few seconds of speech. With no ``target``, the
source's statistics stand in for it, and only ``pitch_shift_semitones`` acts (a vocoder pitch
shifter).

Multichannel input is converted once, from the mono mix, and the result goes to every channel.
Dialogue is mono at heart, and a vocoder cannot keep a stereo image apart from the voice.

Examples
--------
>>> from voxpost.audio import Audio
>>> from voxpost.voice.convert import VoiceConvert, convert
>>> from voxpost.espeak import synthesize
>>> from voxpost.voice.vocoder import voice_stats
>>> reference = synthesize("Nobody saw me, and I told nobody.", language="en")
>>> target = voice_stats(reference.samples, reference.sample_rate)
>>> line = synthesize("Tell the captain.", language="en")
>>> out = convert(line.samples, line.sample_rate, target, pitch_shift_semitones=3.0)
>>> out.shape == line.samples.shape
True
>>> take = Audio(line.samples[None, :], line.sample_rate)
>>> VoiceConvert(target=target).render(take).samples.shape == take.samples.shape
True
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import numpy as np

from voxpost.errors import ParameterError
from voxpost.stage import Stage, param, register
from voxpost.voice.analysis import ENVELOPE_KIND, MCEP_ORDER, SILENCE_POWER, Frames, Geometry, MelMaps
from voxpost.voice.vocoder import (STATS_VERSION, VocoderStream, VoiceStatsError, run_stream, split_excitation,
                                   voice_stats)

#: Weight, in seconds of voiced speech, of the target's statistics as the prior of live estimates.
PRIOR_S = 1.0
#: Bounds on the envelope standard-deviation ratio ``sd_t / sd_s`` (guards thin statistics).
SD_RATIO_RANGE = (0.5, 2.0)
#: Eigenvalue floor of covariances (relative to the largest) before whitening.
COV_FLOOR = 1e-3
#: Converted F0 is kept inside this range (Hz).
F0_OUT_RANGE_HZ = (40.0, 1000.0)


def check_stats(stats: Any, what: str) -> dict:
    """Return ``stats`` if it is a usable :func:`voice_stats` dict, else raise ParameterError."""
    if not isinstance(stats, dict):
        raise ParameterError(f"voice-convert: {what} must be voice statistics (a dict), got {type(stats).__name__}")
    version = stats.get("version")
    if version != STATS_VERSION:
        raise ParameterError(f"voice-convert: {what} statistics are version {version!r}, this engine reads "
                             f"version {STATS_VERSION}; re-enrol the voice profile")
    try:
        env, f0 = stats["envelope"], stats["f0"]
        ok = (env["kind"] == ENVELOPE_KIND and len(env["mean"]) == len(env["std"]) == MCEP_ORDER + 1
              and float(f0["log_std"]) > 0 and np.isfinite(float(f0["log_mean"])))
    except (KeyError, TypeError, ValueError):
        ok = False
    if not ok:
        raise ParameterError(f"voice-convert: {what} statistics are incomplete or of another kind "
                             f"(need {ENVELOPE_KIND} order {MCEP_ORDER}); re-enrol the voice profile")
    return stats


def _moments(stats: dict) -> tuple[float, float, np.ndarray, np.ndarray]:
    env = stats["envelope"]
    return (float(stats["f0"]["log_mean"]), float(stats["f0"]["log_std"]),
            np.asarray(env["mean"], np.float64), np.asarray(env["std"], np.float64))


def _sqrtm(c: np.ndarray, power: float) -> np.ndarray:
    w, v = np.linalg.eigh(c)
    w = np.maximum(w, COV_FLOOR * max(float(w.max()), 1e-12))
    return (v * w ** power) @ v.T


def covariance_map(source_cov: np.ndarray, target_cov: np.ndarray) -> np.ndarray:
    """The linear map ``C_t^(1/2) C_s^(-1/2)`` that gives source-distributed vectors the target's
    covariance (whitening then colouring; eigenvalues floored at ``COV_FLOOR`` of the largest)."""
    return _sqrtm(np.asarray(target_cov, np.float64), 0.5) @ _sqrtm(np.asarray(source_cov, np.float64), -0.5)


class VoiceMapping:
    """F0 and envelope mapping from source statistics (fixed or running) to target statistics."""

    def __init__(self, geometry: Geometry, target: dict | None, source: dict | None, *,
                 pitch_shift_semitones: float = 0.0, envelope_amount: float = 1.0) -> None:
        self.g = geometry
        self.maps = MelMaps(geometry)
        self.target = target
        self.pitch_ratio = 2.0 ** (pitch_shift_semitones / 12.0)
        self.amount = envelope_amount
        self.prior_frames = PRIOR_S * geometry.sample_rate / geometry.hop
        self.set_source(source)

    def set_source(self, source: dict | None) -> None:
        """Fix the source statistics (None: running estimates from the input)."""
        self.source = source
        self.reset()

    def reset(self) -> None:
        self._sums = None   # running sums over voiced frames: count, log f0, its square, mcep, its square

    def _source_moments(self, log_f0: np.ndarray, mcep: np.ndarray, voiced: np.ndarray):
        """Per-frame source moments ``(mu_f0, sd_f0, mu_c, sd_c)``, each [n] or [n, order+1]."""
        n = len(voiced)
        if self.source is not None:
            m, s, mc, sc = _moments(self.source)
            return np.full(n, m), np.full(n, s), np.tile(mc, (n, 1)), np.tile(sc, (n, 1))
        if self.target is None:          # nothing to map to: identity
            return None
        tm, ts, tmc, tsc = _moments(self.target)
        w = self.prior_frames
        if self._sums is None:
            self._sums = [w, w * tm, w * (ts ** 2 + tm ** 2), w * tmc, w * (tsc ** 2 + tmc ** 2)]
        v = voiced.astype(np.float64)
        lf = np.where(voiced, log_f0, 0.0)
        parts = [v, lf * v, lf ** 2 * v, mcep * v[:, None], mcep ** 2 * v[:, None]]
        cums = [s0 + np.cumsum(p, axis=0) for s0, p in zip(self._sums, parts)]
        self._sums = [c[-1] for c in cums]
        count = cums[0]
        mu_f = cums[1] / count
        sd_f = np.sqrt(np.maximum(cums[2] / count - mu_f ** 2, 1e-6))
        mu_c = cums[3] / count[:, None]
        sd_c = np.sqrt(np.maximum(cums[4] / count[:, None] - mu_c ** 2, 1e-6))
        return mu_f, sd_f, mu_c, sd_c

    def _unvoiced_change(self, mcep: np.ndarray, voiced_offset: np.ndarray) -> np.ndarray:
        """Envelope change of unvoiced frames: their own statistics when both voices have
        them, else the voiced frames' mean offset (the shared recording colour)."""
        src, tgt = self.source, self.target
        if (src is not None and tgt is not None and "unvoiced_mean" in src["envelope"]
                and "unvoiced_mean" in tgt["envelope"]):
            su, ss = (np.asarray(src["envelope"][k], np.float64) for k in ("unvoiced_mean", "unvoiced_std"))
            tu, ts = (np.asarray(tgt["envelope"][k], np.float64) for k in ("unvoiced_mean", "unvoiced_std"))
            return tu + (mcep - su) * np.clip(ts / ss, *SD_RATIO_RANGE) - mcep
        return voiced_offset

    def _full_map(self) -> np.ndarray | None:
        """``A = C_t^(1/2) C_s^(-1/2)`` over ``c1..c24`` when both statistics hold a covariance
        (fixed source statistics only; live running estimates stay per coefficient)."""
        src, tgt = self.source, self.target
        if src is None or tgt is None or "cov" not in src["envelope"] or "cov" not in tgt["envelope"]:
            return None
        key = (id(src), id(tgt))
        if getattr(self, "_full_key", None) != key:
            self._full_key, self._full = key, covariance_map(np.asarray(src["envelope"]["cov"]),
                                                             np.asarray(tgt["envelope"]["cov"]))
        return self._full

    def __call__(self, frames: Frames) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        voiced = frames.voiced
        log_f0 = np.log(np.where(voiced, frames.f0_hz, 1.0))
        mcep = self.maps.cepstrum(frames.log_amp)
        moments = self._source_moments(log_f0, mcep, voiced)
        if moments is None:
            f0 = np.where(voiced, frames.f0_hz * self.pitch_ratio, 0.0)
            return split_excitation(frames, f0, frames.log_amp, self.g.bin_hz)
        mu_f, sd_f, mu_c, sd_c = moments
        tm, ts, tmc, tsc = _moments(self.target) if self.target is not None else (mu_f, sd_f, mu_c, sd_c)
        f0 = np.exp((log_f0 - mu_f) / sd_f * ts + tm) * self.pitch_ratio
        f0 = np.where(voiced, np.clip(f0, *F0_OUT_RANGE_HZ), 0.0)
        voiced_change = tmc + (mcep - mu_c) * np.clip(tsc / sd_c, *SD_RATIO_RANGE) - mcep
        full = self._full_map()
        if full is not None:      # both covariances known: whiten by the source's, colour by the target's
            voiced_change[:, 1:] = tmc[1:] + (mcep[:, 1:] - mu_c[:, 1:]) @ full.T - mcep[:, 1:]
        unvoiced_change = self._unvoiced_change(mcep, tmc - mu_c)
        # soft voicing weight: voiced mapping below dmin 0.15, unvoiced mapping above 0.35
        weight = (np.clip((0.35 - frames.dmin) / 0.2, 0.0, 1.0) * voiced)[:, None]
        change = (weight * voiced_change + (1 - weight) * unvoiced_change) * self.amount
        change[frames.power <= SILENCE_POWER] = 0.0
        change[:, 0] = 0.0
        log_amp = frames.log_amp + self.maps.cepstrum_to_bins(change)
        return split_excitation(frames, f0, log_amp, self.g.bin_hz)


def profile_target(path: str) -> dict:
    """The target statistics of the voice profile at ``path``, refused without consent."""
    from voxpost.voice.profile import ProfileError, load_profile

    try:
        profile = load_profile(path)
    except ProfileError as exc:
        raise ParameterError(f"voice-convert: profile_path: {exc}") from None
    if not profile.consent.get("sha256"):
        raise ParameterError(f"voice-convert: profile_path {path}: the profile holds no consent record; "
                             "re-enrol it with the speaker's consent (voxpost voice enroll --consent FILE)")
    return profile.stats


@register
class VoiceConvert(Stage):
    """Voice conversion by vocoder with F0 and mel-cepstral envelope mapping (embedded, streaming)."""

    kind: ClassVar[str] = "voice-convert"
    description: ClassVar[str] = "Convert the voice to a target's pitch range and timbre (same words and timing)."
    needs_analysis: ClassVar[bool] = True
    profile_path: str = param("", help="voice profile (.voice) whose voice_stats are the target; needs its consent record")
    target: dict | None = param(None, help="voice_stats of the target voice (None: keep the voice, pitch shift only)")
    source: dict | None = param(None, help="voice_stats of the input speaker (None: measured)")
    pitch_shift_semitones: float = param(0.0, min=-24, max=24, help="extra pitch shift on top of the mapping")
    envelope_amount: float = param(1.0, min=0.0, max=1.0, help="0 = keep the source timbre, 1 = the target's")
    seed: int = param(0, help="seed of the noise excitation")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.profile_path:
            if self.target is not None:
                raise ParameterError("voice-convert: give profile_path or target, not both")
            self.target = profile_target(self.profile_path)
        if self.target is not None:
            check_stats(self.target, "target")
        if self.source is not None:
            check_stats(self.source, "source")
        self._measured: dict | None = None
        self._stream: VocoderStream | None = None

    def prepare(self, sample_rate: int, channels: int) -> None:
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        geometry = Geometry.for_rate(self.sample_rate)
        self._mapping = VoiceMapping(geometry, self.target, self.source,
                                     pitch_shift_semitones=self.pitch_shift_semitones,
                                     envelope_amount=self.envelope_amount)
        self._stream = VocoderStream(self.sample_rate, self._mapping, seed=self.seed)
        self._measured = None
        self.reset()

    @property
    def latency_samples(self) -> int:
        return 0 if self._stream is None else self._stream.latency_samples

    def reset(self) -> None:
        if self._stream is not None:
            self._stream.reset()
            self._mapping.reset()

    def analyse(self, blocks: Iterable[np.ndarray]) -> None:
        """Measure the input speaker's statistics over the whole input (unless ``source`` is given)."""
        if self.source is not None:
            return
        parts = [np.asarray(b, np.float32).mean(axis=0) for b in blocks]
        mono = np.concatenate(parts) if parts else np.zeros(0, np.float32)
        try:
            self._measured = voice_stats(mono, self.sample_rate)
        except VoiceStatsError:
            self._measured = None      # too little speech: live running estimates take over
        self._mapping.set_source(self._measured)

    def process(self, block: np.ndarray) -> np.ndarray:
        self._require_prepared()
        mono = np.asarray(block, np.float32).mean(axis=0)
        y = self._stream.process(mono)
        return np.ascontiguousarray(np.broadcast_to(y, (block.shape[0], len(y))), dtype=np.float32)

    def report(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        src = self.source or self._measured
        if src is not None:
            out["source_f0_median_hz"] = round(float(src["f0"]["median_hz"]), 1)
        if self.target is not None:
            out["target_f0_median_hz"] = round(float(self.target["f0"]["median_hz"]), 1)
        return out


def convert(samples: np.ndarray, sample_rate: int, target: dict, *, source: dict | None = None,
            pitch_shift_semitones: float = 0.0, envelope_amount: float = 1.0) -> np.ndarray:
    """Convert speech offline toward ``target`` (:func:`voice_stats` of the target voice).

    Parameters
    ----------
    samples : np.ndarray
        float32 ``[channels, frames]`` or 1-D. Several channels are converted from their mono
        mix, and the result goes to every channel.
    sample_rate : int
        Rate of ``samples``, Hz (any; the statistics do not depend on it).
    target, source : dict
        Voice statistics; ``source=None`` measures the input's own.

    Returns
    -------
    np.ndarray
        Converted float32 audio of the same shape, sample-aligned with the input.

    Examples
    --------
    >>> from voxpost.espeak import synthesize
    >>> from voxpost.voice.vocoder import voice_stats
    >>> ref, x = synthesize("Where were you?", language="en"), synthesize("Get down!", language="en")
    >>> out = convert(x.samples, 22050, voice_stats(ref.samples, 22050))
    >>> out.dtype, out.shape == x.samples.shape
    (dtype('float32'), True)
    """
    x = np.asarray(samples, np.float32)
    stage = VoiceConvert(target=target, source=source, pitch_shift_semitones=pitch_shift_semitones,
                         envelope_amount=envelope_amount)
    mono = x if x.ndim == 1 else x.mean(axis=0)
    stage.prepare(sample_rate, 1)
    if source is None:
        stage.analyse([mono[None, :]])
    y = run_stream(stage._stream, mono)
    return y if x.ndim == 1 else np.tile(y, (x.shape[0], 1))
