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
    # DeepLabCut puts pixel centres on whole numbers, infantpose at .5: x + 0.5
    assert ds.poses.data[0, 0, s.index("nose")].tolist() == [10.5, 11.5, 1]
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
    assert ds.poses.data[0, 0, ds.schema.index("nose"), 0] == 10.5


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


# --- predictions ---------------------------------------------------------------------------------
def _video_poses(n_instances: int = 1):
    from infantpose.poses import Poses

    rng = np.random.default_rng(1)
    frames = np.array([0, 1, 2, 5, 6])  # frames 3 and 4 were not decoded
    data = rng.uniform(5, 300, (len(frames), n_instances, 17, 3))
    data[..., 2] = rng.uniform(0.05, 1.0, data.shape[:-1])
    data = np.round(data, 3)
    data[1, 0, 3] = [np.nan, np.nan, 0.0]   # a missing keypoint
    data[3] = [np.nan, np.nan, 0.0]         # frame 5: nobody found
    return Poses(data, "coco17", source="clip.mp4", frame_indices=frames, fps=25.0,
                 meta={"model": "blazepose"})


@pytest.mark.parametrize("n_instances", [1, 2])
def test_predictions_round_trip_with_likelihood(tmp_path, n_instances):
    import pandas as pd

    from infantpose.io.dlc import read_dlc_predictions, write_dlc_predictions

    poses = _video_poses(n_instances)
    path = write_dlc_predictions(poses, tmp_path / "clipDLC_infantpose.csv")
    back = read_dlc_predictions(path, fps=25.0)
    assert back.schema.name == "coco17" and back.fps == 25.0
    assert back.frame_indices.tolist() == [0, 1, 2, 5, 6]  # skipped frames stay skipped
    assert np.allclose(back.data, poses.data, equal_nan=True, atol=1e-3)  # x, y, likelihood
    # DeepLabCut's own layout: three (four with individuals) header rows, one row per frame
    # from 0, x y likelihood per body part, pixel centres on whole numbers
    header = list(range(4 if n_instances > 1 else 3))
    df = pd.read_csv(path, header=header, index_col=0)
    assert df.index.tolist() == list(range(7))
    assert df.columns.names[-2:] == ["bodyparts", "coords"]
    assert df.columns[0][0] == "infantpose_blazepose"
    nose = [c for c in df.columns if c[-2] == "nose"][:3]
    assert [c[-1] for c in nose] == ["x", "y", "likelihood"]
    assert df[nose[0]].iloc[0] == pytest.approx(poses.data[0, 0, 0, 0] - 0.5, abs=1e-3)
    assert df[nose[2]].iloc[0] == pytest.approx(poses.data[0, 0, 0, 2], abs=1e-3)
    assert df.iloc[3].isna().all()  # frame 3: not decoded
    assert df[nose[2]].iloc[5] == 0 and np.isnan(df[nose[0]].iloc[5])  # frame 5: nobody


def test_labels_file_is_not_predictions(tmp_path):
    from infantpose.io.dlc import read_dlc_predictions

    path = _project(tmp_path)
    with pytest.raises(InputError, match="labels file"):
        read_dlc_predictions(path)


def test_convert_to_dlc_and_back(tmp_path, capsys):
    from infantpose.cli import main
    from infantpose.poses import Poses

    poses = _video_poses()
    src = poses.save_json(tmp_path / "clip.json")
    assert main(["convert", str(src), "-o", str(tmp_path / "clip_dlc.csv"), "--to", "dlc"]) == 0
    assert main(["convert", str(tmp_path / "clip_dlc.csv"), str(tmp_path / "back.json"),
                 "--to", "json", "--fps", "25"]) == 0
    back = Poses.load_json(tmp_path / "back.json")
    assert back.fps == 25.0 and back.frame_indices.tolist() == poses.frame_indices.tolist()
    assert np.allclose(back.data, poses.data, equal_nan=True, atol=1e-3)
    capsys.readouterr()
