"""Issue 12 (1): one video path. ``predict`` and ``batch`` run the same function on a video and
give the same keypoints in the same files; ``--deidentify`` means the same in both; the pose
formats of ``--format`` hold the same keypoints; ``filter`` measures jitter on frame numbers."""

import json

import numpy as np
import pandas as pd
import pytest

from infantpose.cli import main
from infantpose.poses import Poses
import testclips as tc

MARKERS = "testclips:create_marker_estimator"


def _files(d):
    return sorted(p.relative_to(d).as_posix() for p in d.rglob("*")
                  if p.is_file() and not p.name.startswith("."))


def _same_keypoints(a: Poses, b: Poses) -> None:
    assert a.schema.name == b.schema.name and a.data.shape == b.data.shape
    assert np.array_equal(a.frame_indices, b.frame_indices)
    assert np.allclose(a.data, b.data, equal_nan=True, atol=0)


def _predict_and_batch(video_dir, tmp_path, capsys, *args):
    p_out, b_out = tmp_path / "p", tmp_path / "b"
    for v in sorted(video_dir.iterdir()):
        assert main(["predict", str(v), "-o", str(p_out), "-q", *args]) == 0, \
            capsys.readouterr().err
    assert main(["batch", str(video_dir), "-o", str(b_out), "-j", "0", "--no-plot", "-q",
                 *args]) == 0, capsys.readouterr().err
    capsys.readouterr()
    return p_out, b_out


def test_predict_and_batch_give_the_same_keypoints_and_files(tmp_path, capsys):
    d = tmp_path / "vids"
    d.mkdir()
    tc.make_clip(d / "visit.mp4", n_frames=8, seed=3, size=(128, 112))
    p_out, b_out = _predict_and_batch(d, tmp_path, capsys, "-m", MARKERS, "-s", "coco17",
                                      "--overlay", "--deidentify", "blur", "--max-frames", "6",
                                      "-f", "csv", "-f", "dlc")
    names = ["deidentified.mp4", "keypoints.csv", "keypoints_dlc.csv", "overlay.mp4",
             "poses.json"]
    assert _files(p_out) == [f"visit/{n}" for n in names]
    assert _files(b_out) == sorted(["manifest.csv"] + [f"visit/{n}" for n in
                                                       names + ["done.json"]])
    a = Poses.load_json(p_out / "visit" / "poses.json")
    b = Poses.load_json(b_out / "visit" / "poses.json")
    _same_keypoints(a, b)
    assert a.n_frames == 6 and a.schema.name == "coco17"
    assert a.meta["facial_keypoints_dropped"] == b.meta["facial_keypoints_dropped"] != []
    assert np.isnan(a.data[..., a.schema.facial_mask, :2]).all()  # --deidentify: dropped
    assert np.isfinite(a.data[:, 0, a.schema.index("left_hip"), :2]).all()
    for name in ("keypoints.csv", "keypoints_dlc.csv"):
        assert (p_out / "visit" / name).read_text() == (b_out / "visit" / name).read_text()
    from infantpose.io.video import probe_video

    for name in ("overlay.mp4", "deidentified.mp4"):  # the videos cover the same 6 frames
        assert probe_video(p_out / "visit" / name).n_frames == 6
        assert probe_video(b_out / "visit" / name).n_frames == 6


def test_predict_and_batch_agree_with_blazepose_on_a_rendered_infant(tmp_path, capsys):
    """The real model (mediapipe's BlazePose, with tracking) on a short rendered clip."""
    from infantpose.synth.clips import write_clip

    d = tmp_path / "vids"
    d.mkdir()
    write_clip(d / "infant.mp4", 0.5, seed=2, fps=10, schema="coco17", size=(320, 240),
               style="studio")
    (d / "infant.json").unlink()  # the clip's labels: not a video, but keep the folder clean
    p_out, b_out = _predict_and_batch(d, tmp_path, capsys)
    a = Poses.load_json(p_out / "infant" / "poses.json")
    b = Poses.load_json(b_out / "infant" / "poses.json")
    _same_keypoints(a, b)
    assert a.n_frames == 5 and a.present.all()
    assert a.meta["tracking"] == {**b.meta["tracking"], "seconds": a.meta["tracking"]["seconds"]}


