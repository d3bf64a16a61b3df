"""Top-down inference for PyTorch heatmap and landmark models: the registered factories
(``blazepose-torch``, ``pose-resnet``) and, re-exported for their older importers, the
estimator and checkpoint API.

Pipeline per person box (or the person found, or the whole frame): an aspect-preserving affine
crop at the model's input size with a context margin → forward pass → optional flip test (the
mirrored crop's heatmaps are flipped back, left/right channels swapped with the schema's
``flip_index``, and averaged) → decoding by the codec (heatmaps: ``argmax``, ``wa`` or ``dark``,
see :mod:`infantpose.models.heatmaps`; or regressed landmarks) → coordinates mapped back through
the inverse affine into the original image. That pipeline is the one top-down estimator,
:class:`~infantpose.models.topdown_estimator.TopDownEstimator`, shared with ONNX files;
:class:`~infantpose.models.torch_estimator.TorchPoseEstimator` builds it from a checkpoint
(a :class:`~infantpose.models.torch_estimator.TorchRunner` runs the torch module).

Coordinates are continuous pixels (an image spans [0, W] × [0, H]; pixel i covers [i, i+1)), as in
the rest of infantpose; heatmap pixels map to crop coordinates through
:func:`~infantpose.models.heatmaps.heatmap_to_input` (a horizontal flip of the crop is then exactly
a flip of the heatmap array, so flip-test averaging needs no shift).

The checkpoint format and loading are in :mod:`infantpose.models.checkpoint`; crop geometry
(:func:`~infantpose.geometry.box_transform`, :func:`~infantpose.geometry.body_roi`, ...) in
:mod:`infantpose.geometry`.
"""

from __future__ import annotations

from typing import Any

from infantpose.errors import InputError
from infantpose.geometry import (apply_affine, body_roi, box_transform,  # noqa: F401
                                 crop_image, invert_affine, roi_transform, upright_turn)
from infantpose.models.blazepose_net import (BlazePoseNet, normalised_variant,
                                             pretrained_landmark_graph)
# the checkpoint API is re-exported here for its older importers (cli, train.loop, docs)
from infantpose.models.checkpoint import (CHECKPOINT_FORMAT, MODEL_OF_ARCHITECTURE, LoadedModel,
                                          build_model, checkpoint_model, load_checkpoint,
                                          save_checkpoint)
from infantpose.models.codecs import HeatmapCodec, RegressionCodec  # noqa: F401
from infantpose.models.crop_keypoints import crop_keypoints  # noqa: F401
from infantpose.models.heatmaps import input_to_heatmap
from infantpose.models.person_finder import PersonFinder  # noqa: F401
from infantpose.models.tflite_port import landmark_variant
from infantpose.models.tta import most_confident  # noqa: F401
from infantpose.poses import Poses  # noqa: F401
from infantpose.schemas import BLAZEPOSE33, Schema, get_schema  # noqa: F401
# the estimator lives in topdown_estimator (the pipeline) and torch_estimator (built from a
# checkpoint); re-exported here: callers and tests import it from this module
from infantpose.models.topdown_estimator import TopDownEstimator  # noqa: F401
from infantpose.models.torch_estimator import (TorchPoseEstimator, TorchRunner,  # noqa: F401
                                               _check_weight, _finite_boxes, _FollowingView)

__all__ = [
    "CHECKPOINT_FORMAT",
    "MODEL_OF_ARCHITECTURE",
    "LoadedModel",
    "TopDownEstimator",
    "TorchPoseEstimator",
    "build_model",
    "checkpoint_model",
    "create_blazepose_torch",
    "create_pose_resnet",
    "input_to_heatmap",
    "load_checkpoint",
    "save_checkpoint",
]


# --- registered factories -------------------------------------------------------------------------

def create_blazepose_torch(schema: Schema | str | None = None, weights: str | None = None,
                           landmark_model: str | None = None, **options: Any) -> TorchPoseEstimator:
    """``blazepose-torch``: the ported BlazePose network in PyTorch.

    Without ``weights``: a pretrained network read out through its regressed landmarks
    (``mode="heatmap"`` reads the pretrained 33 heatmap channels instead): ``landmark_model``
    ``"full"`` (default, from the mediapipe wheel) or ``"heavy"`` (``pose_landmark_heavy``, from
    the model store; about 4× the parameters and the time per crop). With ``weights``: a
    fine-tuned infantpose checkpoint (regressed landmarks, or heatmap decoding for checkpoints of
    the heatmap head), which rebuilds the network it was fine-tuned from; ``landmark_model``,
    if given, must name that network.
    """
    wanted = None if landmark_model is None else landmark_variant(landmark_model)
    if weights:
        loaded = load_checkpoint(weights)
        if loaded.architecture not in ("blazepose", "blazepose_landmarks"):
            raise InputError(weights, f"checkpoint is a {loaded.architecture} model, not blazepose")
        built = normalised_variant(getattr(loaded.model, "variant", "pose_landmark_full"))
        if wanted is not None and wanted != built:
            raise InputError(weights, f"checkpoint was fine-tuned from {built}, not {wanted}")
        mode = options.pop("mode", "landmarks" if loaded.architecture == "blazepose_landmarks"
                           else "heatmap")
    else:
        variant = wanted or "pose_landmark_full"
        mode = options.pop("mode", "regression")
        if mode == "regression":
            full = pretrained_landmark_graph(variant)
            model = full.pruned([full.tensor_id("Identity")])  # landmarks only: skip seg/heatmap
        else:
            model = BlazePoseNet(schema=BLAZEPOSE33, variant=variant)
        loaded = LoadedModel(model, "blazepose", BLAZEPOSE33, (256, 256), 4, "sigmoid", "wa", 2.0,
                             {"variant": variant}, f"mediapipe {variant}.tflite")
    return TorchPoseEstimator(loaded, schema=schema, mode=mode, name="blazepose-torch", **options)


def create_pose_resnet(schema: Schema | str | None = None, weights: str | None = None,
                       **options: Any) -> TorchPoseEstimator:
    """``pose-resnet``: SimpleBaseline Pose-ResNet from an infantpose or official checkpoint."""
    if not weights:
        raise InputError(None, "pose-resnet needs --weights FILE (an infantpose checkpoint or an "
                               "official SimpleBaseline/FiDIP .pth); no weights can be downloaded")
    loaded = load_checkpoint(weights, input_size=options.pop("input_size", None))
    if loaded.architecture != "pose_resnet":
        raise InputError(weights, f"checkpoint is a {loaded.architecture} model, not pose_resnet")
    return TorchPoseEstimator(loaded, schema=schema, name="pose-resnet", **options)
