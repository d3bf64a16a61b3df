"""De-identification: hide the infant's face in every frame, drop facial keypoints, strip metadata.

Infant videos are protected health information. Before a video, an overlay or a keypoint file
leaves the lab:

* the face is found by the face detector shipped in the mediapipe wheel
  (``mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite``, BlazeFace
  full-range; tried in four orientations because infants lie in any) and/or placed from the head
  keypoints of a pose estimate, grown by a margin, and pixelated (mosaic) or blurred — seed
  ``004_`` mosaics faces the same way;
* a pose model can place a confident skeleton upside down, so the region at the skeleton's
  other end (beyond its legs) is hidden too unless the face detector confirms the head end: in
  the frame (on the whole frame, or on each end cut out and turned upright), or, in a video,
  in enough recent frames of the same stream at the same place (:class:`Deidentifier`);
* a frame where no face region can be placed is blurred whole rather than leaked, and the run
  reports how many frames that was;
* facial keypoints (``Schema.facial``: eyes, nose, lips, ears) are dropped from exported files
  on request;
* output videos carry no source metadata (the writer in :mod:`infantpose.io.video` copies no
  tags; audio is never copied) — :func:`container_metadata` lets tests and users check.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterable

import numpy as np

from infantpose._native import quiet_stderr
from infantpose.errors import InputError
from infantpose.geometry import rotate_image, unrotate_points
from infantpose.poses import Poses
from infantpose.schemas import Schema
from infantpose.video.face_region import (
    MIN_SCORE,
    BodyEnds,
    FaceRegion,
    body_ends,
    detector_region,
    keypoint_region,
)

__all__ = ["MODES", "CELLS_PER_FACE", "FaceDetector", "FaceRegion", "HeadTrack", "expand_box",
           "head_box", "upright_crop", "end_has_face", "guessed_instances", "GUESS_PATH",
           "mosaic", "blur", "blur_whole", "anonymize_regions", "Deidentifier", "DeidReport",
           "drop_facial_keypoints", "container_metadata", "identifying_tags"]

MODES = ("mosaic", "blur")


# --- finding the face ----------------------------------------------------------------------------
class FaceDetector:
    """mediapipe's BlazeFace detector (shipped in the wheel), tried upright then rotated.

    ``detect(rgb)`` returns an (M, 5) array of face boxes ``x1, y1, x2, y2, score`` in pixels.
    When no face is found upright, the image is rotated by 90, 270 and 180 degrees in turn; the
    first orientation that finds a face is tried first on the next frame.
    """

    def __init__(self, min_confidence: float = 0.5, full_range: bool = True,
                 rotations: Iterable[int] = (0, 90, 270, 180)):
        import warnings

        os.environ.setdefault("GLOG_minloglevel", "2")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from mediapipe.python.solutions import face_detection

            with quiet_stderr():
                self._det = face_detection.FaceDetection(
                    model_selection=1 if full_range else 0, min_detection_confidence=min_confidence)
        self.rotations = [int(r) % 360 for r in rotations]
        self._first = self.rotations[0] if self.rotations else 0
        self.calls = 0

    def _run(self, rgb: np.ndarray, rotation: int) -> np.ndarray:
        img = np.ascontiguousarray(rotate_image(rgb, rotation))
        self.calls += 1
        import warnings

        with warnings.catch_warnings():  # protobuf deprecation noise from mediapipe
            warnings.simplefilter("ignore")
            with quiet_stderr():
                res = self._det.process(img)
        rh, rw = img.shape[:2]
        h, w = rgb.shape[:2]
        out = []
        for d in res.detections or []:
            bb = d.location_data.relative_bounding_box
            x1, y1 = bb.xmin * rw, bb.ymin * rh
            x2, y2 = x1 + bb.width * rw, y1 + bb.height * rh
            corners = unrotate_points(np.array([[x1, y1], [x2, y1], [x1, y2], [x2, y2]]),
                                      rotation, (w, h))
            bx1, by1 = corners.min(axis=0)
            bx2, by2 = corners.max(axis=0)
            out.append([bx1, by1, bx2, by2, float(d.score[0]) if d.score else 1.0])
        return np.asarray(out, float).reshape(-1, 5)

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        from infantpose.models.tta import search_turns, turn_order

        def attempt(rot: int) -> np.ndarray | None:
            boxes = self._run(rgb, rot)
            return boxes if len(boxes) else None

        # the first orientation that finds a face wins (and goes first on the next frame)
        found = search_turns(attempt, turn_order(self._first, self.rotations), lambda b: 0.0,
                             good=lambda b: True)
        if found.best is None:
            return np.zeros((0, 5))
        self._first = found.turn
        return found.best

    def close(self) -> None:
        self._det.close()


def expand_box(box: np.ndarray, margin: float, frame_size: tuple[int, int]) -> np.ndarray:
    """The hiding region of a face-detector box (see :func:`detector_region`), as an array."""
    return detector_region(box, frame_size, margin).box


def head_box(instance: np.ndarray, schema: Schema, min_score: float = 0.3,
             frame_size: tuple[int, int] | None = None, margin: float = 0.3
             ) -> np.ndarray | None:
    """The face region (x1, y1, x2, y2) of one (K, 3) instance placed from its *head* keypoints,
    or None when none is present (see :mod:`infantpose.video.face_region`)."""
    inst = np.asarray(instance, float)
    if frame_size is None:
        xy = inst[np.isfinite(inst[:, :2]).all(axis=1), :2]
        span = float(xy.max()) * 2 + 1 if len(xy) else 1.0
        frame_size = (int(span), int(span))
    reg = keypoint_region(inst, schema, frame_size, margin, min_score)
    return None if reg is None or reg.source != "keypoints" else reg.box


# --- which end of a skeleton is the head ---------------------------------------------------------
#: Side of the square cut out around a candidate end, in head sizes (the face is then about a
#: fifth of the cut-out, a size BlazeFace's short-range model finds well).
CROP_HEAD_SIZES = 3.0
#: Pixel size the cut-out is resampled to before detection.
CROP_PX = 192


def upright_crop(rgb: np.ndarray, centre: np.ndarray, down: np.ndarray, side: float,
                 out_px: int = CROP_PX) -> tuple[np.ndarray, float]:
    """The square of ``side`` pixels around ``centre``, turned so that the unit vector ``down``
    (from a candidate head towards its body) points down, resampled to ``out_px`` pixels.

    Returns the cut-out and its scale (output pixels per image pixel). A point ``u`` of the
    cut-out lies at ``centre + R.T @ (u - out_px / 2) / scale`` in the image, with
    ``R = [[dy, -dx], [dx, dy]]`` (see :func:`end_has_face`). Large images are first reduced
    with area averaging, so small cut-outs of big photos are not aliased.
    """
    import cv2

    h, w = rgb.shape[:2]
    dx, dy = (float(v) for v in down)
    rot = np.array([[dy, -dx], [dx, dy]])
    scale = out_px / max(side, 1.0)
    half = 0.75 * side  # > side / sqrt(2): the turned square's bounding box
    x0, y0 = int(max(0, np.floor(centre[0] - half))), int(max(0, np.floor(centre[1] - half)))
    x1, y1 = int(min(w, np.ceil(centre[0] + half))), int(min(h, np.ceil(centre[1] + half)))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return np.zeros((out_px, out_px, 3), np.uint8), scale
    sub = rgb[y0:y1, x0:x1]
    pre = 1.0
    if scale < 0.5:  # reduce first: warpAffine alone would alias
        pre = min(1.0, 2.0 * scale)
        sub = cv2.resize(sub, (max(2, int(round(sub.shape[1] * pre))),
                               max(2, int(round(sub.shape[0] * pre)))),
                         interpolation=cv2.INTER_AREA)
    c = (np.asarray(centre, float) - (x0, y0)) * pre
    a = (scale / pre) * rot
    m = np.hstack([a, (np.array([out_px / 2.0, out_px / 2.0]) - a @ c)[:, None]])
    crop = cv2.warpAffine(np.ascontiguousarray(sub), m, (out_px, out_px),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(0, 0, 0))
    return crop, scale


#: A detection confirms a head end only when its centre lies within this many head sizes of the
#: face keypoints' centre. Measured on 200 real infant photos (SyRIP, BlazePose skeletons):
#: true detections lay at most 0.58 head sizes away in 99 % of the photos, while the two
#: detections that fired on the feet of an upside-down skeleton lay 0.71 and 0.84 away.
MAX_HEAD_OFFSET = 0.6


def end_has_face(detector: Any, rgb: np.ndarray, centre: np.ndarray, down: np.ndarray,
                 region: FaceRegion, max_offset: float | None = None) -> bool:
    """Whether ``detector`` (a :class:`FaceDetector`) finds a face in the cut-out around one
    candidate end, turned upright (:func:`upright_crop`, :data:`CROP_HEAD_SIZES` head sizes).

    A detection counts when its size is 0.25-1.5 head sizes (true faces measured 0.37-1.34)
    and its centre, mapped back to the image, lies inside that end's ``region`` and, with
    ``max_offset``, within ``max_offset`` head sizes of ``centre``. Confirming a head end uses
    the strict test (:data:`MAX_HEAD_OFFSET`); looking for a face at the other end, which can
    only add hiding, uses the whole region.
    """
    size = region.face_size
    crop, scale = upright_crop(rgb, centre, down, CROP_HEAD_SIZES * size)
    dx, dy = (float(v) for v in down)
    rot_t = np.array([[dy, dx], [-dx, dy]])
    c = np.asarray(centre, float)
    for b in detector.detect(crop):
        u = np.array([(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0]) - CROP_PX / 2.0
        p = c + rot_t @ (u / scale)
        side = max(b[2] - b[0], b[3] - b[1]) / scale
        if not (0.25 * size <= side <= 1.5 * size and _inside(p, region.box)):
            continue
        if max_offset is None or np.hypot(*(p - c)) <= max_offset * size:
            return True
    return False


#: ``Poses.meta["path"]`` value of a pose no person detector found (BlazePose's landmark-only
#: fallback, :mod:`infantpose.models.blazepose`).
GUESS_PATH = "fallback"


def guessed_instances(path: Any) -> list[bool]:
    """Per instance, whether its pose is a guess, from a ``meta["path"]`` entry: one path
    (a video frame's) or a list of them (an image's instances); anything else is no guess."""
    if isinstance(path, str):
        return [path == GUESS_PATH]
    if isinstance(path, (list, tuple)):
        return [p == GUESS_PATH for p in path]
    return []


def _inside(xy: np.ndarray, box: np.ndarray) -> bool:
    return bool(box[0] <= xy[0] <= box[2] and box[1] <= xy[1] <= box[3])


class HeadTrack:
    """Where the face detector confirmed a skeleton's head end in the recent frames of one video.

    A frame in which the detector confirms no end can still trust its skeleton's head end when
    the head was confirmed *at that place* in at least ``min_frames`` of the last ``window``
    frames and at least ``agree`` of those confirmations lie nearer the skeleton's head end than
    its far end (by less than half the body length from the head end). A skeleton that flips
    upside down in one frame puts its head end where the feet were confirmed to be, so the
    track refuses it; an infant that moves away from where its head was confirmed gets both
    ends hidden until the detector confirms again. Only direct detector confirmations are
    remembered, so the track cannot confirm itself. Past frames only (a stream is de-identified
    as it is decoded).
    """

    def __init__(self, window: int = 90, min_frames: int = 3, agree: float = 0.8):
        self.window, self.min_frames, self.agree = int(window), int(min_frames), float(agree)
        self.frame = -1
        self._seen: deque[tuple[int, np.ndarray]] = deque()

    def next_frame(self) -> None:
        """Advance one frame; forget confirmations older than the window."""
        self.frame += 1
        while self._seen and self._seen[0][0] <= self.frame - self.window:
            self._seen.popleft()

    def confirm(self, head_point: np.ndarray) -> None:
        """Remember a head end the detector confirmed in the current frame."""
        self._seen.append((self.frame, np.asarray(head_point, float)))

    def trusts(self, ends: BodyEnds) -> bool:
        """Whether recent confirmations vouch for this skeleton's head end (see class doc)."""
        pts = [p for _, p in self._seen]
        if len({f for f, _ in self._seen}) < self.min_frames:
            return False
        reach = 0.5 * ends.length
        near = [np.hypot(*(p - ends.head_point)) < min(reach, np.hypot(*(p - ends.far_point)))
                for p in pts]
        return sum(near) >= self.min_frames and sum(near) >= self.agree * len(near)


