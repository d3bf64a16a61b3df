import json

import numpy as np
import pytest

from helpers_labels import make_dataset, same_labels
from infantpose.errors import InputError
from infantpose.io.coco import read_coco, write_coco


def test_round_trip_keeps_everything(tmp_path):
    ds = make_dataset(tmp_path, "infant22", n_images=3, n_instances=2,
                      domains=["real", "synthetic", "real"])
    out = write_coco(ds, tmp_path / "labels.json",
                     extra_image_fields=[{"seed": i} for i in range(3)])
    d = json.loads(out.read_text())
    cat = d["categories"][0]
    assert cat["schema"] == "infant22" and len(cat["keypoints"]) == 22
    assert min(min(e) for e in cat["skeleton"]) == 1  # 1-based
    assert [im["domain"] for im in d["images"]] == ["real", "synthetic", "real"]
    assert d["images"][2]["seed"] == 2
    assert len(d["annotations"]) == 6
    back = read_coco(out)
    assert same_labels(ds, back)
    assert back.domains == ds.domains
    assert np.allclose(back.boxes, ds.boxes, atol=1e-3)
    assert back.poses.frame_size == (64, 48)


def test_reorders_keypoints_by_name(tmp_path):
    ds = make_dataset(tmp_path, "coco17", n_images=2)
    path = write_coco(ds, tmp_path / "a.json")
    d = json.loads(path.read_text())
    perm = np.arange(17)[::-1]
    cat = d["categories"][0]
    cat["keypoints"] = [cat["keypoints"][i] for i in perm]
    del cat["schema"]
    for ann in d["annotations"]:
        kp = np.array(ann["keypoints"]).reshape(17, 3)
        ann["keypoints"] = kp[perm].ravel().tolist()
    (tmp_path / "b.json").write_text(json.dumps(d))
    back = read_coco(tmp_path / "b.json")
    assert back.schema.name == "coco17"
    assert same_labels(ds, back)


def _mutate(tmp_path, fn):
    ds = make_dataset(tmp_path, "coco17", n_images=2)
    d = json.loads(write_coco(ds, tmp_path / "ok.json").read_text())
    fn(d)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d).replace('"NAN"', "NaN"))
    return bad


@pytest.mark.parametrize("fn, message", [
    (lambda d: d.pop("annotations"), "missing key 'annotations'"),
    (lambda d: d["annotations"][0]["keypoints"].pop(), "keypoint values, expected 51"),
    (lambda d: d["categories"][0]["keypoints"].__setitem__(0, "snout"), "not in any known schema"),
    (lambda d: d["images"][1].__setitem__("file_name", "nope.png"), "image not found"),
    (lambda d: d["annotations"][0]["keypoints"].__setitem__(0, "NAN"), "NaN"),
    (lambda d: d["annotations"][0].__setitem__("image_id", 999), "unknown image_id"),
    (lambda d: d["annotations"][0]["keypoints"].__setitem__(2, 5), "visibility"),
])
def test_rejects_malformed(tmp_path, fn, message):
    bad = _mutate(tmp_path, fn)
    with pytest.raises(InputError) as e:
        read_coco(bad)
    assert str(bad) in str(e.value) and message in str(e.value)


def test_rejects_invalid_json(tmp_path):
    p = tmp_path / "x.json"
    p.write_text("{not json")
    with pytest.raises(InputError, match="invalid JSON"):
        read_coco(p)


def test_read_labels_detects_and_rejects(tmp_path):
    from infantpose.io.labels import detect_format, read_labels
    from infantpose.poses import Poses

    ds = make_dataset(tmp_path, "coco17", n_images=1)
    path = write_coco(ds, tmp_path / "l.json")
    assert detect_format(path) == "coco" and len(read_labels(path)) == 1
    assert read_labels(path, schema="infant22").schema.name == "infant22"
    (tmp_path / "other.json").write_text(json.dumps({"hello": 1}))
    with pytest.raises(InputError, match="unrecognised JSON labels"):
        read_labels(tmp_path / "other.json")
    Poses.empty("coco17", 1, 1).save_json(tmp_path / "p.json")
    with pytest.raises(InputError, match="poses file"):
        read_labels(tmp_path / "p.json")
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="DeepLabCut"):
        read_labels(tmp_path / "x.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no label files"):
        read_labels(tmp_path / "empty")
