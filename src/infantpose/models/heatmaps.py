"""Heatmap targets and decoders for heatmap-regression pose networks.

Coordinate convention (shared by targets, decoders and :mod:`infantpose.models.topdown`):
a heatmap of size (H, W) covering a network input of size (H·s, W·s) maps input coordinate
``x_in`` to heatmap coordinate ``u = x_in / s``; heatmap pixel ``(row j, col i)`` sits at
``(u, v) = (i, j)``. This is the SimpleBaseline convention and the one MediaPipe uses when it
refines BlazePose landmarks from its 64×64 heatmap.

In infantpose's continuous pixel coordinates (an image spans [0, W] × [0, H]; pixel i covers
[i, i+1)) a heatmap of stride ``s`` has pixel ``j`` centred on input coordinate ``(j + 0.5)·s``:
:func:`input_to_heatmap` / :func:`heatmap_to_input` convert, and training targets and inference
(:mod:`infantpose.models.topdown`) must both use them. With this convention a horizontal flip of
the crop is exactly a flip of the heatmap array.

Decoders (all take ``(..., K, H, W)`` arrays, numpy or torch, and return coordinates
``(..., K, 2)`` in heatmap units plus the peak value ``(..., K)``):

- ``argmax``: the hottest pixel moved a quarter pixel toward its hotter neighbour (Newell et al.,
  2016; the usual SimpleBaseline post-processing).
- ``wa``: weighted average of pixel positions in a window around the peak, weights = heatmap
  values above the window's edge level. Paired with the Keypoint Cross-Entropy loss in the
  infant-22 paper (seed ``004_``), where WA decoding beat argmax.
- ``dark``: Distribution-Aware coordinate Representation of Keypoints (Zhang et al., CVPR 2020):
  blur the heatmap with the target's Gaussian, take its log, and move from the peak by one
  Newton step ``-H⁻¹∇`` of the second-order Taylor expansion; exact for a Gaussian peak.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

__all__ = [
    "DECODERS",
    "decode_argmax",
    "decode_dark",
    "decode_heatmaps",
    "decode_wa",
    "gaussian_targets",
    "heatmap_to_input",
    "input_to_heatmap",
]


def input_to_heatmap(xy: np.ndarray, stride: float) -> np.ndarray:
    """Continuous input-crop coordinates → heatmap pixel coordinates (for training targets)."""
    return np.asarray(xy, dtype=float) / stride - 0.5


def heatmap_to_input(uv: np.ndarray, stride: float) -> np.ndarray:
    """Heatmap pixel coordinates → continuous input-crop coordinates."""
    return (np.asarray(uv, dtype=float) + 0.5) * stride


def _np(a: Any) -> np.ndarray:
    if hasattr(a, "detach"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def gaussian_targets(keypoints: np.ndarray, weights: np.ndarray | None, size: tuple[int, int],
                     sigma: float = 2.0, normalize: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian target heatmaps centred at sub-pixel keypoint positions.

    Args:
        keypoints: (..., K, 2) (u, v) positions in heatmap units (NaN = missing).
        weights: (..., K) per-keypoint weights (e.g. visibility > 0, or a 0/1 label mask);
            None means 1 for every present keypoint.
        size: heatmap (H, W).
        sigma: Gaussian standard deviation in heatmap pixels.
        normalize: divide each map by its sum (a probability map, the KCE target); otherwise
            the peak value is exp(0) = 1 at the exact centre.

    Returns:
        ``(targets (..., K, H, W) float32, weights (..., K) float32)``; weights are 0 where the
        keypoint is missing or its Gaussian falls outside the heatmap (beyond 3 sigma), and its
        target is all zero.
    """
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.shape[-1] != 2:
        raise ValueError(f"keypoints must have shape (..., K, 2), got {kp.shape}")
    h, w = int(size[0]), int(size[1])
    wts = np.ones(kp.shape[:-1]) if weights is None else np.asarray(weights, dtype=np.float64)
    if wts.shape != kp.shape[:-1]:
        raise ValueError(f"weights shape {wts.shape} does not match keypoints {kp.shape[:-1]}")
    u, v = kp[..., 0], kp[..., 1]
    present = np.isfinite(u) & np.isfinite(v)
    r = 3.0 * sigma
    inside = present & (u > -r) & (u < w - 1 + r) & (v > -r) & (v < h - 1 + r)
    uu = np.where(inside, u, 0.0)[..., None]
    vv = np.where(inside, v, 0.0)[..., None]
    gx = np.exp(-((np.arange(w) - uu) ** 2) / (2 * sigma**2))  # (..., K, W)
    gy = np.exp(-((np.arange(h) - vv) ** 2) / (2 * sigma**2))  # (..., K, H)
    t = gy[..., :, None] * gx[..., None, :]
    wts = np.where(inside, wts, 0.0)
    t *= (wts > 0)[..., None, None]
    if normalize:
        s = t.sum(axis=(-1, -2), keepdims=True)
        t = np.divide(t, s, out=np.zeros_like(t), where=s > 0)
    return t.astype(np.float32), wts.astype(np.float32)


