"""A checkpoint selects its own model (issue 12, item 3): ``--weights FILE`` alone runs it."""

import json

import numpy as np
import pytest
import torch

import helpers_labels as H
from infantpose.cli import main
from infantpose.models.resolve import resolve_model
from infantpose.errors import InputError
from infantpose.io.coco import write_coco
from infantpose.models.checkpoint import checkpoint_model, save_checkpoint

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """One small checkpoint of every architecture, and an official-style state dict."""
    from infantpose.models.blazepose_landmarks import BlazePoseLandmarkNet
    from infantpose.models.blazepose_net import BlazePoseNet
    from infantpose.models.pose_resnet import PoseResNet

    d = tmp_path_factory.mktemp("ckpt")
    resnet = PoseResNet(17, 18, (64, 64), deconv_channels=16)
    torch.save(resnet.state_dict(), d / "official_64x64.pth")
    return {
        "pose_resnet": save_checkpoint(d / "pr.pt", resnet, "coco17"),
        "blazepose": save_checkpoint(d / "bp.pt", BlazePoseNet(schema="coco17"), "coco17"),
        "blazepose_landmarks": save_checkpoint(d / "lm.pt", BlazePoseLandmarkNet("coco17"),
                                               "coco17"),
        "official": d / "official_64x64.pth",
    }


def _image(path):
    from infantpose.io.images import write_image

    rng = np.random.default_rng(0)
    write_image(path, rng.integers(0, 255, (96, 128, 3), dtype=np.uint8))
    return path


@pytest.mark.parametrize("kind, model", [("pose_resnet", "pose-resnet"),
                                         ("blazepose", "blazepose-torch"),
                                         ("blazepose_landmarks", "blazepose-torch"),
                                         ("official", "pose-resnet")])
def test_checkpoint_names_its_model(checkpoints, kind, model):
    name, arch = checkpoint_model(checkpoints[kind])
    assert name == model
    assert arch == ("pose_resnet" if kind == "official" else kind)
    assert resolve_model(None, checkpoints[kind]) == model
    assert resolve_model(model, checkpoints[kind]) == model
    assert resolve_model(None, None) == "movenet"


def test_a_model_that_cannot_run_the_file_is_refused(checkpoints):
    with pytest.raises(InputError, match="pose_resnet model, which --model pose-resnet runs"):
        resolve_model("blazepose", checkpoints["pose_resnet"])
    with pytest.raises(InputError, match="--model blazepose-torch runs, not --model pose-resnet"):
        resolve_model("pose-resnet", checkpoints["blazepose_landmarks"])
    assert resolve_model("my-own-model", checkpoints["pose_resnet"]) == "my-own-model"


def test_a_registered_model_reads_its_own_weights_unopened(tmp_path):
    """Weights of a model registered by the user need not be torch files: not opened here."""
    own = tmp_path / "weights.bin"
    own.write_bytes(b"\x00 any format")
    assert resolve_model("my-own-model", own) == "my-own-model"
    with pytest.raises(InputError, match="cannot read checkpoint"):
        resolve_model(None, own)


@pytest.mark.parametrize("kind", ["pose_resnet", "blazepose_landmarks"])
def test_predict_with_weights_alone(checkpoints, tmp_path, kind, capsys):
    img = _image(tmp_path / "a.png")
    out = tmp_path / "out"
    code = main(["predict", str(img), "--out", str(out), "--weights", str(checkpoints[kind]),
                 "--quiet"])
    assert code == 0, capsys.readouterr().err
    results = json.loads((out / "predictions.json").read_text())
    assert all(r["schema"] == "coco17" for r in results)


def test_predict_weights_errors_are_one_line(checkpoints, tmp_path, capsys):
    img = _image(tmp_path / "a.png")
    garbage = tmp_path / "model.pt"
    garbage.write_bytes(b"not a checkpoint")
    for args, message in (
            (["--weights", str(garbage)], "cannot read checkpoint"),
            (["--weights", str(checkpoints["pose_resnet"]), "--model", "blazepose"],
             "--model pose-resnet runs"),
            (["--weights", str(tmp_path / "missing.pt")], "weights file not found")):
        code = main(["predict", str(img), "--out", str(tmp_path / "out"), "--quiet", *args])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and message in err
        assert len(err.strip().splitlines()) == 1
        assert not (tmp_path / "out").exists()


def test_evaluate_with_weights_alone(checkpoints, tmp_path, capsys):
    ds = H.make_dataset(tmp_path / "data", "coco17", n_images=2, n_instances=1, drop=0)
    gt = write_coco(ds, tmp_path / "data" / "labels.json")
    code = main(["evaluate", "--gt", str(gt), "--weights", str(checkpoints["pose_resnet"]),
                 "--out", str(tmp_path / "r")])
    assert code == 0, capsys.readouterr().err
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())["models"]
    assert [x["name"] for x in m] == ["pose-resnet"]
    code = main(["evaluate", "--gt", str(gt), "--weights", str(checkpoints["pose_resnet"]),
                 "--model", "blazepose-torch", "--out", str(tmp_path / "r2")])
    err = capsys.readouterr().err
    assert code == 2 and "--model pose-resnet runs" in err
