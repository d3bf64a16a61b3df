"""Following one infant through the frames of a video: a Tracker wraps any estimator.

Estimators are frame-stateless: ``predict(image, boxes=None) -> Poses``, each call on its own.
What a video adds (where the infant was on the previous frame, which way up it lay, the frame's
time) lives in a :class:`Tracker`, one per video, as rtmlib's ``PoseTracker`` wraps a pose
model. :func:`make_tracker` builds the right one for an estimator:

* :class:`BoxTracker` (any estimator): the previous frame's confident keypoints give the next
  frame's search box, passed as ``predict(frame, boxes=box[None])``; without a box (first frame,
  infant lost, tracking off) the estimator searches the whole frame; a tracked pose whose
  confidence drops below ``redetect_score`` is searched for afresh. Built-in models hand the
  tracker a *view* of themselves that also takes a :class:`Hint` (the quarter turn that found
  the infant last, the frame's time), so the hint is an argument of each call, never state
  kept in the model (a view that crops on the previous pose keeps it itself, per tracker);
* an estimator may offer a tracker of its own, ``estimator.tracker(config, following)``: the
  mediapipe runtime (:class:`~infantpose.models.blazepose.BlazePose`) returns one that runs
  mediapipe's own video mode (its landmark model follows the previous frame's region and its
  detector runs only when the pose is lost).

:func:`infantpose.video.tracking.track_frames` runs a tracker over a video's frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Protocol

import numpy as np

from infantpose.geometry import clip_box, grow_box, tight_box
from infantpose.poses import Poses

__all__ = ["BoxTracker", "Hint", "OwnTracker", "Step", "Tracker", "TrackingConfig", "box_is_valid",
           "first_instance",
           "make_tracker", "next_box", "pick_instance", "pose_confidence", "search_box"]


@dataclass
class TrackingConfig:
    """Tracking thresholds.

    Attributes:
        margin: the box from keypoints is grown by this fraction of its size on every side
            (limbs move between frames, and end points such as the head top lie beyond the
            outermost keypoint).
        min_score: keypoints scoring at least this define the box.
        redetect_score: re-detect when the tracked pose's confidence (mean keypoint score) is
            below this; with a new detection that also scores below it, the track is dropped.
        min_keypoints: a pose with fewer confident keypoints gives no box.
        min_box: boxes smaller than this many pixels on a side are degenerate.
        square: make the box square (the landmark model's input is square).
        hold: keep the previous box while all confident keypoints stay inside it shrunk by this
            fraction per side (a steady crop; 0 recomputes the box every frame).
        own_tracking: estimators with a tracker of their own (the mediapipe runtime's video
            mode) use it; False gives them the box tracker like every other model
            (``benchmarks/video_tracking.py`` compares the two: on rendered clips the own
            video mode has 0.6 times the jitter and CPU time per frame, at a median error
            within 0.1 % of the body size).
    """

    margin: float = 0.25
    min_score: float = 0.5
    redetect_score: float = 0.3
    min_keypoints: int = 4
    min_box: float = 16.0
    square: bool = True
    hold: float = 0.1
    own_tracking: bool = True


@dataclass(frozen=True)
class Hint:
    """What a tracker knows from the frames before, handed to an estimator's tracked view.

    Attributes:
        rotation: the quarter turn (0/90/180/270) that found the infant last (None: unknown);
            rotation-searching models try it first.
        following: True when consecutive calls are frames of one video followed with boxes;
            False when every frame is searched afresh (tracking off).
        time: the frame's time in seconds (None: unknown).
    """

    rotation: int | None = None
    following: bool = True
    time: float | None = None


@dataclass
class Step:
    """One frame's outcome.

    Attributes:
        instance: the followed infant's (K, 3) keypoints in the estimator's schema, or None.
        confidence: its mean keypoint score (0 without an instance).
        rotation / path: the quarter turn and the estimator path that found it (the
            prediction's ``rotation`` / ``path`` fields).
        outcome: ``"detected"`` (a search, with no infant found the frame before),
            ``"tracked"`` (followed from the previous frame) or ``"redetected"`` (a new search
            after the infant had been found).
        meta: the estimator's ``meta`` of the prediction kept (for ``missing_keypoints``).
    """

    instance: np.ndarray | None
    confidence: float
    rotation: int | None
    path: str | None
    outcome: str
    meta: dict[str, Any]


class Tracker(Protocol):
    """Follows one infant through the frames of one video (state: the previous frames)."""

    #: ``"box"``, ``"own"`` or ``"off"`` (``meta["tracking"]["method"]``)
    method: str
    #: whether the orientation that found the infant is carried to the next frame
    keeps_rotation: bool

    def step(self, frame: np.ndarray, time: float | None = None) -> Step:
        """The next frame (H×W×3 uint8 RGB) and its time in seconds."""
        ...

    def close(self) -> None:
        """Free what the tracker holds (never the estimator it wraps)."""
        ...


# --- boxes from keypoints -----------------------------------------------------------------------

def pose_confidence(instance: np.ndarray) -> float:
    """Mean keypoint score of one (K, 3) instance (missing keypoints count as 0)."""
    s = np.nan_to_num(np.asarray(instance, float)[:, 2])
    return float(s.mean()) if s.size else 0.0


def box_is_valid(box: np.ndarray | None, min_box: float = 16.0) -> bool:
    """True for a finite box at least ``min_box`` pixels on each side."""
    if box is None:
        return False
    b = np.asarray(box, float)
    return bool(np.isfinite(b).all() and b[2] - b[0] >= min_box and b[3] - b[1] >= min_box)


def search_box(instance: np.ndarray, frame_size: tuple[int, int], config: TrackingConfig
               ) -> np.ndarray | None:
    """The next frame's search box (x1, y1, x2, y2) from one (K, 3) instance, or None.

    The box around the confident keypoints (:func:`infantpose.geometry.tight_box`), made square
    and grown by ``config.margin`` per side (:func:`~infantpose.geometry.grow_box`), clipped to
    the frame. None when fewer than ``config.min_keypoints`` keypoints are confident or the box
    degenerates (too small, or entirely outside the frame).
    """
    inst = np.asarray(instance, float)
    tight = tight_box(inst[:, :2], inst[:, 2] >= config.min_score, max(config.min_keypoints, 1))
    if tight is None:
        return None
    box = clip_box(grow_box(tight, config.margin, square=config.square), frame_size)
    return box if box_is_valid(box, config.min_box) else None


def next_box(prev: np.ndarray | None, instance: np.ndarray, frame_size: tuple[int, int],
             cfg: TrackingConfig) -> np.ndarray | None:
    """The search box for the next frame, held steady while the infant stays well inside it.

    A crop that moves with every frame's keypoint noise feeds that noise back into the next
    estimate (the model sees a shifted, rescaled image each frame). So the previous box is kept
    as long as every confident keypoint lies inside its inner part (the box shrunk by
    ``cfg.hold`` of its size per side) and the new box is not much smaller; otherwise it is
    recomputed from the keypoints.
    """
    new = search_box(instance, frame_size, cfg)
    if new is None or prev is None or cfg.hold <= 0:
        return new
    inst = np.asarray(instance, float)
    ok = np.isfinite(inst[:, :2]).all(axis=1) & (inst[:, 2] >= cfg.min_score)
    w, h = prev[2] - prev[0], prev[3] - prev[1]
    inner = prev + np.array([w, h, -w, -h]) * cfg.hold
    xy = inst[ok, :2]
    inside = bool(((xy >= inner[:2]) & (xy <= inner[2:])).all())
    shrunk = (new[2] - new[0]) * (new[3] - new[1]) < 0.5 * w * h
    return prev if inside and not shrunk else new


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def pick_instance(result: Poses, box: np.ndarray | None) -> tuple[np.ndarray | None, float]:
    """The instance to follow: with a box, best overlap × confidence; else the most confident."""
    if result.n_instances == 0:
        return None, 0.0
    best, best_val, best_conf = None, -1.0, 0.0
    for inst in result.data[0]:
        if not np.isfinite(inst[:, :2]).any():
            continue
        conf = pose_confidence(inst)
        val = conf
        if box is not None:
            xy = inst[np.isfinite(inst[:, :2]).all(axis=1), :2]
            ib = np.array([*xy.min(axis=0), *xy.max(axis=0)])
            val = conf * (0.5 + _iou(ib, box))
        if val > best_val:
            best, best_val, best_conf = inst, val, conf
    return best, best_conf


def first_instance(result: Poses, field: str) -> Any:
    """Typed field ``field`` (``"path"``, ``"rotation"``, ``"tracked"``, ...) of the first
    instance of a one-frame prediction, or None when not recorded or unknown (NaN)."""
    val = getattr(result, field)
    if val is None or val.ndim < 2 or val.shape[1] == 0:
        return None
    v = val[0, 0]
    return None if isinstance(v, float) and np.isnan(v) else v


def _rotation_of(result: Poses) -> int | None:
    rot = first_instance(result, "rotation")
    return None if rot is None else int(rot)


def _path_of(result: Poses) -> str | None:
    path = first_instance(result, "path")
    return None if path is None else str(path)


# --- the box tracker ----------------------------------------------------------------------------

#: An estimator's tracked view: ``view(image, boxes, hint) -> Poses`` (one frame).
View = Callable[[np.ndarray, "np.ndarray | None", Hint], Poses]


class BoxTracker:
    """Follows the infant with any estimator: the previous pose's box is the next search.

    Args:
        estimator: any estimator (``predict(image, boxes=None) -> Poses``).
        config: thresholds (:class:`TrackingConfig`).
        following: False searches every frame afresh (``boxes=None``; tracking off).
        view: ``view(image, boxes, hint)`` to call instead of ``estimator.predict`` (a built-in
            model's tracked view, which takes the :class:`Hint`; one made for this tracker
            may remember the previous frame, e.g. to crop on its pose); None: ``predict``.
    """

    def __init__(self, estimator: Any, config: TrackingConfig | None = None,
                 following: bool = True, view: View | None = None):
        self.estimator = estimator
        self.config = config or TrackingConfig()
        self.following = bool(following)
        self.view = view
        self.method = "box" if following else "off"
        self.keeps_rotation = view is not None or self.following
        self.box: np.ndarray | None = None
        self.rotation: int | None = None

    def _predict(self, frame: np.ndarray, boxes: np.ndarray | None, time: float | None) -> Poses:
        if self.view is None:
            return self.estimator.predict(frame, boxes)
        return self.view(frame, boxes, Hint(self.rotation, self.following, time))

    def step(self, frame: np.ndarray, time: float | None = None) -> Step:
        cfg = self.config
        size = (int(frame.shape[1]), int(frame.shape[0]))
        used = self.box if self.following else None
        res = self._predict(frame, None if used is None else used[None], time)
        inst, conf = pick_instance(res, used)
        rot, path, meta = _rotation_of(res), _path_of(res), res.meta
        if used is None:
            outcome = "detected"
        elif inst is None or conf < cfg.redetect_score:
            outcome = "redetected"
            res2 = self._predict(frame, None, time)
            inst2, conf2 = pick_instance(res2, None)
            if inst2 is not None and (inst is None or conf2 > conf):
                inst, conf, rot, path, meta = (inst2, conf2, _rotation_of(res2),
                                               _path_of(res2), res2.meta)
        else:
            outcome = "tracked"
        if inst is None or conf < cfg.redetect_score:
            self.box = None
        else:
            self.box = next_box(self.box, inst, size, cfg)
            if rot is not None:
                self.rotation = rot
        return Step(inst, conf if inst is not None else 0.0, rot, path, outcome, meta)

    def close(self) -> None:
        self.box, self.rotation = None, None


class OwnTracker:
    """A model's own video mode as a tracker: whole frames in, the model follows by itself.

    Args:
        runner: an estimator-like object in its own video mode, made for this tracker alone
            (it holds the video's state; e.g. the mediapipe runtime's video-mode twin), whose
            ``tracked`` field says per frame whether it followed the previous pose (True) or
            searched afresh (False); without it a pose after a pose counts as followed.
        at_time: called with each frame's time (seconds, or None) before the frame, for models
            that smooth over time.

    Closing the tracker closes the runner.
    """

    method = "own"
    keeps_rotation = True

    def __init__(self, runner: Any,
                 at_time: Callable[[float | None], None] | None = None):
        self.runner = runner
        self.at_time = at_time
        self.had_pose = False

    def step(self, frame: np.ndarray, time: float | None = None) -> Step:
        if self.at_time is not None:
            self.at_time(time)
        res = self.runner.predict(frame)
        inst, conf = pick_instance(res, None)
        followed = first_instance(res, "tracked")
        if inst is not None and (self.had_pose if followed is None else bool(followed)):
            outcome = "tracked"
        elif self.had_pose:
            outcome = "redetected"
        else:
            outcome = "detected"
        self.had_pose = inst is not None
        return Step(inst, conf, _rotation_of(res), _path_of(res), outcome, res.meta)

    def close(self) -> None:
        close = getattr(self.runner, "close", None)
        if callable(close):
            close()


def make_tracker(estimator: Any, config: TrackingConfig | None = None,
                 following: bool = True) -> Tracker:
    """The tracker for ``estimator``: its own (``estimator.tracker(config, following)``) where
    it offers one, else a :class:`BoxTracker` calling its ``predict``."""
    cfg = config or TrackingConfig()
    own = getattr(estimator, "tracker", None)
    if callable(own):
        return own(cfg, following)
    return BoxTracker(estimator, cfg, following)
