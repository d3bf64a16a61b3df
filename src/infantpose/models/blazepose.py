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
original image. Which rotation won is recorded in ``Poses.rotation``.

Test-time mirroring (``mirror_test``, on by default in image mode): the image's left-right
mirror image is predicted too, its pose mapped back with left and right swapped back, and the
two are averaged when they agree (else the more confident is kept): COCO AP +0.03 on real infant
photos for twice the time (``benchmarks/tta_real.py``, docs/models.md).

The landmark-only fallback (issue 13: never missing an infant whom the landmark network can
see where the person detector cannot) is described in :mod:`infantpose.models.blazepose_fallback`;
the test-time mirror's methods live in :mod:`infantpose.models.blazepose_mirror`.

Scores, honestly: the per-keypoint score is mediapipe's landmark *visibility*, the network's
estimate of the probability that the landmark is visible in the image (not occluded and inside
the frame). It is not a calibrated localisation confidence: a visible but misplaced landmark can
score high, and an occluded landmark gets a low score even when its predicted position is good.
Landmarks predicted outside the image keep their (extrapolated) coordinates and their score.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from infantpose._native import quiet_stderr  # noqa: F401  (re-exported, as before the split)
from infantpose.errors import InputError
from infantpose.geometry import Roi, crop_region, quarter_turns, rotate_image, unrotate_points
# the landmark-only fallback's search and the test-time mirror are the class's two mixins
from infantpose.models.blazepose_fallback import FallbackSearch
from infantpose.models.blazepose_mirror import MirrorTest
# the mediapipe graphs, the region-only landmark graph and the search's candidates live in
# their own modules (re-exported here: callers and tests reach them through this module, and
# BlazePose looks them up here, so patching them here still takes effect)
from infantpose.models.blazepose_roi import (_ROI_GRAPH, _new_roi_graph,  # noqa: F401
                                             _RoiResult, _run_roi, roi_from_proto, roi_to_proto)
from infantpose.models.blazepose_runtime import (LANDMARK_MODELS,  # noqa: F401
                                                 _check_landmark_model, _new_pose,
                                                 _resource_root, _run, _SHADOW_ROOTS,
                                                 _solution, _Tracker, weights_paths)
from infantpose.models.blazepose_views import (_Candidate, _check_mirror_test,  # noqa: F401
                                               _check_mirror_tol, _hint, _score, mirror_boxes,
                                               mirror_rotation)
# the mirror test's rule and tolerance live in models.tta (re-exported here for their importers)
from infantpose.models.tta import (MIRROR_TOL, QUARTER_TURNS, combine_views,  # noqa: F401
                                   mirror_back, search_turns)
from infantpose.models.tracker import BoxTracker, OwnTracker, TrackingConfig
from infantpose.poses import Poses
from infantpose.schemas import BLAZEPOSE33, Schema, get_schema

__all__ = [
    "FALLBACK_MODES",
    "MIRROR_TOL",
    "ROTATIONS",
    "BlazePose",
    "combine_views",
    "create",
    "mirror_boxes",
    "roi_from_proto",
    "roi_to_proto",
    "weights_paths",
    "LANDMARK_MODELS",
    "create_heavy",
]

ROTATIONS = QUARTER_TURNS
FALLBACK_MODES = ("auto", "off", "always")


