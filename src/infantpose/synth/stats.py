"""Measurable statistics of labelled infant images, to compare renders with real photos.

The synthetic generator is only useful if its images look, to a pose network, like the real
photos it will meet. These functions reduce one labelled image (COCO-17 keypoints with
visibility, the RGB image) to numbers that can be compared between renders and real photos
without looking at either by eye: 2D limb-length ratios (normalised by the torso), 2D joint
angles, the orientation of the body in the image, how much of the image the infant fills, how
many keypoints are labelled/visible, and colour, brightness, saturation and sharpness.

Everything is measured in the image plane, because real photos only have 2D labels. The
benchmark ``benchmarks/synth_vs_real.py`` prints the comparison; the tests use the same
functions to check that the default training style stays close to the real-photo numbers.
"""

from __future__ import annotations

import cv2
import numpy as np

from infantpose.geometry import tight_box

__all__ = [
    "ANGLE_STATS",
    "IMAGE_STATS",
    "LENGTH_STATS",
    "POSE_STATS",
    "image_statistics",
    "ks_distance",
    "merge",
    "pose_statistics",
    "summarise",
]

# COCO-17 indices.
NOSE, LEYE, REYE, LEAR, REAR = 0, 1, 2, 3, 4
LSH, RSH, LEL, REL, LWR, RWR = 5, 6, 7, 8, 9, 10
LHIP, RHIP, LKN, RKN, LAN, RAN = 11, 12, 13, 14, 15, 16

# Limb lengths / torso length (torso = mid-shoulder to mid-hip), pooled over both sides.
LENGTH_STATS = ("upper_arm", "forearm", "thigh", "shank", "shoulder_width", "hip_width",
                "eye_dist", "ear_dist")
# Interior 2D joint angles in degrees (180 = straight), pooled over both sides.
ANGLE_STATS = ("elbow", "knee", "hip", "shoulder")
POSE_STATS = LENGTH_STATS + ANGLE_STATS + (
    "orientation", "abs_orientation", "box_fraction", "box_side", "box_aspect", "labelled",
    "visible")
IMAGE_STATS = ("brightness", "contrast", "saturation", "red_blue", "body_brightness",
               "body_saturation", "sharpness")

_SEGMENTS = {
    "upper_arm": ((LSH, LEL), (RSH, REL)), "forearm": ((LEL, LWR), (REL, RWR)),
    "thigh": ((LHIP, LKN), (RHIP, RKN)), "shank": ((LKN, LAN), (RKN, RAN)),
    "shoulder_width": ((LSH, RSH),), "hip_width": ((LHIP, RHIP),),
    "eye_dist": ((LEYE, REYE),), "ear_dist": ((LEAR, REAR),),
}
_ANGLES = {
    "elbow": ((LSH, LEL, LWR), (RSH, REL, RWR)), "knee": ((LHIP, LKN, LAN), (RHIP, RKN, RAN)),
    "hip": ((LSH, LHIP, LKN), (RSH, RHIP, RKN)), "shoulder": ((LHIP, LSH, LEL), (RHIP, RSH, REL)),
}


