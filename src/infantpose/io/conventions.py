"""What a keypoint means in the pose files of the field's tools, in one place.

Every pose format infantpose writes (SLEAP ``.slp``, NWB, DeepLabCut CSV, movement netCDF) and
reads (those, plus SLEAP analysis ``.h5``) follows the same three rules:

* **Pixel centres.** infantpose puts the centre of the top-left pixel at (0.5, 0.5) (an image
  spans [0, W] × [0, H]); SLEAP, DeepLabCut, NWB files of these tools and movement put it at
  (0, 0). Writers subtract :data:`PIXEL_CENTRE_SHIFT` and readers add it back. For coordinates of
  at least 0.5 px the subtraction is exact in float64 (0.5 is a multiple of the spacing of every
  float64 below 2**52, and the result is smaller), so infantpose -> file -> infantpose gives the
  very same numbers; the other way (file -> infantpose -> file) is exact except where adding 0.5
  crosses a power of two, where it may differ by one unit in the last place (about 1e-14 px).
  (sleap-io's ``Labels.numpy()``, and so movement, hand out ``.slp`` points as float32: about
  2e-6 px at 64 px; the file itself keeps float64.)
* **A missing keypoint** (not found in a frame that was analysed) is x = y = NaN with confidence
  **0.0** in every format: an empty cell beside a likelihood of 0 in DeepLabCut CSV, a NaN point
  with score 0 in SLEAP, NaN position with confidence 0 in NWB and movement. (DeepLabCut CSV
  needs the 0: its rows of empty cells mark frames that were never analysed.) Readers accept any
  confidence with a NaN position (e.g. NaN from other tools) and store the point as missing.
* **A point without a confidence** (a NaN or absent score beside a real position, as in
  hand-labelled data) is read with confidence 1.0: someone placed it.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from infantpose.errors import InputError
from infantpose.poses import Poses

__all__ = ["MISSING_SCORE", "PIXEL_CENTRE_SHIFT", "UNSCORED", "check_frames", "file_points",
           "poses_points", "resolve_reference", "video_reference"]

#: infantpose x, y minus this = SLEAP / DeepLabCut / NWB / movement x, y.
PIXEL_CENTRE_SHIFT = 0.5
#: The confidence every format stores for a missing keypoint.
MISSING_SCORE = 0.0
#: The confidence given, on reading, to a point that has a position but no score.
UNSCORED = 1.0


def file_points(data: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """infantpose ``(..., 3)`` keypoints -> a file's ``(..., 2)`` positions and ``(...)``
    confidences: pixel centres on whole numbers, missing points NaN with confidence 0."""
    data = np.asarray(data, dtype=float)
    present = np.isfinite(data[..., 0]) & np.isfinite(data[..., 1])
    xy = np.where(present[..., None], data[..., :2] - PIXEL_CENTRE_SHIFT, np.nan)
    conf = np.where(present, np.nan_to_num(data[..., 2], nan=UNSCORED), MISSING_SCORE)
    return xy, conf


def poses_points(xy: np.ndarray, conf: np.ndarray | None = None) -> np.ndarray:
    """A file's ``(..., 2)`` positions and ``(...)`` confidences -> infantpose ``(..., 3)``
    keypoints (the inverse of :func:`file_points`; NaN or absent confidences of placed points
    become 1.0, any point without both coordinates is missing)."""
    xy = np.asarray(xy, dtype=float)
    present = np.isfinite(xy).all(axis=-1)
    out = np.empty(xy.shape[:-1] + (3,))
    out[..., :2] = np.where(present[..., None], xy + PIXEL_CENTRE_SHIFT, np.nan)
    score = (np.full(xy.shape[:-1], UNSCORED) if conf is None
             else np.nan_to_num(np.asarray(conf, dtype=float), nan=UNSCORED))
    out[..., 2] = np.where(present, score, MISSING_SCORE)
    return out


def check_frames(poses: Poses, path: str | os.PathLike) -> np.ndarray:
    """The frame numbers of ``poses`` (InputError unless they increase strictly)."""
    idx = poses.frame_index_array().astype(int)
    if len(idx) > 1 and np.any(np.diff(idx) <= 0):
        raise InputError(path, "frame numbers must be strictly increasing to write a pose file")
    return idx


def video_reference(source: str | None, folder: str | os.PathLike) -> str | None:
    """The video ``source`` (a path as given on the command line, relative to the working
    folder) as a path relative to ``folder``, the folder of the pose file that names it, so
    the reference resolves from the file's own folder (as SLEAP and NWB advise). None when
    there is no source; the path unchanged when it cannot be made relative (another drive)."""
    if not source:
        return None
    try:
        return Path(os.path.relpath(os.path.abspath(source), os.path.abspath(folder))).as_posix()
    except ValueError:
        return str(source)


def resolve_reference(reference: str | None, pose_file: str | os.PathLike) -> str | None:
    """A video path read from a pose file, as a path from the working folder: a relative path
    is taken from the pose file's folder (as :func:`video_reference` writes it), unless only
    the path as stored exists."""
    if not reference:
        return None
    p = Path(reference)
    if p.is_absolute():
        return str(reference)
    candidate = Path(os.path.normpath(Path(pose_file).parent / p))
    if not candidate.exists() and p.exists():
        return str(reference)
    return str(candidate)
