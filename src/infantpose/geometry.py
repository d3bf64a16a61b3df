"""Image geometry shared by the models, training, video and drawing: quarter-turn rotations,
boxes around keypoints, and the affine crops a top-down model sees.

Pure NumPy (OpenCV only inside :func:`crop_image`), so that every layer can use it. Coordinates
are continuous pixels: an image of size (w, h) spans [0, w] × [0, h] and pixel i covers [i, i+1).
Boxes are (x1, y1, x2, y2) unless a name says ``xywh``. Rotations are counter-clockwise quarter
turns as :func:`numpy.rot90` makes them; affines are 2×3 matrices mapping image coordinates to
crop coordinates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from infantpose.schemas import COCO17, Schema

__all__ = [
    "Roi",
    "apply_affine",
    "body_roi",
    "body_size",
    "box_transform",
    "clip_box",
    "crop_image",
    "crop_region",
    "grow_box",
    "invert_affine",
    "keypoint_xywh",
    "lean_degrees",
    "pad_box",
    "padded_keypoint_box",
    "quarter_turn_roi",
    "quarter_turns",
    "roi_transform",
    "rotate_image",
    "rotate_points",
    "tight_box",
    "torso_up",
    "to_3x3",
    "unrotate_points",
    "upright_crop_transform",
    "upright_turn",
    "xywh_to_xyxy",
    "xyxy_to_xywh",
]


# --- quarter-turn rotations -----------------------------------------------------------------------

def quarter_turns(degrees: int) -> int:
    """Number of counter-clockwise quarter turns (0-3) in ``degrees``; ValueError unless a
    multiple of 90."""
    d = int(degrees) % 360
    if d % 90:
        raise ValueError(f"rotation must be a multiple of 90 degrees, got {degrees}")
    return d // 90


def rotate_image(image: np.ndarray, degrees: int) -> np.ndarray:
    """The image rotated counter-clockwise by 0/90/180/270 degrees (contiguous copy; the image
    itself for 0)."""
    k = quarter_turns(degrees)
    return np.ascontiguousarray(np.rot90(image, k)) if k else image


def rotate_points(xy: np.ndarray, degrees: int, size: tuple[int, int]) -> np.ndarray:
    """Map (..., 2) points of an image of ``size`` (w, h) into that image rotated by ``degrees``
    (as :func:`rotate_image` rotates it)."""
    k = quarter_turns(degrees)
    w, h = size
    x, y = xy[..., 0], xy[..., 1]
    if k == 0:
        out = (x, y)
    elif k == 1:
        out = (y, w - x)
    elif k == 2:
        out = (w - x, h - y)
    else:
        out = (h - y, x)
    return np.stack(out, axis=-1)


def unrotate_points(xy: np.ndarray, degrees: int, size: tuple[int, int]) -> np.ndarray:
    """Inverse of :func:`rotate_points`: (..., 2) points of the rotated image back into the
    original, whose size (w, h) is ``size`` (detections on a turned frame → frame pixels)."""
    w, h = size
    # turning back is turning the other way, in the rotated image (sides swapped by odd turns)
    return rotate_points(xy, -degrees, (h, w) if quarter_turns(degrees) % 2 else (w, h))


def upright_turn(up: Sequence[float]) -> int:
    """The counter-clockwise quarter turn (0/90/180/270) that best makes direction ``up`` point
    up, in the sense of :func:`box_transform`'s ``rotation``."""
    u = np.asarray(up, dtype=float)
    rot = np.array([[0.0, 1.0], [-1.0, 0.0]])
    scores = [(np.linalg.matrix_power(rot, k) @ u)[1] * -1 for k in range(4)]
    return 90 * int(np.argmax(scores))


@dataclass(frozen=True)
class Roi:
    """A rotated rectangle of an image in pixels: MediaPipe's ``NormalizedRect`` without the
    normalisation.

    ``rotation`` is in radians, in MediaPipe's sense: the landmark model sees the content of the
    rectangle turned so that the rectangle's rotated "up" points up. A quarter turn of
    :func:`quarter_turn_roi` shows the region as :func:`rotate_image` would.
    """

    cx: float
    cy: float
    width: float
    height: float
    rotation: float = 0.0

    def quarter_turn(self) -> int:
        """The quarter turn (0/90/180/270, counter-clockwise like :func:`rotate_image`) nearest
        to this rectangle's rotation: the orientation in which the pose stood upright."""
        return int(round(self.rotation / (np.pi / 2))) % 4 * 90


