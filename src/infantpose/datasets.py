"""``LabeledDataset``: labelled images (keypoints, visibility, boxes) in one schema.

Readers of every label format (COCO, LabelMe, DeepLabCut, synthetic renders) produce it; training
and evaluation consume it. Its keypoints live in a :class:`~infantpose.poses.Poses` with one frame
per image, so schema conversion, tables and JSON work the same as for predictions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.errors import InputError
from infantpose.poses import Poses
from infantpose.schemas import Schema, get_mapping

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

    # --- additive helpers: conversion, selection, stacking, validation -------------------------
    def convert(self, schema: Schema | str) -> "LabeledDataset":
        """The same labels in another schema (the generalized data converter of SuperAnimal,
        Ye et al. 2023, seed ``002_``).

        Each target keypoint comes from the registered mapping: copied, derived as the mean of
        several source keypoints (visibility = the lowest of theirs), or missing when the source
        schema lacks it: missing keypoints get visibility 0 and so zero training weight, never an
        invented position. ``meta["missing_keypoints"]`` lists them.
        """
        mapping = get_mapping(self.schema, schema)
        poses = self.poses.convert(mapping.target)
        f, n, _ = self.visibility.shape
        vis = np.zeros((f, n, mapping.target.num_keypoints), dtype=int)
        for t, srcs in enumerate(mapping.sources):
            if srcs:
                idx = [self.schema.index(s) for s in srcs]
                vis[:, :, t] = self.visibility[:, :, idx].min(axis=-1)
        vis[~poses.visible] = 0
        poses.data[vis == 0] = (np.nan, np.nan, 0.0)
        meta = dict(self.meta)
        meta["missing_keypoints"] = list(mapping.missing)
        meta["converted_from"] = self.schema.name
        if mapping.derived:
            meta["derived_keypoints"] = list(mapping.derived)
        return LabeledDataset(poses, vis, self.boxes.copy(), self.root, list(self.domains), meta)

    def subset(self, indices: "list[int] | np.ndarray") -> "LabeledDataset":
        """The images at ``indices`` (in that order), e.g. a train/validation split."""
        idx = np.asarray(indices, dtype=int).reshape(-1)
        poses = replace(self.poses.take_frames(idx), frame_indices=None, meta=self.poses.meta)
        meta = dict(self.meta)
        for key in ("coco_image_ids", "areas", "image_fields"):
            vals = meta.get(key)
            if isinstance(vals, list) and len(vals) == len(self):
                meta[key] = [vals[i] for i in idx]
        return LabeledDataset(poses, self.visibility[idx].copy(), self.boxes[idx].copy(),
                              self.root, [self.domains[i] for i in idx], meta)

    @classmethod
    def concat(cls, items: "list[LabeledDataset]",
               root: "Path | str | None" = None) -> "LabeledDataset":
        """Stack several datasets of one schema (e.g. real + synthetic).

        Image paths are rewritten relative to ``root`` (default: the first item's root) when the
        roots differ, so every image stays findable.
        """
        if not items:
            raise ValueError("LabeledDataset.concat needs at least one dataset")
        if any(d.schema.name != items[0].schema.name for d in items):
            raise ValueError("LabeledDataset.concat: all datasets must share a schema "
                             "(convert them first)")
        base = Path(root) if root is not None else items[0].root
        parts = []
        for d in items:
            p = d.poses
            if d.root.resolve() != base.resolve():
                names = [os.path.relpath(d.root / n, base) for n in d.image_names]
                p = Poses(p.data, p.schema, p.source, names, None, p.fps, p.frame_size,
                          p.image_sizes, dict(p.meta), **p.fields())
            sizes = p.image_sizes or ([p.frame_size] * len(d) if p.frame_size else None)
            parts.append(Poses(p.data, p.schema, p.source, p.frame_names, None, None, None,
                               sizes, dict(p.meta), **p.fields()))
        poses = Poses.concat(parts)
        n = poses.n_instances

        def pad(a: np.ndarray, fill: float) -> np.ndarray:
            out = np.full((a.shape[0], n) + a.shape[2:], fill, dtype=a.dtype)
            out[:, : a.shape[1]] = a
            return out

        vis = np.concatenate([pad(d.visibility, 0) for d in items])
        boxes = np.concatenate([pad(d.boxes, np.nan) for d in items])
        domains = [x for d in items for x in d.domains]
        meta = {"concatenated_from": [d.meta.get("source_file", str(d.root)) for d in items]}
        return cls(poses, vis, boxes, base, domains, meta)

    def validate(self, check_images: bool = True) -> None:
        """Raise InputError if labels are inconsistent or (optionally) images are missing.

        Checks: visibility only 0/1/2; labelled keypoints have finite coordinates; unlabelled
        ones are missing; every image file exists.
        """
        src = self.meta.get("source_file", str(self.root))
        if not np.isin(self.visibility, (0, 1, 2)).all():
            raise InputError(src, "visibility values must be 0, 1 or 2")
        lab = self.visibility > 0
        xy = self.poses.xy
        if not np.isfinite(xy[lab]).all():
            raise InputError(src, "a labelled keypoint has NaN or infinite coordinates")
        if (~np.isnan(xy[~lab])).any():
            raise InputError(src, "an unlabelled keypoint (visibility 0) has coordinates")
        if check_images:
            for path in self.image_paths:
                if not path.is_file():
                    raise InputError(src, f"image not found: {path}")
