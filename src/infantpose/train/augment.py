"""Augmentation suited to infant images.

Infants lie in any orientation and are often partly covered by blankets or hands, and home videos
vary in light, focus and compression. So, besides the geometric part (any rotation, scale, flips
with left/right swap; see :func:`sample_geometry`), we jitter colour, blur, add sensor noise and
JPEG artefacts, and paste occluding patches. All functions take and return RGB uint8 arrays and use
an explicit ``numpy.random.Generator`` so that a seed fixes every sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["AugmentConfig", "Geometry", "occlude", "photometric", "sample_geometry"]


@dataclass(frozen=True)
class AugmentConfig:
    """Augmentation strengths. ``rotation`` is the maximum absolute jitter in degrees around the
    crop's orientation (box crops also get a random quarter turn)."""

    rotation: float = 30.0
    scale: tuple[float, float] = (0.75, 1.25)
    shift: float = 0.08
    flip: float = 0.5
    brightness: float = 0.25
    contrast: float = 0.25
    saturation: float = 0.3
    hue: float = 8.0
    blur: float = 0.3
    noise: float = 0.3
    jpeg: float = 0.3
    occlusion: float = 0.4
    max_occluders: int = 2

    @classmethod
    def none(cls) -> AugmentConfig:
        """No augmentation at all (for validation and deterministic checks)."""
        return cls(rotation=0.0, scale=(1.0, 1.0), shift=0.0, flip=0.0, brightness=0.0,
                   contrast=0.0, saturation=0.0, hue=0.0, blur=0.0, noise=0.0, jpeg=0.0,
                   occlusion=0.0)


@dataclass(frozen=True)
class Geometry:
    """One sampled geometric transform of a top-down crop."""

    rotation: float  # degrees, counter-clockwise
    scale: float  # >1 zooms out (the crop covers more of the image)
    shift: tuple[float, float]  # fraction of the box size
    flip: bool


def sample_geometry(cfg: AugmentConfig, rng: np.random.Generator) -> Geometry:
    """Draw rotation, scale, shift and flip for one training sample."""
    rot = float(rng.uniform(-cfg.rotation, cfg.rotation)) if cfg.rotation > 0 else 0.0
    lo, hi = cfg.scale
    scale = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if hi > lo else float(lo)
    shift = (float(rng.uniform(-cfg.shift, cfg.shift)), float(rng.uniform(-cfg.shift, cfg.shift)))
    flip = bool(rng.random() < cfg.flip)
    return Geometry(rot, scale, shift, flip)


def photometric(image: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Colour jitter, blur, noise and JPEG artefacts on an RGB uint8 image."""
    img = image.astype(np.float32)
    if cfg.brightness > 0:
        img *= 1.0 + rng.uniform(-cfg.brightness, cfg.brightness)
    if cfg.contrast > 0:
        mean = img.mean()
        img = (img - mean) * (1.0 + rng.uniform(-cfg.contrast, cfg.contrast)) + mean
    img = np.clip(img, 0, 255).astype(np.uint8)
    if cfg.saturation > 0 or cfg.hue > 0:
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV).astype(np.float32)
        if cfg.hue > 0:
            hsv[..., 0] = (hsv[..., 0] + rng.uniform(-cfg.hue, cfg.hue)) % 180.0
        if cfg.saturation > 0:
            hsv[..., 1] *= 1.0 + rng.uniform(-cfg.saturation, cfg.saturation)
        img = cv2.cvtColor(np.clip(hsv, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB)
    if rng.random() < cfg.blur:
        k = int(rng.choice([3, 5]))
        img = cv2.GaussianBlur(img, (k, k), 0)
    if rng.random() < cfg.noise:
        sigma = rng.uniform(2.0, 8.0)
        img = np.clip(img + rng.normal(0.0, sigma, img.shape), 0, 255).astype(np.uint8)
    if rng.random() < cfg.jpeg:
        q = int(rng.integers(30, 90))
        ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok:
            img = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return np.ascontiguousarray(img)


def occlude(image: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator) -> np.ndarray:
    """Paste up to ``cfg.max_occluders`` blanket-like patches (flat colour + stripes) on the image.

    Keypoints under a patch keep their labels: the model must learn to infer occluded joints, as
    annotators of infant videos do.
    """
    if cfg.occlusion <= 0 or rng.random() >= cfg.occlusion:
        return image
    img = image.copy()
    h, w = img.shape[:2]
    for _ in range(int(rng.integers(1, cfg.max_occluders + 1))):
        pw, ph = int(rng.uniform(0.1, 0.35) * w), int(rng.uniform(0.1, 0.35) * h)
        x0, y0 = int(rng.integers(0, max(1, w - pw))), int(rng.integers(0, max(1, h - ph)))
        colour = rng.integers(0, 256, size=3)
        patch = np.empty((ph, pw, 3), np.float32)
        patch[:] = colour
        period = int(rng.integers(4, 16))
        stripes = ((np.arange(pw) // period) % 2).astype(np.float32)[None, :, None]
        patch *= 0.8 + 0.2 * stripes
        img[y0:y0 + ph, x0:x0 + pw] = np.clip(patch, 0, 255).astype(np.uint8)
    return img
