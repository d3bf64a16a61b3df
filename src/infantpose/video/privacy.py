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

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infantpose._native import quiet_stderr  # noqa: F401  (re-exported, as before the split)
from infantpose.errors import InputError
from infantpose.geometry import rotate_image, unrotate_points  # noqa: F401  (re-exported)
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
# the face detector, the head-end decision, the pixel operations and the metadata audit live in
# their own modules (re-exported here: callers and tests reach them through this module, and
# Deidentifier looks them up here, so patching them here still takes effect)
from infantpose.video.face_detector import FaceDetector, expand_box, head_box  # noqa: F401
from infantpose.video.head_end import (CROP_HEAD_SIZES, CROP_PX, GUESS_PATH,  # noqa: F401
                                       MAX_HEAD_OFFSET, HeadTrack, _inside, end_has_face,
                                       guessed_instances, upright_crop)
from infantpose.video.metadata_audit import (_IDENTIFYING, container_metadata,  # noqa: F401
                                             identifying_tags)
from infantpose.video.pixel_hiding import (CELLS_PER_FACE, MODES, _as_region,  # noqa: F401
                                           _ensure_changed, _int_box, anonymize_regions, blur,
                                           blur_whole, mosaic)

__all__ = ["MODES", "CELLS_PER_FACE", "FaceDetector", "FaceRegion", "HeadTrack", "expand_box",
           "head_box", "upright_crop", "end_has_face", "guessed_instances", "GUESS_PATH",
           "mosaic", "blur", "blur_whole", "anonymize_regions", "Deidentifier", "DeidReport",
           "drop_facial_keypoints", "container_metadata", "identifying_tags"]



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
                 guessed: Sequence[bool] | bool | None = None,
                 confirmed: Sequence[bool] | bool | None = None) -> np.ndarray:
        """The de-identified frame; frames with no placeable face region, or with a guessed
        pose whose head end is not confirmed, are blurred whole. ``stream``, ``guessed`` and
        ``confirmed`` as in :meth:`face_regions`."""
        regs, by_det, by_kp = self.regions(rgb, keypoints, schema, stream, guessed, confirmed)
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
