import numpy as np
import pytest

from helpers_labels import write_image
from infantpose.errors import InputError
from infantpose.io.dlc import read_dlc
from infantpose.io.labels import read_labels


def _project(tmp_path, three_index=True, rows=None, parts=("nose", "left_eye", "right_hip")):
    vid = tmp_path / "labeled-data" / "baby1"
    for i in range(2):
        write_image(vid / f"img{i:03d}.png", seed=i)
    head = ["scorer"] + ([""] * 2 if three_index else []) + ["ann"] * (2 * len(parts))
    bp = ["bodyparts"] + ([""] * 2 if three_index else []) + [p for p in parts for _ in "xy"]
    co = ["coords"] + ([""] * 2 if three_index else []) + ["x", "y"] * len(parts)
    rows = rows or [["10", "11", "12", "13", "", ""], ["20", "21", "", "", "30.5", "31"]]
    lines = [",".join(head), ",".join(bp), ",".join(co)]
    for i, r in enumerate(rows):
        idx = ["labeled-data", "baby1", f"img{i:03d}.png"] if three_index else \
            [f"labeled-data/baby1/img{i:03d}.png"]
        lines.append(",".join(idx + r))
    path = vid / "CollectedData_ann.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("three_index", [True, False])
def test_reads_collected_data(tmp_path, three_index):
    path = _project(tmp_path, three_index)
    ds = read_labels(path)
    assert ds.schema.name == "coco17"
    assert ds.image_names == ["labeled-data/baby1/img000.png", "labeled-data/baby1/img001.png"]
    assert ds.root == tmp_path
    s = ds.schema
    assert ds.poses.data[0, 0, s.index("nose")].tolist() == [10, 11, 1]
    assert np.isnan(ds.poses.data[0, 0, s.index("right_hip"), 0])
    assert ds.visibility[1, 0, s.index("right_hip")] == 2
    assert ds.visibility[1, 0, s.index("left_eye")] == 0
    assert ds.poses.frame_size == (64, 48)


def test_mapping_renames_and_drops(tmp_path):
    path = _project(tmp_path, parts=("snout", "left_eye", "tailbase"))
    with pytest.raises(InputError, match="not in any known schema"):
        read_dlc(path)
    ds = read_dlc(path, mapping={"snout": "nose", "tailbase": None}, schema="infant22")
    assert ds.schema.name == "infant22"
    assert ds.poses.data[0, 0, ds.schema.index("nose"), 0] == 10


@pytest.mark.parametrize("rows, message", [
    ([["10", "", "12", "13", "", ""], ["1", "1", "1", "1", "1", "1"]], "only one of x, y"),
    ([["10", "a", "12", "13", "", ""], ["1", "1", "1", "1", "1", "1"]], "non-numeric"),
])
def test_rejects_malformed(tmp_path, rows, message):
    path = _project(tmp_path, rows=rows)
    with pytest.raises(InputError) as e:
        read_dlc(path)
    assert str(path) in str(e.value) and message in str(e.value)


def test_rejects_multi_animal_and_missing_images(tmp_path):
    path = _project(tmp_path)
    lines = path.read_text().splitlines()
    (tmp_path / "ma.csv").write_text("\n".join([lines[0], "individuals,,,a,a,a,a,a,a"] + lines[1:]))
    with pytest.raises(InputError, match="multi-animal"):
        read_dlc(tmp_path / "ma.csv")
    (tmp_path / "labeled-data" / "baby1" / "img001.png").unlink()
    with pytest.raises(InputError, match="image not found"):
        read_dlc(path)
