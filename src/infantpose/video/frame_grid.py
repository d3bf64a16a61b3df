"""Trajectory arrays ``(T, ..., 3)`` of ``(x, y, score)`` and their time axis: flattening to one
trajectory per column, which points are valid, marking points missing (low scores too), and
placing rows recorded at a video's own frame numbers on the regular frame grid (see
:mod:`infantpose.video.filters` for why time is frame numbers, not row numbers).

Split out of ``video/filters.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["frame_grid", "mask_low_scores", "on_frame_grid"]


# --- helpers -------------------------------------------------------------------------------------
def _flat(data: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """(T, ..., 3) -> a float copy of shape (T, M, 3) and the original shape."""
    arr = np.array(data, dtype=float, copy=True)
    if arr.ndim < 2 or arr.shape[-1] != 3:
        raise ValueError(f"expected an array of shape (T, ..., 3), got {arr.shape}")
    return arr.reshape(arr.shape[0], -1, 3), arr.shape


def _valid(arr: np.ndarray) -> np.ndarray:
    """(T, M) True where the point has finite coordinates."""
    return np.isfinite(arr[..., 0]) & np.isfinite(arr[..., 1])


def _set_missing(arr: np.ndarray, where: np.ndarray) -> None:
    arr[where, 0] = np.nan
    arr[where, 1] = np.nan
    arr[where, 2] = 0.0


def mask_low_scores(data: np.ndarray, min_score: float) -> np.ndarray:
    """A copy in which points scoring below ``min_score`` are missing (NaN, score 0)."""
    arr, shape = _flat(data)
    _set_missing(arr, _valid(arr) & (arr[..., 2] < min_score))
    _set_missing(arr, ~_valid(arr))
    return arr.reshape(shape)


# --- the time axis -------------------------------------------------------------------------------
def frame_grid(frame_indices: Any, n_rows: int, max_step: int | None = None) -> np.ndarray:
    """Grid position of each row: ``frame_indices - frame_indices[0]``, as int64.

    ``frame_indices`` (None: rows are frames 0..n_rows-1) must hold ``n_rows`` strictly
    increasing frame numbers; anything else raises ValueError (repeated or unordered frames have
    no time axis). With ``max_step``, a jump longer than ``max_step`` frames is shortened to
    ``max_step``: a caller whose computation never reaches across more than ``max_step - 1``
    missing frames gets the same result with a grid that stays small when a recording has a long
    hole (hours between two kept frames would otherwise allocate hours of frames).
    """
    if frame_indices is None:
        return np.arange(n_rows, dtype=np.int64)
    idx = np.asarray(frame_indices).reshape(-1)
    if len(idx) != n_rows:
        raise ValueError(f"frame_indices has {len(idx)} entries for {n_rows} frames")
    if n_rows == 0:
        return np.zeros(0, dtype=np.int64)
    if not np.issubdtype(idx.dtype, np.integer):
        if not np.all(np.isfinite(idx)) or np.any(idx != np.round(idx)):
            raise ValueError("frame numbers must be whole numbers")
    idx = idx.astype(np.int64)
    steps = np.diff(idx)
    if np.any(steps <= 0):
        raise ValueError("frame numbers must be strictly increasing (repeated or unordered "
                         "frames)")
    if max_step is not None:
        steps = np.minimum(steps, max(int(max_step), 1))
    return np.concatenate([[0], np.cumsum(steps)]).astype(np.int64)


def on_frame_grid(data: np.ndarray, frame_indices: Any, max_step: int | None = None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``(grid, rows)``: ``data`` (T, ..., 3) placed on its regular frame grid.

    ``grid`` has one row per frame from the first recorded frame to the last (long holes
    shortened to ``max_step``, see :func:`frame_grid`); frames that were not recorded are missing
    points (NaN, score 0). ``grid[rows]`` gives back the recorded rows.
    """
    arr = np.asarray(data, dtype=float)
    rows = frame_grid(frame_indices, arr.shape[0], max_step)
    length = int(rows[-1]) + 1 if len(rows) else 0
    grid = np.full((length,) + arr.shape[1:], np.nan)
    grid[..., 2] = 0.0
    grid[rows] = arr
    return grid, rows
