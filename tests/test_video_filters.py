"""Temporal filters: each reduces jitter on noisy ground truth without lag; gaps; outliers."""

import numpy as np
import pytest

from infantpose.poses import Poses
from infantpose.schemas import Schema
from infantpose.video import filters as F

FPS = 30.0
TWO = Schema("two_points", ("a", "b"), (("a", "b"),), (), (0.05, 0.05), ("x", "x"))  # unregistered


def _truth(t_len: int = 180) -> np.ndarray:
    """Smooth infant-like limb movement (0.5–1.2 Hz), two keypoints, (T, 2, 2) pixels."""
    t = np.arange(t_len) / FPS
    w = 2 * np.pi * t
    a = np.stack([320 + 60 * np.sin(0.8 * w), 240 + 40 * np.cos(0.5 * w)], -1)
    b = np.stack([200 + 30 * np.sin(1.2 * w + 1), 300 + 20 * np.sin(0.6 * w)], -1)
    return np.stack([a, b], 1)


def _with_scores(xy: np.ndarray, score: float = 0.9) -> np.ndarray:
    return np.concatenate([xy, np.full(xy.shape[:-1] + (1,), score)], -1)


# Stated lag bounds (frames): zero-phase filters 0, the causal One-Euro at most 2.
CASES = [
    ("median", {"window": 5}, 0),
    ("savgol", {"window": 9, "polyorder": 2}, 0),
    ("butterworth", {"cutoff_hz": 6.0}, 0),
    ("one_euro", {"min_cutoff": 1.5, "beta": 0.05}, 2),
]


@pytest.mark.parametrize("method,options,max_lag", CASES)
def test_filter_reduces_jitter_without_lag(method, options, max_lag):
    gt = _truth()
    rng = np.random.default_rng(1)
    noisy = _with_scores(gt + rng.normal(0, 2.0, gt.shape))
    out = F.smooth(noisy, method, FPS, **options)
    assert out.shape == noisy.shape
    acc_b, acc_a = F.mean_abs_acceleration(noisy, FPS), F.mean_abs_acceleration(out, FPS)
    hf_b, hf_a = F.high_frequency_power(noisy, FPS), F.high_frequency_power(out, FPS)
    assert np.all(acc_a < 0.8 * acc_b), (acc_b, acc_a)
    assert np.all(hf_a < 0.8 * hf_b), (hf_b, hf_a)
    for k in range(2):
        for c in range(2):
            assert abs(F.lag_frames(gt[:, k, c], out[:, k, c])) <= max_lag
    # no systematic distortion: the filtered path stays close to the truth
    assert np.abs(out[..., :2] - gt).mean() < 3.0
    assert np.array_equal(out[..., 2], noisy[..., 2])  # scores untouched


def test_lag_frames_detects_a_delay():
    gt = _truth()[:, 0, 0]
    assert F.lag_frames(gt, np.roll(gt, 4)) == 4


def test_interpolate_gaps_fills_short_interior_gaps_only():
    xy = _with_scores(np.arange(20, dtype=float)[:, None, None].repeat(2, -1), 0.8)[:, 0]
    for gap in (slice(3, 6), slice(10, 17), slice(0, 1)):  # filled (3), kept (7), leading (kept)
        xy[gap, :2] = np.nan
        xy[gap, 2] = 0
    out, filled = F.interpolate_gaps(xy[:, None], max_gap=4)
    out = out[:, 0]
    assert np.allclose(out[3:6, 0], [3, 4, 5])
    assert filled[3:6, 0].all() and filled.sum() == 3
    assert np.isnan(out[10:17, 0]).all() and np.isnan(out[0, 0])
    assert np.isnan(xy[4, 0])  # input untouched


def test_reject_outliers_removes_spike_keeps_fast_true_motion():
    gt = _truth()
    data = _with_scores(gt.copy())
    data[50, 0, :2] += 150  # a limb-swap jump
    out, rej = F.reject_outliers(data, FPS, max_speed=600.0)
    assert rej[50, 0] and rej.sum() == 1
    assert np.isnan(out[50, 0, 0]) and out[50, 0, 2] == 0


def test_low_scores_are_missing_and_chain_flags_points():
    gt = _truth(90)
    data = _with_scores(gt.copy())
    data[20:23, 1, 2] = 0.05  # unreliable
    data[60, 0, :2] += 200  # spike
    poses = Poses(data[:, None], TWO, fps=FPS)
    out = F.filter_poses(poses, F.FilterConfig(method="savgol", min_score=0.3, max_gap=5,
                                               max_speed=3.0, speed_unit="body"))
    f = out.meta["filter"]
    assert f["n_low_score"] == 3 and f["n_rejected"] >= 1 and f["n_interpolated"] >= 4
    assert out.interpolated[60, 0, 0]
    assert np.abs(out.data[60, 0, 0, :2] - gt[60, 0]).max() < 5
    assert np.abs(out.data[21, 0, 1, :2] - gt[21, 1]).max() < 5
    assert not np.isnan(out.data[..., :2]).any()


