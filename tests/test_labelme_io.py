import json

import numpy as np
import pytest

from helpers_labels import make_dataset, write_image
from infantpose.errors import InputError
from infantpose.io.labelme import INFANT22_LABELS, read_labelme, write_labelme
from infantpose.io.labels import read_labels


def _seed004_file(tmp_path, shapes, name="a.json", image="a.png"):
    write_image(tmp_path / image)
    d = {"version": "4.5.6", "flags": {}, "shapes": shapes, "imagePath": image,
         "imageData": None, "imageHeight": 48, "imageWidth": 64}
    (tmp_path / name).write_text(json.dumps(d))
    return tmp_path / name


def _pt(label, x, y, **kw):
    return {"label": label, "points": [[x, y]], "group_id": None, "shape_type": "point",
            "flags": {}, **kw}


def test_reads_seed004_labels_as_infant22(tmp_path):
    shapes = [_pt(lb, 1.0 + i, 2.0 + i) for i, lb in enumerate(INFANT22_LABELS)]
    shapes[4]["flags"] = {"occluded": True}
    _seed004_file(tmp_path, shapes)
    ds = read_labels(tmp_path)
    assert ds.schema.name == "infant22" and len(ds) == 1
    assert ds.poses.data[0, 0, ds.schema.index("vertex"), :2].tolist() == [1.0, 2.0]
    assert ds.poses.data[0, 0, ds.schema.index("left_sole"), :2].tolist() == [22.0, 23.0]
    assert ds.visibility[0, 0, ds.schema.index("upper_lip")] == 1
    assert ds.visibility[0, 0].sum() == 2 * 22 - 1


def test_round_trip_multi_person(tmp_path):
    ds = make_dataset(tmp_path, "infant22", n_images=3, n_instances=2,
                      domains=["real", "synthetic", "real"])
    files = write_labelme(ds, tmp_path / "lm")
    assert len(files) == 3
    labels = {s["label"] for s in json.loads(files[0].read_text())["shapes"]}
    assert "Head" in labels or "Eye_L" in labels
    back = read_labelme(tmp_path / "lm")
    assert back.schema.name == "infant22"
    assert [p.resolve() for p in back.image_paths] == [p.resolve() for p in ds.image_paths]
    assert np.allclose(back.poses.data, ds.poses.data, equal_nan=True)
    assert np.array_equal(back.visibility, ds.visibility)
    assert np.allclose(back.boxes, ds.boxes)
    assert back.domains == ds.domains


@pytest.mark.parametrize("shapes, message", [
    ([_pt("Tail", 1, 1)], "unknown label 'Tail'"),
    ([_pt("Head", 1, 1), _pt("Head", 2, 2)], "appears twice"),
    ([{"label": "Head", "points": [[1, 1], [2, 2]], "shape_type": "point"}], "expected 1"),
    ([{"label": "Head", "points": [[float("nan"), 1]], "shape_type": "point"}], "NaN"),
    ([{"label": "Head", "shape_type": "point"}], "lacks 'label' or 'points'"),
])
def test_rejects_malformed(tmp_path, shapes, message):
    good = _seed004_file(tmp_path, [_pt("Head", 1, 1), _pt("Nose", 3, 3)], name="0.json")
    bad = _seed004_file(tmp_path, shapes, name="1.json", image="b.png")
    with pytest.raises(InputError) as e:
        read_labelme(tmp_path, schema="infant22")
    assert str(bad) in str(e.value) and message in str(e.value)
    assert good.exists()


def test_missing_key_and_missing_image(tmp_path):
    (tmp_path / "x.json").write_text(json.dumps({"shapes": []}))
    with pytest.raises(InputError, match="missing key 'imagePath'"):
        read_labelme(tmp_path / "x.json")
    (tmp_path / "x.json").write_text(json.dumps({"shapes": [_pt("Head", 1, 1)],
                                                 "imagePath": "gone.png"}))
    with pytest.raises(InputError, match="image not found"):
        read_labelme(tmp_path / "x.json")


def test_label_map_renames_and_ignores(tmp_path):
    _seed004_file(tmp_path, [_pt("Head", 1, 1), _pt("Tail", 2, 2), _pt("snout", 3, 3)])
    ds = read_labelme(tmp_path, label_map={"Tail": "", "snout": "nose"})
    assert ds.schema.name == "infant22"
    assert ds.poses.data[0, 0, ds.schema.index("nose"), :2].tolist() == [3, 3]
    with pytest.raises(InputError, match="not a keypoint of schema infant22"):
        read_labelme(tmp_path, label_map={"Tail": "tail_tip"}, schema="infant22")
