"""WSOLA: waveform-similarity overlap-add, the kernel under pitch-preserving time-stretch.

Output frame ``k`` is centred at output sample ``k * synthesis_hop`` and windowed by a periodic
Hann window of ``frame_length`` samples. It is cut from the input around ``centres[k] + delta_k``,
where ``centres`` (the caller's choice: ``k * analysis_hop`` for a uniform stretch) is the nominal
position and ``|delta_k| <= tolerance``. ``delta_k`` maximises the normalised cross-correlation

    score(d) = <t, x[c + d]> / sqrt(<x[c + d], x[c + d]> + eps)

between the candidate frame ``x[c + d]`` and ``t``, the *natural continuation* of the previous
output frame (the input frame that starts ``synthesis_hop`` samples after the previous pick), so
each new frame continues the waveform the previous one left in the overlap. The search runs on
``guide`` (a mono mix, say); the chosen positions cut every channel, so all channels share one
alignment path. Ties keep ``delta = 0`` (silence is cut at the nominal position). Frame 0 is
taken at ``centres[0]`` unsearched. Samples outside the input count as zeros.

The frames are summed and divided by the sum of their windows, so the output is exact for any
hop (with ``synthesis_hop == frame_length // 2`` the Hann windows already sum to one).

:func:`wsola` is the Numba kernel; :func:`wsola_reference` is the same algorithm in NumPy.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Added to a candidate frame's energy so that silence scores 0 rather than 0/0.
_EPS = 1e-12


def hann(frame_length: int) -> np.ndarray:
    """Periodic Hann window (sums to one at a hop of half its length)."""
    n = np.arange(frame_length)
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * n / frame_length)).astype(np.float32)


@njit(cache=True, fastmath={"reassoc", "contract", "nsz", "arcp"})
def _search(guide, cum, template_start, nominal, frame_length, tolerance):  # pragma: no cover - compiled
    """Start (padded coordinates) of the candidate around ``nominal`` best matching the template."""
    best_start = nominal
    best = -np.inf
    t = guide[template_start:template_start + frame_length]   # slices (not offsets) let LLVM vectorise
    for i in range(2 * tolerance + 2):
        # Visit delta = 0 first, then -tol .. tol: strict '>' makes ties keep delta = 0, else the first max.
        d = 0 if i == 0 else i - 1 - tolerance
        if i > 0 and d == 0:
            continue
        s = nominal + d
        c = guide[s:s + frame_length]
        acc = np.float32(0.0)
        for j in range(frame_length):
            acc += t[j] * c[j]
        energy = cum[s + frame_length] - cum[s]
        score = acc / np.sqrt(max(energy, 0.0) + _EPS)
        if score > best:
            best = score
            best_start = s
    return best_start


@njit(cache=True)
def _wsola_kernel(x, guide, starts, frame_length, synthesis_hop, tolerance, window, out_len):  # pragma: no cover
    channels = x.shape[0]
    k_frames = starts.shape[0]
    half = frame_length // 2
    # Cumulative energy (float64) gives every candidate's energy in O(1).
    cum = np.zeros(guide.shape[0] + 1)
    for n in range(guide.shape[0]):
        cum[n + 1] = cum[n] + np.float64(guide[n]) * np.float64(guide[n])
    # Output buffer: frame k starts at k * hop - half (negative times are cut off at the end).
    buf = np.zeros((channels, out_len + half), np.float32)
    wsum = np.zeros(out_len + half, np.float32)
    picked = np.empty(k_frames, np.int64)
    prev = -1
    for k in range(k_frames):
        if k == 0:
            s = starts[0]
        else:
            s = _search(guide, cum, prev + synthesis_hop, starts[k], frame_length, tolerance)
        picked[k] = s
        prev = s
        o = k * synthesis_hop
        m = min(frame_length, out_len + half - o)
        for c in range(channels):
            for j in range(m):
                buf[c, o + j] += window[j] * x[c, s + j]
        for j in range(m):
            wsum[o + j] += window[j]
    out = np.zeros((channels, out_len), np.float32)
    for n in range(out_len):
        w = wsum[n + half]
        if w > 1e-6:
            for c in range(channels):
                out[c, n] = buf[c, n + half] / w
    return out, picked


def _prepare(samples, guide, centres, frame_length, synthesis_hop, tolerance):
    x = np.asarray(samples, dtype=np.float32)
    if x.ndim == 1:
        x = x[np.newaxis, :]
    g = np.asarray(guide, dtype=np.float32)
    c = np.asarray(centres, dtype=np.int64)
    frame_length, synthesis_hop, tolerance = int(frame_length), int(synthesis_hop), int(tolerance)
    if x.ndim != 2 or g.ndim != 1 or g.shape[0] != x.shape[1] or c.ndim != 1 or not len(c):
        raise ValueError("wsola needs samples [channels, n], a guide [n] and at least one centre")
    if frame_length < 2 or frame_length % 2 or not 0 < synthesis_hop <= frame_length // 2 or tolerance < 0:
        raise ValueError("need an even frame_length >= 2, 0 < synthesis_hop <= frame_length/2, tolerance >= 0")
    half = frame_length // 2
    # Zero padding so every candidate and every template lies inside: `pad` on the left, enough on the right.
    pad = max(0, half + tolerance - int(c.min()))
    right = max(0, int(c.max()) + tolerance + half + synthesis_hop + frame_length - x.shape[1])
    xp = np.pad(x, ((0, 0), (pad, right)))
    gp = np.pad(g, (pad, right))
    starts = c + pad - half
    out_len = (len(c) - 1) * synthesis_hop + half
    return np.ascontiguousarray(xp), np.ascontiguousarray(gp), starts, pad, frame_length, synthesis_hop, tolerance, \
        out_len


def wsola(samples: np.ndarray, guide: np.ndarray, centres: np.ndarray, *, frame_length: int, synthesis_hop: int,
          tolerance: int) -> tuple[np.ndarray, np.ndarray]:
    """Overlap-add Hann frames cut around ``centres`` (refined by waveform similarity) at a fixed hop.

    Parameters
    ----------
    samples : ndarray
        Float32 ``[channels, n]`` (or ``[n]``).
    guide : ndarray
        Float32 ``[n]``: the signal the similarity search runs on (the mono mix).
    centres : ndarray of int
        Nominal input centre of each output frame; frame ``k`` lands centred at ``k * synthesis_hop``.
    frame_length : int
        Even window length in samples.
    synthesis_hop : int
        Output hop in samples, at most ``frame_length // 2``.
    tolerance : int
        Largest shift, in samples, of an analysis frame from its nominal centre.

    Returns
    -------
    out : ndarray
        Float32 ``[channels, (len(centres) - 1) * synthesis_hop + frame_length // 2]``; ``out[:, t]``
        is output time ``t`` (frame 0's left half, at negative times, is dropped).
    picked : ndarray of int64
        The input centre each frame was actually cut at (``centres + delta``).

    Examples
    --------
    >>> x = np.sin(2 * np.pi * 220 * np.arange(22050) / 22050).astype(np.float32)
    >>> centres = np.arange(0, 22050, 294)          # analysis hop 294, synthesis hop 331: 1.126 x longer
    >>> out, picked = wsola(x, x, centres, frame_length=662, synthesis_hop=331, tolerance=220)
    >>> out.shape, bool(np.all(np.abs(picked - centres) <= 220))
    ((1, 24825), True)
    """
    xp, gp, starts, pad, frame_length, hop, tol, out_len = _prepare(samples, guide, centres, frame_length,
                                                                    synthesis_hop, tolerance)
    out, picked = _wsola_kernel(xp, gp, starts, frame_length, hop, tol, hann(frame_length), out_len)
    return out, picked - pad + frame_length // 2


def wsola_reference(samples: np.ndarray, guide: np.ndarray, centres: np.ndarray, *, frame_length: int,
                    synthesis_hop: int, tolerance: int) -> tuple[np.ndarray, np.ndarray]:
    """NumPy reference of :func:`wsola` (the same search and overlap-add, vectorised per frame)."""
    xp, gp, starts, pad, frame_length, hop, tol, out_len = _prepare(samples, guide, centres, frame_length,
                                                                    synthesis_hop, tolerance)
    half = frame_length // 2
    window = hann(frame_length)
    g64 = gp.astype(np.float64)
    buf = np.zeros((xp.shape[0], out_len + half + frame_length), np.float64)
    wsum = np.zeros(out_len + half + frame_length, np.float64)
    picked = np.empty(len(starts), np.int64)
    deltas = np.arange(-tol, tol + 1)
    idx = np.arange(frame_length)
    for k, nominal in enumerate(starts):
        if k == 0:
            s = int(nominal)
        else:
            template = g64[picked[k - 1] + hop + idx]
            cands = g64[nominal + deltas[:, None] + idx[None, :]]           # [2 tol + 1, frame_length]
            score = (cands @ template) / np.sqrt((cands * cands).sum(axis=1) + _EPS)
            best = int(np.argmax(score))
            s = int(nominal + (deltas[best] if score[best] > score[tol] else 0))
        picked[k] = s
        o = k * hop
        buf[:, o:o + frame_length] += window * xp[:, s:s + frame_length]
        wsum[o:o + frame_length] += window
    w = wsum[half:half + out_len]
    out = np.where(w > 1e-6, buf[:, half:half + out_len] / np.where(w > 1e-6, w, 1.0), 0.0)
    return out.astype(np.float32), picked - pad + half