def quarter_turn_roi(region: Sequence[float], degrees: int, scale: float = 1.0) -> Roi:
    """The square around ``region`` (x1, y1, x2, y2), its longer side × ``scale``, shown to the
    model turned counter-clockwise by ``degrees`` (as :func:`rotate_image` turns an image).

    A square needs no care about which side is long after the turn; the landmark model's input
    is square, and parts outside the image are padded by MediaPipe.
    """
    x1, y1, x2, y2 = (float(v) for v in region)
    side = max(x2 - x1, y2 - y1, 1.0) * float(scale)
    # MediaPipe shows the crop turned counter-clockwise by ``rotation`` (checked on a real
    # photo: a photo turned 90 degrees clockwise stands upright again at +pi/2)
    return Roi((x1 + x2) / 2, (y1 + y2) / 2, side, side,
               quarter_turns(degrees) * np.pi / 2)


# --- boxes ----------------------------------------------------------------------------------------

def tight_box(xy: np.ndarray, mask: np.ndarray | None = None, min_points: int = 1
              ) -> np.ndarray | None:
    """The smallest box (x1, y1, x2, y2) holding the finite points of ``xy`` (N, 2) that
    ``mask`` keeps (all when None); None when fewer than ``min_points`` (at least one) remain.

    For an instance (K, 3) pass ``inst[:, :2]`` and, to keep only confident keypoints,
    ``inst[:, 2] >= min_score``.
    """
    pts = np.asarray(xy, dtype=float)
    ok = np.isfinite(pts).all(axis=-1)
    if mask is not None:
        ok &= np.asarray(mask, dtype=bool)
    if ok.sum() < max(int(min_points), 1):
        return None
    sel = pts[ok]
    return np.concatenate([sel.min(axis=0), sel.max(axis=0)])


def body_size(xy: np.ndarray) -> float | np.ndarray:
    """The body size in pixels: the diagonal of the box around the points of ``xy`` whose x and
    y are both finite; NaN when fewer than two are.

    ``xy`` is (K, 2) for one pose (returns a float) or (..., K, 2) for many (returns an array
    of shape ``xy.shape[:-2]``, one size per pose). The one body-size measure of the package:
    mirror-test agreement, pseudo-label agreement and the speed bounds of the outlier filter all
    state their tolerances as fractions of it, so they do not depend on camera distance.
    """
    pts = np.asarray(xy, dtype=float)
    ok = np.isfinite(pts).all(axis=-1)
    lo = np.where(ok[..., None], pts, np.inf).min(axis=-2)
    hi = np.where(ok[..., None], pts, -np.inf).max(axis=-2)
    with np.errstate(invalid="ignore"):
        size = np.hypot(*np.moveaxis(hi - lo, -1, 0))
    size = np.where(ok.sum(axis=-1) >= 2, size, np.nan)
    return float(size) if pts.ndim == 2 else size


def keypoint_xywh(keypoints: np.ndarray) -> tuple[float, float, float, float] | None:
    """(x, y, width, height) tightly around the present keypoints of one (K, 3) instance, or
    None if none is present: a drawn box, or a COCO result's ``bbox``."""
    box = tight_box(np.asarray(keypoints, dtype=float)[:, :2])
    if box is None:
        return None
    x0, y0, x1, y1 = (float(v) for v in box)
    return x0, y0, x1 - x0, y1 - y0


def pad_box(box: np.ndarray, pad: float | np.ndarray) -> np.ndarray:
    """``box`` grown by ``pad`` pixels on every side (a scalar, or (px, py) per axis)."""
    b = np.asarray(box, dtype=float)
    p = np.broadcast_to(np.asarray(pad, dtype=float), (2,))
    return np.concatenate([b[:2] - p, b[2:] + p])


def padded_keypoint_box(xy: np.ndarray, mask: np.ndarray | None = None, pad: float = 0.1,
                        min_points: int = 2) -> np.ndarray | None:
    """:func:`tight_box` of the (masked) keypoints grown by ``pad`` × its longer side on every
    side: a person box for labels that lack one. None when fewer than ``min_points`` remain."""
    box = tight_box(xy, mask, min_points)
    return None if box is None else pad_box(box, pad * max(box[2:] - box[:2]))


def grow_box(box: Sequence[float], margin: float, square: bool = False) -> np.ndarray:
    """``box`` scaled about its centre so that each side gains ``margin`` × its length on both
    ends (sides × (1 + 2·margin)); ``square`` first makes both sides the longer one."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, y2 - y1
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    if square:
        w = h = max(w, h)
    w, h = w * (1 + 2 * margin), h * (1 + 2 * margin)
    return np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])


def clip_box(box: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``box`` clipped to an image of ``size`` (w, h)."""
    w, h = size
    return np.clip(np.asarray(box, dtype=float), [0, 0, 0, 0], [w, h, w, h])


