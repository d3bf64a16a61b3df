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
from collections.abc import Callable, Iterable

import numpy as np

from infantpose.models.tracker import (TrackingConfig, box_is_valid, make_tracker,
                                       pose_confidence, search_box)
from infantpose.models.tracker import next_box as _next_box  # noqa: F401 (its older name)
from infantpose.poses import Poses

__all__ = ["TrackingConfig", "search_box", "box_is_valid", "pose_confidence", "track_frames",
           "predict_video"]


def track_frames(estimator: Any, frames: Iterable[tuple[int, np.ndarray]], *, fps: float | None,
                 frame_size: tuple[int, int] | None = None, tracking: bool = True,
                 config: TrackingConfig | None = None, source: str | None = None,
                 progress: Callable[[int], None] | None = None) -> Poses:
    """Run ``estimator`` over ``(frame_index, rgb)`` pairs, following one infant.

    Args:
        estimator: an :class:`~infantpose.models.base.Estimator`.
        frames: iterable of (original frame index, H×W×3 uint8 RGB).
        fps: the video's frame rate (stored in the result; frame times are index / fps).
        frame_size: (width, height); taken from the first frame if None.
        tracking: False runs detection on every frame (``boxes=None``), for comparison.
        config: thresholds, see :class:`TrackingConfig`.
        source: the video path, stored in the result.
        progress: called with 1 after every frame (e.g. a progress bar's ``update``).

    Returns:
        A video ``Poses`` with one instance (all-missing in frames where no infant was found),
        ``fps``, ``frame_size`` and ``frame_indices`` set, the field ``outcome`` (per frame:
        ``"detected"``, ``"tracked"`` or ``"redetected"``), the fields ``path`` and
        ``rotation`` (per frame and instance: the estimator route and the quarter turn that
        found the pose, when the estimator reports them), and ``meta["tracking"]`` counting
        tracked frames, re-detections, lost frames and the rotations used.

    How the infant is followed (``meta["tracking"]["method"]``): ``"own"`` for estimators
    with a tracker of their own (the mediapipe runtime, unless ``config.own_tracking`` is
    False), which say per frame whether they followed the previous pose or searched afresh;
    ``"box"`` for the others: the previous frame's box (and rotation, for built-in models) is
    passed on; ``"off"`` without tracking. Every frame counts once as ``detected`` (a search
    with no infant found before it), ``tracked`` or ``redetections`` (a new search after the
    infant had been found); ``lost`` counts the frames without a pose.
    """
    cfg = config or TrackingConfig()
    tracker = make_tracker(estimator, cfg, following=tracking)
    rows: list[np.ndarray] = []
    indices: list[int] = []
    paths: list[str | None] = []  # which estimator path found each frame's pose
    frame_rotations: list[int | None] = []  # the image rotation that found each frame's pose
    outcomes: list[str] = []  # detected / tracked / redetected, per frame
    missing: list[str] | None = None  # keypoints the model's schema lacks (from its output)
    counts = {"detected": 0, "tracked": 0, "redetected": 0}
    n_lost = 0
    rotations: dict[int, int] = {}
    k = estimator.schema.num_keypoints
    t0 = time.perf_counter()
    try:
        for idx, rgb in frames:
            if frame_size is None:
                frame_size = (int(rgb.shape[1]), int(rgb.shape[0]))
            # models that smooth over time use the real frame times (gaps included)
            step = tracker.step(rgb, int(idx) / float(fps) if fps else None)
            if missing is None and "missing_keypoints" in step.meta:
                missing = list(step.meta["missing_keypoints"])
            counts[step.outcome] += 1
            outcomes.append(step.outcome)
            inst = step.instance
            if inst is None:
                n_lost += 1
            elif step.confidence >= cfg.redetect_score and step.rotation is not None:
                rotations[step.rotation] = rotations.get(step.rotation, 0) + 1
            row = np.full((k, 3), np.nan)
            row[:, 2] = 0.0
            if inst is not None:
                row = inst
            rows.append(row)
            paths.append(step.path if inst is not None else None)
            frame_rotations.append(step.rotation if inst is not None else None)
            indices.append(int(idx))
            if progress is not None:
                progress(1)
    finally:
        tracker.close()
    elapsed = time.perf_counter() - t0
    data = np.stack(rows)[:, None] if rows else np.zeros((0, 1, k, 3))
    meta = {"model": estimator.name,
            "tracking": {"enabled": bool(tracking), "method": tracker.method,
                         "frames": len(rows), "detected": counts["detected"],
                         "tracked": counts["tracked"], "redetections": counts["redetected"],
                         "lost": n_lost,
                         "rotations": {str(r): c for r, c in sorted(rotations.items())},
                         "rotation_kept": tracker.keeps_rotation,
                         "seconds": round(elapsed, 3),
                         "margin": cfg.margin, "redetect_score": cfg.redetect_score}}
    if missing:
        meta["missing_keypoints"] = missing
    return Poses(data, estimator.schema, source=source, frame_indices=np.asarray(indices, int),
                 fps=fps, frame_size=frame_size, meta=meta, outcome=outcomes,
                 path=[[p] for p in paths] if any(p is not None for p in paths) else None,
                 rotation=[[r] for r in frame_rotations]
                 if any(r is not None for r in frame_rotations) else None)


def predict_video(estimator: Any, path: str | os.PathLike, *, tracking: bool = True,
                  config: TrackingConfig | None = None, max_frames: int | None = None,
                  prefetch_size: int = 8, show_progress: bool = False,
                  progress: Callable[[int], None] | None = None) -> Poses:
    """Run ``estimator`` on every decodable frame of a video, with tracking and prefetching.

    The one way infantpose turns a video into poses (``predict``, ``batch`` and ``deidentify``
    all come here, through :mod:`infantpose.video.pipeline`). Corrupt frames are skipped (their
    indices are absent from ``frame_indices``) and counted in ``meta["corrupt_frames"]``;
    ``meta["expected_frames"]`` is the video's frame count, ``meta["frames_without_person"]``
    the frames where nobody was found. ``progress`` is called with 1 per frame (a progress
    bar's ``update``); ``show_progress`` draws a bar of its own instead. Raises InputError for
    a missing or undecodable video.
    """
    from infantpose.io.video import DecodeStats, iter_frames, probe_video
    from infantpose.progress import ticker
    from infantpose.video.prefetch import Prefetcher

    info = probe_video(path)
    stats = DecodeStats()
    total = info.n_frames if max_frames is None else min(info.n_frames, max_frames)
    with ticker(total, os.path.basename(str(path)), show=show_progress,
                progress=progress) as tick, \
            Prefetcher(iter_frames(path, stats=stats, max_frames=max_frames),
                       maxsize=prefetch_size) as frames:
        poses = track_frames(estimator, frames, fps=info.fps or None,
                             frame_size=info.frame_size, tracking=tracking, config=config,
                             source=str(path), progress=tick)
    poses.meta["corrupt_frames"] = int(stats.corrupt)
    poses.meta["expected_frames"] = int(info.n_frames)
    poses.meta["frames_without_person"] = int((~poses.present.any(axis=1)).sum()) \
        if poses.n_frames else 0
    return poses
