"""The annotated copies of frames: the face hidden, then the skeleton drawn, then written.

One :class:`FrameRenderer` composes the annotators every command shares: the face hider
(:class:`~infantpose.video.face_annotator.FaceAnnotator`, given the frame's raw poses) and the
overlay look (:func:`~infantpose.draw.overlay_annotators`, given the poses shown). Photos
(``predict --overlay/--deidentify``) and video frames go through it, so the overlay and the
face-hidden copy hide the same regions and overlays look the same everywhere.

:class:`VideoRenders` is one video's renderer and output files (``deidentified.mp4``,
``overlay.mp4``), fed one frame at a time by the frame loop
(:mod:`infantpose.frames`): while the poses are predicted (``predict``, ``batch``,
``deidentify`` with a model: the video is decoded once) or from poses already known
(:func:`render_videos`: ``overlay``, ``deidentify --poses``).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.draw import overlay_annotators
from infantpose.errors import InputError
from infantpose.frames import Frame, run_frames
from infantpose.io.frames import video_frames
from infantpose.io.video import DecodeStats, VideoWriter, probe_video
from infantpose.poses import Poses
from infantpose.video.face_annotator import FaceAnnotator
from infantpose.video.prefetch import Prefetcher
from infantpose.video.privacy import drop_facial_keypoints

__all__ = ["FrameRenderer", "VideoRenders", "frame_poses", "render_videos"]


def frame_poses(poses: Poses, row: int) -> Poses:
    """Row ``row`` of a video ``Poses`` as a one-frame ``Poses`` (its frame number, fps, size
    and typed fields: its ``path`` marks a guessed pose)."""
    return replace(poses.take_frames([row]), frame_indices=poses.frame_index_array()[row:row + 1],
                   meta={})


@dataclass
class Rendered:
    """A frame's annotated copies: ``hidden`` (the face hidden; None without de-identification)
    and ``overlay`` (the skeleton drawn on ``hidden`` or the frame; None without an overlay)."""

    hidden: np.ndarray | None
    overlay: np.ndarray | None


class FrameRenderer:
    """The face hidden first (``deidentify`` ``"mosaic"``/``"blur"``), then the skeleton drawn
    (``overlay``), with the annotators of :mod:`infantpose.draw` and
    :mod:`infantpose.video.face_annotator`.

    ``stream`` names the video (its frames share a head track); ``fps`` and ``trail_frames``
    make a video's overlay (trail and time label; None for photos); ``deidentifier``: a
    :class:`~infantpose.video.privacy.Deidentifier` to hide faces with (default: one made from
    ``deidentify``, ``margin``, ``use_detector``). One per video, or one for all photos;
    :meth:`close` frees the face detector.
    """

    def __init__(self, deidentify: str | None = None, overlay: bool = False, *,
                 margin: float = 0.3, use_detector: bool = True, stream: Any = None,
                 fps: float | None = None, trail_frames: int | None = None,
                 min_score: float = 0.0, deidentifier: Any = None):
        self.face = None
        if deidentify:
            self.face = FaceAnnotator(deidentify, margin, use_detector, stream=stream,
                                      deidentifier=deidentifier)
        self.skeleton = overlay_annotators(min_score, fps, trail_frames) if overlay else None
        self.drawn = 0  # frames the skeleton was drawn on

    @property
    def report(self) -> Any:
        """The de-identification report (None without ``deidentify``)."""
        return self.face.report if self.face is not None else None

    def render(self, image: np.ndarray, face: Poses | None, shown: Poses | None) -> Rendered:
        """``image``'s copies: the face placed from ``face`` (the raw poses, head keypoints
        included) and the skeleton of ``shown`` drawn (None: the frame written undrawn)."""
        hidden = self.face.annotate(image, face) if self.face is not None else None
        over = None
        if self.skeleton is not None:
            over = hidden if hidden is not None else image
            if shown is not None:
                over = self.skeleton.annotate(over, shown)
                self.drawn += 1
        return Rendered(hidden, over)

    def close(self) -> None:
        if self.face is not None:
            self.face.close()


class _LazyWriter:
    """A :class:`~infantpose.io.video.VideoWriter` opened on the first frame, so its size is the
    decoded frame size (container headers can disagree with the frames)."""

    def __init__(self, path: Path, fps: float):
        self.path, self.fps, self._w = path, fps, None
        self.frames_written = 0

    def write(self, rgb: Any) -> None:
        if self._w is None:
            self._w = VideoWriter(self.path, self.fps, (rgb.shape[1], rgb.shape[0])).__enter__()
        self._w.write(rgb)
        self.frames_written += 1

    def close(self, exc: BaseException | None = None) -> None:
        """Finish the file (or, after ``exc``, delete its temporary file: no output appears)."""
        if self._w is not None:
            w, self._w = self._w, None
            if exc is None:
                w.__exit__(None, None, None)
            else:
                w.__exit__(type(exc), exc, exc.__traceback__)


class VideoRenders:
    """One video's face-hidden copy and/or overlay, written frame by frame.

    Call it with each decoded frame, its raw poses (placing the face) and the poses to draw
    (None: undrawn), in order; then :meth:`finish` (the files appear, atomically) or
    :meth:`abort` (no file appears). ``deidentified`` needs ``deidentify``; at least one path.
    ``fps``: the files' frame rate (the video's); ``draw_fps``: the time base of the overlay's
    label and trail (the poses' fps, else ``fps``, else 30).
    """

    def __init__(self, video: str | os.PathLike, fps: float, *, deidentify: str | None = None,
                 deidentified: str | os.PathLike | None = None,
                 overlay: str | os.PathLike | None = None, margin: float = 0.3,
                 use_detector: bool = True, draw_fps: float | None = None,
                 trail_seconds: float = 1.0, min_score: float = 0.0):
        if deidentified is None and overlay is None:
            raise ValueError("render_videos: give deidentified and/or overlay")
        if deidentified is not None and not deidentify:
            raise ValueError("render_videos: a de-identified copy needs a deidentify mode")
        self.video = video
        tfps = draw_fps or fps or 30.0
        self.renderer = FrameRenderer(deidentify, overlay is not None, margin=margin,
                                      use_detector=use_detector, stream=str(video), fps=tfps,
                                      trail_frames=max(2, int(round(trail_seconds * tfps))),
                                      min_score=min_score)
        self.w_deid = _LazyWriter(Path(deidentified), fps) if deidentified is not None else None
        self.w_over = _LazyWriter(Path(overlay), fps) if overlay is not None else None
        self._closed = False

    def __call__(self, frame: Frame, face: Poses | None, shown: Poses | None) -> None:
        out = self.renderer.render(frame.image, face, shown)
        if self.w_deid is not None:
            self.w_deid.write(out.hidden)
        if self.w_over is not None:
            self.w_over.write(out.overlay)

    @property
    def frames_written(self) -> int:
        w = self.w_deid if self.w_deid is not None else self.w_over
        return w.frames_written if w is not None else 0

    def _close(self, error: BaseException | None) -> None:
        if self._closed:
            return
        self._closed = True
        failed: BaseException | None = None
        for w in (self.w_deid, self.w_over):  # every writer is closed, even when one fails
            if w is None:
                continue
            try:
                w.close(error)
            except Exception as e:  # noqa: BLE001 - re-raised below when nothing else was
                failed = failed or e
        self.renderer.close()
        if failed is not None and error is None:
            raise failed

    def abort(self, error: BaseException) -> None:
        """Delete the unfinished files and free the face detector."""
        self._close(error)

    def finish(self, corrupt_frames: int = 0) -> dict[str, Any]:
        """Finish the files; ``{"frames", "annotated", "corrupt_frames"}`` and, with
        de-identification, ``"deidentification"`` and ``"report"``. InputError (and no file)
        when no frame was written."""
        if self.frames_written == 0:
            err = InputError(self.video, "no frames could be decoded")
            self._close(err)
            raise err
        self._close(None)
        result: dict[str, Any] = {"frames": self.frames_written,
                                  "annotated": self.renderer.drawn,
                                  "corrupt_frames": int(corrupt_frames)}
        report = self.renderer.report
        if report is not None:
            report.corrupt_frames = int(corrupt_frames)
            result["deidentification"] = report.to_dict()
            result["report"] = report
        return result


def render_videos(video: str | os.PathLike, *, draw: Poses | None = None,
                  face_poses: Poses | None = None, deidentify: str | None = None,
                  deidentified: str | os.PathLike | None = None,
                  overlay: str | os.PathLike | None = None, margin: float = 0.3,
                  use_detector: bool = True, max_frames: int | None = None,
                  trail_seconds: float = 1.0, min_score: float = 0.0,
                  progress: Callable[[int], None] | None = None,
                  show_progress: bool = False) -> dict[str, Any]:
    """Write the face-hidden copy and/or the overlay of ``video`` from poses already known, in
    one decoding pass.

    Args:
        draw: poses drawn on the overlay (matched by frame index; frames without poses are
            written undrawn). With ``deidentify`` their facial keypoints are not drawn.
        face_poses: poses whose head keypoints place the face (default ``draw``), with their
            ``path`` field marking guessed poses (:mod:`infantpose.video.privacy`).
        deidentify: ``"mosaic"`` or ``"blur"``: hide the face in every frame written; frames
            with no placeable face are blurred whole. Required for ``deidentified``.
        deidentified, overlay: output paths (.mp4/.mov/.mkv/.avi); at least one.
        margin, use_detector: of the :class:`~infantpose.video.privacy.Deidentifier`.
        max_frames: stop after this many decoded frames (the frames the poses cover).
        trail_seconds, min_score: of the overlay (:func:`~infantpose.draw.overlay_annotators`).
        progress: called with 1 per frame; ``show_progress`` draws a bar of its own instead.

    Returns:
        ``{"frames": n written, "annotated": n drawn, "corrupt_frames": n skipped}`` and, with
        ``deidentify``, ``"deidentification"`` (:meth:`DeidReport.to_dict`) and ``"report"``
        (the :class:`~infantpose.video.privacy.DeidReport`).

    Each file is written atomically without the source's metadata; on an error none appears.
    """
    info = probe_video(video)
    fp = face_poses if face_poses is not None else draw
    face_rows = {int(f): i for i, f in enumerate(fp.frame_index_array())} if fp is not None \
        else {}
    shown = draw
    if draw is not None and deidentify and draw.schema.facial:
        shown = drop_facial_keypoints(draw)
    rows = {int(f): i for i, f in enumerate(shown.frame_index_array())} if shown is not None \
        else {}
    sink = VideoRenders(video, info.fps, deidentify=deidentify, deidentified=deidentified,
                        overlay=overlay, margin=margin, use_detector=use_detector,
                        draw_fps=shown.fps if shown is not None else None,
                        trail_seconds=trail_seconds, min_score=min_score)

    def known(frame: Frame) -> Poses | None:  # the frame loop's step: the poses given
        r = rows.get(frame.index)
        return frame_poses(shown, r) if r is not None and shown is not None else None

    def on_frame(frame: Frame, drawn: Poses | None) -> None:
        r = face_rows.get(frame.index)
        face = frame_poses(fp, r) if r is not None and fp is not None else None
        sink(frame, face, drawn)

    stats = DecodeStats()
    total = info.n_frames if max_frames is None else min(info.n_frames, max_frames)
    try:
        with Prefetcher(video_frames(video, stats=stats, max_frames=max_frames)) as frames:
            run_frames(frames, known, on_frame=on_frame, progress=progress, total=total,
                       description=Path(video).name, show_progress=show_progress)
    except BaseException as e:
        sink.abort(e)
        raise
    return sink.finish(stats.corrupt)
