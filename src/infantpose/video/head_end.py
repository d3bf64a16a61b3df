"""Which end of a skeleton is the head: the upright cut-out around a candidate end, whether the
face detector finds a face there, which poses no person detector found (guessed), and the
video's track of confirmed head ends (:class:`HeadTrack`).

Split out of ``video/privacy.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import numpy as np

from infantpose.video.face_region import BodyEnds, FaceRegion

__all__ = ["CROP_HEAD_SIZES", "CROP_PX", "MAX_HEAD_OFFSET", "GUESS_PATH", "HeadTrack",
           "end_has_face", "guessed_instances", "upright_crop"]


# --- which end of a skeleton is the head ---------------------------------------------------------
#: Side of the square cut out around a candidate end, in head sizes (the face is then about a
#: fifth of the cut-out, a size BlazeFace's short-range model finds well).
CROP_HEAD_SIZES = 3.0
#: Pixel size the cut-out is resampled to before detection.
CROP_PX = 192


def upright_crop(rgb: np.ndarray, centre: np.ndarray, down: np.ndarray, side: float,
                 out_px: int = CROP_PX) -> tuple[np.ndarray, float]:
    """The square of ``side`` pixels around ``centre``, turned so that the unit vector ``down``
    (from a candidate head towards its body) points down, resampled to ``out_px`` pixels.

    Returns the cut-out and its scale (output pixels per image pixel). A point ``u`` of the
    cut-out lies at ``centre + R.T @ (u - out_px / 2) / scale`` in the image, with
    ``R = [[dy, -dx], [dx, dy]]`` (see :func:`end_has_face`). Large images are first reduced
    with area averaging, so small cut-outs of big photos are not aliased.
    """
    # imported here: OpenCV loads only when a crop is turned upright
    import cv2

    h, w = rgb.shape[:2]
    dx, dy = (float(v) for v in down)
    rot = np.array([[dy, -dx], [dx, dy]])
    scale = out_px / max(side, 1.0)
    half = 0.75 * side  # > side / sqrt(2): the turned square's bounding box
    x0, y0 = int(max(0, np.floor(centre[0] - half))), int(max(0, np.floor(centre[1] - half)))
    x1, y1 = int(min(w, np.ceil(centre[0] + half))), int(min(h, np.ceil(centre[1] + half)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((out_px, out_px, 3), np.uint8), scale
    sub = rgb[y0:y1, x0:x1]
    pre = 1.0
    if scale < 0.5:  # reduce first: warpAffine alone would alias
        pre = min(1.0, 2.0 * scale)
        sub = cv2.resize(sub, (max(2, int(round(sub.shape[1] * pre))),
                               max(2, int(round(sub.shape[0] * pre)))),
                         interpolation=cv2.INTER_AREA)
    c = (np.asarray(centre, float) - (x0, y0)) * pre
    a = (scale / pre) * rot
    m = np.hstack([a, (np.array([out_px / 2.0, out_px / 2.0]) - a @ c)[:, None]])
    crop = cv2.warpAffine(np.ascontiguousarray(sub), m, (out_px, out_px),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))
    return crop, scale


#: A detection confirms a head end only when its centre lies within this many head sizes of the
#: face keypoints' centre. Measured on 200 real infant photos (SyRIP, BlazePose skeletons):
#: true detections lay at most 0.58 head sizes away in 99 % of the photos, while the two
#: detections that fired on the feet of an upside-down skeleton lay 0.71 and 0.84 away.
MAX_HEAD_OFFSET = 0.6


def end_has_face(detector: Any, rgb: np.ndarray, centre: np.ndarray, down: np.ndarray,
                 region: FaceRegion, max_offset: float | None = None) -> bool:
    """Whether ``detector`` (a :class:`FaceDetector`) finds a face in the cut-out around one
    candidate end, turned upright (:func:`upright_crop`, :data:`CROP_HEAD_SIZES` head sizes).

    A detection counts when its size is 0.25-1.5 head sizes (true faces measured 0.37-1.34)
    and its centre, mapped back to the image, lies inside that end's ``region`` and, with
    ``max_offset``, within ``max_offset`` head sizes of ``centre``. Confirming a head end uses
    the strict test (:data:`MAX_HEAD_OFFSET`); looking for a face at the other end, which can
    only add hiding, uses the whole region.
    """
    size = region.face_size
    crop, scale = upright_crop(rgb, centre, down, CROP_HEAD_SIZES * size)
    dx, dy = (float(v) for v in down)
    rot_t = np.array([[dy, dx], [-dx, dy]])
    c = np.asarray(centre, float)
    for b in detector.detect(crop):
        u = np.array([(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0]) - CROP_PX / 2.0
        p = c + rot_t @ (u / scale)
        side = max(b[2] - b[0], b[3] - b[1]) / scale
        if not (0.25 * size <= side <= 1.5 * size and _inside(p, region.box)):
            continue
        if max_offset is None or np.hypot(*(p - c)) <= max_offset * size:
            return True
    return False


#: ``Poses.path`` value of a pose no person detector found (BlazePose's landmark-only
#: fallback, :mod:`infantpose.models.blazepose`).
GUESS_PATH = "fallback"


def guessed_instances(paths: Sequence[str | None] | np.ndarray | None) -> list[bool]:
    """Per instance, whether its pose is a guess, from one frame's row of ``Poses.path``
    (None: the poses record no path, so nothing is a guess)."""
    if paths is None:
        return []
    return [p == GUESS_PATH for p in paths]


def _inside(xy: np.ndarray, box: np.ndarray) -> bool:
    return bool(box[0] <= xy[0] <= box[2] and box[1] <= xy[1] <= box[3])


class HeadTrack:
    """Where the face detector confirmed a skeleton's head end in the recent frames of one video.

    A frame in which the detector confirms no end can still trust its skeleton's head end when
    the head was confirmed *at that place* in at least ``min_frames`` of the last ``window``
    frames and at least ``agree`` of those confirmations lie nearer the skeleton's head end than
    its far end (by less than half the body length from the head end). A skeleton that flips
    upside down in one frame puts its head end where the feet were confirmed to be, so the
    track refuses it; an infant that moves away from where its head was confirmed gets both
    ends hidden until the detector confirms again. Only direct detector confirmations are
    remembered, so the track cannot confirm itself. Past frames only (a stream is de-identified
    as it is decoded).
    """

    def __init__(self, window: int = 90, min_frames: int = 3, agree: float = 0.8):
        self.window, self.min_frames, self.agree = int(window), int(min_frames), float(agree)
        self.frame = -1
        self._seen: deque[tuple[int, np.ndarray]] = deque()

    def next_frame(self) -> None:
        """Advance one frame; forget confirmations older than the window."""
        self.frame += 1
        while self._seen and self._seen[0][0] <= self.frame - self.window:
            self._seen.popleft()

    def confirm(self, head_point: np.ndarray) -> None:
        """Remember a head end the detector confirmed in the current frame."""
        self._seen.append((self.frame, np.asarray(head_point, float)))

    def trusts(self, ends: BodyEnds) -> bool:
        """Whether recent confirmations vouch for this skeleton's head end (see class doc)."""
        pts = [p for _, p in self._seen]
        if len({f for f, _ in self._seen}) < self.min_frames:
            return False
        reach = 0.5 * ends.length
        near = [np.hypot(*(p - ends.head_point)) < min(reach, np.hypot(*(p - ends.far_point)))
                for p in pts]
        return sum(near) >= self.min_frames and sum(near) >= self.agree * len(near)
