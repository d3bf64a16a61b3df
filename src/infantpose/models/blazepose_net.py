"""``BlazePoseNet``: the BlazePose landmark network as a fine-tunable PyTorch heatmap model.

Built from the TFLite port (:mod:`infantpose.models.tflite_port`) of
``pose_landmark_full.tflite`` shipped in the mediapipe wheel (Bazarevsky et al., 2020,
"BlazePose: On-device Real-time Body Pose tracking"), or of the larger ``pose_landmark_heavy``
(``variant="heavy"``; same inputs, outputs and layout, deeper and wider inside). Only the part of
the graph that feeds the heatmap is kept:

- ``features``: encoder (256→8 px, inverted-residual blocks) and the upsampling decoder back to
  64×64 with skip connections, giving 48 feature channels at 64×64 (TFLite tensor
  ``add_11`` region, the input of the heatmap convolution).
- ``head``: a 1×1 convolution 48 → K producing heatmap **logits** at 64×64 (stride 4 on the
  256×256 input). Apply a sigmoid to read them as per-pixel confidences, as MediaPipe does when
  it refines landmarks from the heatmap.

The pretrained head has 39 channels: 0–32 are the 33 BlazePose landmarks in
:data:`~infantpose.schemas.BLAZEPOSE33` order (nose, eyes, ears, mouth, shoulders, elbows, wrists,
pinky/index/thumb knuckles, hips, knees, ankles, heels, foot indices); 33 and 34 are MediaPipe's
two auxiliary ROI landmarks (hip centre and a point fixing body scale/rotation); 35–38 are not
used by MediaPipe's graph (undocumented). Note that MediaPipe uses these heatmaps only to refine
its *regressed* landmarks inside a small window; the raw heatmaps of the pretrained model are
broad, which is why fine-tuning starts from them rather than using them as-is.

Input: (B, 3, 256, 256) RGB float in [0, 1]. Stages (for :meth:`freeze`): ``enc128``, ``enc64``,
``enc32``, ``enc16``, ``enc8`` (encoder ops by output resolution, including the skip-branch
convolutions computed at that resolution), ``decoder`` (upsampling path at 16–64 px) and
``head``; aliases ``backbone`` (all ``enc*``) and ``features`` (everything but the head).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from infantpose.errors import InputError
from infantpose.models.tflite_port import (LANDMARK_MODELS, TFLiteGraph, landmark_variant,
                                           load_tflite, mediapipe_model_path)
from infantpose.schemas import BLAZEPOSE33, Schema, get_mapping, get_schema

__all__ = ["BLAZEPOSE_HEATMAP_CHANNELS", "STAGES", "BlazePoseNet", "set_trainable",
           "staged_parameters"]

BLAZEPOSE_HEATMAP_CHANNELS = list(BLAZEPOSE33.keypoints) + [
    "aux_hip_centre", "aux_scale_point", "unused_35", "unused_36", "unused_37", "unused_38"]
STAGES = ("enc128", "enc64", "enc32", "enc16", "enc8", "decoder", "head")
_ALIASES = {"backbone": ("enc128", "enc64", "enc32", "enc16", "enc8"),
            "features": STAGES[:-1], "all": STAGES}


@dataclass
class HeadInit:
    """How each output channel of a replaced head was initialised."""

    pretrained: dict[str, list[str]] = field(default_factory=dict)  # kp -> BlazePose channels
    random: list[str] = field(default_factory=list)


class BlazePoseNet(nn.Module):
    """BlazePose feature extractor + 64×64 heatmap head (see module docstring)."""

    input_size = (256, 256)  # (w, h)
    stride = 4

    def __init__(self, tflite_path: str | os.PathLike | None = None,
                 schema: Schema | str = BLAZEPOSE33, variant: str = "pose_landmark_full"):
        """``variant``: the landmark network to start from, ``"full"`` / ``"heavy"`` or their
        file names ``pose_landmark_full`` / ``pose_landmark_heavy`` (recorded in checkpoints so
        they rebuild the same graph); ``tflite_path`` reads that network from a given file."""
        super().__init__()
        variant = normalised_variant(variant)
        path = tflite_path or mediapipe_model_path(variant)
        self.variant = variant
        full = load_tflite(path)
        hm_id = next((i for i in full.output_ids if full.tensors[i].shape[1:3] == (64, 64)
                      and len(full.tensors[i].shape) == 4 and full.tensors[i].shape[3] == 39), None)
        if hm_id is None:
            raise InputError(path, "no 64×64×39 heatmap output: not a BlazePose landmark model")
        head_op = next(op for op in full.ops.values() if op.outputs[0] == hm_id)
        feat_id = head_op.inputs[0]
        self.features: TFLiteGraph = full.pruned([feat_id])
        w = head_op.weight.detach()  # (39, 48, 1, 1)
        self.feature_channels = int(w.shape[1])
        self.head = nn.Conv2d(self.feature_channels, w.shape[0], 1)
        with torch.no_grad():
            self.head.weight.copy_(w)
            self.head.bias.copy_(head_op.bias.detach())
        self._pretrained_head = (w.clone(), head_op.bias.detach().clone())
        self.schema: Schema = BLAZEPOSE33
        self.head_channels = list(BLAZEPOSE_HEATMAP_CHANNELS)
        self.head_init = HeadInit({k: [k] for k in BLAZEPOSE33.keypoints}, [])
        self.stage_of = self._assign_stages()
        if get_schema(schema).name != BLAZEPOSE33.name:
            self.replace_head(schema)
        else:  # keep only the 33 landmark channels: the auxiliary ones are not keypoints
            self.replace_head(BLAZEPOSE33)

    # --- stages ----------------------------------------------------------------------------------
    def _assign_stages(self) -> dict[str, str]:
        """Encoder ops (ancestors of the deepest trunk tensor) by resolution; the rest (skip
        branches, upsampling path) are the decoder."""
        ops = self.features.ops
        producer = {op.outputs[0]: n for n, op in ops.items()}
        first_resize = next(op for op in ops.values() if op.kind == "RESIZE_BILINEAR")
        trunk_end = ops[producer[first_resize.inputs[0]]].inputs
        trunk: set[str] = set()
        todo = [producer[t] for t in trunk_end if t in producer]
        while todo:
            n = todo.pop()
            if n not in trunk:
                trunk.add(n)
                todo += [producer[t] for t in ops[n].inputs if t in producer]
        stage: dict[str, str] = {}
        for name, op in ops.items():
            if name in trunk:
                res = self.features.tensors[op.outputs[0]].shape[1]
                res = 2 ** int(np.floor(np.log2(res)))
                stage[name] = f"enc{max(8, min(128, res))}"
            else:
                stage[name] = "decoder"
        return stage

    def stage_parameters(self, stage: str) -> list[nn.Parameter]:
        """Parameters of a named stage (or alias: ``backbone``, ``features``, ``all``)."""
        return staged_parameters(stage, STAGES, _ALIASES, self.stage_of, self.features,
                                 [self.head])

    def freeze(self, stages: str | list[str] | tuple[str, ...] = "backbone") -> None:
        """Stop gradients for the named stages (the FiDIP recipe freezes early layers)."""
        set_trainable(self, stages, False)

    def unfreeze(self, stages: str | list[str] | tuple[str, ...] = "all") -> None:
        set_trainable(self, stages, True)

    # --- head ------------------------------------------------------------------------------------
    def replace_head(self, schema: Schema | str, seed: int = 0) -> HeadInit:
        """Give the network a new K-channel head for ``schema``.

        A channel whose keypoint BlazePose provides (per the registered ``blazepose33 → schema``
        mapping) starts from the pretrained channel, or from the mean of the source channels for
        a derived keypoint (e.g. infant palm = mean of index and pinky); keypoints BlazePose lacks
        start from small random weights with the mean pretrained bias (a low background).
        """
        s = get_schema(schema)
        w0, b0 = self._pretrained_head
        try:
            sources = get_mapping(BLAZEPOSE33, s).sources
        except InputError:
            sources = tuple(() for _ in s.keypoints)
        gen = torch.Generator().manual_seed(seed)
        w = torch.randn((s.num_keypoints, *w0.shape[1:]), generator=gen) * 1e-3
        b = torch.full((s.num_keypoints,), float(b0[:33].mean()))
        init = HeadInit()
        for k, (name, srcs) in enumerate(zip(s.keypoints, sources)):
            if srcs:
                idx = [BLAZEPOSE33.index(n) for n in srcs]
                w[k] = w0[idx].mean(0)
                b[k] = b0[idx].mean()
                init.pretrained[name] = list(srcs)
            else:
                init.random.append(name)
        head = nn.Conv2d(self.feature_channels, s.num_keypoints, 1)
        with torch.no_grad():
            head.weight.copy_(w)
            head.bias.copy_(b)
        self.head = head
        self.schema = s
        self.head_channels = list(s.keypoints)
        self.head_init = init
        return init

    # --- forward ---------------------------------------------------------------------------------
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 256, 256) RGB in [0, 1] → (B, K, 64, 64) heatmap logits."""
        return self.head(self.forward_features(x))

    def config(self) -> dict:
        return {"variant": self.variant}