class BlazePose(FallbackSearch, MirrorTest):
    """BlazePose-33 estimator (mediapipe, full model) emitting poses in ``schema``.

    :meth:`predict` treats every call independently (mediapipe's static-image mode). Videos:
    :meth:`tracker` gives a tracker that runs mediapipe's own video mode (a runner of its own,
    which reuses the previous frame's region, is faster and steadier on consecutive frames of
    one video, and tries the rotation that worked on the previous frame first), or the box
    tracker with the last frame's rotation as a hint.

    Args:
        schema: output schema (coco17, infant22 or blazepose33; default blazepose33).
        min_score: retry rotated copies when the mean landmark score is below this (0 disables
            retries on low scores; retries when nobody is found still happen); the landmark-only
            fallback runs when the detector's best pose still scores below it.
        rotations: rotations tried, in order, after the current one (empty disables retries;
            the fallback then tries only the first orientation).
        box_margin: context added around a given box, as a fraction of its longer side.
        fallback: ``"auto"`` (default) runs the landmark model without the detector when the
            detector finds nobody or only poses below ``min_score`` (module docstring);
            ``"off"`` never does (a frame may then have no pose, as before issue 13);
            ``"always"`` skips the detector (for measuring the fallback on its own).
        min_presence: a fallback pose whose presence score is below this is refused (the
            gate of mediapipe's own landmark stage, 0.5): blank frames and empty cribs get no
            invented infant. On the 200 real SyRIP photos the fallback's chosen pose had
            presence >= 0.89 on every photo; on a blank, a black, a noise and three blanket
            images 0.00-0.34. In ``"video"`` mode a fallback region carried over from the
            previous frame is kept while the presence stays at least this (and the pose scores
            at least ``min_score``); below it the full search runs again.
            A fallback pose in the orientation the caller or the previous frame vouches for is
            likewise kept without trying the other quarter turns when it is this confident.
        refine: fallback passes re-run on the region MediaPipe derives from the previous
            pass's landmarks. On the 200 real SyRIP photos with the fallback forced on every
            photo, COCO AP was 0.33 / 0.42 / 0.45 / 0.44 with 0 / 1 / 2 / 3 passes
            (``benchmarks/blazepose_fallback.py``; the detector path scores 0.63 there).
        min_detection_confidence, min_tracking_confidence, smooth: passed to mediapipe.
        mirror_test: predict the image and its left-right mirror image too, map the mirrored
            pose back (left/right keypoints swapped back) and combine the two
            (:func:`combine_views`). None (default): in ``"image"`` mode only, where it costs
            twice the time and, with the labelled boxes given, raised COCO AP on the 200 real
            SyRIP photos from 0.643 to 0.672 (0.628 to 0.652 on the 50 validation photos);
            ``"video"`` mode stays one view (speed; tracking and filters handle jitter).
            True / False: always / never.
        mirror_tol: views whose keypoints lie farther apart than this fraction of the body
            box's diagonal (on average) are not averaged: the more confident one is kept.
    """

    name = "blazepose"

    def __init__(self, schema: str | Schema | None = None,
                 min_score: float = 0.3, rotations: Sequence[int] = ROTATIONS,
                 box_margin: float = 0.25, fallback: str = "auto", min_presence: float = 0.5,
                 refine: int = 2,
                 min_detection_confidence: float = 0.5, min_tracking_confidence: float = 0.5,
                 smooth: bool = True, mirror_test: bool | None = None,
                 mirror_tol: float = 0.1, landmark_model: str = "full"):
        if fallback not in FALLBACK_MODES:
            raise InputError(None, f"blazepose fallback must be one of "
                                   f"{', '.join(FALLBACK_MODES)}, got {fallback!r}")
        self.schema = get_schema(schema) if schema is not None else BLAZEPOSE33
        self.landmark_model = _check_landmark_model(landmark_model)
        if self.landmark_model != "full":
            self.name = f"blazepose-{self.landmark_model}"
            weights_paths(self.landmark_model)  # a missing network fails now, in one line
        self.mode = "image"  # "video": the runner of a tracker (:meth:`tracker`)
        self.min_score = float(min_score)
        self.rotations = tuple(int(r) % 360 for r in rotations)
        for r in self.rotations:
            quarter_turns(r)
        self.box_margin = float(box_margin)
        self.fallback = fallback
        self.min_presence = float(min_presence)
        self.refine = max(0, int(refine))
        self._conf = (float(min_detection_confidence), float(min_tracking_confidence), bool(smooth))
        self._static = None
        self._roi_graph = None
        self._trackers: dict[int, Any] = {}
        self._rotation = 0  # video mode: orientation that worked last (tried first)
        self._carry: Roi | None = None  # video mode: region of the last fallback pose
        self._frame_time: float | None = None  # video mode: the next frame's time (seconds)
        self._found_before = False  # video mode: a previous frame had a pose (orientation known)
        self.calls = 0      # mediapipe invocations (detector graph and landmark-only passes)
        self.fallback_calls = 0  # landmark-only passes, included in ``calls``
        # test-time mirroring (:meth:`predict`); the mirrored view of a video runs in a twin
        self.mirror_test = _check_mirror_test(mirror_test)
        self.mirror_tol = _check_mirror_tol(mirror_tol)
        self._twin: BlazePose | None = None
        #: video runner: the estimator whose static-image graphs (no state between calls) it
        #: borrows, and which predicts its mirrored views
        self._lender: BlazePose | None = None
        self._twin_options = {"min_score": min_score, "rotations": rotations,
                              "box_margin": box_margin, "fallback": fallback,
                              "min_presence": min_presence, "refine": refine,
                              "min_detection_confidence": min_detection_confidence,
                              "min_tracking_confidence": min_tracking_confidence,
                              "smooth": smooth, "landmark_model": landmark_model}

    # -- mediapipe graphs ------------------------------------------------------------------------
    def _static_pose(self):
        if self._lender is not None:
            return self._lender._static_pose()
        if self._static is None:
            self._static = _new_pose(True, *self._conf, self.landmark_model)
        return self._static

    def _tracker(self, rotation: int) -> _Tracker:
        if rotation not in self._trackers:
            self._trackers[rotation] = _new_pose(False, *self._conf, self.landmark_model)
        return self._trackers[rotation]

    def _landmark_graph(self):
        if self._lender is not None:
            return self._lender._landmark_graph()
        if self._roi_graph is None:
            self._roi_graph = _new_roi_graph(self.landmark_model)
        return self._roi_graph

    def tracker(self, config: Any = None, following: bool = True) -> Any:
        """The tracker for one video: mediapipe's own video mode
        (:class:`~infantpose.models.tracker.OwnTracker` around a runner of its own, whole frames
        in) when ``following`` and ``config.own_tracking``; else the box tracker, which passes
        the last frame's box and rotation (tried first) to this estimator."""
        cfg = config or TrackingConfig()
        if following and cfg.own_tracking:
            runner = self._video_runner()
            return OwnTracker(runner, at_time=runner._at_time)

        def view(image: np.ndarray, boxes: np.ndarray | None, hint: Any) -> Poses:
            return self._predict(image, boxes, _hint(hint.rotation), self.mirroring)

        return BoxTracker(self, cfg, following, view=view)

    def _video_runner(self) -> BlazePose:
        """A twin in mediapipe's video mode, for one video's frames (its state is the
        tracker's: per-turn trackers, the working rotation, a carried fallback region, the
        frame time set before each frame as ``_frame_time``). It borrows this estimator's
        static-image graphs, which keep nothing between calls, instead of building its own."""
        runner = BlazePose(schema=self.schema, mirror_test=self.mirror_test,
                           mirror_tol=self.mirror_tol, **self._twin_options)
        runner.mode = "video"
        runner._lender = self
        return runner

    def _at_time(self, seconds: float | None) -> None:
        """Video runner: the time of the next frame, so mediapipe's landmark smoothing uses the
        video's real frame rate (and the gaps of skipped frames) instead of assuming 30 fps."""
        self._frame_time = None if seconds is None else float(seconds)

    def reset(self) -> None:
        """Forget tracking state (start of a new video)."""
        self._frame_time = None
        for t in self._trackers.values():
            t.close()
        self._trackers.clear()
        self._rotation = 0
        self._carry = None
        self._found_before = False

    def close(self) -> None:
        self.reset()
        if self._static is not None:
            self._static.close()
            self._static = None
        if self._roi_graph is not None:
            self._roi_graph.close()
            self._roi_graph = None
        if self._twin is not None:
            self._twin.close()
            self._twin = None

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
        if tracking:
            pose.next_time_us = (None if self._frame_time is None
                                 else int(round(self._frame_time * 1e6)))
        self.calls += 1
        out = _run(pose, rotated)
        if out is None:
            return None
        rh, rw = rotated.shape[:2]
        xy = out[:, :2] * np.array([rw, rh], dtype=float)
        xy = unrotate_points(xy, rotation, (w, h)) + np.asarray(offset, dtype=float)
        kp = np.concatenate([xy, out[:, 2:3]], axis=1)
        return _Candidate(kp, float(np.mean(out[:, 2])), rotation, whole,
                          tracked=tracking and not getattr(pose, "detected", True))

    def _order(self, hint: int | None) -> list[int]:
        first = self._rotation if self.mode == "video" else (hint or 0)
        return [first] + [r for r in self.rotations if r != first]

    def _good(self, c: _Candidate | None) -> bool:
        return c is not None and c.score >= self.min_score

    def _search(self, image: np.ndarray, box: np.ndarray | None, hint: int | None
                ) -> tuple[_Candidate | None, int]:
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
            order = self._order(hint) if self.rotations else self._order(hint)[:1]
            found = search_turns(
                lambda rot: self._attempt(crop, rot, (x1, y1), full, whole,
                                          tracking_ok and rot == order[0]),
                order, _score, good=self._good)
            tries += found.tries
            if found.best is not None and (best is None or found.best.score > best.score):
                best = found.best
            if self._good(best):
                return best, tries
        return best, tries

    # -- the landmark-only fallback (the search: blazepose_fallback.FallbackSearch) ---------------
    def _landmarks_at(self, image: np.ndarray, roi: Roi, whole: bool) -> _Candidate | None:
        """One landmark-only pass on ``roi``, as a candidate scored presence × mean visibility."""
        self.calls += 1
        self.fallback_calls += 1
        out = _run_roi(self._landmark_graph(), image, roi)
        if out is None:
            return None
        size = np.array([image.shape[1], image.shape[0]], dtype=float)
        kp = np.concatenate([out.landmarks[:, :2] * size, out.landmarks[:, 2:3]], axis=1)
        vis = float(np.mean(out.landmarks[:, 2]))
        turn = out.next_roi.quarter_turn() if out.next_roi is not None else roi.quarter_turn()
        return _Candidate(kp, out.presence * vis, turn, whole, "fallback", out.presence,
                          out.next_roi)

    def _known_turn(self, hint: int | None) -> int | None:
        """The orientation the caller (``hint``) or the previous frame vouches for, if any."""
        if self.mode == "video":
            return self._rotation if self._found_before else None
        return hint

    def _find(self, image: np.ndarray, box: np.ndarray | None, hint: int | None
              ) -> tuple[_Candidate | None, int, float | None]:
        """The detector path, then the landmark-only fallback where it found nobody or only
        low-scoring poses; the more confident of the two. Also returns the presence score of a
        fallback pose refused for presence below ``min_presence`` (else None)."""
        if self.mode == "video" and box is None and self.fallback != "off":
            carried = self._carried(image)
            if carried is not None:
                return carried, 1, None
        best, tries = (None, 0) if self.fallback == "always" else self._search(image, box, hint)
        if self.fallback == "off" or self._good(best):
            return best, tries, None
        fb, more = self._fallback_search(image, box, hint)
        tries += more
        refused = None
        if fb is not None and (fb.presence or 0.0) < self.min_presence:
            # The stock pipeline's gate (its landmark stage drops poses below presence 0.5):
            # without it an empty crib or a blank frame would get an invented infant.
            refused, fb = fb.presence, None
        # A detector pose already passed mediapipe's presence gate (0.5): its mean visibility
        # is compared with the fallback's presence × visibility.
        if fb is not None and (best is None or fb.score > best.score):
            best = fb
        return best, tries, refused

    def _predict_view(self, image: np.ndarray, boxes: np.ndarray | None = None,
                      hint: int | None = None) -> Poses:
        """Poses of one view (one frame; one instance per box, or one without boxes) in
        BlazePose-33 (:meth:`predict` mirrors and converts).

        With the default ``fallback="auto"`` every instance the landmark model believes holds a
        person (presence at least ``min_presence``) gets a pose. Per instance, the fields
        ``rotation`` (degrees, NaN when not found), ``path`` (``"detector"``, ``"fallback"``,
        or None when not found), ``presence`` (the landmark model's pose presence for fallback
        poses, also for one refused as too low; else NaN) and ``tracked`` (video mode: followed
        from the previous frame's landmarks without running the person detector); and ``meta``
        lists per instance ``found``, ``whole_frame`` (a box was given but the whole frame won)
        and ``attempts`` (mediapipe passes).
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
        poses = Poses.empty(BLAZEPOSE33, 1, len(bxs), frame_size=(img.shape[1], img.shape[0]))
        meta: dict[str, list] = {"found": [], "whole_frame": [], "attempts": []}
        fields: dict[str, list] = {"rotation": [], "path": [], "presence": [], "tracked": []}
        for n, b in enumerate(bxs):
            best, tries, refused = self._find(img, b, hint)
            meta["attempts"].append(tries)
            if best is None:
                meta["found"].append(False)
                meta["whole_frame"].append(False)
                for key, val in (("rotation", None), ("path", None),
                                 ("presence", None if refused is None else round(refused, 4)),
                                 ("tracked", False)):
                    fields[key].append(val)
                continue
            poses.data[0, n] = best.keypoints
            meta["found"].append(True)
            meta["whole_frame"].append(bool(best.whole_frame and b is not None))
            fields["rotation"].append(best.rotation)
            fields["path"].append(best.path)
            fields["presence"].append(None if best.presence is None
                                      else round(float(best.presence), 4))
            fields["tracked"].append(bool(best.tracked))
            if self.mode == "video" and b is None:
                self._carry = best.next_roi if best.path == "fallback" else None
            self._found_before = True
            if self.mode == "video" and best.rotation != self._rotation:
                # Track in the orientation that works from now on, starting afresh.
                old = self._trackers.pop(best.rotation, None)
                if old is not None:
                    old.close()
                self._rotation = best.rotation
        return replace(poses, meta={"model": self.name, **meta},
                       **{k: [v] for k, v in fields.items()})

    # -- prediction (test-time mirroring: blazepose_mirror.MirrorTest) -----------------------------
    def predict(self, image: np.ndarray, boxes: np.ndarray | None = None) -> Poses:
        """Poses (one frame; one instance per box, or one without boxes) in ``self.schema``.

        The fields and ``meta`` hold, per instance, what :meth:`_predict_view` reports and,
        with test-time mirroring, the field ``views``: ``"both"`` (the two views averaged),
        ``"original"`` or ``"mirrored"`` (one view kept), or None when neither found a pose;
        a pose kept from the mirrored view has that view's facts (its rotation mirrored back).
        """
        return self._predict(image, boxes, None, self.mirroring)

    def _predict(self, image: np.ndarray, boxes: np.ndarray | None, hint: int | None,
                 mirroring: bool) -> Poses:
        """:meth:`predict` with the quarter turn to try first (``hint``, e.g. the one that
        found the infant on the previous frame) and whether to mirror given."""
        poses = self._predict_view(image, boxes, hint)
        if mirroring:
            poses = self._with_mirror(poses, np.ascontiguousarray(image), boxes, hint)
        return poses if self.schema.name == BLAZEPOSE33.name else poses.convert(self.schema)


def create(schema: str | Schema | None = None, weights: str | None = None,
           **options: Any) -> BlazePose:
    """Factory registered as ``blazepose``; ``weights`` must be empty (the wheel ships them)."""
    if weights:
        raise InputError(weights, "the blazepose model uses the weights inside the mediapipe "
                                  "wheel and takes no --weights file")
    return BlazePose(schema=schema, **options)


def create_heavy(schema: str | Schema | None = None, weights: str | None = None,
                 **options: Any) -> BlazePose:
    """Factory registered as ``blazepose-heavy``: the heavy landmark network (installed with
    ``infantpose models fetch blazepose-heavy``) in the same graphs and searches."""
    if weights:
        raise InputError(weights, "the blazepose-heavy model uses the installed heavy network "
                                  "and takes no --weights file")
    options.setdefault("landmark_model", "heavy")
    return BlazePose(schema=schema, **options)
