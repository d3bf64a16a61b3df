"""Draw skeletons onto RGB images: composable annotators, array in, array out.

In the spirit of supervision's annotators, each annotator draws one thing (edges, points) and
returns a new image; :class:`SkeletonAnnotator` composes them and :func:`draw_skeleton` is the
one-call form. Left-side keypoints and edges, right-side ones and midline ones get different
colours (left/right swaps are the commonest pose error, so they must be visible at a glance); a
point's opacity follows its score; missing keypoints (NaN) and their edges are skipped.

Colours are RGB tuples because images are RGB everywhere in infantpose.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from infantpose.geometry import keypoint_xywh
from infantpose.poses import Poses
from infantpose.schemas import Schema

__all__ = [
    "BoxAnnotator",
    "EdgeAnnotator",
    "Palette",
    "SkeletonAnnotator",
    "VertexAnnotator",
    "body_side",
    "draw_poses",
    "draw_skeleton",
    "side_of",
]

Color = tuple[int, int, int]


@dataclass(frozen=True)
class Palette:
    """Colours by body side: left orange, right blue, midline green.

    This is infantpose's one left/right convention: images, overlays and the labelling page
    (which gets :meth:`hex` from its server) all draw with it. ``center`` is the old spelling of
    ``centre``, still accepted (``Palette(center=...)``) and always equal to it.
    """

    left: Color = (255, 140, 0)     # orange
    right: Color = (30, 144, 255)   # blue
    centre: Color = (60, 220, 60)   # green
    center: Color | None = field(default=None, compare=False, repr=False)  # old spelling

    def __post_init__(self) -> None:
        # ``centre`` wins when both are set (as ``dataclasses.replace(p, centre=...)`` does)
        if self.center is not None and self.centre == Palette.centre:
            object.__setattr__(self, "centre", tuple(self.center))
        object.__setattr__(self, "center", self.centre)

    def for_side(self, side: str) -> Color:
        """The colour of ``"left"``, ``"right"`` or the midline (anything else)."""
        return {"left": self.left, "right": self.right}.get(side, self.centre)

    def hex(self) -> dict[str, str]:
        """``{"left": "#rrggbb", "right": ..., "centre": ...}``, for web pages."""
        return {side: "#{:02x}{:02x}{:02x}".format(*self.for_side(side))
                for side in ("left", "right", "centre")}


def body_side(name: str) -> str:
    """``"left"``, ``"right"`` or ``"centre"`` (the midline) from a keypoint name."""
    n = name.lower()
    if n.startswith("left") or n.endswith("_left") or n.endswith("_l"):
        return "left"
    if n.startswith("right") or n.endswith("_right") or n.endswith("_r"):
        return "right"
    return "centre"


def side_of(name: str) -> str:
    """:func:`body_side` with the old spelling: ``"left"``, ``"right"`` or ``"center"``."""
    side = body_side(name)
    return "center" if side == "centre" else side


def _as_instances(keypoints: np.ndarray) -> np.ndarray:
    kp = np.asarray(keypoints, dtype=float)
    if kp.ndim == 2:
        kp = kp[None]
    if kp.ndim != 3 or kp.shape[-1] != 3:
        raise ValueError(f"keypoints must be (K, 3) or (N, K, 3), got {kp.shape}")
    return kp


def _check_image(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"image must be H×W×3 uint8 RGB, got {img.shape} {img.dtype}")
    return img


def _scale(image: np.ndarray) -> float:
    """Line/point size that stays visible on small and large images."""
    return max(1.0, min(image.shape[:2]) / 240.0)


class Annotator(Protocol):
    def annotate(self, image: np.ndarray, keypoints: np.ndarray, schema: Schema) -> np.ndarray:
        ...


@dataclass
class EdgeAnnotator:
    """Skeleton edges between two present keypoints whose scores reach ``min_score``."""

    palette: Palette = field(default_factory=Palette)
    thickness: int | None = None
    min_score: float = 0.0
    thin_below: float = 0.5

    def annotate(self, image: np.ndarray, keypoints: np.ndarray, schema: Schema) -> np.ndarray:
        import cv2

        out = _check_image(image).copy()
        kp = _as_instances(keypoints)
        t = self.thickness or max(1, int(round(2 * _scale(out))))
        sides = [body_side(k) for k in schema.keypoints]
        for inst in kp:
            for a, b in schema.edge_index:
                pa, pb = inst[a], inst[b]
                if np.isnan(pa[:2]).any() or np.isnan(pb[:2]).any():
                    continue
                if min(pa[2], pb[2]) < self.min_score:
                    continue
                side = sides[a] if sides[a] == sides[b] else "centre"
                # Unsure edges (either end below ``thin_below``) are drawn one pixel thin.
                th = t if min(pa[2], pb[2]) >= self.thin_below else 1
                cv2.line(out, _pt(pa), _pt(pb), self.palette.for_side(side), th, cv2.LINE_AA)
        return out


@dataclass
class VertexAnnotator:
    """Keypoint dots, opacity = score clipped to [``min_alpha``, 1]."""

    palette: Palette = field(default_factory=Palette)
    radius: int | None = None
    min_score: float = 0.0
    min_alpha: float = 0.25
    outline: Color | None = (255, 255, 255)

    def annotate(self, image: np.ndarray, keypoints: np.ndarray, schema: Schema) -> np.ndarray:
        import cv2

        out = _check_image(image).copy()
        kp = _as_instances(keypoints)
        r = self.radius or max(2, int(round(3 * _scale(out))))
        sides = [body_side(k) for k in schema.keypoints]
        for inst in kp:
            for k, p in enumerate(inst):
                if np.isnan(p[:2]).any() or p[2] < self.min_score:
                    continue
                alpha = float(np.clip(p[2], self.min_alpha, 1.0))
                cx, cy = _pt(p)
                x0, y0 = max(0, cx - r - 2), max(0, cy - r - 2)
                x1, y1 = min(out.shape[1], cx + r + 3), min(out.shape[0], cy + r + 3)
                if x1 <= x0 or y1 <= y0:  # entirely outside the image
                    continue
                roi = out[y0:y1, x0:x1]
                layer = roi.copy()
                c = (cx - x0, cy - y0)
                cv2.circle(layer, c, r, self.palette.for_side(sides[k]), -1, cv2.LINE_AA)
                if self.outline is not None:
                    cv2.circle(layer, c, r, self.outline, 1, cv2.LINE_AA)
                roi[:] = (alpha * layer + (1 - alpha) * roi).round().astype(np.uint8)
        return out


@dataclass
class BoxAnnotator:
    """A rectangle around each instance's present keypoints."""

    color: Color = (255, 255, 0)
    thickness: int = 1

    def annotate(self, image: np.ndarray, keypoints: np.ndarray, schema: Schema) -> np.ndarray:
        import cv2

        out = _check_image(image).copy()
        for inst in _as_instances(keypoints):
            box = keypoint_xywh(inst)
            if box is None:
                continue
            x, y, w, h = box
            cv2.rectangle(out, (int(x), int(y)), (int(x + w), int(y + h)), self.color,
                          self.thickness)
        return out


