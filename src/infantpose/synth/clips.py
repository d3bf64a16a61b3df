"""Short synthetic clips: one infant moving smoothly in a fixed scene, as video + per-frame labels.

Each joint angle follows a sum of a few slow sinusoids (0.15–1.2 Hz, the tempo of spontaneous
infant "fidgety"/"writhing" movements) centred in its posture's range, so trajectories are smooth
with bounded velocity and acceleration — the ground truth for testing temporal filters and
trackers. The scene (camera, clothes, blanket, lighting) stays fixed; sensor noise changes per
frame like in a real camera.

Movement styles (``movement=``), after the General Movement Assessment descriptions used in seed
``000_``'s clinical setting (Prechtl's GMA; Einspieler & Prechtl 2005):

* ``normal``: varied, fluent movement of all four limbs; every angle its own mix of sinusoids, so
  left and right move independently (asymmetric) and the repertoire is rich.
* ``cramped``: cramped-synchronised; rigid limbs that contract and relax almost together: one
  shared, abrupt (square-ish) waveform drives every limb angle on both sides at once, with only a
  small independent part, so left-right correlation is high and variety low.
* ``poor``: poor repertoire; monotonous, low-amplitude movement: every angle one slow sinusoid at a
  shared tempo with a small amplitude.

Labels are exact for every style: they come from the rendered body, not from the style.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from infantpose._atomic import ensure_writable_dir
from infantpose.errors import InputError
from infantpose.io.video import write_video
from infantpose.poses import Poses
from infantpose.schemas import Schema
from infantpose.synth.body import ANGLE_LIMITS, ANGLE_NAMES, Pose
from infantpose.synth.generate import check_schema, parse_size, render_frame, sample_scene
from infantpose.synth.poses import place_on_mattress, posture_ranges

__all__ = ["MAX_FREQ_HZ", "MOVEMENTS", "angle_trajectory", "render_clip", "write_clip"]

MAX_FREQ_HZ = 1.2
MOVEMENTS = ("normal", "cramped", "poor")
_LIMB = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")


def _check_movement(movement: str) -> str:
    if movement not in MOVEMENTS:
        raise InputError(None, f"unknown movement {movement!r}; choose from {', '.join(MOVEMENTS)}")
    return movement


def _mirror_slots() -> np.ndarray:
    """For every angle, the index of the first angle with the same anatomical name (the left
    side's angle for right-side angles), so per-slot values are mirror-symmetric."""
    key = [n.split("_", 1)[1] if n.startswith(("left_", "right_")) else n for n in ANGLE_NAMES]
    first = {k: key.index(k) for k in key}
    return np.array([first[k] for k in key])


def _styled_wave(movement: str, t: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """(T, A) waveform in [-1, 1] and the amplitude fraction for the cramped/poor styles."""
    A = len(ANGLE_NAMES)
    limb = np.array([any(j in n for j in _LIMB) for n in ANGLE_NAMES])
    # the same anatomical angle on both sides shares a slot: mirror-symmetric movement
    key = [n.split("_", 1)[1] if n.startswith(("left_", "right_")) else n for n in ANGLE_NAMES]
    slots = {k: i for i, k in enumerate(dict.fromkeys(key))}
    slot = np.array([slots[k] for k in key])
    tt = t[:, None]
    if movement == "cramped":
        f = rng.uniform(0.3, 0.7)
        ph = rng.uniform(0, 2 * np.pi)
        k = rng.uniform(2.0, 4.0)  # steepness: contraction and release are abrupt
        shared = np.tanh(k * np.sin(2 * np.pi * f * tt + ph)) / np.tanh(k)       # (T, 1)
        sign = rng.choice([-1.0, 1.0], len(slots))[slot]        # flex some joints, extend others
        coupling = rng.uniform(0.75, 0.95)
        own_f = rng.uniform(0.15, MAX_FREQ_HZ, A)           # each side its own small part
        own_ph = rng.uniform(0, 2 * np.pi, A)
        own = np.sin(2 * np.pi * own_f * tt + own_ph)
        wave = coupling * sign * shared + (1 - coupling) * own
        wave[:, ~limb] *= 0.3                                   # trunk and head nearly still
        return wave, rng.uniform(0.45, 0.7)
    # poor repertoire: one slow sinusoid per angle at a shared tempo, small amplitude
    f = rng.uniform(0.2, 0.45)
    ph = rng.uniform(0, 2 * np.pi, A)
    wave = np.sin(2 * np.pi * f * tt + ph)
    return wave, rng.uniform(0.12, 0.3)


def angle_trajectory(posture: str, times: np.ndarray, rng: np.random.Generator,
                     amplitude: float = 0.8, movement: str = "normal",
                     severity: float = 1.0) -> np.ndarray:
    """(T, A) joint angles: each angle = centre + half-range × amplitude × Σ_k a_k sin(2π f_k t + φ_k)
    with Σ a_k = 1, so angles stay inside the posture's range and |d²θ/dt²| ≤ half-range ×
    amplitude × (2π · MAX_FREQ_HZ)².

    ``movement`` selects the style (see the module docstring); ``normal`` is the default and draws
    exactly the trajectories of earlier versions. For ``cramped`` and ``poor`` the style sets the
    amplitude (``amplitude`` is ignored) and ``severity`` in [0, 1] blends the angles of a normal
    trajectory (0) with those of the style (1), for cohorts whose classes overlap."""
    _check_movement(movement)
    if not 0.0 <= severity <= 1.0:
        raise InputError(None, f"severity must be in [0, 1], got {severity}")
    if movement != "normal" and severity < 1.0:
        base = angle_trajectory(posture, times, rng, amplitude, "normal")
        styled = angle_trajectory(posture, times, rng, amplitude, movement, 1.0)
        return (1.0 - severity) * base + severity * styled
    if movement != "normal":
        r = posture_ranges(posture)
        c, hw = r.mean(axis=1), (r[:, 1] - r[:, 0]) / 2
        start = rng.uniform(-0.3, 0.3, len(c))
        if movement == "cramped":  # a symmetric mean posture: both sides held the same way
            start = start[_mirror_slots()]
        wave, amp = _styled_wave(movement, np.asarray(times, float), rng)
        ang = c + hw * (start * (1 - amp) + amp * wave)
        return np.clip(ang, ANGLE_LIMITS[:, 0], ANGLE_LIMITS[:, 1])
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
                progress: Callable[[int], None] | None = None, movement: str = "normal",
                severity: float = 1.0):
    """Render a clip: ``(frames, Poses, visibility)``; ``movement``: normal, cramped or poor
    (``severity``: see :func:`angle_trajectory`).

    ``frames``: list of (H, W, 3) uint8 RGB; ``Poses``: one instance per frame with ``fps`` set
    (keypoints out of the frame are missing); ``visibility``: (T, K) COCO codes.
    """
    s = check_schema(schema)
    size = parse_size(size)
    _check_movement(movement)
    if not (seconds > 0) or not np.isfinite(seconds):
        raise InputError(None, f"clip length must be a positive number of seconds, got {seconds!r}")
    if not (fps > 0) or not np.isfinite(fps):
        raise InputError(None, f"fps must be positive, got {fps!r}")
    T = max(1, round(seconds * fps))
    rng = np.random.default_rng([int(seed), 1_000_003])
    scene, pose0 = sample_scene(rng, size=size, style=style, posture=posture)
    traj = angle_trajectory(scene.posture, np.arange(T) / fps, rng, movement=movement,
                            severity=severity)
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
                        "posture": scene.posture, "movement": movement,
                        "severity": float(severity) if movement != "normal" else 0.0,
                        "visibility": vis_arr.tolist()})
    return frames, poses, vis_arr


def write_clip(video_path: str | os.PathLike, seconds: float, seed: int = 0, fps: float = 15.0,
               schema: Schema | str = "infant22", size: tuple[int, int] | str | None = (640, 480),
               style: str = "home", posture: str | None = "supine",
               progress: Callable[[int], None] | None = None,
               movement: str = "normal", severity: float = 1.0) -> tuple[Path, Path]:
    """Write the clip to ``video_path`` (.mp4/.avi/.mov/.mkv) and its labels as Poses JSON next
    to it (``<stem>.json``, visibility in ``meta["visibility"]``); both atomically."""
    vp = Path(video_path)
    if vp.suffix.lower() not in (".mp4", ".avi", ".mov", ".mkv"):
        raise InputError(vp, "video output must be .mp4, .avi, .mov or .mkv")
    ensure_writable_dir(vp.parent if str(vp.parent) else ".")
    frames, poses, _ = render_clip(seed, seconds, fps, schema, size, style, posture, progress,
                                   movement, severity)
    labels = vp.with_suffix(".json")
    write_video(vp, frames, fps)
    poses.save_json(labels)
    return vp, labels