def test_every_format_holds_the_same_keypoints(tmp_path, capsys):
    from infantpose.io.dlc import read_dlc_predictions
    from infantpose.io.posefiles import read_nwb, read_slp

    video = tmp_path / "clip.mp4"
    tc.make_clip(video, n_frames=5, seed=1, size=(96, 80))
    out = tmp_path / "out"
    assert main(["predict", str(video), "-o", str(out), "-m", MARKERS, "-q", "-f", "json",
                 "-f", "csv", "-f", "slp", "-f", "nwb", "-f", "movement", "-f", "dlc"]) == 0
    capsys.readouterr()
    assert _files(out) == ["clip/keypoints.csv", "clip/keypoints.nc", "clip/keypoints.nwb",
                           "clip/keypoints.slp", "clip/keypoints_dlc.csv", "clip/poses.json"]
    ref = Poses.load_json(out / "clip" / "poses.json")
    for back in (read_slp(out / "clip" / "keypoints.slp"),
                 read_nwb(out / "clip" / "keypoints.nwb"),
                 read_dlc_predictions(out / "clip" / "keypoints_dlc.csv", fps=ref.fps)):
        assert np.array_equal(back.frame_indices, ref.frame_indices)
        assert np.allclose(back.data, ref.data, equal_nan=True, atol=1e-3)
    xr = pytest.importorskip("xarray")
    with xr.open_dataset(out / "clip" / "keypoints.nc") as ds:
        pos = ds.position.sel(individuals="instance_0").values  # time, space, keypoints
        assert np.allclose(pos.transpose(0, 2, 1) + 0.5, ref.data[:, 0, :, :2], equal_nan=True)
    table = pd.read_csv(out / "clip" / "keypoints.csv")
    assert len(table) == ref.n_frames * ref.schema.num_keypoints


def test_drop_facial_keypoints_without_media(tmp_path, capsys):
    video = tmp_path / "clip.mp4"
    tc.make_clip(video, n_frames=3, seed=0, size=(64, 64))
    out = tmp_path / "out"
    assert main(["predict", str(video), "-o", str(out), "-m", MARKERS, "-q",
                 "--drop-facial-keypoints"]) == 0
    capsys.readouterr()
    assert _files(out) == ["clip/keypoints.csv", "clip/poses.json"]
    p = Poses.load_json(out / "clip" / "poses.json")
    assert np.isnan(p.data[..., p.schema.facial_mask, :2]).all()


def test_filter_measures_jitter_on_frame_numbers(tmp_path, capsys):
    """Frames 3-8 were skipped: a steady movement has no acceleration when the gap counts as
    time (by row number, the jump from frame 2 to 9 would look like a jolt)."""
    frames = np.array([0, 1, 2, 9, 10, 11, 12, 13])
    data = np.zeros((len(frames), 1, 17, 3))
    data[..., 0] = 10.0 * frames[:, None, None] + 20
    data[..., 1] = 50.0
    data[..., 2] = 1.0
    src = Poses(data, "coco17", frame_indices=frames, fps=10.0, frame_size=(200, 100)) \
        .save_json(tmp_path / "p.json")
    assert main(["filter", str(src), "-o", str(tmp_path / "f.json"), "--method", "savgol",
                 "--window", "3", "--max-speed", "0"]) == 0
    out = capsys.readouterr().out
    nose = next(ln for ln in out.splitlines() if "nose" in ln)
    assert nose.split("│")[2].strip() == "0.0", out  # acc before, px/s²


def test_video_commands_list_their_choices_in_help(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "300")  # no choice list wrapped inside a word
    for cmd, words in {"predict": ["mosaic", "blur", "slp", "nwb", "movement", "dlc",
                                   "infant22"],
                       "batch": ["mosaic", "savgol", "one_euro", "dlc"],
                       "filter": ["butterworth", "one_euro", "body", "px"],
                       "overlay": ["mosaic", "blur"], "deidentify": ["mosaic", "blur"],
                       "convert": ["labelme", "dlc", "movement"]}.items():
        assert main([cmd, "--help"]) == 0
        text = " ".join(capsys.readouterr().out.split())
        for w in words:
            assert w in text, (cmd, w)
        for flag in ("--out", "-o", "--overwrite"):
            assert flag in text, (cmd, flag)


def test_batch_done_marker_and_predict_meta_agree(tmp_path, capsys):
    """The numbers the batch records come from the same poses predict writes."""
    d = tmp_path / "vids"
    d.mkdir()
    tc.make_clip(d / "v.mp4", n_frames=5, seed=4, size=(96, 80))
    p_out, b_out = _predict_and_batch(d, tmp_path, capsys, "-m", MARKERS)
    done = json.loads((b_out / "v" / "done.json").read_text())
    p = Poses.load_json(p_out / "v" / "poses.json")
    assert done["frames"] == p.n_frames == 5 and done["tracking"]["frames"] == 5
    assert p.meta["expected_frames"] == 5 and p.meta["frames_without_person"] == 0
