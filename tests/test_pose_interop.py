"""Pose files the field's own tools open without a hint, both ways (issue 22).

Checked through the peers' own loaders that install beside infantpose (sleap-io, pynwb +
ndx-pose, h5py, xarray, pandas); files of the peers are built the way movement, SLEAP and
DeepLabCut lay them out. movement and nwbinspector themselves are checked by
``benchmarks/interop.py`` in a separate environment.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from infantpose import load_poses, save_poses
from infantpose.cli import main
from infantpose.errors import InputError
from infantpose.io import posefiles as PF
from infantpose.io.nwb import NwbInfo, check_age
from infantpose.poses import Poses

pytest.importorskip("sleap_io")

FPS = 29.97


def _poses(frames=None, n_instances: int = 1, source: str | None = None) -> Poses:
    """infant22 poses: a frame with nobody, a missing point, a keypoint never seen."""
    frames = np.arange(12) if frames is None else np.asarray(frames)
    rng = np.random.default_rng(22)
    data = np.empty((len(frames), n_instances, 22, 3))
    data[..., 0] = rng.uniform(0.5, 639.5, data.shape[:-1])
    data[..., 1] = rng.uniform(0.5, 479.5, data.shape[:-1])
    data[..., 2] = rng.uniform(0.05, 1.0, data.shape[:-1])
    data[2, 0, 3] = [np.nan, np.nan, 0.0]
    data[4] = [np.nan, np.nan, 0.0]
    data[:, :, 0] = [np.nan, np.nan, 0.0]  # vertex never seen
    return Poses(data, "infant22", source=source, frame_indices=frames, fps=FPS,
                 frame_size=(640, 480), meta={"model": "marker", "expected_frames": 40})


@pytest.fixture()
def video(tmp_path) -> Path:
    """A video file in its own folder (only its place matters to the writers)."""
    v = tmp_path / "videos" / "baby.mp4"
    v.parent.mkdir()
    v.write_bytes(b"\0" * 16)
    return v


# --- writing: what the peers' loaders see -------------------------------------------------------
def test_nwb_is_laid_out_as_movement_and_nwbinspector_expect(tmp_path, video):
    from pynwb import NWBHDF5IO

    poses = _poses(n_instances=2, source=str(video))
    out = tmp_path / "out" / "keypoints.nwb"
    info = NwbInfo(subject_id="inf01", subject_age="P12W", subject_sex="female",
                   experimenter=["Doe, Jane"], institution="Clinic",
                   session_description="home video, supine")
    PF.write_pose_file(poses, out, nwb=info)
    with NWBHDF5IO(str(out), "r", load_namespaces=True) as io:
        nwb = io.read()
        beh = nwb.processing["behavior"]
        pe = beh["PoseEstimation"]  # movement's default key
        assert "PoseEstimation_instance_1" in beh.data_interfaces
        assert set(pe.pose_estimation_series) == set(poses.schema.keypoints)  # every keypoint
        nose = pe.pose_estimation_series["nose"]
        assert nose.timestamps is None and nose.rate == FPS and nose.starting_time == 0.0
        k = poses.schema.index("nose")
        assert np.array_equal(nose.data[:], poses.data[:, 0, k, :2] - 0.5, equal_nan=True)
        vertex = pe.pose_estimation_series["vertex"]
        assert np.isnan(vertex.data[:]).all() and (vertex.confidence[:] == 0).all()
        s = nwb.subject
        assert (s.subject_id, s.age, s.sex, s.species) == ("inf01", "P12W", "F", "Homo sapiens")
        assert nwb.identifier == "inf01"  # movement names the individual after it
        assert list(nwb.experimenter) == ["Doe, Jane"] and nwb.institution == "Clinic"
        assert nwb.session_description == "home video, supine"
        sv = pe.source_video  # the video as ndx-pose 0.4 links it: relative to the file
        assert sv.external_file[0] == "../videos/baby.mp4"
        assert (out.parent / sv.external_file[0]).resolve() == video.resolve()
        assert list(sv.dimension[:]) == [640, 480] and sv.rate == FPS
    back = PF.read_pose_file(out)
    assert np.array_equal(back.data, poses.data, equal_nan=True)  # exact, both slots
    assert back.fps == FPS and back.frame_size == (640, 480)
    assert Path(back.source).resolve() == video.resolve()


def test_nwb_keeps_skipped_frames_as_timestamps_and_reads_old_files(tmp_path):
    from pynwb import NWBHDF5IO

    poses = _poses(frames=[0, 1, 2, 5, 6, 7, 8, 9, 10, 11, 12, 13])
    path = PF.write_pose_file(poses, tmp_path / "gaps.nwb")
    with NWBHDF5IO(str(path), "r", load_namespaces=True) as io:
        pe = io.read().processing["behavior"]["PoseEstimation"]
        series = list(pe.pose_estimation_series.values())
        assert np.allclose(series[0].timestamps[:], poses.frame_indices / FPS)
        assert series[1].timestamps[:].tolist() == series[0].timestamps[:].tolist()
    back = PF.read_pose_file(path)
    assert back.frame_indices.tolist() == poses.frame_indices.tolist()
    assert back.source is None and back.frame_size == (640, 480)  # no video: older fields


def test_nwb_defaults_are_honest_unknowns(tmp_path):
    from pynwb import NWBHDF5IO

    path = PF.write_pose_file(_poses(), tmp_path / "k.nwb")
    with NWBHDF5IO(str(path), "r", load_namespaces=True) as io:
        nwb = io.read()
        assert (nwb.subject.subject_id, nwb.subject.age, nwb.subject.sex) == ("unknown", "P0D/",
                                                                              "U")
        assert nwb.identifier == "instance_0" and "acquisition" not in str(
            list(nwb.acquisition))


@pytest.mark.parametrize("age", ["P12W", "P3M10D", "P1Y", "P10W/P14W", "P0D/", "PT12H"])
def test_iso_ages_pass(age):
    assert check_age(age) == age


@pytest.mark.parametrize("age", ["12 weeks", "P", "12W", "P12X", "P1W/P2W/P3W", "/"])
def test_bad_ages_are_refused(age):
    with pytest.raises(InputError, match="ISO 8601"):
        check_age(age)


def test_slp_names_the_video_from_its_own_folder_with_shape_and_fps(tmp_path, video):
    import sleap_io as sio

    out = tmp_path / "out" / "keypoints.slp"
    save_poses(_poses(source=str(video)), out)
    labels = sio.load_slp(str(out), open_videos=False)
    v = labels.videos[0]
    assert v.filename == "../videos/baby.mp4"
    assert (out.parent / v.filename).resolve() == video.resolve()
    assert tuple(v.backend_metadata["shape"]) == (40, 480, 640, 3)
    assert v.backend_metadata["fps"] == FPS
    here = os.getcwd()
    os.chdir(out.parent)
    try:
        assert sio.load_slp(out.name, open_videos=False).videos[0].exists()
    finally:
        os.chdir(here)


def test_predict_writes_video_references_relative_to_the_final_folder(tmp_path):
    """predict writes into a staging folder first: the references must fit the final one."""
    import sleap_io as sio
    from pynwb import NWBHDF5IO

    import testclips as tc

    video = tmp_path / "clips" / "baby.mp4"
    video.parent.mkdir()
    tc.make_clip(video, n_frames=4)
    out = tmp_path / "out"
    assert main(["predict", str(video), "--out", str(out), "--model",
                 "testclips:create_marker_estimator", "-f", "slp", "-f", "nwb",
                 "--subject-id", "inf07", "--subject-age", "P20W", "-q"]) == 0
    folder = out / "baby"
    ref = sio.load_slp(str(folder / "keypoints.slp"), open_videos=False).videos[0].filename
    assert (folder / ref).resolve() == video.resolve()
    with NWBHDF5IO(str(folder / "keypoints.nwb"), "r", load_namespaces=True) as io:
        nwb = io.read()
        ext = nwb.processing["behavior"]["PoseEstimation"].source_video.external_file[0]
        assert (folder / ext).resolve() == video.resolve()
        assert nwb.subject.subject_id == "inf07" and nwb.subject.age == "P20W"


def test_nwb_options_are_checked_before_any_work(tmp_path, capsys):
    src = _poses().save_json(tmp_path / "p.json")
    out = tmp_path / "o"
    out.mkdir()
    for args, message in ((["--to", "nwb", "--subject-age", "12 weeks"], "ISO 8601"),
                          (["--to", "nwb", "--subject-sex", "x"], "--subject-sex"),
                          (["--to", "slp", "--subject-id", "a"], "use --to nwb")):
        ext = ".nwb" if "nwb" in args else ".slp"
        code = main(["convert", str(src), str(out / f"x{ext}"), *args])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and message in err
        assert len(err.strip().splitlines()) == 1
    assert not list(out.iterdir())


# --- the conventions: missing points, pixel centres ---------------------------------------------
def test_every_format_stores_a_missing_point_as_nan_with_confidence_zero(tmp_path):
    import pandas as pd
    import sleap_io as sio
    import xarray as xr
    from pynwb import NWBHDF5IO

    poses = _poses()
    for fmt, name in (("slp", "a.slp"), ("nwb", "a.nwb"), ("movement", "a.nc"),
                      ("dlc", "a.csv"), ("json", "a.json")):
        save_poses(poses, tmp_path / name, format=fmt)
    inst = sio.load_slp(str(tmp_path / "a.slp"), open_videos=False)[2].instances[0]
    assert np.isnan(inst.numpy()[3]).all() and inst.points["score"][3] == 0.0
    with NWBHDF5IO(str(tmp_path / "a.nwb"), "r", load_namespaces=True) as io:
        ser = io.read().processing["behavior"]["PoseEstimation"].pose_estimation_series
        key = poses.schema.keypoints[3]
        assert np.isnan(ser[key].data[2]).all() and ser[key].confidence[2] == 0.0
    with xr.open_dataset(tmp_path / "a.nc") as ds:
        pt = ds.isel(time=2, individuals=0, keypoints=3)
        assert np.isnan(pt.position.values).all() and float(pt.confidence) == 0.0
    df = pd.read_csv(tmp_path / "a.csv", header=[0, 1, 2], index_col=0)
    row = df.iloc[2].xs(poses.schema.keypoints[3], level=1)
    assert np.isnan(row.xs("x", level=1)).all() and (row.xs("likelihood", level=1) == 0).all()
    for name in ("a.slp", "a.nwb", "a.nc", "a.csv", "a.json"):
        back = load_poses(tmp_path / name)
        assert np.isnan(back.data[2, 0, 3, :2]).all() and back.data[2, 0, 3, 2] == 0.0, name


@pytest.mark.parametrize("name", ["a.slp", "a.nwb", "a.nc", "a.csv", "a.json"])
def test_pixel_centre_shift_is_exact_both_ways(tmp_path, name):
    poses = _poses()
    save_poses(poses, tmp_path / name, format="dlc" if name.endswith(".csv") else None)
    back = load_poses(tmp_path / name)
    assert np.array_equal(back.data, poses.data, equal_nan=True)  # not a bit lost


# --- reading what the peers write ----------------------------------------------------------------
def _truth() -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(file-convention xy (F, N, K, 2), confidence (F, N, K) NaN where missing, names)."""
    p = _poses()
    xy = p.data[..., :2] - 0.5
    conf = np.where(np.isnan(xy[..., 0]), np.nan, p.data[..., 2])
    return xy, conf, list(p.schema.keypoints)


