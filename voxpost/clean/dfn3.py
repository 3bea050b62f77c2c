"""DeepFilterNet3 as a stream: any rate, any channel count, a fixed and exactly known latency.

Two engines make the same 48 kHz output stream (the enhanced input, 1440 samples late):

- :class:`FrameEngine`: the C API, one 480-sample frame per call and channel (``df_process_frame``),
  the live-capable one; it holds back at most one partial frame (479 samples);
- :class:`voxpost.clean.dfn3_onnx.SegmentEngine`: the fast offline twin (ONNX over segments); it
  holds back at most one partial segment.

:class:`DFN3Stream` wraps either: libsoxr to 48 kHz and back when the input is at another rate
(streaming, aligned), a short delay line at 48 kHz so that the model's 30 ms is a whole number of
samples at the input rate, and a fixed-latency buffer sized from the engine's hold-back and the
resamplers' measured hold-back. ``latency_samples`` is then exact at the input rate: output
sample ``i`` is the enhanced input sample ``i - latency_samples``, for any block sizes.

>>> import numpy as np
>>> s = DFN3Stream(48000, 1)
>>> s.latency_samples                     # 1440 (30 ms) + 479 for a partial frame
1919
>>> s.process(np.zeros((1, 100), np.float32)).shape
(1, 100)
"""

from __future__ import annotations

import ctypes
import functools
import math

import numpy as np

from voxpost.clean import deepfilter
from voxpost.resample import Resampler

RATE = 48000
#: Hold-back of the streaming resampler is measured with 1-sample blocks (its worst case) over
#: this much input, then given this margin.
PROBE_S = 0.25
MARGIN = 1.25


class FrameEngine:
    """The C API: one DeepFilterNet state per channel, 480-sample frames at 48 kHz."""

    def __init__(self, channels: int, *, atten_lim_db: float = 100.0, post_filter_beta: float = 0.0) -> None:
        self.lib = deepfilter.library()
        self.channels, self._lim, self._beta = int(channels), float(atten_lim_db), float(post_filter_beta)
        self._model = str(deepfilter.model_file()).encode()
        self.states: list = []
        self.reset()
        self.hop = int(self.lib.df_get_frame_length(self.states[0]))
        self.delay_samples = 3 * self.hop
        self.holdback = self.hop - 1
        self._frame = np.zeros(self.hop, np.float32)
        self._out = np.zeros(self.hop, np.float32)
        fp = ctypes.POINTER(ctypes.c_float)
        self._pin, self._pout = self._frame.ctypes.data_as(fp), self._out.ctypes.data_as(fp)

    def reset(self) -> None:
        self.close()
        self.states = [self.lib.df_create(self._model, ctypes.c_float(self._lim), None) for _ in range(self.channels)]
        if not all(self.states):
            raise deepfilter.ModelError(f"DeepFilterNet3 could not start: {deepfilter.INSTALL} --force-reinstall")
        for st in self.states:
            self.lib.df_set_post_filter_beta(st, ctypes.c_float(self._beta))
        self._in = np.zeros((self.channels, 0), np.float32)

    def close(self) -> None:
        for st in self.states:
            self.lib.df_free(st)
        self.states = []

    def __del__(self) -> None:
        if getattr(self, "states", None):
            self.close()

    def push(self, block: np.ndarray) -> np.ndarray:
        self._in = np.concatenate([self._in, np.asarray(block, np.float32)], axis=1)
        n = self._in.shape[1] // self.hop * self.hop
        out = np.empty((self.channels, n), np.float32)
        for c, st in enumerate(self.states):
            row = self._in[c]
            for i in range(0, n, self.hop):
                self._frame[:] = row[i:i + self.hop]
                self.lib.df_process_frame(st, self._pin, self._pout)
                out[c, i:i + self.hop] = self._out
        self._in = self._in[:, n:]
        return out

    def finish(self) -> np.ndarray:
        return np.zeros((self.channels, 0), np.float32)


@functools.lru_cache(maxsize=32)
def holdback(rate_in: int, rate_out: int) -> int:
    """The most output samples a streaming libsoxr conversion keeps back, with a margin."""
    r = Resampler(rate_in, rate_out, channels=1)
    x = np.zeros((1, 1), np.float32)
    worst, given, got = 0.0, 0, 0
    for _ in range(int(PROBE_S * rate_in)):
        given += 1
        got += r.process(x).shape[1]
        worst = max(worst, given * rate_out / rate_in - got)
    return int(math.ceil(worst * MARGIN)) + 16


