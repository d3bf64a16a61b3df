"""Codecs: how keypoints become a network's training targets, and its outputs keypoints again.

A top-down network sees a crop (the model's input, ``input_size`` = (w, h) pixels) and answers in
one of three ways; each way is one codec, which does both directions, so that training and
inference cannot disagree about coordinates (MMPose's codecs are the model for the idea):

- :class:`HeatmapCodec`: one map per keypoint at ``stride`` (SimpleBaseline, HRNet, ViTPose,
  BlazePose's heatmap head). ``encode`` draws Gaussians at the keypoints
  (:func:`~infantpose.models.heatmaps.gaussian_targets`), ``decode`` finds the peaks with
  sub-pixel refinement (``argmax``, ``wa`` or ``dark``, :mod:`infantpose.models.heatmaps`);
- :class:`SimCCCodec`: two 1-D classifications per keypoint, over x and over y bins of
  ``1 / split_ratio`` input pixels (SimCC, RTMPose). ``encode`` draws 1-D Gaussians, ``decode``
  takes each axis's argmax; the score is the surer axis's lower maximum;
- :class:`RegressionCodec`: the coordinates themselves, in crop pixels (BlazePose's regressed
  landmarks). ``encode`` gives the keypoints with zero weight where they are missing or far
  outside the crop; ``decode`` reads (x, y) and the (activated) score.

Coordinates are continuous crop pixels (the crop spans [0, w] × [0, h]; pixel i covers
[i, i + 1)), as everywhere in infantpose. ``pixel_centers="integer"`` reads outputs of models
trained with MMPose's convention (input pixel i centred on i) instead.

Every codec: ``encode(keypoints (..., K, 2), weights (..., K)) -> (targets, weights)`` and
``decode(outputs) -> (keypoints (..., K, 2), scores (..., K))``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from infantpose.models.heatmaps import decode_heatmaps, gaussian_targets

__all__ = ["HeatmapCodec", "RegressionCodec", "SimCCCodec"]

_CENTRES = ("half", "integer")


def _check_centres(value: str) -> str:
    if value not in _CENTRES:
        raise ValueError(f"pixel_centers must be 'half' or 'integer', not {value!r}")
    return value


def _weights(keypoints: np.ndarray, weights: np.ndarray | None) -> np.ndarray:
    kp = np.asarray(keypoints, dtype=np.float64)
    return np.ones(kp.shape[:-1]) if weights is None else np.asarray(weights, dtype=np.float64)


@dataclass(frozen=True)
class HeatmapCodec:
    """Per-keypoint heatmaps at ``stride`` over an ``input_size`` (w, h) crop.

    Attributes:
        input_size: the network input (w, h) in pixels.
        stride: input pixels per heatmap pixel; None: told by each output's shape (input size
            over heatmap size, per axis).
        sigma: the Gaussian's standard deviation in heatmap pixels (targets, and ``dark``).
        decoder: ``argmax``, ``wa`` or ``dark``.
        activation: how the maps being decoded were activated: ``"none"`` (raw MSE maps, which
            dip below zero and are clipped at 0 first), ``"sigmoid"`` (score = peak) or
            ``"softmax"`` (unit-mass maps: the score is the peak over a sigma Gaussian's,
            ``1 / (2πσ²)``); scores are clipped to [0, 1].
        normalize: targets are unit-mass maps (the Keypoint Cross-Entropy loss's) instead of
            peak-1 Gaussians.
        pixel_centers: ``"half"`` (heatmap pixel j centred on input coordinate (j + 0.5)·s,
            infantpose's) or ``"integer"`` (on j·s + 0.5, MMPose's MSRAHeatmap).
    """

    input_size: tuple[int, int]
    stride: float | None = 4
    sigma: float = 2.0
    decoder: str = "dark"
    activation: str = "sigmoid"
    normalize: bool = False
    pixel_centers: str = "half"

    def __post_init__(self) -> None:
        _check_centres(self.pixel_centers)
        if self.activation not in ("none", "sigmoid", "softmax"):
            raise ValueError(f"activation must be none, sigmoid or softmax, not "
                             f"{self.activation!r}")

    @property
    def heatmap_size(self) -> tuple[int, int]:
        """(H, W) of the heatmaps (needs a ``stride``)."""
        if self.stride is None:
            raise ValueError("a heatmap codec without a stride has no fixed heatmap size")
        return (int(self.input_size[1] // self.stride), int(self.input_size[0] // self.stride))

    def _strides(self, shape: tuple[int, int] | None) -> np.ndarray | float:
        if self.stride is not None:
            return self.stride
        if shape is None:
            raise ValueError("a heatmap codec without a stride needs the heatmaps' shape")
        h, w = shape
        return np.array([self.input_size[0] / w, self.input_size[1] / h])

    def to_heatmap(self, xy: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
        """Crop coordinates → heatmap pixel coordinates."""
        s = self._strides(shape)
        xy = np.asarray(xy, dtype=float)
        return xy / s - 0.5 if self.pixel_centers == "half" else (xy - 0.5) / s

    def to_input(self, uv: np.ndarray, shape: tuple[int, int] | None = None) -> np.ndarray:
        """Heatmap pixel coordinates → crop coordinates."""
        s = self._strides(shape)
        uv = np.asarray(uv, dtype=float)
        return (uv + 0.5) * s if self.pixel_centers == "half" else uv * s + 0.5

    def encode(self, keypoints: np.ndarray, weights: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(..., K, 2) crop keypoints (NaN: missing) and (..., K) weights → target heatmaps
        (..., K, H, W) float32 and weights (..., K) float32 (0 where a keypoint is missing or
        its Gaussian falls outside the map)."""
        uv = self.to_heatmap(keypoints)
        return gaussian_targets(uv, weights, self.heatmap_size, self.sigma,
                                normalize=self.normalize)

    def decode(self, heatmaps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(..., K, H, W) activated heatmaps → crop keypoints (..., K, 2), scores (..., K)."""
        hm = np.maximum(heatmaps, 0) if self.activation == "none" else heatmaps
        uv, peak = decode_heatmaps(hm, self.decoder, sigma=self.sigma)
        xy = self.to_input(uv, tuple(np.shape(heatmaps)[-2:]))
        if self.activation == "softmax":  # a unit-mass map: peak of a sigma Gaussian is 1/(2πσ²)
            score = np.clip(peak * 2 * math.pi * self.sigma ** 2, 0, 1)
        else:
            score = np.clip(peak, 0, 1)
        return xy, score


@dataclass(frozen=True)
class SimCCCodec:
    """Per-keypoint x and y classifications over bins of ``1 / split_ratio`` input pixels.

    Attributes:
        input_size: the network input (w, h) in pixels.
        split_ratio: bins per input pixel; None: told by the outputs (x bins over width).
        sigma: the targets' Gaussian standard deviation in bins.
        pixel_centers: ``"half"`` (bin b centred on (b + 0.5) / split_ratio, infantpose's) or
            ``"integer"`` (on b / split_ratio + 0.5, MMPose's SimCCLabel).
    """

    input_size: tuple[int, int]
    split_ratio: float | None = 2.0
    sigma: float = 6.0
    pixel_centers: str = "half"

    def __post_init__(self) -> None:
        _check_centres(self.pixel_centers)

    def ratio(self, x_bins: int | None = None) -> float:
        """Bins per input pixel (``split_ratio``, else ``x_bins`` over the input width)."""
        if self.split_ratio is not None:
            return float(self.split_ratio)
        if x_bins is None:
            raise ValueError("a SimCC codec without a split_ratio needs the outputs' bins")
        return x_bins / self.input_size[0]

    def bins(self) -> tuple[int, int]:
        """(x bins, y bins)."""
        r = self.ratio()
        return int(round(self.input_size[0] * r)), int(round(self.input_size[1] * r))

    def encode(self, keypoints: np.ndarray, weights: np.ndarray | None = None
               ) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
        """(..., K, 2) crop keypoints and (..., K) weights → ((..., K, Wx), (..., K, Hy)) 1-D
        Gaussian targets (peak 1) and weights (0 where missing or outside the input)."""
        kp = np.asarray(keypoints, dtype=np.float64)
        wts = _weights(kp, weights)
        r = self.ratio()
        off = 0.5 if self.pixel_centers == "half" else 0.0
        shift = 0.0 if self.pixel_centers == "half" else 0.5
        b = (kp - shift) * r - off  # bin coordinates
        nx, ny = self.bins()
        present = np.isfinite(b).all(-1)
        inside = present & (b[..., 0] >= -0.5) & (b[..., 0] <= nx - 0.5) & \
            (b[..., 1] >= -0.5) & (b[..., 1] <= ny - 0.5)
        bx = np.where(inside, b[..., 0], 0.0)[..., None]
        by = np.where(inside, b[..., 1], 0.0)[..., None]
        wts = np.where(inside, wts, 0.0)
        on = (wts > 0)[..., None]
        tx = np.exp(-((np.arange(nx) - bx) ** 2) / (2 * self.sigma ** 2)) * on
        ty = np.exp(-((np.arange(ny) - by) ** 2) / (2 * self.sigma ** 2)) * on
        return (tx.astype(np.float32), ty.astype(np.float32)), wts.astype(np.float32)

    def decode(self, outputs: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """((..., K, Wx), (..., K, Hy)) activated x and y scores → crop keypoints (..., K, 2)
        and scores (..., K): each axis's argmax bin; the smaller of the two maxima (a keypoint
        is only as sure as its less sure axis)."""
        sx, sy = outputs
        ratio = self.ratio(np.shape(sx)[-1])
        ix, iy = np.argmax(sx, axis=-1), np.argmax(sy, axis=-1)
        vx, vy = np.max(sx, axis=-1), np.max(sy, axis=-1)
        off = 0.5 if self.pixel_centers == "half" else 0.0
        x = (ix + off) / ratio
        y = (iy + off) / ratio
        if self.pixel_centers == "integer":
            x, y = x + 0.5, y + 0.5
        return np.stack([x, y], -1), np.clip(np.minimum(vx, vy), 0, 1)


@dataclass(frozen=True)
class RegressionCodec:
    """Keypoints regressed as crop-pixel coordinates (with a score per keypoint).

    Attributes:
        input_size: the network input (w, h) in pixels.
        reach: a keypoint farther than ``reach`` × the crop size from the crop's centre (per
            axis) gets weight 0 in training (its regressed position would be a guess).
    """

    input_size: tuple[int, int]
    reach: float = 1.0

    def encode(self, keypoints: np.ndarray, weights: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """(..., K, 2) crop keypoints and (..., K) weights → targets (..., K, 2) float32 (0
        where the weight is 0) and weights (..., K) float32 (0 where a keypoint is missing or
        more than ``reach`` crops from the centre)."""
        xy = np.asarray(keypoints, dtype=np.float64)
        wts = _weights(xy, weights)
        size = np.array(self.input_size, dtype=float)
        ok = np.isfinite(xy).all(-1) & (np.abs(xy - size / 2) < self.reach * size).all(-1)
        w = np.where(ok, wts, 0.0).astype(np.float32)
        return np.where(ok[..., None], xy, 0.0).astype(np.float32), w

    def decode(self, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(..., K, 3) regressed (x, y, activated score) → crop keypoints (..., K, 2) and
        scores (..., K)."""
        out = np.asarray(outputs)
        return out[..., :2], out[..., 2]
