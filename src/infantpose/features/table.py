"""Movement features of one recording (or its windows) as a flat dict, and of many as a table.

The pipeline for one :class:`~infantpose.poses.Poses` (after seed ``000_`` and Chambers et al.
2020, with the missing-data handling of :mod:`.qc`):

1. pick the infant (the instance with the highest total keypoint score) and the 12 body
   keypoints (shoulders, elbows, wrists, hips, knees, ankles); in infant-22 poses a palm/sole stands
   in for a missing wrist/ankle;
2. keypoints scored below ``conf`` become gaps; frames go onto a uniform time grid built from the
   video's own frame numbers and fps, so frames a reader skipped are gaps too;
3. every frame is normalised (:mod:`.normalise`): pelvis-centred, body axis up, trunk length 1;
4. gaps up to ``max_gap`` seconds are filled, longer ones stay missing (:mod:`.qc`);
5. features of wrists and ankles (:mod:`.kinematics`), of elbow/knee/shoulder/hip angles
   (:mod:`.angles`), left-right correlations, and QC columns.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from infantpose.errors import InputError
from infantpose.features.angles import (angle_features, angular_acceleration, angular_velocity,
                                        joint_angle, lr_correlation)
from infantpose.features.kinematics import derivative, position_features, second_derivative
from infantpose.features.normalise import normalise_frames
from infantpose.features.qc import fill_short_gaps, time_grid
from infantpose.io.posefiles import read_pose_file
from infantpose.poses import Poses

__all__ = ["BODY_KEYPOINTS", "FeatureConfig", "Series", "ID_COLUMNS", "body_series",
           "feature_rows", "features_table", "summarise", "video_name"]

SIDES = ("left", "right")
BODY_KEYPOINTS = tuple(f"{s}_{j}" for j in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
                       for s in SIDES)
_K = {n: i for i, n in enumerate(BODY_KEYPOINTS)}
STAND_INS = {"left_wrist": "left_palm", "right_wrist": "right_palm",
             "left_ankle": "left_sole", "right_ankle": "right_sole"}
LIMB_ENDS = ("left_wrist", "right_wrist", "left_ankle", "right_ankle")
JOINTS = ("elbow", "knee", "shoulder", "hip")
ID_COLUMNS = ("video", "file", "schema", "window", "t_start", "t_end", "qc_flag")
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv")


@dataclass
class FeatureConfig:
    """Options of the feature extraction (defaults as on the command line)."""

    conf: float = 0.3
    max_gap: float = 0.2
    min_coverage: float = 0.6
    windows: float | None = None
    fps: float | None = None
    min_duration: float = 1.0
    position_bin: float = 0.02


@dataclass
class Series:
    """Per-grid-sample series of one recording in body coordinates.

    ``body`` (G, 12, 2) after gap filling; ``detected`` (G, 12) valid before filling;
    ``scores`` (G, 12) keypoint scores (NaN on grid rows with no recorded frame).
    """

    times: np.ndarray
    fps: float
    body: np.ndarray
    detected: np.ndarray
    scores: np.ndarray
    stand_in: float = 0.0
    derived: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def dt(self) -> float:
        return 1.0 / self.fps


def _pick_instance(data: np.ndarray) -> int:
    s = np.nan_to_num(data[..., 2]).sum(axis=(0, 2))
    return int(np.argmax(s)) if s.size else 0


def body_series(poses: Poses, conf: float = 0.3, max_gap: float = 0.2,
                fps: float | None = None) -> Series:
    """Steps 1-4 of the pipeline: the normalised, gap-filled body keypoints of ``poses``.

    Raises ValueError with a user-facing message for unusable input (no fps, no instances, a
    schema without the body keypoints, bad frame numbers).
    """
    schema = poses.schema
    if not all(k in schema.keypoints for k in BODY_KEYPOINTS):
        try:
            poses = poses.convert("coco17")
        except InputError:
            raise ValueError(f"schema {schema.name} lacks the body keypoints features need") from None
        schema = poses.schema
    rate = fps or poses.fps
    if not rate:
        raise ValueError("no fps recorded (features need the video's clock; pass --fps)")
    if poses.n_instances == 0 or poses.n_frames == 0:
        raise ValueError("no poses in the file")
    inst = poses.data[:, _pick_instance(poses.data)]
    kp = np.stack([inst[:, schema.index(n)] for n in BODY_KEYPOINTS], axis=1)  # (F, 12, 3)
    kp = kp.copy()
    valid = (np.nan_to_num(kp[..., 2]) >= conf) & np.isfinite(kp[..., :2]).all(-1)
    used = 0
    n_ends = 0
    for name, sub in STAND_INS.items():
        if sub not in schema.keypoints:
            continue
        j = _K[name]
        alt = inst[:, schema.index(sub)]
        ok_alt = (np.nan_to_num(alt[:, 2]) >= conf) & np.isfinite(alt[:, :2]).all(-1)
        take = ~valid[:, j] & ok_alt
        kp[take, j] = alt[take]
        valid[take, j] = True
        used += int(take.sum())
        n_ends += len(take)
    xy = np.where(valid[..., None], kp[..., :2], np.nan)
    times, rows = time_grid(poses.frame_index_array(), float(rate))
    g = len(times)
    grid = np.full((g, len(BODY_KEYPOINTS), 2), np.nan)
    grid[rows] = xy
    scores = np.full((g, len(BODY_KEYPOINTS)), np.nan)
    scores[rows] = np.nan_to_num(kp[..., 2])
    body = normalise_frames(grid, _K["left_hip"], _K["right_hip"], _K["left_shoulder"],
                            _K["right_shoulder"])
    detected = np.isfinite(body).all(-1)
    flat = body.reshape(g, -1)
    body = fill_short_gaps(flat, times, max_gap).reshape(body.shape)
    s = Series(times, float(rate), body, detected, scores, used / n_ends if n_ends else 0.0)
    _derive(s)
    return s


def _derive(s: Series) -> None:
    """Velocities, accelerations, jerks, angles and angular derivatives on the whole series."""
    b, dt, d = s.body, s.dt, s.derived
    for name in LIMB_ENDS:
        p = b[:, _K[name]]
        v = derivative(p, dt)
        a = second_derivative(p, dt)
        d[f"{name}/pos"], d[f"{name}/vel"], d[f"{name}/acc"] = p, v, a
        d[f"{name}/jerk"] = derivative(a, dt)
    neck = np.zeros_like(b[:, 0])
    neck[:, 1] = 1.0
    neck[np.isnan(b[:, _K["left_shoulder"], 0])] = np.nan
    for side in SIDES:
        other = "right" if side == "left" else "left"
        k = {n: b[:, _K[f"{side}_{n}"]] for n in ("shoulder", "elbow", "wrist", "hip", "knee",
                                                 "ankle")}
        ang = {
            "elbow": joint_angle(k["shoulder"], k["elbow"], k["wrist"]),
            "knee": joint_angle(k["hip"], k["knee"], k["ankle"]),
            "shoulder": joint_angle(neck, k["shoulder"], k["elbow"], signed=True),
            "hip": joint_angle(b[:, _K[f"{other}_hip"]], k["hip"], k["knee"], signed=True),
        }
        for j in ("shoulder", "hip"):
            if side == "left":  # mirror: the same posture on both sides gives the same angle
                ang[j] = np.mod(360.0 - ang[j], 360.0)
        for j, a in ang.items():
            d[f"{side}_{j}/angle"], d[f"{side}_{j}/vel"] = a, angular_velocity(a, dt)
            d[f"{side}_{j}/acc"] = angular_acceleration(a, dt)
        d[f"{side}_wrist/dist"] = np.hypot(*(k["wrist"] - k["shoulder"]).T)
        d[f"{side}_ankle/dist"] = np.hypot(*(k["ankle"] - k["hip"]).T)


def summarise(s: Series, sl: slice = slice(None), cfg: FeatureConfig | None = None) -> dict:
    """QC columns and features of the grid samples ``sl`` of a series (step 5)."""
    cfg = cfg or FeatureConfig()
    d = {k: v[sl] for k, v in s.derived.items()}
    t = s.times[sl]
    n = len(t)
    out: dict[str, float | str] = {}
    detected = s.detected[sl]
    covered = np.isfinite(s.body[sl]).all(-1)
    sc = s.scores[sl]
    recorded = np.isfinite(sc[:, 0])
    jerk = []
    for name in LIMB_ENDS:
        j = d[f"{name}/jerk"]
        m2 = (j ** 2).sum(-1)
        if np.isfinite(m2).any():
            jerk.append(np.sqrt(np.nanmean(m2)))
    coverage = float(covered.mean()) if n else 0.0
    duration = n / s.fps
    flag = "ok"
    if duration < cfg.min_duration:
        flag = "too_short"
    elif coverage < cfg.min_coverage or covered.all(-1).sum() < 3:
        flag = "low_coverage"
    out.update({
        "qc_flag": flag,
        "qc_coverage": coverage,
        "qc_detected": float(detected.mean()) if n else 0.0,
        "qc_interpolated": float((covered & ~detected).mean()) if n else 0.0,
        "qc_mean_conf": float(np.mean(sc[recorded])) if recorded.any() else float("nan"),
        "qc_rms_jerk": float(np.median(jerk)) if jerk else float("nan"),
        "qc_fps": s.fps,
        "qc_duration_s": duration,
        "qc_n_frames": int(recorded.sum()),
        "qc_stand_in": s.stand_in,
    })
    for name in LIMB_ENDS:
        out.update(position_features(d[f"{name}/pos"], d[f"{name}/vel"], d[f"{name}/acc"], name,
                                     cfg.position_bin))
    for side in SIDES:
        for j in JOINTS:
            key = f"{side}_{j}"
            out.update(angle_features(d[f"{key}/angle"], s.dt, f"{key}_angle",
                                      vel=d[f"{key}/vel"], acc=d[f"{key}/acc"]))
    for j in JOINTS:
        out[f"lrcorr_{j}_angle"] = lr_correlation(d[f"left_{j}/angle"], d[f"right_{j}/angle"])
    for end in ("wrist", "ankle"):
        out[f"lrcorr_{end}_dist"] = lr_correlation(d[f"left_{end}/dist"], d[f"right_{end}/dist"])
    return out


def video_name(poses: Poses, path: str | os.PathLike) -> str:
    """The name a recording goes by in tables: the video file's stem when ``source`` names a
    video, else the Poses file's stem."""
    src = poses.source
    if src and Path(src).suffix.lower() in VIDEO_SUFFIXES:
        return Path(src).stem
    return Path(path).stem


