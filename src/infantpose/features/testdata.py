"""Known-answer trajectories for testing and benchmarking the features: a 2-D stick infant driven
by joint angles, placed in the image by any per-frame similarity transform.

Body coordinates are those of :mod:`.normalise` (pelvis at the origin, shoulder centre at (0, 1),
the infant's left at +x). Angles use the definitions of :mod:`.angles`, so a series generated here
comes back out of the feature pipeline unchanged.
"""

from __future__ import annotations

import numpy as np

from infantpose.poses import Poses
from infantpose.schemas import get_schema

__all__ = ["limb_points", "skeleton", "to_poses"]

UPPER_ARM, FOREARM, THIGH, SHANK = 0.45, 0.4, 0.5, 0.45


def limb_points(root: np.ndarray, ref_dir: np.ndarray, proximal_deg: np.ndarray,
                distal_deg: np.ndarray, l1: float, l2: float) -> tuple[np.ndarray, np.ndarray]:
    """Right-side limb (x to the infant's left is +): middle joint and end, (T, 2) each.

    ``proximal_deg`` is the signed angle from ``ref_dir`` to the first segment (counter-clockwise);
    ``distal_deg`` the interior angle (0-180) at the middle joint.
    """
    base = np.arctan2(ref_dir[1], ref_dir[0])
    a1 = base + np.radians(proximal_deg)
    mid = root + l1 * np.stack([np.cos(a1), np.sin(a1)], -1)
    back = a1 + np.pi                       # direction from the middle joint back to the root
    a2 = back + np.radians(distal_deg)      # interior angle measured from the back direction
    end = mid + l2 * np.stack([np.cos(a2), np.sin(a2)], -1)
    return mid, end


def skeleton(angles: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Body-coordinate (T, 2) positions of the 12 body keypoints from per-side joint angles.

    ``angles`` holds ``{side}_{shoulder|elbow|hip|knee}`` in degrees (see :mod:`.angles`).
    The left side is built as the mirror image of a right side with the left's angles.
    """
    t = len(next(iter(angles.values())))
    out: dict[str, np.ndarray] = {}
    for side, sx in (("right", -1.0), ("left", 1.0)):
        sh = np.tile([-0.4, 1.0], (t, 1))
        hip = np.tile([-0.25, 0.0], (t, 1))
        el, wr = limb_points(sh, np.array([1.0, 0.0]), angles[f"{side}_shoulder"],
                             angles[f"{side}_elbow"], UPPER_ARM, FOREARM)
        kn, an = limb_points(hip, np.array([1.0, 0.0]), angles[f"{side}_hip"],
                             angles[f"{side}_knee"], THIGH, SHANK)
        for name, p in (("shoulder", sh), ("elbow", el), ("wrist", wr), ("hip", hip),
                        ("knee", kn), ("ankle", an)):
            q = p.copy()
            if sx > 0:
                q[:, 0] = -q[:, 0]
            out[f"{side}_{name}"] = q
    return out


def to_poses(points: dict[str, np.ndarray], fps: float, schema: str = "coco17",
             rotation_deg: np.ndarray | float = 0.0, scale: np.ndarray | float = 100.0,
             shift: np.ndarray | tuple[float, float] = (320.0, 240.0), score: float = 0.9,
             frame_indices: np.ndarray | None = None, source: str | None = None) -> Poses:
    """A one-instance Poses with the body points mapped to the image by a similarity transform
    per frame (rotation, scale, shift may be scalars or per-frame arrays); other keypoints are
    missing. Image y points down, so body +y (towards the head) maps to image -y before rotating.
    """
    s = get_schema(schema)
    t = len(next(iter(points.values())))
    rot = np.radians(np.broadcast_to(np.asarray(rotation_deg, float), (t,)))
    sc = np.broadcast_to(np.asarray(scale, float), (t,))
    sh = np.broadcast_to(np.asarray(shift, float), (t, 2))
    data = np.full((t, 1, s.num_keypoints, 3), np.nan)
    data[..., 2] = 0.0
    c, si = np.cos(rot), np.sin(rot)
    for name, p in points.items():
        x, y = p[:, 0], -p[:, 1]
        xi = sh[:, 0] + sc * (c * x - si * y)
        yi = sh[:, 1] + sc * (si * x + c * y)
        k = s.index(name)
        data[:, 0, k, 0], data[:, 0, k, 1], data[:, 0, k, 2] = xi, yi, score
    return Poses(data, s, source=source, fps=float(fps), frame_indices=frame_indices)
