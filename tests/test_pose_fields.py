"""Typed per-frame / per-instance / per-keypoint fields of Poses: checks, operations, JSON."""

import json

import numpy as np
import pytest

from infantpose.errors import InputError
from infantpose.poses import Poses

NAN = float("nan")


def _poses(frames=3, inst=2, seed=0, **fields):
    rng = np.random.default_rng(seed)
    p = Poses.empty("coco17", frames, inst, fps=10.0, frame_size=(64, 48), source="v.mp4",
                    frame_indices=np.arange(frames), meta={"model": "test"}, **fields)
    p.data[..., :2] = rng.uniform(0, 40, p.data[..., :2].shape)
    p.data[..., 2] = 0.9
    return p


def _all_fields(frames=3, inst=2):
    flags = np.zeros((frames, inst, 17), bool)
    flags[1, 0, 9] = True
    rejected = np.zeros_like(flags)
    rejected[0, 1, 2] = True
    return dict(
        path=[["detector", "fallback"]] + [[None, "detector"]] * (frames - 1),
        rotation=[[90, None]] + [[0, 270]] * (frames - 1),
        presence=np.full((frames, inst), 0.75),
        tracked=np.ones((frames, inst), bool),
        views=[["both", "mirrored"]] * frames,
        outcome=["detected"] + ["tracked"] * (frames - 1),
        interpolated=flags, rejected=rejected)


# --- checks ---------------------------------------------------------------------------------------

def test_fields_default_to_not_recorded_and_take_their_types():
    p = _poses()
    assert p.fields() == {} and p.path is None and p.outcome is None
    q = _poses(**_all_fields())
    assert list(q.fields()) == ["path", "rotation", "presence", "tracked", "views", "outcome",
                                "interpolated", "rejected"]
    assert q.path.dtype == object and q.path.shape == (3, 2) and q.path[0, 1] == "fallback"
    assert q.path[1, 0] is None  # unknown path
    assert q.rotation.dtype == float and q.rotation[0, 0] == 90 and np.isnan(q.rotation[0, 1])
    assert q.tracked.dtype == bool and q.interpolated.shape == (3, 2, 17)
    assert q.outcome.shape == (3,) and q.outcome[0] == "detected"


@pytest.mark.parametrize("kw, message", [
    ({"path": [["detector", "fallback"]]}, r"Poses.path must have shape \(3, 2\)"),
    ({"path": [["a", 3]] * 3}, "Poses.path must hold strings or None"),
    ({"rotation": [[90, "90"]] * 3}, "Poses.rotation must hold numbers or None"),
    ({"rotation": [[90, True]] * 3}, "Poses.rotation must hold numbers or None"),
    ({"presence": np.full((3, 2), np.inf)}, "Poses.presence must hold finite numbers or NaN"),
    ({"tracked": np.ones((3, 2))}, "Poses.tracked must hold booleans"),
    ({"outcome": ["tracked"] * 2}, r"Poses.outcome must have shape \(3,\)"),
    ({"outcome": [["tracked"]] * 3}, r"Poses.outcome must have shape \(3,\)"),
    ({"interpolated": np.zeros((3, 2), bool)}, r"Poses.interpolated must have shape \(3, 2, 17\)"),
    ({"views": [["both"], ["both", "original"], ["both"]]}, "Poses.views must have shape"),
])
def test_bad_fields_are_refused_naming_the_field(kw, message):
    with pytest.raises(ValueError, match=message):
        _poses(**kw)


# --- operations -----------------------------------------------------------------------------------

def test_fields_survive_take_frames_pad_and_drop_keypoints():
    p = _poses(**_all_fields())
    t = p.take_frames([2, 0])
    assert t.n_frames == 2 and t.path.tolist() == [[None, "detector"], ["detector", "fallback"]]
    assert t.outcome.tolist() == ["tracked", "detected"] and list(t.frame_indices) == [2, 0]
    assert t.interpolated.shape == (2, 2, 17) and not t.interpolated.any()
    assert np.argwhere(t.rejected).tolist() == [[1, 1, 2]]
    t.rotation[0, 0] = 180  # a copy: the original is untouched
    assert p.rotation[2, 0] == 0
    w = p.pad_instances(4)
    assert w.path.shape == (3, 4) and w.path[0, 3] is None and np.isnan(w.rotation[0, 3])
    assert w.tracked[:, 2:].sum() == 0 and w.interpolated.shape == (3, 4, 17)
    assert w.outcome.tolist() == p.outcome.tolist()
    d = p.drop_keypoints(["nose"])
    assert d.path.tolist() == p.path.tolist() and d.interpolated[1, 0, 9]


