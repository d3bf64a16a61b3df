"""BlazePose through mediapipe's bundled TFLite runtime, offline, with rotation retries.

BlazePose (Bazarevsky et al., 2020, "BlazePose: On-device Real-time Body Pose tracking") is a
two-stage adult pose model: a person detector proposes an aligned region, a landmark network
predicts 33 landmarks in it. The ``mediapipe==0.10.14`` wheel ships the "full" landmark model
(``model_complexity=1``) and the detector, so this estimator runs with no network; the lite and
heavy variants would be downloaded by mediapipe and are therefore not offered.

Infants lie in every orientation and the adult-trained detector misses many of them. When no
person is found, or the mean landmark score is below ``min_score``, the image is retried rotated
by 90, 180 and 270 degrees (and, when ``boxes`` narrowed the search, on the whole frame); the
result with the highest mean score wins and its coordinates are mapped back exactly into the
original image. Which rotation won is recorded in ``Poses.meta["rotation"]``.

Scores, honestly: the per-keypoint score is mediapipe's landmark *visibility*, the network's
estimate of the probability that the landmark is visible in the image (not occluded and inside
the frame). It is not a calibrated localisation confidence: a visible but misplaced landmark can
score high, and an occluded landmark gets a low score even when its predicted position is good.
Landmarks predicted outside the image keep their (extrapolated) coordinates and their score.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infantpose._native import quiet_stderr
from infantpose.errors import InputError
from infantpose.poses import Poses
from infantpose.schemas import BLAZEPOSE33, Schema, get_schema

__all__ = [
    "ROTATIONS",
    "BlazePose",
    "create",
    "crop_region",
    "rotate_image",
    "rotate_points",
    "unrotate_points",
    "weights_paths",
]

ROTATIONS = (0, 90, 180, 270)


# --- geometry (pure functions; coordinates are continuous pixels, the image spans [0,W]x[0,H]) --

def rotate_image(image: np.ndarray, degrees: int) -> np.ndarray:
    """The image rotated counter-clockwise by 0/90/180/270 degrees (contiguous copy)."""
    k = _quarter_turns(degrees)
    return np.ascontiguousarray(np.rot90(image, k)) if k else image


def rotate_points(xy: np.ndarray, degrees: int, size: tuple[int, int]) -> np.ndarray:
    """Map (..., 2) points of an image of ``size`` (w, h) into that image rotated by ``degrees``."""
    k = _quarter_turns(degrees)
    w, h = size
    x, y = xy[..., 0], xy[..., 1]
    if k == 0:
        out = (x, y)
    elif k == 1:
        out = (y, w - x)
    elif k == 2:
        out = (w - x, h - y)
    else:
        out = (h - y, x)
    return np.stack(out, axis=-1)


def unrotate_points(xy: np.ndarray, degrees: int, size: tuple[int, int]) -> np.ndarray:
    """Inverse of :func:`rotate_points`: points of the rotated image back into the original.

    ``size`` is (w, h) of the *original* image.
    """
    k = _quarter_turns(degrees)
    w, h = size
    xr, yr = xy[..., 0], xy[..., 1]
    if k == 0:
        out = (xr, yr)
    elif k == 1:
        out = (w - yr, xr)
    elif k == 2:
        out = (w - xr, h - yr)
    else:
        out = (yr, h - xr)
    return np.stack(out, axis=-1)


def _quarter_turns(degrees: int) -> int:
    d = int(degrees) % 360
    if d % 90:
        raise ValueError(f"rotation must be a multiple of 90 degrees, got {degrees}")
    return d // 90


def crop_region(box: Sequence[float], size: tuple[int, int], margin: float = 0.25
                ) -> tuple[int, int, int, int]:
    """Integer crop (x1, y1, x2, y2) around ``box`` grown by ``margin`` × its longer side, clipped.

    The crop is made square where the image allows, because the detector expects a whole person
    with context around them.
    """
    w, h = size
    x1, y1, x2, y2 = (float(v) for v in box)
    if not np.all(np.isfinite([x1, y1, x2, y2])) or x2 <= x1 or y2 <= y1:
        return (0, 0, w, h)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side = max(x2 - x1, y2 - y1) * (1 + 2 * margin)
    a = [int(np.floor(cx - side / 2)), int(np.floor(cy - side / 2)),
         int(np.ceil(cx + side / 2)), int(np.ceil(cy + side / 2))]
    a = [max(0, a[0]), max(0, a[1]), min(w, a[2]), min(h, a[3])]
    if a[2] - a[0] < 8 or a[3] - a[1] < 8:
        return (0, 0, w, h)
    return tuple(a)  # type: ignore[return-value]


# --- mediapipe -----------------------------------------------------------------------------------

def weights_paths() -> dict[str, Path]:
    """The BlazePose model files inside the installed mediapipe wheel."""
    import importlib.util

    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(None, "mediapipe is not installed (pip install mediapipe==0.10.14)")
    root = Path(list(spec.submodule_search_locations)[0])
    return {
        "landmark": root / "modules" / "pose_landmark" / "pose_landmark_full.tflite",
        "detector": root / "modules" / "pose_detection" / "pose_detection.tflite",
    }


def _new_pose(static: bool, min_detection_confidence: float, min_tracking_confidence: float,
              smooth: bool):
    """A mediapipe Pose graph on the bundled full model; refuses to run if it would download."""
    for kind, path in weights_paths().items():
        if not path.is_file():
            raise InputError(path, f"BlazePose {kind} model missing from the mediapipe wheel "
                                   "(infantpose never downloads models; reinstall mediapipe==0.10.14)")
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mediapipe.python.solutions import pose as mp_pose

        with quiet_stderr():
            return mp_pose.Pose(static_image_mode=static, model_complexity=1,
                                smooth_landmarks=smooth, enable_segmentation=False,
                                min_detection_confidence=min_detection_confidence,
                                min_tracking_confidence=min_tracking_confidence)


def _run(pose, image: np.ndarray) -> np.ndarray | None:
    """(33, 3) normalised (x, y, visibility) from one mediapipe call, or None if nobody found."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with quiet_stderr():
            res = pose.process(np.ascontiguousarray(image))
    if res.pose_landmarks is None:
        return None
    return np.array([(lm.x, lm.y, lm.visibility) for lm in res.pose_landmarks.landmark],
                    dtype=float)