def staged_parameters(stage: str, stages: Sequence[str], aliases: dict[str, Sequence[str]],
                      stage_of: dict[str, str], graph: TFLiteGraph,
                      head: Sequence[nn.Module | None]) -> list[nn.Parameter]:
    """Parameters of ``stage`` (or an alias) in a ported graph whose ops are assigned to stages
    by ``stage_of``; the ``"head"`` stage is the ``head`` modules. Shared by the heatmap and the
    landmark networks, which differ only in their stage tables."""
    names = aliases.get(stage, (stage,))
    bad = [s for s in names if s not in stages]
    if bad:
        raise ValueError(f"unknown stage {bad[0]!r}; stages: {', '.join(stages)}, "
                         f"aliases: {', '.join(aliases)}")
    params: list[nn.Parameter] = []
    for s in names:
        if s == "head":
            params += [p for m in head if m is not None for p in m.parameters()]
            continue
        for op_name, st in stage_of.items():
            if st == s:
                params += list(graph.ops[op_name].parameters())
    return params


def set_trainable(model: nn.Module, stages: str | Sequence[str], trainable: bool) -> None:
    """(Un)freeze the named stages of a model that has ``stage_parameters``."""
    for s in [stages] if isinstance(stages, str) else stages:
        for p in model.stage_parameters(s):
            p.requires_grad_(trainable)


def normalised_variant(variant: str) -> str:
    """``"full"`` / ``"heavy"`` → ``"pose_landmark_full"`` / ``"pose_landmark_heavy"``; file
    names pass unchanged."""
    return landmark_variant(variant) if variant in LANDMARK_MODELS else variant


def pretrained_landmark_graph(variant: str = "pose_landmark_full") -> TFLiteGraph:
    """The whole ported landmark graph (for the regressed landmarks the pretrained model uses);
    ``variant`` as in :class:`BlazePoseNet` (``"heavy"`` for the heavy network)."""
    return load_tflite(mediapipe_model_path(normalised_variant(variant)))


def heatmap_channel_table() -> list[tuple[int, str]]:
    """(channel, meaning) rows of the pretrained 39-channel heatmap, for documentation."""
    return list(enumerate(BLAZEPOSE_HEATMAP_CHANNELS))
