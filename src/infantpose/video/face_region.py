"""Where an infant's face is, from keypoints or a face-detector box: the region to hide.

One function decides the region for every command (``deidentify``, ``predict --deidentify``,
``overlay --deidentify``, ``batch --deidentify``), so all of them hide the same pixels.

The region is built to fail safe:

* **Head size first.** The face's size is estimated from every cue that is present — the spread
  of the head keypoints, the eye distance, the ear distance, the nose-to-ear distance (a profile),
  the vertex-to-nose distance, the shoulder width, the trunk length and the body's size — and
  the *largest* estimate wins. Infant proportions: the head is about a quarter of the body
  length and about 0.7 of the shoulder width (growth charts: head circumference ≈ 35 cm,
  bi-acromial width ≈ 12–14 cm at birth); the factors used are larger, because a foreshortened
  body (an infant seen from above) makes the head look bigger relative to it.
* **Never tiny.** The size is at least :data:`MIN_FRAME_FRACTION` of the frame's shorter side, so a
  detector box of a few pixels can never shrink the region to a few pixels (issue 11: an 18×17 px
  box on a 40 px head left the face recognisable).
* **Profiles covered.** The region is a square of ``(1 + 2·margin)`` head sizes around the head's
  centre, *and* it contains every head keypoint grown by 0.45 head sizes — so the nose tip, lips
  and chin beyond the nose of a face in profile are inside.
* **Unsure means more.** With no face keypoint but shoulders, the head can be on either side of
  them: the region is a square of three shoulder widths around the shoulders' midpoint (or
  placed along the trunk direction when the hips are known). When shoulders and hips are known,
  the place beyond the shoulders is hidden too even with face keypoints (they slip towards the
  neck on a head seen from behind). With nothing at all, the caller hides the whole frame.
* **Either end can be the head.** A pose model can place a confident skeleton upside down (head
  keypoints on the feet; measured on a side-lying render in ``benchmarks/privacy.py``), and
  then a mask placed from the head keypoints sits on the feet while the face stays visible.
  :func:`body_ends` therefore also gives the region at the skeleton's *other* end (beyond its
  farthest leg point, where the head lies when the skeleton is upside down), of the same head
  size. The caller (:class:`infantpose.video.privacy.Deidentifier`) hides both ends unless the
  face detector confirms the skeleton's head end, in the frame or along the video's track.

Face-detector boxes (BlazeFace, tight around eyes–mouth) go through the same rules: the head
size is :data:`HEAD_PER_FACE_BOX` times the box's larger side, the same margin and floor apply.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infantpose.geometry import body_size
from infantpose.schemas import Schema

__all__ = ["HEAD_PER_FACE_BOX", "MIN_FRAME_FRACTION", "BodyEnds", "FaceRegion", "body_ends", "detector_region",
           "keypoint_region"]

#: A face region is never smaller than this fraction of the frame's shorter side.
MIN_FRAME_FRACTION = 0.12
#: Head size per side of a face-detector box. BlazeFace's box spans eyes to mouth, not the head:
#: on 156 real infant photos (SyRIP) where it fired and both ears are labelled, the head width
#: (1.3 x the ear distance) was 1.4 box sides at the median and 1.77 at the 90th percentile,
#: and with this factor the region (1 + 2 x 0.3 margin head sizes) holds every labelled nose,
#: eye and ear point of all 156 (with the box side as the head size: 74 %).
HEAD_PER_FACE_BOX = 1.7
#: Head keypoints scoring at least this much are used (lower than for poses: hiding too much
#: costs nothing, hiding too little leaks a face).
MIN_SCORE = 0.1


@dataclass(frozen=True)
class FaceRegion:
    """A region to hide: ``box`` (x1, y1, x2, y2, clipped to the frame), the estimated face
    size in pixels (mosaic cells and blur strength scale with it), and how it was placed."""

    box: np.ndarray
    face_size: float
    source: str  # "keypoints", "shoulders", "detector" or "far end"

    @property
    def area(self) -> float:
        return float(max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1]))


def _clip(box: np.ndarray, frame_size: tuple[int, int]) -> np.ndarray:
    w, h = frame_size
    return np.array([min(max(box[0], 0.0), w), min(max(box[1], 0.0), h),
                     min(max(box[2], 0.0), w), min(max(box[3], 0.0), h)], float)


def _square(c: np.ndarray, half: float) -> np.ndarray:
    return np.array([c[0] - half, c[1] - half, c[0] + half, c[1] + half], float)


def _union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.array([min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])])


def _floor(frame_size: tuple[int, int]) -> float:
    return MIN_FRAME_FRACTION * float(min(frame_size))


class _Points:
    """Named keypoints of one instance that are present and score at least ``min_score``."""

    def __init__(self, instance: np.ndarray, schema: Schema, min_score: float):
        inst = np.asarray(instance, float).reshape(schema.num_keypoints, 3)
        ok = np.isfinite(inst[:, :2]).all(axis=1) & (np.nan_to_num(inst[:, 2]) >= min_score)
        self.xy = {name: inst[i, :2] for i, name in enumerate(schema.keypoints) if ok[i]}
        self.head = [inst[i, :2] for i, r in enumerate(schema.regions) if r == "head" and ok[i]]
        self.by_region: dict[str, list[np.ndarray]] = {}
        for i, r in enumerate(schema.regions):
            if ok[i]:
                self.by_region.setdefault(r, []).append(inst[i, :2])

    def in_regions(self, regions: tuple[str, ...]) -> list[np.ndarray]:
        """The present points whose schema region is one of ``regions``."""
        return [xy for r in regions for xy in self.by_region.get(r, [])]

    def get(self, *names: str) -> np.ndarray | None:
        pts = [self.xy[n] for n in names if n in self.xy]
        return np.mean(pts, axis=0) if pts else None

    def dist(self, a: tuple[str, ...], b: tuple[str, ...]) -> float:
        pa, pb = self.get(*a), self.get(*b)
        return float(np.hypot(*(pa - pb))) if pa is not None and pb is not None else 0.0


_L_EYE = ("left_eye", "left_eye_inner", "left_eye_outer")
_R_EYE = ("right_eye", "right_eye_inner", "right_eye_outer")
_EYES = _L_EYE + _R_EYE
_EARS = ("left_ear", "right_ear")
_MOUTH = ("upper_lip", "lower_lip", "mouth_left", "mouth_right")
_SHOULDERS = ("left_shoulder", "right_shoulder")
_HIPS = ("left_hip", "right_hip")


def _head_size(p: _Points) -> float:
    """The largest of the head-size estimates the present keypoints allow (pixels)."""
    est = [0.0]
    if len(p.head) > 1:
        est.append(1.6 * float(np.ptp(np.asarray(p.head), axis=0).max()))
    est.append(3.5 * p.dist(_L_EYE, _R_EYE))            # eye distance ~ 0.3 head width
    est.append(1.3 * p.dist(("left_ear",), ("right_ear",)))
    for ear in _EARS:                                    # a profile: nose to ear ~ half the head
        est.append(2.0 * p.dist(("nose",), (ear,)))
    est.append(1.8 * p.dist(("vertex",), ("nose",)))
    est.append(3.0 * p.dist(_EYES, _MOUTH))
    # Body cues, generous: seen from above, a crawling infant's hair-covered head is as wide as
    # its shoulders and the foreshortened body is short.
    est.append(1.0 * p.dist(("left_shoulder",), ("right_shoulder",)))
    est.append(0.6 * p.dist(_SHOULDERS, _HIPS))         # trunk length ~ 1.6 head heights
    body = np.asarray(list(p.xy.values()))
    if len(body) >= 4:                                   # head ~ a quarter of the body
        est.append(0.3 * body_size(body))
    return max(est)


def keypoint_region(instance: np.ndarray, schema: Schema, frame_size: tuple[int, int],
                    margin: float = 0.3, min_score: float = MIN_SCORE) -> FaceRegion | None:
    """The face region of one (K, 3) instance, or None when no head or shoulder keypoint is
    present (the caller then hides the whole frame).

    ``margin`` is added on every side, as a fraction of the head size.
    """
    p = _Points(instance, schema, min_score)
    floor = _floor(frame_size)
    size = max(_head_size(p), floor)
    beyond = _beyond_shoulders(p, size, margin)
    if p.head:
        pts = np.asarray(p.head)
        face = [n for n in _EYES + _EARS + _MOUTH + ("nose",) if n in p.xy]
        c = p.get(*face) if face else pts.mean(axis=0)
        half = 0.5 * size * (1.0 + 2.0 * margin)
        box = _square(c, half)
        reach = (0.45 + margin) * size  # every head point with room around it (profiles)
        box = _union(box, np.array([*(pts.min(axis=0) - reach), *(pts.max(axis=0) + reach)]))
        if beyond is not None:  # face points slipped towards the neck (a head seen from behind)
            box = _union(box, beyond)
        return FaceRegion(_clip(box, frame_size), size, "keypoints")
    sh = p.get(*_SHOULDERS)
    if sh is None:
        return None
    size = max(size, 0.8 * p.dist(("left_shoulder",), ("right_shoulder",)))
    box = _beyond_shoulders(p, size, margin)
    if box is None:  # direction unknown: the head can be on any side of the shoulders
        box = _square(sh, (1.5 + margin) * size)
    return FaceRegion(_clip(box, frame_size), size, "shoulders")


def _beyond_shoulders(p: _Points, size: float, margin: float) -> np.ndarray | None:
    """Where the head sits when shoulders and hips are known: beyond the shoulders, away from
    the hips (a square of (1.6 + 2·margin) head sizes), joined to the shoulders' midpoint."""
    sh, hips = p.get(*_SHOULDERS), p.get(*_HIPS)
    if sh is None or hips is None or np.hypot(*(sh - hips)) == 0:
        return None
    up = (sh - hips) / np.hypot(*(sh - hips))
    c = sh + up * 0.6 * size
    return _union(_square(c, (0.8 + margin) * size), _square(sh, 0.3 * size))


