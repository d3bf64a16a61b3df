"""The one top-down estimator: person finder + crops + runner + codec + test-time augmentation.

A top-down model is told, or finds, where a person is, cuts a crop at the network's input size
there, runs the network on it and reads keypoints from the outputs. Whatever executes the
network (PyTorch or onnxruntime) and whatever the outputs are (heatmaps, SimCC vectors,
regressed landmarks), the pipeline around them is the same, and it is this class:

1. **where to look** (:class:`Placement`): without boxes the mediapipe BlazePose runtime
   (:class:`~infantpose.models.person_finder.PersonFinder`) finds the infant and its pose gives
   the crop (MediaPipe's rotated body region, or the box around the pose turned upright); with
   boxes each box is cropped at the tracker's quarter turn, or at every quarter turn (the most
   confident kept), or on the body region of the runtime's pose in it;
2. **the runner** (:class:`CropRunner`): crops → the network's activated outputs
   (:class:`~infantpose.models.torch_estimator.TorchRunner`,
   :class:`~infantpose.models.onnx_model.OnnxRunner`);
3. **flip test and codec** (:func:`~infantpose.models.crop_keypoints.crop_keypoints`): the
   mirrored crops averaged in, outputs decoded into crop keypoints;
4. optional re-crops on the body region of the model's own keypoints (``refine_roi``), the
   keypoints mapped back into the image, and an optional average with the runtime's pose
   (``ensemble``).

:class:`~infantpose.models.torch_estimator.TorchPoseEstimator` (torch checkpoints) and
:class:`~infantpose.models.onnx_model.OnnxPoseEstimator` (``--model onnx``) are this class,
built from a checkpoint or an ONNX file; they add no behaviour of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from infantpose.errors import InputError
from infantpose.geometry import (apply_affine, body_roi, box_transform, crop_image, invert_affine,
                                 roi_transform, tight_box, upright_turn)
from infantpose.models.codecs import HeatmapCodec, RegressionCodec, SimCCCodec
from infantpose.models.crop_keypoints import crop_keypoints
from infantpose.models.person_finder import PersonFinder
from infantpose.models.tracker import BoxTracker
from infantpose.models.tta import QUARTER_TURNS, most_confident
from infantpose.poses import Poses
from infantpose.schemas import BLAZEPOSE33, Schema

__all__ = ["CropRunner", "Placement", "TopDownEstimator"]

#: A crop placement: per instance, the candidate crops (affine into the crop, quarter turn).
Candidates = list[list[tuple[np.ndarray, int]]]


class CropRunner(Protocol):
    """What executes the network: (M, h, w, 3) uint8 RGB crops → its activated outputs, each
    (M, ...). ``one_pass``: the mirrored crops of the flip test may go in the same call (else
    they run as a second call, for runners whose batch is fixed or memory-bound)."""

    one_pass: bool

    def __call__(self, crops: np.ndarray) -> list[np.ndarray]:
        ...


@dataclass(frozen=True)
class Placement:
    """Where a top-down estimator cuts its crops.

    Attributes:
        found: without boxes, the crop on the person the runtime finds: ``"roi"``
            (MediaPipe's rotated body region of the runtime's pose, measured on the model's
            own keypoints: the torch models, trained on such crops) or ``"box"`` (the box
            around the runtime's landmarks, turned upright: ONNX files).
        boxes: with boxes: ``"box"`` (the box at the tracker's quarter turn, upright without
            one), ``"turns"`` (each quarter turn of the box, the most confident kept; the
            tracker's turn alone when it has one), ``"upright"`` (as ``"turns"``, then
            re-cropped on the body region of the best turn's pose: models trained on upright
            crops) or ``"runtime"`` (the body region of the runtime's pose in each box, as
            ``"upright"`` where it finds nobody, and the previous frame's region while a
            tracker follows a confident pose: BlazePose landmark models).
        pose_rotation: report each pose's own body orientation as its ``rotation`` (else the
            quarter turn of the crop it came from).
    """

    found: str = "roi"
    boxes: str = "box"
    pose_rotation: bool = True

    def __post_init__(self) -> None:
        if self.found not in ("roi", "box"):
            raise ValueError(f"found must be 'roi' or 'box', not {self.found!r}")
        if self.boxes not in ("box", "turns", "upright", "runtime"):
            raise ValueError(f"boxes must be box, turns, upright or runtime, not {self.boxes!r}")


@dataclass(eq=False)
class TopDownEstimator:
    """A top-down pose model (Estimator protocol; module docstring): one frame's poses in
    ``schema`` per :meth:`predict`, several frames' crops batched by :meth:`predict_batch`.

    Attributes:
        name: the model's registered name (``meta["model"]``).
        model_schema: the keypoints the network outputs (flip pairs, body region).
        schema: the keypoints returned (converted through the registered mapping).
        runner: executes the network (:class:`CropRunner`).
        codec: turns its outputs into crop keypoints (:mod:`infantpose.models.codecs`).
        input_size: the network input (w, h) in pixels.
        margin: context around each box or body region (1.25 = 25 % larger).
        finder: the mediapipe runtime that finds the infant without boxes.
        placement: where crops are cut (:class:`Placement`).
        flip_test: average with the horizontally mirrored crop.
        detector: ``"blazepose"`` (the finder looks for the infant) or ``"none"`` (the
            whole frame without boxes).
        refine_roi: passes re-cropped on the body region of the previous pass's keypoints.
        ensemble: weight (0 to 1) of the runtime's own keypoints averaged into the model's.
        meta_keys: the keys each result's ``meta`` holds, in order: fixed provenance values; the
            per-call ones (``model``, ``flip_test``, ``roi_refined``, ``ensemble``) are filled
            in at each call; each instance's quarter turn is the ``rotation`` field.
    """

    name: str
    model_schema: Schema
    schema: Schema
    runner: CropRunner
    codec: HeatmapCodec | SimCCCodec | RegressionCodec
    input_size: tuple[int, int]
    margin: float
    finder: PersonFinder
    placement: Placement
    flip_test: bool = True
    detector: str = "blazepose"
    refine_roi: int = 0
    ensemble: float = 0.0
    meta_keys: dict[str, Any] | None = None

    #: mean keypoint score the previous video frame needs for its ROI to be followed
    follow_score = 0.5

    def __post_init__(self) -> None:
        if self.detector not in ("blazepose", "none"):
            raise InputError(None, f"detector must be 'blazepose' or 'none', not "
                                   f"{self.detector!r}")
        if self.meta_keys is None:
            self.meta_keys = {"model": None, "flip_test": None}

    @property
    def _finder(self) -> PersonFinder:
        """The person finder (its older name, used by tests and callers)."""
        return self.finder

    # -- video: follow the infant from frame to frame (MediaPipe's own tracking) ------------------
    def tracker(self, config: Any = None, following: bool = True) -> BoxTracker:
        """A :class:`~infantpose.models.tracker.BoxTracker` for one video: the previous
        frame's box and quarter turn (tried alone, as the crop's rotation); while following,
        with ``placement.boxes == "runtime"``, a frame whose box holds the previous frame's
        confident pose is cropped on that pose's body ROI, as MediaPipe tracks, instead of
        running the mediapipe runtime again. The previous pose is the tracker's (its view's)."""
        return BoxTracker(self, config, following, view=_FollowingView(self))

    def _followed_roi(self, image: np.ndarray, boxes: np.ndarray,
                      last: tuple[tuple[int, ...], np.ndarray] | None) -> Candidates | None:
        """The previous frame's body ROI (``last``: image shape, keypoints) when it can stand
        in for a runtime pass."""
        if last is None or len(boxes) != 1:
            return None
        shape, kp = last
        if shape != image.shape or np.nanmean(np.nan_to_num(kp[:, 2])) < self.follow_score:
            return None
        roi = body_roi(kp[:, :2], self.model_schema, self.margin)
        if roi is None:
            return None
        x1, y1, x2, y2 = boxes[0]
        cx, cy = roi[0]
        if not (x1 <= cx <= x2 and y1 <= cy <= y2):
            return None
        return [[(roi_transform(*roi, self.input_size), upright_turn(roi[2]))]]

    # -- where to look ------------------------------------------------------------------------------
    def _detect(self, image: np.ndarray, hint: int | None) -> tuple[np.ndarray, int]:
        """Affine for the person the mediapipe runtime finds (``placement.found``) and its
        quarter turn; the whole frame (at the tracker's ``hint`` turn) when nobody is found."""
        h, w = image.shape[:2]
        whole = box_transform([0.0, 0.0, w, h], self.input_size, 1.0, hint or 0)
        if self.detector == "none":
            return whole, hint or 0
        try:
            self.finder.start()
        except ImportError:
            self.detector = "none"
            return whole, hint or 0
        p = self._runtime(image, None)
        if self.placement.found == "box":
            xy = p.data[0, 0, :, :2]
            box = tight_box(xy, min_points=2)
            if box is None:
                return whole, hint or 0
            roi = body_roi(xy, BLAZEPOSE33, 1.0)
            rot = upright_turn(roi[2]) if roi is not None else (hint or 0)
            return box_transform(box, self.input_size, self.margin, rot), rot
        if p.n_instances == 0 or not np.isfinite(p.data[0, 0, :, :2]).any():
            return whole, 0
        rot = p.rotation[0, 0] if p.rotation is not None else 0.0
        rot = int(rot) if np.isfinite(rot) else 0
        roi = self._runtime_roi(p, 0)
        if roi is None:
            return whole, rot
        return roi_transform(*roi, self.input_size), upright_turn(roi[2])

    def _runtime(self, image: np.ndarray, boxes: np.ndarray | None) -> Poses:
        """The mediapipe runtime's BlazePose-33 poses for ``image`` (one per box), cached
        (:class:`~infantpose.models.person_finder.PersonFinder`)."""
        return self.finder.poses(image, boxes)

    @property
    def _detector_est(self) -> Any:
        """The mediapipe runtime estimator that places crops (None before its first use)."""
        return self.finder.runtime

    def _runtime_in_schema(self, image: np.ndarray, boxes: np.ndarray | None
                           ) -> np.ndarray | None:
        """(N, K, 3) the runtime's poses (cached) in the model's schema; None when it has no
        mapping to it."""
        p = self._runtime(image, boxes)
        if self.model_schema.name != BLAZEPOSE33.name:
            try:
                p = p.convert(self.model_schema)
            except InputError:
                return None
        return p.data[0]

    def _ensembled(self, image: np.ndarray, boxes: np.ndarray | None,
                   kps: list[np.ndarray]) -> list[np.ndarray]:
        """The model's (K, 3) instances averaged with the runtime's: ``ensemble`` × runtime +
        (1 − ``ensemble``) × model, positions and scores, keypoint by keypoint where both
        placed it. Instance n is box n (or the one person found without boxes), the order in
        which :meth:`_crops_for` cropped them."""
        rt = self._runtime_in_schema(image, None if boxes is None else _finite_boxes(boxes))
        if rt is None:
            return kps
        w = self.ensemble
        out = []
        for n, kp in enumerate(kps):
            kp = kp.copy()
            if n < len(rt):
                ok = np.isfinite(kp[:, :2]).all(-1) & np.isfinite(rt[n, :, :2]).all(-1)
                kp[ok] = (1 - w) * kp[ok] + w * np.nan_to_num(rt[n][ok])
            out.append(kp)
        return out

    def _runtime_roi(self, p: Poses, n: int) -> tuple[np.ndarray, float, np.ndarray] | None:
        """MediaPipe's body ROI of runtime instance ``n``, measured on the keypoints of the
        model's own schema (the ROI its training crops were cut from)."""
        kp = p.data[:, n:n + 1]
        if not np.isfinite(kp[0, 0, :, :2]).any():
            return None
        sub = Poses(kp, BLAZEPOSE33)
        if self.model_schema.name != BLAZEPOSE33.name:
            try:
                sub = sub.convert(self.model_schema)
            except InputError:
                pass
        return body_roi(sub.data[0, 0, :, :2], sub.schema, self.margin)

    def _crops_for(self, image: np.ndarray, boxes: np.ndarray | None, hint: int | None,
                   last: tuple[tuple[int, ...], np.ndarray] | None
                   ) -> tuple[Candidates, bool]:
        """(per instance the candidate crops, whether the previous pose's ROI was followed)."""
        if boxes is None:
            return [[self._detect(image, hint)]], False
        b = _finite_boxes(boxes)
        how = self.placement.boxes
        if how == "runtime" and self.detector == "blazepose" and len(b):
            followed = self._followed_roi(image, b, last)
            if followed is not None:
                return followed, True
            return self._runtime_rois(image, b, hint), False
        if how in ("runtime", "upright"):
            # BlazePose's own landmark model was trained on body-aligned crops too
            return self._upright_rois(image, b, hint), False
        if how == "turns" and hint is None:
            return [[(box_transform(x, self.input_size, self.margin, r), r)
                     for r in QUARTER_TURNS] for x in b], False
        rot = hint or 0
        return [[(box_transform(x, self.input_size, self.margin, rot), rot)] for x in b], False

    def _runtime_rois(self, image: np.ndarray, boxes: np.ndarray, hint: int | None
                      ) -> Candidates:
        """Body ROIs from the runtime's pose in each box; the model's own quarter-turn search
        (:meth:`_upright_rois`) for boxes where the runtime finds nobody."""
        p = self._runtime(image, boxes)
        out: Candidates = []
        for n, b in enumerate(boxes):
            roi = self._runtime_roi(p, n) if n < p.n_instances else None
            if roi is None:
                out += self._upright_rois(image, b[None], hint)
            else:
                out.append([(roi_transform(*roi, self.input_size), upright_turn(roi[2]))])
        return out

    def _upright_rois(self, image: np.ndarray, boxes: np.ndarray, hint: int | None
                      ) -> Candidates:
        """Body-aligned crops for caller-given boxes, for models trained on upright crops.

        A box says where the infant is but not which way it lies. Each quarter turn of the box
        crop is tried (only the tracker's hint when one is set), the model's most confident
        orientation is kept, and the final crop is MediaPipe's rotated body region of that pose:
        the same alignment the model saw in training.
        """
        rots = [hint] if hint is not None else list(QUARTER_TURNS)
        k = self.model_schema.num_keypoints
        out: Candidates = []
        for b in boxes:
            cands = [box_transform(b, self.input_size, self.margin, r) for r in rots]
            kps = self._run(np.stack([crop_image(image, m, self.input_size) for m in cands]))
            best = most_confident(kps[:, :k])
            xy = apply_affine(invert_affine(cands[best]), kps[best, :k, :2])
            roi = body_roi(xy, self.model_schema, self.margin)
            if roi is None:
                out.append([(cands[best], rots[best])])
            else:
                out.append([(roi_transform(*roi, self.input_size), upright_turn(roi[2]))])
        return out

    # -- prediction ---------------------------------------------------------------------------------
    def predict(self, image: np.ndarray, boxes: np.ndarray | None = None) -> Poses:
        """One frame of poses in ``self.schema``: one instance per box (or per detected person)."""
        return self.predict_batch([image], [boxes])

    def predict_batch(self, images: Sequence[np.ndarray],
                      boxes: Sequence[np.ndarray | None] | None = None) -> Poses:
        """Poses for several images (one frame each), all crops batched through the runner."""
        return self._predict_frames(images, boxes)[0]

    def _predict_frames(self, images: Sequence[np.ndarray],
                        boxes: Sequence[np.ndarray | None] | None = None,
                        hint: int | None = None,
                        last: tuple[tuple[int, ...], np.ndarray] | None = None
                        ) -> tuple[Poses, np.ndarray | None]:
        """:meth:`predict_batch` with a tracker's quarter turn (``hint``) and previous pose
        (``last``: image shape, model-schema keypoints); also returns the one instance of a
        single image in the model's schema (None otherwise), for the tracker to remember."""
        bxs = list(boxes) if boxes is not None else [None] * len(images)
        if len(bxs) != len(images):
            raise ValueError("boxes must have one entry per image")
        images = [_check_image(im) for im in images]
        cands: Candidates = []  # per instance (of every image) its candidate crops
        owner: list[int] = []  # the image of each instance
        was_followed = False
        for i, (im, b) in enumerate(zip(images, bxs)):
            inst, followed = self._crops_for(im, b, hint, last)
            was_followed = was_followed or followed
            cands += inst
            owner += [i] * len(inst)
        k = self.model_schema.num_keypoints
        found: list[list[np.ndarray]] = [[] for _ in images]  # (K, 3) instances of each image
        mats: list[np.ndarray] = []
        rotations: list[int | None] = []
        refined = 0
        if cands:
            # (the first pass is flip-tested even when it only places the next crop: without it
            # AP on 50 real photos fell by 0.003-0.010 for 25 % more speed)
            all_kps = self._run(np.stack([crop_image(images[i], m, self.input_size)
                                          for i, inst in zip(owner, cands) for m, _ in inst]))
            keep, j = [], 0
            for inst in cands:  # each instance's most confident candidate (quarter turns)
                best = most_confident(all_kps[j:j + len(inst), :k])
                mats.append(inst[best][0])
                rotations.append(inst[best][1])
                keep.append(j + best)
                j += len(inst)
            kps = all_kps if len(keep) == len(all_kps) else all_kps[keep]
            if self.refine_roi and not was_followed:
                # (a followed video frame's crop is already the body ROI of the last pose:
                # MediaPipe's tracking is itself one refinement per frame)
                for _ in range(self.refine_roi):
                    mats, changed = self._landmark_rois(kps, mats)
                    if not changed:
                        break
                    refined += changed
                    kps = self._run(np.stack([crop_image(images[i], m, self.input_size)
                                              for i, m in zip(owner, mats)]))
            for j, (i, m) in enumerate(zip(owner, mats)):
                xy = apply_affine(invert_affine(m), kps[j, :, :2])
                found[i].append(np.concatenate([xy[:k], kps[j, :k, 2:3]], axis=1))
                if self.placement.pose_rotation:
                    roi = body_roi(xy[:k], self.model_schema, self.margin)
                    if roi is not None:  # report the body's orientation for the tracker's hint
                        rotations[j] = upright_turn(roi[2])
        if self.ensemble > 0 and self.detector == "blazepose" and not was_followed:
            found = [self._ensembled(im, b, f) if f else f
                     for im, b, f in zip(images, bxs, found)]
        sizes = [(int(im.shape[1]), int(im.shape[0])) for im in images]
        same = len(set(sizes)) == 1
        turns: list[list[int | None]] = [[] for _ in images]  # each instance's, per image
        for i, rot in zip(owner, rotations):
            turns[i].append(rot)
        poses = Poses.from_ragged([np.asarray(f, dtype=float).reshape(-1, k, 3) for f in found],
                                  self.model_schema, source=None,
                                  frame_size=sizes[0] if same and sizes else None,
                                  image_sizes=None if same else sizes,
                                  meta=self._meta(refined), rotation=turns)
        one = poses.data[0, 0].copy() if len(images) == 1 and poses.n_instances == 1 else None
        if self.schema.name != self.model_schema.name:
            poses = poses.convert(self.schema)
        return poses, one

    def _meta(self, refined: int) -> dict[str, Any]:
        """One result's ``meta``: the estimator's ``meta_keys`` with this call's values (each
        instance's quarter turn is the ``rotation`` field, not meta)."""
        now = {"model": self.name, "flip_test": self.flip_test,
               "roi_refined": refined, "ensemble": self.ensemble}
        return {key: now.get(key, value) for key, value in (self.meta_keys or {}).items()}

    def _run(self, crops: np.ndarray) -> np.ndarray:
        """Crops → (M, K', 3) keypoints in crop coordinates (the runner → flip test → codec
        steps, :func:`~infantpose.models.crop_keypoints.crop_keypoints`)."""
        return crop_keypoints(self.runner, crops, self.codec, self.model_schema.flip_index,
                              self.flip_test, one_pass=self.runner.one_pass)

    def _landmark_rois(self, kps: np.ndarray, mats: list[np.ndarray]
                       ) -> tuple[list[np.ndarray], int]:
        """Re-centre each crop on the body ROI of its own predicted keypoints."""
        new, changed = [], 0
        k = self.model_schema.num_keypoints
        for j, m in enumerate(mats):
            xy = apply_affine(invert_affine(m), kps[j, :k, :2])
            roi = body_roi(xy, self.model_schema, self.margin)
            if roi is None:
                new.append(m)
                continue
            new.append(roi_transform(*roi, self.input_size))
            changed += 1
        return new, changed

    def close(self) -> None:
        self.finder.close()

    def __enter__(self) -> TopDownEstimator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _FollowingView:
    """A :class:`TopDownEstimator` as one tracker sees it: each call gets the tracker's
    quarter turn, and, while following, the pose of this view's previous call (kept here, per
    tracker, not in the estimator)."""

    def __init__(self, estimator: TopDownEstimator):
        self.estimator = estimator
        self.last: tuple[tuple[int, ...], np.ndarray] | None = None  # (image shape, keypoints)

    def __call__(self, image: np.ndarray, boxes: np.ndarray | None, hint: Any) -> Poses:
        rot = None if hint.rotation is None else int(hint.rotation) % 360
        poses, one = self.estimator._predict_frames(
            [image], [boxes], rot, self.last if hint.following else None)
        if hint.following and one is not None:
            self.last = (np.asarray(image).shape, one)
        return poses


def _finite_boxes(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) boxes with the rows holding NaN or inf dropped."""
    b = np.asarray(boxes, dtype=float).reshape(-1, 4)
    return b[np.isfinite(b).all(axis=1)] if len(b) else b


def _check_image(im: np.ndarray) -> np.ndarray:
    """An H×W×3 uint8 RGB array from a gray, RGB or RGBA image (one-line error otherwise)."""
    a = np.asarray(im)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise InputError(None, f"expected an H×W×3 RGB image, got shape {a.shape}")
    a = a[..., :3]
    if a.dtype != np.uint8:
        a = np.clip(a, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(a)
