"""Training configuration: one YAML file (or CLI shorthand) validated before any work starts.

Unknown keys, missing files and impossible values are reported as one line naming the config
file, so a typo never costs an hour of CPU time.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infantpose._yamlfile import read_yaml
from infantpose.errors import InputError
from infantpose.schemas import get_schema
from infantpose.train.augment import AugmentConfig

__all__ = [
    "PRESETS",
    "AdaptConfig",
    "DataSource",
    "ModelConfig",
    "OptimConfig",
    "TrainConfig",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "read_config_values",
]


@dataclass
class DataSource:
    """One labelled set: a COCO json, a folder of LabelMe json, or a DeepLabCut csv."""

    path: str
    domain: str = "real"  # "real" or "synthetic"
    images: str | None = None  # image folder when not beside the labels


@dataclass
class SyntheticData:
    """Synthetic renders generated for training (``infantpose.synth``)."""

    n: int = 0
    style: str = "photo"  # fitted to real infant photos (benchmarks/synth_vs_real.py)
    seed: int = 0
    size: int = 256


@dataclass
class ModelConfig:
    # "blazepose" (weights from the mediapipe wheel), "pose-resnet", or "movenet" /
    # "movenet-lightning" (the model store's MoveNet, infantpose.train.movenet)
    arch: str = "blazepose"
    weights: str | None = None  # checkpoint to start from (required for a pretrained pose-resnet)
    depth: int = 50  # pose-resnet only
    input_size: tuple[int, int] = (256, 256)  # (width, height)
    # named stages to keep fixed; "fidip" = the first three (measured: freezing nothing forgets)
    freeze: list[str] = field(default_factory=lambda: ["fidip"])
    # blazepose only: "landmarks" fine-tunes the regressed landmarks MediaPipe outputs (measured
    # on real infants in docs/training.md); "heatmap" the 64x64 heatmap head
    output: str = "landmarks"
    # blazepose only: the pretrained network to start from, "full" (mediapipe wheel) or "heavy"
    # (pose_landmark_heavy, from the model store; ~4x the parameters and time per step).
    # None: full, or with weights: the network the checkpoint was fine-tuned from
    landmark_model: str | None = None


@dataclass
class OptimConfig:
    lr: float = 3e-5
    weight_decay: float = 1e-4
    schedule: str = "cosine"  # "cosine" or "step"
    clip_grad: float = 1.0
    batch_size: int = 8
    epochs: int = 10
    max_steps: int | None = None  # stop after this many optimiser steps (overrides epochs)
    patience: int = 5  # early stopping: validations without improvement
    # validate and save an exponential moving average of the weights (0 = the raw weights):
    # steadier than the last step's weights on a few hundred noisy real photos
    ema: float = 0.99
    val_every: int = 0  # validate every N steps (at the end of the epoch that reaches them); 0: every epoch
    checkpoint_every: int = 10  # save last.pt (for resuming) every N optimiser steps
    time_limit: float | None = None  # minutes of training after which the run ends (validated)


@dataclass
class AdaptConfig:
    """FiDIP domain adaptation (seed 003) and SuperAnimal memory replay (seed 002)."""

    domain_adaptation: bool = False
    grl_lambda: float = 0.0005  # FiDIP's reversal weight
    classifier_lr: float = 1e-3
    memory_replay: bool = False
    replay_weight: float = 0.5


@dataclass
class TrainConfig:
    data: list[DataSource] = field(default_factory=list)
    synthetic: SyntheticData = field(default_factory=SyntheticData)
    val: list[DataSource] = field(default_factory=list)
    val_fraction: float = 0.15
    schema: str = "infant22"
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: str = "kce"  # heatmap models: "mse", "bce" or "kce"
    # landmark models: "oks" weights each keypoint's error by 1/sigma (the tolerance OKS and AP
    # give it: an eye must be 4x more precise than a hip), "uniform" weights all alike
    keypoint_weights: str = "oks"
    decoder: str = "wa"  # "argmax", "wa" or "dark"
    sigma: float = 2.0  # heatmap Gaussian sigma in heatmap pixels
    # "upright": crops aligned on the body (mid-hip -> mid-shoulder up), as BlazePose was trained;
    # "box": the person box in any orientation.
    crop: str = "upright"
    # context around the crop: side = 2 x body radius x margin (upright) or box x margin. None:
    # 1.4 for blazepose landmarks (measured on real photos, docs/training.md), else 1.25
    margin: float | None = None
    optim: OptimConfig = field(default_factory=OptimConfig)
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    seed: int = 0
    threads: int = 2  # torch CPU threads
    out: str = "runs/train"


# Presets, measured on real infant photos (docs/training.md, benchmarks/finetune_real.py).
# BlazePose landmarks: AdamW at lr 3e-5 with a cosine schedule (1e-4 with more frozen, or any
# lr of 1e-4 and up, lost accuracy; the ported weights are small and Adam moves each by ~lr),
# FiDIP's first three stages frozen, validation every 100 steps. "quick" = 1000 steps of 8
# crops, about 8 min on 2 idle cores with 150 real photos, never more than 9 min of training
# (the time limit covers busy machines; the run then validates and keeps the best state).
# "full" = 6000 steps (about 50 min), patience 10 validations, 55 min cap.
# freeze "fidip" = the first three stages (BlazePose res128/res64/res32, Pose-ResNet
# stem/layer1/layer2), as FiDIP froze the first three ResNet stages (seed 003).
PRESETS: dict[str, dict[str, Any]] = {
    "quick": {"optim": {"epochs": 100000, "max_steps": 1000, "batch_size": 8, "lr": 3e-5,
                        "patience": 5, "time_limit": 9.0, "val_every": 100},
              "model": {"freeze": ["fidip"]}},
    "full": {"optim": {"epochs": 100000, "max_steps": 6000, "batch_size": 8, "lr": 3e-5,
                       "patience": 10, "time_limit": 55.0, "val_every": 200},
             "model": {"freeze": ["fidip"]}},
}

# MoveNet (model.arch movenet; infantpose.train.movenet; chosen on held-out train200 photos in
# benchmarks/results/movenet_finetune_real.md): AdamW lr 3e-5, batch 8, MobileNetV2 blocks 1-10
# frozen, memory replay 0.5 on the starting network's heatmaps; quick = 200 steps (7.6 min with
# its held-out validations on 2 cores, measured), full = 500 steps, capped at 9 / 55 minutes; held-out
# validation every quarter of the time limit (at least 2.5 min apart) and at the end.
MOVENET_PRESETS: dict[str, dict[str, Any]] = {
    "quick": {"optim": {"epochs": 100000, "max_steps": 200, "batch_size": 8, "lr": 3e-5,
                        "time_limit": 9.0}, "model": {"freeze": ["block_10"]},
              "adapt": {"memory_replay": True, "replay_weight": 0.5}},
    "full": {"optim": {"epochs": 100000, "max_steps": 500, "batch_size": 8, "lr": 3e-5,
                       "time_limit": 55.0}, "model": {"freeze": ["block_10"]},
             "adapt": {"memory_replay": True, "replay_weight": 0.5}},
}
MOVENET_ARCHS = ("movenet", "movenet-lightning")

_NESTED = {"synthetic": SyntheticData, "model": ModelConfig, "optim": OptimConfig,
           "adapt": AdaptConfig, "augment": AugmentConfig}
_LISTS = {"data": DataSource, "val": DataSource}


def _build(cls: type, values: dict[str, Any], where: str, path: str | None) -> Any:
    if not isinstance(values, dict):
        raise InputError(path, f"{where}: expected a mapping, got {type(values).__name__}")
    names = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise InputError(path, f"unknown key{'s' if len(unknown) > 1 else ''} "
                               f"{', '.join(f'{where}.{u}'.lstrip('.') for u in unknown)}; "
                               f"allowed: {', '.join(sorted(names))}")
    kwargs: dict[str, Any] = {}
    for key, val in values.items():
        sub = f"{where}.{key}".lstrip(".")
        if cls is TrainConfig and key in _NESTED:
            kwargs[key] = _build(_NESTED[key], val or {}, sub, path)
        elif cls is TrainConfig and key in _LISTS:
            items = val if isinstance(val, list) else [val]
            kwargs[key] = [_build(_LISTS[key], {"path": v} if isinstance(v, str) else v,
                                  f"{sub}[{i}]", path) for i, v in enumerate(items)]
        elif key in ("input_size", "scale") and isinstance(val, (list, tuple)):
            kwargs[key] = tuple(val)
        else:
            kwargs[key] = _checked(names[key], val, sub, path)
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise InputError(path, f"{where or 'config'}: {e}") from None


def _checked(f: dataclasses.Field, val: Any, where: str, path: str | None) -> Any:
    """A scalar config value of the type its field declares (ints accepted for floats);
    non-finite numbers and wrong types are one-line errors naming the key."""
    kind = str(f.type).replace(" ", "").split("|")
    optional = "None" in kind
    if val is None:
        if optional:
            return None
        raise InputError(path, f"{where} must not be empty")
    if "bool" in kind:
        if not isinstance(val, bool):
            raise InputError(path, f"{where} must be true or false, got {val!r}")
        return val
    if "float" in kind and isinstance(val, str):
        # YAML 1.1 (PyYAML) reads exponent literals without a dot, like 3e-5, as text
        if re.fullmatch(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*", val):
            val = float(val)
    if "float" in kind or "int" in kind:
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            raise InputError(path, f"{where} must be a number, got {val!r}")
        if not math.isfinite(val):
            raise InputError(path, f"{where} must be a finite number, got {val!r}")
        if "float" not in kind and val != int(val):
            raise InputError(path, f"{where} must be a whole number, got {val!r}")
        return float(val) if "float" in kind else int(val)
    if kind[0] == "str" and not isinstance(val, str):
        raise InputError(path, f"{where} must be text, got {val!r}")
    return val


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def config_from_dict(values: dict[str, Any], path: str | os.PathLike | None = None,
                     preset: str | None = None) -> TrainConfig:
    """Validate a config mapping (optionally on top of a preset) and return a TrainConfig."""
    p = None if path is None else str(path)
    values = dict(values or {})
    file_preset = values.pop("preset", None)
    preset = preset if preset is not None else file_preset
    movenet = isinstance(values.get("model"), dict) and values["model"].get("arch") in MOVENET_ARCHS
    if movenet:
        values.setdefault("schema", "coco17")  # MoveNet's keypoints
    if preset is not None:
        if preset not in PRESETS:
            raise InputError(p, f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
        values = _merge((MOVENET_PRESETS if movenet else PRESETS)[preset], values)
    cfg = _build(TrainConfig, values, "", p)
    validate(cfg, p)
    return cfg


def read_config_values(path: str | os.PathLike) -> dict[str, Any]:
    """The raw mapping of a YAML config, data paths resolved relative to the file's folder."""
    p = Path(path)
    values = read_yaml(p, "config file") or {}
    if not isinstance(values, dict):
        raise InputError(p, "a training config must be a YAML mapping")
    for key in ("data", "val"):
        items = values.get(key)
        if items is None:
            continue
        items = items if isinstance(items, list) else [items]
        fixed = []
        for i, it in enumerate(items):
            if not isinstance(it, (str, dict)):
                raise InputError(p, f"{key}[{i}] must be a path or a mapping with path:, got "
                                    f"{it!r}"[:200])
            it = {"path": it} if isinstance(it, str) else dict(it)
            if isinstance(it.get("path"), str) and not os.path.isabs(it["path"]):
                it["path"] = str(p.parent / it["path"])
            fixed.append(it)
        values[key] = fixed
    return values