def _check(back: Poses, xy: np.ndarray) -> None:
    assert back.schema.name == "infant22" and back.n_frames == len(xy)
    assert np.allclose(back.data[..., :2] - 0.5, xy, equal_nan=True, atol=1e-12, rtol=0)
    missing = np.isnan(xy[..., 0])
    assert (back.data[..., 2][missing] == 0).all()


def test_reads_a_sleap_analysis_h5_as_movement_writes_it(tmp_path):
    """movement's to_sleap_analysis_file: SLEAP's MATLAB-ordered arrays, no dims attributes."""
    import h5py

    xy, conf, names = _truth()
    path = tmp_path / "clip.analysis.h5"
    with h5py.File(path, "w") as f:
        f.create_dataset("track_names", data=["infant"])
        f.create_dataset("node_names", data=names)
        f.create_dataset("tracks", data=xy.transpose(1, 3, 2, 0))  # (tracks, 2, nodes, frames)
        f.create_dataset("track_occupancy",
                         data=(~np.isnan(xy[..., 0]).all(-1)).astype(int))  # (frames, tracks)
        f.create_dataset("point_scores", data=conf.transpose(1, 2, 0))
        f.create_dataset("instance_scores", data=np.full((1, len(xy)), np.nan))
        f.create_dataset("tracking_scores", data=np.full((1, len(xy)), np.nan))
        for key, val in (("labels_path", ""), ("video_path", ""), ("video_ind", 0),
                         ("provenance", "{}")):
            f.create_dataset(key, data=val)
        f.create_dataset("edge_names", data=[])
        f.create_dataset("edge_inds", data=[])
    back = PF.read_pose_file(path, fps=FPS)
    _check(back, xy)
    assert back.frame_indices.tolist() == list(range(len(xy)))  # the empty frame stays
    assert back.fps == FPS
    assert main(["convert", str(path), str(tmp_path / "c.json"), "--to", "json", "--fps",
                 "30"]) == 0


