"""Mouth activity and lip closures from the picture of a talking face, with classic vision only.

Method (no model, no download; OpenCV's Haar cascade ships in the wheel):

1. Frames are decoded in grey with PyAV (first video stream), with their presentation times.
2. The face is found by the frontal Haar cascade on every ``DETECT_EVERY``-th frame (downscaled);
   the box is median-smoothed over detections and interpolated in between. A frame further than
   ``CARRY_S`` from any detection has no face (NaN openness and activity).
3. Residual head motion is removed by phase correlation of the upper face (eyes, nose) with a
   reference frame; the mouth region (lower third of the box, middle half) is then cut with
   sub-pixel accuracy and resized to a fixed size, so the measures do not depend on the framing.
4. Openness: the vertical edge energy in the middle of the mouth region. Closed lips are a smooth
   band with one soft line; an open mouth adds the cavity, teeth and lip edges. Normalised per
   clip to 0..1 (5th to 95th percentile).
5. Activity: mean absolute difference of consecutive mouth regions, normalised per clip to 0..1
   from its 10th to 98th percentile (the codec and breathing noise floor maps to 0).
6. Closures: local minima of openness whose prominence is at least ``CLOSURE_PROMINENCE`` within
   a ``CLOSURE_WINDOW_S`` window, i.e. the lips close between two clear openings.

On the six GRID clips of the corpus, 9 of the 10 b/p/m word starts have a closure within 80 ms,
but 13 of the 22 closures are elsewhere (labiodentals and rounded sounds, and some jitter).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from voxpost.errors import VoxpostError

#: The face detector: the frontal Haar cascade that ships inside the opencv-python wheel.
CASCADE = "haarcascade_frontalface_default.xml"
#: Face detection: every k-th frame, on a picture whose longer side is at most this many pixels.
DETECT_EVERY = 3
DETECT_SIZE = 180
#: A face detection is carried over to frames at most this far away.
CARRY_S = 0.5
#: Median smoothing of the face box, in detections.
BOX_MEDIAN = 15
#: Mouth region size after resampling (width, height) and the upper-face patch for stabilisation.
MOUTH_SIZE = (64, 56)
UPPER_SIZE = (64, 48)
#: Closure detection: prominence in openness units and the window it is measured in.
CLOSURE_PROMINENCE = 0.4
CLOSURE_WINDOW_S = 0.36
#: Which raw measures make the opening (0 edges, 1 contrast, 2 gap darkness).
OPENING_FEATURES = (0,)
SHIFT_MEDIAN = 3
#: Detections whose corners move less than this fraction of the face width are one static box.
STATIC_SPREAD = 0.15


#: Seeks go this far before the requested start, then frames are skipped up to it.
SEEK_MARGIN_S = 10.0


class VideoError(VoxpostError):
    """A video that cannot be read, has no picture, or shows no face."""


@dataclass
class MouthTrack:
    """Per-frame mouth measures of one clip.

    Attributes
    ----------
    fps : float
        Frame rate of the video stream.
    times_s : np.ndarray
        ``[n]`` presentation time of each frame, seconds from the file start.
    face : np.ndarray
        ``[n]`` bool, a face was found at that frame (or carried over from a neighbour).
    openness : np.ndarray
        ``[n]`` relative mouth opening, 0 (closed) .. 1, NaN where there is no face.
    activity : np.ndarray
        ``[n]`` mouth motion energy, 0 .. 1, NaN where there is no face.
    closures_s : list of float
        Times of lip closures (the lips close between two openings), at frame resolution.
    """

    fps: float
    times_s: np.ndarray
    face: np.ndarray
    openness: np.ndarray
    activity: np.ndarray
    closures_s: list[float] = field(default_factory=list)

    def speaking(self, start_s: float, end_s: float) -> float:
        """Mean mouth activity of the frames in ``[start_s, end_s)``.

        Parameters
        ----------
        start_s, end_s : float
            The span, seconds from the file start.

        Returns
        -------
        float
            Mean activity 0..1 over the frames with a face; 0 when none has one.
        """
        sel = (self.times_s >= start_s) & (self.times_s < end_s) & self.face
        return float(np.nanmean(self.activity[sel])) if sel.any() else 0.0


def _decode(path, start_s: float, duration_s: float | None) -> tuple[list[np.ndarray], np.ndarray, float]:
    import av

    name = os.fspath(path)
    try:
        container = av.open(name)
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise VideoError(f"cannot read {name} as video: {exc}") from None
    with container:
        if not container.streams.video:
            raise VideoError(f"{name} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        origin = (container.start_time or 0) / 1e6
        end_s = None if duration_s is None else start_s + duration_s
        if start_s > SEEK_MARGIN_S:               # seek well before; MPEG-PS seeks are imprecise
            container.seek(int((start_s - SEEK_MARGIN_S + origin) * 1e6), backward=True, any_frame=False)
        frames, times = [], []
        try:
            for frame in container.decode(stream):
                t = (float(frame.time) if frame.time is not None else len(times) / 25.0) - origin
                if t < start_s - 1e-6:
                    continue
                if end_s is not None and t >= end_s - 1e-6:
                    break
                frames.append(frame.to_ndarray(format="gray"))
                times.append(t)
        except av.FFmpegError as exc:
            if not frames:
                raise VideoError(f"cannot decode the video of {name}: {exc}") from None
        rate = stream.average_rate or stream.guessed_rate
    times_s = np.asarray(times, np.float64)
    if rate:
        fps = float(rate)
    elif times_s.size > 1:
        fps = float(1.0 / np.median(np.diff(times_s)))
    else:
        fps = 25.0
    if not frames:
        raise VideoError(f"{name} has no video frames in the requested span")
    return frames, times_s, fps


def _detect_faces(frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Face boxes ``[k, 4]`` (x, y, w, h in full-size pixels) at the detection frames ``[k]``."""
    import cv2

    cascade = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE)
    h, w = frames[0].shape
    scale = min(1.0, DETECT_SIZE / max(h, w))
    idx, boxes = [], []
    for i in range(0, len(frames), DETECT_EVERY):
        small = cv2.resize(frames[i], None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA) if scale < 1 else frames[i]
        side = min(small.shape)
        found = cascade.detectMultiScale(small, scaleFactor=1.1, minNeighbors=4,
                                         minSize=(max(20, side // 8),) * 2)
        if len(found):
            idx.append(i)
            boxes.append(found[np.argmax(found[:, 2] * found[:, 3])] / scale)   # the largest face
    return np.asarray(idx, np.int64), np.asarray(boxes, np.float64).reshape(-1, 4)


def _track_boxes(n: int, times_s: np.ndarray, idx: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame boxes ``[n, 4]`` (median-smoothed, interpolated) and the face mask ``[n]``."""
    from scipy.ndimage import median_filter

    if idx.size >= 3:
        boxes = median_filter(boxes, size=(min(BOX_MEDIAN, idx.size | 1), 1), mode="nearest")
    spread = np.ptp(boxes[:, :2], axis=0).max() if idx.size else 0.0
    if spread <= STATIC_SPREAD * np.median(boxes[:, 2]):      # a static shot: one box, no jitter
        boxes = np.repeat(np.median(boxes, axis=0, keepdims=True), idx.size, axis=0)
    per_frame = np.stack([np.interp(times_s, times_s[idx], boxes[:, k]) for k in range(4)], axis=1)
    pos = np.searchsorted(times_s[idx], times_s).clip(1, idx.size) if idx.size > 1 else np.zeros(n, np.int64)
    near = np.minimum(np.abs(times_s - times_s[idx][np.maximum(pos - 1, 0)]),
                      np.abs(times_s - times_s[idx][np.minimum(pos, idx.size - 1)]))
    return per_frame, near <= CARRY_S + 1e-9


def _mouth_regions(frames: list[np.ndarray], boxes: np.ndarray, face: np.ndarray) -> np.ndarray:
    """Stabilised, blurred mouth regions ``[n, MOUTH_SIZE[1], MOUTH_SIZE[0]]`` (float32; zeros without face)."""
    import cv2
    from scipy.ndimage import median_filter

    n = len(frames)
    valid = np.flatnonzero(face)
    uppers = np.zeros((n, UPPER_SIZE[1], UPPER_SIZE[0]), np.float32)
    for i in valid:                                  # eyes and nose: rigid with the head
        x, y, w, h = boxes[i]
        patch = cv2.getRectSubPix(frames[i], (max(2, int(0.6 * w)), max(2, int(0.4 * h))),
                                  (x + 0.5 * w, y + 0.4 * h))
        uppers[i] = cv2.resize(patch, UPPER_SIZE, interpolation=cv2.INTER_AREA)
    ref = uppers[valid[valid.size // 2]]
    window = cv2.createHanningWindow(UPPER_SIZE, cv2.CV_32F)
    shift = np.zeros((n, 2))
    for i in valid:
        shift[i] = cv2.phaseCorrelate(ref, uppers[i], window)[0]
    shift = median_filter(shift, size=(SHIFT_MEDIAN, 1), mode="nearest").clip(-UPPER_SIZE[0] / 8, UPPER_SIZE[0] / 8)
    mouths = np.zeros((n, MOUTH_SIZE[1], MOUTH_SIZE[0]), np.float32)
    for i in valid:
        x, y, w, h = boxes[i]
        sx, sy = shift[i, 0] * 0.6 * w / UPPER_SIZE[0], shift[i, 1] * 0.4 * h / UPPER_SIZE[1]
        size = (max(2, int(0.5 * w)), max(2, int(0.43 * h)))
        patch = cv2.getRectSubPix(frames[i], size, (x + 0.5 * w + sx, y + 0.88 * h + sy))
        mouths[i] = cv2.GaussianBlur(cv2.resize(patch, MOUTH_SIZE, interpolation=cv2.INTER_AREA), (3, 3), 0)
    return mouths


def _opening_raw(mouths: np.ndarray, face: np.ndarray) -> np.ndarray:
    """Raw opening per frame: z-scored mean of vertical edge energy, contrast and darkest-row depth."""
    w = MOUTH_SIZE[0]
    centre = mouths[:, :, w // 4: 3 * w // 4].astype(np.float64)
    feats = np.stack([np.abs(np.diff(centre, axis=1)).mean(axis=(1, 2)),     # lip, teeth and cavity edges
                      centre.std(axis=(1, 2)),                               # contrast
                      -centre.mean(axis=2).min(axis=1)])                     # darkness of the lip gap
    ok = feats[:, face]
    z = (feats - ok.mean(axis=1, keepdims=True)) / np.maximum(ok.std(axis=1, keepdims=True), 1e-9)
    return z[list(OPENING_FEATURES)].mean(axis=0)


def _normalise(x: np.ndarray, lo_pct: float, hi_pct: float) -> np.ndarray:
    ok = np.isfinite(x)
    lo, hi = np.percentile(x[ok], [lo_pct, hi_pct])
    return np.clip((x - lo) / max(hi - lo, 1e-6), 0.0, 1.0)


def _closures(openness: np.ndarray, face: np.ndarray, fps: float) -> np.ndarray:
    """Frame indices of lip closures: prominent openness minima, found in each run of face frames."""
    from scipy.signal import find_peaks

    wlen = max(3, int(round(CLOSURE_WINDOW_S * fps)) | 1)
    edges = np.flatnonzero(np.diff(np.r_[0, face.astype(np.int8), 0]))
    out = []
    for a, b in zip(edges[::2], edges[1::2]):
        peaks, _ = find_peaks(-openness[a:b], prominence=CLOSURE_PROMINENCE, wlen=wlen)
        out.extend(a + peaks)
    return np.asarray(out, np.int64)


def mouth_track(path: str | os.PathLike, *, start_s: float = 0.0, duration_s: float | None = None) -> MouthTrack:
    """Track mouth opening, mouth activity and lip closures in a talking-face video.

    Parameters
    ----------
    path : str or os.PathLike
        A video file PyAV/FFmpeg can read; its first video stream is used.
    start_s : float
        Where to start, seconds from the file start.
    duration_s : float, optional
        How much to read; the rest of the file when omitted.

    Returns
    -------
    MouthTrack
        Per-frame measures and the lip closures.

    Raises
    ------
    VideoError
        The file cannot be read, has no video stream or frames, or no face is found in any frame.
    """
    frames, times_s, fps = _decode(path, float(start_s), duration_s)
    n = len(frames)
    idx, boxes = _detect_faces(frames)
    if idx.size == 0:
        raise VideoError(f"no face found in {os.fspath(path)}; mouth tracking needs a frontal face")
    per_frame, face = _track_boxes(n, times_s, idx, boxes)
    mouths = _mouth_regions(frames, per_frame, face)

    edge = _opening_raw(mouths, face)
    diff = np.abs(np.diff(mouths, axis=0)).mean(axis=(1, 2)).astype(np.float64)
    motion = np.r_[diff[:1], diff] if n > 1 else np.zeros(1)
    motion[1:][~(face[1:] & face[:-1])] = np.nan                      # no difference across face gaps
    if n > 1 and not face[1] and face[0]:
        motion[0] = np.nan
    edge[~face] = np.nan
    motion[~face] = np.nan
    motion[face & np.isnan(motion)] = np.nanmedian(motion) if np.isfinite(motion).any() else 0.0
    openness = _normalise(edge, 5, 95)
    activity = _normalise(motion, 10, 98)
    closures = _closures(openness, face, fps)
    return MouthTrack(fps=fps, times_s=times_s, face=face, openness=openness, activity=activity,
                      closures_s=[float(times_s[k]) for k in closures])
