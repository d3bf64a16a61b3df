"""The training loop: small-data fine-tuning of a pretrained heatmap pose network on a CPU.

Recipe (FiDIP, Huang et al., FG 2021, seed ``003_`` §3; KCE + WA, seed ``004_``; gradient
masking and memory replay, SuperAnimal, seed ``002_``):

* start from BlazePose (mediapipe weights) or a Pose-ResNet checkpoint; freeze named early
  stages. BlazePose is fine-tuned through its *regressed landmarks* by default
  (:class:`~infantpose.models.blazepose_landmarks.BlazePoseLandmarkNet`: what MediaPipe
  outputs, and what it is good at), or through its 64×64 heatmap head (``model.output:
  heatmap``);
* AdamW with a cosine or step schedule, gradient clipping;
* pose loss: masked L1 on landmark coordinates plus a score term
  (:func:`~infantpose.train.losses.landmark_loss`), or ``mse``/``bce``/``kce`` on heatmaps;
  unlabelled keypoints get exactly zero gradient;
* optional FiDIP domain adaptation: each step runs stage I (the domain classifier learns
  synthetic vs real on the locked pose network's features) then stage II (the pose network
  minimises pose loss + λ·domain loss through a gradient reversal layer, classifier locked);
* optional memory replay: the frozen pretrained BlazePose's keypoints as soft targets;
* an exponential moving average of the weights (``optim.ema``) is what is validated and
  saved: on a few hundred real photos single-step weights are noisy;
* validation runs the model exactly as ``infantpose evaluate --weights model.pt`` does (same
  estimator, crops, flip test, given boxes and metrics), so the numbers printed here are the
  numbers ``evaluate`` prints. The *starting* model is validated first; ``model.pt`` is only
  replaced by a fine-tuned state that beats it (COCO AP, else PCKsh@0.1), so a run never
  leaves a model worse than the one it started from on its validation images. Early stopping
  after ``patience`` validations without improvement;
* ``last.pt`` (model + optimiser + scheduler + classifier + counters + history) is written
  atomically every ``checkpoint_every`` steps and at every epoch end. Samples and augmentations
  are a pure function of (seed, epoch, batch), so a run killed mid-epoch resumes at the next
  batch and continues exactly as if it had not stopped.

Outputs in ``cfg.out``: ``model.pt`` (the checkpoint format of
:mod:`infantpose.models.topdown`), ``last.pt``, ``metrics.csv``, ``curves.png``, ``config.yaml``.
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
import yaml

from infantpose import _atomic
from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.progress import bar as progress_bar
from infantpose.schemas import Schema, get_schema  # noqa: F401  (Schema re-exported)
from infantpose.train.config import MOVENET_ARCHS, TrainConfig, config_to_dict, validate
from infantpose.train.data import Item, TrainData, build_items, load_sources, split_indices
from infantpose.train.domain import DomainClassifier, domain_loss, grad_reverse
from infantpose.train.losses import heatmap_loss, landmark_loss
from infantpose.train.movenet import train_from_config
from infantpose.train.replay import ReplayTeacher
# the network, checkpoints, validation and outputs of a run live in their own modules
# (re-exported here: callers and tests import them from this module)
from infantpose.train.checkpointing import CheckpointMixin
from infantpose.train.network import (activation_for, architecture_for,  # noqa: F401
                                      build_training_model, features_and_heatmaps)
from infantpose.train.run_outputs import _FIELDS, OutputsMixin  # noqa: F401
from infantpose.train.validation import (FALLBACK_METRIC, METRIC,  # noqa: F401
                                         ValidationMixin)

__all__ = ["Trainer", "activation_for", "build_training_model", "features_and_heatmaps", "train"]


@dataclass
class _ValSet:
    gt: LabeledDataset
    images: Any  # decoded images (renders) or None: read from gt.image_paths like evaluate


def _pick(images: Any, idx: np.ndarray) -> Any:
    return None if images is None else [images[i] for i in idx]


def _lr_factor(schedule: str, step: int, total: int) -> float:
    warm = min(20, max(1, total // 20))
    if step < warm:
        return (step + 1) / warm
    if schedule == "cosine":
        return 0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, total))))
    return 0.1 ** sum(step >= f * total for f in (0.6, 0.85))


class Trainer(CheckpointMixin, ValidationMixin, OutputsMixin):
    """One training run (see the module docstring). ``run()`` returns the model checkpoint path.

    ``on_step(step)`` is called after every optimiser step (tests use it to interrupt a run).
    """

    def __init__(self, cfg: TrainConfig, resume: bool = True, progress: bool = True,
                 log: Callable[[str], None] | None = None,
                 on_step: Callable[[int], None] | None = None):
        validate(cfg)
        self.cfg = cfg
        self.out = Path(cfg.out)
        self.resume = resume
        self.progress = progress
        self.log = log or (lambda s: print(s, file=sys.stderr))
        self.on_step = on_step
        self.schema = get_schema(cfg.schema)
        self.arch = architecture_for(cfg)
        if cfg.model.arch == "blazepose" and tuple(cfg.model.input_size) != (256, 256):
            raise InputError(None, "model.input_size must be [256, 256] for blazepose")
        if cfg.adapt.memory_replay and cfg.model.arch != "blazepose":
            raise InputError(None, "adapt.memory_replay needs model.arch: blazepose")
        self.activation = activation_for(cfg.loss, self.arch)
        self.targets = "points" if self.arch == "blazepose_landmarks" else "heatmap"
        sig = np.asarray(self.schema.sigmas, dtype=np.float32)
        scale = (sig.mean() / sig) if cfg.keypoint_weights == "oks" else np.ones_like(sig)
        self.kp_scale = torch.from_numpy(scale.astype(np.float32))[None]
        self.margin = float(cfg.margin if cfg.margin is not None
                            else (1.4 if self.arch == "blazepose_landmarks" else 1.25))

    # --- setup -------------------------------------------------------------------------------
    def _prepare_data(self) -> None:
        cfg = self.cfg
        notes = self.log if self.progress else None  # "reading <file>" is progress, not a result
        sets, images = load_sources(cfg, self.schema, "data", notes)
        val_sets: list[tuple[LabeledDataset, Any]] = []
        if cfg.val:
            vs, vi = load_sources(cfg, self.schema, "val", notes)
            val_sets = list(zip(vs, vi))
        train_parts: list[tuple[LabeledDataset, Any]] = []
        has_real = any(d.domains and d.domains[0] == "real" for d in sets)
        for ds, ims in zip(sets, images):
            split = not cfg.val and (ds.domains[0] == "real" or not has_real)
            tr, va = split_indices(len(ds), cfg.val_fraction if split else 0.0, cfg.seed)
            train_parts.append((ds.subset(tr), _pick(ims, tr)))
            if len(va):
                val_sets.append((ds.subset(va), _pick(ims, va)))
        size = tuple(self.model.input_size)
        stride = int(self.model.stride)
        if self.progress:
            self.log(f"caching {sum(len(d) for d, _ in train_parts)} training images")
        items: list[Item] = []
        for ds, ims in train_parts:
            items += build_items(ds, ims, size, margin=self.margin, max_scale=cfg.augment.scale[1])
        if not items:
            named = [str(d.path) for d in cfg.data]
            raise InputError(named[0] if len(named) == 1 else None,
                             "no labelled person to train on"
                             + (f" in {', '.join(named)}" if len(named) > 1 else ""))
        self.data = TrainData(items, self.schema, size, stride, cfg.sigma, cfg.augment,
                              margin=self.margin, crop=cfg.crop, targets=self.targets)
        self.val = [_ValSet(ds, ims) for ds, ims in val_sets
                    if len(ds) and (ds.visibility > 0).any()]
        self._val_est = None
        self.refine_roi = 0
        self.domains = sorted({it.domain for it in items})

    def _setup(self) -> None:
        cfg = self.cfg
        torch.set_num_threads(max(1, int(cfg.threads)))
        torch.manual_seed(cfg.seed)
        self.model = build_training_model(cfg, self.schema)
        self._prepare_data()
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise InputError(None, "model.freeze leaves nothing to train")
        self.opt = torch.optim.AdamW(params, lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay)
        self.ema = ({k: v.detach().clone() for k, v in self.model.state_dict().items()
                     if v.is_floating_point()} if cfg.optim.ema > 0 else None)
        bs = cfg.optim.batch_size
        self.steps_per_epoch = max(1, math.ceil(len(self.data) / bs))
        if cfg.optim.max_steps:
            self.total_steps = int(cfg.optim.max_steps)
            self.epochs = math.ceil(self.total_steps / self.steps_per_epoch)
        else:
            self.epochs = int(cfg.optim.epochs)
            self.total_steps = self.epochs * self.steps_per_epoch
        self.sched = torch.optim.lr_scheduler.LambdaLR(
            self.opt, lambda s: _lr_factor(cfg.optim.schedule, s, self.total_steps))
        self.classifier = None
        if cfg.adapt.domain_adaptation:
            with torch.no_grad():
                f, _ = features_and_heatmaps(self.model, torch.zeros(1, 3, *self.model.input_size[::-1]))
            self.classifier = DomainClassifier(int(f.shape[1]))
            self.copt = torch.optim.Adam(self.classifier.parameters(), lr=cfg.adapt.classifier_lr)
        self.teacher = None
        if cfg.adapt.memory_replay:
            # the teacher is the pretrained network the student started from (full or heavy)
            self.teacher = ReplayTeacher(self.schema, int(self.model.stride), cfg.sigma,
                                         variant=self.model.config().get("variant",
                                                                         "pose_landmark_full"))
        self.state = {"epoch": 0, "batch": 0, "step": 0, "best": -1.0, "best_epoch": -1,
                      "best_step": -1, "bad_epochs": 0, "history": [], "finished": False,
                      "seconds": 0.0, "start_metrics": None, "last_val_step": 0}

    # --- one step ----------------------------------------------------------------------------
    def _losses(self, heat: torch.Tensor, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, float]:
        if self.targets == "points":
            return self._landmark_losses(heat, batch)
        pred = torch.sigmoid(heat) if (self.cfg.loss == "mse" and self.activation == "sigmoid") else heat
        pose = heatmap_loss(self.cfg.loss, pred, batch["target"], batch["weight"])
        replay = 0.0
        if self.teacher is not None:
            t, w = self.teacher.targets(batch["image"], tuple(heat.shape[-2:]))
            if float(w.sum()) > 0:
                r = heatmap_loss(self.cfg.loss, pred, t, w)
                pose = pose + self.cfg.adapt.replay_weight * r
                replay = float(r.detach())
        return pose, replay

    def _landmark_losses(self, raw: torch.Tensor, batch: dict[str, torch.Tensor]
                         ) -> tuple[torch.Tensor, float]:
        xy, _ = self.model.keypoints(raw)
        weight = batch["weight"] * self.kp_scale
        # the score is learnt by the head alone: its gradient must not move the shared features
        # (on real photos it otherwise rewrote the trunk and wrecked the coordinates)
        _, vis = self.model.keypoints(self.model.raw_from_features(self._feats.detach()))
        side = float(self.model.input_size[0])
        loss, _ = landmark_loss(xy, vis, batch["target"], weight, side)
        replay = 0.0
        if self.teacher is not None:
            kp = self.teacher.keypoints(batch["image"])
            t = torch.from_numpy(np.nan_to_num(kp[..., :2])).to(xy.dtype)
            w = torch.from_numpy(np.nan_to_num(kp[..., 2])).to(xy.dtype)
            if float(w.sum()) > 0:
                r, _ = landmark_loss(xy, vis, t, w, side, vis_weight=0.0)
                loss = loss + self.cfg.adapt.replay_weight * r
                replay = float(r.detach())
        return loss, replay

    def _step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        cfg = self.cfg
        feats, heat = features_and_heatmaps(self.model, batch["image"])
        self._feats = feats
        loss, replay = self._losses(heat, batch)
        logs = {"pose_loss": float(loss.detach()) - cfg.adapt.replay_weight * replay, "replay_loss": replay}
        if self.classifier is not None:
            dom = batch["domain"]
            # stage I: the classifier learns on the locked pose network's features
            self.classifier.train()
            self.copt.zero_grad(set_to_none=True)
            logits = self.classifier(feats.detach())
            dl = domain_loss(logits, dom)
            dl.backward()
            self.copt.step()
            logs["domain_loss"] = float(dl.detach())
            logs["domain_acc"] = float(((logits.detach() > 0).float() == dom).float().mean())
            # stage II: the pose network, classifier locked, confuses it through the reversal
            for p in self.classifier.parameters():
                p.requires_grad_(False)
            adv = domain_loss(self.classifier(grad_reverse(feats, cfg.adapt.grl_lambda)), dom)
            loss = loss + adv
            for p in self.classifier.parameters():
                p.requires_grad_(True)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.optim.clip_grad and cfg.optim.clip_grad > 0:
            nn.utils.clip_grad_norm_([p for g in self.opt.param_groups for p in g["params"]],
                                     cfg.optim.clip_grad)
        self.opt.step()
        self.sched.step()
        logs["train_loss"] = float(loss.detach())
        return logs

    # --- main --------------------------------------------------------------------------------
    def run(self) -> Path:
        """Train (or resume) and return the path of the best checkpoint ``model.pt``."""
        _atomic.ensure_writable_dir(self.out)
        self._setup()
        resumed = self._try_resume()
        model_path = self.out / "model.pt"
        if resumed and self.state["finished"] and model_path.is_file():
            self.log(f"{self.out} already holds a finished run; use --fresh to train again")
            return model_path
        _atomic.write_text(self.out / "config.yaml",
                           yaml.safe_dump(_plain(config_to_dict(self.cfg)), sort_keys=False))
        cfg, st = self.cfg, self.state
        bs = cfg.optim.batch_size
        n = len(self.data)
        self.log(f"training {self.arch} for {self.schema.name} on {n} people "
                 f"({', '.join(self.domains)}), {len(self.val)} validation set(s), "
                 f"{self.total_steps} steps, loss "
                 f"{'landmark L1' if self.targets == 'points' else cfg.loss}"
                 + (", domain adaptation" if self.classifier is not None else "")
                 + (", memory replay" if self.teacher is not None else ""))
        bar = progress_bar(self.total_steps, "train", enabled=self.progress, unit="step",
                           initial=st["step"])
        try:  # the bar is closed (the terminal given back) however the run ends
            if st["start_metrics"] is None and st["step"] == 0:
                start = self.validate()
                st["start_metrics"] = start
                if start:
                    self.log("starting model on the validation images: " + _fmt(start))
                    score = self._score(start)
                    st["best"] = -1.0 if score is None else score
                    st["best_step"] = 0
                    st["best_epoch"] = 0
                    self._save_model(model_path, start)
            t_start = time.time() - st["seconds"]
            limit = cfg.optim.time_limit

            def out_of_time() -> bool:
                return limit is not None and time.time() - t_start > 60.0 * limit

            while st["epoch"] < self.epochs and st["step"] < self.total_steps:
                epoch = st["epoch"]
                perm = np.random.default_rng([cfg.seed, epoch]).permutation(n)
                sums: dict[str, float] = {}
                count = 0
                for b in range(st["batch"], self.steps_per_epoch):
                    if st["step"] >= self.total_steps:
                        break
                    idx = perm[b * bs:(b + 1) * bs]
                    rngs = [np.random.default_rng([cfg.seed, epoch, b, j]) for j in range(len(idx))]
                    torch.manual_seed(cfg.seed * 1_000_003 + st["step"])
                    logs = self._step(self.data.batch(idx, rngs))
                    for k, v in logs.items():
                        sums[k] = sums.get(k, 0.0) + v
                    count += 1
                    st["step"] += 1
                    self._update_ema()
                    st["batch"] = b + 1
                    st["seconds"] = time.time() - t_start
                    bar.update(1)
                    bar.set_rate(f"epoch {epoch + 1}  loss {logs['train_loss']:.4g}")
                    if cfg.optim.checkpoint_every > 0 and st["step"] % cfg.optim.checkpoint_every == 0:
                        self._save_last()
                    if self.on_step is not None:
                        self.on_step(st["step"])
                    if out_of_time():
                        break
                last_epoch = (epoch + 1 >= self.epochs or st["step"] >= self.total_steps
                              or out_of_time())
                due = (cfg.optim.val_every <= 0 or last_epoch
                       or st["step"] - st["last_val_step"] >= cfg.optim.val_every)
                metrics = self._with_ema(self.validate) if due else {}
                if due:
                    st["last_val_step"] = st["step"]
                row: dict[str, Any] = {"epoch": epoch + 1, "step": st["step"],
                                       "lr": self.opt.param_groups[0]["lr"],
                                       "seconds": round(time.time() - t_start, 1)}
                row.update({k: v / max(1, count) for k, v in sums.items()})
                row.update({f"val_{k}": v for k, v in metrics.items()})
                st["history"].append(row)
                score = self._score(metrics) if due else None
                st["epoch"] = epoch + 1
                st["batch"] = 0
                st["seconds"] = time.time() - t_start
                if due and not self.val:  # nothing to validate on: keep the latest state
                    st["best_epoch"] = epoch + 1
                    st["best_step"] = st["step"]
                    self._with_ema(lambda: self._save_model(model_path, metrics))
                elif due and score is not None and score > st["best"]:
                    st["best"] = float(score)
                    st["best_epoch"] = epoch + 1
                    st["best_step"] = st["step"]
                    st["bad_epochs"] = 0
                    self._with_ema(lambda: self._save_model(model_path, metrics))
                elif due:
                    st["bad_epochs"] += 1
                epoch_loss = row.get("train_loss", float("nan"))
                msg = f"epoch {epoch + 1} (step {st['step']}): loss {epoch_loss:.4g}"
                if metrics:
                    msg += "  " + _fmt(metrics)
                bar.write(msg) if self.progress else self.log(msg)
                stop = st["bad_epochs"] >= cfg.optim.patience
                if out_of_time():
                    self.log(f"time limit of {limit:g} min reached after {st['step']} steps")
                    stop = True
                if stop or st["epoch"] >= self.epochs or st["step"] >= self.total_steps:
                    st["finished"] = True
                self._save_last()
                self._write_metrics()
                if stop:
                    if st["bad_epochs"] >= cfg.optim.patience:
                        self.log(f"early stop: no validation gain for {cfg.optim.patience} "
                                 "validations")
                    break
        finally:
            bar.close()
        st["finished"] = True
        self._save_last()
        start = st.get("start_metrics") or {}
        if not self.val:
            self.log(f"no validation images: model.pt is the last state (step {st['step']}); "
                     f"model: {model_path}")
        elif st.get("best_step", -1) == 0:
            self.log("no fine-tuned state beat the starting model on the validation images "
                     f"({_fmt(start)}): model.pt is the STARTING model; model: {model_path}")
        else:
            self.log(f"starting model: {_fmt(start)}")
            self.log(f"fine-tuned (best at step {st['best_step']}, epoch {st['best_epoch']}): "
                     f"{METRIC if self._score(start) is not None else FALLBACK_METRIC} "
                     f"{st['best']:.3f}; model.pt is the FINE-TUNED model; model: {model_path}")
        return model_path


def _fmt(metrics: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.3f}" for k, v in metrics.items())


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def train(cfg: TrainConfig, resume: bool = True, progress: bool = True,
          log: Callable[[str], None] | None = None,
          on_step: Callable[[int], None] | None = None) -> Path:
    """Fine-tune a pose model as ``cfg`` says; return the path of the best checkpoint.
    ``model.arch: movenet`` runs :func:`infantpose.train.movenet.train_from_config`."""
    if cfg.model.arch in MOVENET_ARCHS:
        validate(cfg)
        logger = log or (lambda s: print(s, file=sys.stderr))
        return train_from_config(cfg, logger, progress=progress)
    return Trainer(cfg, resume=resume, progress=progress, log=log, on_step=on_step).run()