def detector_region(box: np.ndarray, frame_size: tuple[int, int], margin: float = 0.3
                    ) -> FaceRegion:
    """The region for a face-detector box (x1, y1, x2, y2[, score]): the head size is
    :data:`HEAD_PER_FACE_BOX` times the box's larger side (floored), and the region is the
    square of ``1 + 2·margin`` head sizes around the box's centre (and the box itself)."""
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    size = max(HEAD_PER_FACE_BOX * max(x2 - x1, y2 - y1), _floor(frame_size))
    c = np.array([(x1 + x2) / 2, (y1 + y2) / 2])
    sq = _square(c, 0.5 * size * (1.0 + 2.0 * margin))
    return FaceRegion(_clip(_union(sq, np.array([x1, y1, x2, y2])), frame_size), size, "detector")



#: Schema regions of the leg points that mark a skeleton's far end (hips only when none of these
#: is present).
_LEG_REGIONS = ("knee", "ankle", "sole", "foot")
#: The far-end region is centred this many head sizes beyond the skeleton's farthest leg point.
FAR_END_OFFSET = 0.8


@dataclass(frozen=True)
class BodyEnds:
    """The two places where one skeleton's head can be.

    ``head`` is the region placed from its head keypoints (:func:`keypoint_region`); ``far`` is
    the region of the same head size beyond its farthest leg point, where the head is when the
    skeleton is upside down (its legs then lie along the true upper body). ``head_point`` and
    ``far_point`` are where a face would be centred at either end (the face keypoints' centre;
    the far region's centre) and ``axis`` is the unit vector from the head end towards the far
    end: the detector looks at each end turned so that the body hangs below it.
    """

    head: FaceRegion
    far: FaceRegion
    head_point: np.ndarray
    far_point: np.ndarray
    axis: np.ndarray

    @property
    def length(self) -> float:
        """Distance between the two end points (pixels)."""
        return float(np.hypot(*(self.far_point - self.head_point)))