def _angle(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> float:
    """Interior angle at ``b`` (degrees) of the 2D points a-b-c; NaN for a degenerate one."""
    u, v = a - b, c - b
    nu, nv = np.linalg.norm(u), np.linalg.norm(v)
    if nu < 1e-6 or nv < 1e-6:
        return float("nan")
    return float(np.degrees(np.arccos(np.clip(u @ v / (nu * nv), -1.0, 1.0))))


def pose_statistics(kps: np.ndarray, vis: np.ndarray, image_size: tuple[int, int]
                    ) -> dict[str, list[float]]:
    """Pose and framing numbers of one labelled person.

    ``kps`` (17, 2) pixel coordinates in COCO-17 order, ``vis`` (17,) COCO visibility (0 = not
    labelled), ``image_size`` (width, height). Returns lists (a limb contributes one value per
    side with both ends labelled; empty when not measurable):

    * lengths (:data:`LENGTH_STATS`) divided by the torso (mid-shoulder to mid-hip);
    * interior angles (:data:`ANGLE_STATS`) in degrees, hip = shoulder-hip-knee and
      shoulder = hip-shoulder-elbow;
    * ``orientation``: angle of the hip→shoulder axis in the image, degrees in (-180, 180],
      0 = head up, 90 = head to the right; ``abs_orientation`` its absolute value;
    * ``box_fraction``: area of the labelled keypoints' box over the image area; ``box_side``
      its longer side over the image's shorter side; ``box_aspect`` its long/short side ratio;
    * ``labelled`` and ``visible``: fraction of the 17 keypoints with v > 0 and v = 2.
    """
    p = np.asarray(kps, float)[:, :2]
    v = np.asarray(vis)
    lab = (v > 0) & np.isfinite(p).all(axis=1)
    out: dict[str, list[float]] = {k: [] for k in POSE_STATS}
    out["labelled"].append(float(lab.mean()))
    out["visible"].append(float((v == 2).mean()))
    w, h = image_size
    if lab.sum() >= 2:
        q = p[lab]
        bw, bh = np.ptp(q[:, 0]), np.ptp(q[:, 1])
        out["box_fraction"].append(float(bw * bh / (w * h)))
        out["box_side"].append(float(max(bw, bh) / min(w, h)))
        if min(bw, bh) > 0:
            out["box_aspect"].append(float(max(bw, bh) / min(bw, bh)))
    if not lab[[LSH, RSH, LHIP, RHIP]].all():
        return out
    sh, hp = (p[LSH] + p[RSH]) / 2, (p[LHIP] + p[RHIP]) / 2
    axis = sh - hp
    torso = float(np.linalg.norm(axis))
    if torso < 1e-6:
        return out
    # Image y points down: "head up" is -y; positive angles turn towards +x (the right).
    ori = float(np.degrees(np.arctan2(axis[0], -axis[1])))
    out["orientation"].append(ori)
    out["abs_orientation"].append(abs(ori))
    for name, segs in _SEGMENTS.items():
        for a, b in segs:
            if lab[a] and lab[b]:
                out[name].append(float(np.linalg.norm(p[a] - p[b]) / torso))
    for name, triples in _ANGLES.items():
        for a, b, c in triples:
            if lab[a] and lab[b] and lab[c]:
                val = _angle(p[a], p[b], p[c])
                if np.isfinite(val):
                    out[name].append(val)
    return out


def image_statistics(image: np.ndarray, kps: np.ndarray, vis: np.ndarray
                     ) -> dict[str, list[float]]:
    """Colour and sharpness numbers of one image (RGB uint8) around its labelled person.

    Whole-image statistics are taken at 320 pixels on the long side (so photo resolution does not
    matter): mean ``brightness`` (luma, 0–1), ``contrast`` (luma standard deviation),
    ``saturation`` (mean HSV saturation, 0–1) and ``red_blue`` (mean R − B, warm > 0).
    ``body_brightness``/``body_saturation`` are the same inside the keypoints' box; ``sharpness``
    is the variance of the Laplacian of the luma of the person crop (box + 15 % margin) resized to
    256 pixels on its long side — the resolution a top-down pose network sees — so it measures
    blur in the crop the model is trained on, not the photo's pixel count.
    """
    img = np.asarray(image)
    h, w = img.shape[:2]
    out: dict[str, list[float]] = {k: [] for k in IMAGE_STATS}
    s = 320 / max(h, w)
    small = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))),
                       interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    luma = small @ np.array([0.299, 0.587, 0.114], np.float32)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV)
    out["brightness"].append(float(luma.mean()))
    out["contrast"].append(float(luma.std()))
    out["saturation"].append(float(hsv[..., 1].mean()))
    out["red_blue"].append(float((small[..., 0] - small[..., 2]).mean()))
    box = tight_box(np.asarray(kps, float)[:, :2], np.asarray(vis) > 0, min_points=2)
    if box is None:
        return out
    x0, y0, x1, y1 = box
    bx0, by0 = int(max(0, x0 * s)), int(max(0, y0 * s))
    bx1, by1 = int(min(small.shape[1], np.ceil(x1 * s) + 1)), int(min(small.shape[0],
                                                                       np.ceil(y1 * s) + 1))
    if bx1 > bx0 and by1 > by0:
        out["body_brightness"].append(float(luma[by0:by1, bx0:bx1].mean()))
        out["body_saturation"].append(float(hsv[by0:by1, bx0:bx1, 1].mean()))
    m = 0.15 * max(x1 - x0, y1 - y0)
    cx0, cy0 = int(max(0, x0 - m)), int(max(0, y0 - m))
    cx1, cy1 = int(min(w, x1 + m + 1)), int(min(h, y1 + m + 1))
    if cx1 - cx0 < 8 or cy1 - cy0 < 8:
        return out
    crop = img[cy0:cy1, cx0:cx1]
    cs = 256 / max(crop.shape[:2])
    crop = cv2.resize(crop, (max(1, round(crop.shape[1] * cs)), max(1, round(crop.shape[0] * cs))),
                      interpolation=cv2.INTER_AREA if cs < 1 else cv2.INTER_LINEAR)
    g = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    out["sharpness"].append(float(cv2.Laplacian(g, cv2.CV_32F).var()))
    return out


def merge(into: dict[str, list[float]], new: dict[str, list[float]]) -> None:
    """Append the lists of ``new`` to those of ``into`` (per statistic)."""
    for k, vals in new.items():
        into.setdefault(k, []).extend(vals)


def summarise(values: list[float] | np.ndarray) -> tuple[float, float, float, int]:
    """(25th percentile, median, 75th percentile, count) of the finite values (NaN if none)."""
    a = np.asarray(values, float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return float("nan"), float("nan"), float("nan"), 0
    q = np.percentile(a, [25, 50, 75])
    return float(q[0]), float(q[1]), float(q[2]), int(a.size)


def ks_distance(a: list[float] | np.ndarray, b: list[float] | np.ndarray) -> float:
    """Two-sample Kolmogorov–Smirnov distance (largest gap between the two empirical CDFs):
    0 = same distribution, 1 = no overlap. NaN when either sample is empty."""
    x = np.sort(np.asarray(a, float)[np.isfinite(np.asarray(a, float))])
    y = np.sort(np.asarray(b, float)[np.isfinite(np.asarray(b, float))])
    if x.size == 0 or y.size == 0:
        return float("nan")
    grid = np.concatenate([x, y])
    cx = np.searchsorted(x, grid, side="right") / x.size
    cy = np.searchsorted(y, grid, side="right") / y.size
    return float(np.max(np.abs(cx - cy)))
