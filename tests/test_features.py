"""Movement features: known answers on generated stick infants (issue 15)."""

import json

import numpy as np
import pandas as pd
import pytest

from infantpose.cli import main
from infantpose.features import FeatureConfig, feature_rows
from infantpose.features.angles import circular_mean, circular_sd, joint_angle, lr_correlation
from infantpose.features.kinematics import entropy
from infantpose.features.qc import fill_short_gaps, time_grid
from infantpose.features.table import body_series
from infantpose.features.testdata import skeleton, to_poses

CENTRES = {"shoulder": 201.3, "elbow": 97.7, "hip": 231.1, "knee": 88.4}
AMPS = {"shoulder": 25.0, "elbow": 30.0, "hip": 18.0, "knee": 28.0}


def motion(t, rng=None, right_sign=1.0, freqs=None):
    """Smooth joint-angle motion: each joint a sum of two incommensurate sinusoids."""
    rng = rng or np.random.default_rng(0)
    ang = {}
    for j, c in CENTRES.items():
        f1, f2 = (freqs or {}).get(j, (0.37, 0.83))
        p1, p2 = rng.uniform(0, 2 * np.pi, 2)
        wave = 0.7 * np.sin(2 * np.pi * f1 * t + p1) + 0.3 * np.sin(2 * np.pi * f2 * t + p2)
        ang[f"left_{j}"] = c + AMPS[j] * wave
        ang[f"right_{j}"] = c + right_sign * AMPS[j] * wave
    return ang


def features(poses, **kw):
    return feature_rows(poses, FeatureConfig(**kw))[0]


def numeric(row):
    return {k: v for k, v in row.items() if isinstance(v, float) and not k.startswith("qc_")}


@pytest.mark.parametrize("fps", [25.0, 50.0])
def test_sinusoid_velocity_matches_derivative(fps):
    t = np.arange(0, 30, 1 / fps)
    f, amp = 0.37, 30.0
    ang = motion(t)
    ang["left_elbow"] = 97.7 + amp * np.sin(2 * np.pi * f * t)
    row = features(to_poses(skeleton(ang), fps))
    expected = np.median(np.abs(amp * 2 * np.pi * f * np.cos(2 * np.pi * f * t)))
    assert row["left_elbow_angle_vel_median_abs"] == pytest.approx(expected, rel=0.01)
    # continuous-time answer (median |cos| = 1/sqrt(2)): the same at both frame rates
    assert row["left_elbow_angle_vel_median_abs"] == pytest.approx(
        amp * 2 * np.pi * f / np.sqrt(2), rel=0.02)
    assert row["qc_fps"] == fps and row["qc_duration_s"] == pytest.approx(30.0, abs=1 / fps)


def test_limb_end_velocity_in_trunk_lengths_per_second():
    # a wrist sliding along x: x(t) = 1 + 0.3 sin(2 pi f t), in body coordinates
    for fps in (25.0, 50.0):
        t = np.arange(0, 30, 1 / fps)
        pts = skeleton(motion(t))
        pts["left_wrist"] = np.stack([1 + 0.3 * np.sin(2 * np.pi * 0.41 * t), 0.5 + 0 * t], -1)
        row = features(to_poses(pts, fps, rotation_deg=33.0, scale=57.0))
        assert row["left_wrist_vx_median_abs"] == pytest.approx(0.3 * 2 * np.pi * 0.41 / np.sqrt(2),
                                                                rel=0.02)
        assert row["left_wrist_vy_median_abs"] == pytest.approx(0.0, abs=1e-9)
        assert row["left_wrist_x_median"] == pytest.approx(1.0, abs=0.03)  # 12.3 periods


def test_velocity_agrees_across_frame_rates():
    rows = []
    for fps in (25.0, 50.0):
        t = np.arange(0, 40, 1 / fps)
        rows.append(features(to_poses(skeleton(motion(t)), fps)))
    for k in ("left_ankle_vy_median_abs", "right_wrist_vx_iqr", "left_knee_angle_vel_iqr",
              "left_knee_angle_acc_iqr", "left_shoulder_angle_vel_median_abs"):
        assert rows[0][k] == pytest.approx(rows[1][k], rel=0.02), k


