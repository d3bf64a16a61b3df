"""The infantpose checkpoint format: building, saving and loading torch pose models.

Checkpoint format (``torch.save`` of a plain dict; written by :func:`save_checkpoint`, read by
:func:`load_checkpoint`; the training loop writes the same)::

    {
      "format": "infantpose-checkpoint", "version": 1,
      "architecture": "blazepose" | "blazepose_landmarks" | "pose_resnet",
      "arch_config": {...},          # BlazePoseNet: {"variant": "pose_landmark_full"};
                                     # BlazePoseLandmarkNet: {"variant", "output": "landmarks"};
                                     # variant: the BlazePose network it was built from,
                                     # pose_landmark_full or pose_landmark_heavy (rebuilding a
                                     # heavy one needs the heavy .tflite file for its graph)
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

Estimators that run a loaded model live in :mod:`infantpose.models.topdown`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from infantpose import _atomic
from infantpose.errors import InputError
from infantpose.models.blazepose_landmarks import BlazePoseLandmarkNet
from infantpose.models.blazepose_net import BlazePoseNet
from infantpose.models.pose_resnet import (PoseResNet, build_pose_resnet,
                                           pose_resnet_from_state_dict)
from infantpose.schemas import COCO17, Schema, get_schema

__all__ = [
    "ARCHITECTURES",
    "CHECKPOINT_FORMAT",
    "CROP_MODES",
    "MODEL_OF_ARCHITECTURE",
    "LoadedModel",
    "build_model",
    "checkpoint_model",
    "load_checkpoint",
    "save_checkpoint",
]

CHECKPOINT_FORMAT = "infantpose-checkpoint"
ARCHITECTURES = ("blazepose", "blazepose_landmarks", "pose_resnet", "movenet")
#: The crops a model can be trained on: the person box in any orientation, or the upright
#: rotated body region (:func:`infantpose.geometry.body_roi`).
CROP_MODES = ("box", "upright")


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

    ``blazepose`` always starts from pretrained BlazePose weights (head channels initialised
    through the schema mapping): the mediapipe wheel's full network, or the heavy one with
    ``arch_config={"variant": "heavy"}``. ``pose_resnet`` starts from official
    SimpleBaseline/FiDIP ``weights`` when given (final layer mapped from ``weights_schema``), else
    from scratch with a warning. To resume an infantpose checkpoint use :func:`load_checkpoint`.
    """
    s = get_schema(schema)
    cfg = dict(arch_config or {})
    if architecture == "blazepose":
        return BlazePoseNet(schema=s, variant=cfg.get("variant", "pose_landmark_full"))
    if architecture == "blazepose_landmarks":
        return BlazePoseLandmarkNet(schema=s, variant=cfg.get("variant", "pose_landmark_full"))
    if architecture == "pose_resnet":
        cfg.pop("num_keypoints", None)
        if input_size is not None:
            cfg["input_size"] = tuple(int(v) for v in input_size)
        cfg["input_size"] = tuple(cfg.get("input_size", (192, 256)))
        if rebuild:  # architecture of a saved checkpoint: its state dict follows
            return PoseResNet(s.num_keypoints, **cfg)
        return build_pose_resnet(s, weights=weights, weights_schema=weights_schema, **cfg)
    raise InputError(None, f"unknown architecture {architecture!r}; known: {', '.join(ARCHITECTURES)}")


def _architecture_of(model: nn.Module) -> str:
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
    if input_size is None:
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
                         "pose_resnet": "pose-resnet", "movenet": "movenet"}


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
    if ck.get("architecture") == "movenet":
        raise InputError(p, "a MoveNet checkpoint: run it with the movenet model "
                            "(infantpose.models.movenet.create(weights=...), --model movenet)")
    for key in ("architecture", "schema", "state_dict", "input_size"):
        if key not in ck:
            raise InputError(p, f"checkpoint lacks {key!r}")
    schema = get_schema(ck["schema"])
    if list(ck.get("keypoints", schema.keypoints)) != list(schema.keypoints):
        raise InputError(p, f"checkpoint keypoints differ from schema {schema.name}")
    try:
        model = build_model(ck["architecture"], schema, ck.get("arch_config"), ck["input_size"],
                            rebuild=True)
    except InputError as e:  # e.g. a heavy checkpoint without the heavy file to rebuild it
        variant = (ck.get("arch_config") or {}).get("variant")
        raise InputError(p, f"cannot rebuild its {variant or ck['architecture']} network: {e}"
                         ) from None
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
