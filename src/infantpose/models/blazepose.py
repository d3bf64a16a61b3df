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

Never missing an infant (issue 13): the person detector is the weak stage. BlazePose's detector
keys on a face and the line from hips to shoulders, which a newborn among blankets, a covered
face or a body filling the frame often do not show, while the landmark network, given a region,
still places the body. So when every detector attempt finds nobody, or only poses scoring
below ``min_score``, the *landmark model alone* is run through mediapipe's runtime on a given
region: the box (when one was given) and the whole frame, each at its four quarter turns, as
the torch path searches a box's quarter turns. The region is a square around it, letterboxed,
rotated by MediaPipe's own rotated-rectangle input (no image copy is rotated). Each turn is
re-run (``refine`` times, 2) on the region MediaPipe derives from its own previous landmarks
(what its tracker does from frame to frame), and the most confident turn is kept. Confidence
here is the landmark model's *pose presence* flag (the probability, learned by the landmark
network, that a person is in the region; the detector path gates on it at 0.5) times the mean
landmark visibility. A fallback pose is kept when its presence is at least
``min_presence`` (0.5, the gate of mediapipe's own landmark stage), so every frame with an
infant the landmark model recognises gets a pose, while blank frames and an empty crib do not
get an invented one. ``Poses.path`` says which path produced a pose (``"detector"`` or
``"fallback"``) and ``Poses.presence`` the presence score of fallback poses. In
``"video"`` mode a pose found by the fallback seeds the next frame's region, as MediaPipe's
tracking does, so a video the detector cannot see costs one landmark pass per frame.

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
from infantpose.geometry import (Roi, crop_region, quarter_turn_roi, quarter_turns, rotate_image,
                                 unrotate_points)
# the mediapipe graphs, the region-only landmark graph and the search's candidates live in
# their own modules (re-exported here: callers and tests reach them through this module, and
# BlazePose looks them up here, so patching them here still takes effect)
from infantpose.models.blazepose_roi import (_ROI_GRAPH, _new_roi_graph,  # noqa: F401
                                             _RoiResult, _run_roi, roi_from_proto, roi_to_proto)
from infantpose.models.blazepose_runtime import (LANDMARK_MODELS,  # noqa: F401
                                                 _check_landmark_model, _new_pose,
                                                 _resource_root, _run, _SHADOW_ROOTS,
                                                 _solution, _Tracker, weights_paths)
from infantpose.models.blazepose_views import (_Candidate, _check_mirror_test,
                                               _check_mirror_tol, _hint, _score, mirror_boxes,
                                               mirror_rotation)
# the mirror test's rule and tolerance live in models.tta (re-exported here for their importers)
from infantpose.models.tta import (MIRROR_TOL, QUARTER_TURNS, combine_views, mirror_back,
                                  search_turns)
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


class BlazePose:
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
        from infantpose.models.tracker import BoxTracker, OwnTracker, TrackingConfig

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

    # -- the landmark-only fallback --------------------------------------------------------------
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

    def _refined(self, image: np.ndarray, roi: Roi, whole: bool) -> _Candidate | None:
        """The landmark model on ``roi``, then re-run ``refine`` times on the region MediaPipe
        derives from its own previous landmarks (as its tracker does from frame to frame); the
        last pass. (The last pass, not the most confident one: a first pass on a whole frame is
        often confidently wrong; on the real photos keeping the chain's most confident pass
        scored AP 0.39 against 0.45 for the last.)"""
        c = self._landmarks_at(image, roi, whole)
        for _ in range(self.refine):
            if c is None or c.next_roi is None:
                break
            nxt = self._landmarks_at(image, c.next_roi, whole)
            if nxt is None:
                break
            c = nxt
        return c

    def _known_turn(self, hint: int | None) -> int | None:
        """The orientation the caller (``hint``) or the previous frame vouches for, if any."""
        if self.mode == "video":
            return self._rotation if self._found_before else None
        return hint

    def _fallback_search(self, image: np.ndarray, box: np.ndarray | None, hint: int | None
                         ) -> tuple[_Candidate | None, int]:
        """The landmark model without the detector: the box's square (when a box is given),
        then the whole frame, each at its quarter turns, each turn refined (:meth:`_refined`);
        the most confident result. A known orientation (rotation hint, previous frame) is tried
        alone first and kept when confident; the whole frame is skipped when the box already
        gave a confident pose (score at least ``min_score``, presence at least
        ``min_presence``)."""
        w, h = image.shape[1], image.shape[0]
        regions: list[tuple[tuple[float, float, float, float], float, bool]] = []
        if box is not None and np.isfinite(box).all() and box[2] > box[0] and box[3] > box[1]:
            regions.append((tuple(float(v) for v in box), 1 + 2 * self.box_margin, False))
        regions.append(((0.0, 0.0, float(w), float(h)), 1.0, True))
        order = self._order(hint) if self.rotations else self._order(hint)[:1]
        known = self._known_turn(hint)
        before = self.calls
        best: _Candidate | None = None
        turns = order if known is None else [known] + [r for r in order if r != known]
        for region, scale, whole in regions:
            # a known orientation is tried alone first and kept when confident
            found = search_turns(
                lambda rot: self._refined(image, quarter_turn_roi(region, rot, scale),
                                          whole),
                turns, _score, good=None if known is None else self._confident, greedy=False)
            if found.best is not None and (best is None or found.best.score > best.score):
                best = found.best
            if found.stopped or self._confident(best):
                break
        return best, self.calls - before

    def _confident(self, c: _Candidate | None) -> bool:
        return c is not None and c.score >= self.min_score and (c.presence or 0.0) >= \
            self.min_presence

    def _carried(self, image: np.ndarray) -> _Candidate | None:
        """Video mode: the last fallback pose's region on this frame, if it still holds a pose."""
        if self._carry is None:
            return None
        c = self._landmarks_at(image, self._carry, True)
        if not self._confident(c):
            self._carry = None
            return None
        c.tracked = True
        return c

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

    # -- test-time mirroring ---------------------------------------------------------------------
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

    @property
    def mirroring(self) -> bool:
        """Whether :meth:`predict` averages the image with its mirror image (``mirror_test``
        None: photos, not the frames a video runner follows)."""
        return self.mode == "image" if self.mirror_test is None else bool(self.mirror_test)

    def _mirror_runner(self) -> BlazePose:
        """Who predicts the mirrored view: this estimator in image mode (no state to disturb);
        in video mode the estimator it was made from, or a twin in image mode (this one's
        trackers follow the original frames)."""
        if self.mode == "image":
            return self
        if self._lender is not None:
            return self._lender
        if self._twin is None:
            self._twin = BlazePose(schema=BLAZEPOSE33, mirror_test=False,
                                   **self._twin_options)
        return self._twin

    def _with_mirror(self, poses: Poses, image: np.ndarray, boxes: np.ndarray | None,
                     hint: int | None = None) -> Poses:
        """``poses`` (BlazePose-33, the original view) combined with the mirrored view's
        (:func:`combine_views`), instance by instance (instance n of both views is box n)."""
        h, w = image.shape[:2]
        runner = self._mirror_runner()
        before = runner.calls
        view = runner._predict_view(np.ascontiguousarray(image[:, ::-1]),
                                    None if boxes is None or len(boxes) == 0
                                    else mirror_boxes(boxes, w),
                                    mirror_rotation(self._known_turn(hint)))
        if runner is not self:
            self.calls += runner.calls - before
        mirrored = mirror_back(view.data[0], w, BLAZEPOSE33.flip_index)
        meta = {k: list(v) if isinstance(v, list) else v for k, v in poses.meta.items()}
        fields = {k: v.copy() for k, v in poses.fields().items()}
        used = []
        for n in range(poses.n_instances):
            poses.data[0, n], which = combine_views(poses.data[0, n], mirrored[n],
                                                    self.mirror_tol)
            used.append(which)
            for key, vals in meta.items():
                other = view.meta.get(key)
                if not isinstance(vals, list) or not isinstance(other, list) or n >= len(other):
                    continue
                if key == "attempts":
                    vals[n] = vals[n] + other[n]
                elif which == "mirrored":
                    vals[n] = other[n]
            if which == "mirrored":  # the mirrored view's facts, its turn mirrored back
                for key, vals in fields.items():
                    other = getattr(view, key)
                    if other is not None and n < other.shape[1]:
                        vals[0, n] = other[0, n]
                if np.isfinite(fields["rotation"][0, n]):
                    fields["rotation"][0, n] = mirror_rotation(int(fields["rotation"][0, n]))
        return replace(poses, meta=meta, views=[used], **fields)


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
