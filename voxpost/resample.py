"""Resampling: the one place libsoxr is called.

:func:`resample` converts an array in memory; :func:`resample_stream` converts a stream of blocks
with carried state (what :meth:`voxpost.stream.AudioReader.blocks` uses to deliver a file at
another rate); :class:`Resampler` is the same stream fed one block at a time, for stages and
meters that see blocks as they come.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from voxpost.errors import AudioError

#: Resampling quality used unless asked otherwise (soxr "very high quality").
RESAMPLE_QUALITY = "VHQ"


def resample(samples: np.ndarray, rate_in_hz: int, rate_out_hz: int, *, quality: str = RESAMPLE_QUALITY) -> np.ndarray:
    """Resample an array ``[frames]`` or ``[channels, frames]`` with libsoxr; the one in-memory entry.

    Float64 input stays float64; anything else comes back float32. Same rate: a copy.

    Examples
    --------
    >>> y = resample(np.zeros((2, 48000), np.float32), 48000, 16000)
    >>> y.shape, y.dtype
    ((2, 16000), dtype('float32'))
    """
    import soxr

    x = np.asarray(samples)
    dtype = np.float64 if x.dtype == np.float64 else np.float32
    if int(rate_in_hz) == int(rate_out_hz) or x.shape[-1] == 0:
        n = x.shape[-1] if int(rate_in_hz) == int(rate_out_hz) else 0
        return np.array(x[..., :n], dtype=dtype)
    if rate_in_hz <= 0 or rate_out_hz <= 0:
        raise AudioError(f"cannot resample {rate_in_hz} Hz to {rate_out_hz} Hz")
    if x.ndim == 1:
        return soxr.resample(x.astype(dtype, copy=False), rate_in_hz, rate_out_hz, quality=quality).astype(dtype, copy=False)
    if x.ndim != 2:
        raise ValueError(f"samples must be [frames] or [channels, frames], got shape {x.shape}")
    out = soxr.resample(np.ascontiguousarray(x.T, dtype=dtype), rate_in_hz, rate_out_hz, quality=quality)
    return np.ascontiguousarray(out.T, dtype=dtype)


def resample_stream(blocks: Iterable[np.ndarray], rate_in_hz: int, rate_out_hz: int, channels: int, *,
                    quality: str = RESAMPLE_QUALITY) -> Iterator[np.ndarray]:
    """Streaming libsoxr over float32 ``[channels, n]`` blocks; output blocks vary in length."""
    import soxr

    rs = soxr.ResampleStream(rate_in_hz, rate_out_hz, channels, dtype="float32", quality=quality)
    for block in blocks:
        out = rs.resample_chunk(np.ascontiguousarray(block.T, dtype=np.float32))
        if out.shape[0]:
            yield np.ascontiguousarray(out.T)
    out = rs.resample_chunk(np.zeros((0, channels), np.float32), last=True)
    if out.shape[0]:
        yield np.ascontiguousarray(out.T)


class Resampler:
    """Streaming libsoxr fed block by block: ``process([channels, n]) -> [channels, m]``, then ``flush()``.

    >>> r = Resampler(48000, 16000, channels=1)
    >>> parts = [r.process(np.zeros((1, 480), np.float32)) for _ in range(100)] + [r.flush()]
    >>> sum(p.shape[1] for p in parts)
    16000
    """

    def __init__(self, rate_in_hz: int, rate_out_hz: int, *, channels: int = 1, quality: str = RESAMPLE_QUALITY):
        import soxr

        self.channels = channels
        self._rs = soxr.ResampleStream(rate_in_hz, rate_out_hz, channels, dtype="float32", quality=quality)

    def process(self, block: np.ndarray) -> np.ndarray:
        out = self._rs.resample_chunk(np.ascontiguousarray(np.asarray(block, np.float32).T))
        return np.ascontiguousarray(out.T)

    def flush(self) -> np.ndarray:
        out = self._rs.resample_chunk(np.zeros((0, self.channels), np.float32), last=True)
        return np.ascontiguousarray(out.T)