def feature_rows(poses: Poses, cfg: FeatureConfig | None = None, video: str = "",
                 file: str = "") -> list[dict]:
    """One row for the whole recording, then (with ``cfg.windows``) one per window.

    Windows are consecutive, ``cfg.windows`` seconds long, from the first frame; a last partial
    window is kept when at least half as long. Derivatives come from the whole series, so window
    edges add no artefacts. Raises ValueError for unusable input.
    """
    cfg = cfg or FeatureConfig()
    s = body_series(poses, cfg.conf, cfg.max_gap, cfg.fps)
    base = {"video": video, "file": file, "schema": poses.schema.name}
    t0 = float(s.times[0]) if len(s.times) else 0.0
    t1 = float(s.times[-1]) + s.dt if len(s.times) else 0.0
    rows = [{**base, "window": "all", "t_start": t0, "t_end": t1, **summarise(s, slice(None), cfg)}]
    if cfg.windows:
        per = max(1, int(round(cfg.windows * s.fps)))
        g = len(s.times)
        for w, start in enumerate(range(0, g, per)):
            stop = min(g, start + per)
            if stop - start < per / 2 and w > 0:
                break
            rows.append({**base, "window": str(w), "t_start": float(s.times[start]),
                         "t_end": float(s.times[stop - 1]) + s.dt,
                         **summarise(s, slice(start, stop), cfg)})
    return rows


def features_table(paths: list[str | os.PathLike], cfg: FeatureConfig | None = None,
                   progress=None):
    """A pandas DataFrame of features for pose files (a poses .json or any file
    :func:`~infantpose.io.posefiles.read_pose_file` reads; InputError naming a bad file)."""
    # imported here: pandas (about 1 s) loads when a table is built, not with the feature functions
    import pandas as pd

    rows: list[dict] = []
    seen: dict[str, str] = {}
    for p in paths:
        poses = read_pose_file(p)
        name = video_name(poses, p)
        if name in seen:
            raise InputError(p, f"video name {name!r} also comes from {seen[name]}; "
                                "rename one file")
        seen[name] = str(p)
        try:
            rows += feature_rows(poses, cfg, name, str(p))
        except ValueError as e:
            raise InputError(p, str(e)) from None
        if progress is not None:
            progress(1)
    return pd.DataFrame(rows)
