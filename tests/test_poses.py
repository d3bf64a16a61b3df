"""The Poses container: lossless JSON, tidy CSV/Parquet, from_dataframe, concat/pad, convert."""

import json

import numpy as np
import pandas as pd
import pytest

from infantpose.errors import InputError
from infantpose.poses import Poses


def _poses(frames=3, inst=2, schema="coco17", seed=0):
    rng = np.random.default_rng(seed)
    p = Poses.empty(schema, frames, inst, fps=25.0, frame_size=(640, 480), source="v.mp4",
                    frame_indices=np.arange(frames) * 2, meta={"model": "test"})
    p.data[..., :2] = rng.uniform(0, 600, p.data[..., :2].shape)
    p.data[..., 2] = rng.uniform(0, 1, p.data[..., 2].shape)
    if inst > 1:
        p.data[0, 1, 3, :2] = np.nan  # one missing keypoint
        p.data[0, 1, 3, 2] = 0.0
    if inst > 1 and frames > 2:
        p.data[2, 1] = np.nan  # one missing instance
        p.data[2, 1, :, 2] = 0.0
    return p


def test_json_round_trip_is_lossless(tmp_path):
    p = _poses()
    path = p.save_json(tmp_path / "p.json")
    q = Poses.load_json(path)
    assert q.allclose(p, atol=0)
    assert np.array_equal(q.data, p.data, equal_nan=True)
    assert q.fps == 25.0 and q.frame_size == (640, 480) and q.source == "v.mp4"
    assert list(q.frame_indices) == [0, 2, 4] and q.meta == {"model": "test"}
    raw = json.loads(path.read_text())
    assert raw["data"][0][1][3][0] is None  # NaN stored as null, file is strict JSON


def test_load_json_errors(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        Poses.load_json(tmp_path / "none.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InputError, match="bad.json: invalid JSON"):
        Poses.load_json(bad)
    bad.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(InputError, match="not an infantpose poses JSON"):
        Poses.load_json(bad)
    d = _poses().to_dict()
    d["shape"] = [9, 9, 17, 3]
    bad.write_text(json.dumps(d))
    with pytest.raises(InputError, match="shape"):
        Poses.load_json(bad)


def test_csv_and_parquet_are_tidy_and_invertible(tmp_path):
    p = _poses()
    p.to_csv(tmp_path / "p.csv")
    df = pd.read_csv(tmp_path / "p.csv")
    assert list(df.columns) == ["frame", "time", "instance", "keypoint", "x", "y", "score"]
    assert len(df) == 3 * 2 * 17
    row = df[(df.frame == 2) & (df.instance == 0) & (df.keypoint == "left_eye")].iloc[0]
    assert row.time == pytest.approx(2 / 25.0)
    assert row.x == pytest.approx(p.data[1, 0, 1, 0], abs=1e-3)
    assert df[(df.frame == 0) & (df.instance == 1) & (df.keypoint == "left_ear")].x.isna().all()
    q = Poses.from_dataframe(df, "coco17", fps=25.0)
    assert np.allclose(q.data, p.data, atol=1e-3, equal_nan=True)
    assert list(q.frame_indices) == [0, 2, 4]

    p.to_parquet(tmp_path / "p.parquet")
    dq = pd.read_parquet(tmp_path / "p.parquet")
    r = Poses.from_dataframe(dq.sample(frac=1.0, random_state=0), "coco17")  # any row order
    assert np.array_equal(r.data, p.data, equal_nan=True)


def test_concat_pads_instances():
    a, b = _poses(2, 1, seed=1), _poses(3, 2, seed=2)
    c = Poses.concat([a, b])
    assert c.data.shape == (5, 2, 17, 3)
    assert np.isnan(c.data[:2, 1, :, :2]).all() and (c.data[:2, 1, :, 2] == 0).all()
    assert np.array_equal(c.data[2:], b.data, equal_nan=True)
    assert list(c.frame_indices) == [0, 2, 0, 2, 4]
    with pytest.raises(ValueError):
        a.pad_instances(0)


def test_from_ragged_pads_frames_with_fewer_instances():
    rng = np.random.default_rng(0)
    one, two = rng.random((1, 17, 3)), rng.random((2, 17, 3))
    p = Poses.from_ragged([one, np.zeros((0, 17, 3)), two], "coco17", frame_indices=[0, 4, 5],
                          fps=25.0)
    assert p.data.shape == (3, 2, 17, 3)
    assert np.array_equal(p.data[0, :1], one) and np.array_equal(p.data[2], two)
    assert np.isnan(p.data[1, :, :, :2]).all() and (p.data[1, :, :, 2] == 0).all()
    assert np.isnan(p.data[0, 1, :, :2]).all() and (p.data[0, 1, :, 2] == 0).all()
    assert list(p.frame_indices) == [0, 4, 5] and p.fps == 25.0
    assert Poses.from_ragged([], "coco17").data.shape == (0, 0, 17, 3)
    with pytest.raises(ValueError, match="frame 1"):
        Poses.from_ragged([one, np.zeros((1, 33, 3))], "coco17")


def test_convert_to_infant22_marks_missing():
    p = _poses(1, 1)
    q = p.convert("infant22")
    assert q.schema.name == "infant22"
    assert "vertex" in q.meta["missing_keypoints"]
    assert np.isnan(q.data[0, 0, q.schema.index("vertex"), :2]).all()
    np.testing.assert_array_equal(q.data[0, 0, q.schema.index("left_wrist")],
                                  p.data[0, 0, p.schema.index("left_wrist")])


def test_keypoint_count_mismatch_is_rejected():
    with pytest.raises(ValueError, match="keypoints"):
        Poses(np.zeros((1, 1, 5, 3)), "coco17")
