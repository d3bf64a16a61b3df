"""Memory replay: keep the pretrained BlazePose keypoints alive while fine-tuning.

SuperAnimal (Ye et al., 2023, seed ``002_``) fine-tunes with the *pretrained* model's predictions
on the new training images as extra pseudo-labels for the keypoints the old and new keypoint
spaces share, so the network does not forget what it learned from its large original data set
when a small new one pulls it elsewhere ("catastrophic forgetting").

Here the frozen teacher is the complete ported BlazePose landmark graph (the pretrained weights
the student started from: the mediapipe wheel's full network, or the heavy one). Its
regressed landmarks on each augmented training crop are mapped to the target schema with the
registered ``blazepose33 → schema`` mapping (copied and derived keypoints), turned into Gaussian
heatmaps, and weighted by the teacher's visibility score. The trainer adds
``replay_weight × loss(prediction, teacher targets)`` to the pose loss.
"""

from __future__ import annotations

import numpy as np
import torch

from infantpose.models.blazepose_net import pretrained_landmark_graph
from infantpose.models.codecs import HeatmapCodec
from infantpose.schemas import BLAZEPOSE33, Schema, get_mapping, get_schema

__all__ = ["ReplayTeacher"]


class ReplayTeacher:
    """Soft targets from the frozen pretrained BlazePose for the keypoints ``schema`` shares.

    Args:
        schema: the schema being trained.
        stride / sigma: heatmap geometry of the student (targets use the same convention).
        min_score: teacher landmarks below this visibility score get no weight.
        variant: the pretrained landmark network (``pose_landmark_full`` or
            ``pose_landmark_heavy``), the one the student was built from.
    """

    def __init__(self, schema: Schema | str, stride: int = 4, sigma: float = 2.0,
                 min_score: float = 0.3, variant: str = "pose_landmark_full"):
        self.schema = get_schema(schema)
        self.mapping = get_mapping(BLAZEPOSE33, self.schema)
        self.shared = [k for k, src in enumerate(self.mapping.sources) if src]
        self.graph = pretrained_landmark_graph(variant).eval()
        for p in self.graph.parameters():
            p.requires_grad_(False)
        self.stride = int(stride)
        self.sigma = float(sigma)
        self.min_score = float(min_score)

    @torch.no_grad()
    def keypoints(self, images: torch.Tensor) -> np.ndarray:
        """(B, 3, 256, 256) crops in [0, 1] → (B, K, 3) teacher keypoints (x, y, score) in crop
        pixels, in the target schema (NaN where the schema's keypoint is not shared)."""
        if tuple(images.shape[-2:]) != (256, 256):
            raise ValueError("memory replay needs 256×256 crops (the BlazePose input size)")
        out = self.graph(images)[0]
        lm = out.reshape(len(images), -1, 5)[:, :BLAZEPOSE33.num_keypoints]
        score = torch.sigmoid(lm[..., 3])
        kp = torch.cat([lm[..., :2], score[..., None]], -1).numpy().astype(np.float64)
        kp[kp[..., 2] < self.min_score] = (np.nan, np.nan, 0.0)
        return self.mapping.apply(kp)

    def targets(self, images: torch.Tensor, heatmap_size: tuple[int, int]
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher heatmaps (B, K, h, w) and weights (B, K) (teacher score; 0 if not shared)."""
        kp = self.keypoints(images)
        w = np.nan_to_num(kp[..., 2], nan=0.0)
        h, wd = heatmap_size
        codec = HeatmapCodec((wd * self.stride, h * self.stride), self.stride, self.sigma)
        t, w = codec.encode(kp[..., :2], w)
        return torch.from_numpy(t), torch.from_numpy(w)
