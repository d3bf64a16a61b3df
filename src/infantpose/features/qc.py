"""Honest missing data: time grid, confidence gaps, bounded interpolation, quality numbers.

Seed ``000_``'s pipeline drops frames without a detection and interpolates across them whatever
their length, and keeps every keypoint whatever its confidence. Here:

* time comes from the video's own frame numbers (``Poses.frame_indices`` / ``fps``), never from
  row numbers: frames a reader skipped become explicit gaps on a uniform grid;
* keypoints scored below a confidence threshold become gaps;
* only gaps up to ``max_gap`` seconds are interpolated (cubic spline through the valid samples,
  evaluated inside the short gap only); longer gaps stay missing and no derivative is taken
  across them;
* quality numbers (coverage, mean confidence, RMS jerk, fps, duration) travel with the features.
"""

from __future__ import annotations

import numpy as np

from infantpose._validate import frame_span_limit
from infantpose._validate import MAX_FPS, MIN_FPS
from infantpose.features.kinematics import derivative, second_derivative
from infantpose.gaps import fill_gaps

__all__ = ["MAX_FPS", "MIN_FPS", "fill_short_gaps", "rms_jerk", "time_grid"]



def time_grid(frame_indices: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Uniform grid covering the recorded frames: ``(times, rows)``.

    ``times`` (G,) are seconds of every frame number from the first to the last recorded one;
    ``rows`` (F,) give the grid position of each recorded frame. Raises ValueError for repeated
    or decreasing frame numbers, an fps outside :data:`MIN_FPS`..:data:`MAX_FPS`, or frame
    numbers spread so far apart that the grid would exceed :func:`~infantpose._validate.frame_span_limit` (checked before
    anything is allocated: a file whose frame numbers reach 1e9 must not exhaust memory).
    """
    idx = np.asarray(frame_indices, dtype=np.int64).reshape(-1)
    if not (fps and np.isfinite(fps) and MIN_FPS <= fps <= MAX_FPS):
        raise ValueError(f"fps must be a frame rate between {MIN_FPS:g} and {MAX_FPS:g}, "
                         f"got {fps!r}")
    if idx.size == 0:
        return np.zeros(0), np.zeros(0, dtype=np.int64)
    if np.any(np.diff(idx) <= 0):
        raise ValueError("frame numbers must be strictly increasing (repeated or unordered frames)")
    span = int(idx[-1]) - int(idx[0]) + 1
    if span > frame_span_limit(idx.size):
        raise ValueError(f"frame numbers run from {int(idx[0])} to {int(idx[-1])} for only "
                         f"{idx.size} recorded frames (a {span:,}-frame time grid, over the "
                         f"limit of {frame_span_limit(idx.size):,}); are the frame_indices right?")
    rows = idx - idx[0]
    times = (idx[0] + np.arange(rows[-1] + 1)) / float(fps)
    return times, rows


def fill_short_gaps(values: np.ndarray, times: np.ndarray, max_gap_s: float) -> np.ndarray:
    """Fill interior NaN runs lasting at most ``max_gap_s`` seconds; longer ones stay NaN.

    ``values`` is (T,) or (T, D) on the uniform grid ``times`` (T,). A run of n missing samples at
    frame interval dt lasts n * dt seconds. Runs touching either end are never filled (there is
    nothing to interpolate towards). Filling uses a cubic spline through all valid samples of the
    column (exact for smooth motion sampled at video rates); with fewer than 4 valid samples,
    linear interpolation (:func:`infantpose.gaps.fill_gaps`). Returns a new array.
    """
    v = np.array(values, dtype=float, copy=True)
    t = np.asarray(times, float)
    if len(t) < 2 or max_gap_s <= 0:
        return v
    dt = float(np.median(np.diff(t)))
    max_n = int(np.floor(max_gap_s / dt + 1e-9))
    return fill_gaps(v, max_n, times=t, method="cubic")[0]


def rms_jerk(positions: np.ndarray, dt: float) -> float:
    """Root-mean-square jerk magnitude of (T, D) positions sampled every ``dt`` s (NaN-aware).

    Jerk (third derivative) is where tracking noise shows most: a high value on smooth infant
    movement means jittery keypoints. Units: position units / s^3.
    """
    j = derivative(second_derivative(np.asarray(positions, float), dt), dt)
    mag2 = np.nansum(j ** 2, axis=-1)
    mag2[np.isnan(j).any(axis=-1)] = np.nan
    if not np.isfinite(mag2).any():
        return float("nan")
    return float(np.sqrt(np.nanmean(mag2)))