def test_reads_a_movement_netcdf_dataset(tmp_path):
    xr = pytest.importorskip("xarray")
    xy, conf, names = _truth()
    ds = xr.Dataset(
        {"position": (("time", "space", "keypoints", "individuals"), xy.transpose(0, 3, 2, 1)),
         "confidence": (("time", "keypoints", "individuals"), conf.transpose(0, 2, 1))},
        coords={"time": np.arange(len(xy)) / FPS, "space": ["x", "y"], "keypoints": names,
                "individuals": ["infant"]},
        attrs={"fps": FPS, "time_unit": "seconds", "source_software": "DeepLabCut",
               "source_file": "clip.h5", "ds_type": "poses"})
    ds.to_netcdf(tmp_path / "m.nc")
    back = load_poses(tmp_path / "m.nc")
    _check(back, xy)
    assert back.fps == FPS and back.source is None  # movement's source_file is no video


def test_reads_movement_deeplabcut_csvs_single_and_multi_animal(tmp_path):
    import pandas as pd

    xy, conf, names = _truth()
    for individuals in (["infant"], ["infant", "adult"]):
        n = len(individuals)
        arr = np.concatenate([xy] * n, axis=1)
        cf = np.concatenate([conf] * n, axis=1)
        table = np.concatenate([arr, cf[..., None]], axis=-1)  # (F, N, K, 3)
        levels = (["movement"], individuals, names, ["x", "y", "likelihood"])
        cols = pd.MultiIndex.from_product(levels if n > 1 else
                                          [levels[0], levels[2], levels[3]],
                                          names=["scorer", "individuals", "bodyparts",
                                                 "coords"][:4 if n > 1 else 1] +
                                          ([] if n > 1 else ["bodyparts", "coords"]))
        df = pd.DataFrame(table.reshape(len(xy), -1), index=np.arange(len(xy)), columns=cols)
        path = tmp_path / f"m{n}.csv"
        df.to_csv(path)
        back = PF.read_pose_file(path, fps=FPS)
        assert back.n_instances == n and back.frame_indices.tolist() == list(range(len(xy)))
        _check(back, arr)
        # DeepLabCut's own default (and movement's to_dlc_file(ds, "x.h5")): the same table in
        # HDF5 under the key DeepLabCut uses, read through pandas + PyTables
        h5 = tmp_path / f"m{n}.h5"
        df.to_hdf(h5, key="df_with_missing", format="table", mode="w")
        back = PF.read_pose_file(h5, fps=FPS)
        assert back.n_instances == n and back.frame_indices.tolist() == list(range(len(xy)))
        _check(back, arr)


