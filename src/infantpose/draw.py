"""Draw skeletons onto RGB images: composable annotators, array in, array out.

In the spirit of supervision's annotators, each annotator draws one thing (edges, points, score
dots, trails, a time label) and returns a new image: ``annotate(image, poses)`` with the poses
of this frame, either a one-frame :class:`~infantpose.poses.Poses` or a (K, 3) / (N, K, 3)
keypoint array with its schema (``annotate(image, keypoints, schema)``). :class:`SkeletonAnnotator`
composes them and :func:`draw_skeleton` is the one-call form. :func:`overlay_annotators` is
the one look of every overlay infantpose writes, photo or video (``predict --overlay``,
``batch --overlay``, ``overlay``): side-coloured edges and score-coloured dots, plus for videos
a trail of the wrists and ankles and the time. The face-hiding annotator lives with the face
detector (:class:`infantpose.video.face_annotator.FaceAnnotator`). Left-side keypoints and edges, right-side ones and midline ones get different
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
    "FrameLabelAnnotator",
    "ScoreVertexAnnotator",
    "TrailAnnotator",
    "draw_frame_label",
    "draw_trail",
    "overlay_annotators",
    "score_color",
    "trail_keypoints",
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


def _unpack(keypoints: np.ndarray | Poses, schema: Schema | None) -> tuple[np.ndarray, Schema]:
    """(keypoints of this frame, schema) from a one-frame Poses, or an array and its schema."""
    if isinstance(keypoints, Poses):
        return keypoints.data[0], keypoints.schema
    if schema is None:
        raise TypeError("annotate(image, keypoints, schema): give the schema of a keypoint array")
    return keypoints, schema


class Annotator(Protocol):
    """Anything that draws the poses of one frame: ``annotate(image, poses)`` (a one-frame
    Poses) or ``annotate(image, keypoints, schema)``, returning a new image."""

    def annotate(self, image: np.ndarray, keypoints: np.ndarray | Poses,
                 schema: Schema | None = None) -> np.ndarray:
        ...


@dataclass
class EdgeAnnotator:
    """Skeleton edges between two present keypoints whose scores reach ``min_score``."""

    palette: Palette = field(default_factory=Palette)
    thickness: int | None = None
    min_score: float = 0.0
    thin_below: float = 0.5

    def annotate(self, image: np.ndarray, keypoints: np.ndarray | Poses,
                 schema: Schema | None = None) -> np.ndarray:
        # imported here: OpenCV loads when something is drawn; palettes and sides need none
        import cv2

        keypoints, schema = _unpack(keypoints, schema)
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

    def annotate(self, image: np.ndarray, keypoints: np.ndarray | Poses,
                 schema: Schema | None = None) -> np.ndarray:
        # imported here: OpenCV loads when something is drawn; palettes and sides need none
        import cv2

        keypoints, schema = _unpack(keypoints, schema)
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

    def annotate(self, image: np.ndarray, keypoints: np.ndarray | Poses,
                 schema: Schema | None = None) -> np.ndarray:
        # imported here: OpenCV loads when something is drawn; palettes and sides need none
        import cv2

        keypoints, schema = _unpack(keypoints, schema)
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

    def annotate(self, image: np.ndarray, keypoints: np.ndarray | Poses,
                 schema: Schema | None = None) -> np.ndarray:
        out = _check_image(image)
        if not isinstance(keypoints, Poses) and schema is None:
            raise TypeError("annotate(image, keypoints, schema): give the schema")
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


# --- the overlay's look: score dots, trails, the time ------------------------------------------

def _overlay_scale(image: np.ndarray) -> float:
    """Dot and text size of overlays (videos are often small: 360 px is the unit)."""
    return max(1.0, min(image.shape[:2]) / 360.0)


def score_color(score: float) -> Color:
    """RGB from red (score 0) through yellow (0.5) to green (1): unsure keypoints stand out."""
    s = float(np.clip(np.nan_to_num(score), 0.0, 1.0))
    if s < 0.5:
        return (230, int(round(460 * s)), 40)
    return (int(round(230 * (1 - s) * 2)), 230, 40)


def trail_keypoints(schema: Schema) -> list[int]:
    """Indices of the extremities whose trails are drawn (wrists and ankles, else all)."""
    idx = [i for i, n in enumerate(schema.keypoints)
           if any(p in n for p in ("wrist", "ankle"))]
    return idx or list(range(schema.num_keypoints))


@dataclass
class ScoreVertexAnnotator:
    """Keypoint dots coloured by score (:func:`score_color`) with a dark rim, so dropouts show;
    keypoints below ``min_score`` are not drawn."""

    min_score: float = 0.0

    def annotate(self, image: np.ndarray, keypoints: np.ndarray | Poses,
                 schema: Schema | None = None) -> np.ndarray:
        # imported here: OpenCV loads when something is drawn; palettes and sides need none
        import cv2

        keypoints, schema = _unpack(keypoints, schema)
        out = _check_image(image).copy()
        kp = np.asarray(keypoints, float).reshape(-1, schema.num_keypoints, 3)
        r = max(2, int(round(3 * _overlay_scale(out))))
        for inst in kp:
            for p in inst:
                if not np.isfinite(p[:2]).all() or p[2] < self.min_score:
                    continue
                c = _pt(p)
                cv2.circle(out, c, r, score_color(p[2]), -1, cv2.LINE_AA)
                cv2.circle(out, c, r, (20, 20, 20), 1, cv2.LINE_AA)
        return out


def draw_trail(image: np.ndarray, trail: np.ndarray, schema: Schema) -> np.ndarray:
    """A copy of ``image`` with fading lines through ``trail`` ((L, K, 2) past positions,
    oldest first; NaN skipped) of the :func:`trail_keypoints`."""
    # imported here: OpenCV loads when something is drawn; palettes and sides need none
    import cv2

    out = _check_image(image).copy()
    if trail is None or len(trail) < 2:
        return out
    for k in trail_keypoints(schema):
        pts = trail[:, k]
        for j in range(1, len(pts)):
            a, b = pts[j - 1], pts[j]
            if np.isfinite(a).all() and np.isfinite(b).all():
                fade = j / len(pts)
                c = tuple(int(v * fade + 255 * (1 - fade) * 0.3) for v in (255, 255, 255))
                cv2.line(out, _pt(a), _pt(b), c, 1, cv2.LINE_AA)
    return out


@dataclass
class TrailAnnotator:
    """The last ``length`` frames of the wrists' and ankles' path (first instance), fading.

    It remembers the frames it has drawn, so one is made per video and shown its frames in
    order."""

    length: int = 30
    _past: list = field(default_factory=list, repr=False)

    def annotate(self, image: np.ndarray, keypoints: np.ndarray | Poses,
                 schema: Schema | None = None) -> np.ndarray:
        keypoints, schema = _unpack(keypoints, schema)
        kp = np.asarray(keypoints, float).reshape(-1, schema.num_keypoints, 3)
        if len(kp) == 0:
            return _check_image(image).copy()
        self._past.append(kp[0, :, :2])
        del self._past[:-max(1, self.length)]
        return draw_trail(image, np.stack(self._past), schema)


def draw_frame_label(image: np.ndarray, time_s: float | None = None,
                     frame_index: int | None = None) -> np.ndarray:
    """A copy of ``image`` with ``mm:ss.sss  #frame`` on black in the top-left corner."""
    # imported here: OpenCV loads when something is drawn; palettes and sides need none
    import cv2

    out = _check_image(image).copy()
    parts = []
    if time_s is not None and np.isfinite(time_s):
        m, s = divmod(float(time_s), 60.0)
        parts.append(f"{int(m):02d}:{s:06.3f}")
    if frame_index is not None:
        parts.append(f"#{int(frame_index)}")
    if not parts:
        return out
    text = "  ".join(parts)
    fs = 0.4 * _overlay_scale(out)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, fs, 1)
    cv2.rectangle(out, (0, 0), (tw + 8, th + base + 8), (0, 0, 0), -1)
    cv2.putText(out, text, (4, th + 4), cv2.FONT_HERSHEY_SIMPLEX, fs, (255, 255, 255), 1,
                cv2.LINE_AA)
    return out


