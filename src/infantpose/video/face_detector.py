"""Finding an infant's face: mediapipe's BlazeFace detector (shipped in the wheel), tried
upright and at the other quarter turns, and the face region of a detector box or of a pose's
head keypoints.

Split out of ``video/privacy.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable

import numpy as np

from infantpose._native import quiet_stderr
from infantpose.geometry import rotate_image, unrotate_points
from infantpose.models.tta import search_turns, turn_order
from infantpose.schemas import Schema
from infantpose.video.face_region import detector_region, keypoint_region

__all__ = ["FaceDetector", "expand_box", "head_box"]


# --- finding the face ----------------------------------------------------------------------------
class FaceDetector:
    """mediapipe's BlazeFace detector (shipped in the wheel), tried upright then rotated.

    ``detect(rgb)`` returns an (M, 5) array of face boxes ``x1, y1, x2, y2, score`` in pixels.
    When no face is found upright, the image is rotated by 90, 270 and 180 degrees in turn; the
    first orientation that finds a face is tried first on the next frame.
    """

    def __init__(self, min_confidence: float = 0.5, full_range: bool = True,
                 rotations: Iterable[int] = (0, 90, 270, 180)):
        os.environ.setdefault("GLOG_minloglevel", "2")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # imported here: mediapipe (about 3 s) loads when a face detector is made
            from mediapipe.python.solutions import face_detection

            with quiet_stderr():
                self._det = face_detection.FaceDetection(
                    model_selection=1 if full_range else 0, min_detection_confidence=min_confidence)
        self.rotations = [int(r) % 360 for r in rotations]
        self._first = self.rotations[0] if self.rotations else 0
        self.calls = 0

    def _run(self, rgb: np.ndarray, rotation: int) -> np.ndarray:
        img = np.ascontiguousarray(rotate_image(rgb, rotation))
        self.calls += 1

        with warnings.catch_warnings():  # protobuf deprecation noise from mediapipe
            warnings.simplefilter("ignore")
            with quiet_stderr():
                res = self._det.process(img)
        rh, rw = img.shape[:2]
        h, w = rgb.shape[:2]
        out = []
        for d in res.detections or []:
            bb = d.location_data.relative_bounding_box
            x1, y1 = bb.xmin * rw, bb.ymin * rh
            x2, y2 = x1 + bb.width * rw, y1 + bb.height * rh
            corners = unrotate_points(np.array([[x1, y1], [x2, y1], [x1, y2], [x2, y2]]),
                                      rotation, (w, h))
            bx1, by1 = corners.min(axis=0)
            bx2, by2 = corners.max(axis=0)
            out.append([bx1, by1, bx2, by2, float(d.score[0]) if d.score else 1.0])
        return np.asarray(out, float).reshape(-1, 5)

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        def attempt(rot: int) -> np.ndarray | None:
            boxes = self._run(rgb, rot)
            return boxes if len(boxes) else None

        # the first orientation that finds a face wins (and goes first on the next frame)
        found = search_turns(attempt, turn_order(self._first, self.rotations), lambda b: 0.0,
                             good=lambda b: True)
        if found.best is None:
            return np.zeros((0, 5))
        self._first = found.turn
        return found.best

    def close(self) -> None:
        self._det.close()


def expand_box(box: np.ndarray, margin: float, frame_size: tuple[int, int]) -> np.ndarray:
    """The hiding region of a face-detector box (see :func:`detector_region`), as an array."""
    return detector_region(box, frame_size, margin).box


def head_box(instance: np.ndarray, schema: Schema, min_score: float = 0.3,
             frame_size: tuple[int, int] | None = None, margin: float = 0.3
             ) -> np.ndarray | None:
    """The face region (x1, y1, x2, y2) of one (K, 3) instance placed from its *head* keypoints,
    or None when none is present (see :mod:`infantpose.video.face_region`)."""
    inst = np.asarray(instance, float)
    if frame_size is None:
        xy = inst[np.isfinite(inst[:, :2]).all(axis=1), :2]
        span = float(xy.max()) * 2 + 1 if len(xy) else 1.0
        frame_size = (int(span), int(span))
    reg = keypoint_region(inst, schema, frame_size, margin, min_score)
    return None if reg is None or reg.source != "keypoints" else reg.box
