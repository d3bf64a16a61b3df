"""Short synthetic clips: one infant moving smoothly in a fixed scene, as video + per-frame labels.

Each joint angle follows a sum of a few slow sinusoids (0.15–1.2 Hz, the tempo of spontaneous
infant "fidgety"/"writhing" movements) centred in its posture's range, so trajectories are smooth
with bounded velocity and acceleration — the ground truth for testing temporal filters and
trackers. The scene (camera, clothes, blanket, lighting) stays fixed; sensor noise changes per
frame like in a real camera.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from infantpose.errors import InputError
from infantpose.schemas import Schema
from infantpose.synth.body import ANGLE_LIMITS, Pose
from infantpose.synth.generate import check_schema, parse_size, render_frame, sample_scene
from infantpose.synth.poses import place_on_mattress, posture_ranges

__all__ = ["MAX_FREQ_HZ", "angle_trajectory", "render_clip", "write_clip"]

MAX_FREQ_HZ = 1.2


def angle_trajectory(posture: str, times: np.ndarray, rng: np.random.Generator,
                     amplitude: float = 0.8) -> np.ndarray:
    """(T, A) joint angles: each angle = centre + half-range × amplitude × Σ_k a_k sin(2π f_k t + φ_k)
    with Σ a_k = 1, so angles stay inside the posture's range and |d²θ/dt²| ≤ half-range ×
    amplitude × (2π · MAX_FREQ_HZ)²."""
    r = posture_ranges(posture)
    c, hw = r.mean(axis=1), (r[:, 1] - r[:, 0]) / 2
    A = len(c)
    n = 3
    f = rng.uniform(0.15, MAX_FREQ_HZ, (A, n))
    ph = rng.uniform(0, 2 * np.pi, (A, n))
    a = rng.dirichlet(np.ones(n), size=A)
    start = rng.uniform(-0.3, 0.3, A)  # a random mean posture within the range
    t = np.asarray(times, float)[:, None, None]
    wave = (a * np.sin(2 * np.pi * f * t + ph)).sum(axis=-1)  # (T, A) in [-1, 1]
    ang = c + hw * (start * (1 - amplitude) + amplitude * wave)
    return np.clip(ang, ANGLE_LIMITS[:, 0], ANGLE_LIMITS[:, 1])


def render_clip(seed: int, seconds: float, fps: float = 15.0, schema: Schema | str = "infant22",
                size: tuple[int, int] | str | None = (640, 480), style: str = "home",
                posture: str | None = "supine",
                progress: Callable[[int], None] | None = None):
    """Render a clip: ``(frames, Poses, visibility)``.

    ``frames``: list of (H, W, 3) uint8 RGB; ``Poses``: one instance per frame with ``fps`` set
    (keypoints out of the frame are missing); ``visibility``: (T, K) COCO codes.
    """
    from infantpose.poses import Poses

    s = check_schema(schema)
    size = parse_size(size)
    if not (seconds > 0) or not np.isfinite(seconds):
        raise InputError(None, f"clip length must be a positive number of seconds, got {seconds!r}")
    if not (fps > 0) or not np.isfinite(fps):
        raise InputError(None, f"fps must be positive, got {fps!r}")
    T = max(1, round(seconds * fps))
    rng = np.random.default_rng([int(seed), 1_000_003])
    scene, pose0 = sample_scene(rng, size=size, style=style, posture=posture)
    traj = angle_trajectory(scene.posture, np.arange(T) / fps, rng)
    frames, kps, vis = [], [], []
    for t in range(T):
        pose = place_on_mattress(scene.shape, Pose(traj[t], pose0.root_R, pose0.root_t))
        smp = render_frame(scene, pose, s.keypoints, np.random.default_rng([int(seed), 2, t]))
        frames.append(smp.image)
        kps.append(smp.keypoints)
        vis.append(smp.visibility)
        if progress is not None:
            progress(1)
    vis_arr = np.stack(vis)
    data = np.zeros((T, 1, s.num_keypoints, 3))
    data[:, 0, :, :2] = np.stack(kps)
    data[:, 0, :, 2] = (vis_arr > 0).astype(float)
    h, w = frames[0].shape[:2]
    poses = Poses(data, s, source="infantpose.synth clip", fps=float(fps), frame_size=(w, h),
                  meta={"generator": "infantpose.synth", "seed": int(seed), "style": style,
                        "posture": scene.posture, "visibility": vis_arr.tolist()})
    return frames, poses, vis_arr


def write_clip(video_path: str | os.PathLike, seconds: float, seed: int = 0, fps: float = 15.0,
               schema: Schema | str = "infant22", size: tuple[int, int] | str | None = (640, 480),
               style: str = "home", posture: str | None = "supine",
               progress: Callable[[int], None] | None = None) -> tuple[Path, Path]:
    """Write the clip to ``video_path`` (.mp4/.avi/.mov/.mkv) and its labels as Poses JSON next
    to it (``<stem>.json``, visibility in ``meta["visibility"]``); both atomically."""
    from infantpose._atomic import ensure_writable_dir
    from infantpose.io.video import write_video

    vp = Path(video_path)
    if vp.suffix.lower() not in (".mp4", ".avi", ".mov", ".mkv"):
        raise InputError(vp, "video output must be .mp4, .avi, .mov or .mkv")
    ensure_writable_dir(vp.parent if str(vp.parent) else ".")
    frames, poses, _ = render_clip(seed, seconds, fps, schema, size, style, posture, progress)
    labels = vp.with_suffix(".json")
    write_video(vp, frames, fps)
    poses.save_json(labels)
    return vp, labels
