"""Per-video inference with tracking: one infant followed from frame to frame.

Running a person detector on every frame is slow and unstable. BlazePose's own video mode
(Bazarevsky et al., 2020) lets the landmark model's output of frame *t* define the region of
interest of frame *t+1* and runs the detector only when the pose is lost. :func:`track_frames`
follows the infant in one of two ways:

* estimators that track by themselves (``tracks_itself``: the mediapipe runtime) run in their
  own video mode on whole frames (mediapipe's tracker, one per quarter turn, its landmark
  smoothing, the detector only when the pose is lost; the orientation that found the infant is
  kept). On rendered infants this jitters 0.6 times as much as the box method below, for 0.6
  of its CPU time per frame, at a median error 0.1 % of the body size higher or lower; on
  pseudo-videos of real infant photos a quarter of the jitter, no left/right swaps
  (``benchmarks/video_tracking.py``, ``benchmarks/video_tracking_syrip.py``,
  ``benchmarks/results/video_tracking.md``);
* every other estimator (torch and ONNX models, plug-ins), and the mediapipe runtime with
  ``TrackingConfig(own_tracking=False)``, gets the infant's box for the next frame from this
  frame's confident keypoints, expanded by a margin, as ``boxes``. It falls back to
  re-detection (``boxes=None``) when the tracked pose's confidence drops below a threshold or
  the box degenerates, and it keeps the image rotation that last found the infant (infants lie
  in any orientation; the estimator's rotation retries are costly) by passing it back to
  estimators that accept a rotation hint.

Frames are decoded in a background thread (:mod:`infantpose.video.prefetch`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any
from collections.abc import Callable, Iterable

import numpy as np

from infantpose.models.base import as_estimator
from infantpose.poses import Poses

__all__ = ["TrackingConfig", "search_box", "box_is_valid", "pose_confidence", "track_frames",
           "predict_video"]


@dataclass
class TrackingConfig:
    """Tracking thresholds.

    Attributes:
        margin: the box from keypoints is grown by this fraction of its size on every side
            (limbs move between frames, and end points such as the head top lie beyond the
            outermost keypoint).
        min_score: keypoints scoring at least this define the box.
        redetect_score: re-detect when the tracked pose's confidence (mean keypoint score) is
            below this; with a new detection that also scores below it, the track is dropped.
        min_keypoints: a pose with fewer confident keypoints gives no box.
        min_box: boxes smaller than this many pixels on a side are degenerate.
        square: make the box square (the landmark model's input is square).
        hold: keep the previous box while all confident keypoints stay inside it shrunk by this
            fraction per side (a steady crop; 0 recomputes the box every frame).
        own_tracking: estimators that track by themselves (``tracks_itself``: the mediapipe
            runtime) follow the infant in their own video mode, whole frames in, no boxes;
            False gives them the previous frame's box and rotation like every other model
            (``benchmarks/video_tracking.py`` compares the two: on rendered clips the own
            video mode has 0.6 times the jitter and CPU time per frame, at a median error
            within 0.1 % of the body size).
    """

    margin: float = 0.25
    min_score: float = 0.5
    redetect_score: float = 0.3
    min_keypoints: int = 4
    min_box: float = 16.0
    square: bool = True
    hold: float = 0.1
    own_tracking: bool = True


def pose_confidence(instance: np.ndarray) -> float:
    """Mean keypoint score of one (K, 3) instance (missing keypoints count as 0)."""
    s = np.nan_to_num(np.asarray(instance, float)[:, 2])
    return float(s.mean()) if s.size else 0.0


def search_box(instance: np.ndarray, frame_size: tuple[int, int], config: TrackingConfig
               ) -> np.ndarray | None:
    """The next frame's search box (x1, y1, x2, y2) from one (K, 3) instance, or None.

    The box around the confident keypoints (:func:`infantpose.geometry.tight_box`), made square
    and grown by ``config.margin`` per side (:func:`~infantpose.geometry.grow_box`), clipped to
    the frame. None when fewer than ``config.min_keypoints`` keypoints are confident or the box
    degenerates (too small, or entirely outside the frame).
    """
    from infantpose.geometry import clip_box, grow_box, tight_box

    inst = np.asarray(instance, float)
    tight = tight_box(inst[:, :2], inst[:, 2] >= config.min_score, max(config.min_keypoints, 1))
    if tight is None:
        return None
    box = clip_box(grow_box(tight, config.margin, square=config.square), frame_size)
    return box if box_is_valid(box, config.min_box) else None


def _next_box(prev: np.ndarray | None, instance: np.ndarray, frame_size: tuple[int, int],
              cfg: TrackingConfig) -> np.ndarray | None:
    """The search box for the next frame, held steady while the infant stays well inside it.

    A crop that moves with every frame's keypoint noise feeds that noise back into the next
    estimate (the model sees a shifted, rescaled image each frame). So the previous box is kept
    as long as every confident keypoint lies inside its inner part (the box shrunk by
    ``cfg.hold`` of its size per side) and the new box is not much smaller; otherwise it is
    recomputed from the keypoints.
    """
    new = search_box(instance, frame_size, cfg)
    if new is None or prev is None or cfg.hold <= 0:
        return new
    inst = np.asarray(instance, float)
    ok = np.isfinite(inst[:, :2]).all(axis=1) & (inst[:, 2] >= cfg.min_score)
    w, h = prev[2] - prev[0], prev[3] - prev[1]
    inner = prev + np.array([w, h, -w, -h]) * cfg.hold
    xy = inst[ok, :2]
    inside = bool(((xy >= inner[:2]) & (xy <= inner[2:])).all())
    shrunk = (new[2] - new[0]) * (new[3] - new[1]) < 0.5 * w * h
    return prev if inside and not shrunk else new


def box_is_valid(box: np.ndarray | None, min_box: float = 16.0) -> bool:
    """True for a finite box at least ``min_box`` pixels on each side."""
    if box is None:
        return False
    b = np.asarray(box, float)
    return bool(np.isfinite(b).all() and b[2] - b[0] >= min_box and b[3] - b[1] >= min_box)


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _pick(result: Poses, box: np.ndarray | None) -> tuple[np.ndarray | None, float]:
    """The instance to follow: with a box, best overlap × confidence; else the most confident."""
    if result.n_instances == 0:
        return None, 0.0
    frame = result.data[0]
    best, best_val, best_conf = None, -1.0, 0.0
    for inst in frame:
        if not np.isfinite(inst[:, :2]).any():
            continue
        conf = pose_confidence(inst)
        val = conf
        if box is not None:
            xy = inst[np.isfinite(inst[:, :2]).all(axis=1), :2]
            ib = np.array([*xy.min(axis=0), *xy.max(axis=0)])
            val = conf * (0.5 + _iou(ib, box))
        if val > best_val:
            best, best_val, best_conf = inst, val, conf
    return best, best_conf


def _rotation_of(result: Poses) -> int | None:
    rot = result.meta.get("rotation")
    if isinstance(rot, (list, tuple)):
        rot = rot[0] if rot else None
    return None if rot is None else int(rot)


def _tracked_of(result: Poses) -> bool | None:
    """Whether a self-tracking estimator followed the previous frame's pose without searching
    afresh (``meta["tracked"]``), or None when it does not say."""
    tracked = result.meta.get("tracked")
    if isinstance(tracked, (list, tuple)):
        tracked = tracked[0] if tracked else None
    return None if tracked is None else bool(tracked)


def _path_of(result: Poses) -> str | None:
    """Which path of the estimator found the pose (``meta["path"]``, e.g. BlazePose's
    "detector" or "fallback"), or None; kept per frame so that de-identification can treat a
    guessed pose with more caution (:mod:`infantpose.video.privacy`)."""
    path = result.meta.get("path")
    if isinstance(path, (list, tuple)):
        path = path[0] if path else None
    return None if path is None else str(path)


def track_frames(estimator: Any, frames: Iterable[tuple[int, np.ndarray]], *, fps: float | None,
                 frame_size: tuple[int, int] | None = None, tracking: bool = True,
                 config: TrackingConfig | None = None, source: str | None = None,
                 progress: Callable[[int], None] | None = None) -> Poses:
    """Run ``estimator`` over ``(frame_index, rgb)`` pairs, following one infant.

    Args:
        estimator: an :class:`~infantpose.models.base.Estimator`.
        frames: iterable of (original frame index, H×W×3 uint8 RGB).
        fps: the video's frame rate (stored in the result).
        frame_size: (width, height); taken from the first frame if None.
        tracking: False runs detection on every frame (``boxes=None``), for comparison.
        config: thresholds, see :class:`TrackingConfig`.
        source: the video path, stored in the result.
        progress: called with 1 after every frame (e.g. a progress bar's ``update``).

    Returns:
        A video ``Poses`` with one instance (all-missing in frames where no infant was found),
        ``fps``, ``frame_size`` and ``frame_indices`` set, and ``meta["tracking"]`` counting
        tracked frames, re-detections, lost frames and the rotations used.

    How the infant is followed (``meta["tracking"]["method"]``): ``"own"`` for estimators
    that track by themselves (``tracks_itself``, the mediapipe runtime, unless
    ``config.own_tracking`` is False): they run in their own video mode on whole frames and
    say per frame whether they followed the previous pose (``meta["tracked"]``) or searched
    afresh; ``"box"`` for the others: the previous frame's box (and rotation, for estimators
    that take a rotation hint) is passed on; ``"off"`` without tracking. Every frame counts
    once as ``detected`` (a search with no infant found before it), ``tracked`` or
    ``redetections`` (a new search after the infant had been found); ``lost`` counts the
    frames without a pose.
    """
    cfg = config or TrackingConfig()
    estimator = as_estimator(estimator)
    rows: list[np.ndarray] = []
    indices: list[int] = []
    paths: list[str | None] = []  # which estimator path found each frame's pose
    frame_rotations: list[int | None] = []  # the image rotation that found each frame's pose
    missing: list[str] | None = None  # keypoints the model's schema lacks (from its output)
    box: np.ndarray | None = None
    rotation: int | None = None
    # Estimators that track by themselves follow the infant in their own video mode.
    own = tracking and cfg.own_tracking and estimator.tracks_itself
    hint_supported = estimator.accepts_rotation_hint and not own
    # Tracking off means a fresh search on every frame: the estimator stays in its own mode.
    # Estimators that take a rotation hint get it frame by frame; others keep the rotation (and
    # any state of their own) in video mode, reset per video.
    video_mode = tracking and not hint_supported
    if hint_supported:
        estimator.set_rotation_hint(None)
    if video_mode:
        estimator.set_mode("video")
    if tracking:
        estimator.set_tracking(True)  # e.g. torch models follow the last pose

    def restore() -> None:
        estimator.set_frame_time(None)
        if tracking:
            estimator.set_tracking(False)
        if video_mode:
            estimator.set_mode("image")
    n_tracked = n_redetect = n_lost = n_detect = 0
    had_pose = False  # own tracking: the previous frame had a pose
    rotations: dict[int, int] = {}
    k = estimator.schema.num_keypoints
    t0 = time.perf_counter()
    try:
        for idx, rgb in frames:
            if frame_size is None:
                frame_size = (int(rgb.shape[1]), int(rgb.shape[0]))
            if fps:  # models that smooth over time use the real frame times (gaps included)
                estimator.set_frame_time(int(idx) / float(fps))
            if hint_supported:
                estimator.set_rotation_hint(rotation)
            used_box = box if tracking and not own else None
            res = estimator.predict(rgb, None if used_box is None else used_box[None])
            if missing is None and "missing_keypoints" in res.meta:
                missing = list(res.meta["missing_keypoints"])
            inst, conf = _pick(res, used_box)
            rot, path = _rotation_of(res), _path_of(res)
            if own:
                followed = _tracked_of(res)
                if inst is not None and (had_pose if followed is None else followed):
                    n_tracked += 1
                elif had_pose:
                    n_redetect += 1
                else:
                    n_detect += 1
                had_pose = inst is not None
            elif used_box is None:
                n_detect += 1
            elif inst is None or conf < cfg.redetect_score:
                n_redetect += 1
                res2 = estimator.predict(rgb, None)
                inst2, conf2 = _pick(res2, None)
                if inst2 is not None and (inst is None or conf2 > conf):
                    inst, conf, rot, path = inst2, conf2, _rotation_of(res2), _path_of(res2)
            else:
                n_tracked += 1
            if inst is None or conf < cfg.redetect_score:
                if inst is None:
                    n_lost += 1
                box = None
            else:
                box = None if own else _next_box(box, inst, frame_size, cfg)
                if rot is not None:
                    rotation = rot
                    rotations[rot] = rotations.get(rot, 0) + 1
            row = np.full((k, 3), np.nan)
            row[:, 2] = 0.0
            if inst is not None:
                row = inst
            rows.append(row)
            paths.append(path if inst is not None else None)
            frame_rotations.append(rot if inst is not None else None)
            indices.append(int(idx))
            if progress is not None:
                progress(1)
    finally:
        restore()
    elapsed = time.perf_counter() - t0
    data = np.stack(rows)[:, None] if rows else np.zeros((0, 1, k, 3))
    meta = {"model": estimator.name,
            "tracking": {"enabled": bool(tracking),
                         "method": "own" if own else "box" if tracking else "off",
                         "frames": len(rows), "detected": n_detect,
                         "tracked": n_tracked, "redetections": n_redetect, "lost": n_lost,
                         "rotations": {str(r): c for r, c in sorted(rotations.items())},
                         "rotation_kept": hint_supported or video_mode,
                         "seconds": round(elapsed, 3),
                         "margin": cfg.margin, "redetect_score": cfg.redetect_score}}
    if any(p is not None for p in paths):
        meta["path"] = paths
    if any(r is not None for r in frame_rotations):
        meta["rotation"] = frame_rotations
    if missing:
        meta["missing_keypoints"] = missing
    return Poses(data, estimator.schema, source=source, frame_indices=np.asarray(indices, int),
                 fps=fps, frame_size=frame_size, meta=meta)


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
