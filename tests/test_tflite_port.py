"""The PyTorch port of the BlazePose TFLite landmark model matches the TFLite interpreter."""

from pathlib import Path

import numpy as np
import pytest
import torch

from infantpose.errors import InputError
from infantpose.models.tflite_port import (
    UnsupportedOperatorError,
    load_tflite,
    mediapipe_model_path,
)

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def model_path():
    return mediapipe_model_path("pose_landmark_full")


@pytest.fixture(scope="module")
def graph(model_path):
    return load_tflite(model_path)


def _inputs():
    """Real-looking 256×256 inputs: a person photo resized, a shifted/mirrored crop of it."""
    import cv2
    import matplotlib.image as mimage
    from matplotlib import cbook

    img = mimage.imread(cbook.get_sample_data("grace_hopper.jpg"))  # 600×512 RGB uint8
    a = cv2.resize(img, (256, 256), interpolation=cv2.INTER_AREA)
    b = cv2.resize(img[100:500, 50:450], (256, 256))[:, ::-1]
    return np.stack([a, b]).astype(np.float32) / 255.0


def _tflite_outputs(model_path, x):
    interp_mod = pytest.importorskip("ai_edge_litert.interpreter")
    # TFLite's builtin kernels. The XNNPACK delegate (the default) differs from them by up to
    # ~1.5e-3 px on landmarks by itself (float32 accumulation order); see docs/models.md.
    it = interp_mod.Interpreter(
        model_path=str(model_path),
        experimental_op_resolver_type=interp_mod.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    outs = []
    for xi in x:
        it.set_tensor(it.get_input_details()[0]["index"], xi[None])
        it.invoke()
        outs.append({d["name"]: it.get_tensor(d["index"]).copy() for d in it.get_output_details()})
    return outs


def test_port_has_real_parameters(graph):
    params = list(graph.parameters())
    assert sum(p.numel() for p in params) > 3_000_000
    assert all(p.dtype == torch.float32 and p.requires_grad for p in params)
    assert graph.output_names == ["Identity", "Identity_1", "Identity_2", "Identity_3", "Identity_4"]


def test_parity_with_tflite_interpreter(graph, model_path):
    x = _inputs()
    ref = _tflite_outputs(model_path, x)
    ours = graph.forward_nhwc(x)  # batch of 2 in one pass
    names = graph.output_names
    for i in range(len(x)):
        r = ref[i]
        o = {n: ours[j][i:i + 1] for j, n in enumerate(names)}
        # landmarks: 39 × (x, y, z, visibility, presence) in 256-px crop pixels
        lm_r, lm_o = r["Identity"].reshape(39, 5), o["Identity"].reshape(39, 5)
        assert np.abs(lm_r[:, :2] - lm_o[:, :2]).max() <= 1e-3  # x, y pixels
        assert np.abs(lm_r[:, 3:] - lm_o[:, 3:]).max() <= 1e-3  # visibility/presence logits
        # z (depth, magnitude ~100) carries float32 rounding noise of the same relative size
        assert np.abs(lm_r[:, 2] - lm_o[:, 2]).max() <= 1e-3 * max(1.0, np.abs(lm_r[:, 2]).max()) / 10
        # heatmap 64×64×39 logits
        assert o["Identity_3"].shape == (1, 64, 64, 39)
        assert np.abs(r["Identity_3"] - o["Identity_3"]).max() <= 1e-3
        # presence flag and world landmarks (metres)
        assert np.abs(r["Identity_1"] - o["Identity_1"]).max() <= 1e-4
        assert np.abs(r["Identity_4"] - o["Identity_4"]).max() <= 1e-3
        # segmentation logits reach ±1e3: compare relative to their range
        seg_r, seg_o = r["Identity_2"], o["Identity_2"]
        assert np.abs(seg_r - seg_o).max() <= 1e-5 * np.abs(seg_r).max() * 100


def test_gradients_flow(graph):
    x = torch.rand(1, 3, 256, 256)
    hm = graph(x)[3]
    hm.mean().backward()
    grads = [p.grad for p in graph.parameters()]
    assert sum(g is not None and bool(g.abs().sum() > 0) for g in grads) > 50
    graph.zero_grad()


def test_unknown_operator_raises_naming_it(tmp_path):
    import tflite

    det = mediapipe_model_path("pose_detection")  # uses DENSIFY, which the port lacks
    with pytest.raises(UnsupportedOperatorError, match="DENSIFY") as e:
        load_tflite(det)
    assert str(det) in str(e.value)
    assert tflite.BuiltinOperator.DENSIFY  # the operator exists in the schema


def test_bad_files(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        load_tflite(tmp_path / "missing.tflite")
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"\x00" * 7)
    with pytest.raises(InputError):
        load_tflite(bad)


# --- BlazePoseNet (built on the port) ---------------------------------------------------------

def test_blazepose_net_head_and_stages(graph):
    from infantpose.models.blazepose_net import STAGES, BlazePoseNet
    from infantpose.schemas import BLAZEPOSE33, INFANT22

    net = BlazePoseNet(schema="infant22")
    assert net.head.out_channels == 22 and net.schema.name == "infant22"
    heat = graph.pruned([graph.tensor_id("Identity_3")])
    w0 = next(op for op in heat.ops.values() if op.outputs[0] == graph.tensor_id("Identity_3")).weight
    w = net.head.weight.detach()
    # copied channels, derived palm = mean of index and pinky, random small for vertex and lips
    assert torch.equal(w[INFANT22.index("left_shoulder")], w0[BLAZEPOSE33.index("left_shoulder")])
    palm = (w0[BLAZEPOSE33.index("left_index")] + w0[BLAZEPOSE33.index("left_pinky")]) / 2
    assert torch.allclose(w[INFANT22.index("left_palm")], palm)
    assert set(net.head_init.random) == {"vertex", "upper_lip", "lower_lip"}
    assert w[INFANT22.index("vertex")].abs().max() < 0.01
    # features reproduce the TFLite heatmap exactly for a copied channel
    x = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        ours = net(x)[0, INFANT22.index("left_knee")]
        ref = heat(x)[0][0, BLAZEPOSE33.index("left_knee")]
    assert ours.shape == (64, 64) and torch.allclose(ours, ref, atol=1e-5)
    # every stage owns parameters; freezing the backbone leaves decoder and head trainable
    for s in STAGES:
        assert net.stage_parameters(s), s
    net.freeze("backbone")
    trainable = {id(p) for p in net.parameters() if p.requires_grad}
    assert trainable == {id(p) for s in ("decoder", "head") for p in net.stage_parameters(s)}
    net.unfreeze()
    assert all(p.requires_grad for p in net.parameters())
    with pytest.raises(ValueError, match="unknown stage"):
        net.freeze("encoder")


def test_blazepose_net_checkpoint_round_trip(tmp_path):
    from infantpose.models.blazepose_net import BlazePoseNet
    from infantpose.models.checkpoint import load_checkpoint, save_checkpoint

    net = BlazePoseNet(schema="coco17")
    with torch.no_grad():
        net.head.bias += 0.5  # pretend fine-tuning changed something
    path = save_checkpoint(tmp_path / "bp.pt", net, "coco17", heatmap_activation="softmax",
                           decoder="wa")
    loaded = load_checkpoint(path)
    assert loaded.architecture == "blazepose" and loaded.heatmap_activation == "softmax"
    x = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        assert torch.allclose(loaded.model(x), net(x))


# --- PAD on the channel axis (BlazePose heavy's shortcut), on a tiny written flatbuffer ----------

def _channel_pad_graph(tmp_path):
    """x (1,5,6,3) → conv 1×1 to 7 channels; x zero-padded to 7 channels (4 appended); their
    sum through ReLU: a residual block whose shortcut grows the channel count, as in heavy. A
    second output pads every axis but the batch at once (channels before and after)."""
    from helpers_tflite import TinyGraph

    rng = np.random.default_rng(0)
    g = TinyGraph()
    x = g.tensor("x", (1, 5, 6, 3))
    w = g.tensor("w", (7, 1, 1, 3), rng.normal(size=(7, 1, 1, 3)).astype(np.float32))
    b = g.tensor("b", (7,), rng.normal(size=7).astype(np.float32))
    conv = g.tensor("conv", (1, 5, 6, 7))
    pads = g.tensor("pads", (4, 2), np.array([[0, 0], [0, 0], [0, 0], [0, 4]], np.int32))
    padded = g.tensor("padded", (1, 5, 6, 7))
    out = g.tensor("out", (1, 5, 6, 7))
    pads2 = g.tensor("pads2", (4, 2), np.array([[0, 0], [1, 2], [0, 1], [2, 1]], np.int32))
    out2 = g.tensor("out2", (1, 8, 7, 6))
    g.op("CONV_2D", [x, w, b], [conv])
    g.op("PAD", [x, pads], [padded])
    g.op("ADD", [conv, padded], [out], act=1)
    g.op("PAD", [x, pads2], [out2])
    path = tmp_path / "channel_pad.tflite"
    path.write_bytes(g.to_bytes([x], [out, out2]))
    return path, (g.tensors[w][2], g.tensors[b][2])


def test_pad_on_the_channel_axis_appends_zero_channels(tmp_path):
    path, (w, b) = _channel_pad_graph(tmp_path)
    graph = load_tflite(path)
    x = np.random.default_rng(1).normal(size=(2, 5, 6, 3)).astype(np.float32)
    out, out2 = graph.forward_nhwc(x)
    conv = np.einsum("nhwc,oc->nhwo", x, w[:, 0, 0]) + b
    ref = np.maximum(conv + np.pad(x, [(0, 0), (0, 0), (0, 0), (0, 4)]), 0)
    assert out.shape == (2, 5, 6, 7) and np.abs(out - ref).max() < 1e-5
    assert np.array_equal(out2, np.pad(x, [(0, 0), (1, 2), (0, 1), (2, 1)]))
    # NCHW forward: the padded channels are exact zeros, and gradients reach the conv
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).requires_grad_(True)
    o, o2 = graph(xt)
    assert o2.shape == (2, 6, 8, 7) and torch.all(o2[:, :2] == 0) and torch.all(o2[:, -1] == 0)
    o.sum().backward()
    assert next(graph.parameters()).grad.abs().sum() > 0 and xt.grad is not None


