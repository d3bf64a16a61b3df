"""Temporal clean-up of keypoint trajectories, and the jitter metrics that show it worked.

Per-frame pose estimates jitter and drop out; movement science needs smooth, gap-aware
trajectories (seed ``004_`` found model trajectories smoother than human labels once filtered;
seed ``002_`` adapts models to video to cut jitter). Everything here works on plain arrays of
shape ``(T, ..., 3)`` holding ``(x, y, score)`` with time on axis 0, one trajectory per keypoint
(and instance); missing points are ``x = y = NaN, score = 0`` as everywhere in infantpose. Each
array function returns a new array and never modifies its input. :func:`filter_poses` applies a
whole chain to a :class:`~infantpose.poses.Poses`.

Scores are respected: points scoring below ``min_score`` are treated as missing before any
filter runs. Filters never bridge gaps on their own: the smoothing filters run on each contiguous
run of valid frames separately; only :func:`interpolate_over_time` fills gaps (up to ``max_gap``
frames, and it flags each point it filled).

Time is the video's own frame numbers, never the row number. Video ``Poses`` skip frames the
decoder could not read, so ``Poses.frame_indices`` can jump (0, 1, 2, 9, 10, ...). Every function
that depends on time takes ``frame_indices``: the rows are placed on the regular frame grid
(:func:`frame_grid`), with the skipped frames as missing points, the function runs there with
dt = 1 / fps per grid step, and the result is read back at the recorded frames. So a gap of
skipped frames counts as the time it lasted: interpolation across it is linear in time and only
when the whole gap is at most ``max_gap`` frames, the smoothing filters restart after it, and the
outlier speed bound uses the real time between points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from infantpose.gaps import fill_gaps, true_runs
from infantpose.geometry import body_size
from infantpose.poses import Poses
# the frame grid and the jitter metrics live in their own modules (re-exported here: callers
# and tests import them from this module)
from infantpose.video.frame_grid import (_flat, _set_missing, _valid, frame_grid,  # noqa: F401
                                         mask_low_scores, on_frame_grid)
from infantpose.video.jitter import (high_frequency_power, jitter_table,  # noqa: F401
                                     lag_frames, mean_abs_acceleration)

__all__ = [
    "METHODS", "filter_by_confidence", "interpolate_over_time", "filter_by_speed",
    "median_filter", "savgol_filter", "butterworth_filter", "one_euro_filter", "smooth",
    "body_length", "mask_low_scores", "interpolate_gaps", "reject_outliers", "savgol",
    "butterworth", "one_euro",
    "mean_abs_acceleration", "high_frequency_power", "jitter_table", "lag_frames",
    "FilterConfig", "filter_array", "filter_poses", "frame_grid", "on_frame_grid",
]

METHODS = ("none", "median", "savgol", "butterworth", "one_euro")

#: ``movement``'s name for dropping points that score below a threshold (what
#: :func:`mask_low_scores` does, under its older name)
filter_by_confidence = mask_low_scores


# --- gaps ----------------------------------------------------------------------------------------
def interpolate_over_time(data: np.ndarray, max_gap: int, frame_indices: Any = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Fill interior gaps of at most ``max_gap`` frames by linear interpolation in time.

    Gaps at the start or end of a trajectory are never extrapolated, and longer gaps stay
    missing: a long dropout is information (the infant left the view), not noise. The score of a
    filled point is the lower of the two scores bracketing its gap. With ``frame_indices`` (the
    frame number of each row) a gap is measured in frames of the video, skipped frames included,
    and the filled value is interpolated at the row's frame number: rows of frames 2, 9, 10 with
    x = 2, ?, 10 get x = 9 at frame 9, and the gap (frames 3-9) is 7 frames long.

    Returns:
        (filled data, mask of shape ``data.shape[:-1]`` that is True where a point was filled).
    """
    if frame_indices is not None:
        # a hole of more than max_gap frames stays longer than max_gap when shortened to max_gap + 1
        grid, rows = on_frame_grid(data, frame_indices, max_step=max_gap + 2)
        out, filled = interpolate_over_time(grid, max_gap)
        return out[rows], filled[rows]
    arr, shape = _flat(data)
    valid = _valid(arr)
    xy = np.where(valid[..., None], arr[..., :2], np.nan).reshape(arr.shape[0], -1)
    xy, filled = fill_gaps(xy, max_gap, method="linear")
    filled = filled.reshape(arr.shape[0], -1, 2)[..., 0]
    arr[..., :2] = np.where(filled[..., None], xy.reshape(arr.shape[0], -1, 2), arr[..., :2])
    for m in range(arr.shape[1]):
        for start, stop in true_runs(filled[:, m]):  # a filled point scores as its weaker end
            arr[start:stop, m, 2] = min(arr[start - 1, m, 2], arr[stop, m, 2])
    return arr.reshape(shape), filled.reshape(shape[:-1])


