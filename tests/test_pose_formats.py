"""Pose files of the field's tools (issue 12, item 4): SLEAP .slp through sleap-io, NWB through
ndx-pose, a movement dataset through xarray; round trips keep frames, slots, scores and time."""

from pathlib import Path

import numpy as np
import pytest

from infantpose.cli import main
from infantpose.errors import InputError
from infantpose.io import posefiles as PF
from infantpose.poses import Poses

pytest.importorskip("sleap_io")

FRAMES = np.array([0, 1, 2, 9, 10, 11, 12])  # frames 3-8 were not decoded


@pytest.fixture()
def poses() -> Poses:
    """Two instance slots, gapped frames, a frame with nobody, missing points, 29.97 fps."""
    rng = np.random.default_rng(0)
    data = rng.uniform(5, 300, (len(FRAMES), 2, 17, 3))
    data[..., 2] = rng.uniform(0.05, 1.0, data.shape[:-1])
    data[0, 1] = [np.nan, np.nan, 0.0]       # slot 1 empty in the first frame
    data[2, 0, 3] = [np.nan, np.nan, 0.0]    # one missing keypoint
    data[4] = [np.nan, np.nan, 0.0]          # frame 10: nobody found
    data[:, :, 4] = [np.nan, np.nan, 0.0]    # right_ear never seen
    return Poses(data, "coco17", source="clip.mp4", frame_indices=FRAMES, fps=29.97,
                 frame_size=(640, 480), meta={"model": "blazepose"})


def _same(a: Poses, b: Poses) -> None:
    assert b.schema.name == a.schema.name
    assert np.array_equal(b.frame_indices, a.frame_indices)
    assert b.fps == pytest.approx(a.fps) and b.frame_size == a.frame_size
    assert b.data.shape == a.data.shape
    assert np.allclose(b.data, a.data, equal_nan=True, atol=1e-3)


def test_slp_round_trip_in_sleaps_own_layout(poses, tmp_path):
    """Back unchanged; and what SLEAP sees: one video, the COCO skeleton, tracks
    instance_0/1, pixel centres on whole numbers (infantpose's x - 0.5)."""
    import sleap_io as sio

    path = PF.write_pose_file(poses, tmp_path / "clip.slp")
    back = PF.read_pose_file(path)
    _same(poses, back)
    assert Path(back.source).resolve() == Path("clip.mp4").resolve()
    assert not list(tmp_path.glob(".*tmp*"))
    labels = sio.load_slp(str(path), open_videos=False)
    assert [t.name for t in labels.tracks] == ["instance_0", "instance_1"]
    assert labels.skeletons[0].node_names == list(poses.schema.keypoints)
    assert [lf.frame_idx for lf in labels.labeled_frames] == FRAMES.tolist()
    inst = labels.labeled_frames[1].instances[0]
    assert np.allclose(inst.numpy()[0], poses.data[1, 0, 0, :2] - 0.5, atol=1e-3)


def test_nwb_round_trip_with_ndx_pose_series_and_timestamps(poses, tmp_path):
    """NWB is slow to open (pynwb), so one file serves both checks."""
    from pynwb import NWBHDF5IO

    path = PF.write_pose_file(poses, tmp_path / "clip.nwb")
    back = PF.read_pose_file(path)
    _same(poses, back)
    assert not list(tmp_path.glob(".*tmp*"))
    with NWBHDF5IO(str(path), "r", load_namespaces=True) as io:
        nwb = io.read()
        pe = nwb.processing["behavior"]["PoseEstimation"]  # ndx-pose's and movement's name
        assert "PoseEstimation_instance_1" in nwb.processing["behavior"].data_interfaces
        nose = pe.pose_estimation_series["nose"]
        assert np.allclose(nose.timestamps[:], FRAMES / 29.97)  # exact time, skipped frames too
        assert nose.data[1] == pytest.approx(poses.data[1, 0, 0, :2] - 0.5, abs=0)
        ear = pe.pose_estimation_series["right_ear"]  # never seen: all NaN, confidence 0
        assert np.isnan(ear.data[:]).all() and (ear.confidence[:] == 0).all()
        assert pe.skeleton.name == "coco17"
        assert nwb.subject.subject_id == "unknown" and nwb.subject.sex == "U"
        assert nwb.subject.age == "P0D/" and nwb.subject.species == "Homo sapiens"