@dataclass
class _Candidate:
    keypoints: np.ndarray  # (33, 3) in original pixels
    score: float
    rotation: int
    whole_frame: bool


class BlazePose:
    """BlazePose-33 estimator (mediapipe, full model) emitting poses in ``schema``.

    Args:
        schema: output schema (coco17, infant22 or blazepose33; default blazepose33).
        mode: ``"image"`` treats every call independently (mediapipe static-image mode);
            ``"video"`` uses mediapipe's tracking mode, which reuses the previous frame's region
            and is faster and steadier on consecutive frames of one video; it also tries the
            rotation that worked on the previous frame first. Call :meth:`reset` (or
            :meth:`set_mode`) between videos; :meth:`set_rotation_hint` sets the rotation to try
            first (issue 7's tracker passes the last frame's).
        min_score: retry rotated copies when the mean landmark score is below this (0 disables
            retries on low scores; retries when nobody is found still happen).
        rotations: rotations tried, in order, after the current one (empty disables retries).
        box_margin: context added around a given box, as a fraction of its longer side.
        min_detection_confidence, min_tracking_confidence, smooth: passed to mediapipe.
    """

    name = "blazepose"

    def __init__(self, schema: str | Schema | None = None, mode: str = "image",
                 min_score: float = 0.3, rotations: Sequence[int] = ROTATIONS,
                 box_margin: float = 0.25, min_detection_confidence: float = 0.5,
                 min_tracking_confidence: float = 0.5, smooth: bool = True):
        if mode not in ("image", "video"):
            raise InputError(None, f"blazepose mode must be 'image' or 'video', got {mode!r}")
        self.schema = get_schema(schema) if schema is not None else BLAZEPOSE33
        self.mode = mode
        self.min_score = float(min_score)
        self.rotations = tuple(int(r) % 360 for r in rotations)
        for r in self.rotations:
            _quarter_turns(r)
        self.box_margin = float(box_margin)
        self._conf = (float(min_detection_confidence), float(min_tracking_confidence), bool(smooth))
        self._static = None
        self._trackers: dict[int, Any] = {}
        self._rotation = 0  # video mode: orientation that worked last (tried first)
        self._hint: int | None = None  # image mode: orientation to try first, if set
        self.calls = 0      # mediapipe invocations, for reporting retry cost

    # -- mediapipe graphs ------------------------------------------------------------------------
    def _static_pose(self):
        if self._static is None:
            self._static = _new_pose(True, *self._conf)
        return self._static

    def _tracker(self, rotation: int):
        if rotation not in self._trackers:
            self._trackers[rotation] = _new_pose(False, *self._conf)
        return self._trackers[rotation]

    def set_mode(self, mode: str) -> None:
        """Switch between ``"image"`` (independent calls) and ``"video"`` (tracking); resets."""
        if mode not in ("image", "video"):
            raise InputError(None, f"blazepose mode must be 'image' or 'video', got {mode!r}")
        self.reset()
        self.mode = mode

    def set_rotation_hint(self, rotation: int | None) -> None:
        """Try ``rotation`` first on the next call (e.g. the one that worked on the last frame)."""
        self._hint = None if rotation is None else _quarter_turns(rotation) * 90
        if self.mode == "video" and self._hint is not None:
            self._rotation = self._hint

    def reset(self) -> None:
        """Forget tracking state (start of a new video)."""
        for t in self._trackers.values():
            t.close()
        self._trackers.clear()
        self._rotation = 0
        self._hint = None

    def close(self) -> None:
        self.reset()
        if self._static is not None:
            self._static.close()
            self._static = None

    def __enter__(self) -> BlazePose:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- inference -------------------------------------------------------------------------------
    def _attempt(self, image: np.ndarray, rotation: int, offset: tuple[int, int],
                 full_size: tuple[int, int], whole: bool, tracking: bool) -> _Candidate | None:
        """Run once on ``image`` (a crop at ``offset`` of a frame of ``full_size``) rotated."""
        h, w = image.shape[:2]
        rotated = rotate_image(image, rotation)
        pose = self._tracker(rotation) if tracking else self._static_pose()
        self.calls += 1
        out = _run(pose, rotated)
        if out is None:
            return None
        rh, rw = rotated.shape[:2]
        xy = out[:, :2] * np.array([rw, rh], dtype=float)
        xy = unrotate_points(xy, rotation, (w, h)) + np.asarray(offset, dtype=float)
        kp = np.concatenate([xy, out[:, 2:3]], axis=1)
        return _Candidate(kp, float(np.mean(out[:, 2])), rotation, whole)

    def _order(self) -> list[int]:
        first = self._rotation if self.mode == "video" else (self._hint or 0)
        return [first] + [r for r in self.rotations if r != first]

    def _good(self, c: _Candidate | None) -> bool:
        return c is not None and c.score >= self.min_score

    def _search(self, image: np.ndarray, box: np.ndarray | None) -> tuple[_Candidate | None, int]:
        """Best candidate for one region, trying rotations (and the whole frame) as needed."""
        full = (image.shape[1], image.shape[0])
        if box is not None:
            x1, y1, x2, y2 = crop_region(box, full, self.box_margin)
            regions = [((x1, y1, x2, y2), False)]
            if (x1, y1, x2, y2) != (0, 0, full[0], full[1]):
                regions.append(((0, 0, full[0], full[1]), True))
            else:
                regions[0] = (regions[0][0], True)
        else:
            regions = [((0, 0, full[0], full[1]), True)]
        tracking_ok = self.mode == "video" and box is None
        best: _Candidate | None = None
        tries = 0
        for (x1, y1, x2, y2), whole in regions:
            crop = image[y1:y2, x1:x2] if not whole else image
            order = self._order() if self.rotations else self._order()[:1]
            for i, rot in enumerate(order):
                tracking = tracking_ok and i == 0
                c = self._attempt(crop, rot, (x1, y1), full, whole, tracking)
                tries += 1
                if c is not None and (best is None or c.score > best.score):
                    best = c
                if self._good(best):
                    return best, tries
        return best, tries

    def predict(self, image: np.ndarray, boxes: np.ndarray | None = None) -> Poses:
        """Poses (one frame; one instance per box, or one without boxes) in ``self.schema``.

        When nobody is found the instance is all-missing (NaN coordinates, score 0).
        ``meta`` holds, per instance, ``rotation`` (degrees, None when not found), ``found``,
        ``whole_frame`` (a box was given but the whole frame won) and ``attempts``.
        """
        img = np.asarray(image)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise InputError(None, f"blazepose expects an H×W×3 uint8 RGB image, got "
                                   f"{img.shape} {img.dtype}")
        img = np.ascontiguousarray(img)
        bxs: list[np.ndarray | None]
        if boxes is None or len(boxes) == 0:
            bxs = [None]
        else:
            bxs = [np.asarray(b, dtype=float).reshape(4) for b in np.asarray(boxes, dtype=float)]
        data = np.full((1, len(bxs), BLAZEPOSE33.num_keypoints, 3), np.nan)
        data[..., 2] = 0.0
        meta: dict[str, list] = {"rotation": [], "found": [], "whole_frame": [], "attempts": []}
        for n, b in enumerate(bxs):
            best, tries = self._search(img, b)
            meta["attempts"].append(tries)
            if best is None:
                meta["rotation"].append(None)
                meta["found"].append(False)
                meta["whole_frame"].append(False)
                continue
            data[0, n] = best.keypoints
            meta["rotation"].append(best.rotation)
            meta["found"].append(True)
            meta["whole_frame"].append(bool(best.whole_frame and b is not None))
            if self.mode == "video" and best.rotation != self._rotation:
                # Track in the orientation that works from now on, starting afresh.
                old = self._trackers.pop(best.rotation, None)
                if old is not None:
                    old.close()
                self._rotation = best.rotation
        poses = Poses(data, BLAZEPOSE33, source=None, frame_size=(img.shape[1], img.shape[0]),
                      meta={"model": self.name, **meta})
        return poses if self.schema.name == BLAZEPOSE33.name else poses.convert(self.schema)


def create(schema: str | Schema | None = None, weights: str | None = None,
           **options: Any) -> BlazePose:
    """Factory registered as ``blazepose``; ``weights`` must be empty (the wheel ships them)."""
    if weights:
        raise InputError(weights, "the blazepose model uses the weights inside the mediapipe "
                                  "wheel and takes no --weights file")
    return BlazePose(schema=schema, **options)