def body_ends(instance: np.ndarray, schema: Schema, frame_size: tuple[int, int],
              margin: float = 0.3, min_score: float = MIN_SCORE) -> BodyEnds | None:
    """Both candidate head regions of one (K, 3) instance, or None when there is no far end to
    consider: no head-side region at all (the caller hides the whole frame) or no leg or hip
    point (the head-side region of :func:`keypoint_region` is then the whole answer).

    The far end lies on the line from the head end through the centre of the leg points: the
    leg point farthest along it is the tip. An upside-down skeleton can be wrong in two ways,
    and the far region covers both: squares of ``1.6 + 2·margin`` head sizes centred on the
    tip and :data:`FAR_END_OFFSET` head sizes beyond it, joined. A skeleton turned about its
    centre puts its ankles just beyond the true top of the head, so the face lies up to a head
    size *inward* of the tip; one squeezed onto the legs (the upside-down skeleton of
    ``benchmarks/privacy.py``) had the true face centre 1.3 head sizes *beyond* its farthest
    leg point.
    """
    head = keypoint_region(instance, schema, frame_size, margin, min_score)
    if head is None:
        return None
    p = _Points(instance, schema, min_score)
    legs = p.in_regions(_LEG_REGIONS) or p.in_regions(("hip",))
    if not legs:
        return None
    face = [n for n in _EYES + _EARS + _MOUTH + ("nose",) if n in p.xy]
    if face:
        anchor = p.get(*face)
    elif p.head:
        anchor = np.mean(p.head, axis=0)
    else:  # placed from the shoulders
        anchor = p.get(*_SHOULDERS)
    size = head.face_size
    pts = np.asarray(legs, float)
    d = pts.mean(axis=0) - anchor
    n = float(np.hypot(*d))
    if n < 1e-6:  # legs on the head: no direction, hide all around it
        axis = np.array([0.0, 1.0])
        far_point = anchor.copy()
        box = _square(anchor, (1.3 + margin) * size)
    else:
        axis = d / n
        tip = pts[int(np.argmax((pts - anchor) @ axis))]
        far_point = tip + axis * FAR_END_OFFSET * size
        box = _union(_square(far_point, (0.8 + margin) * size),
                     _square(tip, (0.8 + margin) * size))
    far = FaceRegion(_clip(box, frame_size), size, "far end")
    return BodyEnds(head, far, np.asarray(anchor, float), far_point, axis)