def test_movement_dataset(poses, tmp_path):
    xr = pytest.importorskip("xarray")
    ds = PF.to_movement(poses)
    assert ds.position.dims == ("time", "space", "keypoints", "individuals")
    assert ds.confidence.dims == ("time", "keypoints", "individuals")
    assert np.allclose(ds.time.values, FRAMES / 29.97)
    assert ds.attrs["fps"] == 29.97 and ds.attrs["source_software"] == "infantpose"
    got = ds.position.sel(individuals="instance_0", keypoints="nose").values  # (time, space)
    assert np.allclose(got, poses.data[:, 0, 0, :2] - 0.5, equal_nan=True)
    path = PF.write_movement(poses, tmp_path / "clip.nc")
    with xr.open_dataset(path) as back:
        assert np.allclose(back.position.values, ds.position.values, equal_nan=True)
        assert back.attrs["ds_type"] == "poses"


def test_convert_command_chains_formats(poses, tmp_path, capsys):
    src = poses.save_json(tmp_path / "clip.json")
    assert main(["convert", str(src), str(tmp_path / "a.slp"), "--to", "slp"]) == 0
    assert main(["convert", str(tmp_path / "a.slp"), str(tmp_path / "b.nwb"), "--to", "nwb"]) == 0
    assert main(["convert", str(tmp_path / "b.nwb"), str(tmp_path / "c.json"), "--to",
                 "json"]) == 0
    _same(poses, Poses.load_json(tmp_path / "c.json"))
    assert main(["convert", str(tmp_path / "b.nwb"), str(tmp_path / "d.nc"), "--to",
                 "movement"]) == 0
    assert main(["convert", str(src), str(tmp_path / "i22.slp"), "--to", "slp", "--schema",
                 "infant22"]) == 0
    assert PF.read_slp(tmp_path / "i22.slp").schema.name == "infant22"
    capsys.readouterr()


@pytest.mark.parametrize("make, args, message", [
    (lambda d: d / "clip.json", ["OUT/x.nwb", "--to", "slp"], "--to slp writes a .slp file"),
    (lambda d: (d / "bad.slp").write_bytes(b"not hdf5") and d / "bad.slp",
     ["OUT/x.json", "--to", "json"], "cannot read SLEAP file"),
    (lambda d: (d / "bad.nwb").write_bytes(b"not hdf5") and d / "bad.nwb",
     ["OUT/x.json", "--to", "json"], "cannot read NWB file"),
])
def test_convert_bad_input_is_one_line(poses, tmp_path, capsys, make, args, message):
    poses.save_json(tmp_path / "clip.json")
    src = make(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    args = [a.replace("OUT", str(out)) for a in args]
    code = main(["convert", str(src), *args])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and message in err
    assert len(err.strip().splitlines()) == 1
    assert not list(out.iterdir())  # nothing half-written


def test_frame_numbers_must_increase(poses, tmp_path):
    bad = Poses(poses.data[:3], "coco17", frame_indices=[0, 2, 2], fps=30.0)
    with pytest.raises(InputError, match="strictly increasing"):
        PF.write_slp(bad, tmp_path / "x.slp")
    assert not (tmp_path / "x.slp").exists()


def test_reads_a_sleap_project_of_its_own(tmp_path):
    """A .slp made in SLEAP: user-labelled, untracked instances, a skeleton of a few keypoints in
    another order. The names find the schema; instances fill slots in order."""
    import sleap_io as sio

    names = ["left_wrist", "nose", "right_wrist", "left_ankle", "right_ankle"]
    nodes = [sio.Node(n) for n in names]
    sk = sio.Skeleton(nodes=nodes, name="my_infant")
    video = sio.Video(filename="baby.mp4", open_backend=False)
    frames = []
    for fi in (3, 4, 7):
        pts = np.arange(10, dtype=float).reshape(5, 2) + fi
        frames.append(sio.LabeledFrame(video=video, frame_idx=fi, instances=[
            sio.Instance.from_numpy(pts, skeleton=sk),
            sio.Instance.from_numpy(pts + 100, skeleton=sk)]))
    sio.save_slp(sio.Labels(labeled_frames=frames, videos=[video], skeletons=[sk]),
                 str(tmp_path / "mine.slp"), verbose=False)
    p = PF.read_slp(tmp_path / "mine.slp")
    assert p.schema.name == "coco17" and p.n_instances == 2
    assert p.frame_indices.tolist() == [3, 4, 7] and p.fps is None
    assert p.source == str(tmp_path / "baby.mp4")  # relative: from the .slp's own folder
    nose = p.schema.index("nose")
    assert np.allclose(p.data[0, 0, nose], [3 + 2 + 0.5, 3 + 3 + 0.5, 1.0])  # SLEAP x + 0.5
    assert np.allclose(p.data[0, 1, nose, :2], [105.5, 106.5])
    assert np.isnan(p.data[0, 0, p.schema.index("left_eye"), 0])  # not in the skeleton
