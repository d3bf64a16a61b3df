"""``LabeledDataset``: labelled images (keypoints, visibility, boxes) in one schema.

Readers of every label format (COCO, LabelMe, DeepLabCut, synthetic renders) produce it; training
and evaluation consume it. Its keypoints live in a :class:`~infantpose.poses.Poses` with one frame
per image, so schema conversion, tables and JSON work the same as for predictions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.poses import Poses
from infantpose.schemas import Schema

__all__ = ["LabeledDataset"]


@dataclass
class LabeledDataset:
    """Images with ground-truth poses.

    Attributes:
        poses: one frame per image; ``frame_names`` are image paths relative to ``root``;
            ``image_sizes`` the (width, height) of each image. A keypoint that is not labelled
            (or that the source schema lacks) is missing (NaN, score 0); labelled ones have
            score 1.
        visibility: (F, N, K) int, COCO convention: 0 not labelled, 1 labelled but occluded,
            2 labelled and visible.
        boxes: (F, N, 4) float person boxes (x, y, width, height) in pixels; NaN for padding slots.
        root: folder the image paths are relative to.
        domains: per-image domain tag, e.g. "real" or "synthetic".
        meta: free-form metadata (source file, conversion notes, ...).
    """

    poses: Poses
    visibility: np.ndarray
    boxes: np.ndarray
    root: Path
    domains: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        f, n, k, _ = self.poses.data.shape
        self.visibility = np.asarray(self.visibility, dtype=int)
        self.boxes = np.asarray(self.boxes, dtype=float)
        self.root = Path(self.root)
        if self.visibility.shape != (f, n, k):
            raise ValueError(f"visibility shape {self.visibility.shape} != {(f, n, k)}")
        if self.boxes.shape != (f, n, 4):
            raise ValueError(f"boxes shape {self.boxes.shape} != {(f, n, 4)}")
        if len(self.domains) != f:
            raise ValueError(f"{len(self.domains)} domains for {f} images")
        if self.poses.frame_names is None:
            raise ValueError("LabeledDataset.poses needs frame_names (image paths)")

    @property
    def schema(self) -> Schema:
        return self.poses.schema

    def __len__(self) -> int:
        return self.poses.n_frames

    @property
    def image_names(self) -> list[str]:
        return list(self.poses.frame_names or [])

    @property
    def image_paths(self) -> list[Path]:
        """Absolute image paths."""
        return [self.root / n for n in self.image_names]

    @property
    def weights(self) -> np.ndarray:
        """(F, N, K) float: 1 where a keypoint is labelled, 0 where it is not (gradient mask)."""
        return (self.visibility > 0).astype(float)
