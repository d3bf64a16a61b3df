"""The top-down estimator for PyTorch heatmap and landmark models, :class:`TorchPoseEstimator`:
person boxes (given, found, or followed from the previous frame) → crops → forward pass (with
the flip test) → keypoints in the original image (the pipeline is described in
:mod:`infantpose.models.topdown`, which also holds the registered factories).

Split out of ``models/topdown.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from infantpose.errors import InputError
from infantpose.geometry import (apply_affine, body_roi, box_transform, crop_image, invert_affine,
                                 roi_transform, upright_turn)
from infantpose.models.checkpoint import LoadedModel
from infantpose.models.codecs import HeatmapCodec, RegressionCodec
from infantpose.models.crop_keypoints import crop_keypoints
from infantpose.models.person_finder import PersonFinder
from infantpose.models.tta import most_confident
from infantpose.poses import Poses
from infantpose.schemas import BLAZEPOSE33, Schema, get_schema

__all__ = ["TorchPoseEstimator"]


# --- estimator ------------------------------------------------------------------------------------

class TorchPoseEstimator:
    """Top-down estimator around a torch heatmap model (Estimator protocol).

    Args:
        loaded: the model and its decoding settings (:func:`load_checkpoint`).
        schema: output schema (converted from the model's schema through the registered mapping).
        flip_test: average with the horizontally mirrored crop.
        decoder / sigma: override the checkpoint's decoding defaults.
        margin: context around each box or body ROI (1.25 = 25 % larger); default: the margin
            the checkpoint was trained with.
        detector: without ``boxes``: ``"blazepose"`` finds a person box with the mediapipe
            estimator (whole frame when it finds none), ``"none"`` uses the whole frame.
        batch_size: crops per forward pass in ``predict_batch``.
        mode: ``"heatmap"``, ``"regression"`` for the pretrained BlazePose graph's regressed
            landmarks (``blazepose-torch`` without weights), or ``"landmarks"`` for a fine-tuned
            :class:`~infantpose.models.blazepose_landmarks.BlazePoseLandmarkNet` (chosen
            automatically from the checkpoint).
        refine_roi: passes that re-crop on the rotated body ROI (:func:`body_roi`) of the
            previous pass's keypoints, as MediaPipe's tracking does. Default: what the
            checkpoint records (training validates each state with 0 and 1 passes and keeps the
            better: on real infant photos one pass lowered the off-the-shelf port's AP from
            0.604 to 0.534 but raised a fine-tuned model's from 0.679 to 0.694); 0 otherwise.
        runtime_mirror: whether the mediapipe runtime that places the crop also predicts the
            mirror image (its ``mirror_test``). None (default): only where it searches the
            whole image (no box given); True / False: always / never. Measured with the two
            fine-tuned checkpoints on real infant photos (``benchmarks/tta_real.py``; quick /
            full): without boxes mirroring raised COCO AP on the 22 held-out training photos
            from 0.676 / 0.710 to 0.701 / 0.744 and on the 50 validation photos from
            0.737 / 0.736 to 0.740 / 0.747, for about 0.06 CPU s more per photo; given the
            labelled boxes it changed nothing that repeats (held out 0.768 / 0.771 to
            0.759 / 0.766, validation 0.715 / 0.721 to 0.721 / 0.720), so boxed calls (video
            tracking's) stay one view.
        ensemble: weight (0 to 1) of the runtime's own keypoints (and scores) averaged into the
            model's, a two-model ensemble, wherever the runtime found the person (0, the
            default: the model alone). Not a default: on the held-out training photos no
            weight helped the quick checkpoint, 0.2 helped the full one (0.766 to 0.788, boxes
            given); on the validation photos 0.2 (runtime mirrored) scored 0.716 / 0.728
            against 0.715 / 0.721 given boxes.

    Where to look, for the regression and landmark modes: the mediapipe runtime is run first
    (inside the given box, with its own quarter-turn search) and MediaPipe's rotated body ROI
    of its pose, in the model's schema, is the crop, the same alignment the model was trained
    on; only when the runtime finds nobody does the model search the box's quarter turns
    itself. Runtime results are cached per image and box, so validating a model while it
    trains costs one runtime pass per image.
    """

    #: mean keypoint score the previous video frame needs for its ROI to be followed
    follow_score = 0.5

    def __init__(self, loaded: LoadedModel, schema: Schema | str | None = None,
                 flip_test: bool = True, decoder: str | None = None, sigma: float | None = None,
                 margin: float | None = None, detector: str = "blazepose", batch_size: int = 16,
                 mode: str = "heatmap", name: str = "torch", refine_roi: int | None = None,
                 runtime_mirror: bool | None = None, ensemble: float = 0.0,
                 runtime_model: str | None = None):
        self.loaded = loaded
        self.model = loaded.model.eval()
        self.name = name
        self.model_schema = loaded.schema
        self.schema = get_schema(schema) if schema is not None else loaded.schema
        if self.schema.name != self.model_schema.name:
            from infantpose.schemas import get_mapping

            get_mapping(self.model_schema, self.schema)  # fail early when no mapping exists
        self.flip_test = bool(flip_test)
        self.decoder = decoder or loaded.decoder
        self.sigma = float(sigma if sigma is not None else loaded.sigma)
        self.margin = float(margin if margin is not None else loaded.margin)
        if detector not in ("blazepose", "none"):
            raise InputError(None, f"detector must be 'blazepose' or 'none', not {detector!r}")
        self.detector = detector
        self.batch_size = max(1, int(batch_size))
        if loaded.architecture == "blazepose_landmarks":
            mode = "landmarks"
        if mode not in ("heatmap", "regression", "landmarks"):
            raise InputError(None, f"mode must be 'heatmap', 'regression' or 'landmarks', not {mode!r}")
        if mode == "landmarks" and loaded.architecture != "blazepose_landmarks":
            raise InputError(None, "mode 'landmarks' needs a BlazePose landmark model")
        self.mode = mode
        self.input_size = tuple(int(v) for v in loaded.input_size)
        self.refine_roi = max(0, int(loaded.refine_roi if refine_roi is None else refine_roi))
        if runtime_mirror is not None and not isinstance(runtime_mirror, (bool, np.bool_)):
            raise InputError(None, f"runtime_mirror must be True, False or None (mirror "
                                   f"without a box), not {runtime_mirror!r}")
        self.runtime_mirror = None if runtime_mirror is None else bool(runtime_mirror)
        self.ensemble = _check_weight(ensemble)
        # the runtime that places crops runs the same BlazePose network as the model was built
        # from where it can: heavy finds and aligns infants better (benchmarks/models_real.py)
        if runtime_model is None:
            variant = str(getattr(self.model, "variant", "") or loaded.config.get("variant", ""))
            runtime_model = "heavy" if "heavy" in variant else "full"
        from infantpose.models.blazepose import _check_landmark_model

        self.runtime_model = _check_landmark_model(runtime_model)
        self._finder = PersonFinder(self.runtime_model, self.runtime_mirror)

    @property
    def codec(self) -> HeatmapCodec | RegressionCodec:
        """How the network's outputs become keypoints (and keypoints its training targets):
        heatmaps at the checkpoint's stride, or regressed landmarks."""
        if self.mode != "heatmap":
            return RegressionCodec(self.input_size)
        return HeatmapCodec(self.input_size, self.loaded.stride, self.sigma, self.decoder,
                            self.loaded.heatmap_activation)

    # video: follow the infant from frame to frame (MediaPipe's own tracking)
    def tracker(self, config: Any = None, following: bool = True) -> Any:
        """A :class:`~infantpose.models.tracker.BoxTracker` for one video: the previous
        frame's box and quarter turn (tried alone, as the crop's rotation); while following,
        a frame whose box holds the previous frame's confident pose is cropped on that pose's
        body ROI, as MediaPipe tracks, instead of running the mediapipe runtime again
        (landmark and regression modes). The previous pose is the tracker's (its view's)."""
        from infantpose.models.tracker import BoxTracker

        return BoxTracker(self, config, following, view=_FollowingView(self))

    def _followed_roi(self, image: np.ndarray, boxes: np.ndarray,
                      last: tuple[tuple[int, ...], np.ndarray] | None
                      ) -> tuple[list[np.ndarray], list[int]] | None:
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
        return [roi_transform(*roi, self.input_size)], [upright_turn(roi[2])]

    # where to look
    def _detect(self, image: np.ndarray, hint: int | None) -> tuple[np.ndarray, int]:
        """Affine for the person found by the mediapipe BlazePose estimator (its landmarks give
        MediaPipe's rotated body ROI) and the quarter turn that found it; the whole frame (at
        the tracker's ``hint`` turn) when nobody is found."""
        h, w = image.shape[:2]
        whole = box_transform([0.0, 0.0, w, h], self.input_size, 1.0, hint or 0)
        if self.detector == "none":
            return whole, hint or 0
        try:
            self._finder.start()
        except ImportError:
            self.detector = "none"
            return whole, hint or 0
        p = self._runtime(image, None)
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
        return self._finder.poses(image, boxes)

    @property
    def _detector_est(self) -> Any:
        """The mediapipe runtime estimator that places crops (None before its first use)."""
        return self._finder.runtime

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
        which :meth:`_rois_for` cropped them."""
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

    def _rois_for(self, image: np.ndarray, boxes: np.ndarray | None, hint: int | None,
                  last: tuple[tuple[int, ...], np.ndarray] | None
                  ) -> tuple[list[np.ndarray], list[int], bool]:
        """(crop affines, their quarter turns, whether the previous pose's ROI was followed)."""
        if boxes is None:
            m, rot = self._detect(image, hint)
            return [m], [rot], False
        b = _finite_boxes(boxes)
        if self.mode in ("regression", "landmarks") and self.detector == "blazepose" and len(b):
            followed = self._followed_roi(image, b, last)
            if followed is not None:
                return (*followed, True)
            return (*self._runtime_rois(image, b, hint), False)
        if self.loaded.crop == "upright" or self.mode in ("regression", "landmarks"):
            # BlazePose's own landmark model was trained on body-aligned crops too
            return (*self._upright_rois(image, b, hint), False)
        rot = hint or 0
        return ([box_transform(x, self.input_size, self.margin, rot) for x in b], [rot] * len(b),
                False)

    def _runtime_rois(self, image: np.ndarray, boxes: np.ndarray, hint: int | None
                      ) -> tuple[list[np.ndarray], list[int]]:
        """Body ROIs from the runtime's pose in each box; the model's own quarter-turn search
        (:meth:`_upright_rois`) for boxes where the runtime finds nobody."""
        p = self._runtime(image, boxes)
        mats, rots = [], []
        for n, b in enumerate(boxes):
            roi = self._runtime_roi(p, n) if n < p.n_instances else None
            if roi is None:
                m, r = self._upright_rois(image, b[None], hint)
                mats += m
                rots += r
            else:
                mats.append(roi_transform(*roi, self.input_size))
                rots.append(upright_turn(roi[2]))
        return mats, rots

    def _upright_rois(self, image: np.ndarray, boxes: np.ndarray, hint: int | None
                      ) -> tuple[list[np.ndarray], list[int]]:
        """Body-aligned crops for caller-given boxes, for models trained on upright crops.

        A box says where the infant is but not which way it lies. Each quarter turn of the box
        crop is tried (only the tracker's hint when one is set), the model's most confident
        orientation is kept, and the final crop is MediaPipe's rotated body region of that pose:
        the same alignment the model saw in training.
        """
        rots = [hint] if hint is not None else [0, 90, 180, 270]
        k = self.model_schema.num_keypoints
        mats, out_rots = [], []
        for b in boxes:
            cands = [box_transform(b, self.input_size, self.margin, r) for r in rots]
            kps = self._run(np.stack([crop_image(image, m, self.input_size) for m in cands]))
            best = most_confident(kps[:, :k])
            xy = apply_affine(invert_affine(cands[best]), kps[best, :k, :2])
            roi = body_roi(xy, self.model_schema, self.margin)
            if roi is None:
                mats.append(cands[best])
                out_rots.append(rots[best])
            else:
                mats.append(roi_transform(*roi, self.input_size))
                out_rots.append(upright_turn(roi[2]))
        return mats, out_rots

    # core
    def _forward(self, crops: np.ndarray) -> np.ndarray:
        """(M, h, w, 3) uint8 crops → (M, K, Hh, Wh) activated heatmaps or (M, K, 3) landmarks."""
        outs = []
        with torch.inference_mode():
            for i in range(0, len(crops), self.batch_size):
                x = torch.from_numpy(crops[i:i + self.batch_size]).permute(0, 3, 1, 2).float() / 255.0
                y = self.model(x)
                if self.mode == "landmarks":  # the schema's keypoints, regressed
                    xy, vis = self.model.keypoints(y)
                    outs.append(torch.cat([xy, torch.sigmoid(vis)[..., None]], -1).numpy())
                    continue
                if self.mode == "regression":  # all 39 landmarks (33 + MediaPipe's auxiliary)
                    lm = y[0].reshape(len(x), -1, 5)
                    score = torch.sigmoid(lm[..., 3:4])
                    outs.append(torch.cat([lm[..., :2], score], -1).numpy())
                    continue
                act = self.loaded.heatmap_activation
                if act == "sigmoid":
                    y = torch.sigmoid(y)
                elif act == "softmax":
                    b, k, hh, ww = y.shape
                    y = torch.softmax(y.reshape(b, k, -1), -1).reshape(b, k, hh, ww)
                outs.append(y.float().numpy())
        return np.concatenate(outs, 0)

    def predict_batch(self, images: Sequence[np.ndarray],
                      boxes: Sequence[np.ndarray | None] | None = None) -> Poses:
        """Poses for several images (one frame each), all crops batched through the model."""
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
        crops, mats, owner, rotations = [], [], [], []
        images = [self._check_image(im) for im in images]
        was_followed = False
        for i, (im, b) in enumerate(zip(images, bxs)):
            mats_i, rots_i, followed = self._rois_for(im, b, hint, last)
            was_followed = was_followed or followed
            for m, rot in zip(mats_i, rots_i):
                crops.append(crop_image(im, m, self.input_size))
                mats.append(m)
                owner.append(i)
                rotations.append(rot)
        k = self.model_schema.num_keypoints
        found: list[list[np.ndarray]] = [[] for _ in images]  # (K, 3) instances of each image
        refined = 0
        if crops:
            refining = bool(self.refine_roi) and not was_followed
            # (the first pass is flip-tested even when it only places the next crop: without it
            # AP on 50 real photos fell by 0.003-0.010 for 25 % more speed)
            kps = self._run(np.stack(crops))
            if refining:
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
                roi = body_roi(xy[:k], self.model_schema, self.margin)
                if roi is not None:  # report the body's orientation for the tracker's hint
                    rotations[j] = upright_turn(roi[2])
        if self.ensemble > 0 and self.detector == "blazepose" and not was_followed:
            found = [self._ensembled(im, b, f) if f else f
                     for im, b, f in zip(images, bxs, found)]
        sizes = [(int(im.shape[1]), int(im.shape[0])) for im in images]
        same = len(set(sizes)) == 1
        meta = {"model": self.name, "decoder": self.decoder if self.mode == "heatmap" else self.mode,
                "flip_test": self.flip_test, "weights": self.loaded.source,
                "roi_refined": refined, "runtime_mirror": self.runtime_mirror,
                "ensemble": self.ensemble}
        turns: list[list[int]] = [[] for _ in images]  # each instance's crop turn, per image
        for i, rot in zip(owner, rotations):
            turns[i].append(rot)
        poses = Poses.from_ragged([np.asarray(f, dtype=float).reshape(-1, k, 3) for f in found],
                                  self.model_schema, source=None,
                                  frame_size=sizes[0] if same and sizes else None,
                                  image_sizes=None if same else sizes, meta=meta,
                                  rotation=turns)
        one = poses.data[0, 0].copy() if len(images) == 1 and poses.n_instances == 1 else None
        if self.schema.name != self.model_schema.name:
            poses = poses.convert(self.schema)
        return poses, one

    def _run(self, arr: np.ndarray) -> np.ndarray:
        """Crops → (M, K', 3) keypoints in crop coordinates (the shared runner → flip test →
        codec steps, :func:`~infantpose.models.crop_keypoints.crop_keypoints`; the mirrored
        crops run in the same batch)."""
        return crop_keypoints(lambda c: [self._forward(c)], arr, self.codec,
                              self.model_schema.flip_index, self.flip_test)

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

    def predict(self, image: np.ndarray, boxes: np.ndarray | None = None) -> Poses:
        """One frame of poses in ``self.schema``: one instance per box (or per detected person)."""
        return self.predict_batch([image], [boxes])

    def close(self) -> None:
        self._finder.close()

    def __enter__(self) -> TorchPoseEstimator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @staticmethod
    def _check_image(im: np.ndarray) -> np.ndarray:
        a = np.asarray(im)
        if a.ndim == 2:
            a = np.repeat(a[..., None], 3, axis=2)
        if a.ndim != 3 or a.shape[2] not in (3, 4):
            raise InputError(None, f"expected an H×W×3 RGB image, got shape {a.shape}")
        a = a[..., :3]
        if a.dtype != np.uint8:
            a = np.clip(a, 0, 255).astype(np.uint8)
        return np.ascontiguousarray(a)


class _FollowingView:
    """A :class:`TorchPoseEstimator` as one tracker sees it: each call gets the tracker's
    quarter turn, and, while following, the pose of this view's previous call (kept here, per
    tracker, not in the estimator)."""

    def __init__(self, estimator: TorchPoseEstimator):
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


def _check_weight(value: Any) -> float:
    try:
        w = float(value)
    except (TypeError, ValueError):
        w = float("nan")
    if not 0.0 <= w <= 1.0:  # NaN fails too
        raise InputError(None, f"ensemble weight must be a number from 0 to 1, not {value!r}")
    return w