def test_jitter_table_and_bad_arguments():
    gt = _truth(60)
    noisy = _with_scores(gt + np.random.default_rng(2).normal(0, 2, gt.shape))
    table = F.jitter_table(noisy, F.butterworth(noisy, FPS), FPS, ["a", "b"])
    assert list(table["keypoint"]) == ["a", "b"] and (table["acc_ratio"] < 1).all()
    with pytest.raises(ValueError):
        F.butterworth(noisy, FPS, cutoff_hz=20)
    with pytest.raises(ValueError):
        F.smooth(noisy, "kalman", FPS)
    with pytest.raises(ValueError):
        F.FilterConfig(method="nope")


def test_jitter_metrics_have_physical_values():
    fps = 60.0
    t = np.arange(240) / fps
    # constant acceleration 50 px/s² along x: every second difference is exactly 50 px/s²
    para = _with_scores(np.stack([25.0 * t ** 2, np.zeros_like(t)], -1))
    assert F.mean_abs_acceleration(para[:, None], fps)[0] == pytest.approx(50.0)
    # a 10 Hz tone of amplitude 2 px has power A²/2 = 2 px², all of it above a 6 Hz cut-off
    tone = _with_scores(np.stack([2.0 * np.sin(2 * np.pi * 10 * t), np.zeros_like(t)], -1))
    assert F.high_frequency_power(tone[:, None], fps, 6.0)[0] == pytest.approx(2.0, rel=0.1)
    slow = _with_scores(np.stack([2.0 * np.sin(2 * np.pi * 1 * t), np.zeros_like(t)], -1))
    assert F.high_frequency_power(slow[:, None], fps, 6.0)[0] < 0.01
    # NaN where there is nothing to measure
    missing = np.full((10, 1, 3), np.nan)
    assert np.isnan(F.mean_abs_acceleration(missing, fps)[0])
    assert np.isnan(F.high_frequency_power(missing, fps)[0])


def test_filters_never_bridge_gaps():
    gt = _truth(60)[:, :1]
    data = _with_scores(gt.copy())
    data[20:40, 0, :2] = np.nan
    data[20:40, 0, 2] = 0
    for method, opts in [("median", {}), ("savgol", {}), ("butterworth", {}), ("one_euro", {})]:
        out = F.smooth(data, method, FPS, **opts)
        assert np.isnan(out[20:40, 0, :2]).all()
        assert np.isfinite(out[:20, 0, :2]).all() and np.isfinite(out[40:, 0, :2]).all()


# --- time is the video's frame numbers, not the row number (issue 12) ----------------------------
GAPPED = np.array([0, 1, 2, 9, 10, 11])  # frames 3-8 could not be decoded
ONE = Schema("one_point", ("a",), (), (), (0.05,), ("x",))  # unregistered


def _ramp_rows(frames: np.ndarray, score: float = 0.9) -> np.ndarray:
    """(T, 1, 3): one keypoint with x = y = frame number."""
    xy = np.repeat(frames.astype(float)[:, None, None], 2, axis=-1)
    return _with_scores(xy, score)


def test_gap_fill_interpolates_at_the_frame_number_not_the_row():
    data = _ramp_rows(GAPPED)
    data[3, 0, 2] = 0.1  # frame 9 scores low: missing, to be filled
    masked = F.mask_low_scores(data, 0.3)
    out, filled = F.interpolate_gaps(masked, max_gap=7, frame_indices=GAPPED)
    assert out[3, 0, 0] == pytest.approx(9.0) and out[3, 0, 1] == pytest.approx(9.0)
    assert filled[:, 0].tolist() == [False, False, False, True, False, False]
    # the hole lasts frames 3-9 (7 frames): longer than max_gap=5, so it stays missing
    out5, filled5 = F.interpolate_gaps(masked, max_gap=5, frame_indices=GAPPED)
    assert np.isnan(out5[3, 0, 0]) and not filled5.any()
    # row-based filling (no frame numbers) would have put it at 6.0: the bug this replaces
    assert F.interpolate_gaps(masked, max_gap=5)[0][3, 0, 0] == pytest.approx(6.0)


def test_filter_poses_uses_frame_indices():
    data = _ramp_rows(GAPPED)
    data[3, 0, 2] = 0.1
    poses = Poses(data[:, None], ONE,
                  frame_indices=GAPPED, fps=FPS)
    out = F.filter_poses(poses, F.FilterConfig(method="none", max_gap=7, max_speed=None))
    assert out.data[3, 0, 0, 0] == pytest.approx(9.0)
    assert np.argwhere(out.interpolated).tolist() == [[3, 0, 0]]
    assert np.array_equal(out.frame_indices, GAPPED)


@pytest.mark.parametrize("method,options", [("butterworth", {"cutoff_hz": 6.0}),
                                            ("one_euro", {"min_cutoff": 1.5, "beta": 0.05}),
                                            ("savgol", {"window": 9, "polyorder": 2})])