def load_config(path: str | os.PathLike, preset: str | None = None) -> TrainConfig:
    """Read and validate a YAML training config; relative data paths are resolved from its folder."""
    return config_from_dict(read_config_values(path), Path(path), preset)


def validate(cfg: TrainConfig, path: str | None = None) -> None:
    """Check values and that every data file exists; raise InputError before training starts."""
    get_schema(cfg.schema)
    choices = {"loss": ("mse", "bce", "kce"), "decoder": ("argmax", "wa", "dark"),
               "crop": ("upright", "box"), "keypoint_weights": ("oks", "uniform")}
    for key, allowed in choices.items():
        if getattr(cfg, key) not in allowed:
            raise InputError(path, f"{key} must be one of {', '.join(allowed)}, "
                                   f"got {getattr(cfg, key)!r}")
    if cfg.model.arch not in ("blazepose", "pose-resnet", *MOVENET_ARCHS):
        raise InputError(path, f"model.arch must be blazepose, pose-resnet, movenet or "
                               f"movenet-lightning, got {cfg.model.arch!r}")
    if cfg.model.arch in MOVENET_ARCHS and cfg.schema != "coco17":
        raise InputError(path, f"model.arch {cfg.model.arch} predicts COCO-17: schema must be "
                               f"coco17, got {cfg.schema!r}")
    if cfg.model.output not in ("landmarks", "heatmap"):
        raise InputError(path, f"model.output must be landmarks or heatmap, got {cfg.model.output!r}")
    if cfg.model.landmark_model is not None:
        # imported here: tflite_port loads torch; checking a config must not
        from infantpose.models.tflite_port import LANDMARK_MODELS

        if cfg.model.landmark_model not in LANDMARK_MODELS:
            raise InputError(path, f"model.landmark_model must be {' or '.join(LANDMARK_MODELS)}, "
                                   f"got {cfg.model.landmark_model!r}")
        if cfg.model.arch != "blazepose":
            raise InputError(path, "model.landmark_model needs model.arch: blazepose")
    if cfg.margin is not None and not (isinstance(cfg.margin, (int, float))
                                       and 1.0 <= float(cfg.margin) <= 3.0):
        raise InputError(path, f"margin must be a number from 1 to 3, got {cfg.margin!r}")
    if not 0.0 <= cfg.optim.ema < 1.0:
        raise InputError(path, f"optim.ema must be in [0, 1), got {cfg.optim.ema!r}")
    if cfg.optim.val_every < 0:
        raise InputError(path, "optim.val_every must be 0 or more")
    if cfg.optim.schedule not in ("cosine", "step"):
        raise InputError(path, f"optim.schedule must be cosine or step, got {cfg.optim.schedule!r}")
    if not cfg.data and cfg.synthetic.n <= 0:
        raise InputError(path, "no training data: give data: [...] and/or synthetic: {n: N}")
    for src in [*cfg.data, *cfg.val]:
        if src.domain not in ("real", "synthetic"):
            raise InputError(path, f"domain must be real or synthetic, got {src.domain!r}")
        if not Path(src.path).exists():
            raise InputError(src.path, "training data not found")
    if cfg.model.weights is not None and not Path(cfg.model.weights).is_file():
        raise InputError(cfg.model.weights, "model weights file not found")
    for key in ("lr", "weight_decay", "clip_grad"):
        v = getattr(cfg.optim, key)
        if not (v > 0 if key == "lr" else v >= 0):
            raise InputError(path, f"optim.{key} (--{key.replace('_', '-')}) must be "
                                   f"{'positive' if key == 'lr' else '0 or more'}, got {v!r}")
    if not cfg.adapt.classifier_lr > 0 or cfg.adapt.grl_lambda < 0 or cfg.adapt.replay_weight < 0:
        raise InputError(path, "adapt.classifier_lr must be positive, adapt.grl_lambda and "
                               "adapt.replay_weight 0 or more")
    if cfg.optim.batch_size < 1 or cfg.optim.epochs < 1:
        raise InputError(path, "optim.batch_size and optim.epochs must be at least 1")
    if cfg.optim.max_steps is not None and cfg.optim.max_steps < 1:
        raise InputError(path, "optim.max_steps must be at least 1")
    if cfg.optim.time_limit is not None and cfg.optim.time_limit <= 0:
        raise InputError(path, "optim.time_limit must be positive (minutes)")
    if not 0.0 <= cfg.val_fraction < 1.0:
        raise InputError(path, "val_fraction must be in [0, 1)")
    if cfg.adapt.domain_adaptation:
        domains = {s.domain for s in cfg.data} | ({"synthetic"} if cfg.synthetic.n > 0 else set())
        if domains != {"real", "synthetic"}:
            raise InputError(path, "domain_adaptation needs both real and synthetic training data")


def config_to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """Plain-dict form (for checkpoints and the run folder's config.yaml)."""
    return dataclasses.asdict(cfg)
