"""Exact 2D labels from the 3D body: projection, COCO visibility and person boxes.

Visibility follows COCO: 2 = in the frame and visible, 1 = in the frame but hidden (behind another
body part, turned away, or under a blanket or toy), 0 = outside the frame (not labelled). A
keypoint is visible when the front-most surface at its pixel belongs to a body part that can
show it and lies within that part's depth tolerance in front of it (see
:data:`~infantpose.synth.body.KEYPOINT_PARTS`).
"""

from __future__ import annotations

import numpy as np

from infantpose.synth.body import KEYPOINT_PARTS, PART_ID, Body
from infantpose.synth.camera import Camera
from infantpose.synth.render import RayBuffers

__all__ = ["mask_box", "project_keypoints", "visibility"]


def project_keypoints(body: Body, names: tuple[str, ...] | list[str], cam: Camera
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(K, 2) pixel coordinates (pixel centres at +0.5) and (K,) depths of the named keypoints."""
    return cam.project(body.keypoint_array(names))


def visibility(uv: np.ndarray, depth: np.ndarray, names: tuple[str, ...] | list[str],
               buf: RayBuffers, scale: float) -> np.ndarray:
    """(K,) COCO visibility codes of projected keypoints against the ray-cast buffers.

    ``scale`` multiplies the per-keypoint depth tolerances (the body's size × chubbiness).
    """
    H, W = buf.depth.shape
    out = np.zeros(len(names), dtype=int)
    for k, name in enumerate(names):
        x, y = uv[k]
        if not (np.isfinite(x) and np.isfinite(y)) or depth[k] <= 0:
            continue
        if not (0 <= x < W and 0 <= y < H):
            continue
        px, py = int(x), int(y)
        parts, tol = KEYPOINT_PARTS[name]
        front = buf.part[py, px]
        ok = front in {PART_ID[p] for p in parts} and buf.depth[py, px] >= depth[k] - tol * scale
        out[k] = 2 if ok else 1
    return out


def mask_box(mask: np.ndarray) -> np.ndarray:
    """Tight (x, y, width, height) box of a boolean mask, NaN if empty."""
    ys = np.flatnonzero(mask.any(axis=1))
    xs = np.flatnonzero(mask.any(axis=0))
    if len(xs) == 0:
        return np.full(4, np.nan)
    return np.array([xs[0], ys[0], xs[-1] + 1 - xs[0], ys[-1] + 1 - ys[0]], dtype=float)