# --- hiding pixels -------------------------------------------------------------------------------
#: At most this many mosaic cells across a face: a face must not be recognisable from its mosaic.
CELLS_PER_FACE = 5.0


def _int_box(box: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    x1, y1 = int(np.floor(max(0, box[0]))), int(np.floor(max(0, box[1])))
    x2, y2 = int(np.ceil(min(w, box[2]))), int(np.ceil(min(h, box[3])))
    return x1, y1, x2, y2


def mosaic(image: np.ndarray, box: np.ndarray, blocks: int = 8, cell: float | None = None,
           scramble: bool = True) -> np.ndarray:
    """A copy with the box pixelated into cells of mean colour, the cells shuffled.

    ``cell`` is the cell size in pixels (the caller passes face size / :data:`CELLS_PER_FACE`);
    without it the box is cut into about ``blocks`` × ``blocks`` cells. A plain mosaic keeps a
    face's coarse layout (dark eyes and mouth on light skin) and a face detector still finds
    faces in it (measured: ``benchmarks/privacy.py``); ``scramble`` permutes the cells (a fixed
    permutation per grid size, so a still face stays still), keeping the colours and losing the
    layout.
    """
    import cv2

    out = image.copy()
    x1, y1, x2, y2 = _int_box(box, image.shape)
    if x2 <= x1 or y2 <= y1:
        return out
    roi = out[y1:y2, x1:x2]
    if cell is not None and cell > 0:
        bw = max(1, int(round(roi.shape[1] / cell)))
        bh = max(1, int(round(roi.shape[0] / cell)))
    else:
        bw = max(1, min(blocks, roi.shape[1] // 2 or 1))
        bh = max(1, min(blocks, roi.shape[0] // 2 or 1))
    small = cv2.resize(roi, (bw, bh), interpolation=cv2.INTER_AREA)
    if scramble and bw * bh > 1:
        perm = np.random.default_rng([bw, bh]).permutation(bw * bh)
        small = small.reshape(bw * bh, -1)[perm].reshape(bh, bw, -1)
    out[y1:y2, x1:x2] = cv2.resize(small, (roi.shape[1], roi.shape[0]),
                                   interpolation=cv2.INTER_NEAREST).reshape(roi.shape)
    return out


def blur(image: np.ndarray, box: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """A copy with the box strongly Gaussian-blurred (``sigma`` in pixels; default a quarter of
    the box's shorter side)."""
    import cv2

    out = image.copy()
    x1, y1, x2, y2 = _int_box(box, image.shape)
    if x2 <= x1 or y2 <= y1:
        return out
    roi = out[y1:y2, x1:x2]
    sigma = max(2.0, sigma if sigma else min(roi.shape[:2]) / 4.0)
    # Blur at reduced resolution (cheap even for large faces), then smooth the upsampled result.
    small = cv2.resize(roi, (max(1, roi.shape[1] // 4), max(1, roi.shape[0] // 4)),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / 4.0, borderType=cv2.BORDER_REFLECT)
    out[y1:y2, x1:x2] = cv2.GaussianBlur(
        cv2.resize(small, (roi.shape[1], roi.shape[0]), interpolation=cv2.INTER_LINEAR),
        (0, 0), 2.0)
    return out


def blur_whole(image: np.ndarray, cells: int = 10) -> np.ndarray:
    """The whole frame blurred beyond recognition: the shorter side is reduced to ``cells``
    pixels, then enlarged and smoothed, so even a face filling a third of the frame keeps
    only about three cells across (this is the fallback when no face could be placed)."""
    import cv2

    h, w = image.shape[:2]
    f = max(1.0, min(h, w) / float(cells))
    small = cv2.resize(image, (max(1, int(round(w / f))), max(1, int(round(h / f)))),
                       interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), (0, 0),
                            max(3.0, f / 2.0))


def _as_region(r: FaceRegion | np.ndarray) -> FaceRegion:
    if isinstance(r, FaceRegion):
        return r
    b = np.asarray(r, float)[:4]
    # A plain box already holds its margin: the face is taken as the box's larger side / 1.6.
    return FaceRegion(b, max(b[2] - b[0], b[3] - b[1]) / 1.6, "box")


def anonymize_regions(image: np.ndarray, boxes: Iterable[FaceRegion | np.ndarray],
                      mode: str = "mosaic") -> np.ndarray:
    """Mosaic or blur every region (a :class:`FaceRegion` or an x1, y1, x2, y2 box that already
    includes its margin). Mosaic cells are face size / :data:`CELLS_PER_FACE` (at least 2 px),
    shuffled; the blur's sigma is at least half the face size.

    The blur is applied to the shuffled mosaic, not to the face: a blur keeps a face's lowest
    frequencies (dark hair above light skin), and in ``benchmarks/privacy.py`` a plain blur
    kept a crop correlation of up to 0.85 with the original face and BlazeFace still fired on
    one blurred head; shuffling first leaves colours but no layout, and the result still looks
    like a blur."""
    if mode not in MODES:
        raise InputError(None, f"unknown de-identification mode {mode!r}; choose mosaic or blur")
    out = image.copy()
    for r in map(_as_region, boxes):
        cell = max(2.0, r.face_size / CELLS_PER_FACE)
        out = mosaic(out, r.box, cell=cell)
        if mode == "blur":
            x1, y1, x2, y2 = _int_box(r.box, image.shape)
            out = blur(out, r.box, sigma=max(r.face_size / 2.0, min(x2 - x1, y2 - y1) / 4.0))
        x1, y1, x2, y2 = _int_box(r.box, image.shape)
        _ensure_changed(image[y1:y2, x1:x2], out[y1:y2, x1:x2])
    return out


def _ensure_changed(before: np.ndarray, after: np.ndarray) -> None:
    """Nudge (by one grey level) pixels that a mosaic or blur happened to leave unchanged.

    A mosaic cell's mean can equal one of its pixels, and a flat region stays flat; one level is
    invisible but guarantees that no pixel inside a hidden region equals its source value, so a
    hidden region can be verified pixel by pixel (and no original pixel value is passed on).
    """
    same = (before == after).all(axis=-1)
    if same.any():
        px = after[same].astype(np.int16)
        px += np.where(px < 255, 1, -1).astype(np.int16)
        after[same] = px.astype(np.uint8)


# --- frames and videos ---------------------------------------------------------------------------
@dataclass
class DeidReport:
    """What a de-identification run did, for the user and the batch manifest."""

    frames: int = 0
    detector_frames: int = 0
    keypoint_frames: int = 0
    whole_frame_blurred: int = 0
    corrupt_frames: int = 0
    mode: str = "mosaic"
    #: Frames whose skeleton's head end the face detector confirmed in the frame itself.
    head_confirmed_frames: int = 0
    #: Frames whose head end was trusted because the video's track confirmed it (HeadTrack).
    head_tracked_frames: int = 0
    #: Frames in which both ends of a skeleton were hidden (the head end was not confirmed).
    both_ends_frames: int = 0
    #: Frames blurred whole because a guessed pose's head end was not confirmed (also counted
    #: in ``whole_frame_blurred``).
    guessed_frames: int = 0
    boxes: list[list[float]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"frames": self.frames, "detector_frames": self.detector_frames,
                "keypoint_frames": self.keypoint_frames,
                "whole_frame_blurred": self.whole_frame_blurred,
                "corrupt_frames": self.corrupt_frames, "mode": self.mode,
                "head_confirmed_frames": self.head_confirmed_frames,
                "head_tracked_frames": self.head_tracked_frames,
                "both_ends_frames": self.both_ends_frames,
                "guessed_frames": self.guessed_frames}


class Deidentifier:
    """Per-frame face hiding: face-detector regions ∪ head-keypoint regions, the one rule of
    :mod:`infantpose.video.face_region` for every command.

    Which end of a skeleton is the head is decided per instance (:meth:`head_end`): the region
    from its head keypoints is always hidden, and the region at its far end (beyond the legs,
    :func:`~infantpose.video.face_region.body_ends`) too, unless the face detector confirms the
    head end: a whole-frame detection there and none at the far end, or else a detection in the
    head end's upright cut-out and none in the far end's; in a video (calls with one
    ``stream`` key), also when :class:`HeadTrack` confirmed the head at that place in enough
    recent frames. Without the detector (``use_detector=False``) nothing is confirmed and both
    ends are always hidden.

    Args:
        mode: ``"mosaic"`` or ``"blur"``.
        margin: fraction of the face box added on every side (faces move; detectors are tight).
        use_detector: run mediapipe's face detector.
        min_score: head keypoints scoring below this are ignored.
        track_window, track_min_frames: the :class:`HeadTrack` of a stream.
    """

    def __init__(self, mode: str = "mosaic", margin: float = 0.3, use_detector: bool = True,
                 min_face_confidence: float = 0.5, min_score: float = MIN_SCORE,
                 track_window: int = 90, track_min_frames: int = 3):
        if mode not in MODES:
            raise InputError(None, f"unknown de-identification mode {mode!r}; "
                                   "choose mosaic or blur")
        if margin < 0:
            raise InputError(None, "margin must be >= 0")
        self.mode, self.margin, self.min_score = mode, float(margin), float(min_score)
        self.min_face_confidence = float(min_face_confidence)
        self.detector = FaceDetector(min_face_confidence) if use_detector else None
        self._crop_detector: Any = None
        self._track_args = (int(track_window), int(track_min_frames))
        self._stream: Hashable | None = None
        self._track: HeadTrack | None = None
        #: How each instance of the last frame was decided: "detector", "track", "person" (a
        #: person placed the head), "both ends" or "head only" (a skeleton without legs or
        #: hips: no far end).
        self.last_verdicts: list[str] = []
        self.report = DeidReport(mode=mode)

    # -- which end is the head ----------------------------------------------------------------
    def _crops(self) -> Any:
        """The detector for upright cut-outs (BlazeFace short-range: faces fill the cut-out)."""
        if self._crop_detector is None:
            self._crop_detector = FaceDetector(self.min_face_confidence, full_range=False,
                                               rotations=(0,))
        return self._crop_detector

    def head_end(self, rgb: np.ndarray, ends: BodyEnds, det_boxes: np.ndarray) -> str:
        """How this frame decides the skeleton's head end: "detector" (confirmed), "track"
        (confirmed by the stream's :class:`HeadTrack`) or "both ends" (not confirmed)."""
        verdict = "both ends"
        if self.detector is not None:
            centres = [np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]) for b in det_boxes]
            at_head = any(_inside(c, ends.head.box) for c in centres)
            at_far = any(_inside(c, ends.far.box) for c in centres)
            if at_head and not at_far:
                verdict = "detector"
            elif not at_head and not at_far:  # look closer: each end cut out, turned upright
                det = self._crops()
                if end_has_face(det, rgb, ends.head_point, ends.axis, ends.head,
                                MAX_HEAD_OFFSET) and \
                        not end_has_face(det, rgb, ends.far_point, -ends.axis, ends.far):
                    verdict = "detector"
        if self._track is not None:
            if verdict == "detector":
                self._track.confirm(ends.head_point)
            elif self._track.trusts(ends):
                verdict = "track"
        return verdict

    def _set_stream(self, stream: Hashable | None) -> None:
        if stream is None:
            self._stream, self._track = None, None
            return
        if self._track is None or stream != self._stream:
            self._stream, self._track = stream, HeadTrack(*self._track_args)
        self._track.next_frame()

    def face_regions(self, rgb: np.ndarray, keypoints: np.ndarray | None = None,
                     schema: Schema | None = None, stream: Hashable | None = None,
                     guessed: Sequence[bool] | bool | None = None,
                     confirmed: Sequence[bool] | bool | None = None) -> list[FaceRegion]:
        """The regions to hide in one frame: one per detected face, and per instance the
        region from its head keypoints (or shoulders), plus the far end of its skeleton unless
        the head end is confirmed (:meth:`head_end`).

        ``stream``: a key naming the video this frame belongs to (e.g. its path), consecutive
        frames in decoding order; frames of one stream share a :class:`HeadTrack`, and a new
        key starts a new one. None for unrelated images.

        ``guessed``: per instance (or one flag for all), whether the pose is a guess that no
        person detector found (:func:`guessed_instances`; BlazePose's landmark-only fallback).
        Such a skeleton can lie anywhere, not only upside down (measured: a confident fallback
        skeleton crumpled on the body of a render, the face 2.5 head sizes from both its ends),
        so unless the face detector confirms its head end the whole frame is hidden: the
        result is then one region covering the frame, ``source == "whole frame"``.

        ``confirmed``: per instance (or one flag for all), whether a person placed or checked
        the head keypoints (the label app after a correction): the head end is then known, so
        only it is hidden (verdict "person"), and a guessed pose is no longer a guess.
        """
        size = (rgb.shape[1], rgb.shape[0])
        out: list[FaceRegion] = []
        self._set_stream(stream)
        self.last_verdicts = []
        det_boxes = self.detector.detect(rgb) if self.detector is not None else np.zeros((0, 5))
        out += [detector_region(b, size, self.margin) for b in det_boxes]
        if keypoints is None or schema is None:
            return out
        insts = np.asarray(keypoints, float).reshape(-1, schema.num_keypoints, 3)
        flags = [bool(guessed)] * len(insts) if isinstance(guessed, (bool, np.bool_)) \
            else list(guessed or [])
        flags += [False] * (len(insts) - len(flags))
        sure = [bool(confirmed)] * len(insts) if isinstance(confirmed, (bool, np.bool_)) \
            else list(confirmed or [])
        sure += [False] * (len(insts) - len(sure))
        whole = False
        for inst, guess, person in zip(insts, flags, sure):
            guess = guess and not person
            ends = body_ends(inst, schema, size, self.margin, self.min_score)
            if ends is None:
                reg = keypoint_region(inst, schema, size, self.margin, self.min_score)
                if reg is not None and reg.area > 0:
                    confirmed = any(_inside(np.array([(b[0] + b[2]) / 2, (b[1] + b[3]) / 2]),
                                            reg.box) for b in det_boxes)
                    if guess and not confirmed:
                        whole = True
                        self.last_verdicts.append("guess")
                        continue
                    out.append(reg)
                    self.last_verdicts.append("head only")
                continue
            verdict = "person" if person else self.head_end(rgb, ends, det_boxes)
            if guess and verdict == "both ends":
                whole = True
                self.last_verdicts.append("guess")
                continue
            self.last_verdicts.append(verdict)
            out += [r for r in ((ends.head,) if verdict != "both ends"
                                else (ends.head, ends.far)) if r.area > 0]
        if whole:
            w, h = size
            return [FaceRegion(np.array([0.0, 0.0, w, h]), min(w, h) / 2.0, "whole frame")]
        return out

    def regions(self, rgb: np.ndarray, keypoints: np.ndarray | None = None,
                schema: Schema | None = None, stream: Hashable | None = None,
                guessed: Sequence[bool] | bool | None = None,
                confirmed: Sequence[bool] | bool | None = None
                ) -> tuple[list[FaceRegion], bool, bool]:
        """Face regions for one frame, and whether the detector / keypoints gave any."""
        regs = self.face_regions(rgb, keypoints, schema, stream, guessed, confirmed)
        return (regs, any(r.source == "detector" for r in regs),
                any(r.source != "detector" for r in regs))

    def __call__(self, rgb: np.ndarray, keypoints: np.ndarray | None = None,
                 schema: Schema | None = None, stream: Hashable | None = None,
                 guessed: Sequence[bool] | bool | None = None) -> np.ndarray:
        """The de-identified frame; frames with no placeable face region, or with a guessed
        pose whose head end is not confirmed, are blurred whole. ``stream`` and ``guessed`` as
        in :meth:`face_regions`."""
        regs, by_det, by_kp = self.regions(rgb, keypoints, schema, stream, guessed)
        r = self.report
        r.frames += 1
        v = self.last_verdicts
        if any(g.source == "whole frame" for g in regs):
            r.whole_frame_blurred += 1
            r.guessed_frames += 1
            return blur_whole(rgb)
        r.detector_frames += int(by_det)
        r.keypoint_frames += int(by_kp)
        r.both_ends_frames += int("both ends" in v)
        r.head_tracked_frames += int("both ends" not in v and "track" in v)
        r.head_confirmed_frames += int("both ends" not in v and "track" not in v
                                       and "detector" in v)
        if not regs:
            r.whole_frame_blurred += 1
            return blur_whole(rgb)
        return anonymize_regions(rgb, regs, self.mode)

    def close(self) -> None:
        if self.detector is not None:
            self.detector.close()
        if self._crop_detector is not None:
            self._crop_detector.close()


def drop_facial_keypoints(poses: Poses) -> Poses:
    """A copy without the schema's facial keypoints (eyes, nose, lips, ears), marked in meta."""
    out = poses.drop_keypoints(list(poses.schema.facial))
    out.meta = {**out.meta, "facial_keypoints_dropped": list(poses.schema.facial)}
    return out


# --- metadata ------------------------------------------------------------------------------------
def container_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Container and per-stream metadata tags of a media file (via PyAV), and its stream kinds."""
    import av

    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such file")
    try:
        with av.open(str(p)) as c:
            return {"container": dict(c.metadata),
                    "streams": [{"type": s.type, **dict(s.metadata)} for s in c.streams]}
    except av.error.FFmpegError as e:
        raise InputError(p, f"cannot open media file ({e})") from None


# Tags that identify a recording, a device, a place or a person (QuickTime, MP4, Matroska, EXIF).
_IDENTIFYING = ("creation_time", "date", "location", "location-eng", "com.apple.quicktime",
                "make", "model", "software", "encoder", "title", "artist", "author", "comment",
                "description", "copyright", "gps", "handler_name", "vendor_id", "timecode", "name")


def identifying_tags(path: str | os.PathLike) -> dict[str, str]:
    """The tags of ``path`` that could identify a recording (should be empty after infantpose)."""
    meta = container_metadata(path)
    found: dict[str, str] = {}
    for where, tags in [("container", meta["container"])] + [
            (f"stream{i}", s) for i, s in enumerate(meta["streams"])]:
        for k, v in tags.items():
            if k == "type":
                continue
            if any(key in k.lower() for key in _IDENTIFYING):
                if k.lower() == "handler_name" and str(v) in ("VideoHandler", ""):
                    continue  # the muxer's generic default, not from the source
                if k.lower() == "vendor_id" and str(v) in ("[0][0][0][0]",):
                    continue
                found[f"{where}:{k}"] = str(v)
    for s in meta["streams"]:
        if s["type"] == "audio":
            found["audio"] = "audio stream present"
    return found
