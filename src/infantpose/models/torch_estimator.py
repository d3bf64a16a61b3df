"""The top-down estimator on a PyTorch network: :class:`TorchRunner` (crops through the torch
module) and :class:`TorchPoseEstimator`, the one top-down estimator
(:class:`~infantpose.models.topdown_estimator.TopDownEstimator`) built from a loaded checkpoint
(the pipeline is described in :mod:`infantpose.models.topdown`, which also holds the registered
factories).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from infantpose.errors import InputError
from infantpose.models.blazepose_runtime import _check_landmark_model
from infantpose.models.checkpoint import LoadedModel
from infantpose.models.codecs import HeatmapCodec, RegressionCodec
from infantpose.models.person_finder import PersonFinder
# the estimator's helpers are re-exported here for their older importers (models.topdown)
from infantpose.models.topdown_estimator import (Placement, TopDownEstimator,  # noqa: F401
                                                 _FollowingView, _finite_boxes)
from infantpose.schemas import Schema, get_mapping, get_schema

__all__ = ["TorchPoseEstimator", "TorchRunner"]

MODES = ("heatmap", "regression", "landmarks")


@dataclass
class TorchRunner:
    """Crops through a torch module (the :class:`~infantpose.models.topdown_estimator.
    CropRunner` of the torch models): (M, h, w, 3) uint8 crops, scaled to [0, 1], in batches of
    ``batch_size`` → ``[(M, K, Hh, Wh) activated heatmaps]`` (``mode="heatmap"``) or
    ``[(M, K, 3) landmarks]`` (x, y in crop pixels and the sigmoid of the visibility:
    ``"regression"`` for the pretrained BlazePose graph's 39 regressed landmarks,
    ``"landmarks"`` for a fine-tuned landmark model's keypoints). The mirrored crops of the
    flip test run in the same batch (``one_pass``)."""

    model: Any
    mode: str = "heatmap"
    activation: str = "sigmoid"
    batch_size: int = 16
    one_pass = True

    def __call__(self, crops: np.ndarray) -> list[np.ndarray]:
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
                if self.activation == "sigmoid":
                    y = torch.sigmoid(y)
                elif self.activation == "softmax":
                    b, k, hh, ww = y.shape
                    y = torch.softmax(y.reshape(b, k, -1), -1).reshape(b, k, hh, ww)
                outs.append(y.float().numpy())
        return [np.concatenate(outs, 0)]


class TorchPoseEstimator(TopDownEstimator):
    """The top-down estimator (:class:`~infantpose.models.topdown_estimator.TopDownEstimator`)
    around a torch heatmap or landmark model: this class only builds its parts from a loaded
    checkpoint (runner, codec, crop placement, person finder) and keeps the checkpoint
    (``loaded``, ``model``) and the decoding settings as attributes.

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

    def __init__(self, loaded: LoadedModel, schema: Schema | str | None = None,
                 flip_test: bool = True, decoder: str | None = None, sigma: float | None = None,
                 margin: float | None = None, detector: str = "blazepose", batch_size: int = 16,
                 mode: str = "heatmap", name: str = "torch", refine_roi: int | None = None,
                 runtime_mirror: bool | None = None, ensemble: float = 0.0,
                 runtime_model: str | None = None):
        self.loaded = loaded
        self.model = loaded.model.eval()
        model_schema = loaded.schema
        out_schema = get_schema(schema) if schema is not None else loaded.schema
        if out_schema.name != model_schema.name:
            get_mapping(model_schema, out_schema)  # fail early when no mapping exists
        self.decoder = decoder or loaded.decoder
        self.sigma = float(sigma if sigma is not None else loaded.sigma)
        if detector not in ("blazepose", "none"):
            raise InputError(None, f"detector must be 'blazepose' or 'none', not {detector!r}")
        self.batch_size = max(1, int(batch_size))
        if loaded.architecture == "blazepose_landmarks":
            mode = "landmarks"
        if mode not in MODES:
            raise InputError(None, f"mode must be 'heatmap', 'regression' or 'landmarks', not {mode!r}")
        if mode == "landmarks" and loaded.architecture != "blazepose_landmarks":
            raise InputError(None, "mode 'landmarks' needs a BlazePose landmark model")
        self.mode = mode
        input_size = tuple(int(v) for v in loaded.input_size)
        if runtime_mirror is not None and not isinstance(runtime_mirror, (bool, np.bool_)):
            raise InputError(None, f"runtime_mirror must be True, False or None (mirror "
                                   f"without a box), not {runtime_mirror!r}")
        self.runtime_mirror = None if runtime_mirror is None else bool(runtime_mirror)
        # the runtime that places crops runs the same BlazePose network as the model was built
        # from where it can: heavy finds and aligns infants better (benchmarks/models_real.py)
        if runtime_model is None:
            variant = str(getattr(self.model, "variant", "") or loaded.config.get("variant", ""))
            runtime_model = "heavy" if "heavy" in variant else "full"
        self.runtime_model = _check_landmark_model(runtime_model)
        if mode == "heatmap":
            codec: HeatmapCodec | RegressionCodec = HeatmapCodec(
                input_size, loaded.stride, self.sigma, self.decoder, loaded.heatmap_activation)
            boxes = "upright" if loaded.crop == "upright" else "box"
        else:
            # BlazePose's own landmark model was trained on body-aligned crops: the runtime's
            # pose places them
            codec = RegressionCodec(input_size)
            boxes = "runtime"
        super().__init__(
            name=name, model_schema=model_schema, schema=out_schema,
            runner=TorchRunner(self.model, mode, loaded.heatmap_activation, self.batch_size),
            codec=codec, input_size=input_size,  # type: ignore[arg-type]
            margin=float(margin if margin is not None else loaded.margin),
            finder=PersonFinder(self.runtime_model, self.runtime_mirror),
            placement=Placement(found="roi", boxes=boxes, pose_rotation=True),
            flip_test=bool(flip_test), detector=detector,
            refine_roi=max(0, int(loaded.refine_roi if refine_roi is None else refine_roi)),
            ensemble=_check_weight(ensemble),
            meta_keys={"model": None, "decoder": self.decoder if mode == "heatmap" else mode,
                       "flip_test": None, "weights": loaded.source,
                       "roi_refined": None, "runtime_mirror": self.runtime_mirror,
                       "ensemble": None})


def _check_weight(value: Any) -> float:
    try:
        w = float(value)
    except (TypeError, ValueError):
        w = float("nan")
    if not 0.0 <= w <= 1.0:  # NaN fails too
        raise InputError(None, f"ensemble weight must be a number from 0 to 1, not {value!r}")
    return w
