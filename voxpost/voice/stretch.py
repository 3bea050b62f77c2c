"""Time-stretch: change a recording's duration without changing its pitch (WSOLA).

:func:`time_stretch` fits speech to a duration (TTS with a target length, dubbing line fitting):
give it a ``ratio`` (output duration / input duration) or the exact output length in ``frames``.
Output frames are laid at a fixed synthesis hop of half a frame; the analysis frame for each is
taken near its proportional input position and shifted by up to ``tolerance_ms`` to the place
whose waveform best continues the previous frame (:mod:`voxpost.dsp.wsola`). Multichannel audio
is aligned once, on the mono mix, and every channel is cut at the same places, so the stereo image
and the phase between channels survive.

Because the synthesis hop is uniform, input time maps to output time linearly
(:func:`time_map`): ``t_out = t_in * frames_out / frames_in``. The only departure is each frame's
search shift. Left alone, WSOLA's picks drift with the waveform's natural continuation until they
reach the edge of the search window, a bias of about 6.5 ms (at the default 10 ms tolerance)
ahead of the line when lengthening and behind it when shortening; :func:`time_stretch` moves the
search window half a tolerance against that drift, so on LJ001-0001 (ratios 0.8 to 1.25) the
shifts average about 2 ms in sign and 3 ms in size, never more than 1.5 tolerances (15 ms), and
speech onsets land a median 3 ms from the linear map (tests/test_wsola.py measures the onsets and
the envelope lag).
That is far under a video frame.

Examples
--------
>>> import numpy as np
>>> from voxpost.voice.stretch import time_stretch, time_map
>>> x = np.random.default_rng(0).normal(size=22050).astype(np.float32) * 0.1
>>> time_stretch(x, 22050, ratio=1.25).shape
(27562,)
>>> time_stretch(x, 22050, frames=20000).shape
(20000,)
>>> time_map([0.5, 1.0], 22050, frames=20000, sample_rate=22050).round(4).tolist()
[0.4535, 0.907]
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from voxpost.dsp.wsola import wsola
from voxpost.errors import ParameterError

#: Allowed range of ``ratio`` (output duration / input duration), also enforced on ``frames``.
MIN_RATIO, MAX_RATIO = 0.25, 4.0


def _output_frames(n: int, ratio: float | None, frames: int | None) -> int:
    """Validate ``ratio`` / ``frames`` against an input of ``n`` frames; return the output length."""
    if (ratio is None) == (frames is None):
        raise ParameterError("time_stretch needs exactly one of ratio= or frames=")
    if ratio is not None:
        if isinstance(ratio, bool) or not isinstance(ratio, Real) or not math.isfinite(ratio) \
                or not MIN_RATIO <= ratio <= MAX_RATIO:
            raise ParameterError(f"ratio must be a number between {MIN_RATIO} and {MAX_RATIO}, got {ratio!r}")
        return int(round(n * float(ratio)))
    if isinstance(frames, bool) or not isinstance(frames, Integral) or frames < 1:
        raise ParameterError(f"frames must be a positive whole number of samples, got {frames!r}")
    frames = int(frames)
    if n and not math.floor(n * MIN_RATIO) <= frames <= math.ceil(n * MAX_RATIO):
        raise ParameterError(f"frames={frames} would stretch {n} input frames by {frames / n:.3g}; "
                             f"keep it between {MIN_RATIO} and {MAX_RATIO} times the input")
    return frames


def _frame_sizes(sample_rate: int, frame_ms: float, tolerance_ms: float) -> tuple[int, int]:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, Integral) or sample_rate <= 0:
        raise ParameterError(f"sample_rate must be a positive whole number of hertz, got {sample_rate!r}")
    if not (isinstance(frame_ms, Real) and math.isfinite(frame_ms) and 5.0 <= frame_ms <= 200.0):
        raise ParameterError(f"frame_ms must be between 5 and 200 ms, got {frame_ms!r}")
    if not (isinstance(tolerance_ms, Real) and math.isfinite(tolerance_ms) and 0.0 <= tolerance_ms <= frame_ms):
        raise ParameterError(f"tolerance_ms must be between 0 and frame_ms ({frame_ms} ms), got {tolerance_ms!r}")
    frame_length = max(4, 2 * int(round(frame_ms * sample_rate / 2000.0)))
    return frame_length, int(round(tolerance_ms * sample_rate / 1000.0))


def _linear(x: np.ndarray, n_out: int) -> np.ndarray:
    """Linear-interpolation resize of ``x`` [channels, n] to ``n_out`` frames (ends mapped to ends)."""
    n = x.shape[1]
    if n == 0:
        return np.zeros((x.shape[0], n_out), np.float32)
    pos = np.linspace(0.0, n - 1.0, n_out) if n_out > 1 else np.zeros(n_out)
    return np.stack([np.interp(pos, np.arange(n), ch) for ch in x]).astype(np.float32)


def time_stretch(samples: np.ndarray, sample_rate: int, *, ratio: float | None = None, frames: int | None = None,
                 frame_ms: float = 30.0, tolerance_ms: float = 10.0) -> np.ndarray:
    """Change duration without changing pitch (WSOLA).

    Parameters
    ----------
    samples : ndarray
        Float32 ``[n]`` or ``[channels, n]``.
    sample_rate : int
        Hertz.
    ratio : float, optional
        Output duration / input duration, 0.25 to 4 (2 = twice as long, slower).
    frames : int, optional
        Exact output length in samples (per channel); the implied ratio must also lie in 0.25 to 4.
        Give exactly one of ``ratio`` and ``frames``.
    frame_ms : float
        Analysis/synthesis window length (30 ms suits speech; longer for music).
    tolerance_ms : float
        Largest shift of an analysis frame from its proportional position. 10 ms covers one
        period of any voice above 100 Hz; 0 gives plain overlap-add (phasey).

    Returns
    -------
    ndarray
        Float32 with the input's shape except the last axis: exactly ``frames`` or
        ``round(n * ratio)`` samples. ``ratio`` 1 (or ``frames == n``) returns a copy. Inputs
        shorter than one frame are resized by linear interpolation (no room for WSOLA; the
        pitch of such a blip moves by the ratio). Multichannel input shares one alignment path,
        chosen on the mono mix, so identical channels stay identical.

    Raises
    ------
    ParameterError
        Both or neither of ``ratio`` / ``frames``, either out of range, bad ``frame_ms`` /
        ``tolerance_ms`` / ``sample_rate``, or samples that are not 1-D or 2-D.

    Examples
    --------
    >>> sr = 22050
    >>> x = np.sin(2 * np.pi * 220 * np.arange(sr) / sr).astype(np.float32)
    >>> y = time_stretch(x, sr, ratio=1.5)   # 1.5 s, still 220 Hz
    >>> y.shape, y.dtype
    ((33075,), dtype('float32'))
    """
    x = _as_samples(samples)
    return _warp(x, sample_rate, [], [], _output_frames(x.shape[-1], ratio, frames), frame_ms, tolerance_ms)


def time_warp(samples: np.ndarray, sample_rate: int, anchors_in_s, anchors_out_s, *, frames: int,
              frame_ms: float = 30.0, tolerance_ms: float = 10.0) -> np.ndarray:
    """Time-stretch by a piecewise-linear map: input time ``anchors_in_s[k]`` lands at output time
    ``anchors_out_s[k]`` (both increasing; the map is extended to ``0 -> 0`` and ``end -> frames``).

    One WSOLA pass with a varying analysis hop, so the pieces join without seams: this is how a
    dubbed line's bilabials are moved onto the picture's lip closures. Each piece's ratio must lie
    in 0.25..4 like :func:`time_stretch`'s. ``tolerance_ms`` as there.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=22050).astype(np.float32) * 0.1
    >>> time_warp(x, 22050, [0.5], [0.6], frames=22050).shape     # first half slower, second faster
    (22050,)
    """
    x = _as_samples(samples)
    return _warp(x, sample_rate, anchors_in_s, anchors_out_s, _output_frames(x.shape[-1], None, frames), frame_ms,
                 tolerance_ms)


def _as_samples(samples) -> np.ndarray:
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim not in (1, 2):
        raise ParameterError(f"samples must be [frames] or [channels, frames], got shape {x.shape}")
    return x


def _warp(x: np.ndarray, sample_rate: int, anchors_in_s, anchors_out_s, n_out: int, frame_ms: float,
          tolerance_ms: float) -> np.ndarray:
    """WSOLA along the piecewise-linear map through the anchors (validated inputs)."""
    mono = x.ndim == 1
    x2 = x[np.newaxis, :] if mono else x
    n = x2.shape[1]
    a_in = np.concatenate([[0.0], np.asarray(anchors_in_s, np.float64) * sample_rate, [float(n)]])
    a_out = np.concatenate([[0.0], np.asarray(anchors_out_s, np.float64) * sample_rate, [float(n_out)]])
    d_in, d_out = np.diff(a_in), np.diff(a_out)
    if a_in.size > 2:
        if np.any(d_in <= 0) or np.any(d_out <= 0):
            raise ParameterError("time_warp anchors must increase strictly and lie inside both signals")
        if np.any(d_out / d_in < MIN_RATIO) or np.any(d_out / d_in > MAX_RATIO):
            raise ParameterError(f"every piece of a time warp must keep a ratio between {MIN_RATIO} and {MAX_RATIO}")
    frame_length, tolerance = _frame_sizes(sample_rate, frame_ms, tolerance_ms)
    if n_out == n and a_in.size == 2:
        y = x2.copy()
    elif n < frame_length or n_out < frame_length // 2:
        y = _linear(x2, n_out)
    else:
        hop = frame_length // 2
        k_frames = -(-n_out // hop) + 1                       # last frame centred at or past the end
        t_out = np.arange(k_frames, dtype=np.float64) * hop
        centres = np.round(np.interp(t_out, a_out, a_in, right=a_in[-1] + (t_out[-1] - a_out[-1]))).astype(np.int64)
        piece = np.clip(np.searchsorted(a_out, t_out, side="right") - 1, 0, d_in.size - 1)
        # WSOLA's pick drifts with the natural continuation (ahead of the line when lengthening, behind
        # when shortening) until it hits the edge of the search window, so it sits near that edge. Moving
        # the window half a tolerance against the drift centres the picks on the line: mean timing error
        # on speech drops from ~6.5 ms to ~2 ms (tests/test_wsola.py measures it).
        drift = np.sign(np.round(d_out - d_in)).astype(np.int64)[piece]
        centres[1:] -= drift[1:] * (tolerance // 2)
        guide = x2.mean(axis=0, dtype=np.float32) if x2.shape[0] > 1 else x2[0]
        out, _ = wsola(x2, guide, centres, frame_length=frame_length, synthesis_hop=hop, tolerance=tolerance)
        y = np.ascontiguousarray(out[:, :n_out])
    return y[0] if mono else y


def time_map(times_s, input_frames: int, *, ratio: float | None = None, frames: int | None = None,
             sample_rate: int) -> np.ndarray:
    """Where input times (seconds) land after :func:`time_stretch` with the same ``ratio`` / ``frames``.

    WSOLA's synthesis hop is uniform, so the map is linear: ``t_out = t_in * n_out / input_frames``
    with ``n_out`` the exact output length :func:`time_stretch` produces (``round(n * ratio)`` or
    ``frames``; using it rather than ``ratio`` keeps the end of the file at the end). Content sits
    off this line by each frame's similarity shift: about 2 ms on average on speech, at most 1.5
    ``tolerance_ms`` (see the module notes), so word timings land within a few milliseconds.

    Parameters
    ----------
    times_s : array_like
        Input times in seconds.
    input_frames : int
        Length of the stretched input in samples.
    ratio, frames : optional
        Exactly one, as given to :func:`time_stretch`.
    sample_rate : int
        Hertz (to convert ``input_frames`` to seconds for the clamp at the end).

    Returns
    -------
    ndarray
        Output times in seconds (float64), clamped to the output's duration.

    Examples
    --------
    >>> time_map([1.0, 2.0], 48000 * 3, ratio=1.1, sample_rate=48000).tolist()
    [1.1, 2.2]
    """
    if isinstance(input_frames, bool) or not isinstance(input_frames, Integral) or input_frames < 1:
        raise ParameterError(f"input_frames must be a positive whole number of samples, got {input_frames!r}")
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, Integral) or sample_rate <= 0:
        raise ParameterError(f"sample_rate must be a positive whole number of hertz, got {sample_rate!r}")
    n_out = _output_frames(int(input_frames), ratio, frames)
    t = np.asarray(times_s, dtype=np.float64) * (n_out / input_frames)
    return np.clip(t, 0.0, n_out / sample_rate)