def test_channel_pad_matches_the_tflite_interpreter(tmp_path):
    interp_mod = pytest.importorskip("ai_edge_litert.interpreter")
    path, _ = _channel_pad_graph(tmp_path)
    it = interp_mod.Interpreter(
        model_path=str(path),
        experimental_op_resolver_type=interp_mod.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    it.allocate_tensors()
    x = np.random.default_rng(2).normal(size=(1, 5, 6, 3)).astype(np.float32)
    it.set_tensor(it.get_input_details()[0]["index"], x)
    it.invoke()
    ref = [it.get_tensor(d["index"]) for d in it.get_output_details()]
    ours = load_tflite(path).forward_nhwc(x)
    for r, o in zip(ref, ours):
        assert r.shape == o.shape and np.abs(r - o).max() < 1e-5


def test_pad_on_the_batch_axis_is_refused(tmp_path):
    from helpers_tflite import TinyGraph

    g = TinyGraph()
    x = g.tensor("x", (1, 2, 2, 1))
    p = g.tensor("p", (4, 2), np.array([[1, 0], [0, 0], [0, 0], [0, 0]], np.int32))
    y = g.tensor("y", (2, 2, 2, 1))
    g.op("PAD", [x, p], [y])
    path = tmp_path / "batch_pad.tflite"
    path.write_bytes(g.to_bytes([x], [y]))
    with pytest.raises(UnsupportedOperatorError, match="batch axis"):
        load_tflite(path)


# --- BlazePose heavy (pose_landmark_heavy.tflite from the npm package @mediapipe/pose) -------------

NPM_HEAVY = Path("/tmp/npmpk/mp/package/pose_landmark_heavy.tflite")


def heavy_file() -> Path | None:
    """The heavy landmark model where this machine has it (the model store, or an unpacked
    ``npm pack @mediapipe/pose``); None otherwise. Tests that need it skip without it."""
    from infantpose.models.tflite_port import HEAVY_STORE_NAME, stored_model_file

    try:
        p = stored_model_file(HEAVY_STORE_NAME)
        if p.is_file():
            return p
    except InputError:
        pass
    return NPM_HEAVY if NPM_HEAVY.is_file() else None


@pytest.mark.slow
def test_heavy_parity_with_tflite_interpreter():
    path = heavy_file()
    if path is None:
        pytest.skip("pose_landmark_heavy.tflite not on this machine")
    graph = load_tflite(path)
    assert sum(p.numel() for p in graph.parameters()) > 13_000_000
    assert graph.output_names == ["Identity", "Identity_1", "Identity_2", "Identity_3", "Identity_4"]
    x = _inputs()
    ref = _tflite_outputs(path, x)
    ours = graph.forward_nhwc(x)
    names = graph.output_names
    for i in range(len(x)):
        r = ref[i]
        o = {n: ours[j][i:i + 1] for j, n in enumerate(names)}
        lm_r, lm_o = r["Identity"].reshape(39, 5), o["Identity"].reshape(39, 5)
        # heavy is ~4x deeper/wider than full: float32 rounding of both runtimes adds up to a
        # few 1e-3 px (measured: the interpreter's own builtin kernels are ~7e-3 px from a float64
        # run of the port, the port's float32 run ~3e-3 px)
        assert np.abs(lm_r[:, :2] - lm_o[:, :2]).max() <= 1e-2
        assert np.abs(lm_r[:, 3:] - lm_o[:, 3:]).max() <= 1e-2
        assert np.abs(lm_r[:, 2] - lm_o[:, 2]).max() <= 1e-2 * max(1.0, np.abs(lm_r[:, 2]).max()) / 10
        assert o["Identity_3"].shape == (1, 64, 64, 39)
        assert np.abs(r["Identity_3"] - o["Identity_3"]).max() <= 1e-2
        assert np.abs(r["Identity_1"] - o["Identity_1"]).max() <= 1e-4
        assert np.abs(r["Identity_4"] - o["Identity_4"]).max() <= 1e-3
        seg_r, seg_o = r["Identity_2"], o["Identity_2"]
        assert np.abs(seg_r - seg_o).max() <= 1e-5 * np.abs(seg_r).max() * 100
