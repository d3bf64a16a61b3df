"""Fine-tuning MoveNet SinglePose (Thunder, Lightning) on labelled infant photos, on a CPU.

MoveNet (Google 2021, TF Hub model card "MoveNet.SinglePose") is a CenterNet-style network
(Zhou, Wang & Krähenbühl 2019, "Objects as Points", arXiv:1904.07850): four heads at stride 4
on an S×S grid (S = N / 4; Thunder N = 256, S = 64). Its in-graph decoding, which
:func:`decode_heads` re-implements (checked against the graph in the tests and in
``benchmarks/movenet_finetune_real.py``), reads them as:

1. person centre: ``sigmoid(centre) / (d_c + 1.8)``, ``d_c`` the distance (cells) of each cell
   to the grid's middle ``(S/2, S/2)``; its argmax is the centre cell ``(cy, cx)`` (integers);
2. rough keypoints: ``(cy, cx) + regression[:, cy, cx]`` (17 × (dy, dx) in cells);
3. per keypoint: ``sigmoid(heatmap) / (d_k + 1.8)``, ``d_k`` the distance to its rough point;
   the argmax cell ``(ky, kx)``; the keypoint is ``(ky + oy, kx + ox) / S`` (normalised to the
   input) with ``(oy, ox) = offsets[:, ky, kx]``, its score ``sigmoid(heatmap)`` at that cell.

So, in cell units ``u = p / 4`` (``p`` the keypoint in continuous input pixels, the convention of
:mod:`infantpose.models.movenet`), the targets are (:func:`make_targets`): a Gaussian keypoint
heatmap peaking (exactly 1) at the cell ``floor(u)``, the sub-cell offset ``u - floor(u)`` (in
[0, 1)) at that cell, a Gaussian centre heatmap peaking at the cell of the person's centre (the
mean of its labelled keypoints), and the regression ``u - centre cell`` at the centre cell.
These conventions are the pretrained network's own, measured on real infant crops (24 SyRIP
training photos): its offsets at the decoded cells have a median of 0.4 (a floor, not a
rounding: that would centre them on 0) and its centre pick lies 0.8 cells from the keypoints'
mean on average, against 3 cells from the middle of their extent or of the labelled box. Decoding one's own targets gives the labels
back (to float precision; tested).

Losses (:func:`movenet_loss`): CenterNet's penalty-reduced focal loss on the two heatmaps
(``loss="focal"``) or a mean squared error on their sigmoids (``"mse"``); L1 on offsets and
regression. Keypoints that are not labelled are masked out of every term: they are never taught
as "absent". Optional replay (SuperAnimal's memory replay, seed 002): the frozen starting
network's sigmoid heatmaps as soft targets, so that few photos do not make it forget.

Training (:func:`fine_tune`): crops like the estimator's box protocol (a square 1.25 × the
labelled box), jittered in scale and position, rotated (infants lie in any orientation),
mirrored with left/right swapped, colour-jittered; early MobileNetV2 blocks frozen; AdamW, a
linear warm-up then a cosine decay; held-out photos scored with the estimator itself (labelled
boxes and the two-pass no-box protocol, mirror test on) and the best state kept, the starting
one included, so a run never returns a model worse than it started on its held-out photos.
Photos are decoded once and cached as square crops (:func:`cache_samples`).

Checkpoints (:func:`~infantpose.models.movenet.save_movenet_checkpoint`,
:func:`~infantpose.models.movenet.load_movenet_checkpoint`, re-exported here): a ``torch.save`` dict in the spirit of :mod:`infantpose.models.checkpoint` with
``architecture: "movenet"``, ``arch_config: {"variant": ...}``, the graph's state dict, schema,
input size and the training config; ``infantpose.models.movenet.create(weights=FILE)`` runs it.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from infantpose import _atomic
from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.evaluate import evaluate_predictions
from infantpose.evaluate.run import predict_dataset
from infantpose.io.images import read_image
from infantpose.models.movenet import (STRIDE, MoveNet, _model_path,  # noqa: F401
                                       load_movenet, load_movenet_checkpoint, movenet_heads,
                                       save_movenet_checkpoint)
from infantpose.schemas import COCO17
from infantpose.train.config import config_to_dict
from infantpose.train.data import load_sources, split_indices
# the heads' codec, the losses and the training photos live in their own modules (re-exported
# here: callers and tests import them from this module)
from infantpose.models.movenet_codec import (CENTRE_BIAS, K, _gaussian, _grid,  # noqa: F401
                                            _window, collate, decode_heads, make_targets,
                                            person_centre, targets_to_heads)
from infantpose.train.movenet_data import (AugmentSettings, Sample, _warp,  # noqa: F401
                                           augment, cache_samples, make_batch)
from infantpose.train.movenet_losses import (focal_loss, heat_mse, masked_l1,  # noqa: F401
                                             movenet_loss)

__all__ = ["CENTRE_BIAS", "MoveNetTrainConfig", "Sample", "augment", "cache_samples",
           "decode_heads", "fine_tune", "focal_loss", "heat_mse", "masked_l1", "freeze_early", "load_movenet_checkpoint",
           "make_targets", "movenet_loss", "save_movenet_checkpoint", "targets_to_heads",
           "train_movenet"]


# --- the network -------------------------------------------------------------------------------

def freeze_early(graph: torch.nn.Module, blocks: int) -> int:
    """Freeze MobileNetV2's stem and its inverted-residual blocks 1..``blocks`` (0: nothing;
    5 = everything at stride 2 to 8, FiDIP's "first three stages"); returns the number of
    parameters left trainable."""
    for name, p in graph.named_parameters():
        m = re.search(r"/block_(\d+)_", name)
        early = "model/Conv1" in name or "expanded_conv_" in name or (
            m is not None and int(m.group(1)) <= blocks)
        p.requires_grad_(not (blocks > 0 and early))
    return sum(p.numel() for p in graph.parameters() if p.requires_grad)


def heads_of(graph: torch.nn.Module, images: torch.Tensor) -> dict[str, torch.Tensor]:
    return movenet_heads(graph, images)


# --- training ----------------------------------------------------------------------------------

@dataclass
class MoveNetTrainConfig:
    """A fine-tuning run (see :func:`fine_tune`)."""

    minutes: float = 9.0  # wall-clock budget of training (its intermediate validations too;
    # the starting model's validation before and the last one after are not counted)
    max_steps: int = 100000
    batch_size: int = 8
    lr: float = 3e-5
    weight_decay: float = 1e-4
    warmup: int = 10  # steps of linear warm-up, then a cosine decay to 2 % at the time limit
    freeze: int = 10  # MobileNetV2 blocks frozen (freeze_early)
    loss: str = "focal"  # or "mse"
    sigma: float = 1.5
    centre_sigma: float = 3.0
    replay: float = 0.5  # memory replay weight (0: off)
    clip_grad: float = 1.0
    val_every: float = 0.0  # minutes between validations (0: only at the end)
    select: str = "both"  # validation score: "boxes", "nobox" or "both" (their mean AP)
    seed: int = 0
    threads: int = 2
    augment: AugmentSettings = field(default_factory=AugmentSettings)


def validate_estimator(graph: torch.nn.Module, gt: Any, images: Sequence[np.ndarray],
                       protocols: Sequence[str] = ("boxes", "nobox"),
                       finder: torch.nn.Module | None = None) -> dict[str, float]:
    """COCO AP of the MoveNet estimator (its defaults, mirror test on) running ``graph`` on the
    held-out photos, per protocol: ``boxes`` (the labelled boxes) and ``nobox`` (two-pass; the
    whole-image first look by ``finder`` when given, as a fine-tuned checkpoint runs)."""
    graph.eval()
    est = MoveNet(graph, int(graph.input_shape[1]), finder=finder,
                  finder_size=None if finder is None else int(finder.input_shape[1]))
    out = {}
    for p in protocols:
        preds = predict_dataset(est, gt, use_gt_boxes=p == "boxes", images=images)
        out[p] = float(evaluate_predictions(gt, preds).metrics["AP"])
    return out


def _score(m: dict[str, float], select: str) -> float:
    return float(np.mean(list(m.values()))) if select == "both" else m[select]


def fine_tune(graph: torch.nn.Module, samples: Sequence[Sample], val_gt: Any = None,
              val_images: Sequence[np.ndarray] | None = None,
              cfg: MoveNetTrainConfig | None = None,
              log: Callable[[str], None] = print,
              start_metrics: dict[str, float] | None = None) -> dict[str, Any]:
    """Fine-tune ``graph`` (in place) on cached ``samples``; with held-out photos keep the
    state that scores best on them (the starting one included) and load it into ``graph``.

    Returns a report: ``history`` (rows of step, seconds, loss terms, held-out AP), ``start``
    and ``best`` held-out APs, ``best_step`` (0: the starting model was kept), ``steps``,
    ``seconds``. ``start_metrics``: the starting model's held-out APs when already known
    (they are then not measured again).
    """
    cfg = cfg or MoveNetTrainConfig()
    if cfg.loss not in ("focal", "mse"):
        raise InputError(None, f"movenet loss must be focal or mse, got {cfg.loss!r}")
    if cfg.select not in ("both", "boxes", "nobox"):
        raise InputError(None, f"movenet select must be both, boxes or nobox, got {cfg.select!r}")
    torch.set_num_threads(max(1, int(cfg.threads)))
    torch.manual_seed(cfg.seed)
    n = int(graph.input_shape[1])
    protocols = ("boxes", "nobox") if cfg.select == "both" else (cfg.select,)
    have_val = val_gt is not None and len(val_gt) > 0
    t_wall = time.time()
    report: dict[str, Any] = {"history": [], "start": None, "best": None, "best_step": 0}
    best_state = None
    start_state = ({k: v.detach().clone() for k, v in graph.state_dict().items()}
                   if have_val else None)
    # the starting network: the first look of the fine-tuned one on whole photos (as
    # models.movenet.create runs a checkpoint) and the teacher of memory replay
    start_net = copy.deepcopy(graph).eval() if (have_val or cfg.replay > 0) else None
    if start_net is not None:
        for p in start_net.parameters():
            p.requires_grad_(False)
    if have_val:
        report["start"] = (dict(start_metrics) if start_metrics is not None
                           else validate_estimator(graph, val_gt, val_images, protocols))
        report["best"] = dict(report["start"])
        log(f"step 0: held-out AP {_fmt(report['start'])}")
    # one image at a time through the interpreted graph: 1.5-1.7x faster per training step than
    # torch.func.vmap over the batch (measured on 2 cores: 2.6-3.1 s against 4.3 s, batch 8)
    mode = getattr(graph, "batch_mode", None)
    if mode is not None:
        graph.batch_mode = "loop"
    teacher = start_net if cfg.replay > 0 else None
    if teacher is not None:
        teacher.batch_mode = getattr(graph, "batch_mode", None) or "loop"
    trainable = freeze_early(graph, cfg.freeze)
    params = [p for p in graph.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    budget = 60.0 * cfg.minutes
    t0 = time.time()
    log(f"training MoveNet on {len(samples)} people: {trainable} parameters trainable, "
        f"batch {cfg.batch_size}, lr {cfg.lr:g}, loss {cfg.loss}, {cfg.minutes:g} min")
    rng = np.random.default_rng(cfg.seed)
    order: list[int] = []
    step, last_val, sums, count = 0, time.time(), {}, 0

    def lr_at(step: int, frac: float) -> float:
        if step < cfg.warmup:
            return cfg.lr * (step + 1) / cfg.warmup
        return cfg.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))

    def validate_now() -> None:
        nonlocal best_state, sums, count
        row = {"step": step, "seconds": round(time.time() - t0, 1),
               **{k: v / max(1, count) for k, v in sums.items()}}
        sums, count = {}, 0
        if have_val:
            m = validate_estimator(graph, val_gt, val_images, protocols, finder=start_net)
            graph.train()
            row.update({f"val_{k}": v for k, v in m.items()})
            if _score(m, cfg.select) > _score(report["best"], cfg.select):
                report["best"], report["best_step"] = m, step
                best_state = {k: v.detach().clone() for k, v in graph.state_dict().items()}
            log(f"step {step} ({row['seconds']:.0f} s): loss {row.get('total', float('nan')):.4g}"
                f"  held-out AP {_fmt(m)}")
        else:
            log(f"step {step} ({row['seconds']:.0f} s): loss {row.get('total', float('nan')):.4g}")
        report["history"].append(row)

    graph.train()
    while step < cfg.max_steps and time.time() - t0 < budget:
        if len(order) < cfg.batch_size:
            order += list(rng.permutation(len(samples)))
        idx, order = order[:cfg.batch_size], order[cfg.batch_size:]
        rngs = [np.random.default_rng([cfg.seed, step, j]) for j in range(len(idx))]
        x, t = make_batch([samples[i] for i in idx], rngs, n, cfg.augment, cfg.sigma,
                          cfg.centre_sigma)
        for g in opt.param_groups:
            # the schedule follows whichever budget runs out first: steps or minutes
            g["lr"] = lr_at(step, max(step / max(1, cfg.max_steps), (time.time() - t0) / budget))
        heads = heads_of(graph, x)
        tea = None
        if teacher is not None:
            with torch.no_grad():
                tea = heads_of(teacher, x)
        loss, terms = movenet_loss(heads, t, cfg.loss, teacher=tea, replay=cfg.replay)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if cfg.clip_grad > 0:
            torch.nn.utils.clip_grad_norm_(params, cfg.clip_grad)
        opt.step()
        step += 1
        terms["total"] = float(loss.detach())
        for k, v in terms.items():
            sums[k] = sums.get(k, 0.0) + v
        count += 1
        if (cfg.val_every > 0 and time.time() - last_val > 60.0 * cfg.val_every
                and time.time() - t0 < budget):
            validate_now()
            last_val = time.time()
    t_end = time.time()
    if count or not report["history"]:
        validate_now()
    for p in graph.parameters():
        p.requires_grad_(True)
    if have_val:
        graph.load_state_dict(best_state if best_state is not None else start_state)
    graph.eval()
    if mode is not None:
        graph.batch_mode = mode
    report["steps"] = step
    report["seconds"] = round(t_end - t0, 1)  # training (and intermediate validations)
    report["wall_seconds"] = round(time.time() - t_wall, 1)  # everything
    return report


def _fmt(m: dict[str, float]) -> str:
    return "  ".join(f"{k} {v:.3f}" for k, v in m.items())


def split_held_out(postures: Sequence[str], fraction: float = 0.15, seed: int = 0
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(train, held-out) indices, stratified by posture (or any label per photo)."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(postures)
    train, held = [], []
    for lab in sorted(set(labels.tolist())):
        idx = rng.permutation(np.flatnonzero(labels == lab))
        k = int(round(fraction * len(idx)))
        held += idx[:k].tolist()
        train += idx[k:].tolist()
    return np.sort(np.array(train, int)), np.sort(np.array(held, int))


def train_movenet(gt: Any, cfg: MoveNetTrainConfig | None = None, variant: str = "thunder",
                  out: str | os.PathLike | None = None, images: Sequence[np.ndarray] | None = None,
                  postures: Sequence[str] | None = None, val_fraction: float = 0.15,
                  val_gt: Any = None, model_path: str | os.PathLike | None = None,
                  start_weights: str | os.PathLike | None = None,
                  log: Callable[[str], None] = print) -> tuple[torch.nn.Module, dict[str, Any]]:
    """Fine-tune MoveNet ``variant`` on the labelled photos ``gt`` (COCO-17), selecting on
    ``val_gt`` or on a posture-stratified ``val_fraction`` of ``gt``; write ``out/model.pt``
    (the best state, or the starting model when nothing beat it) when ``out`` is given."""
    cfg = cfg or MoveNetTrainConfig()
    if start_weights is not None:
        graph, _ = load_movenet_checkpoint(start_weights, variant, model_path)
    else:
        graph = load_movenet(_model_path(variant, model_path))
    ims = list(images) if images is not None else [read_image(p) for p in gt.image_paths]
    if val_gt is None and val_fraction > 0:
        labels = postures if postures is not None else ["all"] * len(gt)
        tr, va = split_held_out(labels, val_fraction, cfg.seed)
        val_gt, val_ims = gt.subset(va), [ims[i] for i in va]
        gt, ims = gt.subset(tr), [ims[i] for i in tr]
    else:
        val_ims = [read_image(p) for p in val_gt.image_paths] if val_gt is not None else None
    log(f"caching {len(gt)} training photos")
    samples = cache_samples(gt, ims, int(graph.input_shape[1]))
    report = fine_tune(graph, samples, val_gt, val_ims, cfg, log)
    if out is not None:
        conf = {"training": {**asdict(cfg), "variant": variant, "photos": len(gt),
                             "held_out": 0 if val_gt is None else len(val_gt),
                             **{k: report[k] for k in ("start", "best", "best_step", "steps",
                                                       "seconds", "wall_seconds")},
                             "date": time.strftime("%Y-%m-%d %H:%M:%S")}}
        Path(out).mkdir(parents=True, exist_ok=True)
        save_movenet_checkpoint(Path(out) / "model.pt", graph, variant, conf)
    return graph, report


# --- the ``infantpose train --arch movenet`` entry point -----------------------------------------

#: ``model.arch`` values that train MoveNet, and their variant.
ARCH_VARIANTS = {"movenet": "thunder", "movenet-lightning": "lightning"}


def config_from_train(cfg: Any) -> MoveNetTrainConfig:
    """The MoveNet run a :class:`~infantpose.train.config.TrainConfig` asks for: ``optim``
    (``time_limit`` minutes, ``max_steps``, ``batch_size``, ``lr``, ``weight_decay``,
    ``clip_grad``), ``loss`` (``mse``: squared error on the sigmoid heatmaps; otherwise the
    focal loss), ``model.freeze`` (``fidip``: blocks 1-5; ``none``/empty: nothing; or
    ``block_N``: blocks 1..N), ``adapt.memory_replay`` / ``replay_weight``, ``seed``,
    ``threads``."""
    o = cfg.optim
    freeze = 0
    for name in cfg.model.freeze:
        m = re.fullmatch(r"block_(\d+)", str(name))
        if name == "fidip":
            freeze = max(freeze, 5)
        elif m:
            freeze = max(freeze, int(m.group(1)))
        elif name not in ("none", ""):
            raise InputError(None, f"model.freeze for movenet: fidip, none or block_N "
                                   f"(N = 1..16), got {name!r}")
    steps = o.max_steps if o.max_steps else 100000
    minutes = float(o.time_limit) if o.time_limit else 1e6
    return MoveNetTrainConfig(
        val_every=max(2.5, minutes / 4) if minutes < 1e5 else 10.0,
        minutes=minutes, max_steps=int(steps),
        batch_size=int(o.batch_size), lr=float(o.lr), weight_decay=float(o.weight_decay),
        clip_grad=float(o.clip_grad or 0.0), freeze=freeze,
        loss="mse" if cfg.loss == "mse" else "focal",
        replay=float(cfg.adapt.replay_weight) if cfg.adapt.memory_replay else 0.0,
        seed=int(cfg.seed), threads=int(cfg.threads))


def train_from_config(cfg: Any, log: Callable[[str], None] = print, progress: bool = True
                      ) -> Path:
    """Run ``infantpose train`` for ``model.arch: movenet``: COCO-17 labels of ``cfg.data``,
    selection on ``cfg.val`` or on a ``val_fraction`` of the data, ``cfg.out/model.pt`` (the
    best state on the held-out photos, or the STARTING model when nothing beat it),
    ``metrics.csv`` and ``config.yaml``. Returns the model path. (No resuming: a run is at most
    an hour; synthetic renders and domain adaptation are BlazePose/Pose-ResNet only.)
    ``progress`` False (``train -q``): no "reading <file>" lines."""
    variant = ARCH_VARIANTS[cfg.model.arch]
    if cfg.synthetic.n > 0 or cfg.adapt.domain_adaptation:
        raise InputError(None, "movenet training takes labelled photos only (no synthetic: n, "
                               "no domain_adaptation)")
    mcfg = config_from_train(cfg)
    notes = log if progress else None
    sets, images = load_sources(cfg, COCO17, "data", notes)
    val_gt = None
    parts = []
    if cfg.val:
        vs, _ = load_sources(cfg, COCO17, "val", notes)
        val_gt = _concat(vs)
        parts = [(ds, ims) for ds, ims in zip(sets, images)]
    else:
        held = []
        for ds, ims in zip(sets, images):
            tr, va = split_indices(len(ds), cfg.val_fraction, cfg.seed)
            parts.append((ds.subset(tr), None if ims is None else [ims[i] for i in tr]))
            if len(va):
                held.append(ds.subset(va))
        val_gt = _concat(held) if held else None

    if cfg.model.weights:
        graph, _ = load_movenet_checkpoint(cfg.model.weights, variant)
    else:
        graph = load_movenet(_model_path(variant, None))
    n = int(graph.input_shape[1])
    samples: list[Sample] = []
    for ds, ims in parts:
        samples += cache_samples(ds, ims, n)
    val_ims = None if val_gt is None else [read_image(p) for p in val_gt.image_paths]
    out = Path(cfg.out)
    _atomic.ensure_writable_dir(out)
    _atomic.write_text(out / "config.yaml", yaml.safe_dump(
        json.loads(json.dumps(config_to_dict(cfg), default=str)), sort_keys=False))
    rep = fine_tune(graph, samples, val_gt, val_ims, mcfg, log)
    conf = {**config_to_dict(cfg), "training": {
        **asdict(mcfg), "variant": variant, "people": len(samples),
        "held_out": 0 if val_gt is None else len(val_gt),
        **{k: rep[k] for k in ("start", "best", "best_step", "steps", "seconds", "wall_seconds")},
        "date": time.strftime("%Y-%m-%d %H:%M:%S")}}
    path = save_movenet_checkpoint(out / "model.pt", graph, variant, conf)
    _write_history(out / "metrics.csv", rep["history"])
    if val_gt is None:
        log(f"no held-out photos: model.pt is the last state (step {rep['steps']}); model: {path}")
    elif rep["best_step"] == 0:
        log(f"no fine-tuned state beat the starting model on the held-out photos "
            f"({_fmt(rep['start'])}): model.pt is the STARTING model; model: {path}")
    else:
        log(f"starting model: {_fmt(rep['start'])}; fine-tuned (best at step "
            f"{rep['best_step']}): {_fmt(rep['best'])}; model.pt is the FINE-TUNED model; "
            f"model: {path}")
    return path


def _concat(sets: Sequence[Any]) -> Any:
    """One dataset of several (for held-out scoring)."""
    if len(sets) == 1:
        return sets[0]

    return LabeledDataset.concat(list(sets))


def _write_history(path: Path, history: list[dict[str, Any]]) -> None:
    keys = list(dict.fromkeys(k for row in history for k in row))
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for row in history:
        w.writerow(row)
    _atomic.write_text(path, buf.getvalue())