def xywh_to_xyxy(box_xywh: np.ndarray) -> np.ndarray:
    """(..., 4) boxes (x, y, width, height) → (x1, y1, x2, y2)."""
    b = np.asarray(box_xywh, dtype=float)
    return np.concatenate([b[..., :2], b[..., :2] + b[..., 2:]], axis=-1)


def xyxy_to_xywh(box: np.ndarray) -> np.ndarray:
    """(..., 4) boxes (x1, y1, x2, y2) → (x, y, width, height)."""
    b = np.asarray(box, dtype=float)
    return np.concatenate([b[..., :2], b[..., 2:] - b[..., :2]], axis=-1)


def crop_region(box: Sequence[float], size: tuple[int, int], margin: float = 0.25
                ) -> tuple[int, int, int, int]:
    """Integer crop (x1, y1, x2, y2) around ``box`` grown by ``margin`` × its longer side, clipped.

    The crop is made square where the image allows, because a person detector expects a whole
    person with context around them. The whole image for a degenerate box or a crop under 8 px.
    """
    w, h = size
    x1, y1, x2, y2 = (float(v) for v in box)
    if not np.all(np.isfinite([x1, y1, x2, y2])) or x2 <= x1 or y2 <= y1:
        return (0, 0, w, h)
    g = grow_box((x1, y1, x2, y2), margin, square=True)
    a = [int(np.floor(g[0])), int(np.floor(g[1])), int(np.ceil(g[2])), int(np.ceil(g[3]))]
    a = [max(0, a[0]), max(0, a[1]), min(w, a[2]), min(h, a[3])]
    if a[2] - a[0] < 8 or a[3] - a[1] < 8:
        return (0, 0, w, h)
    return tuple(a)  # type: ignore[return-value]


# --- affine crops ---------------------------------------------------------------------------------

def to_3x3(m: np.ndarray) -> np.ndarray:
    """A 2×3 affine as a 3×3 matrix (to compose or invert)."""
    return np.vstack([m, [0.0, 0.0, 1.0]])


def invert_affine(m: np.ndarray) -> np.ndarray:
    """Inverse of a 2×3 affine (crop coordinates → image coordinates)."""
    return np.linalg.inv(to_3x3(m))[:2]


def apply_affine(m: np.ndarray, xy: np.ndarray) -> np.ndarray:
    """(..., 2) points mapped through the 2×3 affine ``m``."""
    return xy @ m[:, :2].T + m[:, 2]