class DFN3Stream:
    """DeepFilterNet3 over ``[channels, n]`` float32 blocks at ``sample_rate``; same frames out."""

    def __init__(self, sample_rate: int, channels: int, *, atten_lim_db: float = 100.0, post_filter_beta: float = 0.0,
                 segment_s: float = 0.0, context_s: float = 5.0, threads: int = 1,
                 crosstalk_limit_db: float = 0.0) -> None:
        self.sample_rate, self.channels = int(sample_rate), int(channels)
        if segment_s > 0:
            from voxpost.clean.dfn3_onnx import SegmentEngine

            hop = 480
            self.engine = SegmentEngine(channels, atten_lim_db=atten_lim_db, post_filter_beta=post_filter_beta,
                                        segment_frames=max(1, round(segment_s * RATE / hop)),
                                        context_frames=max(0, round(context_s * RATE / hop)), threads=threads,
                                        crosstalk_limit_db=crosstalk_limit_db)
            self.engine.holdback = self.engine.segment * self.engine.hop - 1
        else:
            self.engine = FrameEngine(channels, atten_lim_db=atten_lim_db, post_filter_beta=post_filter_beta)
        fs, delay = self.sample_rate, self.engine.delay_samples
        step = RATE // math.gcd(RATE, fs)                   # 48 kHz samples per whole input sample
        self.pad48 = -delay % step
        self.model_delay = (delay + self.pad48) * fs // RATE  # at the input rate
        if fs == RATE:
            keep = self.engine.holdback
        else:
            keep = math.ceil((holdback(fs, RATE) + self.engine.holdback) * fs / RATE) + holdback(RATE, fs) + 1
        self.latency_samples = self.model_delay + keep
        self._keep = keep
        self.reset()

    def reset(self) -> None:
        self.engine.reset()
        ch = self.channels
        self._ended = False
        self._pending = np.zeros((ch, self._keep), np.float32)
        self._head = np.zeros((ch, self.pad48), np.float32)      # the 48 kHz delay line
        if self.sample_rate != RATE:
            self._up = Resampler(self.sample_rate, RATE, channels=ch)
            self._down = Resampler(RATE, self.sample_rate, channels=ch)

    def _from48(self, y48: np.ndarray, last: bool = False) -> np.ndarray:
        if self.pad48:
            y48 = np.concatenate([self._head, y48], axis=1)
            self._head, y48 = y48[:, y48.shape[1] - self.pad48:], y48[:, :y48.shape[1] - self.pad48]
        if self.sample_rate == RATE:
            return y48
        out = self._down.process(y48)
        return np.concatenate([out, self._down.flush()], axis=1) if last else out

    def process(self, block: np.ndarray) -> np.ndarray:
        frames = block.shape[1]
        if not self._ended:
            x48 = block if self.sample_rate == RATE else self._up.process(block)
            y = self._from48(self.engine.push(x48))
            self._pending = np.concatenate([self._pending, y], axis=1)
        elif self._pending.shape[1] < frames:     # after the end: silence
            self._pending = np.concatenate([self._pending, np.zeros((self.channels, frames), np.float32)], axis=1)
        if self._pending.shape[1] < frames:
            raise RuntimeError(f"DeepFilterNet3 stream held back more than its latency ({self._keep} samples)")
        out, self._pending = self._pending[:, :frames], self._pending[:, frames:]
        return np.ascontiguousarray(out)

    def end_of_input(self) -> None:
        """No more real input: push out everything held back (the rest of the stream is silence)."""
        if self._ended:
            return
        tail = self.engine.delay_samples + self.pad48 + self.engine.hop
        if self.sample_rate != RATE:
            x48 = self._up.flush()
            tail += holdback(RATE, self.sample_rate) * RATE // self.sample_rate + 1
        else:
            x48 = np.zeros((self.channels, 0), np.float32)
        x48 = np.concatenate([x48, np.zeros((self.channels, tail), np.float32)], axis=1)
        y = np.concatenate([self.engine.push(x48), self.engine.finish()], axis=1)
        self._pending = np.concatenate([self._pending, self._from48(y, last=True)], axis=1)
        self._ended = True
