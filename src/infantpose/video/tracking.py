"""Per-video inference with tracking: one infant followed from frame to frame.

Running a person detector on every frame is slow and unstable. BlazePose's own video mode
(Bazarevsky et al., 2020) lets the landmark model's output of frame *t* define the region of
interest of frame *t+1* and runs the detector only when the pose is lost. :func:`track_frames`
runs a :class:`~infantpose.models.tracker.Tracker` (built by
:func:`~infantpose.models.tracker.make_tracker`) over the frames, which follows the infant in
one of two ways:

* estimators with a tracker of their own (the mediapipe runtime) run in their own video mode
  on whole frames (mediapipe's tracker, one per quarter turn, its landmark smoothing, the
  detector only when the pose is lost; the orientation that found the infant is kept). On
  rendered infants this jitters 0.6 times as much as the box method below, for 0.6 of its CPU
  time per frame, at a median error 0.1 % of the body size higher or lower; on pseudo-videos of
  real infant photos a quarter of the jitter, no left/right swaps
  (``benchmarks/video_tracking.py``, ``benchmarks/video_tracking_syrip.py``,
  ``benchmarks/results/video_tracking.md``);
* every other estimator (torch and ONNX models, plug-ins), and the mediapipe runtime with
  ``TrackingConfig(own_tracking=False)``, gets the infant's box for the next frame from this
  frame's confident keypoints, expanded by a margin, as ``boxes``. It falls back to
  re-detection (``boxes=None``) when the tracked pose's confidence drops below a threshold or
  the box degenerates; built-in models also get the image rotation that last found the infant
  (infants lie in any orientation; the estimator's rotation retries are costly) as a hint.

The estimator itself keeps no state between frames: the tracker holds it, one per video.
Frames are decoded in a background thread (:mod:`infantpose.video.prefetch`).
"""

from __future__ import annotations

import os
import time
from typing import Any
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from infantpose.frames import Frame, run_frames
from infantpose.io.frames import video_frame_name, video_frames
from infantpose.io.video import DecodeStats, probe_video
from infantpose.models.tracker import (TrackingConfig, box_is_valid, make_tracker,
                                       pose_confidence, search_box)
from infantpose.models.tracker import next_box as _next_box  # noqa: F401 (its older name)
from infantpose.poses import Poses
from infantpose.progress import ticker
from infantpose.video.prefetch import Prefetcher

__all__ = ["Follower", "TrackingConfig", "search_box", "box_is_valid", "pose_confidence",
           "track_frames", "predict_video"]