def box_transform(box: Sequence[float], input_size: tuple[int, int],
                  margin: float = 1.25, rotation: int = 0) -> np.ndarray:
    """2×3 affine (continuous image coords → crop coords) for an aspect-preserving crop.

    The box (x1, y1, x2, y2) is widened or heightened to the input's aspect ratio, then scaled by
    ``margin`` (context around the person), and centred in the crop. ``rotation`` (0/90/180/270)
    turns the crop counter-clockwise like :func:`rotate_image`, so an infant lying sideways
    appears upright to an adult-trained network.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    win, hin = input_size
    bw, bh = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    k = round(rotation / 90) % 4
    if k % 2:
        bw, bh = bh, bw  # box extent as seen in the rotated crop
    aspect = win / hin
    if bw / bh > aspect:
        bh = bw / aspect
    else:
        bw = bh * aspect
    s = win / (bw * margin)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    # counter-clockwise quarter turns in image coordinates (y down): (x, y) -> (y, -x)
    rot = np.linalg.matrix_power(np.array([[0.0, 1.0], [-1.0, 0.0]]), k)
    a = s * rot
    t = np.array([win / 2, hin / 2]) - a @ np.array([cx, cy])
    return np.hstack([a, t[:, None]]).astype(np.float64)


def body_roi(xy: np.ndarray, schema: Schema, margin: float = 1.25
             ) -> tuple[np.ndarray, float, np.ndarray] | None:
    """MediaPipe's rotated body region from keypoints: (centre, side, up) or None.

    BlazePose (Bazarevsky et al., 2020) aligns its landmark crop on the mid-hip point, the radius
    of the circle around the whole body centred there, and the mid-hip → mid-shoulder direction
    (upright in the crop). Here the radius is the farthest keypoint from the mid-hip point and
    the square's side is ``2 · radius · margin``. Needs both hips and shoulders in ``schema``.
    """
    try:
        idx = [schema.index(n) for n in ("left_hip", "right_hip", "left_shoulder",
                                           "right_shoulder")]
    except KeyError:
        return None
    xy = np.asarray(xy, dtype=float)
    if not np.isfinite(xy[idx]).all():
        return None
    hip = xy[idx[:2]].mean(0)
    up = xy[idx[2:]].mean(0) - hip
    ok = np.isfinite(xy).all(axis=1)
    radius = float(np.max(np.hypot(*(xy[ok] - hip).T)))
    if np.hypot(*up) < 2.0 or radius < 4.0:
        return None
    return hip, 2.0 * radius * margin, up


def roi_transform(centre: Sequence[float], side: float, up: Sequence[float],
                  input_size: tuple[int, int]) -> np.ndarray:
    """2×3 affine for a square region of ``side`` px around ``centre``, rotated so that the
    image direction ``up`` points up in the crop (MediaPipe's rotated landmark ROI)."""
    u = np.asarray(up, dtype=float)
    u = u / np.linalg.norm(u)
    rot = np.array([[-u[1], u[0]], [-u[0], -u[1]]])  # maps u to (0, -1)
    a = (min(input_size) / float(side)) * rot
    t = np.array([input_size[0] / 2, input_size[1] / 2]) - a @ np.asarray(centre, dtype=float)
    return np.hstack([a, t[:, None]])


def upright_crop_transform(xy: np.ndarray, up: Sequence[float], input_size: tuple[int, int],
                           margin: float = 1.5) -> np.ndarray | None:
    """2×3 affine for a square crop around the points ``xy`` (N, 2; non-finite ones ignored),
    turned so that the image direction ``up`` points up in the crop (any angle, not only quarter
    turns), its side ``margin`` × the points' longer extent as seen in the turned crop. None
    without two finite points or a usable ``up``."""
    u = np.asarray(up, dtype=float)
    norm = float(np.hypot(*u)) if u.shape == (2,) and np.isfinite(u).all() else 0.0
    pts = np.asarray(xy, dtype=float).reshape(-1, 2)
    pts = pts[np.isfinite(pts).all(axis=1)]
    if norm < 1e-9 or len(pts) < 2:
        return None
    u = u / norm
    rot = np.array([[-u[1], u[0]], [-u[0], -u[1]]])  # maps u to (0, -1), as roi_transform
    q = pts @ rot.T
    lo, hi = q.min(axis=0), q.max(axis=0)
    side = max(float((hi - lo).max()) * float(margin), 1.0)
    s = min(input_size) / side
    t = np.array([input_size[0] / 2, input_size[1] / 2]) - s * (lo + hi) / 2
    return np.hstack([s * rot, t[:, None]])


def torso_up(xy: np.ndarray, mask: np.ndarray, schema: Schema | None = None
             ) -> np.ndarray | None:
    """The image direction mid-hip → mid-shoulder of a pose (``xy`` (K, 2) in ``schema``,
    COCO-17 by default) from the shoulders and hips ``mask`` keeps (one of each at least), or
    None: how far a body leans, even when a side is unseen (:func:`body_roi` needs all four)."""
    sch = schema or COCO17
    ok = np.asarray(mask, dtype=bool)
    shoulders = [i for i in (sch.index("left_shoulder"), sch.index("right_shoulder")) if ok[i]]
    hips = [i for i in (sch.index("left_hip"), sch.index("right_hip")) if ok[i]]
    if not shoulders or not hips:
        return None
    pts = np.asarray(xy, dtype=float)
    up = pts[shoulders].mean(axis=0) - pts[hips].mean(axis=0)
    return up if np.isfinite(up).all() and np.hypot(*up) >= 1.0 else None


def lean_degrees(up: Sequence[float]) -> float:
    """How far (0-180 degrees) the image direction ``up`` leans from pointing straight up."""
    u = np.asarray(up, dtype=float)
    return float(np.degrees(np.arctan2(abs(u[0]), -u[1])))


def crop_image(image: np.ndarray, m: np.ndarray, input_size: tuple[int, int]) -> np.ndarray:
    """Warp ``image`` with the continuous-coordinate affine ``m`` (zero padding outside)."""
    # imported here: OpenCV loads only when an image is cropped (a core module every layer imports)
    import cv2

    # cv2 puts pixel centres at integers: shift by half a pixel on both sides
    mi = m.copy()
    mi[:, 2] = m[:, 2] + 0.5 * (m[:, 0] + m[:, 1]) - 0.5
    return cv2.warpAffine(image, mi, (int(input_size[0]), int(input_size[1])),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