@dataclass
class FrameLabelAnnotator:
    """The frame's time (frame number / ``fps``) and number, from a one-frame Poses'
    ``frame_indices``."""

    fps: float = 30.0

    def annotate(self, image: np.ndarray, keypoints: np.ndarray | Poses,
                 schema: Schema | None = None) -> np.ndarray:
        if not isinstance(keypoints, Poses) or keypoints.frame_indices is None:
            return _check_image(image).copy()
        idx = int(keypoints.frame_indices[0])
        return draw_frame_label(image, idx / self.fps if self.fps else None, idx)


def overlay_annotators(min_score: float = 0.0, fps: float | None = None,
                       trail_frames: int | None = None) -> SkeletonAnnotator:
    """The one overlay look, photos and videos alike: edges by body side (:class:`Palette`),
    dots by score. A video's overlay (``fps`` given) adds a trail of ``trail_frames`` frames
    (drawn under the dots) and the time label; make one per video (the trail remembers)."""
    if fps is None:
        return SkeletonAnnotator((EdgeAnnotator(min_score=min_score),
                                  ScoreVertexAnnotator(min_score)))
    return SkeletonAnnotator((EdgeAnnotator(min_score=min_score),
                              TrailAnnotator(max(2, int(trail_frames or round(fps)))),
                              ScoreVertexAnnotator(min_score), FrameLabelAnnotator(fps)))
