"""Top-down training samples from any mix of labelled sets and synthetic renders.

Every labelled person (an image, a box, keypoints) becomes one :class:`Item`. Images are decoded
once and cached in memory, downscaled around the person's box to the resolution the network
needs (plus room for rotation, zoom-out and shifts), so an epoch never touches the disk or
decodes a JPEG again. A sample is drawn by composing the cache affine with the same
aspect-preserving box crop that inference uses (:func:`infantpose.geometry.box_transform`
and :func:`~infantpose.geometry.crop_image`) and a random rotation/scale/shift/flip, so the
network is trained on exactly the crops it will see at prediction time. Flips swap left and right
keypoints with ``Schema.flip_index``.

Targets are encoded by the codec inference decodes with (:mod:`infantpose.models.codecs`):
Gaussian heatmaps (:class:`~infantpose.models.codecs.HeatmapCodec`, ``targets="heatmap"``), or
the keypoints themselves in crop pixels for landmark regression
(:class:`~infantpose.models.codecs.RegressionCodec`, ``targets="points"``); each keypoint carries a
weight that is zero when the keypoint is unlabelled, absent from its source schema (SuperAnimal's
gradient masking, seed ``002_``) or outside the crop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.geometry import (apply_affine, body_roi, box_transform, crop_image,
                                 padded_keypoint_box, roi_transform, to_3x3, xywh_to_xyxy)
from infantpose.io.images import read_image
from infantpose.io.labels import read_labels
from infantpose.models.codecs import HeatmapCodec, RegressionCodec
from infantpose.schemas import Schema, get_schema
from infantpose.synth.generate import check_schema, generate
from infantpose.train.augment import AugmentConfig, occlude, photometric, sample_geometry

__all__ = ["Item", "TrainData", "build_items", "load_sources", "split_indices"]


@dataclass
class Item:
    """One labelled person, cached.

    ``image`` is the cached (downscaled) region around the box; ``to_cache`` the 2×3 affine from
    original image coordinates to cache coordinates. ``keypoints`` (K, 2) and ``box`` (x1, y1, x2,
    y2) stay in original coordinates; ``weights`` (K,) are the gradient mask (1 labelled).
    """

    image: np.ndarray
    to_cache: np.ndarray
    keypoints: np.ndarray
    weights: np.ndarray
    box: np.ndarray
    domain: str
    frame: int  # image index in its dataset


def build_items(ds: LabeledDataset, images: Sequence[np.ndarray] | None, input_size: tuple[int, int],
                margin: float = 1.25, max_scale: float = 1.25, detail: float = 1.35,
                progress: Callable[[int], None] | None = None) -> list[Item]:
    """Cache every labelled person of ``ds`` (images from ``images`` or read from disk).

    The cache keeps a square window around the box large enough for any rotation at zoom-out
    ``max_scale``, at ``detail`` times the resolution of an un-zoomed crop (zoom-ins down to
    1/detail stay sharp).
    """
    items: list[Item] = []
    win = float(max(input_size))
    wts_all = ds.weights
    for f in range(len(ds)):
        img = images[f] if images is not None else read_image(ds.image_paths[f])
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        img = np.ascontiguousarray(img[..., :3])
        for n in range(ds.poses.n_instances):
            w = wts_all[f, n]
            xy = ds.poses.data[f, n, :, :2]
            if not (w > 0).any():
                continue
            b = ds.boxes[f, n]
            box = (xywh_to_xyxy(b) if np.isfinite(b).all() and b[2] > 1 and b[3] > 1
                   else padded_keypoint_box(xy, w > 0))
            if box is None:
                continue
            side = max(box[2] - box[0], box[3] - box[1], 1.0) * margin
            roi = body_roi(np.where(w[:, None] > 0, xy, np.nan), ds.schema, margin)
            extent = max(side, roi[1] if roi is not None else 0.0)  # upright crops can be larger
            half = 0.5 * extent * max(max_scale, 1.0) * 1.6  # √2 for rotation plus shifts
            r = min(1.0, detail * win / side)
            size = int(np.ceil(2 * half * r))
            cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
            a = np.array([[r, 0.0, r * (half - cx)], [0.0, r, r * (half - cy)]])
            cache = crop_image(img, a, (size, size))
            items.append(Item(cache, a, np.where(w[:, None] > 0, xy, np.nan), w.astype(np.float32),
                              box, ds.domains[f], f))
        if progress is not None:
            progress(1)
    return items


class TrainData:
    """Samples (image, target heatmaps, weights, domain) drawn from cached :class:`Item` s.

    ``sample(i, rng)`` is a pure function of the item and the generator, so a seeded generator per
    (epoch, position) makes every epoch reproducible and lets an interrupted run resume
    mid-epoch with the very same samples.
    """

    def __init__(self, items: list[Item], schema: Schema | str, input_size: tuple[int, int],
                 stride: int = 4, sigma: float = 2.0, augment: AugmentConfig | None = None,
                 margin: float = 1.25, crop: str = "box", targets: str = "heatmap"):
        self.items = items
        self.schema = get_schema(schema)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.stride = int(stride)
        self.sigma = float(sigma)
        self.augment = augment if augment is not None else AugmentConfig()
        self.margin = float(margin)
        if crop not in ("box", "upright"):
            raise ValueError(f"crop must be 'box' or 'upright', not {crop!r}")
        self.crop = crop
        if targets not in ("heatmap", "points"):
            raise ValueError(f"targets must be 'heatmap' or 'points', not {targets!r}")
        self.targets = targets
        #: keypoints in crop pixels -> training targets (the codec inference decodes with)
        self.codec = (RegressionCodec(self.input_size) if targets == "points"
                      else HeatmapCodec(self.input_size, self.stride, self.sigma))
        self.heatmap_size = (self.input_size[1] // self.stride, self.input_size[0] // self.stride)

    def __len__(self) -> int:
        return len(self.items)

    def base_transform(self, item: Item) -> np.ndarray:
        """The un-augmented crop: the person box, or with ``crop="upright"`` MediaPipe's rotated
        body region of the labelled pose (mid-hip centre, mid-hip → mid-shoulder pointing up),
        which is how the pretrained BlazePose network was taught to see people."""
        if self.crop == "upright":
            roi = body_roi(item.keypoints, self.schema, self.margin)
            if roi is not None:
                return roi_transform(*roi, self.input_size)
        return box_transform(item.box, self.input_size, self.margin)

    def transform(self, item: Item, rng: np.random.Generator | None) -> tuple[np.ndarray, bool]:
        """The 2×3 affine original → network input for one sample, and whether to flip.

        The augmentation's rotation jitters the crop's orientation; box crops (which carry no
        orientation) also get a random quarter turn, so that a box model sees every way an
        infant can lie.
        """
        m = self.base_transform(item)
        if rng is None:
            return m, False
        g = sample_geometry(self.augment, rng)
        w, h = self.input_size
        c = np.array([w / 2.0, h / 2.0])
        turn = 90.0 * int(rng.integers(4)) if self.crop == "box" else 0.0
        t = np.deg2rad(g.rotation + turn)
        rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]]) / g.scale
        shift = np.array(g.shift) * np.array([w, h])
        aug = np.hstack([rot, (c + shift - rot @ c)[:, None]])
        return (to_3x3(aug) @ to_3x3(m))[:2], g.flip

    def sample(self, index: int, rng: np.random.Generator | None = None
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(image HxWx3 uint8, targets (K, h, w) float32, weights (K,) float32, domain 1/0).

        With ``targets="points"`` the targets are the (K, 2) keypoints in crop pixels (0 where
        the weight is 0; a keypoint more than half a crop outside the crop gets weight 0).

        ``rng=None`` gives the plain, un-augmented crop (validation, teacher checks).
        """
        it = self.items[index]
        m, flip = self.transform(it, rng)
        total = (to_3x3(m) @ np.linalg.inv(to_3x3(it.to_cache)))[:2]
        img = crop_image(it.image, total, self.input_size)
        xy = apply_affine(m, it.keypoints)
        w = it.weights.copy()
        if flip:
            img = np.ascontiguousarray(img[:, ::-1])
            xy[:, 0] = self.input_size[0] - xy[:, 0]
            fi = self.schema.flip_index
            xy, w = xy[fi], w[fi]
        if rng is not None:
            img = occlude(photometric(img, self.augment, rng), self.augment, rng)
        domain = 1.0 if it.domain == "synthetic" else 0.0
        target, w = self.codec.encode(xy, w)
        return img, target, w, domain

    def batch(self, indices: Sequence[int], rngs: Sequence[np.random.Generator | None]
              ) -> dict[str, Any]:
        """Stacked samples as torch tensors: image (B,3,H,W) in [0,1], target, weight, domain."""
        # imported here: building items and samples needs no torch; only batches do
        import torch

        parts = [self.sample(i, r) for i, r in zip(indices, rngs)]
        img = np.stack([p[0] for p in parts])
        return {"image": torch.from_numpy(img).permute(0, 3, 1, 2).float().div_(255.0),
                "target": torch.from_numpy(np.stack([p[1] for p in parts])),
                "weight": torch.from_numpy(np.stack([p[2] for p in parts])),
                "domain": torch.tensor([p[3] for p in parts], dtype=torch.float32)}