def test_reads_an_nwb_file_as_movement_writes_it(tmp_path):
    """movement's to_nwb_file: one PoseEstimation named PoseEstimation, explicit timestamps,
    keypoints in any order, identifier = the individual."""
    import datetime

    from ndx_pose import PoseEstimation, PoseEstimationSeries, Skeleton, Skeletons
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.file import Subject

    xy, conf, names = _truth()
    nwb = NWBFile(session_description="s", identifier="infant",
                  session_start_time=datetime.datetime.now(datetime.timezone.utc),
                  subject=Subject(subject_id="infant"))
    sk = Skeleton(name="skeleton_infant", nodes=names)
    series = [PoseEstimationSeries(name=k, data=xy[:, 0, i], confidence=conf[:, 0, i],
                                   unit="pixels", reference_frame="(0,0) top left",
                                   timestamps=np.arange(len(xy)) / FPS)
              for i, k in sorted(enumerate(names), key=lambda t: t[1])]
    beh = nwb.create_processing_module(name="behavior", description="b")
    beh.add(Skeletons(skeletons=[sk]))
    beh.add(PoseEstimation(pose_estimation_series=series, skeleton=sk, source_software="DLC"))
    with NWBHDF5IO(str(tmp_path / "m.nwb"), "w") as io:
        io.write(nwb)
    back = load_poses(tmp_path / "m.nwb")
    _check(back, xy)
    assert back.fps == FPS


