"""The TensorFlow operators of the TF.js port, as PyTorch modules: values that remember their
layout (NHWC, or NCHW for feature maps), element-wise, shape and pooling operators, and
convolutions whose kernels and biases are real parameters (see
:mod:`infantpose.models.tfjs_graph` for the layout and padding rules).

Split out of ``models/tfjs_graph.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from infantpose.errors import InputError
from infantpose.models.tflite_ops import _legacy_resize, _same_pad
from infantpose.models.tfjs_files import GraphNode

__all__ = ["SUPPORTED_OPS", "UnsupportedOpError"]


class UnsupportedOpError(InputError):
    """The graph uses an operator (or an operator setting) the port does not implement."""



# --- values and layout ----------------------------------------------------------------------------

@dataclass
class _V:
    """A value flowing through the graph: ``nchw`` marks a 4-D NHWC tensor kept as NCHW."""

    t: torch.Tensor
    nchw: bool = False

    @property
    def rank(self) -> int:
        return self.t.ndim

    def nhwc(self) -> torch.Tensor:
        return self.t.permute(0, 2, 3, 1) if self.nchw else self.t

    def as_nchw(self) -> torch.Tensor:
        if self.nchw:
            return self.t
        t = self.t
        if t.ndim > 4:
            raise ValueError("a tensor of rank > 4 cannot meet an NCHW feature map")
        t = t.reshape((1,) * (4 - t.ndim) + tuple(t.shape))
        return t.permute(0, 3, 1, 2)


_ACTS = {"Relu": F.relu, "Relu6": F.relu6, "Elu": F.elu, "Sigmoid": torch.sigmoid}


def _binary(kind: str, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if kind in ("AddV2", "Add", "BiasAdd"):
        return a + b
    if kind == "Sub":
        return a - b
    if kind == "Mul":
        return a * b
    if kind == "RealDiv":
        return a / b
    if kind == "FloorDiv":
        return torch.div(a, b, rounding_mode="floor")
    if kind == "SquaredDifference":
        return (a - b) * (a - b)
    if kind == "Maximum":
        return torch.maximum(a, b)
    return torch.minimum(a, b)  # Minimum


def _unary(kind: str, a: torch.Tensor) -> torch.Tensor:
    if kind in _ACTS:
        return _ACTS[kind](a)
    if kind == "Sqrt":
        return torch.sqrt(a)
    if kind == "Tanh":
        return torch.tanh(a)
    return a  # Identity


_BINARY = {"AddV2", "Add", "BiasAdd", "Sub", "Mul", "RealDiv", "FloorDiv", "SquaredDifference",
           "Maximum", "Minimum"}
_UNARY = {"Identity", "Relu", "Relu6", "Elu", "Sigmoid", "Sqrt", "Tanh"}
_CONV = {"Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "FusedDepthwiseConv2dNative"}
_SHAPE = {"Cast", "Unpack", "Pack", "ExpandDims", "Squeeze", "Reshape", "ArgMax", "GatherNd",
          "ConcatV2", "ResizeBilinear", "MaxPool", "AvgPool"}
#: Operators the port runs (besides ``Const``, ``Placeholder`` and ``NoOp``).
SUPPORTED_OPS = frozenset(_BINARY | _UNARY | _CONV | _SHAPE)
#: Inputs that must be constants, baked into the operator when the graph is loaded.
_STATIC_INPUTS = {"Reshape": (1,), "ExpandDims": (1,), "ArgMax": (1,), "ResizeBilinear": (1,)}


def _runtime_inputs(node: GraphNode) -> tuple[tuple[str, int], ...]:
    """The inputs a node reads when the graph runs (the others are baked in at load time)."""
    if node.op in _CONV:
        return node.inputs[:1]
    if node.op == "ConcatV2":
        return node.inputs[:-1]
    skip = _STATIC_INPUTS.get(node.op, ())
    return tuple(r for i, r in enumerate(node.inputs) if i not in skip)


def _i32(values: Iterable[Any]) -> list[int]:
    return [int(v) for v in values]


class _Op(nn.Module):
    """One graph node without weights; ``static`` holds its constant settings."""

    def __init__(self, node: GraphNode, static: dict[str, Any]):
        super().__init__()
        self.kind = node.op
        self.node_name = node.name
        self.inputs = _runtime_inputs(node)
        self.static = static

    def extra_repr(self) -> str:
        return f"{self.kind} {self.node_name}"

    def forward(self, *xs: _V) -> list[_V]:  # noqa: C901 - one dispatch over operator kinds
        k, s = self.kind, self.static
        if k in _UNARY:
            return [_V(_unary(k, xs[0].t), xs[0].nchw)]
        if k in _BINARY:
            if any(x.nchw for x in xs) and all(x.rank <= 4 for x in xs):
                return [_V(_binary(k, xs[0].as_nchw(), xs[1].as_nchw()), True)]
            return [_V(_binary(k, xs[0].nhwc(), xs[1].nhwc()))]
        if k == "Cast":
            return [_V(xs[0].t.to(s["dtype"]), xs[0].nchw)]
        if k == "ResizeBilinear":
            x = xs[0].as_nchw()
            oh, ow = s["size"]
            if s["align_corners"]:
                y = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=True)
            elif s["half_pixel"]:
                y = F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False)
            else:
                y = _legacy_resize(x, oh, ow)
            return [_V(y, True)]
        if k in ("MaxPool", "AvgPool"):
            return [_V(_pool(xs[0].as_nchw(), k, s), True)]
        ts = [x.nhwc() for x in xs]
        if k == "Reshape":
            return [_V(ts[0].reshape(s["shape"]))]
        if k == "ExpandDims":
            return [_V(ts[0].unsqueeze(s["dim"]))]
        if k == "Squeeze":
            dims = s["dims"]
            return [_V(ts[0].squeeze(tuple(dims)) if dims else ts[0].squeeze())]
        if k == "Unpack":
            if ts[0].shape[s["axis"]] != s["num"]:
                raise ValueError(f"{self.node_name}: Unpack of {s['num']} along axis "
                                 f"{s['axis']} got shape {tuple(ts[0].shape)}")
            return [_V(t) for t in torch.unbind(ts[0], s["axis"])]
        if k == "Pack":
            return [_V(torch.stack(ts, s["axis"]))]
        if k == "ConcatV2":
            return [_V(torch.cat(ts, s["axis"]))]
        if k == "ArgMax":
            return [_V(torch.argmax(ts[0], s["dim"]).to(s["dtype"]))]
        if k == "GatherNd":
            params, idx = ts[0], ts[1].long()
            return [_V(params[tuple(idx[..., i] for i in range(idx.shape[-1]))])]
        raise UnsupportedOpError(None, f"operator {k} is not supported")


def _pool(x: torch.Tensor, kind: str, s: dict[str, Any]) -> torch.Tensor:
    (kh, kw), (sh, sw) = s["ksize"], s["strides"]
    if s["padding"] == "SAME":
        t, b = _same_pad(x.shape[2], kh, sh, 1)
        left, right = _same_pad(x.shape[3], kw, sw, 1)
        if kind == "MaxPool":
            x = F.pad(x, (left, right, t, b), value=-math.inf)
        else:  # TF averages over the pixels inside the image only
            ones = F.pad(torch.ones_like(x[:, :1]), (left, right, t, b))
            x = F.pad(x, (left, right, t, b))
            return F.avg_pool2d(x, (kh, kw), (sh, sw)) / F.avg_pool2d(ones, (kh, kw), (sh, sw))
    if kind == "MaxPool":
        return F.max_pool2d(x, (kh, kw), (sh, sw))
    return F.avg_pool2d(x, (kh, kw), (sh, sw))


class _ConvOp(_Op):
    """Conv2D / DepthwiseConv2dNative, optionally fused with BiasAdd and an activation."""

    def __init__(self, node: GraphNode, weight: nn.Parameter, bias: nn.Parameter | None,
                 static: dict[str, Any]):
        super().__init__(node, static)
        self.weight = weight
        self.bias = bias

    def forward(self, *xs: _V) -> list[_V]:
        s = self.static
        x = xs[0].as_nchw()
        kh, kw = self.weight.shape[-2:]
        (sh, sw), (dh, dw) = s["strides"], s["dilations"]
        if s["padding"] == "SAME":
            t, b = _same_pad(x.shape[2], kh, sh, dh)
            left, right = _same_pad(x.shape[3], kw, sw, dw)
        elif s["padding"] == "EXPLICIT":
            t, b, left, right = s["explicit"]
        else:
            t = b = left = right = 0
        if t or b or left or right:
            x = F.pad(x, (left, right, t, b))
        groups = x.shape[1] if s["depthwise"] else 1
        y = F.conv2d(x, self.weight, self.bias, (sh, sw), 0, (dh, dw), groups)
        act = s["act"]
        if act == "LeakyRelu":
            y = F.leaky_relu(y, s["alpha"])
        elif act is not None:
            y = _ACTS[act](y)
        return [_V(y, True)]


def _hw(values: Sequence[int], what: str, node: GraphNode, path: Path) -> tuple[int, int]:
    v = list(values or [1, 1, 1, 1])
    if len(v) != 4 or v[0] != 1 or v[3] != 1:
        raise UnsupportedOpError(path, f"node {node.name}: {node.op} {what} {v} (only NHWC "
                                       "spatial values are supported)")
    return int(v[1]), int(v[2])


def _conv_static(node: GraphNode, path: Path) -> dict[str, Any]:
    a = node.attr
    if a.get("data_format", "NHWC") != "NHWC":
        raise UnsupportedOpError(path, f"node {node.name}: data_format {a['data_format']}")
    pad = a.get("padding", "VALID")
    if pad not in ("SAME", "VALID", "EXPLICIT"):
        raise UnsupportedOpError(path, f"node {node.name}: padding {pad}")
    explicit = None
    if pad == "EXPLICIT":
        e = _i32(a.get("explicit_paddings", []))
        if len(e) != 8 or any(e[:2]) or any(e[6:]):
            raise UnsupportedOpError(path, f"node {node.name}: explicit_paddings {e}")
        explicit = (e[2], e[3], e[4], e[5])
    fused = list(a.get("fused_ops", []))
    act = None
    if node.op in ("_FusedConv2D", "FusedDepthwiseConv2dNative"):
        if not fused or fused[0] != "BiasAdd" or len(fused) > 2 or (
                len(fused) == 2 and fused[1] not in (*_ACTS, "LeakyRelu")):
            raise UnsupportedOpError(path, f"node {node.name}: fused_ops {fused} (supported: "
                                           "BiasAdd, then optionally Relu, Relu6, Elu, "
                                           "LeakyRelu or Sigmoid)")
        act = fused[1] if len(fused) == 2 else None
    return {"strides": _hw(a.get("strides"), "strides", node, path),
            "dilations": _hw(a.get("dilations"), "dilations", node, path),
            "padding": pad, "explicit": explicit, "act": act,
            "alpha": float(a.get("leakyrelu_alpha", 0.2)),
            "depthwise": "Depthwise" in node.op}
