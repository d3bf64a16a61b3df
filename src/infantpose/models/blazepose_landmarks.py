"""``BlazePoseLandmarkNet``: BlazePose's *regressed* landmarks as a fine-tunable PyTorch model.

MediaPipe's pose output is the landmark regression of ``pose_landmark_full.tflite`` (Bazarevsky
et al., 2020, "BlazePose: On-device Real-time Body Pose tracking"), or of the larger
``pose_landmark_heavy.tflite`` (``variant="heavy"``; same head, about 4× the trunk parameters):
a 2×2 convolution over the encoder's final 2×2×288 features gives 39 landmarks × (x, y, z, visibility, presence) in pixels
of the 256×256 crop. The network's 64×64 heatmaps only refine those landmarks locally and are
weak on their own, so fine-tuning the regression keeps what the adult model is good at
(measured on real infant photos in ``docs/training.md``).

The model is the ported trunk (everything up to the 2×2×288 tensor, read from the wheel by
:mod:`infantpose.models.tflite_port`) plus

- ``head``: the pretrained 2×2 landmark convolution (288 → 39·5), unchanged in shape;
- ``extra``: a 2×2 convolution for schema keypoints BlazePose does not provide (infant-22
  vertex and lips), 5 values each like the pretrained landmarks, zero weights and a bias that
  places them at the crop centre with low visibility, so training starts from the pretrained
  output exactly.

:meth:`BlazePoseLandmarkNet.keypoints` turns the raw output into the target schema's
keypoints (copied or averaged through the registered ``blazepose33 → schema`` mapping, e.g.
infant palm = mean of index and pinky knuckles): ``(B, K, 2)`` crop pixels and ``(B, K)``
visibility logits. Everything is differentiable.

Stages (for :meth:`freeze`), by the spatial size of each op's output: ``res128``, ``res64``,
``res32``, ``res16``, ``res8`` and ``res4`` (the 4×4 and 2×2 tail), and ``head`` (landmark
conv + extra). ``fidip`` freezes the first three, as FiDIP froze early layers; ``backbone``
(alias ``features``) is everything but the head.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from infantpose.errors import InputError
from infantpose.models.blazepose_net import normalised_variant, set_trainable, staged_parameters
from infantpose.models.tflite_port import TFLiteGraph, load_tflite, mediapipe_model_path
from infantpose.schemas import BLAZEPOSE33, Schema, get_mapping, get_schema

__all__ = ["LANDMARK_STAGES", "BlazePoseLandmarkNet"]

N_LANDMARKS = 39  # 33 body landmarks + MediaPipe's auxiliary ROI points
LANDMARK_STAGES = ("res128", "res64", "res32", "res16", "res8", "res4", "head")
_ALIASES = {"fidip": ("res128", "res64", "res32"), "backbone": LANDMARK_STAGES[:-1],
            "features": LANDMARK_STAGES[:-1], "all": LANDMARK_STAGES}


class BlazePoseLandmarkNet(nn.Module):
    """Pretrained BlazePose landmark regression for a target schema (see module docstring)."""

    input_size = (256, 256)  # (w, h)
    stride = 4  # kept for the checkpoint format; regression has no heatmap

    def __init__(self, schema: Schema | str = BLAZEPOSE33, variant: str = "pose_landmark_full",
                 tflite_path: str | os.PathLike | None = None):
        """``variant``: the landmark network to start from, ``"full"`` / ``"heavy"`` (or
        ``pose_landmark_full`` / ``pose_landmark_heavy``), recorded in checkpoints so that they
        rebuild the same graph; ``tflite_path`` reads that network from a given file."""
        super().__init__()
        variant = normalised_variant(variant)
        path = tflite_path or mediapipe_model_path(variant)
        self.variant = variant
        full = load_tflite(path)
        lm_id = next((i for i in full.output_ids if full.tensors[i].shape == (1, 5 * N_LANDMARKS)),
                     None)
        if lm_id is None:
            raise InputError(path, "no 195-value landmark output: not a BlazePose landmark model")
        producer = {op.outputs[0]: op for op in full.ops.values()}
        op = producer[lm_id]
        while op.kind == "RESHAPE":
            op = producer[op.inputs[0]]
        if op.kind != "CONV_2D":
            raise InputError(path, f"unexpected landmark layer {op.kind}")
        self.trunk: TFLiteGraph = full.pruned([op.inputs[0]])
        w, b = op.weight.detach(), op.bias.detach()  # (195, C, kh, kw), (195,)
        self.feature_channels = int(w.shape[1])
        self.head = nn.Conv2d(self.feature_channels, w.shape[0], tuple(w.shape[2:]))
        with torch.no_grad():
            self.head.weight.copy_(w)
            self.head.bias.copy_(b)
        self.schema: Schema = get_schema(schema)
        self._set_mapping(self.schema)
        self.stage_of = self._assign_stages()

    # --- schema ----------------------------------------------------------------------------------
    def _set_mapping(self, schema: Schema) -> None:
        """Which BlazePose landmarks give each schema keypoint; the rest get ``extra`` outputs."""
        if schema.name == BLAZEPOSE33.name:
            sources: Sequence[Sequence[str]] = [(k,) for k in schema.keypoints]
        else:
            try:
                sources = get_mapping(BLAZEPOSE33, schema).sources
            except InputError:
                sources = [() for _ in schema.keypoints]
        k = schema.num_keypoints
        mix = torch.zeros(k, N_LANDMARKS)
        extra_of: list[int] = []
        for i, srcs in enumerate(sources):
            if srcs:
                for n in srcs:
                    mix[i, BLAZEPOSE33.index(n)] = 1.0 / len(srcs)
            else:
                extra_of.append(i)
        self.register_buffer("mix", mix, persistent=False)
        self.extra_index = extra_of
        e = len(extra_of)
        self.extra = nn.Conv2d(self.feature_channels, 5 * e, tuple(self.head.weight.shape[2:])) \
            if e else None
        if self.extra is not None:
            with torch.no_grad():
                self.extra.weight.zero_()
                bias = torch.zeros(e, 5)
                bias[:, 0] = self.input_size[0] / 2
                bias[:, 1] = self.input_size[1] / 2
                bias[:, 3] = -2.0  # low visibility until trained
                self.extra.bias.copy_(bias.reshape(-1))

    # --- stages ----------------------------------------------------------------------------------
    def _assign_stages(self) -> dict[str, str]:
        stage: dict[str, str] = {}
        for name, op in self.trunk.ops.items():
            shape = self.trunk.tensors[op.outputs[0]].shape
            res = int(shape[1]) if len(shape) == 4 else 1
            res = 2 ** int(np.floor(np.log2(max(res, 1))))
            stage[name] = f"res{min(128, max(4, res))}"
        return stage

    def stage_parameters(self, stage: str) -> list[nn.Parameter]:
        """Parameters of a stage or alias (``fidip``, ``backbone``, ``all``)."""
        return staged_parameters(stage, LANDMARK_STAGES, _ALIASES, self.stage_of, self.trunk,
                                 [self.head, self.extra])

    def freeze(self, stages: str | Sequence[str] = "fidip") -> None:
        set_trainable(self, stages, False)

    def unfreeze(self, stages: str | Sequence[str] = "all") -> None:
        set_trainable(self, stages, True)

    # --- forward ---------------------------------------------------------------------------------
    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 256, 256) RGB in [0, 1] → (B, 288, 2, 2) trunk features."""
        return self.trunk(x)[0]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, 256, 256) RGB in [0, 1] → (B, 39 + E, 5) raw landmarks (crop pixels)."""
        return self.raw_from_features(self.forward_features(x))

    def raw_from_features(self, f: torch.Tensor) -> torch.Tensor:
        out = self.head(f).reshape(len(f), N_LANDMARKS, 5)
        if self.extra is not None:
            out = torch.cat([out, self.extra(f).reshape(len(f), -1, 5)], 1)
        return out

    def keypoints(self, raw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Raw output → schema keypoints: ``(B, K, 2)`` crop pixels, ``(B, K)`` visibility logits."""
        body = raw[:, :N_LANDMARKS]
        xy = torch.einsum("kl,blc->bkc", self.mix, body[..., :2])
        vis = torch.einsum("kl,bl->bk", self.mix, body[..., 3])
        if self.extra is not None:
            ex = raw[:, N_LANDMARKS:]
            idx = torch.as_tensor(self.extra_index, dtype=torch.long)
            xy = xy.index_copy(1, idx, ex[..., :2])
            vis = vis.index_copy(1, idx, ex[..., 3])
        return xy, vis

    def config(self) -> dict:
        return {"variant": self.variant, "output": "landmarks"}
