"""DeepFilterNet3's fast offline twin: the ONNX graphs over long segments, the C API's pipeline in NumPy.

The C API (:mod:`voxpost.clean.dfn3`, through :mod:`voxpost.clean.deepfilter`) runs the network one
10 ms frame at a time (tract, pulsed graphs), which costs about RTF 0.17 on one core. The same
three graphs, exported over a time axis, run far faster over thousands of frames in one
onnxruntime call, because every convolution and linear layer becomes one large matrix product.
:class:`SegmentEngine` does that and reimplements around it what ``libDF`` does per frame
(``libDF/src/lib.rs`` and ``tract.rs`` at upstream commit d375b2d8), vectorised over the segment:

- analysis: 960-point Vorbis-windowed FFT every 480 samples, scaled by ``2 * hop / fft**2``;
- features: ERB band powers in dB (32 bands, ``erb_fb``) minus an exponential running mean
  (``alpha = 0.99``), over 40; the first 96 bins divided by the square root of an exponential
  running mean of their magnitude; both recursions as :func:`scipy.signal.lfilter` with carried state;
- stages by local SNR (the C API's thresholds): below -15 dB a zero mask, above 35 dB the frame
  untouched, else the ERB gains on frame ``t - 2`` and the order-5 deep filter over frames
  ``t - 4 .. t`` on the first 96 bins;
- the post-filter (``beta > 0``: libDF's ``post_filter``, a sharper gain law on frames that were
  enhanced), then the attenuation limit as a wet/dry mix, then the inverse FFT, window and overlap-add.

The output stream equals the C API's: the enhanced input, 1440 samples (30 ms) late, at 48 kHz.
Feature and filter state is carried exactly from segment to segment; the networks' recurrent
state is not (the graphs take none), so each segment is preceded by ``context_frames`` of the
previous features, run through the networks and dropped. ``tests/test_dfn3.py`` measures the
difference from the C API on real speech in noise (the tolerance stated there).

>>> from voxpost.clean.dfn3_onnx import erb_widths
>>> w = erb_widths(48000, 960, 32, 2)
>>> len(w), int(w.sum()), w[:4].tolist()
(32, 481, [2, 2, 2, 2])
"""

from __future__ import annotations

import math

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import lfilter

from voxpost.clean import deepfilter

#: The C API's local-SNR thresholds (``capi.rs``: min_db_thresh, max_db_erb_thresh = max_db_df_thresh).
LSNR_ZERO_DB = -15.0
LSNR_SKIP_DB = 35.0
MEAN_NORM_INIT = (-60.0, -90.0)
UNIT_NORM_INIT = (0.001, 0.0001)


