"""CUDA version of :func:`voxpost.dsp.biquad.sosfilt` for batches of signals.

A biquad is sequential in time, so the GPU works across signals: one thread per row of a
``[rows, frames]`` batch (channels x takes). Worth it for many rows at once (a stem batch, a
bank of takes); one stereo file is faster on the CPU kernel. Tested on CPU with numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``).
"""

from __future__ import annotations

import numpy as np
from numba import cuda


@cuda.jit
def _sosfilt_rows(sos, x, zi, y):
    row = cuda.grid(1)
    if row >= x.shape[0]:
        return
    sections = sos.shape[0]
    for n in range(x.shape[1]):
        v = np.float64(x[row, n])
        for s in range(sections):
            out = sos[s, 0] * v + zi[row, s, 0]
            zi[row, s, 0] = sos[s, 1] * v - sos[s, 4] * out + zi[row, s, 1]
            zi[row, s, 1] = sos[s, 2] * v - sos[s, 5] * out
            v = out
        y[row, n] = v


def sosfilt_cuda(sos: np.ndarray, x: np.ndarray, zi: np.ndarray, *, threads_per_block: int = 64) -> np.ndarray:
    """Same contract as :func:`voxpost.dsp.biquad.sosfilt` (``zi`` updated in place), on the GPU."""
    d_sos = cuda.to_device(np.ascontiguousarray(sos, np.float64))
    d_x = cuda.to_device(np.ascontiguousarray(x, np.float32))
    d_zi = cuda.to_device(zi)
    d_y = cuda.device_array(x.shape, np.float32)
    blocks = (x.shape[0] + threads_per_block - 1) // threads_per_block
    _sosfilt_rows[blocks, threads_per_block](d_sos, d_x, d_zi, d_y)
    zi[...] = d_zi.copy_to_host()
    return d_y.copy_to_host()


def available() -> bool:
    """True when a CUDA GPU (or the simulator) can run the kernel."""
    try:
        return bool(cuda.is_available())
    except Exception:  # noqa: BLE001 - no driver, broken toolkit: simply not available
        return False
