"""Top-down inference for PyTorch heatmap models, and the infantpose checkpoint format.

Pipeline per person box (or the whole frame): an aspect-preserving affine crop at the model's
input size with a context margin → forward pass → optional flip test (the mirrored crop's
heatmaps are flipped back, left/right channels swapped with the schema's ``flip_index``, and
averaged) → heatmap decoding (``argmax``, ``wa`` or ``dark``, see
:mod:`infantpose.models.heatmaps`) → coordinates mapped back through the inverse affine into the
original image. ``TorchPoseEstimator`` wraps this behind the :class:`~infantpose.models.base.Estimator`
protocol, with a batched ``predict_batch``.

Coordinates are continuous pixels (an image spans [0, W] × [0, H]; pixel i covers [i, i+1)), as in
the rest of infantpose. A heatmap of stride ``s`` has pixel ``j`` centred on input coordinate
``(j + 0.5)·s``: :func:`input_to_heatmap` / :func:`heatmap_to_input` convert, and training targets
must use the same mapping. With this convention a horizontal flip of the crop is exactly a flip of
the heatmap array, so flip-test averaging needs no shift.

Checkpoint format (``torch.save`` of a plain dict; written by :func:`save_checkpoint`, read by
:func:`load_checkpoint`; the training loop writes the same)::

    {
      "format": "infantpose-checkpoint", "version": 1,
      "architecture": "blazepose" | "blazepose_landmarks" | "pose_resnet",
      "arch_config": {...},          # BlazePoseNet: {"variant": "pose_landmark_full"};
                                     # BlazePoseLandmarkNet: {"variant", "output": "landmarks"};
                                     # PoseResNet: {"depth", "num_keypoints", "input_size", ...}
      "schema": "infant22",          # schema name; "keypoints": [...] its keypoint names in order
      "keypoints": [...],
      "input_size": [w, h],          # network input (BlazePose 256×256, Pose-ResNet e.g. 192×256)
      "stride": 4,                   # input pixels per heatmap pixel
      "heatmap_activation": "sigmoid" | "softmax" | "none",   # how to read the raw head output:
                                     # sigmoid for BCE-trained logits, softmax for KCE, none for MSE
      "decoder": "dark" | "wa" | "argmax", "sigma": 2.0,       # decoding defaults (sigma of targets)
      "crop": "box" | "upright",     # crops it was trained on (absent in older files: "box")
      "margin": 1.25,                # context around the box / body ROI it was trained on
      "refine_roi": 0,               # re-crops on its own keypoints that validated best
      "state_dict": {...},           # model.state_dict()
      "config": {...},               # free-form: training settings, data, metrics, date
    }

``load_checkpoint`` also accepts an official SimpleBaseline/FiDIP Pose-ResNet state dict (e.g.
``pose_resnet_50_256x192.pth``, optionally wrapped in ``{"state_dict": ...}`` and ``module.``
prefixed); it is read as COCO-17 when it has 17 heatmap channels.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from infantpose import _atomic
from infantpose.errors import InputError
from infantpose.models.base import EstimatorBase
from infantpose.models.heatmaps import decode_heatmaps
from infantpose.poses import Poses
from infantpose.schemas import BLAZEPOSE33, COCO17, Schema, get_schema

__all__ = [
    "CHECKPOINT_FORMAT",
    "LoadedModel",
    "TorchPoseEstimator",
    "body_roi",
    "box_transform",
    "build_model",
    "create_blazepose_torch",
    "create_pose_resnet",
    "crop_image",
    "heatmap_to_input",
    "input_to_heatmap",
    "load_checkpoint",
    "quarter_turn",
    "roi_transform",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = "infantpose-checkpoint"
ARCHITECTURES = ("blazepose", "blazepose_landmarks", "pose_resnet")


def input_to_heatmap(xy: np.ndarray, stride: float) -> np.ndarray:
    """Continuous input-crop coordinates → heatmap pixel coordinates (for training targets)."""
    return np.asarray(xy, dtype=float) / stride - 0.5


def heatmap_to_input(uv: np.ndarray, stride: float) -> np.ndarray:
    """Heatmap pixel coordinates → continuous input-crop coordinates."""
    return (np.asarray(uv, dtype=float) + 0.5) * stride


# --- checkpoints ----------------------------------------------------------------------------------

@dataclass
class LoadedModel:
    """A torch pose model with everything needed to run and decode it."""

    model: nn.Module
    architecture: str
    schema: Schema
    input_size: tuple[int, int]  # (w, h)
    stride: int = 4
    heatmap_activation: str = "none"
    decoder: str = "dark"
    sigma: float = 2.0
    config: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    crop: str = "box"  # how the model was trained to see people: "box" or "upright" (body ROI)
    margin: float = 1.25  # context around the box or body ROI the model was trained on
    refine_roi: int = 0  # passes re-cropped on the model's own keypoints (chosen in training)


def build_model(architecture: str, schema: Schema | str, arch_config: dict[str, Any] | None = None,
                input_size: Sequence[int] | None = None, weights: str | os.PathLike | None = None,
                weights_schema: str = "coco17", rebuild: bool = False) -> nn.Module:
    """A model of ``architecture`` for ``schema``, ready to fine-tune.

    ``blazepose`` always starts from the pretrained BlazePose weights in the mediapipe wheel (head
    channels initialised through the schema mapping). ``pose_resnet`` starts from official
    SimpleBaseline/FiDIP ``weights`` when given (final layer mapped from ``weights_schema``), else
    from scratch with a warning. To resume an infantpose checkpoint use :func:`load_checkpoint`.
    """
    s = get_schema(schema)
    cfg = dict(arch_config or {})
    if architecture == "blazepose":
        from infantpose.models.blazepose_net import BlazePoseNet

        return BlazePoseNet(schema=s, variant=cfg.get("variant", "pose_landmark_full"))
    if architecture == "blazepose_landmarks":
        from infantpose.models.blazepose_landmarks import BlazePoseLandmarkNet

        return BlazePoseLandmarkNet(schema=s, variant=cfg.get("variant", "pose_landmark_full"))
    if architecture == "pose_resnet":
        from infantpose.models.pose_resnet import PoseResNet, build_pose_resnet

        cfg.pop("num_keypoints", None)
        if input_size is not None:
            cfg["input_size"] = tuple(int(v) for v in input_size)
        cfg["input_size"] = tuple(cfg.get("input_size", (192, 256)))
        if rebuild:  # architecture of a saved checkpoint: its state dict follows
            return PoseResNet(s.num_keypoints, **cfg)
        return build_pose_resnet(s, weights=weights, weights_schema=weights_schema, **cfg)
    raise InputError(None, f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}")


def _architecture_of(model: nn.Module) -> str:
    from infantpose.models.blazepose_landmarks import BlazePoseLandmarkNet
    from infantpose.models.blazepose_net import BlazePoseNet
    from infantpose.models.pose_resnet import PoseResNet

    if isinstance(model, BlazePoseNet):
        return "blazepose"
    if isinstance(model, BlazePoseLandmarkNet):
        return "blazepose_landmarks"
    if isinstance(model, PoseResNet):
        return "pose_resnet"
    raise ValueError(f"cannot checkpoint a {type(model).__name__}; expected BlazePoseNet, "
                     "BlazePoseLandmarkNet or PoseResNet")


def save_checkpoint(path: str | os.PathLike, model: nn.Module, schema: Schema | str,
                    heatmap_activation: str | None = None, decoder: str = "dark",
                    sigma: float = 2.0, config: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None, crop: str = "box",
                    margin: float = 1.25, refine_roi: int = 0) -> Path:
    """Write a self-describing checkpoint atomically (format in the module docstring).

    ``extra`` adds top-level fields (e.g. the trainer's ``"training_state"`` for resuming);
    readers ignore fields they do not know. ``crop`` records the crops the model was trained on
    (``"box"``: the person box, any orientation; ``"upright"``: the rotated body region).
    """
    if crop not in CROP_MODES:
        raise ValueError(f"crop must be one of {', '.join(CROP_MODES)}, not {crop!r}")
    arch = _architecture_of(model)
    s = get_schema(schema)
    if heatmap_activation is None:
        heatmap_activation = {"blazepose": "sigmoid"}.get(arch, "none")
    if heatmap_activation not in ("sigmoid", "softmax", "none"):
        raise ValueError(f"heatmap_activation must be sigmoid, softmax or none, not {heatmap_activation!r}")
    ckpt = {
        "format": CHECKPOINT_FORMAT, "version": 1, "architecture": arch,
        "arch_config": model.config(), "schema": s.name, "keypoints": list(s.keypoints),
        "input_size": list(model.input_size), "stride": int(model.stride),
        "heatmap_activation": heatmap_activation, "decoder": decoder, "sigma": float(sigma),
        "crop": crop, "margin": float(margin), "refine_roi": int(refine_roi),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        # plain JSON types only, so that torch.load(weights_only=True) can always read it back
        "config": json.loads(json.dumps(dict(config or {}), default=str)),
    }
    for key, val in (extra or {}).items():
        if key in ckpt:
            raise ValueError(f"extra checkpoint field {key!r} would overwrite a format field")
        ckpt[key] = val
    with _atomic.atomic_path(path) as tmp:
        torch.save(ckpt, tmp)
    return Path(path)


def load_checkpoint(path: str | os.PathLike, map_location: str = "cpu",
                    input_size: Sequence[int] | None = None) -> LoadedModel:
    """Load an infantpose checkpoint, or an official Pose-ResNet state dict, ready to run.

    For official state dicts (which do not record their input size) ``input_size`` (w, h) is
    taken from the argument, else from a SimpleBaseline-style file name ``…_256x192.pth``
    (height × width), else 192×256.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "checkpoint file not found")
    try:
        obj = torch.load(p, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - pickle/zip errors of many kinds
        raise InputError(p, f"cannot read checkpoint ({type(e).__name__}: {e})") from None
    if isinstance(obj, dict) and obj.get("format") == CHECKPOINT_FORMAT:
        return _from_infantpose(obj, p)
    from infantpose.models.pose_resnet import pose_resnet_from_state_dict

    if input_size is None:
        import re

        m = re.search(r"(\d{2,4})x(\d{2,4})", p.stem)
        input_size = (int(m.group(2)), int(m.group(1))) if m else (192, 256)
    model = pose_resnet_from_state_dict(obj, p, tuple(int(v) for v in input_size))
    k = model.num_keypoints
    if k == COCO17.num_keypoints:
        schema = COCO17
    elif k == 22:
        schema = get_schema("infant22")
    else:
        raise InputError(p, f"official Pose-ResNet weights with {k} keypoints: no schema has that "
                            "many; save it as an infantpose checkpoint naming its schema")
    model.eval()
    return LoadedModel(model, "pose_resnet", schema, model.input_size, model.stride, "none",
                       "dark", 2.0, {"origin": "official SimpleBaseline/FiDIP state dict"}, str(p))


#: The registered estimator that runs each checkpoint architecture.
MODEL_OF_ARCHITECTURE = {"blazepose": "blazepose-torch", "blazepose_landmarks": "blazepose-torch",
                         "pose_resnet": "pose-resnet"}


def checkpoint_model(path: str | os.PathLike) -> tuple[str, str]:
    """``(model name, architecture)`` of a checkpoint file, so ``--weights FILE`` alone picks
    the estimator that runs it (the file says what it is; the user need not repeat it).

    Reads the file memory-mapped (no weights are copied): an infantpose checkpoint names its
    ``architecture``; any other state dict is taken as an official Pose-ResNet one, which
    :func:`load_checkpoint` then checks in full. InputError for a missing or unreadable file or
    an unknown architecture.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "checkpoint file not found")
    try:
        try:
            obj = torch.load(p, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError:  # legacy (non-zip) torch files cannot be memory-mapped
            obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - pickle/zip errors of many kinds
        raise InputError(p, f"cannot read checkpoint ({type(e).__name__}: {e})") from None
    if not isinstance(obj, dict):
        raise InputError(p, "not an infantpose checkpoint or a Pose-ResNet state dict")
    arch = obj.get("architecture") if obj.get("format") == CHECKPOINT_FORMAT else "pose_resnet"
    if arch not in MODEL_OF_ARCHITECTURE:
        raise InputError(p, f"checkpoint architecture {arch!r} is unknown; known: "
                            f"{', '.join(ARCHITECTURES)}")
    return MODEL_OF_ARCHITECTURE[arch], str(arch)


def _from_infantpose(ck: dict[str, Any], p: Path) -> LoadedModel:
    for key in ("architecture", "schema", "state_dict", "input_size"):
        if key not in ck:
            raise InputError(p, f"checkpoint lacks {key!r}")
    schema = get_schema(ck["schema"])
    if list(ck.get("keypoints", schema.keypoints)) != list(schema.keypoints):
        raise InputError(p, f"checkpoint keypoints differ from schema {schema.name}")
    model = build_model(ck["architecture"], schema, ck.get("arch_config"), ck["input_size"],
                        rebuild=True)
    own = model.state_dict()
    sd = ck["state_dict"]
    missing = [k for k in own if k not in sd and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in own]
    bad = [k for k in sd if k in own and tuple(sd[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or bad:
        raise InputError(p, f"state dict does not fit {ck['architecture']}: "
                            f"{len(missing)} missing, {len(unexpected)} unexpected, "
                            f"{len(bad)} mis-shaped (e.g. {(missing + unexpected + bad)[0]})")
    model.load_state_dict(sd, strict=False)
    model.eval()
    return LoadedModel(model, ck["architecture"], schema, tuple(ck["input_size"]),
                       int(ck.get("stride", 4)), ck.get("heatmap_activation", "none"),
                       ck.get("decoder", "dark"), float(ck.get("sigma", 2.0)),
                       dict(ck.get("config", {})), str(p), str(ck.get("crop", "box")),
                       float(ck.get("margin", 1.25)), int(ck.get("refine_roi", 0)))


# --- geometry -------------------------------------------------------------------------------------

CROP_MODES = ("box", "upright")


def box_transform(box: Sequence[float], input_size: tuple[int, int],
                  margin: float = 1.25, rotation: int = 0) -> np.ndarray:
    """2×3 affine (continuous image coords → crop coords) for an aspect-preserving crop.

    The box (x1, y1, x2, y2) is widened or heightened to the input's aspect ratio, then scaled by
    ``margin`` (context around the person), and centred in the crop. ``rotation`` (0/90/180/270)
    turns the crop counter-clockwise like :func:`infantpose.models.blazepose.rotate_image`, so
    an infant lying sideways appears upright to an adult-trained network.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    win, hin = input_size
    bw, bh = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    k = round(rotation / 90) % 4
    if k % 2:
        bw, bh = bh, bw  # box extent as seen in the rotated crop
    aspect = win / hin
    if bw / bh > aspect:
        bh = bw / aspect
    else:
        bw = bh * aspect
    s = win / (bw * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    # counter-clockwise quarter turns in image coordinates (y down): (x, y) -> (y, -x)
    rot = np.linalg.matrix_power(np.array([[0.0, 1.0], [-1.0, 0.0]]), k)
    a = s * rot
    t = np.array([win / 2, hin / 2]) - a @ np.array([cx, cy])
    return np.hstack([a, t[:, None]]).astype(np.float64)


def body_roi(xy: np.ndarray, schema: Schema, margin: float = 1.25
             ) -> tuple[np.ndarray, float, np.ndarray] | None:
    """MediaPipe's rotated body region from keypoints: (centre, side, up) or None.

    BlazePose (Bazarevsky et al., 2020) aligns its landmark crop on the mid-hip point, the radius
    of the circle around the whole body centred there, and the mid-hip → mid-shoulder direction
    (upright in the crop). Here the radius is the farthest keypoint from the mid-hip point and
    the square's side is ``2 · radius · margin``. Needs both hips and shoulders in ``schema``.
    """
    try:
        idx = [schema.index(n) for n in ("left_hip", "right_hip", "left_shoulder",
                                           "right_shoulder")]
    except KeyError:
        return None
    xy = np.asarray(xy, dtype=float)
    if not np.isfinite(xy[idx]).all():
        return None
    hip = xy[idx[:2]].mean(0)
    up = xy[idx[2:]].mean(0) - hip
    ok = np.isfinite(xy).all(axis=1)
    radius = float(np.max(np.hypot(*(xy[ok] - hip).T)))
    if np.hypot(*up) < 2.0 or radius < 4.0:
        return None
    return hip, 2.0 * radius * margin, up


def quarter_turn(up: Sequence[float]) -> int:
    """The counter-clockwise quarter turn (0/90/180/270) that best makes direction ``up`` point
    up, in the sense of :func:`box_transform`'s ``rotation``."""
    u = np.asarray(up, dtype=float)
    rot = np.array([[0.0, 1.0], [-1.0, 0.0]])
    scores = [(np.linalg.matrix_power(rot, k) @ u)[1] * -1 for k in range(4)]
    return 90 * int(np.argmax(scores))


def roi_transform(centre: Sequence[float], side: float, up: Sequence[float],
                  input_size: tuple[int, int]) -> np.ndarray:
    """2×3 affine for a square region of ``side`` px around ``centre``, rotated so that the
    image direction ``up`` points up in the crop (MediaPipe's rotated landmark ROI)."""
    u = np.asarray(up, dtype=float)
    u = u / np.linalg.norm(u)
    rot = np.array([[-u[1], u[0]], [-u[0], -u[1]]])  # maps u to (0, -1)
    a = (min(input_size) / float(side)) * rot
    t = np.array([input_size[0] / 2, input_size[1] / 2]) - a @ np.asarray(centre, dtype=float)
    return np.hstack([a, t[:, None]])


def _invert(m: np.ndarray) -> np.ndarray:
    a = np.vstack([m, [0, 0, 1]])
    return np.linalg.inv(a)[:2]


def crop_image(image: np.ndarray, m: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """Warp ``image`` with the continuous-coordinate affine ``m`` (zero padding outside)."""
    import cv2

    # cv2 puts pixel centres at integers: shift by half a pixel on both sides
    mi = m.copy()
    mi[:, 2] = m[:, 2] + 0.5 * (m[:, 0] + m[:, 1]) - 0.5
    return cv2.warpAffine(image, mi, (int(input_size[0]), int(input_size[1])),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def _apply_affine(m: np.ndarray, xy: np.ndarray) -> np.ndarray:
    return xy @ m[:, :2].T + m[:, 2]


# --- estimator ------------------------------------------------------------------------------------

class TorchPoseEstimator(EstimatorBase):
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

    Where to look, for the regression and landmark modes: the mediapipe runtime is run first
    (inside the given box, with its own quarter-turn search) and MediaPipe's rotated body ROI
    of its pose, in the model's schema, is the crop, the same alignment the model was trained
    on; only when the runtime finds nobody does the model search the box's quarter turns
    itself. Runtime results are cached per image and box, so validating a model while it
    trains costs one runtime pass per image.
    """

    accepts_rotation_hint = True

    #: mean keypoint score the previous video frame needs for its ROI to be followed
    follow_score = 0.5

    def __init__(self, loaded: LoadedModel, schema: Schema | str | None = None,
                 flip_test: bool = True, decoder: str | None = None, sigma: float | None = None,
                 margin: float | None = None, detector: str = "blazepose", batch_size: int = 16,
                 mode: str = "heatmap", name: str = "torch", refine_roi: int | None = None):
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
        self._detector_est = None
        self.batch_size = max(1, int(batch_size))
        if loaded.architecture == "blazepose_landmarks":
            mode = "landmarks"
        if mode not in ("heatmap", "regression", "landmarks"):
            raise InputError(None, f"mode must be 'heatmap', 'regression' or 'landmarks', not {mode!r}")
        if mode == "landmarks" and loaded.architecture != "blazepose_landmarks":
            raise InputError(None, "mode 'landmarks' needs a BlazePose landmark model")
        self.mode = mode
        self.input_size = tuple(int(v) for v in loaded.input_size)
        self.rotation_hint: int | None = None
        self.refine_roi = max(0, int(loaded.refine_roi if refine_roi is None else refine_roi))
        self._runtime_cache: dict[tuple, Poses] = {}
        self._following = False
        self._was_followed = False
        self._last: tuple[tuple[int, ...], np.ndarray] | None = None  # (image shape, keypoints)

    # video: follow the infant from frame to frame (MediaPipe's own tracking)
    def set_tracking(self, on: bool) -> None:
        """Between ``set_tracking(True)`` and ``set_tracking(False)`` consecutive calls are
        frames of one video: a frame whose given box holds the previous frame's confident pose
        is cropped on that pose's body ROI, as MediaPipe tracks, instead of running the
        mediapipe runtime again (landmark and regression modes). Resets the remembered pose."""
        self._following = bool(on)
        self._last = None

    def _followed_roi(self, image: np.ndarray, boxes: np.ndarray
                      ) -> tuple[list[np.ndarray], list[int]] | None:
        """The previous frame's body ROI when it can stand in for a runtime pass."""
        if not self._following or self._last is None or len(boxes) != 1:
            return None
        shape, kp = self._last
        if shape != image.shape or np.nanmean(np.nan_to_num(kp[:, 2])) < self.follow_score:
            return None
        roi = body_roi(kp[:, :2], self.model_schema, self.margin)
        if roi is None:
            return None
        x1, y1, x2, y2 = boxes[0]
        cx, cy = roi[0]
        if not (x1 <= cx <= x2 and y1 <= cy <= y2):
            return None
        return [roi_transform(*roi, self.input_size)], [quarter_turn(roi[2])]

    # rotation hint (video tracking passes back the rotation that last found the infant)
    def set_rotation_hint(self, rotation: int | None) -> None:
        """Crop rotation (0/90/180/270, counter-clockwise) used with caller-given boxes."""
        self.rotation_hint = None if rotation is None else int(rotation) % 360

    # where to look
    def _detect(self, image: np.ndarray) -> tuple[np.ndarray, int]:
        """Affine for the person found by the mediapipe BlazePose estimator (its landmarks give
        MediaPipe's rotated body ROI) and the quarter turn that found it; the whole frame when
        nobody is found."""
        h, w = image.shape[:2]
        whole = box_transform([0.0, 0.0, w, h], self.input_size, 1.0, self.rotation_hint or 0)
        if self.detector == "none":
            return whole, self.rotation_hint or 0
        if self._detector_est is None:
            try:
                from infantpose.models.blazepose import BlazePose
            except ImportError:
                self.detector = "none"
                return whole, self.rotation_hint or 0
            self._detector_est = BlazePose(schema=BLAZEPOSE33)
        p = self._runtime(image, None)
        if p.n_instances == 0 or not np.isfinite(p.data[0, 0, :, :2]).any():
            return whole, 0
        rots = p.meta.get("rotation") or [0]
        rot = int(rots[0] or 0) if isinstance(rots, list) else int(rots or 0)
        roi = self._runtime_roi(p, 0)
        if roi is None:
            return whole, rot
        return roi_transform(*roi, self.input_size), quarter_turn(roi[2])

    def _runtime(self, image: np.ndarray, boxes: np.ndarray | None) -> Poses:
        """The mediapipe runtime's BlazePose-33 poses for ``image`` (one per box), cached."""
        import hashlib

        key = (hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16).hexdigest(),
               image.shape, None if boxes is None else np.asarray(boxes, float).tobytes())
        hit = self._runtime_cache.get(key)
        if hit is not None:
            return hit
        if self._detector_est is None:
            from infantpose.models.blazepose import BlazePose

            self._detector_est = BlazePose(schema=BLAZEPOSE33)
        p = self._detector_est.predict(image, boxes)
        if len(self._runtime_cache) >= 4096:
            self._runtime_cache.clear()
        self._runtime_cache[key] = p
        return p

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

    def _rois_for(self, image: np.ndarray, boxes: np.ndarray | None
                  ) -> tuple[list[np.ndarray], list[int]]:
        if boxes is None:
            m, rot = self._detect(image)
            return [m], [rot]
        b = np.asarray(boxes, dtype=float).reshape(-1, 4)
        b = b[np.isfinite(b).all(axis=1)] if len(b) else b
        if self.mode in ("regression", "landmarks") and self.detector == "blazepose" and len(b):
            followed = self._followed_roi(image, b)
            if followed is not None:
                self._was_followed = True
                return followed
            return self._runtime_rois(image, b)
        if self.loaded.crop == "upright" or self.mode in ("regression", "landmarks"):
            # BlazePose's own landmark model was trained on body-aligned crops too
            return self._upright_rois(image, b)
        rot = self.rotation_hint or 0
        return [box_transform(x, self.input_size, self.margin, rot) for x in b], [rot] * len(b)

    def _runtime_rois(self, image: np.ndarray, boxes: np.ndarray
                      ) -> tuple[list[np.ndarray], list[int]]:
        """Body ROIs from the runtime's pose in each box; the model's own quarter-turn search
        (:meth:`_upright_rois`) for boxes where the runtime finds nobody."""
        p = self._runtime(image, boxes)
        mats, rots = [], []
        for n, b in enumerate(boxes):
            roi = self._runtime_roi(p, n) if n < p.n_instances else None
            if roi is None:
                m, r = self._upright_rois(image, b[None])
                mats += m
                rots += r
            else:
                mats.append(roi_transform(*roi, self.input_size))
                rots.append(quarter_turn(roi[2]))
        return mats, rots

    def _upright_rois(self, image: np.ndarray, boxes: np.ndarray
                      ) -> tuple[list[np.ndarray], list[int]]:
        """Body-aligned crops for caller-given boxes, for models trained on upright crops.

        A box says where the infant is but not which way it lies. Each quarter turn of the box
        crop is tried (only the tracker's hint when one is set), the model's most confident
        orientation is kept, and the final crop is MediaPipe's rotated body region of that pose:
        the same alignment the model saw in training.
        """
        rots = [self.rotation_hint] if self.rotation_hint is not None else [0, 90, 180, 270]
        k = self.model_schema.num_keypoints
        mats, out_rots = [], []
        for b in boxes:
            cands = [box_transform(b, self.input_size, self.margin, r) for r in rots]
            kps = self._run(np.stack([crop_image(image, m, self.input_size) for m in cands]))
            best = int(np.argmax(np.nan_to_num(kps[:, :k, 2]).mean(axis=1)))
            xy = _apply_affine(_invert(cands[best]), kps[best, :k, :2])
            roi = body_roi(xy, self.model_schema, self.margin)
            if roi is None:
                mats.append(cands[best])
                out_rots.append(rots[best])
            else:
                mats.append(roi_transform(*roi, self.input_size))
                out_rots.append(quarter_turn(roi[2]))
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

    def _decode(self, out: np.ndarray, flipped: np.ndarray | None) -> np.ndarray:
        """(M, K, 3) keypoints in crop coordinates."""
        flip_index = self.model_schema.flip_index
        win = self.input_size[0]
        if self.mode in ("regression", "landmarks"):
            extra = np.arange(len(flip_index), out.shape[1])  # auxiliary points: not mirrored
            flip_index = np.concatenate([flip_index, extra]).astype(int)
            if flipped is not None:
                f = flipped[:, flip_index].copy()
                f[..., 0] = win - f[..., 0]
                out = (out + f) / 2
            return out
        hm = out
        if flipped is not None:
            hm = (hm + flipped[:, flip_index, :, ::-1]) / 2
        hm_for_decode = np.maximum(hm, 0) if self.loaded.heatmap_activation == "none" else hm
        uv, peak = decode_heatmaps(hm_for_decode, self.decoder, sigma=self.sigma)
        if self.loaded.heatmap_activation == "softmax":
            score = np.clip(peak * 2 * math.pi * self.sigma**2, 0, 1)
        else:
            score = np.clip(peak, 0, 1)
        xy = heatmap_to_input(uv, self.loaded.stride)
        return np.concatenate([xy, score[..., None]], -1)

    def predict_batch(self, images: Sequence[np.ndarray],
                      boxes: Sequence[np.ndarray | None] | None = None) -> Poses:
        """Poses for several images (one frame each), all crops batched through the model."""
        bxs = list(boxes) if boxes is not None else [None] * len(images)
        if len(bxs) != len(images):
            raise ValueError("boxes must have one entry per image")
        crops, mats, owner, rotations = [], [], [], []
        images = [self._check_image(im) for im in images]
        self._was_followed = False
        for i, (im, b) in enumerate(zip(images, bxs)):
            for m, rot in zip(*self._rois_for(im, b)):
                crops.append(crop_image(im, m, self.input_size))
                mats.append(m)
                owner.append(i)
                rotations.append(rot)
        k = self.model_schema.num_keypoints
        n_inst = [owner.count(i) for i in range(len(images))]
        data = np.full((len(images), max(n_inst + [0]), k, 3), np.nan)
        data[..., 2] = 0.0
        refined = 0
        if crops:
            refining = bool(self.refine_roi) and not self._was_followed
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
            slot = [0] * len(images)
            for j, (i, m) in enumerate(zip(owner, mats)):
                xy = _apply_affine(_invert(m), kps[j, :, :2])
                data[i, slot[i], :, :2] = xy[:k]
                data[i, slot[i], :, 2] = kps[j, :k, 2]
                slot[i] += 1
                roi = body_roi(xy[:k], self.model_schema, self.margin)
                if roi is not None:  # report the body's orientation for the tracker's hint
                    rotations[j] = quarter_turn(roi[2])
        if self._following and len(images) == 1 and data.shape[1] == 1:
            self._last = (images[0].shape, data[0, 0].copy())
        sizes = [(int(im.shape[1]), int(im.shape[0])) for im in images]
        same = len(set(sizes)) == 1
        poses = Poses(data, self.model_schema, source=None,
                      frame_size=sizes[0] if same and sizes else None,
                      image_sizes=None if same else sizes,
                      meta={"model": self.name, "decoder": self.decoder if self.mode == "heatmap"
                            else self.mode, "flip_test": self.flip_test,
                            "weights": self.loaded.source, "rotation": rotations,
                            "roi_refined": refined})
        return poses if self.schema.name == self.model_schema.name else poses.convert(self.schema)

    def _run(self, arr: np.ndarray) -> np.ndarray:
        """Crops → (M, K', 3) keypoints in crop coordinates (flip test included)."""
        if not self.flip_test:
            return self._decode(self._forward(arr), None)
        both = self._forward(np.concatenate([arr, arr[:, :, ::-1]], axis=0))
        return self._decode(both[:len(arr)], both[len(arr):])

    def _landmark_rois(self, kps: np.ndarray, mats: list[np.ndarray]
                       ) -> tuple[list[np.ndarray], int]:
        """Re-centre each crop on the body ROI of its own predicted keypoints."""
        new, changed = [], 0
        k = self.model_schema.num_keypoints
        for j, m in enumerate(mats):
            xy = _apply_affine(_invert(m), kps[j, :k, :2])
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


# --- registered factories -------------------------------------------------------------------------

def create_blazepose_torch(schema: Schema | str | None = None, weights: str | None = None,
                           **options: Any) -> TorchPoseEstimator:
    """``blazepose-torch``: the ported BlazePose network in PyTorch.

    Without ``weights``: the pretrained network from the mediapipe wheel, read out through its
    regressed landmarks (``mode="heatmap"`` reads the pretrained 33 heatmap channels instead).
    With ``weights``: a fine-tuned infantpose checkpoint (regressed landmarks, or heatmap
    decoding for checkpoints of the heatmap head).
    """
    if weights:
        loaded = load_checkpoint(weights)
        if loaded.architecture not in ("blazepose", "blazepose_landmarks"):
            raise InputError(weights, f"checkpoint is a {loaded.architecture} model, not blazepose")
        mode = options.pop("mode", "landmarks" if loaded.architecture == "blazepose_landmarks"
                           else "heatmap")
    else:
        mode = options.pop("mode", "regression")
        if mode == "regression":
            from infantpose.models.blazepose_net import pretrained_landmark_graph

            full = pretrained_landmark_graph()
            model = full.pruned([full.tensor_id("Identity")])  # landmarks only: skip seg/heatmap
        else:
            from infantpose.models.blazepose_net import BlazePoseNet

            model = BlazePoseNet(schema=BLAZEPOSE33)
        loaded = LoadedModel(model, "blazepose", BLAZEPOSE33, (256, 256), 4, "sigmoid", "wa", 2.0,
                             {}, "mediapipe pose_landmark_full.tflite")
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
