import json

import numpy as np

from helpers_labels import make_dataset
from infantpose.datasets import LabeledDataset
from infantpose.io.coco import read_coco, write_coco
from infantpose.io.labelme import read_labelme, write_labelme


def test_coco_labelme_coco_loses_nothing(tmp_path):
    ds = make_dataset(tmp_path / "imgs", "infant22", n_images=4, n_instances=2,
                      domains=["real", "synthetic", "real", "real"])
    first = write_coco(ds, tmp_path / "imgs" / "a.json",
                       extra_image_fields=[{"posture": "supine", "n": i} for i in range(4)])
    write_labelme(read_coco(first), tmp_path / "lm")
    second = write_coco(read_labelme(tmp_path / "lm"), tmp_path / "out" / "b.json")
    a, b = json.loads(first.read_text()), json.loads(second.read_text())
    assert a["categories"] == b["categories"]
    strip = lambda ims: [{k: v for k, v in im.items() if k != "file_name"} for im in ims]  # noqa
    assert strip(a["images"]) == strip(b["images"])
    assert b["images"][3]["posture"] == "supine" and b["images"][3]["n"] == 3
    assert a["annotations"] == b["annotations"]
    back = read_coco(second)
    assert [p.resolve() for p in back.image_paths] == [p.resolve() for p in ds.image_paths]
    assert np.allclose(back.poses.data, ds.poses.data, equal_nan=True)


def test_convert_coco17_to_infant22_marks_missing(tmp_path):
    ds = make_dataset(tmp_path, "coco17", n_images=2, drop=0)
    out = ds.convert("infant22")
    s = out.schema
    assert s.name == "infant22"
    assert set(out.meta["missing_keypoints"]) == {"vertex", "upper_lip", "lower_lip", "right_palm",
                                                  "left_palm", "right_sole", "left_sole"}
    for name in out.meta["missing_keypoints"]:
        i = s.index(name)
        assert (out.visibility[..., i] == 0).all() and (out.weights[..., i] == 0).all()
        assert np.isnan(out.poses.data[..., i, :2]).all()
    i, j = s.index("left_knee"), ds.schema.index("left_knee")
    assert np.array_equal(out.poses.data[..., i, :], ds.poses.data[..., j, :])
    assert np.array_equal(out.visibility[..., i], ds.visibility[..., j])
    out.validate()


def test_convert_infant22_to_coco17_drops_ears(tmp_path):
    ds = make_dataset(tmp_path, "infant22", n_images=2, drop=0)
    out = ds.convert("coco17")
    assert out.meta["missing_keypoints"] == ["left_ear", "right_ear"]
    assert (out.visibility[..., out.schema.index("left_ear")] == 0).all()


def test_subset_and_concat(tmp_path):
    a = make_dataset(tmp_path / "a", "coco17", n_images=3, n_instances=1)
    b = make_dataset(tmp_path / "b", "coco17", n_images=2, n_instances=2, seed=1,
                     domains=["synthetic"] * 2)
    both = LabeledDataset.concat([a, b])
    assert len(both) == 5 and both.poses.n_instances == 2
    assert both.domains == ["real"] * 3 + ["synthetic"] * 2
    assert all(p.is_file() for p in both.image_paths)
    assert np.isnan(both.boxes[0, 1]).all() and (both.visibility[0, 1] == 0).all()
    sub = both.subset([4, 0])
    assert sub.image_paths[1].resolve() == a.image_paths[0].resolve()
    assert np.array_equal(sub.visibility[0], b.visibility[1])
    sub.validate()


def test_validate_rejects_inconsistent_labels(tmp_path):
    import pytest

    from infantpose.errors import InputError

    ds = make_dataset(tmp_path, "coco17", n_images=2)
    ds.validate()
    bad = ds.subset([0, 1])
    bad.visibility[0, 0, 0] = 3
    with pytest.raises(InputError, match="0, 1 or 2"):
        bad.validate()
    bad = ds.subset([0, 1])
    k = int(np.flatnonzero(bad.visibility[0, 0] > 0)[0])
    bad.poses.data[0, 0, k, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        bad.validate()
    (tmp_path / "img_01.png").unlink()
    with pytest.raises(InputError, match="image not found"):
        ds.validate()