# --- data sources -----------------------------------------------------------------------------------

def load_sources(cfg: Any, schema: Schema, which: str = "data",
                 progress: Callable[[str], None] | None = None
                 ) -> tuple[list[LabeledDataset], list[Sequence[np.ndarray] | None]]:
    """Read every labelled set of ``cfg.data`` (or ``cfg.val``), converted to ``schema``, and
    render ``cfg.synthetic`` for ``which="data"``. Returns datasets and their in-memory images
    (None: read from disk). Every problem is an InputError naming the file, raised before any
    training step."""
    sets: list[LabeledDataset] = []
    images: list[Sequence[np.ndarray] | None] = []
    for src in getattr(cfg, which):
        if progress:
            progress(f"reading {src.path}")
        ds = read_labels(src.path, images_root=src.images, check_images=True)
        if ds.schema.name != schema.name:
            ds = ds.convert(schema)  # InputError when no mapping exists
        if len(ds) == 0 or not (ds.visibility > 0).any():
            raise InputError(src.path, "no labelled keypoints")
        ds.domains = [src.domain] * len(ds)
        sets.append(ds)
        images.append(None)
    if which == "data" and cfg.synthetic.n > 0:
        if progress:
            progress(f"rendering {cfg.synthetic.n} synthetic images ({cfg.synthetic.style})")
        size = (cfg.synthetic.size, cfg.synthetic.size)
        imgs, ds = generate(cfg.synthetic.n, schema=_synth_schema(schema), seed=cfg.synthetic.seed,
                            size=size, style=cfg.synthetic.style)
        if ds.schema.name != schema.name:
            ds = ds.convert(schema)
        sets.append(ds)
        images.append(imgs)
    return sets, images


def _synth_schema(schema: Schema) -> Schema:
    try:
        return check_schema(schema)
    except InputError:
        return get_schema("infant22")


def split_indices(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Train and held-out image indices: ``fraction`` of ``n`` held out (at least one when
    ``n >= 4``; none when that would leave nothing to train on)."""
    k = round(fraction * n)
    if fraction > 0 and n >= 4:
        k = max(k, 1)
    if k <= 0 or k >= n:
        return np.arange(n), np.arange(0)
    perm = np.random.default_rng([seed, 7919]).permutation(n)
    return np.sort(perm[k:]), np.sort(perm[:k])
