"""gaps.fill_gaps: the one gap filler of the trajectory filters and the movement features."""

from __future__ import annotations

import numpy as np
import pytest

from infantpose.gaps import fill_gaps, short_gaps, true_runs

nan = np.nan


def test_runs_and_the_gaps_that_may_be_filled():
    miss = np.array([True, False, True, True, False, True, True, True, False, True])
    assert true_runs(miss) == [(0, 1), (2, 4), (5, 8), (9, 10)]
    assert true_runs(np.zeros(0, bool)) == []
    # interior only (not the runs touching either end), and at most max_len long
    assert short_gaps(miss, 2) == [(2, 4)]
    assert short_gaps(miss, 3) == [(2, 4), (5, 8)]


def test_linear_fills_short_interior_gaps_in_time_only():
    v = np.array([nan, 0.0, nan, nan, 3.0, nan, nan, nan, 7.0, nan])
    out, filled = fill_gaps(v, max_len=2)
    assert out[2:4].tolist() == [1.0, 2.0]
    assert np.isnan(out[[0, 5, 6, 7, 9]]).all()  # the ends and the 3-long gap stay missing
    assert filled.tolist() == [False, False, True, True] + [False] * 6
    assert np.isnan(v[2])  # the input is not changed
    # with times, the line runs in time, not in rows
    out, _ = fill_gaps(np.array([0.0, nan, 10.0]), 1, times=np.array([0.0, 9.0, 10.0]))
    assert out[1] == 9.0


def test_columns_are_filled_on_their_own():
    v = np.array([[0.0, 0.0], [nan, 5.0], [2.0, nan], [4.0, nan], [6.0, 8.0]])
    out, filled = fill_gaps(v, max_len=1)
    assert out[1, 0] == 1.0 and np.isnan(out[2:4, 1]).all()  # the 2-long gap is too long
    assert filled.sum() == 1 and filled[1, 0]


def test_cubic_follows_a_smooth_curve_and_falls_back_to_a_line():
    t = np.arange(20) / 25.0
    x = np.sin(2 * np.pi * t)
    v = x.copy()
    v[8:10] = nan
    out, filled = fill_gaps(v, 2, times=t, method="cubic")
    assert filled[8:10].all() and np.abs(out[8:10] - x[8:10]).max() < 1e-3
    lin, _ = fill_gaps(v, 2, times=t, method="linear")
    assert np.abs(lin[8:10] - x[8:10]).max() > 10 * np.abs(out[8:10] - x[8:10]).max()
    few = np.array([0.0, nan, 2.0, 3.0])  # three samples: no spline, a line
    assert fill_gaps(few, 1, method="cubic")[0][1] == 1.0


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="linear, cubic"):
        fill_gaps(np.zeros(3), 1, method="spline")
