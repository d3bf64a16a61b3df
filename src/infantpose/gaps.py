"""Gaps in trajectories: where samples are missing, and filling the short ones.

The one gap-filling function of the package, shared by the trajectory filters
(:func:`infantpose.video.filters.interpolate_over_time`, linear, gaps counted in frames) and the
movement features (:func:`infantpose.features.qc.fill_short_gaps`, cubic spline, gaps counted in
seconds). Both follow the same rule: only *interior* gaps of at most ``max_len`` samples are
filled; a gap touching either end is never extrapolated and a longer gap stays missing (a long
dropout is information, the infant left the view, not noise).

Pure NumPy (SciPy only for the cubic spline), so that every layer can use it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["GAP_METHODS", "fill_gaps", "short_gaps", "true_runs"]

GAP_METHODS = ("linear", "cubic")


def true_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open ``(start, stop)`` index ranges of the True runs in a 1-D boolean mask."""
    m = np.concatenate([[False], np.asarray(mask, dtype=bool).reshape(-1), [False]])
    d = np.diff(m.astype(np.int8))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist()))


def short_gaps(missing: np.ndarray, max_len: int) -> list[tuple[int, int]]:
    """The runs of True in ``missing`` (1-D) that a gap filler may fill: at most ``max_len``
    long, with a present sample on both sides."""
    n = len(missing)
    return [(a, b) for a, b in true_runs(missing) if a > 0 and b < n and b - a <= max_len]


def fill_gaps(values: np.ndarray, max_len: int, times: np.ndarray | None = None,
              method: str = "linear") -> tuple[np.ndarray, np.ndarray]:
    """Fill the short interior NaN gaps of each column of ``values``.

    ``values`` is (T,) or (T, M), NaN where a sample is missing; each column is filled on its
    own. ``times`` (T,) is the time of each row (default: the row numbers). A gap is filled when
    it lasts at most ``max_len`` rows and has a sample on both sides (:func:`short_gaps`).

    ``method``:
      * ``"linear"``: a straight line in time between the two samples bracketing the gap;
      * ``"cubic"``: a cubic spline in time through all of the column's samples (exact for
        smooth motion sampled at video rates); with fewer than 4 samples, linear interpolation.

    Returns ``(filled copy, mask)``, the mask (shape of ``values``) True where a value was filled.
    """
    if method not in GAP_METHODS:
        raise ValueError(f"gap filling method must be one of {', '.join(GAP_METHODS)}, "
                         f"got {method!r}")
    v = np.array(values, dtype=float, copy=True)
    squeeze = v.ndim == 1
    if squeeze:
        v = v[:, None]
    t = np.arange(v.shape[0], dtype=float) if times is None else np.asarray(times, dtype=float)
    filled = np.zeros(v.shape, dtype=bool)
    for j in range(v.shape[1]):
        col = v[:, j]
        miss = np.isnan(col)
        gaps = short_gaps(miss, max_len)
        if not gaps:
            continue
        for a, b in gaps:
            filled[a:b, j] = True
        if method == "cubic":
            ok = ~miss
            fill = filled[:, j]
            if ok.sum() >= 4:
                # imported here: scipy loads only when a gap is filled with a spline
                from scipy.interpolate import CubicSpline

                col[fill] = CubicSpline(t[ok], col[ok])(t[fill])
            else:
                col[fill] = np.interp(t[fill], t[ok], col[ok])
            continue
        for a, b in gaps:
            lo, hi = a - 1, b
            w = (t[a:b] - t[lo]) / (t[hi] - t[lo])
            col[a:b] = col[lo] + w * (col[hi] - col[lo])
    if squeeze:
        return v[:, 0], filled[:, 0]
    return v, filled
