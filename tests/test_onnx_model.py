"""``--model onnx``: top-down ONNX models (heatmap and SimCC outputs) on onnxruntime.

Each ONNX file is exported by the test itself from a small network: infantpose's Pose-ResNet-18
(heatmaps, normalising inside the network) and an RTMPose-style SimCC head defined here. The
onnx path must give the keypoints of the torch model it came from; bad files and sidecars stop
with one line ``error: <file>: <problem>`` and exit code 2."""

import json
import warnings

import numpy as np

from infantpose.models.tracker import Hint
import pytest
import torch
from torch import nn

from infantpose.cli import main
from infantpose.errors import InputError
from infantpose.examples import hopper_scene
from infantpose.models import create_estimator, list_estimators
from infantpose.models.onnx_model import OnnxPoseEstimator, find_sidecar, read_config
from infantpose.models.pose_resnet import PoseResNet
from infantpose.geometry import box_transform, crop_image
from infantpose.models.checkpoint import LoadedModel
from infantpose.models.topdown import TorchPoseEstimator
from infantpose.schemas import COCO17

pytest.importorskip("onnx")  # torch.onnx.export needs it (a development dependency)

BOX = np.array([[220.0, 100.0, 420.0, 380.0]])  # the portrait in hopper_scene(0)


def export(model: nn.Module, path, size_wh, outputs):
    """Export with the TorchScript exporter (fast; the dynamo one also works but takes ~5 s)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        x = torch.rand(1, 3, size_wh[1], size_wh[0])
        axes = {"input": {0: "n"}, **{o: {0: "n"} for o in outputs}}
        torch.onnx.export(model.eval(), (x,), str(path), dynamo=False, input_names=["input"],
                          output_names=list(outputs), dynamic_axes=axes)
    return path


class TinySimCC(nn.Module):
    """An RTMPose-style model: convolutional features, then per keypoint one classification
    over ``ratio`` bins per input pixel along x and one along y."""

    def __init__(self, k: int = 17, size_wh=(48, 64), ratio: float = 2.0):
        super().__init__()
        w, h = size_wh
        self.k, self.bx, self.by = k, int(w * ratio), int(h * ratio)
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1), nn.ReLU(),
                                      nn.Conv2d(8, 8, 3, 2, 1), nn.ReLU())
        n = 8 * (h // 4) * (w // 4)
        self.fx = nn.Linear(n, k * self.bx)
        self.fy = nn.Linear(n, k * self.by)

    def forward(self, x):
        f = self.features(x).flatten(1)
        return self.fx(f).view(-1, self.k, self.bx), self.fy(f).view(-1, self.k, self.by)


@pytest.fixture(scope="module")
def heatmap_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx_heatmap")
    torch.manual_seed(0)
    net = PoseResNet(17, depth=18, input_size=(64, 96), deconv_channels=16).eval()
    path = export(net, d / "tiny.onnx", (64, 96), ["heatmaps"])
    # Pose-ResNet normalises inside forward: it takes RGB in [0, 1]
    (d / "tiny.onnx.yaml").write_text("schema: coco17\nmean: [0, 0, 0]\nstd: [255, 255, 255]\n"
                                      "decoder: dark\n")
    return net, path


@pytest.fixture(scope="module")
def simcc_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("onnx_simcc")
    torch.manual_seed(1)
    net = TinySimCC().eval()
    path = export(net, d / "rtm.onnx", (48, 64), ["simcc_x", "simcc_y"])
    (d / "rtm.yaml").write_text("output: simcc\nsplit_ratio: 2.0\n")  # ImageNet mean/std
    return net, path


def _torch_heatmap(net) -> TorchPoseEstimator:
    loaded = LoadedModel(net, "pose_resnet", COCO17, (64, 96), 4, "none", "dark", 2.0)
    return TorchPoseEstimator(loaded, flip_test=False, detector="none")


@pytest.mark.parametrize("flip", [False, True])
def test_heatmap_onnx_gives_the_torch_models_keypoints(heatmap_model, flip):
    net, path = heatmap_model
    img = hopper_scene(0)
    ref = _torch_heatmap(net)
    ref.flip_test = flip
    est = OnnxPoseEstimator(path, detector="none", flip_test=flip)
    views = [e.tracker().view for e in (ref, est)]  # a tracker's hint: upright
    for boxes in (BOX, None):  # a person box, and the whole frame
        a, b = (v(img, boxes, Hint(0)).data for v in views)
        assert a.shape == b.shape == (1, 1, 17, 3)
        np.testing.assert_allclose(b[..., :2], a[..., :2], atol=1e-3)
        np.testing.assert_allclose(b[..., 2], a[..., 2], atol=1e-4)
    assert est.config.output == "heatmap" and est.input_size == (64, 96)


def test_quarter_turn_search_keeps_the_most_confident_turn(heatmap_model):
    _, path = heatmap_model
    img = hopper_scene(90)
    est = OnnxPoseEstimator(path, detector="none")
    p = est.predict(img, BOX)
    rot = int(p.rotation[0, 0])
    assert rot in (0, 90, 180, 270)
    # the same turn alone (a tracker's hint) gives the same pose
    np.testing.assert_allclose(est.tracker().view(img, BOX, Hint(rot)).data, p.data)


def test_simcc_onnx_gives_the_torch_models_keypoints(simcc_model):
    net, path = simcc_model
    img = hopper_scene(0)
    est = OnnxPoseEstimator(path, detector="none", quarter_turns=False)
    assert est.config.output == "simcc" and est.config.source.endswith("rtm.yaml")
    p = est.predict(img, BOX)
    # the reference, written out: crop, ImageNet normalisation, argmax per axis, back to pixels
    m = box_transform(BOX[0], (48, 64), 1.25, 0)
    crop = crop_image(img, m, (48, 64)).astype(np.float32)
    x = (crop - np.array([123.675, 116.28, 103.53])) / np.array([58.395, 57.12, 57.375])
    with torch.no_grad():
        sx, sy = net(torch.from_numpy(x.transpose(2, 0, 1)[None]).float())
    u = (sx[0].argmax(-1).numpy() + 0.5) / 2.0
    v = (sy[0].argmax(-1).numpy() + 0.5) / 2.0
    inv = np.linalg.inv(np.vstack([m, [0, 0, 1]]))[:2]
    xy = np.stack([u, v], -1) @ inv[:, :2].T + inv[:, 2]
    np.testing.assert_allclose(p.data[0, 0, :, :2], xy, atol=1e-3)
    score = np.minimum(sx[0].max(-1).values.numpy(), sy[0].max(-1).values.numpy())
    np.testing.assert_allclose(p.data[0, 0, :, 2], np.clip(score, 0, 1), atol=1e-4)
    # flip test averages with the mirrored crop; MMPose's integer pixel centres shift by 0.25 px
    assert OnnxPoseEstimator(path, detector="none", quarter_turns=False,
                             flip_test=True).predict(img, BOX).data.shape == (1, 1, 17, 3)
    shifted = OnnxPoseEstimator(path, detector="none", quarter_turns=False,
                                pixel_centers="integer").predict(img, BOX).data
    crop_shift = (shifted[0, 0, :, :2] - p.data[0, 0, :, :2]) @ m[:, :2].T
    np.testing.assert_allclose(crop_shift, 0.25, atol=1e-6)


def test_registry_schema_conversion_and_detector(heatmap_model):
    _, path = heatmap_model
    assert "onnx" in [i.name for i in list_estimators()]
    est = create_estimator("onnx", schema="infant22", weights=str(path))
    p = est.predict(hopper_scene(0))  # no boxes: the mediapipe estimator finds the person
    assert p.schema.name == "infant22" and p.data.shape == (1, 1, 22, 3)
    assert p.meta["model"] == "onnx" and p.rotation[0].tolist() == [0]
    est.close()
    with pytest.raises(InputError, match="needs --weights"):
        create_estimator("onnx")


def test_sidecar_lookup_and_defaults(tmp_path):
    model = tmp_path / "m.onnx"
    assert find_sidecar(model) is None
    cfg = read_config(model)
    assert cfg.schema.name == "coco17" and cfg.mean == (123.675, 116.28, 103.53)
    assert cfg.decoder == "dark" and cfg.pixel_centers == "half" and cfg.margin == 1.25
    (tmp_path / "m.yaml").write_text("schema: infant22\n")
    assert find_sidecar(model).name == "m.yaml"
    (tmp_path / "m.onnx.yaml").write_text("channel_order: BGR\nflip_test: true\n")
    assert find_sidecar(model).name == "m.onnx.yaml"  # the more specific name wins
    cfg = read_config(model)
    assert cfg.channel_order == "bgr" and cfg.flip_test and cfg.schema.name == "coco17"


def _cli_error(capsys, argv) -> str:
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("error: "), err
    assert "Traceback" not in err
    return err


def test_predict_and_evaluate_run_it_from_the_command_line(heatmap_model, tmp_path, capsys):
    from infantpose.io.images import write_image

    _, path = heatmap_model
    write_image(tmp_path / "photo.png", hopper_scene(0))
    out = tmp_path / "out"
    assert main(["predict", str(tmp_path / "photo.png"), "--model", "onnx", "--weights",
                 str(path), "--schema", "coco17", "--out", str(out), "--quiet"]) == 0
    res = json.loads((out / "predictions.json").read_text())
    assert len(res) == 1 and res[0]["schema"] == "coco17" and len(res[0]["keypoints"]) == 51
    # --weights MODEL.onnx alone picks the onnx model
    assert main(["predict", str(tmp_path / "photo.png"), "--weights", str(path),
                 "--schema", "coco17", "--out", str(tmp_path / "out2"), "--quiet"]) == 0
    from infantpose.synth.generate import write_dataset

    write_dataset(tmp_path / "synth", 2, schema="coco17", seed=3)
    gt = tmp_path / "synth" / "annotations.json"
    rep = tmp_path / "report"
    assert main(["evaluate", "--gt", str(gt), "--model", "onnx", "--weights", str(path),
                 "--out", str(rep)]) == 0
    assert "AP" in json.loads((rep / "metrics.json").read_text())["models"][0]["metrics"]
    capsys.readouterr()


def test_bad_files_give_one_line_errors(heatmap_model, tmp_path, capsys):
    from infantpose.io.images import write_image

    _, good = heatmap_model
    img = tmp_path / "photo.png"
    write_image(img, hopper_scene(0))

    def predict(weights):
        return _cli_error(capsys, ["predict", img, "--model", "onnx", "--weights", weights,
                                   "--out", tmp_path / "o", "--quiet"])

    assert "weights file not found" in predict(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a protobuf")
    err = predict(junk)
    assert str(junk) in err and "cannot load ONNX model" in err

    def with_sidecar(text: str) -> str:
        d = tmp_path / f"s{abs(hash(text))}"
        d.mkdir()
        m = d / "m.onnx"
        m.write_bytes(good.read_bytes())
        (d / "m.onnx.yaml").write_text(text)
        err = predict(m)
        assert str(d / "m.onnx") in err
        return err

    assert "not valid YAML" in with_sidecar("schema: [coco17\n")
    assert "m.onnx.yaml: unknown setting 'means'" in with_sidecar("means: [0, 0, 0]\n")
    assert "mean must be a list of 3 numbers" in with_sidecar("mean: [0, 0]\n")
    assert "must be a YAML mapping" in with_sidecar("- coco17\n")
    assert "unknown schema" in with_sidecar("schema: horses\n")
    assert "differs from the model's input" in with_sidecar("input_size: [64, 64]\n")
    err = with_sidecar("schema: infant22\nmean: [0, 0, 0]\nstd: [255, 255, 255]\n")
    assert "17 keypoint channels but schema infant22 has 22" in err


def test_wrong_output_shapes_are_refused(tmp_path, capsys):
    class Flat(nn.Module):
        def forward(self, x):
            return x.mean(dim=(2, 3))  # (N, 3): neither heatmaps nor SimCC

    path = export(Flat(), tmp_path / "flat.onnx", (32, 32), ["out"])
    with pytest.raises(InputError, match="cannot tell heatmap from SimCC outputs"):
        OnnxPoseEstimator(path)
    (tmp_path / "flat.onnx.yaml").write_text("output: simcc\n")
    with pytest.raises(InputError, match="simcc model needs 2 outputs"):
        OnnxPoseEstimator(path)

    # A graph that declares no output shape: onnxruntime infers it, and 3 channels are refused.
    import onnx
    from onnx import TensorProto, helper

    pool = helper.make_node("AveragePool", ["input"], ["heatmaps"], kernel_shape=[4, 4],
                            strides=[4, 4])
    graph = helper.make_graph(
        [pool], "pool",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 3, 32, 32])],
        [helper.make_tensor_value_info("heatmaps", TensorProto.FLOAT, ["n", "k", "h", "w"])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "pool.onnx")
    with pytest.raises(InputError, match="has 3 keypoint channels but schema coco17 has 17"):
        OnnxPoseEstimator(tmp_path / "pool.onnx", detector="none")
    (tmp_path / "pool.onnx.yaml").write_text("input_size: [32, 32]\noutputs: [nope]\n")
    with pytest.raises(InputError, match="output 'nope' not in the model; it has heatmaps"):
        OnnxPoseEstimator(tmp_path / "pool.onnx")


def test_missing_onnxruntime_is_one_clear_error(heatmap_model, monkeypatch):
    import sys

    _, path = heatmap_model
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(InputError, match=r"needs onnxruntime.*pip install onnxruntime"):
        OnnxPoseEstimator(path)