def test_smoothing_restarts_at_skipped_frames(method, options):
    """A skipped stretch of frames is a gap in time: filtering the gapped rows must equal
    filtering each stretch of consecutive frames on its own, not glue the stretches together."""
    gt = _truth(120)
    rng = np.random.default_rng(3)
    noisy = _with_scores(gt + rng.normal(0, 2.0, gt.shape))
    frames = np.r_[0:50, 62:120]  # 12 frames lost to corruption
    rows = noisy[frames]
    out = F.smooth(rows, method, FPS, frame_indices=frames, **options)
    parts = [F.smooth(noisy[a:b], method, FPS, **options) for a, b in ((0, 50), (62, 120))]
    assert np.allclose(out, np.concatenate(parts), equal_nan=True)
    # treating rows as consecutive frames differs at the seam
    assert not np.allclose(F.smooth(rows, method, FPS, **options), out)


def test_whole_chain_on_gapped_frames_matches_the_full_video():
    """Frames lost to corruption (short holes) are filled in time by the chain: the result at the
    recorded frames is close to the result on the complete video."""
    gt = _truth(180)
    rng = np.random.default_rng(4)
    full = _with_scores(gt + rng.normal(0, 1.0, gt.shape))
    frames = np.setdiff1d(np.arange(180), [40, 41, 42, 100, 101, 150])
    cfg = F.FilterConfig(method="butterworth", max_gap=5, max_speed=None)
    ref, _ = F.filter_array(full, FPS, cfg)
    got, masks = F.filter_array(full[frames], FPS, cfg, frame_indices=frames)
    # the filled holes use the straight line between noisy neighbours: ~1 noise sigma off
    assert np.abs(got[..., :2] - ref[frames][..., :2]).max() < 2.0
    assert np.abs(got[..., :2] - gt[frames]).max() < 3.0
    assert not masks["interpolated"].any()  # no recorded row was missing
    # without frame numbers, the seams see a jump of 3 frames in one row and are smeared
    wrong, _ = F.filter_array(full[frames], FPS, cfg)
    assert np.abs(wrong[..., :2] - gt[frames]).max() > 6.0


def test_outlier_bound_uses_time_between_frames():
    """A point 8 frames away from its recorded neighbours may lie far from them: 100 px in
    8 frames is 375 px/s, within a 400 px/s bound. Read as consecutive rows it is a 3000 px/s
    jump and would be thrown away."""
    frames = np.r_[0:20, 27, 35:60]
    x = np.where(frames == 27, 200.0, 100.0)
    data = _with_scores(np.stack([x, np.full_like(x, 50.0)], -1)[:, None])
    out, rej = F.reject_outliers(data, FPS, max_speed=400.0, frame_indices=frames)
    assert not rej.any() and out[20, 0, 0] == 200.0
    _, rej_rows = F.reject_outliers(data, FPS, max_speed=400.0)
    assert rej_rows[20, 0] and rej_rows.sum() == 1


def test_jitter_metrics_skip_triples_across_skipped_frames():
    data = _ramp_rows(GAPPED)
    acc = F.mean_abs_acceleration(data, FPS, frame_indices=GAPPED)
    assert acc[0] == pytest.approx(0.0)  # x = frame: constant velocity, no acceleration
    assert F.mean_abs_acceleration(data, FPS)[0] > 0  # the row-based view sees a kink


def test_frame_numbers_must_increase_and_long_holes_stay_cheap():
    with pytest.raises(ValueError, match="strictly increasing"):
        F.frame_grid([0, 2, 2, 3], 4)
    with pytest.raises(ValueError, match="entries"):
        F.frame_grid([0, 1], 3)
    frames = np.array([0, 1, 2, 10**9, 10**9 + 1, 10**9 + 2])
    data = _ramp_rows(np.arange(6))
    out, masks = F.filter_array(data, FPS, F.FilterConfig(method="butterworth", max_speed=None),
                                frame_indices=frames)
    assert out.shape == data.shape and not masks["interpolated"].any()
    poses = Poses(data[:, None], ONE,
                  frame_indices=np.array([0, 1, 1, 2, 3, 4]), fps=FPS)
    with pytest.raises(ValueError, match="strictly increasing"):
        F.filter_poses(poses)


def test_filters_carry_movement_names_and_the_old_ones_still_work():
    assert F.filter_by_confidence is F.mask_low_scores
    assert F.interpolate_gaps is F.interpolate_over_time
    assert F.reject_outliers is F.filter_by_speed
    assert (F.savgol, F.butterworth, F.one_euro) == (F.savgol_filter, F.butterworth_filter,
                                                     F.one_euro_filter)
    rng = np.random.default_rng(1)
    data = np.zeros((40, 1, 3))
    data[:, 0, :2] = np.cumsum(rng.normal(size=(40, 2)), axis=0)
    data[:, 0, 2] = 1.0
    np.testing.assert_array_equal(F.smooth(data, "savgol"), F.savgol_filter(data))
