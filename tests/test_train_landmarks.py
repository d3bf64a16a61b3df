"""Fine-tuning BlazePose's regressed landmarks: the model, its loss and targets, and the promise
that in-training validation equals ``infantpose evaluate`` and never ends worse than the start."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from infantpose.cli import main

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def net():
    from infantpose.models.blazepose_landmarks import BlazePoseLandmarkNet

    return BlazePoseLandmarkNet("coco17").eval()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    from infantpose.synth.generate import write_dataset

    d = tmp_path_factory.mktemp("lm")
    write_dataset(d / "train", 8, "coco17", seed=4, size=(160, 160), style="studio")
    write_dataset(d / "val", 4, "coco17", seed=5, size=(160, 160), style="studio")
    return d


def test_landmark_net_reproduces_the_pretrained_landmarks(net):
    from infantpose.models.blazepose_net import pretrained_landmark_graph

    g = pretrained_landmark_graph()
    ref = g.pruned([g.tensor_id("Identity")]).eval()
    x = torch.rand(2, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        want = ref(x)[0].reshape(2, 39, 5)
        raw = net(x)
        xy, vis = net.keypoints(raw)
    assert torch.equal(raw, want)
    # COCO-17 keypoints are copies of BlazePose landmarks: left wrist = BlazePose 15
    assert torch.equal(xy[:, 9], want[:, 15, :2]) and torch.equal(vis[:, 9], want[:, 15, 3])


def test_infant22_extra_keypoints_start_at_the_crop_centre():
    from infantpose.models.blazepose_landmarks import BlazePoseLandmarkNet
    from infantpose.schemas import BLAZEPOSE33, get_schema

    s = get_schema("infant22")
    m = BlazePoseLandmarkNet(s).eval()
    assert [s.keypoints[i] for i in m.extra_index] == ["vertex", "upper_lip", "lower_lip"]
    with torch.no_grad():
        raw = m(torch.rand(1, 3, 256, 256))
        xy, vis = m.keypoints(raw)
    assert torch.allclose(xy[0, m.extra_index], torch.full((3, 2), 128.0))
    assert (torch.sigmoid(vis[0, m.extra_index]) < 0.2).all()
    # a derived keypoint: palm = mean of the index and pinky knuckles
    i = s.index("left_palm")
    want = raw[0, [BLAZEPOSE33.index("left_index"), BLAZEPOSE33.index("left_pinky")], :2].mean(0)
    assert torch.allclose(xy[0, i], want, atol=1e-4)


def test_landmark_loss_is_masked_and_zero_at_the_target():
    from infantpose.train.losses import landmark_loss

    t = torch.rand(2, 3, 2) * 256
    w = torch.tensor([[1.0, 0.0, 1.0], [1.0, 1.0, 0.0]])
    xy = t.clone().requires_grad_(True)
    vis = torch.full((2, 3), 10.0, requires_grad=True)
    total, pos = landmark_loss(xy, vis, t, w, 256.0)
    assert float(pos.detach()) == 0.0 and float(total.detach()) < 1e-3
    xy2 = (t + 30.0).requires_grad_(True)
    xy2.data[0, 1] = float("nan")  # a masked keypoint may even be NaN
    total, pos = landmark_loss(xy2, vis, t, w, 256.0)
    total.backward()
    assert np.isclose(float(pos.detach()), 60.0 / 256.0, atol=1e-5)
    assert float(xy2.grad[0, 1].abs().sum()) == 0.0 and float(xy2.grad[1, 2].abs().sum()) == 0.0
    assert float(xy2.grad[0, 0].abs().sum()) > 0.0


def test_point_targets_swap_left_and_right_under_a_flip(tiny):
    from dataclasses import replace

    from infantpose.io.labels import read_labels
    from infantpose.train.augment import AugmentConfig
    from infantpose.train.data import TrainData, build_items

    ds = read_labels(tiny / "train" / "annotations.json")
    items = build_items(ds, None, (256, 256))
    plain = TrainData(items, ds.schema, (256, 256), crop="upright", targets="points")
    flip = TrainData(items, ds.schema, (256, 256), crop="upright", targets="points",
                     augment=replace(AugmentConfig.none(), flip=1.0))
    img0, t0, w0, _ = plain.sample(0, None)
    img1, t1, w1, _ = flip.sample(0, np.random.default_rng(0))
    assert t0.shape == (17, 2) and np.array_equal(img1, img0[:, ::-1])
    lw, rw = ds.schema.index("left_wrist"), ds.schema.index("right_wrist")
    # the subject's left wrist in the mirrored crop is its right wrist mirrored
    assert np.allclose(t1[lw], [256 - t0[rw, 0], t0[rw, 1]], atol=1e-3)
    assert w1[lw] == w0[rw]


def _val_metrics(path):
    return torch.load(path, weights_only=True)["config"]["training"]["val_metrics"]


def test_validation_equals_evaluate_and_never_ends_worse_than_the_start(tiny, tmp_path, capsys):
    """Train with a learning rate that wrecks the network: model.pt must be the starting model,
    and its validation numbers must be exactly what `infantpose evaluate` prints for it."""
    from infantpose.models.blazepose_landmarks import BlazePoseLandmarkNet

    out = tmp_path / "run"
    val = tiny / "val" / "annotations.json"
    rc = main(["train", "--data", str(tiny / "train" / "annotations.json"), "--val", str(val),
               "--schema", "coco17", "--max-steps", "3", "--batch-size", "4", "--lr", "0.5",
               "--threads", "1", "--out", str(out), "-q"])
    assert rc == 0
    err = capsys.readouterr().err
    assert "starting model on the validation images" in err and "STARTING model" in err
    ck = torch.load(out / "model.pt", weights_only=True)
    assert ck["config"]["training"]["best_step"] == 0
    fresh = BlazePoseLandmarkNet("coco17").state_dict()
    assert all(torch.equal(ck["state_dict"][k], v) for k, v in fresh.items())
    in_training = _val_metrics(out / "model.pt")
    rc = main(["evaluate", "--gt", str(val), "--weights", str(out / "model.pt"), "--model",
               "blazepose-torch", "--out", str(tmp_path / "report")])
    assert rc == 0
    report = json.loads((tmp_path / "report" / "metrics.json").read_text())
    m = report["models"][0]["metrics"]
    for key in ("AP", "AP50", "PCKsh@0.1", "PCK@0.1bbox"):
        assert m[key] == pytest.approx(in_training[key], abs=1e-9), key


def test_a_gentle_run_keeps_a_fine_tuned_model_whose_numbers_evaluate_repeats(tiny, tmp_path):
    from infantpose.train import config_from_dict
    from infantpose.train.loop import train

    out = tmp_path / "gentle"
    cfg = config_from_dict({
        "data": [{"path": str(tiny / "train" / "annotations.json")}],
        "val": [{"path": str(tiny / "val" / "annotations.json")}], "schema": "coco17",
        "out": str(out), "threads": 1, "seed": 0, "model": {"freeze": ["backbone"]},
        "optim": {"batch_size": 4, "max_steps": 6, "lr": 1e-5, "val_every": 3}})
    msgs: list[str] = []
    model = train(cfg, progress=False, log=msgs.append)
    info = torch.load(model, weights_only=True)["config"]["training"]
    assert info["start_metrics"] is not None and "AP" in info["start_metrics"]
    hist = torch.load(out / "last.pt", weights_only=True)["training_state"]["state"]["history"]
    validated = [r for r in hist if r.get("val_AP") is not None]
    assert 1 <= len(validated) < len(hist)  # val_every spaced the validations
    # whichever state was kept, its recorded numbers are the best seen, start included
    best = max([info["start_metrics"]["AP"]] + [r["val_AP"] for r in validated])
    assert info["val_metrics"]["AP"] == pytest.approx(best)
    assert any(("FINE-TUNED" in m) or ("STARTING" in m) for m in msgs)
