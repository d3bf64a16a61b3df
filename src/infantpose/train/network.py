"""The network a training run fine-tunes: which output activation a loss needs, the model built
(and its pretrained weights loaded) for a config, the checkpoint architecture it is saved as,
and one forward pass giving the features (for the domain classifier) and the heatmaps.

Split out of ``train/loop.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

import torch
from torch import nn

from infantpose.errors import InputError
from infantpose.models.checkpoint import build_model, load_checkpoint
from infantpose.models.tflite_port import landmark_variant
from infantpose.schemas import Schema
from infantpose.train.config import TrainConfig

__all__ = ["activation_for", "architecture_for", "build_training_model", "features_and_heatmaps"]


def activation_for(loss: str, architecture: str) -> str:
    """How the head output is read: softmax for KCE, sigmoid for BCE (and for MSE on BlazePose,
    whose head emits logits), none for MSE on Pose-ResNet and for regressed landmarks."""
    if architecture == "blazepose_landmarks":
        return "none"
    if loss == "kce":
        return "softmax"
    if loss == "bce" or architecture == "blazepose":
        return "sigmoid"
    return "none"


def features_and_heatmaps(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Backbone features (for the domain classifier) and raw heatmap outputs in one pass."""
    if hasattr(model, "raw_from_features"):  # BlazePoseLandmarkNet: 2×2×288 → landmarks
        f = model.forward_features(x)
        return f, model.raw_from_features(f)
    if hasattr(model, "forward_features"):  # BlazePoseNet: 48-channel 64×64 features → head
        f = model.forward_features(x)
        return f, model.head(f)
    x = (x - model.mean) / model.std  # PoseResNet: ResNet trunk output → deconvolutions
    x = model.maxpool(model.relu(model.bn1(model.conv1(x))))
    f = model.layer4(model.layer3(model.layer2(model.layer1(x))))
    return f, model.final_layer(model.deconv_layers(f))


def build_training_model(cfg: TrainConfig, schema: Schema) -> nn.Module:
    """The network to fine-tune, with frozen stages applied."""
    arch = architecture_for(cfg)
    if cfg.model.weights:
        loaded = load_checkpoint(cfg.model.weights)
        if loaded.architecture != arch:
            raise InputError(cfg.model.weights, f"checkpoint is a {loaded.architecture} model, "
                                                f"but model.arch is {cfg.model.arch}")
        model = loaded.model
        wanted = cfg.model.landmark_model
        built = getattr(model, "variant", None)
        if wanted is not None and built is not None and built != landmark_variant(wanted):
            raise InputError(cfg.model.weights, f"checkpoint was fine-tuned from {built}, but "
                                                f"model.landmark_model is {wanted}")
        if loaded.schema.name != schema.name:
            if arch == "blazepose_landmarks":
                fresh = build_model(arch, schema, model.config())
                fresh.trunk.load_state_dict(model.trunk.state_dict())
                fresh.head.load_state_dict(model.head.state_dict())
                model = fresh
            elif arch == "blazepose":
                model.replace_head(schema, seed=cfg.seed)
            else:
                fresh = build_model(arch, schema, model.config())
                own = {k: v for k, v in model.state_dict().items() if not k.startswith("final_layer")}
                fresh.load_state_dict(own, strict=False)
                model = fresh
    elif arch in ("blazepose", "blazepose_landmarks"):
        model = build_model(arch, schema,
                            {"variant": landmark_variant(cfg.model.landmark_model or "full")})
    else:
        torch.manual_seed(cfg.seed)
        model = build_model("pose_resnet", schema, {"depth": cfg.model.depth},
                            cfg.model.input_size)
    stages: list[str] = []
    for name in cfg.model.freeze:
        if name == "fidip":  # FiDIP froze the first three ResNet stages
            stages += {"blazepose": ["enc128", "enc64", "enc32"],
                       "blazepose_landmarks": ["res128", "res64", "res32"]}.get(
                           arch, ["stem", "layer1", "layer2"])
        elif arch == "blazepose_landmarks" and name.startswith("enc"):
            stages.append("res" + name[3:])  # heatmap-net stage names mean the same resolution
        elif name == "enc128" and arch == "pose_resnet":
            stages.append("stem")
        else:
            stages.append(name)
    try:
        model.freeze(stages)
    except ValueError as e:
        raise InputError(None, f"model.freeze: {e}") from None
    model.train()
    return model


def architecture_for(cfg: TrainConfig) -> str:
    """The checkpoint architecture a config trains."""
    if cfg.model.arch == "blazepose":
        return "blazepose_landmarks" if cfg.model.output == "landmarks" else "blazepose"
    return "pose_resnet"
