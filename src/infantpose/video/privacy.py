"""De-identification: hide the infant's face in every frame, drop facial keypoints, strip metadata.

Infant videos are protected health information. Before a video, an overlay or a keypoint file
leaves the lab:

* the face is found by the face detector shipped in the mediapipe wheel
  (``mediapipe/modules/face_detection/face_detection_full_range_sparse.tflite``, BlazeFace
  full-range; tried in four orientations because infants lie in any) and/or placed from the head
  keypoints of a pose estimate, grown by a margin, and pixelated (mosaic) or blurred — seed
  ``004_`` mosaics faces the same way;
* a frame where no face region can be placed is blurred whole rather than leaked, and the run
  reports how many frames that was;
* facial keypoints (``Schema.facial``: eyes, nose, lips, ears) are dropped from exported files
  on request;
* output videos carry no source metadata (the writer in :mod:`infantpose.io.video` copies no
  tags; audio is never copied) — :func:`container_metadata` lets tests and users check.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from collections.abc import Iterable

import numpy as np

from infantpose._native import quiet_stderr
from infantpose.errors import InputError
from infantpose.poses import Poses
from infantpose.schemas import Schema
from infantpose.video.face_region import MIN_SCORE, FaceRegion, detector_region, keypoint_region

__all__ = ["MODES", "CELLS_PER_FACE", "FaceDetector", "FaceRegion", "expand_box", "head_box",
           "mosaic", "blur", "blur_whole", "anonymize_regions", "Deidentifier", "DeidReport", "deidentify_video",
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
        k = rotation // 90
        img = np.ascontiguousarray(np.rot90(rgb, k)) if k else np.ascontiguousarray(rgb)
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
            corners = _unrotate(np.array([[x1, y1], [x2, y1], [x1, y2], [x2, y2]]), k, (w, h))
            bx1, by1 = corners.min(axis=0)
            bx2, by2 = corners.max(axis=0)
            out.append([bx1, by1, bx2, by2, float(d.score[0]) if d.score else 1.0])
        return np.asarray(out, float).reshape(-1, 5)

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        order = [self._first] + [r for r in self.rotations if r != self._first]
        for rot in order:
            boxes = self._run(rgb, rot)
            if len(boxes):
                self._first = rot
                return boxes
        return np.zeros((0, 5))

    def close(self) -> None:
        self._det.close()


def _unrotate(xy: np.ndarray, k: int, size: tuple[int, int]) -> np.ndarray:
    """Points of an image rotated CCW by k quarter turns back into the original (w, h) image."""
    w, h = size
    k %= 4
    xr, yr = xy[:, 0], xy[:, 1]
    if k == 0:
        return xy.copy()
    if k == 1:
        return np.stack([w - yr, xr], 1)
    if k == 2:
        return np.stack([w - xr, h - yr], 1)
    return np.stack([yr, h - xr], 1)


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
    shuffled; the blur's sigma is at least half the face size."""
    if mode not in MODES:
        raise InputError(None, f"unknown de-identification mode {mode!r}; choose mosaic or blur")
    out = image.copy()
    for r in map(_as_region, boxes):
        cell = max(2.0, r.face_size / CELLS_PER_FACE)
        if mode == "mosaic":
            out = mosaic(out, r.box, cell=cell)
        else:
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
    boxes: list[list[float]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {"frames": self.frames, "detector_frames": self.detector_frames,
                "keypoint_frames": self.keypoint_frames,
                "whole_frame_blurred": self.whole_frame_blurred,
                "corrupt_frames": self.corrupt_frames, "mode": self.mode}


class Deidentifier:
    """Per-frame face hiding: face-detector regions ∪ head-keypoint regions, the one rule of
    :mod:`infantpose.video.face_region` for every command.

    Args:
        mode: ``"mosaic"`` or ``"blur"``.
        margin: fraction of the face box added on every side (faces move; detectors are tight).
        use_detector: run mediapipe's face detector.
        min_score: head keypoints scoring below this are ignored.
    """

    def __init__(self, mode: str = "mosaic", margin: float = 0.3, use_detector: bool = True,
                 min_face_confidence: float = 0.5, min_score: float = MIN_SCORE):
        if mode not in MODES:
            raise InputError(None, f"unknown de-identification mode {mode!r}; "
                                   "choose mosaic or blur")
        if margin < 0:
            raise InputError(None, "margin must be >= 0")
        self.mode, self.margin, self.min_score = mode, float(margin), float(min_score)
        self.detector = FaceDetector(min_face_confidence) if use_detector else None
        self.report = DeidReport(mode=mode)

    def face_regions(self, rgb: np.ndarray, keypoints: np.ndarray | None = None,
                     schema: Schema | None = None) -> list[FaceRegion]:
        """The regions to hide in one frame: one per detected face and one per instance whose
        head (or shoulders) can be placed (:mod:`infantpose.video.face_region`)."""
        size = (rgb.shape[1], rgb.shape[0])
        out: list[FaceRegion] = []
        if self.detector is not None:
            out += [detector_region(b, size, self.margin) for b in self.detector.detect(rgb)]
        if keypoints is not None and schema is not None:
            for inst in np.asarray(keypoints, float).reshape(-1, schema.num_keypoints, 3):
                reg = keypoint_region(inst, schema, size, self.margin, self.min_score)
                if reg is not None and reg.area > 0:
                    out.append(reg)
        return out

    def regions(self, rgb: np.ndarray, keypoints: np.ndarray | None = None,
                schema: Schema | None = None) -> tuple[list[FaceRegion], bool, bool]:
        """Face regions for one frame, and whether the detector / keypoints gave any."""
        regs = self.face_regions(rgb, keypoints, schema)
        return (regs, any(r.source == "detector" for r in regs),
                any(r.source != "detector" for r in regs))

    def __call__(self, rgb: np.ndarray, keypoints: np.ndarray | None = None,
                 schema: Schema | None = None) -> np.ndarray:
        """The de-identified frame; frames with no placeable face region are blurred whole."""
        regs, by_det, by_kp = self.regions(rgb, keypoints, schema)
        r = self.report
        r.frames += 1
        r.detector_frames += int(by_det)
        r.keypoint_frames += int(by_kp)
        if not regs:
            r.whole_frame_blurred += 1
            return blur_whole(rgb)
        return anonymize_regions(rgb, regs, self.mode)

    def close(self) -> None:
        if self.detector is not None:
            self.detector.close()


def deidentify_video(src: str | os.PathLike, dst: str | os.PathLike, mode: str = "mosaic",
                     margin: float = 0.3, poses: Poses | None = None, use_detector: bool = True,
                     show_progress: bool = False) -> DeidReport:
    """Write a copy of ``src`` with the face hidden in every frame and no metadata.

    ``poses`` (a video Poses of the same video, e.g. from ``infantpose predict``) adds face boxes
    from head keypoints, matched by frame index. The output is written atomically by
    :class:`infantpose.io.video.VideoWriter` (no source tags, no audio).
    """
    from infantpose.io.video import DecodeStats, VideoWriter, iter_frames, probe_video
    from infantpose.video.prefetch import Prefetcher

    info = probe_video(src)
    lookup: dict[int, int] = {}
    if poses is not None:
        lookup = {int(f): i for i, f in enumerate(poses.frame_index_array())}
    deid = Deidentifier(mode, margin, use_detector)
    stats = DecodeStats()
    bar = None
    if show_progress:
        from tqdm import tqdm
        bar = tqdm(total=info.n_frames, unit="frame", desc=Path(src).name, leave=False)
    try:
        with VideoWriter(dst, info.fps, info.frame_size) as w, \
                Prefetcher(iter_frames(src, stats=stats)) as frames:
            for idx, rgb in frames:
                kp = None
                if poses is not None and idx in lookup:
                    kp = poses.data[lookup[idx]]
                w.write(deid(rgb, kp, poses.schema if poses is not None else None))
                if bar is not None:
                    bar.update(1)
    finally:
        deid.close()
        if bar is not None:
            bar.close()
    deid.report.corrupt_frames = stats.corrupt
    return deid.report


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
