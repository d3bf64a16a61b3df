"""The public Python API: PoseModel, predict_video, load/save of poses and labels."""

from __future__ import annotations

import numpy as np
import pytest

import infantpose as ip
from infantpose.errors import InputError
from testclips import make_clip

MARKER = "testclips:create_marker_estimator"


def test_pose_model_on_arrays_paths_and_lists(tmp_path):
    from infantpose.io.images import write_image

    truth, frames = make_clip(None, "coco17", n_frames=2)
    write_image(tmp_path / "f0.png", frames[0])
    with ip.PoseModel(MARKER) as model:
        one = model(frames[0])
        assert one.n_frames == 1 and one.schema.name == "coco17"
        np.testing.assert_allclose(one.xy[0, 0], truth.xy[0, 0], atol=8)
        both = model([tmp_path / "f0.png", frames[1]])
        assert both.n_frames == 2 and both.frame_names == [str(tmp_path / "f0.png"), "image1"]
        np.testing.assert_allclose(both.xy[0], one.xy[0])
    in22 = ip.PoseModel(MARKER, schema="infant22")(frames[0])
    assert in22.schema.name == "infant22"


def test_pose_model_refuses_bad_input_in_one_line(tmp_path):
    with pytest.raises(InputError, match="weights file not found"):
        ip.PoseModel(tmp_path / "runs" / "model.pt")
    with pytest.raises(InputError, match="unknown model"):
        ip.PoseModel("no-such-model")
    model = ip.PoseModel(MARKER)
    with pytest.raises(InputError, match="H×W×3 uint8"):
        model(np.zeros((4, 4), np.float32))
    with pytest.raises(InputError, match="array or a path"):
        model(42)
    with pytest.raises(InputError, match="no images"):
        model([])


def test_aliases_name_the_pretrained_networks():
    from infantpose.models.resolve import resolve_model

    assert resolve_model("heavy", None) == "blazepose-heavy"
    assert resolve_model("thunder", None) == "movenet"
    assert resolve_model(None, None) == "movenet"
    assert resolve_model(None, None, video=True) == "blazepose"


def test_predict_video_and_pose_files_round_trip(tmp_path):
    truth, _ = make_clip(tmp_path / "clip.mp4", "coco17", n_frames=12)
    poses = ip.predict_video(tmp_path / "clip.mp4", MARKER)
    assert poses.n_frames == 12 and poses.fps == pytest.approx(15.0)
    assert np.nanmedian(np.abs(poses.xy - truth.xy)) < 2.0
    for name in ("p.json", "p.slp"):
        ip.save_poses(poses, tmp_path / name)
        back = ip.load_poses(tmp_path / name)
        np.testing.assert_allclose(back.xy, poses.xy, atol=1e-3)
    with pytest.raises(InputError):
        ip.load_poses(tmp_path / "missing.json")


def test_labels_round_trip(tmp_path):
    from infantpose.synth.generate import write_dataset

    write_dataset(tmp_path / "demo", 3, seed=1, schema="coco17", size=(96, 96))
    labels = ip.load_labels(tmp_path / "demo" / "annotations.json")
    out = ip.save_labels(labels, tmp_path / "demo" / "copy.json")
    again = ip.load_labels(out)
    np.testing.assert_allclose(again.poses.xy, labels.poses.xy, atol=1e-6, equal_nan=True)
    with pytest.raises(InputError, match=".json"):
        ip.save_labels(labels, tmp_path / "labels.csv")