def test_concat_keeps_a_field_some_items_lack_with_its_unknown_value():
    a = _poses(2, 1, path=[["detector"], ["fallback"]], outcome=["detected", "tracked"])
    b = _poses(1, 3, rotation=[[0, 90, 180]])
    c = Poses.concat([a, b])
    assert c.n_frames == 3 and c.n_instances == 3
    assert c.path.tolist() == [["detector", None, None], ["fallback", None, None],
                               [None, None, None]]
    assert c.outcome.tolist() == ["detected", "tracked", None]
    assert np.isnan(c.rotation[:2]).all() and c.rotation[2].tolist() == [0, 90, 180]
    assert c.presence is None


def test_from_ragged_pads_ragged_instance_fields():
    k = np.zeros((17, 3))
    p = Poses.from_ragged([np.stack([k, k]), np.empty((0, 17, 3)), k[None]], "coco17",
                          rotation=[[90, 0], [], [180]], path=[["a", "b"], [], ["c"]])
    assert p.rotation.shape == (3, 2) and p.rotation[2, 0] == 180 and np.isnan(p.rotation[1]).all()
    assert p.path.tolist() == [["a", "b"], [None, None], ["c", None]]
    with pytest.raises(ValueError, match="Poses.rotation of frame 0 has 3 entries for 2 instances"):
        Poses.from_ragged([np.stack([k, k])], "coco17", rotation=[[0, 0, 0]])


def test_convert_keeps_instance_fields_and_maps_keypoint_flags():
    flags = np.zeros((1, 1, 17), bool)
    flags[0, 0, 11] = True  # left_hip: the derived hips of infant22 lean on it
    flags[0, 0, 0] = True  # nose
    p = _poses(1, 1, path=[["fallback"]], rotation=[[90]], interpolated=flags)
    q = p.convert("infant22")
    assert q.path.tolist() == [["fallback"]] and q.rotation.tolist() == [[90.0]]
    assert q.interpolated.shape == (1, 1, 22)
    marked = {q.schema.keypoints[i] for i in np.flatnonzero(q.interpolated[0, 0])}
    assert "nose" in marked and "left_hip" in marked and "right_knee" not in marked


def test_labeled_dataset_subset_slices_the_fields():
    from infantpose.datasets import LabeledDataset

    p = _poses(3, 1, path=[["a"], ["b"], ["c"]])
    p.frame_names = ["a.jpg", "b.jpg", "c.jpg"]
    ds = LabeledDataset(p, np.full((3, 1, 17), 2), np.zeros((3, 1, 4)), "/tmp", ["real"] * 3, {})
    assert ds.subset([2, 1]).poses.path.tolist() == [["c"], ["b"]]


# --- JSON -----------------------------------------------------------------------------------------

def test_json_round_trip_keeps_every_field(tmp_path):
    p = _poses(**_all_fields())
    path = p.save_json(tmp_path / "p.json")
    raw = json.loads(path.read_text())
    assert raw["version"] == 1 and "path" not in raw["meta"]
    assert raw["fields"]["rotation"][0] == [90.0, None]  # unknown as null
    assert raw["fields"]["interpolated"] == [[1, 0, 9]]  # flags as [frame, instance, keypoint]
    q = Poses.load_json(path)
    assert q.allclose(p, atol=0) and q.meta == {"model": "test"}
    assert list(q.fields()) == list(p.fields())
    for name, value in p.fields().items():
        np.testing.assert_array_equal(getattr(q, name), value, err_msg=name)
    assert "fields" in _poses().to_dict() and _poses().to_dict()["fields"] == {}


