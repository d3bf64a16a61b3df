"""Sampling infant postures: supine (flexed limbs, kicking), prone, side-lying, sitting, crawling.

Each posture is a box of joint-angle ranges (degrees, :data:`~infantpose.synth.body.ANGLE_NAMES`)
inside the anatomical limits, plus a global orientation of the body on the mattress (world z is
up, the mattress is the plane z = 0). The heading in the mattress plane is uniform, so infants lie
in every direction of the image.
"""

from __future__ import annotations

import numpy as np

from infantpose.synth.body import (
    ANGLE_LIMITS,
    ANGLE_NAMES,
    BodyShape,
    Pose,
    lowest_point,
    pose_body,
    rotation_from_axes,
)

__all__ = ["POSTURES", "POSTURE_WEIGHTS", "place_on_mattress", "posture_ranges", "ranges_with",
           "sample_angles", "sample_pose"]

POSTURES = ("supine", "prone", "side", "sitting", "crawling")
# Supine dominates infant videos (GMA recordings are supine); the others add variety.
POSTURE_WEIGHTS = np.array([0.5, 0.15, 0.13, 0.11, 0.11])

# Ranges per posture: name -> (lo, hi). Unlisted angles use _DEFAULT. "*" is expanded to both
# sides, drawn independently (asymmetric limbs are the rule in infants).
_DEFAULT = {
    "spine_flex": (-5, 15), "spine_lat": (-10, 10), "spine_twist": (-10, 10),
    "neck_flex": (-10, 15), "neck_lat": (-15, 15), "neck_turn": (-60, 60),
    "*_shoulder_abd": (10, 110), "*_shoulder_flex": (-10, 90), "*_shoulder_twist": (-30, 60),
    "*_elbow_flex": (20, 135), "*_wrist_flex": (-30, 50),
    "*_hip_abd": (5, 45), "*_hip_flex": (30, 110), "*_hip_twist": (0, 50),
    "*_knee_flex": (30, 130), "*_ankle_flex": (-25, 30),
}
_POSTURE_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    # On the back: "jug handle" arms, frog legs, kicking (hips/knees anywhere from tucked to
    # nearly straight).
    "supine": {"*_shoulder_flex": (-15, 100), "*_hip_flex": (15, 120), "*_knee_flex": (10, 135)},
    # On the tummy: head lifted and turned, forearms on the mattress, legs frog or straight.
    "prone": {"neck_flex": (-40, -5), "neck_turn": (-70, 70), "spine_flex": (-20, 0),
              "*_shoulder_abd": (40, 110), "*_shoulder_flex": (20, 110),
              "*_shoulder_twist": (-40, 20), "*_elbow_flex": (50, 140),
              "*_hip_flex": (-10, 50), "*_hip_abd": (10, 50), "*_knee_flex": (0, 100)},
    "side": {"spine_flex": (5, 30), "*_shoulder_abd": (0, 50), "*_shoulder_flex": (30, 100),
             "*_hip_flex": (40, 110), "*_hip_abd": (0, 25), "*_knee_flex": (40, 130)},
    # Sitting: trunk up, legs forward (hips flexed ~90°), arms free or propping.
    "sitting": {"spine_flex": (0, 25), "neck_flex": (-15, 20), "*_shoulder_abd": (5, 60),
                "*_shoulder_flex": (-10, 70), "*_elbow_flex": (0, 100),
                "*_hip_flex": (70, 100), "*_hip_abd": (15, 50), "*_hip_twist": (10, 50),
                "*_knee_flex": (5, 90)},
    # Hands and knees: arms straight down to the mattress, thighs down, shanks back.
    "crawling": {"spine_flex": (-15, 10), "neck_flex": (-40, -10), "neck_turn": (-30, 30),
                 "*_shoulder_abd": (0, 20), "*_shoulder_flex": (65, 100),
                 "*_shoulder_twist": (-10, 20), "*_elbow_flex": (0, 25), "*_wrist_flex": (-40, 0),
                 "*_hip_abd": (0, 20), "*_hip_flex": (70, 100), "*_hip_twist": (-10, 10),
                 "*_knee_flex": (85, 115), "*_ankle_flex": (-30, 0)},
}