def test_commands_that_take_poses_read_every_format(tmp_path, capsys):
    poses = _poses()
    nc = save_poses(poses, tmp_path / "p.nc")
    assert main(["filter", str(nc), "--out", str(tmp_path / "f.json"), "--method",
                 "savgol"]) == 0
    assert Poses.load_json(tmp_path / "f.json").n_frames == poses.n_frames
    bad = tmp_path / "x.h5"
    import h5py

    with h5py.File(bad, "w") as f:
        f.create_dataset("something", data=[1])
    assert main(["convert", str(bad), str(tmp_path / "y.json"), "--to", "json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "x.h5" in err and "not a SLEAP analysis" in err
    assert not (tmp_path / "y.json").exists()


def test_api_facade_reads_with_fps_and_writes_nwb_metadata(tmp_path):
    from pynwb import NWBHDF5IO

    poses = _poses()
    save_poses(poses, tmp_path / "a.csv", format="dlc")
    assert load_poses(tmp_path / "a.csv", fps=FPS).fps == FPS  # DeepLabCut holds no fps
    save_poses(poses, tmp_path / "a.nwb", subject_id="inf03", subject_sex="M")
    with NWBHDF5IO(str(tmp_path / "a.nwb"), "r", load_namespaces=True) as io:
        assert io.read().subject.sex == "M"
    with pytest.raises(InputError, match="unexpected keyword"):
        save_poses(poses, tmp_path / "b.nwb", subject_name="Jane")
    assert not (tmp_path / "b.nwb").exists()


@pytest.mark.parametrize("command", ["predict", "batch"])
def test_nwb_options_need_an_nwb_output(tmp_path, capsys, command):
    code = main([command, str(tmp_path), "--out", str(tmp_path / "out"), "-f", "slp",
                 "--subject-id", "inf01"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and "--format nwb" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "out").exists()