def _peaks(hm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Integer argmax (row, col) and peak value of each (H, W) map of a (M, H, W) array."""
    m, _, w = hm.shape
    flat = hm.reshape(m, -1)
    idx = np.argmax(np.where(np.isnan(flat), -np.inf, flat), axis=1)
    return idx // w, idx % w, flat[np.arange(m), idx]


def decode_argmax(heatmaps: Any, quarter: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Argmax with the optional quarter-pixel shift toward the higher neighbour."""
    hm = _np(heatmaps)
    lead, (h, w) = hm.shape[:-2], hm.shape[-2:]
    flat = hm.reshape(-1, h, w)
    rows, cols, vals = _peaks(flat)
    x, y = cols.astype(float), rows.astype(float)
    if quarter:
        m = np.arange(len(flat))
        right = flat[m, rows, np.minimum(cols + 1, w - 1)]
        left = flat[m, rows, np.maximum(cols - 1, 0)]
        down = flat[m, np.minimum(rows + 1, h - 1), cols]
        up = flat[m, np.maximum(rows - 1, 0), cols]
        x += 0.25 * np.sign(right - left) * ((cols > 0) & (cols < w - 1))
        y += 0.25 * np.sign(down - up) * ((rows > 0) & (rows < h - 1))
    return np.stack([x, y], -1).reshape(*lead, 2), vals.reshape(lead)


def decode_wa(heatmaps: Any, radius: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Weighted average of positions in a (2r+1)² window around the peak (seed ``004_``).

    The weights are the heatmap values minus the largest value on the window's border (clipped
    at 0), which removes the background level and the truncation bias of a plain windowed mean.
    Works on raw heatmaps, probability maps (KCE) and logits alike only if they are monotone
    in confidence; apply ``sigmoid``/``softmax`` first for logits when the background is negative.
    """
    hm = _np(heatmaps)
    lead, (h, w) = hm.shape[:-2], hm.shape[-2:]
    flat = hm.reshape(-1, h, w)
    rows, cols, vals = _peaks(flat)
    pad = np.pad(flat, ((0, 0), (radius, radius), (radius, radius)), mode="constant",
                 constant_values=np.nan)
    d = np.arange(-radius, radius + 1)
    m = np.arange(len(flat))[:, None, None]
    win = pad[m, (rows[:, None, None] + radius + d[None, :, None]),
              (cols[:, None, None] + radius + d[None, None, :])]  # (M, 2r+1, 2r+1)
    border = np.concatenate([win[:, 0, :], win[:, -1, :], win[:, :, 0], win[:, :, -1]], axis=1)
    with np.errstate(all="ignore"):
        edge = np.nanmax(border, axis=1)
    edge = np.where(np.isfinite(edge), edge, np.nanmin(np.where(np.isnan(win), np.inf, win),
                                                         axis=(1, 2)))
    wts = np.clip(np.nan_to_num(win, nan=-np.inf) - edge[:, None, None], 0, None)
    s = wts.sum(axis=(1, 2))
    ok = s > 0
    ssafe = np.where(ok, s, 1.0)
    dx = (wts * d[None, None, :]).sum(axis=(1, 2)) / ssafe
    dy = (wts * d[None, :, None]).sum(axis=(1, 2)) / ssafe
    x = cols + np.where(ok, dx, 0.0)
    y = rows + np.where(ok, dy, 0.0)
    return np.stack([x, y], -1).reshape(*lead, 2), vals.reshape(lead)


def decode_dark(heatmaps: Any, sigma: float = 2.0, blur: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """DARK decoding (Zhang et al., 2020): Gaussian modulation, log, one Newton step.

    ``sigma`` should match the training target's sigma (it sets the blur kernel). Peaks on the
    border or with a non-concave neighbourhood fall back to the quarter-offset argmax.
    """
    hm = _np(heatmaps)
    lead, (h, w) = hm.shape[:-2], hm.shape[-2:]
    flat = hm.reshape(-1, h, w).copy()
    rows, cols, vals = _peaks(flat)
    if blur:
        k = int(2 * round(3 * sigma) + 1)
        for i in range(len(flat)):
            peak = flat[i].max()
            b = cv2.GaussianBlur(flat[i], (k, k), sigma)
            bmax = b.max()
            flat[i] = b * (peak / bmax) if bmax > 0 and peak > 0 else b
    logh = np.log(np.maximum(flat, 1e-10))
    fb_xy, _ = decode_argmax(flat, quarter=True)
    x = fb_xy[:, 0].copy()
    y = fb_xy[:, 1].copy()
    inner = (rows >= 1) & (rows <= h - 2) & (cols >= 1) & (cols <= w - 2)
    m = np.arange(len(flat))[inner]
    r, c = rows[inner], cols[inner]
    L = logh
    dx = 0.5 * (L[m, r, c + 1] - L[m, r, c - 1])
    dy = 0.5 * (L[m, r + 1, c] - L[m, r - 1, c])
    dxx = L[m, r, c + 1] - 2 * L[m, r, c] + L[m, r, c - 1]
    dyy = L[m, r + 1, c] - 2 * L[m, r, c] + L[m, r - 1, c]
    dxy = 0.25 * (L[m, r + 1, c + 1] - L[m, r + 1, c - 1] - L[m, r - 1, c + 1] + L[m, r - 1, c - 1])
    det = dxx * dyy - dxy**2
    good = (det > 1e-12) & (dxx < 0)
    detsafe = np.where(good, det, 1.0)
    ox = -(dyy * dx - dxy * dy) / detsafe
    oy = -(dxx * dy - dxy * dx) / detsafe
    good &= (np.abs(ox) <= 1.0) & (np.abs(oy) <= 1.0)
    x[m[good]] = c[good] + ox[good]
    y[m[good]] = r[good] + oy[good]
    return np.stack([x, y], -1).reshape(*lead, 2), vals.reshape(lead)


DECODERS = {"argmax": decode_argmax, "wa": decode_wa, "dark": decode_dark}


def decode_heatmaps(heatmaps: Any, method: str = "dark", sigma: float = 2.0,
                    **kw: Any) -> tuple[np.ndarray, np.ndarray]:
    """Decode with ``method`` in ``argmax``, ``wa``/``weighted-average``, ``dark``."""
    key = method.lower().replace("-", "_")
    if key in ("weighted_average", "weighted"):
        key = "wa"
    if key == "dark":
        return decode_dark(heatmaps, sigma=sigma, **kw)
    if key not in DECODERS:
        raise ValueError(f"unknown heatmap decoder {method!r}; choose argmax, wa or dark")
    return DECODERS[key](heatmaps, **kw)