@dataclass
class SkeletonAnnotator:
    """Edges then vertices (or any sequence of annotators), applied in order."""

    annotators: Sequence[Annotator] = field(
        default_factory=lambda: (EdgeAnnotator(), VertexAnnotator()))

    def annotate(self, image: np.ndarray, keypoints: np.ndarray, schema: Schema) -> np.ndarray:
        out = _check_image(image)
        for a in self.annotators:
            out = a.annotate(out, keypoints, schema)
        return out


def _pt(p: np.ndarray) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def draw_skeleton(image: np.ndarray, keypoints: np.ndarray, schema: Schema,
                  min_score: float = 0.0, palette: Palette | None = None) -> np.ndarray:
    """A copy of ``image`` with the skeleton of each instance in ``keypoints`` ((K,3) or (N,K,3))."""
    pal = palette or Palette()
    ann = SkeletonAnnotator((EdgeAnnotator(pal, min_score=min_score),
                             VertexAnnotator(pal, min_score=min_score)))
    return ann.annotate(image, keypoints, schema)


def draw_poses(image: np.ndarray, poses: Poses, frame: int = 0, min_score: float = 0.0,
               annotator: Annotator | None = None) -> np.ndarray:
    """Draw frame ``frame`` of ``poses`` onto ``image`` (with ``annotator`` or the default)."""
    ann = annotator or SkeletonAnnotator((EdgeAnnotator(min_score=min_score),
                                          VertexAnnotator(min_score=min_score)))
    return ann.annotate(image, poses.data[frame], poses.schema)
