"""Speaker diarization: who speaks when.

:func:`diarize` returns speech turns ``(start_s, end_s, label)`` with labels ``SPEAKER_00``,
``SPEAKER_01``, ... numbered in order of first appearance. Two backends:

- ``"embedded"`` (works offline, nothing to download):

  1. Silero voice activity (:mod:`voxpost.speech.vad`, threshold 0.3) gives the speech regions.
  2. MFCC c1..c19 and their deltas every 10 ms, mean/variance normalised over the file's speech.
  3. Speaker features: means and standard deviations of the voiced frames of 1.5 s windows every
     0.25 s inside speech; average-linkage cosine clustering into 10 clusters, then pairwise
     BIC merging (one full-covariance Gaussian over the voiced MFCC frames of each cluster) while
     merging is cheaper than keeping two; the BIC weight (1.8) was tuned on synthetic
     conversations of the corpus's single-speaker recordings only. ``num_speakers`` skips the
     estimate; ``min_speakers``/``max_speakers`` bound it. Known weakness: BIC needs more
     evidence to keep one speaker whole on long inputs (a two-speaker 30 s clip tiled to 2 and
     10 minutes is estimated at 4 speakers); give ``num_speakers`` or ``max_speakers`` there.
  4. Resegmentation: one full-covariance Gaussian per speaker over all MFCC frames, per-frame
     log-likelihoods smoothed over 0.5 s, a Viterbi pass with a speaker-change penalty
     (:mod:`voxpost.dsp.viterbi`), and turns under 0.3 s absorbed by their neighbour.

  The features live in :mod:`voxpost.speech.embeddings`, the clustering in
  :mod:`voxpost.speech.clustering`; this module holds the pipeline and the resegmentation.

  Overlapped speech is *not* marked by the embedded diarizer: two cues were measured on the AMI
  excerpts and both raised DER (frames where the runner-up speaker's likelihood is close to the
  best one: about 10 % precision, the base rate of overlap; both labels for 0.3-0.8 s around each
  speaker change: DER +2 to +19 points), so its turns never overlap.
- ``"pyannote"``: pyannote.audio's ``SpeakerDiarization`` pipeline on the checkpoints of
  ``pyannote/speaker-diarization-community-1`` installed through the model registry (see
  :mod:`voxpost.speech.diarize_pyannote`); its turns do overlap where it finds overlap.

``"auto"`` picks pyannote when its checkpoints are installed, else the embedded diarizer.
Everything is deterministic: the same input gives the same turns.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from voxpost.errors import ParameterError
from voxpost.speech.clustering import cluster, frame_assign
from voxpost.speech.embeddings import FRAME_S, RATE, WIN, mfcc

BACKENDS = ("auto", "embedded", "pyannote")

Turn = tuple[float, float, str]


@dataclass(frozen=True)
class EmbeddedParams:
    """Settings of the embedded diarizer; the defaults are the tuned ones (see the module notes)."""

    window_s: float = 1.5             # speaker-feature window for the initial clustering
    hop_s: float = 0.25               # its hop (grows on long files so at most max_windows exist)
    max_windows: int = 3000
    vad_threshold: float = 0.3
    overclusters: int = 10            # initial average-linkage clusters, before BIC merging
    bic_lambda: float = 1.8           # BIC penalty weight: merge clusters while dBIC < 0
    bic_dims: int = 19                # MFCC c1..c19 (no deltas) for the BIC Gaussians
    max_speakers: int = 8
    smooth_s: float = 0.5             # moving average of frame log-likelihoods
    switch_penalty: float = 100.0     # Viterbi cost of a speaker change (smoothed log-lik units)
    min_turn_s: float = 0.3


DEFAULT = EmbeddedParams()


# ------------------------------------------------------------------------------------------------
# public entry points
# ------------------------------------------------------------------------------------------------

def diarize(samples: np.ndarray, sample_rate: int, *, backend: str = "auto", num_speakers: int | None = None,
            min_speakers: int | None = None, max_speakers: int | None = None,
            progress: Callable[[float], None] | None = None,
            pyannote_dir: str | os.PathLike[str] | None = None) -> list[Turn]:
    """Speaker turns of ``samples`` (``[frames]`` or ``[channels, frames]``, any rate).

    Parameters
    ----------
    samples : ndarray
        Audio, float; channels are mixed to mono and the rate converted to 16 kHz.
    sample_rate : int
        Its rate in Hz.
    backend : {"auto", "embedded", "pyannote"}
        ``"auto"``: pyannote when its checkpoints are installed (or ``pyannote_dir`` is given),
        else embedded.
    num_speakers, min_speakers, max_speakers : int, optional
        The exact speaker count, or bounds on the estimated one.
    progress : callable, optional
        Called with the fraction done (0..1).
    pyannote_dir : path, optional
        A pyannote pipeline directory of your own (``config.yaml`` and the files it names),
        used instead of the registry's community-1 checkpoints.

    Returns
    -------
    list of (start_s, end_s, label)
        Sorted by start; overlapped speech is two overlapping turns with different labels.

    Raises
    ------
    ParameterError
        Bad backend, speaker counts or sample rate.
    ModelError
        ``backend="pyannote"`` without its checkpoints (the message says what to install).
    """
    if backend not in BACKENDS:
        raise ParameterError(f"diarization backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    num_speakers, min_speakers, max_speakers = _check_counts(num_speakers, min_speakers, max_speakers)
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int | np.integer) or sample_rate < 1000:
        raise ParameterError(f"sample rate must be an integer of at least 1000 Hz, not {sample_rate!r}")
    mono = _to_mono_16k(samples, int(sample_rate))
    if backend == "auto":
        from voxpost.speech import diarize_pyannote

        backend = "pyannote" if pyannote_dir is not None or diarize_pyannote.installed() else "embedded"
    if backend == "pyannote":
        from voxpost.speech import diarize_pyannote

        return diarize_pyannote.diarize(mono, RATE, num_speakers=num_speakers, min_speakers=min_speakers,
                                        max_speakers=max_speakers, progress=progress,
                                        pipeline_dir=pyannote_dir)
    return diarize_embedded(mono, num_speakers=num_speakers, min_speakers=min_speakers,
                            max_speakers=max_speakers, progress=progress)


def diarize_file(path: str | os.PathLike[str], **kwargs) -> list[Turn]:
    """:func:`diarize` on any audio or video file, read blockwise and converted to 16 kHz mono."""
    from voxpost.stream import AudioReader

    with AudioReader(path) as reader:
        mono = reader.read(sample_rate=RATE, mono=True)[0]
    return diarize(mono, RATE, **kwargs)


# ------------------------------------------------------------------------------------------------
# embedded diarizer
# ------------------------------------------------------------------------------------------------

def diarize_embedded(mono16k: np.ndarray, *, num_speakers: int | None = None, min_speakers: int | None = None,
                     max_speakers: int | None = None, progress: Callable[[float], None] | None = None,
                     params: EmbeddedParams = DEFAULT, vad_probs: np.ndarray | None = None) -> list[Turn]:
    """The embedded diarizer on 16 kHz mono float audio; see the module docstring."""
    from voxpost.speech import vad

    x = np.asarray(mono16k, np.float32).reshape(-1)
    report = progress or (lambda f: None)
    duration = x.size / RATE
    if x.size < WIN or not np.any(x):
        report(1.0)
        return []
    probs = vad.speech_probabilities(x, RATE) if vad_probs is None else vad_probs
    report(0.3)
    regions = vad.regions_from_probabilities(probs, threshold=params.vad_threshold, duration_s=duration)
    if not regions:
        report(1.0)
        return []
    feats, energy = mfcc(x)
    n = feats.shape[0]
    speech = _region_mask(regions, n)
    report(0.5)
    if speech.sum() < 10:
        report(1.0)
        return []
    # file-level mean and variance normalisation over speech frames
    mu = feats[speech].mean(axis=0)
    sd = feats[speech].std(axis=0) + 1e-6
    feats = (feats - mu) / sd
    voiced = speech & (energy > np.percentile(energy[speech], 20))
    lo_k = num_speakers or min_speakers or 1
    hi_k = num_speakers or max_speakers or params.max_speakers
    labels, k = cluster(feats, speech, voiced, lo_k, hi_k, params)
    report(0.8)
    if k == 1:
        turns = [(s, e, 0) for s, e in regions]
    else:
        turns = _resegment(feats, speech, voiced, labels, k, params)
    report(1.0)
    return _label(turns, duration)


def _region_mask(regions: list[tuple[float, float]], n: int) -> np.ndarray:
    edges = np.zeros(n + 1, np.int64)
    for s, e in regions:
        a, b = int(round(s / FRAME_S)), int(round(e / FRAME_S))
        edges[min(a, n)] += 1
        edges[min(b, n)] -= 1
    return np.cumsum(edges)[:n] > 0


def _resegment(feats, speech, voiced, labels, k, params):
    from voxpost.dsp.viterbi import viterbi

    starts, lab, win = labels
    n = feats.shape[0]
    init = frame_assign(n, starts, lab, win, k)     # frame -> speaker by majority of windows
    covered = init >= 0
    ll = np.empty((n, k))
    d = feats.shape[1]
    for c in range(k):
        sel = voiced & covered & (init == c)
        if sel.sum() < 2 * d:
            sel = covered & (init == c)
        xs = feats[sel] if sel.sum() >= 2 else feats[speech]
        mean = xs.mean(axis=0)
        cov = np.cov(xs, rowvar=False) + 0.05 * np.eye(d)
        inv = np.linalg.inv(cov)
        _, logdet = np.linalg.slogdet(cov)
        diff = feats - mean
        ll[:, c] = -0.5 * (np.einsum("ij,jk,ik->i", diff, inv, diff) + logdet)
    ll = np.clip(ll - ll.max(axis=1, keepdims=True), -50, 0)
    width = max(1, int(round(params.smooth_s / FRAME_S)))
    sm = _moving_average(ll, width)
    idx = np.flatnonzero(speech)
    path = np.full(n, -1)
    path[idx] = viterbi(np.ascontiguousarray(sm[idx]), float(params.switch_penalty))
    return _runs(path, speech, params.min_turn_s)


def _moving_average(x: np.ndarray, width: int) -> np.ndarray:
    c = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    n = x.shape[0]
    lo = np.clip(np.arange(n) - width // 2, 0, n)
    hi = np.clip(np.arange(n) + width - width // 2, 0, n)
    return (c[hi] - c[lo]) / (hi - lo)[:, None]


def _runs(path: np.ndarray, speech: np.ndarray, min_turn_s: float) -> list[tuple[float, float, int]]:
    """Turns from a per-frame speaker path (-1 = no speech); short turns merge into a neighbour."""
    p = np.where(speech, path, -1)
    change = np.flatnonzero(np.diff(p) != 0) + 1
    bounds = np.concatenate([[0], change, [p.size]])
    runs = [[int(bounds[i]), int(bounds[i + 1]), int(p[bounds[i]])] for i in range(bounds.size - 1)]
    min_len = int(round(min_turn_s / FRAME_S))
    # absorb short speaker runs sandwiched inside speech into the longer neighbour
    for i, r in enumerate(runs):
        if r[2] < 0 or r[1] - r[0] >= min_len:
            continue
        left = runs[i - 1] if i > 0 and runs[i - 1][2] >= 0 else None
        right = runs[i + 1] if i + 1 < len(runs) and runs[i + 1][2] >= 0 else None
        pick = max((q for q in (left, right) if q is not None), key=lambda q: q[1] - q[0], default=None)
        if pick is not None:
            r[2] = pick[2]
    merged: list[list[int]] = []
    for r in runs:
        if r[2] < 0:
            continue
        if merged and merged[-1][2] == r[2] and merged[-1][1] == r[0]:
            merged[-1][1] = r[1]
        else:
            merged.append(list(r))
    return [(a * FRAME_S, b * FRAME_S, c) for a, b, c in merged]


def _label(turns: list[tuple[float, float, int]], duration: float) -> list[Turn]:
    turns = sorted(((round(max(0.0, s), 3), round(min(duration, e), 3), c) for s, e, c in turns), key=lambda t: (t[0], t[2]))
    turns = [t for t in turns if t[1] > t[0]]
    first: dict[int, int] = {}
    for _, _, c in turns:
        first.setdefault(c, len(first))
    return [(s, e, f"SPEAKER_{first[c]:02d}") for s, e, c in turns]


def _to_mono_16k(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    from voxpost.resample import resample
    from voxpost.stream import check_samples

    x = np.asarray(samples, np.float32)
    if x.ndim not in (1, 2):
        raise ParameterError(f"audio must be [frames] or [channels, frames], not shape {x.shape}")
    check_samples(x)
    mono = x if x.ndim == 1 else x.mean(axis=0)
    if sample_rate != RATE and mono.size:
        mono = resample(mono, sample_rate, RATE)
    return np.ascontiguousarray(mono, np.float32)


def _check_counts(num, lo, hi):
    for name, v in (("num_speakers", num), ("min_speakers", lo), ("max_speakers", hi)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int | np.integer) or v < 1):
            raise ParameterError(f"{name} must be a whole number of at least 1, not {v!r}")
    if lo is not None and hi is not None and lo > hi:
        raise ParameterError(f"min_speakers ({lo}) is more than max_speakers ({hi})")
    if num is not None and ((lo is not None and num < lo) or (hi is not None and num > hi)):
        raise ParameterError(f"num_speakers ({num}) is outside min_speakers..max_speakers")
    return (None if num is None else int(num), None if lo is None else int(lo), None if hi is None else int(hi))


__all__ = ["diarize", "diarize_file", "diarize_embedded", "EmbeddedParams", "mfcc"]