def _ranges(posture: str, extra: dict[str, tuple[float, float]] | None = None) -> np.ndarray:
    table = dict(_DEFAULT)
    table.update(_POSTURE_RANGES[posture])
    table.update(extra or {})
    out = ANGLE_LIMITS.copy()
    for i, name in enumerate(ANGLE_NAMES):
        key = name if name in table else "*_" + name.split("_", 1)[1]
        if key in table:
            out[i] = table[key]
    return np.clip(out, ANGLE_LIMITS[:, :1], ANGLE_LIMITS[:, 1:])


_RANGES = {p: _ranges(p) for p in POSTURES}


def ranges_with(posture: str, overrides: tuple[tuple[str, str, float, float], ...]
                ) -> np.ndarray:
    """(A, 2) angle bounds of ``posture`` with a style's overrides applied.

    ``overrides`` rows are ``(posture or "*", angle name or "*_suffix", lo, hi)``; rows for
    ``"*"`` apply to every posture and are applied first, so a posture's own row wins. Bounds are
    clipped to the anatomical limits.
    """
    if posture not in POSTURES:
        raise ValueError(f"unknown posture {posture!r}; choose from {', '.join(POSTURES)}")
    if not overrides:
        return _RANGES[posture].copy()
    extra: dict[str, tuple[float, float]] = {}
    for which in ("*", posture):
        for p, name, lo, hi in overrides:
            if p == which:
                extra[name] = (float(lo), float(hi))
    return _ranges(posture, extra)


def sample_angles(posture: str, rng: np.random.Generator,
                  ranges: np.ndarray | None = None) -> np.ndarray:
    """Joint angles (degrees) drawn uniformly inside the posture's ranges (or ``ranges``)."""
    r = _RANGES[posture] if ranges is None else ranges
    return rng.uniform(r[:, 0], r[:, 1])


def posture_ranges(posture: str) -> np.ndarray:
    """(A, 2) low/high angle bounds of a posture (used for smooth clip trajectories)."""
    return _RANGES[posture].copy()


def _orientation(posture: str, heading: float, rng: np.random.Generator) -> np.ndarray:
    h = np.array([np.cos(heading), np.sin(heading), 0.0])
    side = np.array([-np.sin(heading), np.cos(heading), 0.0])
    up = np.array([0, 0, 1.0])
    tilt = np.deg2rad(rng.uniform(-8, 8))
    if posture == "supine":
        sup, ant = h, up + side * np.tan(tilt)
    elif posture == "prone":
        sup, ant = h, -up + side * np.tan(tilt)
    elif posture == "side":
        sgn = rng.choice([-1.0, 1.0])
        sup, ant = h, sgn * side + up * rng.uniform(-0.35, 0.35)
    elif posture == "sitting":
        sup = up + h * rng.uniform(-0.1, 0.35) + side * np.tan(tilt)
        ant = h
    elif posture == "crawling":
        sup, ant = h + up * rng.uniform(-0.1, 0.2), -up
    else:
        raise ValueError(f"unknown posture {posture!r}; choose from {', '.join(POSTURES)}")
    return rotation_from_axes(sup, ant)


def place_on_mattress(shape: BodyShape, pose: Pose) -> Pose:
    """Shift the pose vertically so the lowest body surface touches the mattress (z = 0)."""
    body = pose_body(shape, pose)
    low = lowest_point(body)
    return Pose(pose.angles, pose.root_R, pose.root_t - np.array([0, 0, low]))


def sample_pose(posture: str, shape: BodyShape, rng: np.random.Generator,
                heading: float | None = None, ranges: np.ndarray | None = None) -> Pose:
    """A random pose of ``posture`` lying on the mattress, heading uniform unless given;
    ``ranges`` (from :func:`ranges_with`) replaces the posture's angle bounds."""
    if posture not in POSTURES:
        raise ValueError(f"unknown posture {posture!r}; choose from {', '.join(POSTURES)}")
    angles = sample_angles(posture, rng, ranges)
    if heading is None:
        heading = float(rng.uniform(0, 2 * np.pi))
    R = _orientation(posture, heading, rng)
    return place_on_mattress(shape, Pose(angles, R, np.zeros(3)))
