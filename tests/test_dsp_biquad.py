"""The biquad kernel against its NumPy reference and scipy, the CUDA kernel in the simulator."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
from scipy import signal

from voxpost.dsp.biquad import SERIAL_MAX_SAMPLES, sosfilt, sosfilt_block, sosfilt_reference, sosfilt_serial


def _case(seed=0, channels=3, frames=2000, order=6):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((channels, frames)).astype(np.float32)
    sos = signal.butter(order, [200, 4000], "bandpass", fs=48000, output="sos")
    return sos, x


def test_kernel_matches_numpy_reference():
    sos, x = _case()
    z1 = np.zeros((x.shape[0], sos.shape[0], 2))
    z2 = z1.copy()
    y = sosfilt(sos, x, z1)
    y_ref = sosfilt_reference(sos, x, z2)
    assert np.abs(y - y_ref).max() < 1e-6
    assert np.abs(z1 - z2).max() < 1e-9


def test_kernel_matches_scipy():
    sos, x = _case(channels=2, frames=5000)
    y = sosfilt(sos, x, np.zeros((2, sos.shape[0], 2)))
    y_scipy = signal.sosfilt(sos, x.astype(np.float64), axis=-1)
    assert np.abs(y - y_scipy).max() < 1e-6


def test_state_carries_across_blocks():
    sos, x = _case(frames=4801)
    whole = sosfilt(sos, x, np.zeros((3, sos.shape[0], 2)))
    zi = np.zeros((3, sos.shape[0], 2))
    parts = [sosfilt(sos, np.ascontiguousarray(x[:, i:i + 480]), zi) for i in range(0, x.shape[1], 480)]
    assert np.array_equal(np.concatenate(parts, axis=1), whole)


def test_serial_kernel_is_the_parallel_one_bit_for_bit():
    """The threadless kernel (mono and small blocks) gives the parallel kernel's bits and state,
    block after block, and equals the NumPy reference."""
    for channels, frames in ((1, 480), (3, 2000), (2, SERIAL_MAX_SAMPLES)):
        sos, x = _case(seed=channels, channels=channels, frames=frames)
        z1, z2, z3 = (np.zeros((channels, sos.shape[0], 2)) for _ in range(3))
        for i in range(0, frames, 333):
            blk = np.ascontiguousarray(x[:, i:i + 333])
            y1, y2 = sosfilt(sos, blk, z1), sosfilt_serial(sos, blk, z2)
            assert np.array_equal(y1, y2)
            assert np.array_equal(z1, z2)
            assert np.array_equal(sosfilt_block(sos, blk, z3), y1)
        assert np.abs(sosfilt_serial(sos, x, np.zeros_like(z1)) - sosfilt_reference(sos, x, np.zeros_like(z1))).max() < 1e-6
    # one and two sections (state in locals) and three (the general loop): the parallel kernel's bits
    from scipy import signal
    x = _case(seed=9, channels=2, frames=2000)[1]
    for order in (1, 2, 4, 6):
        sos = np.ascontiguousarray(signal.butter(order, 70, "highpass", fs=48000, output="sos"))
        z1, z2 = np.zeros((2, sos.shape[0], 2)), np.zeros((2, sos.shape[0], 2))
        for i in range(0, 2000, 480):
            blk = np.ascontiguousarray(x[:, i:i + 480])
            assert np.array_equal(sosfilt(sos, blk, z1), sosfilt_serial(sos, blk, z2)), order
            assert np.array_equal(z1, z2), order


def test_cuda_kernel_in_simulator():
    """Run under NUMBA_ENABLE_CUDASIM=1 in a child process (the flag must be set before numba loads)."""
    code = textwrap.dedent("""
        import numpy as np
        from scipy import signal
        from voxpost.dsp.biquad import sosfilt_reference
        from voxpost.dsp.biquad_cuda import sosfilt_cuda, available
        assert available()
        rng = np.random.default_rng(0)
        x = rng.standard_normal((5, 300)).astype(np.float32)
        sos = signal.butter(4, 1000, "highpass", fs=48000, output="sos")
        z1 = np.zeros((5, sos.shape[0], 2)); z2 = z1.copy()
        y = np.concatenate([sosfilt_cuda(sos, x[:, :150], z1), sosfilt_cuda(sos, x[:, 150:], z1)], axis=1)
        y_ref = sosfilt_reference(sos, x, z2)
        print(float(np.abs(y - y_ref).max()))
    """)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.strip()) < 1e-6