def test_mirrored_and_anti_phase_left_right_correlation():
    t = np.arange(0, 30, 1 / 30)
    same = features(to_poses(skeleton(motion(t, right_sign=1.0)), 30))
    anti = features(to_poses(skeleton(motion(t, right_sign=-1.0)), 30))
    for j in ("elbow", "knee", "shoulder", "hip"):
        assert same[f"lrcorr_{j}_angle"] == pytest.approx(1.0, abs=1e-6)
        assert anti[f"lrcorr_{j}_angle"] == pytest.approx(-1.0, abs=1e-6)
    for end in ("wrist", "ankle"):
        assert same[f"lrcorr_{end}_dist"] == pytest.approx(1.0, abs=1e-6)
        assert anti[f"lrcorr_{end}_dist"] < -0.95
    # mirror-image posture gives the same angle values on both sides
    assert same["left_shoulder_angle_mean"] == pytest.approx(same["right_shoulder_angle_mean"])
    assert same["left_hip_angle_mean"] == pytest.approx(CENTRES["hip"], abs=1.0)


def test_invariant_to_per_frame_rotation_scale_shift():
    fps = 30.0
    t = np.arange(0, 20, 1 / fps)
    rng = np.random.default_rng(3)
    pts = skeleton(motion(t, rng))
    ref = features(to_poses(pts, fps))
    g = np.random.default_rng(11)
    moved = features(to_poses(pts, fps, rotation_deg=g.uniform(-180, 180, len(t)),
                              scale=g.uniform(20, 400, len(t)),
                              shift=g.uniform(-500, 1500, (len(t), 2))))
    a, b = numeric(ref), numeric(moved)
    assert a.keys() == b.keys() and len(a) > 90
    worst = max(abs(a[k] - b[k]) for k in a)
    assert worst <= 1e-6, max(a, key=lambda k: abs(a[k] - b[k]))


def test_dropping_ten_percent_of_frames_changes_features_little():
    fps = 30.0
    t = np.arange(0, 60, 1 / fps)
    pts = skeleton(motion(t, np.random.default_rng(5)))
    full = to_poses(pts, fps, frame_indices=np.arange(len(t)))
    keep = np.sort(np.random.default_rng(1).choice(len(t), int(0.9 * len(t)), replace=False))
    keep[0], keep[-1] = 0, len(t) - 1
    keep = np.unique(keep)
    part = to_poses({k: v[keep] for k, v in pts.items()}, fps, frame_indices=keep)
    a, b = features(full), features(part)
    assert b["qc_detected"] == pytest.approx(len(keep) / len(t), abs=1e-9)
    assert b["qc_coverage"] == 1.0  # single missing frames are short gaps: filled
    na, nb = numeric(a), numeric(b)
    rel = {k: abs(na[k] - nb[k]) / max(abs(na[k]), 0.05) for k in na}
    worst = max(rel, key=rel.get)
    assert rel[worst] < 0.05, (worst, na[worst], nb[worst])


def test_long_gap_is_not_interpolated_short_gap_is():
    fps = 25.0
    t = np.arange(0, 20, 1 / fps)
    p = to_poses(skeleton(motion(t)), fps)
    k = p.schema.index("left_wrist")
    long_gap = (t >= 5) & (t < 8)            # 3 s
    short_gap = (t >= 12) & (t < 12.12)      # 3 frames = 0.12 s
    p.data[long_gap, 0, k, 2] = 0.05         # low confidence -> gap
    p.data[short_gap, 0, k, 2] = 0.05
    s = body_series(p, conf=0.3, max_gap=0.2)
    wrist = s.body[:, 4]                     # BODY_KEYPOINTS index of left_wrist
    assert np.isnan(wrist[long_gap]).all()
    assert np.isfinite(wrist[short_gap]).all()
    truth = skeleton(motion(t))["left_wrist"]
    assert np.abs(wrist[short_gap] - truth[short_gap]).max() < 1e-3
    row = features(p)
    assert row["qc_interpolated"] == pytest.approx(short_gap.sum() / (len(t) * 12))
    assert row["qc_coverage"] == pytest.approx(1 - long_gap.sum() / (len(t) * 12))
    # no derivative across the long gap: velocities next to it are missing
    v = s.derived["left_wrist/vel"]
    edge = np.flatnonzero(long_gap)
    assert np.isnan(v[edge[0] - 1]).all() and np.isnan(v[edge[-1] + 1]).all()


