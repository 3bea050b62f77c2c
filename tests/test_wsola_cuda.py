"""The batched CUDA WSOLA kernel against the CPU kernel, in numba's CUDA simulator (no GPU is lent)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from voxpost.dsp import wsola_cuda


def test_available_is_a_bool():
    assert isinstance(wsola_cuda.available(), bool)


def test_cuda_kernel_in_simulator():
    """Run under NUMBA_ENABLE_CUDASIM=1 in a child process (the flag must be set before numba loads).

    Three lines of different lengths (one stereo, one with a pause so the search ties on silence)
    stretched at 0.8, 1.03 and 1.25 in one launch: picks equal the CPU kernel's, outputs within 1e-5.
    16 threads per block < 2 * tolerance + 1 candidates, so threads scan several shifts each.
    """
    code = textwrap.dedent("""
        import numpy as np
        from voxpost.dsp.wsola import wsola
        from voxpost.dsp.wsola_cuda import wsola_batch_cuda, available
        assert available()
        sr, frame, hop, tol = 8000, 240, 120, 40
        rng = np.random.default_rng(0)

        def voice(n, channels):                      # vibrato harmonic tone, syllable envelope, noise
            t = np.arange(n) / sr
            phase = 2 * np.pi * np.cumsum(140 + 12 * np.sin(2 * np.pi * 5 * t)) / sr
            v = sum(np.sin(h * phase) / h for h in range(1, 8)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
            return (0.3 * v + 0.02 * rng.standard_normal((channels, n))).astype(np.float32)

        items = []
        for n, channels, ratio in ((2400, 1, 0.8), (2000, 2, 1.03), (2400, 1, 1.25)):
            x = voice(n, channels)
            if ratio > 1.2:
                x[:, 900:1500] = 0.0                 # a pause: every candidate scores 0, delta 0 wins
            guide = x.mean(axis=0).astype(np.float32)
            n_out = int(round(n * ratio))
            centres = np.round(np.arange(n_out // hop + 2) * (hop * n / n_out)).astype(np.int64)
            centres[1:] -= int(np.sign(n_out - n)) * (tol // 2)   # as voxpost.voice.stretch does
            items.append((x, guide, centres))
        got = wsola_batch_cuda(items, frame_length=frame, synthesis_hop=hop, tolerance=tol,
                               threads_per_block=16)
        err = 0.0
        for (x, guide, centres), (out, picked) in zip(items, got):
            ref_out, ref_picked = wsola(x, guide, centres, frame_length=frame, synthesis_hop=hop, tolerance=tol)
            assert out.shape == ref_out.shape and out.dtype == np.float32
            assert np.array_equal(picked, ref_picked), (picked - ref_picked)
            assert len(np.unique(picked - centres)) > 5          # the search really moved frames
            err = max(err, float(np.abs(out - ref_out).max()))
        print(err)
    """)
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout.strip()) < 1e-5