class Follower:
    """The frame loop's step for a video: a tracker following one infant, one frame at a time.

    Each call steps the tracker on one :class:`~infantpose.frames.Frame` and returns that
    frame's one-frame ``Poses`` (one instance, all-missing when no infant was found; the
    fields ``path`` and ``rotation`` of the pose found, ``outcome`` of the frame);
    :meth:`video_poses` stacks the
    per-frame results into the video's ``Poses`` with its tracking summary. One per video;
    :meth:`close` closes the tracker (not the estimator).
    """

    def __init__(self, estimator: Any, config: TrackingConfig | None = None,
                 tracking: bool = True, fps: float | None = None):
        self.estimator, self.config, self.tracking = estimator, config or TrackingConfig(), tracking
        self.fps = fps
        self.tracker = make_tracker(estimator, self.config, following=tracking)
        self.missing: list[str] | None = None  # keypoints the model's schema lacks
        self.counts = {"detected": 0, "tracked": 0, "redetected": 0}
        self.n_lost = 0
        self.rotations: dict[int, int] = {}
        self.t0 = time.perf_counter()
        self.elsewhere = 0.0  # seconds spent on the frames' other work (drawing, writing)

    def __call__(self, frame: Frame) -> Poses:
        k = self.estimator.schema.num_keypoints
        idx, rgb = int(frame.index), frame.image
        # models that smooth over time use the real frame times (gaps included)
        step = self.tracker.step(rgb, idx / float(self.fps) if self.fps else None)
        if self.missing is None and "missing_keypoints" in step.meta:
            self.missing = list(step.meta["missing_keypoints"])
        self.counts[step.outcome] += 1
        inst = step.instance
        if inst is None:
            self.n_lost += 1
        elif step.confidence >= self.config.redetect_score and step.rotation is not None:
            self.rotations[step.rotation] = self.rotations.get(step.rotation, 0) + 1
        row = np.full((k, 3), np.nan)
        row[:, 2] = 0.0
        if inst is not None:
            row = inst
        return Poses(np.asarray(row, float)[None, None], self.estimator.schema,
                     frame_indices=np.asarray([idx], int), fps=self.fps,
                     frame_size=frame.size, outcome=[step.outcome],
                     path=[[step.path if inst is not None else None]],
                     rotation=[[step.rotation if inst is not None else None]])

    def video_poses(self, results: list[Poses], source: str | None = None,
                    frame_size: tuple[int, int] | None = None) -> Poses:
        """The per-frame results of one video as its ``Poses`` (see :func:`track_frames`)."""
        cfg, k = self.config, self.estimator.schema.num_keypoints
        elapsed = time.perf_counter() - self.t0 - self.elsewhere
        data = np.concatenate([r.data for r in results]) if results else np.zeros((0, 1, k, 3))
        indices = [int(r.frame_indices[0]) for r in results]
        paths = [r.path[0, 0] for r in results]
        frame_rotations = [r.rotation[0, 0] for r in results]  # NaN: none found
        if frame_size is None and results:
            frame_size = results[0].frame_size
        meta = {"model": self.estimator.name,
                "tracking": {"enabled": bool(self.tracking), "method": self.tracker.method,
                             "frames": len(results), "detected": self.counts["detected"],
                             "tracked": self.counts["tracked"],
                             "redetections": self.counts["redetected"],
                             "lost": self.n_lost,
                             "rotations": {str(r): c for r, c in sorted(self.rotations.items())},
                             "rotation_kept": self.tracker.keeps_rotation,
                             "seconds": round(elapsed, 3),
                             "margin": cfg.margin, "redetect_score": cfg.redetect_score}}
        if self.missing:
            meta["missing_keypoints"] = self.missing
        return Poses(data, self.estimator.schema, source=source,
                     frame_indices=np.asarray(indices, int), fps=self.fps,
                     frame_size=frame_size, meta=meta,
                     outcome=[r.outcome[0] for r in results],
                     path=[[p] for p in paths] if any(p is not None for p in paths) else None,
                     rotation=[[r] for r in frame_rotations]
                     if np.isfinite(frame_rotations).any() else None)

    def close(self) -> None:
        self.tracker.close()


def _as_frames(frames: Iterable[Any], source: str | None) -> Iterator[Frame]:
    """``Frame``s as they are; ``(frame_index, rgb)`` pairs made into ``Frame``s."""
    for f in frames:
        if isinstance(f, Frame):
            yield f
        else:
            idx, rgb = f
            yield Frame(int(idx), video_frame_name(source or "video", int(idx)), rgb)