def test_skipped_frames_use_frame_numbers_not_rows():
    times, rows = time_grid(np.array([10, 11, 15, 16]), 5.0)
    assert np.allclose(times, np.arange(10, 17) / 5.0) and rows.tolist() == [0, 1, 5, 6]
    with pytest.raises(ValueError):
        time_grid(np.array([3, 3, 4]), 5.0)


def test_fill_short_gaps_edges_stay_missing():
    t = np.arange(10) / 10
    v = np.array([np.nan, 1, 2, np.nan, 4, 5, 6, 7, np.nan, np.nan])
    out = fill_short_gaps(v, t, 0.15)
    assert np.isnan(out[0]) and np.isnan(out[-2:]).all() and out[3] == pytest.approx(3.0)


def test_low_coverage_is_flagged():
    t = np.arange(0, 10, 1 / 20)
    p = to_poses(skeleton(motion(t)), 20)
    p.data[: len(t) // 2, 0, :, 2] = 0.1
    row = features(p)
    assert row["qc_flag"] == "low_coverage" and row["qc_coverage"] < 0.6


def test_circular_statistics():
    assert circular_mean([350.0, 10.0]) == pytest.approx(0.0, abs=1e-9) or \
        circular_mean([350.0, 10.0]) == pytest.approx(360.0, abs=1e-9)
    assert circular_sd([40.0] * 5) == pytest.approx(0.0, abs=1e-6)
    x = np.random.default_rng(0).normal(120, 5, 20000)
    assert circular_sd(x) == pytest.approx(5.0, rel=0.03)   # ~ linear SD for small spread
    a = joint_angle(np.array([[1.0, 0]]), np.zeros((1, 2)), np.array([[0, 1.0]]), signed=True)
    assert a[0] == pytest.approx(90.0)
    assert np.isnan(lr_correlation(np.ones(10), np.arange(10.0)))


def test_entropy_grows_with_spread_and_is_length_stable():
    rng = np.random.default_rng(0)
    narrow, wide = rng.normal(0, 0.05, 3000), rng.normal(0, 0.5, 3000)
    assert entropy(wide, 0.02) > entropy(narrow, 0.02) + 1.5
    assert entropy(wide[:2700], 0.02) == pytest.approx(entropy(wide, 0.02), rel=0.02)


def test_infant22_palm_stands_in_for_missing_wrist():
    t = np.arange(0, 10, 1 / 15)
    pts = skeleton(motion(t))
    p = to_poses(pts, 15, schema="infant22")
    k, palm = p.schema.index("left_wrist"), p.schema.index("left_palm")
    p.data[:, 0, palm] = p.data[:, 0, k]
    p.data[:, 0, k] = [np.nan, np.nan, 0.0]
    row = features(p)
    assert row["qc_coverage"] == 1.0 and row["qc_stand_in"] == pytest.approx(0.25)


def test_windows_rows():
    t = np.arange(0, 25, 1 / 10)
    rows = feature_rows(to_poses(skeleton(motion(t)), 10), FeatureConfig(windows=10))
    assert [r["window"] for r in rows] == ["all", "0", "1", "2"]
    assert rows[1]["t_start"] == 0 and rows[1]["t_end"] == pytest.approx(10.0)
    assert rows[3]["qc_duration_s"] == pytest.approx(5.0)


def test_cli_writes_csv(tmp_path):
    t = np.arange(0, 12, 1 / 15)
    for i in range(2):
        to_poses(skeleton(motion(t, np.random.default_rng(i))), 15).save_json(tmp_path / f"v{i}.json")
    out = tmp_path / "f.csv"
    assert main(["features", str(tmp_path / "v0.json"), str(tmp_path / "v1.json"), "--out",
                 str(out), "--windows", "5", "-q"]) == 0
    df = pd.read_csv(out)
    assert list(df["video"]).count("v0") == 3 and len(df) == 6
    assert (df["qc_flag"] == "ok").all() and "left_knee_angle_sd" in df.columns


def test_cli_reads_a_predict_or_batch_output_folder(tmp_path):
    t = np.arange(0, 6, 1 / 15)
    out = tmp_path / "out"
    for i, name in enumerate(["a", "b"]):
        (out / name).mkdir(parents=True)
        p = to_poses(skeleton(motion(t, np.random.default_rng(i))), 15)
        p.source = f"/videos/{name}.mp4"
        p.save_json(out / name / "poses.json")
    filtered = to_poses(skeleton(motion(t, np.random.default_rng(5))), 15)
    filtered.source = "/videos/b.mp4"
    filtered.save_json(out / "b" / "poses_filtered.json")  # batch's filtered poses win
    (out / "predictions.json").write_text("[]")  # COCO results of photos: not a video
    (out / "b" / "done.json").write_text("{}")
    csv = tmp_path / "f.csv"
    assert main(["features", str(out), "--out", str(csv), "-q"]) == 0
    df = pd.read_csv(csv)
    assert sorted(df["video"]) == ["a", "b"]
    assert df.set_index("video").loc["b", "file"].endswith("poses_filtered.json")
    empty = tmp_path / "empty"
    (empty / "x").mkdir(parents=True)
    assert main(["features", str(empty), "--out", str(tmp_path / "g.csv"), "-q"]) == 2


@pytest.mark.parametrize("case", ["missing", "not_poses", "bad_json", "no_fps", "bad_out"])
def test_cli_bad_input_one_line_exit_2(tmp_path, capsys, case):
    good = tmp_path / "good.json"
    t = np.arange(0, 3, 1 / 15)
    to_poses(skeleton(motion(t)), 15).save_json(good)
    path, out = good, tmp_path / "f.csv"
    if case == "missing":
        path = tmp_path / "nope.json"
    elif case == "not_poses":
        path = tmp_path / "x.json"
        path.write_text(json.dumps({"images": []}))
    elif case == "bad_json":
        path = tmp_path / "x.json"
        path.write_text("{not json")
    elif case == "no_fps":
        d = json.loads(good.read_text())
        d["fps"] = None
        path = tmp_path / "x.json"
        path.write_text(json.dumps(d))
    elif case == "bad_out":
        out = tmp_path / "f.txt"
    code = main(["features", str(path), "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("error: ")
    assert str(out if case == "bad_out" else path) in err[0]
    assert not out.exists()


def test_icc_agreement():
    from infantpose.features.agreement import icc_a1

    rng = np.random.default_rng(0)
    truth = rng.normal(0, 1, 200)
    assert icc_a1(np.column_stack([truth, truth])) == pytest.approx(1.0)
    noisy = [truth + rng.normal(0, 1, 200) for _ in range(2)]   # reliability 1 / (1 + 1)
    assert icc_a1(np.column_stack(noisy)) == pytest.approx(0.5, abs=0.12)
    assert abs(icc_a1(np.column_stack([truth, rng.normal(0, 1, 200)]))) < 0.15
    # absolute agreement: a constant offset lowers the ICC
    assert icc_a1(np.column_stack([truth, truth + 2.0])) < 0.5


def test_infant_is_the_best_scored_instance():
    t = np.arange(0, 8, 1 / 15)
    p = to_poses(skeleton(motion(t)), 15)
    ref = numeric(features(p))
    other = p.data.copy()
    other[..., :2] = other[..., :2] * 0.5 + np.random.default_rng(0).normal(0, 30, other[..., :2].shape)
    other[..., 2] = 0.4                          # a second person, scored lower
    p2 = to_poses(skeleton(motion(t)), 15)
    p2.data = np.concatenate([other, p.data], axis=1)
    got = numeric(features(p2))
    assert max(abs(ref[k] - got[k]) for k in ref) < 1e-9


def test_cli_fps_for_files_without_one(tmp_path):
    t = np.arange(0, 6, 1 / 12)
    d = to_poses(skeleton(motion(t)), 12).to_dict()
    d["fps"] = None
    path = tmp_path / "nofps.json"
    path.write_text(json.dumps(d))
    out = tmp_path / "f.csv"
    assert main(["features", str(path), "--out", str(out), "--fps", "12", "-q"]) == 0
    assert pd.read_csv(out)["qc_duration_s"].iloc[0] == pytest.approx(6.0)