# --- outliers ------------------------------------------------------------------------------------
def _rolling_nanmedian(x: np.ndarray, window: int) -> np.ndarray:
    """Centered running median over axis 0 ignoring NaN; (T, M) -> (T, M)."""
    half = window // 2
    t = x.shape[0]
    pad = np.full((half,) + x.shape[1:], np.nan)
    xp = np.concatenate([pad, x, pad], axis=0)
    stack = np.stack([xp[i:i + t] for i in range(2 * half + 1)], axis=0)
    out = np.full(x.shape, np.nan)
    have = np.isfinite(stack).any(axis=0)
    if have.any():
        out[have] = np.nanmedian(stack[:, have], axis=0)
    return out


def body_length(data: np.ndarray) -> float:
    """A robust body size in pixels: the median over frames of the keypoints' box diagonal.

    ``data`` is (T, K, 3) for one instance. Used to state speed bounds in body lengths per second,
    which do not depend on camera distance or resolution.
    """
    diag = np.asarray(body_size(np.asarray(data, dtype=float)[..., :2])).reshape(-1)
    diag = diag[np.isfinite(diag) & (diag > 0)]
    return float(np.median(diag)) if diag.size else float("nan")


def filter_by_speed(data: np.ndarray, fps: float, max_speed: float, window: int = 5,
                    frame_indices: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Drop points that jump further than a physical speed bound allows.

    Within a centered window of ``window`` frames every true point lies within
    ``max_speed * (window // 2) / fps`` pixels of the window's middle point, and so (per
    coordinate) of the window's median. A point further than that from the running median of its
    trajectory cannot be real movement: it is set missing. The median is robust to the outlier
    itself, so a single-frame spike (a limb swap, a detection on the blanket) is caught without
    touching its neighbours.

    Args:
        data: (T, ..., 3) trajectories.
        fps: frames per second.
        max_speed: the largest plausible speed in pixels per second (see :func:`body_length` to
            state it in body lengths per second).
        window: odd window length in frames (>= 3).
        frame_indices: frame number of each row (None: consecutive frames); the window then
            spans ``window`` video frames, skipped ones included.

    Returns:
        (cleaned data, mask of shape ``data.shape[:-1]`` True where a point was rejected).
    """
    if window < 3 or window % 2 == 0:
        raise ValueError("window must be an odd number >= 3")
    if fps <= 0 or max_speed <= 0:
        raise ValueError("fps and max_speed must be positive")
    if frame_indices is not None:
        grid, rows = on_frame_grid(data, frame_indices, max_step=window)
        out, rejected = filter_by_speed(grid, fps, max_speed, window)
        return out[rows], rejected[rows]
    arr, shape = _flat(data)
    bound = max_speed * (window // 2) / fps
    valid = _valid(arr)
    dev = np.zeros(arr.shape[:2])
    for c in (0, 1):
        med = _rolling_nanmedian(arr[..., c], window)
        dev = np.maximum(dev, np.abs(np.nan_to_num(arr[..., c] - med)))
    rejected = valid & (dev > bound)
    _set_missing(arr, rejected)
    return arr.reshape(shape), rejected.reshape(shape[:-1])


# --- smoothing filters (each run of valid frames separately) -------------------------------------
def _per_run(data: np.ndarray, fn, min_len: int) -> np.ndarray:
    """Apply ``fn(xy_run (L, 2)) -> (L, 2)`` to each valid run of length >= ``min_len``."""
    arr, shape = _flat(data)
    valid = _valid(arr)
    for m in range(arr.shape[1]):
        for start, stop in true_runs(valid[:, m]):
            if stop - start >= min_len:
                arr[start:stop, m, :2] = fn(arr[start:stop, m, :2])
    return arr.reshape(shape)


def median_filter(data: np.ndarray, window: int = 5) -> np.ndarray:
    """Running median over ``window`` frames (edges use the available neighbours)."""
    if window < 1 or window % 2 == 0:
        raise ValueError("window must be an odd positive number")

    def fn(xy: np.ndarray) -> np.ndarray:
        return np.stack([_rolling_nanmedian(xy[:, c:c + 1], window)[:, 0] for c in (0, 1)], 1)

    return _per_run(data, fn, 1)


def savgol_filter(data: np.ndarray, window: int = 9, polyorder: int = 2) -> np.ndarray:
    """Savitzky–Golay smoothing (local polynomial fit, ``scipy.signal.savgol_filter``).

    Runs shorter than ``window`` use the longest odd window that fits (above ``polyorder``);
    shorter still are left as they are. Zero lag: the fit is centered.
    """
    # imported here: scipy.signal loads only for the filter that needs it
    from scipy.signal import savgol_filter as scipy_savgol

    if window % 2 == 0 or window <= polyorder:
        raise ValueError("window must be odd and larger than polyorder")

    def fn(xy: np.ndarray) -> np.ndarray:
        n = len(xy)
        w = min(window, n if n % 2 else n - 1)
        if w <= polyorder:
            return xy
        return scipy_savgol(xy, w, polyorder, axis=0, mode="interp")

    return _per_run(data, fn, polyorder + 2)


def butterworth_filter(data: np.ndarray, fps: float, cutoff_hz: float | None = None, order: int = 2
                ) -> np.ndarray:
    """Zero-phase Butterworth low-pass (forward-backward, ``scipy.signal.filtfilt``).

    The usual choice in movement science: it removes jitter above ``cutoff_hz`` without the phase
    lag of a causal filter. Each valid run is filtered on its own; short runs use a shorter pad.
    The default cut-off is 6 Hz, lowered to fps / 4 for slow videos (at 15 fps a 6 Hz cut-off
    sits next to the 7.5 Hz Nyquist frequency and removes almost nothing).
    """
    # imported here: scipy.signal loads only for the filter that needs it
    from scipy.signal import butter, filtfilt

    if cutoff_hz is None:
        cutoff_hz = min(6.0, fps / 4.0)
    nyq = fps / 2.0
    if not 0 < cutoff_hz < nyq:
        raise ValueError(f"cutoff_hz must be between 0 and the Nyquist frequency {nyq:g} Hz")
    b, a = butter(order, cutoff_hz / nyq)
    full_pad = 3 * max(len(a), len(b))

    def fn(xy: np.ndarray) -> np.ndarray:
        pad = min(full_pad, len(xy) - 1)
        return filtfilt(b, a, xy, axis=0, padlen=pad, padtype="odd" if pad else None)

    return _per_run(data, fn, 4)


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray | float:
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


def one_euro_filter(data: np.ndarray, fps: float, min_cutoff: float = 1.0, beta: float = 0.05,
             d_cutoff: float = 1.0) -> np.ndarray:
    """The One-Euro filter (Casiez, Roussel & Vogel, CHI 2012): a speed-adaptive low-pass.

    An exponential smoother whose cutoff rises with the (smoothed) speed, ``fc = min_cutoff +
    beta * |dx/dt|``: slow movement is smoothed hard (little jitter), fast movement lightly (little
    lag). It is causal, so it suits live use; it restarts after every gap. ``min_cutoff`` is in Hz,
    ``beta`` in 1/pixel.
    """
    if fps <= 0 or min_cutoff <= 0 or d_cutoff <= 0 or beta < 0:
        raise ValueError("fps, min_cutoff, d_cutoff must be positive and beta >= 0")
    dt = 1.0 / fps
    a_d = _alpha(d_cutoff, dt)

    def fn(xy: np.ndarray) -> np.ndarray:
        out = np.empty_like(xy)
        x_prev = xy[0].copy()
        dx_prev = np.zeros(2)
        out[0] = x_prev
        for i in range(1, len(xy)):
            dx = (xy[i] - x_prev) / dt
            dx_hat = a_d * dx + (1 - a_d) * dx_prev
            a = _alpha(min_cutoff + beta * np.abs(dx_hat), dt)
            x_hat = a * xy[i] + (1 - a) * x_prev
            out[i], x_prev, dx_prev = x_hat, x_hat, dx_hat
        return out

    return _per_run(data, fn, 1)


def smooth(data: np.ndarray, method: str, fps: float | None = None, frame_indices: Any = None,
           **options: Any) -> np.ndarray:
    """Dispatch to one smoothing filter by name (see :data:`METHODS`).

    With ``frame_indices`` (frame number of each row) the filter runs on the regular frame grid,
    so a skipped frame ends a run of valid frames (the filters never bridge gaps) and
    Butterworth / One-Euro see dt = 1 / fps between every two neighbouring samples.
    """
    if frame_indices is not None:
        grid, rows = on_frame_grid(data, frame_indices, max_step=2)
        return smooth(grid, method, fps, **options)[rows]
    if method == "none":
        return np.array(data, dtype=float, copy=True)
    if method == "median":
        return median_filter(data, **options)
    if method == "savgol":
        return savgol_filter(data, **options)
    if method in ("butterworth", "one_euro"):
        if not fps:
            raise ValueError(f"the {method} filter needs the frame rate (fps)")
        return (butterworth_filter if method == "butterworth" else one_euro_filter)(
            data, fps, **options)
    raise ValueError(f"unknown filter {method!r}; choose from {', '.join(METHODS)}")


# --- a whole clean-up chain ----------------------------------------------------------------------
@dataclass
class FilterConfig:
    """The clean-up chain: scores -> outliers -> gap filling -> smoothing.

    Attributes:
        method: smoothing filter, one of :data:`METHODS`.
        min_score: points scoring below this are treated as missing.
        max_gap: fill gaps up to this many frames (0: never).
        max_speed: outlier bound; ``None`` skips outlier rejection.
        speed_unit: ``"px"`` (pixels/s) or ``"body"`` (body lengths/s, see :func:`body_length`).
        outlier_window: window (frames) of the outlier median.
        options: keyword options of the smoothing filter (e.g. ``cutoff_hz``, ``window``).
    """

    method: str = "butterworth"
    min_score: float = 0.3
    max_gap: int = 5
    max_speed: float | None = 8.0
    speed_unit: str = "body"
    outlier_window: int = 5
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"unknown filter {self.method!r}; choose from {', '.join(METHODS)}")
        if self.speed_unit not in ("px", "body"):
            raise ValueError("speed_unit must be 'px' or 'body'")
        if self.max_gap < 0:
            raise ValueError("max_gap must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "min_score": self.min_score, "max_gap": self.max_gap,
                "max_speed": self.max_speed, "speed_unit": self.speed_unit,
                "outlier_window": self.outlier_window, "options": dict(self.options)}


def filter_array(data: np.ndarray, fps: float | None, config: FilterConfig,
                 frame_indices: Any = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run the chain on one instance's (T, K, 3) array.

    ``frame_indices`` gives the video frame number of each row (None: consecutive frames). The
    whole chain then runs on the regular frame grid, where frames the reader skipped are missing
    points, and the result is read back at the recorded frames (see the module notes).

    Returns the filtered array and masks ``{"low_score", "rejected", "interpolated"}`` of shape
    (T, K). Points that stay missing after gap filling stay missing after smoothing.
    """
    if frame_indices is not None:
        # Holes longer than every window of the chain are shortened: same result, small grid.
        step = max(config.max_gap + 2, config.outlier_window, 2)
        grid, rows = on_frame_grid(data, frame_indices, max_step=step)
        out, masks = filter_array(grid, fps, config)
        return out[rows], {k: m[rows] for k, m in masks.items()}
    arr = np.array(data, dtype=float, copy=True)
    was_valid = _valid(arr)
    low = was_valid & (arr[..., 2] < config.min_score)
    arr = mask_low_scores(arr, config.min_score)
    rejected = np.zeros(arr.shape[:-1], dtype=bool)
    if config.max_speed is not None and fps and arr.shape[0] >= config.outlier_window:
        speed = config.max_speed
        if config.speed_unit == "body":
            size = body_length(arr)
            speed = speed * size if math.isfinite(size) else None
        if speed:
            arr, rejected = filter_by_speed(arr, fps, speed, config.outlier_window)
    interpolated = np.zeros_like(rejected)
    if config.max_gap > 0:
        arr, interpolated = interpolate_over_time(arr, config.max_gap)
    arr = smooth(arr, config.method, fps, **config.options)
    return arr, {"low_score": low, "rejected": rejected, "interpolated": interpolated}


def filter_poses(poses: Poses, config: FilterConfig | None = None, **kw: Any) -> Poses:
    """Clean every instance's trajectories in a video ``Poses`` (see :class:`FilterConfig`).

    Time comes from ``poses.frame_indices`` (frames the reader skipped are gaps of the length
    they lasted), not from the row number. The result's ``meta["filter"]`` records the
    configuration and counts, and its fields ``interpolated`` / ``rejected`` ((F, N, K) bool)
    mark each filled / rejected point, so downstream analysis can exclude synthetic points.
    ValueError for frame numbers that are not strictly increasing.
    """
    cfg = config or FilterConfig(**kw)
    fps = poses.fps
    if cfg.method in ("butterworth", "one_euro") and not fps:
        raise ValueError(f"the {cfg.method} filter needs a video with a known frame rate")
    frames = poses.frame_indices
    if frames is not None:
        frame_grid(frames, poses.n_frames)  # validate once, before any work
    out = poses.data.copy()
    interp = np.zeros(out.shape[:-1], dtype=bool)
    rej = np.zeros_like(interp)
    low = np.zeros_like(interp)
    for n in range(poses.n_instances):
        out[:, n], masks = filter_array(poses.data[:, n], fps, cfg, frames)
        interp[:, n], rej[:, n], low[:, n] = (masks["interpolated"], masks["rejected"],
                                              masks["low_score"])
    meta = dict(poses.meta)
    meta["filter"] = {**cfg.to_dict(), "n_interpolated": int(interp.sum()),
                      "n_rejected": int(rej.sum()), "n_low_score": int(low.sum())}
    return replace(poses, data=out, meta=meta, interpolated=interp, rejected=rej)


# the names these functions had before they were named for what they do, as ``movement`` names
# its filters (``filter_by_confidence``, ``interpolate_over_time``, ``savgol_filter``); kept for
# code written against them
interpolate_gaps = interpolate_over_time
reject_outliers = filter_by_speed
savgol = savgol_filter
butterworth = butterworth_filter
one_euro = one_euro_filter
