"""MoveNet's training photos: decoded once and cached as square crops around the labelled
box (:class:`Sample`), augmented (scale, shift, rotation, mirror, colour) and batched with
their targets.

Split out of ``train/movenet.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch

from infantpose.errors import InputError
from infantpose.geometry import apply_affine, box_transform, crop_image, tight_box, torso_up
from infantpose.io.images import read_image
from infantpose.schemas import COCO17
from infantpose.models.movenet_codec import collate, make_targets

__all__ = ["AugmentSettings", "Sample", "augment", "cache_samples", "make_batch"]


# --- data ----------------------------------------------------------------------------------------

@dataclass
class Sample:
    """One labelled person, cached: a square crop ``context`` × the estimator's (``margin`` ×
    the box) around it, its keypoints in that crop, and the box side in crop pixels."""

    image: np.ndarray  # (C, C, 3) uint8
    xy: np.ndarray  # (17, 2) float, crop pixels (NaN where not labelled)
    labelled: np.ndarray  # (17,) bool
    box_side: float  # the labelled box's longer side, crop pixels
    posture: str = ""


def _warp(image: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """The crop of ``image`` through the affine ``m`` (image → crop), shrinking large photos by
    area averaging first (as :class:`~infantpose.models.movenet.MoveNet` does)."""
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
    if scale < 0.5:
        h, w = image.shape[:2]
        f = min(1.0, 2.0 * scale)
        sw, sh = max(1, round(w * f)), max(1, round(h * f))
        small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
        m = (np.vstack([m, [0, 0, 1]]) @ np.diag([w / sw, h / sh, 1.0]))[:2]
        image = small
    return crop_image(image, m, (size, size))


def cache_samples(gt: Any, images: Sequence[np.ndarray] | None = None, input_size: int = 256,
                  margin: float = 1.25, context: float = 2.0,
                  postures: Sequence[str] | None = None) -> list[Sample]:
    """Decode every photo of a COCO-17 :class:`~infantpose.datasets.LabeledDataset` once and
    keep, per labelled person, a square crop of ``context`` × ``margin`` × its box (at
    ``context`` × ``input_size`` pixels, the estimator's resolution) for augmentation."""
    if gt.schema.name != COCO17.name:
        raise InputError(None, f"MoveNet trains on COCO-17 labels, got {gt.schema.name}")
    size = int(round(context * input_size))
    out: list[Sample] = []
    for i, path in enumerate(gt.image_paths):
        image = images[i] if images is not None else read_image(path)
        for n in range(gt.visibility.shape[1]):
            lab = gt.visibility[i, n] > 0
            if lab.sum() < 1:
                continue
            xy = gt.poses.data[i, n, :, :2].astype(float)
            b = gt.boxes[i, n]
            if np.isfinite(b).all() and b[2] > 1 and b[3] > 1:
                box = np.array([b[0], b[1], b[0] + b[2], b[1] + b[3]])
            else:
                box = tight_box(xy, lab)
            m = box_transform(box, (size, size), margin * context)
            cxy = np.where(lab[:, None], apply_affine(m, np.nan_to_num(xy)), np.nan)
            side = max(box[2] - box[0], box[3] - box[1]) * float(m[0, 0] ** 2 + m[0, 1] ** 2) ** .5
            out.append(Sample(_warp(image, m, size), cxy, lab, float(side),
                              str(postures[i]) if postures is not None else ""))
    if not out:
        raise InputError(None, "no labelled person to train on")
    return out


@dataclass
class AugmentSettings:
    """Augmentation of a cached sample (see :func:`augment`)."""

    margin: float = 1.25  # the estimator's box protocol
    # × margin: tighter or looser crops, up to whole-image-like views (3 × 1.25 × the box; with
    # 1.5 × the no-box protocol lost AP on the held-out photos)
    scale: tuple[float, float] = (0.85, 3.0)
    shift: float = 0.3  # × box side, each axis (the person is off-centre in whole images)
    rotate_p: float = 0.25  # probability of a rotation over the full circle
    small_rotation: float = 20.0  # otherwise up to ± this many degrees
    flip_p: float = 0.5
    colour: float = 0.2  # brightness / contrast / saturation jitter (fraction)
    # probability of a crop turned so that the labelled torso stands upright (± small_rotation):
    # what the estimator's upright retry shows the network for a leaning infant
    upright_p: float = 0.0


def augment(sample: Sample, rng: np.random.Generator, input_size: int,
            a: AugmentSettings | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random training crop (N, N, 3) float RGB 0-255 of a cached sample, with its (17, 2)
    keypoints and labelled mask (left/right swapped when mirrored)."""
    a = a or AugmentSettings()
    c = sample.image.shape[0]
    side = sample.box_side * a.margin * float(np.exp(rng.uniform(*np.log(a.scale))))
    s = input_size / max(side, 1.0)
    turn_up = a.upright_p > 0 and rng.random() < a.upright_p
    up = torso_up(sample.xy, sample.labelled) if turn_up else None
    if up is not None:  # turned by th, the torso (dx, dy) points to (0, -1): th = atan2(dx, -dy)
        ang = float(np.degrees(np.arctan2(up[0], -up[1])))
        ang += rng.uniform(-a.small_rotation, a.small_rotation)
    elif rng.random() < a.rotate_p:
        ang = rng.uniform(-180.0, 180.0)
    else:
        ang = rng.uniform(-a.small_rotation, a.small_rotation)
    centre = np.array([c / 2.0, c / 2.0]) + rng.uniform(-a.shift, a.shift, 2) * sample.box_side
    th = np.deg2rad(ang)
    rot = np.array([[np.cos(th), np.sin(th)], [-np.sin(th), np.cos(th)]]) * s
    m = np.zeros((2, 3))
    m[:, :2] = rot
    m[:, 2] = np.array([input_size / 2.0] * 2) - rot @ centre
    flip = rng.random() < a.flip_p
    if flip:
        m = (np.array([[-1.0, 0.0, float(input_size)], [0.0, 1.0, 0.0], [0, 0, 1]])
             @ np.vstack([m, [0, 0, 1]]))[:2]

    mi = m.copy()
    mi[:, 2] = m[:, 2] + 0.5 * (m[:, 0] + m[:, 1]) - 0.5  # cv2 pixel centres at integers
    img = cv2.warpAffine(sample.image, mi, (input_size, input_size), flags=cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0).astype(np.float32)
    xy = np.where(sample.labelled[:, None], apply_affine(m, np.nan_to_num(sample.xy)), np.nan)
    lab = sample.labelled.copy()
    if flip:
        idx = COCO17.flip_index
        xy, lab = xy[idx], lab[idx]
    if a.colour > 0:
        j = a.colour
        grey = img.mean(-1, keepdims=True)
        img = grey + (img - grey) * rng.uniform(1 - j, 1 + j)  # saturation
        img = (img - img.mean()) * rng.uniform(1 - j, 1 + j) + img.mean()  # contrast
        img = img * rng.uniform(1 - j, 1 + j)  # brightness
        img = np.clip(img, 0, 255)
    return img.astype(np.float32), xy, lab


def make_batch(samples: Sequence[Sample], rngs: Sequence[np.random.Generator], input_size: int,
               a: AugmentSettings, sigma: float, centre_sigma: float
               ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    ims, ts = [], []
    for smp, rng in zip(samples, rngs):
        img, xy, lab = augment(smp, rng, input_size, a)
        ims.append(img)
        ts.append(make_targets(xy, lab, input_size, sigma, centre_sigma))
    return torch.from_numpy(np.stack(ims)), collate(ts)
