"""The babble-voices kernel against its reference."""

import numpy as np

from voxpost.dsp.babble import babble_voices, babble_voices_reference

SR = 48000


def test_kernel_equals_reference():
    rng = np.random.default_rng(0)
    n, v = 6000, 3
    b = n // 64 + 2
    voices = (rng.uniform(90, 300, (v, b)), rng.uniform(0, 1, (v, b)), rng.uniform(0, 1, (v, b)),
              rng.uniform(250, 3500, (v, 3, b)), (5.0, 8.0, 10.0), (1.0, 0.6, 0.3), 0.3, rng.uniform(-1, 1, 999),
              [0, 17, 998])
    np.testing.assert_allclose(babble_voices(n, SR, 64, *voices), babble_voices_reference(n, SR, 64, *voices), atol=1e-8)