def test_reads_version_1_files_with_the_old_meta_keys(tmp_path):
    # an image result: one frame, lists over its instances
    image = _poses(1, 2).to_dict()
    del image["fields"]
    image["meta"] = {"model": "blazepose", "path": ["detector", "fallback"],
                     "rotation": [0, None], "presence": [None, 0.97], "views": ["both", None],
                     "tracked": [False, False], "attempts": [1, 16]}
    (tmp_path / "img.json").write_text(json.dumps(image))
    p = Poses.load_json(tmp_path / "img.json")
    assert p.path.tolist() == [["detector", "fallback"]] and p.views[0, 0] == "both"
    assert p.rotation[0, 0] == 0 and np.isnan(p.rotation[0, 1]) and p.presence[0, 1] == 0.97
    assert p.meta == {"model": "blazepose", "attempts": [1, 16]}  # provenance stays

    # a (filtered) video: lists over its frames, the filter's flags as index triples
    video = _poses(3, 1).to_dict()
    del video["fields"]
    video["meta"] = {"model": "m", "path": ["detector", None, "fallback"],
                     "rotation": [90, None, 90], "interpolated": [[1, 0, 4]], "rejected": [],
                     "tracking": {"frames": 3}}
    (tmp_path / "vid.json").write_text(json.dumps(video))
    v = Poses.load_json(tmp_path / "vid.json")
    assert v.path.tolist() == [["detector"], [None], ["fallback"]]
    assert v.rotation[:, 0].tolist()[0] == 90 and np.isnan(v.rotation[1, 0])
    assert np.argwhere(v.interpolated).tolist() == [[1, 0, 4]] and not v.rejected.any()
    assert v.meta == {"model": "m", "tracking": {"frames": 3}}

    # a key of neither shape was free-form meta then and stays so
    odd = _poses(3, 2).to_dict()
    del odd["fields"]
    odd["meta"] = {"path": "detector", "rotation": [1, 2, 3, 4]}
    (tmp_path / "odd.json").write_text(json.dumps(odd))
    o = Poses.load_json(tmp_path / "odd.json")
    assert o.path is None and o.rotation is None and o.meta == odd["meta"]


@pytest.mark.parametrize("fields, message", [
    ([1], "fields must be an object"),
    ({"colour": []}, "fields: unknown field 'colour'"),
    ({"rotation": [[0, "x"]] * 3}, "fields.rotation: Poses.rotation must hold numbers"),
    ({"path": [[None]]}, r"fields.path: Poses.path must have shape \(3, 2\)"),
    ({"interpolated": [[3, 0, 0]]}, "fields.interpolated: .* not a \\[frame, instance, keypoint"),
    ({"interpolated": [[0, 0, True]]}, "fields.interpolated"),
])
def test_bad_fields_in_a_file_name_the_file(tmp_path, fields, message):
    d = _poses(3, 2).to_dict()
    d["fields"] = fields
    (tmp_path / "bad.json").write_text(json.dumps(d))
    with pytest.raises(InputError, match=message) as e:
        Poses.load_json(tmp_path / "bad.json")
    assert "bad.json" in str(e.value)


# --- producers ------------------------------------------------------------------------------------

def test_track_frames_records_the_outcome_of_every_frame():
    import testclips as tc
    from infantpose.video.tracking import track_frames

    pts = tc.clip_trajectories(n_frames=4)
    frames = [(i, tc.render_frame(pts[i], "coco17", (192, 160))) for i in range(4)]
    blank = (4, np.zeros((160, 192, 3), np.uint8))  # nobody: no path, an unknown rotation
    p = track_frames(tc.create_marker_estimator(), frames + [blank], fps=15.0)
    assert p.outcome.tolist() == ["detected", "tracked", "tracked", "tracked", "redetected"]
    assert p.meta["tracking"]["tracked"] == int((p.outcome == "tracked").sum())
    assert p.path is None and p.rotation is None  # the marker estimator reports neither


def test_filter_marks_points_in_the_fields_and_they_reach_the_file(tmp_path):
    from infantpose.video.filters import filter_poses

    p = _poses(20, 1)
    p.data[5:7, 0, 3] = (np.nan, np.nan, 0.0)  # a short gap the filter fills
    out = filter_poses(p, method="none", max_speed=None)
    assert out.interpolated.shape == (20, 1, 17) and out.interpolated[5:7, 0, 3].all()
    assert out.rejected.shape == (20, 1, 17)
    assert out.meta["filter"]["n_interpolated"] == int(out.interpolated.sum())
    back = Poses.load_json(out.save_json(tmp_path / "f.json"))
    np.testing.assert_array_equal(back.interpolated, out.interpolated)


def test_empty_poses_round_trip_with_fields(tmp_path):
    p = Poses.empty("coco17", 0, 2, path=np.empty((0, 2), object), outcome=[],
                    rotation=np.empty((0, 2)))
    q = Poses.load_json(p.save_json(tmp_path / "e.json"))
    assert q.path.shape == (0, 2) and q.rotation.shape == (0, 2) and q.outcome.shape == (0,)