def track_frames(estimator: Any, frames: Iterable[Any], *, fps: float | None,
                 frame_size: tuple[int, int] | None = None, tracking: bool = True,
                 config: TrackingConfig | None = None, source: str | None = None,
                 progress: Callable[[int], None] | None = None,
                 on_frame: Callable[[Frame, Poses], None] | None = None) -> Poses:
    """Run ``estimator`` over a video's frames, following one infant.

    Args:
        estimator: an :class:`~infantpose.models.base.Estimator`.
        frames: :class:`~infantpose.frames.Frame`s, or (original frame index, H×W×3 uint8
            RGB) pairs.
        fps: the video's frame rate (stored in the result; frame times are index / fps).
        frame_size: (width, height); taken from the first frame if None.
        tracking: False runs detection on every frame (``boxes=None``), for comparison.
        config: thresholds, see :class:`TrackingConfig`.
        source: the video path, stored in the result.
        progress: called with 1 after every frame (e.g. a progress bar's ``update``).
        on_frame: called with each frame and its one-frame poses, in the frame loop
            (:func:`~infantpose.frames.run_frames`): where annotated copies are drawn.

    Returns:
        A video ``Poses`` with one instance (all-missing in frames where no infant was found),
        ``fps``, ``frame_size`` and ``frame_indices`` set, and ``meta["tracking"]`` counting
        tracked frames, re-detections, lost frames and the rotations used.

    How the infant is followed (``meta["tracking"]["method"]``): ``"own"`` for estimators
    with a tracker of their own (the mediapipe runtime, unless ``config.own_tracking`` is
    False), which say per frame whether they followed the previous pose or searched afresh;
    ``"box"`` for the others: the previous frame's box (and rotation, for built-in models) is
    passed on; ``"off"`` without tracking. Every frame counts once as ``detected`` (a search
    with no infant found before it), ``tracked`` or ``redetections`` (a new search after the
    infant had been found); ``lost`` counts the frames without a pose.
    """
    follower = Follower(estimator, config, tracking, fps)

    def hand_on(frame: Frame, poses: Poses) -> None:  # its time is not the tracking's
        t = time.perf_counter()
        on_frame(frame, poses)  # type: ignore[misc]
        follower.elsewhere += time.perf_counter() - t

    try:
        results = run_frames(_as_frames(frames, source), follower,
                             on_frame=hand_on if on_frame is not None else None,
                             progress=progress)
    finally:
        follower.close()
    return follower.video_poses(results, source=source, frame_size=frame_size)


def predict_video(estimator: Any, path: str | os.PathLike, *, tracking: bool = True,
                  config: TrackingConfig | None = None, max_frames: int | None = None,
                  prefetch_size: int = 8, show_progress: bool = False,
                  progress: Callable[[int], None] | None = None,
                  on_frame: Callable[[Frame, Poses], None] | None = None) -> Poses:
    """Run ``estimator`` on every decodable frame of a video, with tracking and prefetching.

    The one way infantpose turns a video into poses (``predict``, ``batch`` and ``deidentify``
    all come here, through :mod:`infantpose.video.pipeline`). Corrupt frames are skipped (their
    indices are absent from ``frame_indices``) and counted in ``meta["corrupt_frames"]``;
    ``meta["expected_frames"]`` is the video's frame count, ``meta["frames_without_person"]``
    the frames where nobody was found. ``progress`` is called with 1 per frame (a progress
    bar's ``update``); ``show_progress`` draws a bar of its own instead. ``on_frame(frame,
    poses)`` sees each decoded frame with its poses as it is predicted (the overlay and the
    face-hidden copy are drawn there: the video is decoded once). Raises InputError for a
    missing or undecodable video.
    """
    info = probe_video(path)
    stats = DecodeStats()
    total = info.n_frames if max_frames is None else min(info.n_frames, max_frames)
    with ticker(total, os.path.basename(str(path)), show=show_progress,
                progress=progress) as tick, \
            Prefetcher(video_frames(path, stats=stats, max_frames=max_frames),
                       maxsize=prefetch_size) as frames:
        poses = track_frames(estimator, frames, fps=info.fps or None,
                             frame_size=info.frame_size, tracking=tracking, config=config,
                             source=str(path), progress=tick, on_frame=on_frame)
    poses.meta["corrupt_frames"] = int(stats.corrupt)
    poses.meta["expected_frames"] = int(info.n_frames)
    poses.meta["frames_without_person"] = int((~poses.present.any(axis=1)).sum()) \
        if poses.n_frames else 0
    return poses
