"""The TF.js graph-model port against NumPy references, on tiny models written by the tests.

Each test writes a ``model.json`` + ``model.bin`` pair (GraphDef JSON, weights manifest with
float32 / int32 / float16 / uint8 weights) into ``tmp_path``, loads it with
:func:`load_tfjs_graph` and compares with the same computation done by hand in NumPy.
"""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from infantpose.errors import InputError
from infantpose.models.tfjs_graph import SUPPORTED_OPS, UnsupportedOpError, load_tfjs_graph

# --- writing tiny TF.js graph models --------------------------------------------------------------


def s_(v: str) -> dict:
    return {"s": base64.b64encode(v.encode()).decode()}


def ints(*v: int) -> dict:
    return {"list": {"i": [str(x) for x in v]}}


def strs(*v: str) -> dict:
    return {"list": {"s": [base64.b64encode(x.encode()).decode() for x in v]}}


def node(name: str, op: str, inputs=(), **attr) -> dict:
    return {"name": name, "op": op, "input": list(inputs), "attr": attr}


class Model:
    """Collects nodes and constants and writes ``<name>.json`` + ``<name>.bin``."""

    def __init__(self, input_shape, dtype: str = "DT_FLOAT"):
        self.nodes = [node("input", "Placeholder", dtype={"type": dtype},
                           shape={"shape": {"dim": [{"size": str(d)} for d in input_shape]}})]
        self.weights: list[tuple[dict, bytes]] = []
        self.values: dict[str, np.ndarray] = {}  # what a reader must decode (dequantized)

    def const(self, name: str, value, quant: str | None = None) -> str:
        a = np.asarray(value)
        dtype = "int32" if a.dtype.kind in "iu" else "float32"
        spec = {"name": name, "shape": list(a.shape), "dtype": dtype}
        if quant == "float16":
            raw = a.astype("<f2")
            data, decoded = raw.tobytes(), raw.astype(np.float32)
            spec["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
        elif quant == "uint8":
            lo, hi = float(a.min()), float(a.max())
            scale = (hi - lo) / 255 or 1.0
            q = np.round((a - lo) / scale).astype(np.uint8)
            data = q.tobytes()
            decoded = (q.astype(np.float64) * scale + lo).astype(np.float32)
            spec["quantization"] = {"dtype": "uint8", "scale": scale, "min": lo}
        else:
            decoded = a.astype("<i4" if dtype == "int32" else "<f4")
            data = decoded.tobytes()
        self.weights.append((spec, data))
        self.values[name] = decoded
        self.nodes.append(node(name, "Const", dtype={"type": "DT_INT32" if dtype == "int32"
                                                     else "DT_FLOAT"}))
        return name

    def add(self, name: str, op: str, inputs, **attr) -> str:
        self.nodes.append(node(name, op, inputs, **attr))
        return name

    def write(self, folder: Path, outputs, name: str = "model") -> Path:
        model = {
            "format": "graph-model",
            "modelTopology": {"node": self.nodes, "library": {}, "versions": {}},
            "weightsManifest": [{"paths": [f"{name}.bin"],
                                 "weights": [w for w, _ in self.weights]}],
            "signature": {"inputs": {"input:0": {"name": "input:0"}},
                          "outputs": {f"{o}:0": {"name": f"{o}:0"} for o in outputs}},
        }
        path = folder / f"{name}.json"
        path.write_text(json.dumps(model))
        (folder / f"{name}.bin").write_bytes(b"".join(d for _, d in self.weights))
        return path


# --- NumPy references -----------------------------------------------------------------------------


def same_pad(size: int, k: int, s: int, d: int = 1) -> tuple[int, int]:
    out = -(-size // s)
    total = max((out - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def np_conv(x, w, stride=1, padding="SAME", dilation=1, depthwise=False):
    """NHWC convolution by loops (x (1,H,W,C); w HWIO, or [kh,kw,C,mult] for depthwise)."""
    _, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    if padding == "SAME":
        (t, b), (lf, r) = same_pad(h, kh, stride, dilation), same_pad(wd, kw, stride, dilation)
    else:
        t = b = lf = r = 0
    xp = np.pad(x, ((0, 0), (t, b), (lf, r), (0, 0)))
    ekh, ekw = (kh - 1) * dilation + 1, (kw - 1) * dilation + 1
    oh, ow = (xp.shape[1] - ekh) // stride + 1, (xp.shape[2] - ekw) // stride + 1
    cout = c * w.shape[3] if depthwise else w.shape[3]
    out = np.zeros((1, oh, ow, cout))
    for i in range(oh):
        for j in range(ow):
            patch = xp[0, i * stride: i * stride + ekh: dilation,
                       j * stride: j * stride + ekw: dilation]  # kh, kw, C
            if depthwise:
                out[0, i, j] = np.einsum("hwc,hwcm->cm", patch, w).reshape(-1)
            else:
                out[0, i, j] = np.einsum("hwc,hwco->o", patch, w)
    return out


def np_resize(x, oh, ow, align_corners=False, half_pixel=True):
    """TF ResizeBilinear on (1,H,W,C)."""
    _, h, w, _ = x.shape

    def coords(n_in, n_out):
        if align_corners and n_out > 1:
            src = np.arange(n_out) * (n_in - 1) / (n_out - 1)
        elif half_pixel:
            src = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
        else:
            src = np.arange(n_out) * n_in / n_out
        lo = np.floor(src)
        frac = src - lo
        return (np.clip(lo, 0, n_in - 1).astype(int), np.clip(lo + 1, 0, n_in - 1).astype(int),
                frac)

    y0, y1, fy = coords(h, oh)
    x0, x1, fx = coords(w, ow)
    top = x[:, y0] * (1 - fy)[None, :, None, None] + x[:, y1] * fy[None, :, None, None]
    return top[:, :, x0] * (1 - fx)[None, None, :, None] + top[:, :, x1] * fx[None, None, :, None]


def np_pool(x, k, s, padding, kind):
    _, h, w, c = x.shape
    if padding == "SAME":
        (t, b), (lf, r) = same_pad(h, k, s), same_pad(w, k, s)
    else:
        t = b = lf = r = 0
    xp = np.pad(x, ((0, 0), (t, b), (lf, r), (0, 0)), constant_values=np.nan)
    oh, ow = (xp.shape[1] - k) // s + 1, (xp.shape[2] - k) // s + 1
    out = np.zeros((1, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            win = xp[0, i * s:i * s + k, j * s:j * s + k]
            out[0, i, j] = np.nanmax(win, (0, 1)) if kind == "max" else np.nanmean(win, (0, 1))
    return out


def sigmoid(v):
    return 1 / (1 + np.exp(-v))


def run(graph, x: np.ndarray, names=None):
    with torch.no_grad():
        t = torch.from_numpy(np.asarray(x, np.float32))
        if names is None:
            return [o.numpy() for o in graph(t)]
        return {k: v.numpy() for k, v in graph.run_nodes(t, names).items()}


# --- a convolutional model ------------------------------------------------------------------------


def conv_model(tmp_path: Path, quant: str | None = None):
    rng = np.random.default_rng(0)
    m = Model([1, 9, 10, 3])
    w1 = m.const("w1", rng.normal(size=(3, 3, 3, 4)) * 0.5, quant)
    b1 = m.const("b1", rng.normal(size=4), quant)
    c1 = m.add("conv1", "_FusedConv2D", ["input", w1, b1], strides=ints(1, 2, 2, 1),
               padding=s_("SAME"), dilations=ints(1, 1, 1, 1), data_format=s_("NHWC"),
               fused_ops=strs("BiasAdd", "Relu6"), num_args={"i": "1"})
    wd = m.const("wd", rng.normal(size=(3, 3, 4, 2)) * 0.5)
    bd = m.const("bd", rng.normal(size=8))
    d1 = m.add("dw1", "FusedDepthwiseConv2dNative", [c1, wd, bd], strides=ints(1, 1, 1, 1),
               padding=s_("SAME"), dilations=ints(1, 1, 1, 1),
               fused_ops=strs("BiasAdd", "Relu"))
    wd2 = m.const("wd2", rng.normal(size=(2, 2, 8, 1)))
    d2 = m.add("dw2", "DepthwiseConv2dNative", [d1, wd2], strides=ints(1, 1, 1, 1),
               padding=s_("VALID"), dilations=ints(1, 2, 2, 1))
    w3 = m.const("w3", rng.normal(size=(1, 1, 8, 5)))
    c3 = m.add("conv3", "Conv2D", [d2, w3], strides=ints(1, 1, 1, 1), padding=s_("VALID"))
    b3 = m.const("b3", rng.normal(size=5))
    ba = m.add("bias3", "BiasAdd", [c3, b3])
    sz = m.const("size", np.array([5, 7], np.int32))
    up = m.add("up", "ResizeBilinear", [ba, sz], align_corners={"b": False},
               half_pixel_centers={"b": True})
    sz2 = m.const("size2", np.array([4, 4], np.int32))
    up2 = m.add("up_ac", "ResizeBilinear", [up, sz2], align_corners={"b": True})
    up3 = m.add("up_legacy", "ResizeBilinear", [ba, sz], align_corners={"b": False},
                half_pixel_centers={"b": False})
    sg = m.add("sig", "Sigmoid", [up])
    mp = m.add("maxpool", "MaxPool", [sg], ksize=ints(1, 2, 2, 1), strides=ints(1, 2, 2, 1),
               padding=s_("SAME"))
    ap = m.add("avgpool", "AvgPool", [sg], ksize=ints(1, 3, 3, 1), strides=ints(1, 1, 1, 1),
               padding=s_("SAME"))
    r = m.add("relu", "Relu", [ba])
    r6 = m.add("relu6", "Relu6", [ba])
    th = m.add("tanh", "Tanh", [ba])
    mx = m.add("max", "Maximum", [r, m.add("elu", "Elu", [th])])
    sc = m.const("scale", np.float32(0.5))
    mn = m.add("min", "Minimum", [r6, sc])
    out = m.add("sum", "Add", [mx, mn])
    path = m.write(tmp_path, [out, mp, ap, up2, up3])
    return path, m.values


def conv_reference(x, v):
    c1 = np.clip(np_conv(x, v["w1"], 2) + v["b1"], 0, 6)
    d1 = np.maximum(np_conv(c1, v["wd"], 1, depthwise=True) + v["bd"], 0)
    d2 = np_conv(d1, v["wd2"], 1, "VALID", dilation=2, depthwise=True)
    ba = np_conv(d2, v["w3"], 1, "VALID") + v["b3"]
    up = np_resize(ba, 5, 7)
    sg = sigmoid(up)
    th = np.tanh(ba)
    out = np.maximum(np.maximum(ba, 0), np.where(th > 0, th, np.expm1(th))) + np.minimum(np.clip(ba, 0, 6), 0.5)
    return {"sum": out, "maxpool": np_pool(sg, 2, 2, "SAME", "max"),
            "avgpool": np_pool(sg, 3, 1, "SAME", "avg"),
            "up_ac": np_resize(up, 4, 4, align_corners=True),
            "up_legacy": np_resize(ba, 5, 7, half_pixel=False), "ba": ba}


@pytest.mark.parametrize("quant", [None, "float16", "uint8"])
def test_conv_ops_match_numpy(tmp_path, quant):
    path, values = conv_model(tmp_path, quant)
    graph = load_tfjs_graph(path)
    x = np.random.default_rng(1).normal(size=(1, 9, 10, 3))
    got = run(graph, x)
    ref = conv_reference(x, values)
    names = ["sum", "maxpool", "avgpool", "up_ac", "up_legacy"]
    assert [o.shape for o in got] == [ref[n].shape for n in names]
    for name, o in zip(names, got):
        np.testing.assert_allclose(o, ref[name], atol=2e-5, rtol=1e-5, err_msg=name)


def test_weights_are_parameters_and_train(tmp_path):
    path, _ = conv_model(tmp_path)
    graph = load_tfjs_graph(path)
    params = dict(graph.named_parameters())
    assert len(params) == 6  # w1 b1 wd bd wd2 w3 (kernels, fused biases); b3 is a buffer
    assert "ops.conv1.weight" in params and "ops.conv1.bias" in params
    x = torch.from_numpy(np.random.default_rng(2).normal(size=(2, 9, 10, 3)).astype(np.float32))
    loss = graph(x)[0].square().sum()
    loss.backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params.values())
    assert params["ops.conv1.weight"].grad.abs().sum() > 0
    # a changed parameter changes the output (the parameter is what the graph uses)
    with torch.no_grad():
        before = graph(x)[0].clone()
        params["ops.conv3.weight"].add_(1.0)
        assert not torch.allclose(before, graph(x)[0])


def test_batch_equals_one_by_one(tmp_path):
    path, _ = conv_model(tmp_path)
    graph = load_tfjs_graph(path)
    x = np.random.default_rng(3).normal(size=(3, 9, 10, 3))
    batched = run(graph, x)
    graph.batch_mode = "loop"
    looped = run(graph, x)
    single = [run(graph, x[i:i + 1]) for i in range(3)]
    for k in range(len(batched)):
        assert batched[k].shape[0] == 3
        np.testing.assert_allclose(batched[k], looped[k], atol=1e-5)
        for i in range(3):
            np.testing.assert_allclose(batched[k][i], single[i][k][0], atol=1e-5)


def test_run_nodes_and_layout(tmp_path):
    path, values = conv_model(tmp_path)
    graph = load_tfjs_graph(path)
    x = np.random.default_rng(4).normal(size=(1, 9, 10, 3))
    ref = conv_reference(x, values)
    got = run(graph, x, ["bias3"])
    np.testing.assert_allclose(got["bias3"], ref["ba"], atol=2e-5)
    with torch.no_grad():
        nchw = graph.run_nodes(torch.from_numpy(x.astype(np.float32)), ["bias3"], layout="nchw")
    np.testing.assert_allclose(nchw["bias3"].numpy(), ref["ba"].transpose(0, 3, 1, 2), atol=2e-5)
    with pytest.raises(KeyError):
        graph.run_nodes(torch.zeros(1, 9, 10, 3), ["no_such_node"])


# --- the decoding operators (MoveNet-style argmax / gather) ---------------------------------------


def decode_model(tmp_path: Path) -> Path:
    """Heatmap (1, 4, 5, 3) → per-channel argmax cell → gathered values and offsets."""
    m = Model([1, 4, 5, 3], dtype="DT_INT32")
    x = m.add("cast", "Cast", ["input"], SrcT={"type": "DT_INT32"}, DstT={"type": "DT_FLOAT"})
    heat = m.add("heat", "Sigmoid", [x])
    flat = m.add("flat", "Reshape", [heat, m.const("flat_shape", np.array([1, -1, 3], np.int32))])
    am = m.add("argmax", "ArgMax", [flat, m.const("am_dim", np.int32(1))],
               output_type={"type": "DT_INT32"})  # (1, 3)
    five = m.const("five", np.int32(5))
    row = m.add("row", "FloorDiv", [am, five])
    col = m.add("col", "Sub", [am, m.add("rowx5", "Mul", [row, five])])
    row1 = m.add("row1", "Reshape", [row, m.const("m1", np.array([-1], np.int32))])
    col1 = m.add("col1", "Reshape", [col, "m1"])
    idx = m.add("idx", "Pack", [m.const("zeros", np.zeros(3, np.int32)), row1, col1,
                                m.const("chan", np.arange(3, dtype=np.int32))],
                axis={"i": "1"}, N={"i": "4"})  # (3, 4)
    val = m.add("val", "GatherNd", [heat, idx])  # (3,)
    # rows/cols as float, (3, 2), then a distance to a fixed point and a ratio
    rc = m.add("rc", "Pack", [m.add("rowf", "Cast", [row1], DstT={"type": "DT_FLOAT"}),
                              m.add("colf", "Cast", [col1], DstT={"type": "DT_FLOAT"})],
               axis={"i": "1"}, N={"i": "2"})
    parts = m.add("parts", "Unpack", [rc], axis={"i": "1"}, num={"i": "2"})
    d2 = m.add("d2", "AddV2", [m.add("dy", "SquaredDifference", [parts, m.const("py", np.float32(1.5))]),
                               m.add("dx", "SquaredDifference", ["parts:1", m.const("px", np.float32(2.0))])])
    dist = m.add("dist", "Sqrt", [d2])
    ratio = m.add("ratio", "RealDiv", [val, m.add("dist1", "AddV2", [dist, m.const("one", np.float32(1.0))])])
    e = m.add("e", "ExpandDims", [ratio, m.const("ax_last", np.int32(-1))])  # (3, 1)
    cat = m.add("cat", "ConcatV2", [rc, e, m.const("ax1", np.int32(1))],
                N={"i": "2"})  # (3, 3)
    sq = m.add("sq", "Squeeze", [m.add("e0", "ExpandDims", [cat, m.const("ax0", np.int32(0))])],
               squeeze_dims=ints(0))
    out = m.add("out", "Identity", [sq])
    return m.write(tmp_path, [out])


def test_decoding_ops_match_numpy(tmp_path):
    graph = load_tfjs_graph(decode_model(tmp_path))
    x = np.random.default_rng(5).integers(-9, 10, size=(1, 4, 5, 3)).astype(np.float32)
    x[0, 2, 3, 1] = 30  # a clear maximum
    (got,) = run(graph, x)
    heat = sigmoid(x[0])
    flat = heat.reshape(-1, 3)
    am = flat.argmax(0)
    row, col = am // 5, am % 5
    val = heat[row, col, np.arange(3)]
    ratio = val / (np.hypot(row - 1.5, col - 2.0) + 1)
    ref = np.stack([row, col, ratio], 1)
    assert got.shape == (1, 3, 3)
    np.testing.assert_allclose(got[0], ref, atol=1e-6)
    assert tuple(got[0, 1, :2]) == (2, 3)
    # batched: each image decoded on its own
    x2 = np.concatenate([x, x[:, ::-1].copy()])
    got2 = run(graph, x2)[0]
    np.testing.assert_allclose(got2[0], got[0], atol=1e-6)
    assert tuple(got2[1, 1, :2]) == (1, 3)


def test_supported_ops_are_all_exercised(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    used = set()
    for path in (conv_model(tmp_path / "a")[0], decode_model(tmp_path / "b")):
        used |= {n["op"] for n in json.loads(path.read_text())["modelTopology"]["node"]}
    assert SUPPORTED_OPS - used == set()


# --- bad files ------------------------------------------------------------------------------------


def one_line(e: pytest.ExceptionInfo, path: Path) -> str:
    msg = str(e.value)
    assert "\n" not in msg and str(path) in msg
    assert e.value.path == str(path)
    return msg


def test_missing_json(tmp_path):
    with pytest.raises(InputError) as e:
        load_tfjs_graph(tmp_path / "nope.json")
    assert "not found" in one_line(e, tmp_path / "nope.json")


def test_missing_bin(tmp_path):
    path, _ = conv_model(tmp_path)
    (tmp_path / "model.bin").unlink()
    with pytest.raises(InputError) as e:
        load_tfjs_graph(path)
    assert "not found" in one_line(e, tmp_path / "model.bin")


@pytest.mark.parametrize("cut", [1, 100])
def test_truncated_bin(tmp_path, cut):
    path, _ = conv_model(tmp_path)
    data = (tmp_path / "model.bin").read_bytes()
    (tmp_path / "model.bin").write_bytes(data[:-cut])
    with pytest.raises(InputError) as e:
        load_tfjs_graph(path)
    assert "truncated" in one_line(e, tmp_path / "model.bin")


def test_bin_of_another_model(tmp_path):
    path, _ = conv_model(tmp_path)
    with open(tmp_path / "model.bin", "ab") as f:
        f.write(b"\0" * 8)
    with pytest.raises(InputError) as e:
        load_tfjs_graph(path)
    assert "describes" in one_line(e, tmp_path / "model.bin")


@pytest.mark.parametrize("text,problem", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "not a TF.js model"),
    ('{"format": "layers-model", "modelTopology": {}}', "layers-model"),
    ('{"modelTopology": {"node": []}}', "weightsManifest"),
    ('{"weightsManifest": []}', "modelTopology"),
])
def test_wrong_json(tmp_path, text, problem):
    path = tmp_path / "model.json"
    path.write_text(text)
    with pytest.raises(InputError) as e:
        load_tfjs_graph(path)
    assert problem in one_line(e, path)


def test_unknown_op_named_before_any_weight_is_read(tmp_path):
    m = Model([1, 4, 4, 3])
    a = m.add("a", "Softplus", ["input"])
    b = m.add("b", "Erf", [a])
    path = m.write(tmp_path, [m.add("c", "Relu", [b])])
    (tmp_path / "model.bin").unlink()  # the operator check comes first
    with pytest.raises(UnsupportedOpError) as e:
        load_tfjs_graph(path)
    msg = one_line(e, path)
    assert "Erf" in msg and "Softplus" in msg


def test_unsupported_fused_activation(tmp_path):
    m = Model([1, 4, 4, 3])
    w, b = m.const("w", np.ones((1, 1, 3, 2))), m.const("b", np.zeros(2))
    path = m.write(tmp_path, [m.add("c", "_FusedConv2D", ["input", w, b, "b"],
                                    padding=s_("SAME"), fused_ops=strs("BiasAdd", "Prelu"))])
    with pytest.raises(UnsupportedOpError) as e:
        load_tfjs_graph(path)
    assert "Prelu" in one_line(e, path)


def test_const_without_weight_and_dangling_input(tmp_path):
    m = Model([1, 4, 4, 3])
    m.nodes.append(node("ghost", "Const"))
    path = m.write(tmp_path, [m.add("r", "AddV2", ["input", "ghost"])])
    with pytest.raises(InputError) as e:
        load_tfjs_graph(path)
    assert "ghost" in one_line(e, path)
    m2 = Model([1, 4, 4, 3])
    path2 = m2.write(tmp_path, [m2.add("r", "Relu", ["elsewhere"])], name="m2")
    with pytest.raises(InputError) as e:
        load_tfjs_graph(path2)
    assert "elsewhere" in one_line(e, path2)


def test_uint8_int32_weights_round_half_up(tmp_path):
    """TF.js rounds dequantized int32 weights with Math.round (half up)."""
    m = Model([1, 2, 2, 1])
    spec = {"name": "k", "shape": [2], "dtype": "int32",
            "quantization": {"dtype": "uint8", "scale": 0.5, "min": 0.0}}
    m.weights.append((spec, bytes([5, 7])))  # 2.5 -> 3, 3.5 -> 4
    m.nodes.append(node("k", "Const"))
    path = m.write(tmp_path, ["k"])
    graph = load_tfjs_graph(path)
    assert getattr(graph, graph._const_names["k"]).tolist() == [3, 4]
    assert math.isclose(float(graph(torch.zeros(1, 2, 2, 1))[0][0, 0]), 3.0)