def erb_widths(sr: int, fft_size: int, nb_bands: int, min_nb_freqs: int) -> np.ndarray:
    """FFT bins per ERB band, as ``libDF::erb_fb`` computes them (float32 arithmetic)."""
    f32 = np.float32

    def freq2erb(f):
        return f32(9.265) * f32(np.log1p(f32(f) / f32(24.7 * 9.265)))

    def erb2freq(e):
        return f32(24.7 * 9.265) * (f32(np.exp(f32(e) / f32(9.265))) - f32(1.0))

    width = f32(sr) / f32(fft_size)
    lo, hi = freq2erb(f32(0.0)), freq2erb(f32(sr // 2))
    step = (hi - lo) / f32(nb_bands)
    erb, prev, over = [], 0, 0
    for i in range(1, nb_bands + 1):
        fb = int(np.round(erb2freq(lo + f32(i) * step) / width))
        n = fb - prev - over
        if n < min_nb_freqs:
            over, n = min_nb_freqs - n, min_nb_freqs
        else:
            over = 0
        erb.append(n)
        prev = fb
    erb[-1] += 1
    erb[-1] -= sum(erb) - (fft_size // 2 + 1)
    return np.asarray(erb, np.int64)


def norm_alpha(sr: int, hop: int, tau_s: float) -> float:
    """``libDF::calc_norm_alpha``: exp(-hop / sr / tau), rounded to the first precision below 1."""
    alpha = np.float32(math.exp(-hop / sr / tau_s))
    a, precision = 1.0, 3
    while a >= 1.0:
        a = float(np.round(alpha * np.float32(10 ** precision)) / np.float32(10 ** precision))
        precision += 1
    return a


class SegmentEngine:
    """DeepFilterNet3 at 48 kHz on ``[channels, n]`` float32 input, a segment at a time.

    ``push(block)`` takes any number of samples and returns the output stream's next samples:
    whole segments of ``segment_frames * 480`` once that much input is in, else nothing;
    ``finish()`` processes what is left (padded to whole frames) and returns the rest.
    The stream is the C API's: sample ``i`` is the enhanced input sample ``i - 1440``.
    """

    def __init__(self, channels: int, *, atten_lim_db: float = 100.0, post_filter_beta: float = 0.0,
                 segment_frames: int = 1000, context_frames: int = 300, threads: int = 1,
                 crosstalk_limit_db: float = 0.0) -> None:
        arc = deepfilter.archive()
        self.sr, self.fft, self.hop = arc.df_int("sr"), arc.df_int("fft_size"), arc.df_int("hop_size")
        self.nb_df, self.order = arc.df_int("nb_df"), arc.df_int("df_order")
        self.lookahead = int(arc.net["conv_lookahead"])
        self.widths = erb_widths(self.sr, self.fft, arc.df_int("nb_erb"), arc.df_int("min_nb_erb_freqs"))
        self.band_of_bin = np.repeat(np.arange(self.widths.size), self.widths)
        self.starts = np.concatenate([[0], np.cumsum(self.widths)[:-1]])
        self.alpha = norm_alpha(self.sr, self.hop, float(arc.df["norm_tau"]))
        i = np.arange(self.fft)
        self.window = np.sin(0.5 * np.pi * np.sin(0.5 * np.pi * (i + 0.5) / (self.fft // 2)) ** 2).astype(np.float32)
        self.wnorm = np.float32(1.0 / (self.fft ** 2 / (2 * self.hop)))
        self.sessions = [deepfilter.onnx_session(g, threads=threads) for g in (arc.enc, arc.erb_dec, arc.df_dec)]
        self.channels, self.segment, self.context = int(channels), int(segment_frames), int(context_frames)
        self.set_atten_lim(atten_lim_db)
        self.beta = float(post_filter_beta)
        self.crosstalk = Crosstalk(crosstalk_limit_db) if crosstalk_limit_db > 0 else None
        self.reset()

    @property
    def delay_samples(self) -> int:
        """Delay of the output stream behind the input: STFT (fft - hop) plus the lookahead frames."""
        return self.fft - self.hop + self.lookahead * self.hop

    def set_atten_lim(self, db: float) -> None:
        lim = abs(float(db))
        self.lim = None if lim >= 100.0 else (1.0 if lim < 0.01 else 10 ** (-lim / 20))

    def reset(self) -> None:
        ch, nb = self.channels, self.widths.size
        self._in = np.zeros((ch, 0), np.float32)
        self._ana = np.zeros((ch, self.fft - self.hop), np.float32)
        self._syn = np.zeros((ch, self.fft - self.hop), np.float32)
        self._mean = np.tile(np.linspace(*MEAN_NORM_INIT, nb, dtype=np.float32), (ch, 1))
        self._unit = np.tile(np.linspace(*UNIT_NORM_INIT, self.nb_df, dtype=np.float32), (ch, 1))
        self._spec = np.zeros((ch, self.order - 1, self.fft // 2 + 1), np.complex64)  # frames t-4..t-1
        self._ferb = [np.zeros((0, nb), np.float32) for _ in range(ch)]        # context, per channel
        self._fspec = [np.zeros((0, self.nb_df), np.complex64) for _ in range(ch)]
        self._dry = np.zeros((ch, self.delay_samples), np.float32)            # input, as late as the output
        if self.crosstalk is not None:
            self.crosstalk.reset()

    def push(self, block: np.ndarray) -> np.ndarray:
        self._in = np.concatenate([self._in, np.asarray(block, np.float32)], axis=1)
        step = self.segment * self.hop
        outs = []
        while self._in.shape[1] >= step:
            outs.append(self._run(self._in[:, :step]))
            self._in = self._in[:, step:]
        return np.concatenate(outs, axis=1) if outs else np.zeros((self.channels, 0), np.float32)

    def finish(self) -> np.ndarray:
        n = self._in.shape[1]
        if n == 0:
            return np.zeros((self.channels, 0), np.float32)
        pad = np.zeros((self.channels, -n % self.hop), np.float32)
        out = self._run(np.concatenate([self._in, pad], axis=1))[:, :n]
        self._in = np.zeros((self.channels, 0), np.float32)
        return out

    # -- one segment -------------------------------------------------------------------------
    def _run(self, x: np.ndarray) -> np.ndarray:
        y = np.stack([self._channel(c, x[c]) for c in range(self.channels)])
        if self.crosstalk is None:
            return y
        dry = np.concatenate([self._dry, x], axis=1)
        self._dry = dry[:, dry.shape[1] - self.delay_samples:]
        return self.crosstalk.apply(y, dry[:, :x.shape[1]], self.sr)

    def _channel(self, c: int, x: np.ndarray) -> np.ndarray:
        hop, t = self.hop, x.size // self.hop
        stream = np.concatenate([self._ana[c], x])
        frames = sliding_window_view(stream, self.fft)[::hop][:t]
        spec = scipy.fft.rfft(frames * self.window, axis=1) * self.wnorm   # single precision, as libDF
        self._ana[c] = stream[-(self.fft - hop):]
        ferb, fspec = self._features(c, spec)
        lsnr, gains, coefs = self._network(c, ferb, fspec)
        hist = np.concatenate([self._spec[c], spec])          # frames n-4 .. n1-1
        self._spec[c] = hist[-(self.order - 1):]
        cur = hist[self.order - 1 - self.lookahead: self.order - 1 - self.lookahead + t]  # frame n-2
        enh = cur * gains[:, self.band_of_bin]
        low = np.zeros((t, self.nb_df), np.complex64)
        for k in range(self.order):
            low += hist[k:k + t, :self.nb_df] * coefs[:, :, k]
        work = (lsnr >= LSNR_ZERO_DB) & (lsnr <= LSNR_SKIP_DB)
        enh[:, :self.nb_df] = np.where(work[:, None], low, enh[:, :self.nb_df])
        enh[lsnr < LSNR_ZERO_DB] = 0.0
        skip = lsnr > LSNR_SKIP_DB
        enh[skip] = cur[skip]
        if self.beta > 0:
            enh[work] = post_filter(cur[work], enh[work], self.beta)
        if self.lim is not None:
            enh = enh * np.float32(1.0 - self.lim) + cur * np.float32(self.lim)
        frames = scipy.fft.irfft(enh, n=self.fft, axis=1) * (np.float32(self.fft) * self.window)
        out = frames[:, :hop].copy()
        out[0] += self._syn[c]
        out[1:] += frames[:-1, hop:]
        self._syn[c] = frames[-1, hop:]
        return out.reshape(-1)

    def _features(self, c: int, spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = np.float32(self.alpha)
        power = spec.real ** 2 + spec.imag ** 2
        bands = np.add.reduceat(power, self.starts, axis=1)
        db = 10 * np.log10(bands / self.widths + np.float32(1e-10), dtype=np.float32)
        mean, self._mean[c] = _smooth(db, self._mean[c], a)
        ferb = ((db - mean) / np.float32(40.0)).astype(np.float32)
        mag = np.abs(spec[:, :self.nb_df])
        unit, self._unit[c] = _smooth(mag, self._unit[c], a)
        fspec = (spec[:, :self.nb_df] / np.sqrt(unit)).astype(np.complex64)
        return ferb, fspec

    def _network(self, c: int, ferb: np.ndarray, fspec: np.ndarray):
        t = ferb.shape[0]
        e = np.concatenate([self._ferb[c], ferb])
        s = np.concatenate([self._fspec[c], fspec])
        keep = min(self.context, e.shape[0])
        self._ferb[c], self._fspec[c] = e[e.shape[0] - keep:], s[s.shape[0] - keep:]
        enc, erb_dec, df_dec = self.sessions
        feat_spec = np.stack([s.real, s.imag])[None].astype(np.float32)
        e0, e1, e2, e3, emb, c0, lsnr = enc.run(None, {"feat_erb": e[None, None], "feat_spec": feat_spec})
        m = erb_dec.run(None, {"emb": emb, "e3": e3, "e2": e2, "e1": e1, "e0": e0})[0]
        coefs = df_dec.run(["coefs"], {"emb": emb, "c0": c0})[0]
        coefs = coefs[0, -t:].reshape(t, self.nb_df, self.order, 2)
        return (lsnr[0, -t:, 0], m[0, 0, -t:],
                (coefs[..., 0] + 1j * coefs[..., 1]).astype(np.complex64))


class Crosstalk:
    """An attenuation limit for segments where what the model removes is itself speech.

    On babble and crosstalk DeepFilterNet3 takes the other voices away completely, and with them
    part of the wanted voice: in ``benchmarks/clean.py`` its STOI on babble falls below the noisy
    input's. For each segment the removed part ``r = input - output`` (channels mixed, at 16 kHz,
    normalised) goes through Silero VAD; when its mean speech probability is at least
    :attr:`SPEECH_PROB` and the segment's output stands less than :attr:`SNR_MAX_DB` over ``r``
    (over that the model removed little and the dry share would only add noise), the segment keeps
    ``limit_db`` below its output of that removed part (the C API's attenuation limit, a wet/dry mix;
    mixing in the time domain is the same mix, the synthesis being linear). The share moves from one
    segment's value to the next over :attr:`RAMP_S`. Stationary noise (hiss, hum, traffic) and
    sirens are not speech to the VAD and keep the model's full reduction.
    """

    SPEECH_PROB = 0.7
    SNR_MAX_DB = 12.0
    RAMP_S = 0.5
    RMS = 0.05

    def __init__(self, limit_db: float) -> None:
        self.share = float(10 ** (-abs(float(limit_db)) / 20))
        self.decisions: list[bool] = []
        self._vad = None
        self.reset()

    def reset(self) -> None:
        self._d = 0.0
        self.decisions = []

    def speechlike(self, removed: np.ndarray, kept: np.ndarray, rate: int) -> bool:
        """Whether a segment's removed part (mono) is speech the limit should keep."""
        from voxpost.resample import resample
        from voxpost.speech.vad import FRAME, RATE, VoiceActivity

        er, ek = float(np.dot(removed, removed)), float(np.dot(kept, kept))
        if er <= 1e-10 * max(1, removed.size) or 10 * np.log10((ek + 1e-20) / er) >= self.SNR_MAX_DB:
            return False
        r16 = resample(removed.astype(np.float32), rate, RATE)
        r16 *= np.float32(self.RMS / (np.sqrt(np.mean(r16.astype(np.float64) ** 2)) + 1e-12))
        if self._vad is None:
            self._vad = VoiceActivity()
        self._vad.reset()
        probs = self._vad.probabilities(np.concatenate([r16, np.zeros(-r16.size % FRAME, np.float32)]))
        return bool(probs.size and float(np.mean(probs)) >= self.SPEECH_PROB)

    def apply(self, out: np.ndarray, dry: np.ndarray, rate: int) -> np.ndarray:
        """``out + share * (dry - out)`` for this segment, the share ramped from the last one's."""
        removed = dry - out
        on = self.speechlike(removed.mean(axis=0), out.mean(axis=0), rate)
        self.decisions.append(on)
        d = self.share if on else 0.0
        if d == 0.0 and self._d == 0.0:
            return out
        n = out.shape[1]
        ramp = np.full(n, d, np.float32)
        k = min(n, int(self.RAMP_S * rate))
        if k:
            ramp[:k] = np.linspace(self._d, d, k, endpoint=False, dtype=np.float32)
        self._d = d
        return (out + ramp * removed).astype(np.float32)


def _smooth(x: np.ndarray, state: np.ndarray, a: np.float32) -> tuple[np.ndarray, np.ndarray]:
    """``s_t = x_t (1 - a) + s_{t-1} a`` along axis 0 from ``state``: (all s_t, last s_t)."""
    y, _ = lfilter([1.0 - float(a)], [1.0, -float(a)], x.astype(np.float64), axis=0,
                   zi=(float(a) * state.astype(np.float64))[None, :])
    y = y.astype(np.float32)
    return y, y[-1].copy()



def post_filter(noisy: np.ndarray, enh: np.ndarray, beta: float) -> np.ndarray:
    """libDF's post-filter over ``[frames, bins]``: gains ``g = |enh| / |noisy|`` pushed towards 0
    and 1 (``(1 + beta) / (1 + beta (g / (g sin(pi g / 2)))^2)``); the last bin (chunks of 4) untouched."""
    out = enh.copy()
    n = enh.shape[1] // 4 * 4
    g = np.clip(np.abs(enh[:, :n]) / (np.abs(noisy[:, :n]) + 1e-12), 1e-12, 1.0)
    g_sin = g * np.sin(g * np.pi / 2)
    out[:, :n] *= ((beta + 1) * g / (1 + beta * (g / g_sin) ** 2) / g).astype(np.float32)
    return out
