"""Port a TFLite flatbuffer to a trainable ``torch.nn.Module``.

Why: the only adult-pretrained pose network we can ship offline is BlazePose, whose weights come
as TFLite files inside the ``mediapipe`` wheel. TFLite models cannot be fine-tuned; this module
reads the flatbuffer with the ``tflite`` package and rebuilds the same computation from PyTorch
operators, with every weight as a real ``nn.Parameter`` (fp16 weights are dequantized to fp32), so
the network can be fine-tuned on infant images. The same code ports the wheel's
``pose_landmark_full`` and the larger ``pose_landmark_heavy`` (see :data:`LANDMARK_MODELS`).

Layout: TFLite tensors are NHWC; the port runs NCHW internally (what PyTorch convolutions want)
and converts only at the graph boundary and around RESHAPE / CONCATENATION axes. Padding follows
TFLite exactly (SAME padding puts the odd extra pixel after, not before), and RESIZE_BILINEAR
honours ``align_corners`` and ``half_pixel_centers`` (including TF's legacy mode with neither).

Supported operators: CONV_2D, DEPTHWISE_CONV_2D (with fused activations and dilation), ADD, MUL,
PAD (zeros, on height/width and on the channel axis), MAX_POOL_2D, AVERAGE_POOL_2D,
RESIZE_BILINEAR, RESHAPE, CONCATENATION, LOGISTIC, RELU, RELU6, TANH and DEQUANTIZE (constant-folded at load time). Anything else raises
:class:`UnsupportedOperatorError` naming the operator(s), before any computation.

Parameters are named after the operator's position in the TFLite graph (``ops.op233.weight``), so
a pruned graph (e.g. only the heatmap branch) shares names with the full one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from infantpose.errors import InputError

__all__ = [
    "TFLiteGraph",
    "TensorInfo",
    "UnsupportedOperatorError",
    "HEAVY_STORE_NAME",
    "LANDMARK_MODELS",
    "landmark_model_path",
    "landmark_variant",
    "load_tflite",
    "mediapipe_model_path",
    "stored_model_file",
]


class UnsupportedOperatorError(InputError):
    """The flatbuffer uses an operator the port does not implement."""


#: The BlazePose landmark networks the port can start from (``landmark_model`` in the Python API,
#: ``--landmark-model`` on the command line): ``full`` ships in the mediapipe wheel; ``heavy``
#: (``pose_landmark_heavy.tflite``, about 4× the parameters, from the npm package
#: ``@mediapipe/pose``) is found through infantpose's model store.
LANDMARK_MODELS = ("full", "heavy")

#: The model store's name for the heavy landmark network.
HEAVY_STORE_NAME = "blazepose-heavy"


def stored_model_file(name: str) -> Path:
    """Path of a model file kept outside the mediapipe wheel, e.g. ``"blazepose-heavy"``.

    The only call into :mod:`infantpose.models.store` (``model_file``), kept in one small
    function so that tests and experiments can monkeypatch it. InputError (one line) when the
    store is absent or cannot give the file.
    """
    try:
        from infantpose.models.store import model_file
    except ModuleNotFoundError as e:
        if e.name not in ("infantpose.models.store", "infantpose.models"):
            raise
        raise InputError(None, f"model {name!r} is not installed (this infantpose has no model "
                               "store to find it in)") from None
    try:
        return Path(model_file(name))
    except InputError:
        raise
    except (OSError, LookupError, ValueError) as e:
        raise InputError(None, f"model {name!r} is not installed ({' '.join(str(e).split())})"
                         ) from None


def landmark_model_path(landmark_model: str = "full") -> Path:
    """The ``.tflite`` file of a BlazePose landmark network named in :data:`LANDMARK_MODELS`.

    InputError (one line) for an unknown name or a file that is not there.
    """
    if landmark_model not in LANDMARK_MODELS:
        raise InputError(None, f"unknown landmark model {landmark_model!r}; choose "
                               f"{' or '.join(LANDMARK_MODELS)}")
    if landmark_model == "full":
        return mediapipe_model_path("pose_landmark_full")
    path = stored_model_file(HEAVY_STORE_NAME)
    if not path.is_file():
        raise InputError(path, "BlazePose heavy landmark model not found (pose_landmark_heavy."
                               "tflite from the npm package @mediapipe/pose)")
    return path


def landmark_variant(landmark_model: str) -> str:
    """The variant name a model records for a landmark network: ``"heavy"`` (or
    ``"pose_landmark_heavy"``) → ``"pose_landmark_heavy"``; likewise ``full``. InputError (one
    line) for any other name."""
    short = landmark_model[len("pose_landmark_"):] if isinstance(landmark_model, str) and \
        landmark_model.startswith("pose_landmark_") else landmark_model
    if short not in LANDMARK_MODELS:
        raise InputError(None, f"unknown landmark model {landmark_model!r}; choose "
                               f"{' or '.join(LANDMARK_MODELS)}")
    return f"pose_landmark_{short}"


def mediapipe_model_path(name: str = "pose_landmark_full") -> Path:
    """Path of a BlazePose ``.tflite`` file: shipped in the installed ``mediapipe`` wheel, or, for
    ``pose_landmark_heavy`` (which the wheel does not ship), found by :func:`landmark_model_path`.

    ``name``: ``pose_landmark_full``, ``pose_landmark_lite`` (if present),
    ``pose_landmark_heavy`` or ``pose_detection``.
    """
    import importlib.util

    spec = importlib.util.find_spec("mediapipe")
    root = (Path(next(iter(spec.submodule_search_locations))) / "modules"
            if spec is not None and spec.submodule_search_locations else None)
    sub = "pose_detection" if name == "pose_detection" else "pose_landmark"
    if name == "pose_landmark_heavy" and (root is None
                                          or not (root / sub / f"{name}.tflite").is_file()):
        return landmark_model_path("heavy")
    if root is None:
        raise InputError(None, "mediapipe is not installed; it ships the BlazePose weights")
    path = root / sub / f"{name}.tflite"
    if not path.is_file():
        raise InputError(path, "BlazePose weights not found in the mediapipe wheel")
    return path


@dataclass(frozen=True)
class TensorInfo:
    """Name and NHWC shape of a graph tensor as TFLite declares it."""

    index: int
    name: str
    shape: tuple[int, ...]


# --- small helpers --------------------------------------------------------------------------------

def _apply_act(x: torch.Tensor, act: int) -> torch.Tensor:
    # tflite.ActivationFunctionType: NONE=0, RELU=1, RELU_N1_TO_1=2, RELU6=3, TANH=4
    if act == 0:
        return x
    if act == 1:
        return F.relu(x)
    if act == 2:
        return x.clamp(-1.0, 1.0)
    if act == 3:
        return F.relu6(x)
    if act == 4:
        return torch.tanh(x)
    raise ValueError(f"unsupported fused activation {act}")


def _same_pad(size: int, k: int, stride: int, dilation: int) -> tuple[int, int]:
    """TFLite SAME padding: output = ceil(in/stride); the odd extra pixel goes after."""
    out = math.ceil(size / stride)
    eff = (k - 1) * dilation + 1
    total = max((out - 1) * stride + eff - size, 0)
    return total // 2, total - total // 2


def _to_nchw(a: np.ndarray) -> np.ndarray:
    return np.transpose(a, (0, 3, 1, 2)) if a.ndim == 4 else a


# NHWC axis -> NCHW axis for 4-D tensors
_AXIS_4D = {0: 0, 1: 2, 2: 3, 3: 1}


# --- operator modules -----------------------------------------------------------------------------

class _Op(nn.Module):
    """One TFLite operator: ``inputs`` are graph tensor ids of its non-constant inputs."""

    kind = ""

    def __init__(self, inputs: Sequence[int], outputs: Sequence[int]):
        super().__init__()
        self.inputs = list(inputs)
        self.outputs = list(outputs)

    def extra_repr(self) -> str:
        return f"{self.kind} in={self.inputs} out={self.outputs}"


class ConvOp(_Op):
    """CONV_2D / DEPTHWISE_CONV_2D with TFLite padding and fused activation."""

    def __init__(self, inputs, outputs, weight: np.ndarray, bias: np.ndarray | None, stride: int,
                 dilation: int, padding: int, act: int, depthwise: bool):
        super().__init__(inputs, outputs)
        self.kind = "DEPTHWISE_CONV_2D" if depthwise else "CONV_2D"
        if depthwise:  # TFLite [1, kh, kw, C*mult] -> torch [C*mult, 1, kh, kw]
            w = np.transpose(weight, (3, 0, 1, 2))
        else:  # TFLite [O, kh, kw, I] -> torch [O, I, kh, kw]
            w = np.transpose(weight, (0, 3, 1, 2))
        w = np.ascontiguousarray(w, dtype=np.float32)
        if not w.flags.writeable:  # float32 weights alias the read-only file buffer: copy
            w = w.copy()
        self.weight = nn.Parameter(torch.from_numpy(w))
        self.bias = (nn.Parameter(torch.from_numpy(bias.astype(np.float32)))
                     if bias is not None else None)
        self.stride, self.dilation, self.padding, self.act = stride, dilation, padding, act
        self.depthwise = depthwise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kh, kw = self.weight.shape[-2:]
        groups = x.shape[1] if self.depthwise else 1
        if self.padding == 0:  # SAME
            t, b = _same_pad(x.shape[2], kh, self.stride, self.dilation)
            left, right = _same_pad(x.shape[3], kw, self.stride, self.dilation)
            if t == b and left == right:
                pad: tuple[int, int] | int = (t, left)
            else:
                x = F.pad(x, (left, right, t, b))
                pad = 0
        else:
            pad = 0
        y = F.conv2d(x, self.weight, self.bias, self.stride, pad, self.dilation, groups)
        return _apply_act(y, self.act)


class AddOp(_Op):
    kind = "ADD"

    def __init__(self, inputs, outputs, act: int, const: torch.Tensor | None = None):
        super().__init__(inputs, outputs)
        self.act = act
        self.register_buffer("const", const, persistent=False)

    def forward(self, a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        return _apply_act(a + (self.const if b is None else b), self.act)


class MulOp(AddOp):
    kind = "MUL"

    def forward(self, a: torch.Tensor, b: torch.Tensor | None = None) -> torch.Tensor:
        return _apply_act(a * (self.const if b is None else b), self.act)


class PadOp(_Op):
    """PAD with zeros. On 4-D tensors it pads height/width (before convolutions with VALID
    padding) and, in BlazePose heavy, the channel axis: a residual shortcut that grows the
    channel count (48 → 96, 96 → 192, 192 → 288) appends zero channels to the block input, the
    parameter-free shortcut of ResNet's "option A". Padding the batch axis has no meaning for a
    pose network and is refused."""

    kind = "PAD"

    def __init__(self, inputs, outputs, paddings: np.ndarray):
        super().__init__(inputs, outputs)
        p = np.asarray(paddings, dtype=int).reshape(-1, 2)
        if p.shape[0] == 4:
            if p[0].any():
                raise UnsupportedOperatorError(None, "PAD on the batch axis is not supported")
            # F.pad lists the last NCHW axis first: (W before, W after, H ..., C ...); the
            # channel pair is left out when it is zero so that spatial-only PADs stay as before
            self.pad = (int(p[2, 0]), int(p[2, 1]), int(p[1, 0]), int(p[1, 1]))
            if p[3].any():
                self.pad += (int(p[3, 0]), int(p[3, 1]))
        else:
            self.pad = tuple(int(v) for row in p[::-1] for v in row)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pad)


class PoolOp(_Op):
    def __init__(self, inputs, outputs, kind: str, fh: int, fw: int, sh: int, sw: int,
                 padding: int, act: int):
        super().__init__(inputs, outputs)
        self.kind = kind
        self.k, self.s, self.padding, self.act = (fh, fw), (sh, sw), padding, act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == 0:
            t, b = _same_pad(x.shape[2], self.k[0], self.s[0], 1)
            left, right = _same_pad(x.shape[3], self.k[1], self.s[1], 1)
            if t or b or left or right:
                if self.kind == "MAX_POOL_2D":
                    x = F.pad(x, (left, right, t, b), value=-math.inf)
                else:  # TFLite averages over the valid (unpadded) pixels only
                    ones = F.pad(torch.ones_like(x[:, :1]), (left, right, t, b))
                    x = F.pad(x, (left, right, t, b))
                    return _apply_act(F.avg_pool2d(x, self.k, self.s)
                                      / F.avg_pool2d(ones, self.k, self.s), self.act)
        if self.kind == "MAX_POOL_2D":
            y = F.max_pool2d(x, self.k, self.s)
        else:
            y = F.avg_pool2d(x, self.k, self.s)
        return _apply_act(y, self.act)


class ResizeBilinearOp(_Op):
    """RESIZE_BILINEAR; output size scales with the input (ratio fixed by the graph)."""

    kind = "RESIZE_BILINEAR"

    def __init__(self, inputs, outputs, in_hw: tuple[int, int], out_hw: tuple[int, int],
                 align_corners: bool, half_pixel: bool):
        super().__init__(inputs, outputs)
        self.ratio = (out_hw[0] / in_hw[0], out_hw[1] / in_hw[1])
        self.align_corners, self.half_pixel = bool(align_corners), bool(half_pixel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[2], x.shape[3]
        oh, ow = round(h * self.ratio[0]), round(w * self.ratio[1])
        if self.align_corners:
            return F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=True)
        if self.half_pixel:  # same as PyTorch's align_corners=False
            return F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False)
        return _legacy_resize(x, oh, ow)


def _legacy_resize(x: torch.Tensor, oh: int, ow: int) -> torch.Tensor:
    """TF's legacy bilinear resize: source = dst * in/out, no half-pixel offset, clamped."""
    h, w = x.shape[2], x.shape[3]

    def axis(n_in: int, n_out: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        src = torch.arange(n_out, dtype=x.dtype, device=x.device) * (n_in / n_out)
        lo = src.floor().clamp(max=n_in - 1)
        hi = (lo + 1).clamp(max=n_in - 1)
        return lo.long(), hi.long(), src - lo

    y0, y1, fy = axis(h, oh)
    x0, x1, fx = axis(w, ow)
    top = x[:, :, y0] * (1 - fy)[:, None] + x[:, :, y1] * fy[:, None]
    return top[..., x0] * (1 - fx) + top[..., x1] * fx


class ReshapeOp(_Op):
    kind = "RESHAPE"

    def __init__(self, inputs, outputs, in_rank: int, shape: Sequence[int]):
        super().__init__(inputs, outputs)
        self.in_rank = in_rank
        self.shape = [int(s) for s in shape]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim == 4:
            x = x.permute(0, 2, 3, 1)
        y = x.reshape([x.shape[0], *self.shape[1:]])
        if y.ndim == 4:
            y = y.permute(0, 3, 1, 2)
        return y


class ConcatOp(_Op):
    kind = "CONCATENATION"

    def __init__(self, inputs, outputs, axis: int, rank: int, act: int):
        super().__init__(inputs, outputs)
        axis = axis % rank
        self.axis = _AXIS_4D[axis] if rank == 4 else axis
        self.act = act

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return _apply_act(torch.cat(xs, dim=self.axis), self.act)


class UnaryOp(_Op):
    def __init__(self, inputs, outputs, kind: str):
        super().__init__(inputs, outputs)
        self.kind = kind

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "LOGISTIC":
            return torch.sigmoid(x)
        if self.kind == "RELU":
            return F.relu(x)
        if self.kind == "RELU6":
            return F.relu6(x)
        return torch.tanh(x)


# --- the graph ------------------------------------------------------------------------------------

class TFLiteGraph(nn.Module):
    """A TFLite subgraph as a PyTorch module.

    ``forward(x)`` takes the graph input as an NCHW float tensor (batch of any size; for the
    BlazePose landmark model: (B, 3, 256, 256) RGB in [0, 1]) and returns the requested outputs in
    graph order: 4-D tensors as NCHW, others in TFLite's layout. ``forward_nhwc`` returns the
    TFLite layout throughout, for comparison with the TFLite interpreter.
    """

    def __init__(self, ops: dict[str, _Op], input_id: int, output_ids: Sequence[int],
                 tensors: dict[int, TensorInfo], source: str = ""):
        super().__init__()
        self.ops = nn.ModuleDict(ops)
        self.input_id = input_id
        self.output_ids = list(output_ids)
        self.tensors = tensors
        self.source = source

    @property
    def output_names(self) -> list[str]:
        return [self.tensors[i].name for i in self.output_ids]

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        env: dict[int, torch.Tensor] = {self.input_id: x}
        for op in self.ops.values():
            y = op(*[env[i] for i in op.inputs])
            env[op.outputs[0]] = y
        return [env[i] for i in self.output_ids]

    def forward_tensor(self, x: torch.Tensor, tensor_ids: Sequence[int]) -> list[torch.Tensor]:
        """Outputs of arbitrary intermediate tensors (NCHW for 4-D)."""
        env: dict[int, torch.Tensor] = {self.input_id: x}
        for op in self.ops.values():
            env[op.outputs[0]] = op(*[env[i] for i in op.inputs])
        return [env[i] for i in tensor_ids]

    @torch.no_grad()
    def forward_nhwc(self, x_nhwc: np.ndarray | torch.Tensor) -> list[np.ndarray]:
        """Run on an NHWC array and return every output in TFLite's own layout (numpy)."""
        x = torch.as_tensor(np.asarray(x_nhwc, dtype=np.float32)).permute(0, 3, 1, 2)
        outs = self.forward(x.contiguous())
        return [(o.permute(0, 2, 3, 1) if o.ndim == 4 else o).cpu().numpy() for o in outs]

    def pruned(self, output_ids: Sequence[int]) -> TFLiteGraph:
        """A graph that computes only ``output_ids`` (shares the parameters of this one)."""
        need = set(output_ids)
        keep: list[str] = []
        for name, op in reversed(list(self.ops.items())):
            if any(o in need for o in op.outputs):
                keep.append(name)
                need.update(op.inputs)
        ops = {n: self.ops[n] for n in reversed(keep)}
        return TFLiteGraph(ops, self.input_id, output_ids, self.tensors, self.source)

    def tensor_id(self, name: str) -> int:
        for i, t in self.tensors.items():
            if t.name == name:
                return i
        raise KeyError(f"no tensor named {name!r} in {self.source}")


_SUPPORTED = {"CONV_2D", "DEPTHWISE_CONV_2D", "ADD", "MUL", "PAD", "MAX_POOL_2D",
              "AVERAGE_POOL_2D", "RESIZE_BILINEAR", "RESHAPE", "CONCATENATION", "LOGISTIC",
              "RELU", "RELU6", "TANH", "DEQUANTIZE"}


def load_tflite(path: str | os.PathLike, subgraph: int = 0) -> TFLiteGraph:
    """Read a ``.tflite`` file and build the equivalent :class:`TFLiteGraph`.

    Raises :class:`InputError` for a missing or unparsable file and
    :class:`UnsupportedOperatorError` (naming the operators) for operators the port lacks.
    """
    import tflite

    p = Path(path)
    try:
        buf = p.read_bytes()
    except OSError as e:
        raise InputError(p, f"cannot read TFLite model ({e.strerror or e})") from None
    try:
        model = tflite.Model.GetRootAsModel(buf, 0)
        g = model.Subgraphs(subgraph)
        n_ops = g.OperatorsLength()
    except Exception as e:  # noqa: BLE001 - flatbuffers raises assorted errors on garbage
        raise InputError(p, f"not a valid TFLite flatbuffer ({e})") from None
    if g is None:
        raise InputError(p, "TFLite model has no subgraph")
    op_names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}

    def opcode_name(i: int) -> str:
        c = model.OperatorCodes(i)
        code = max(c.BuiltinCode(), c.DeprecatedBuiltinCode())
        if code == tflite.BuiltinOperator.CUSTOM:
            return f"CUSTOM:{(c.CustomCode() or b'').decode()}"
        return op_names.get(code, f"builtin#{code}")

    kinds = [opcode_name(g.Operators(i).OpcodeIndex()) for i in range(n_ops)]
    unknown = sorted(set(kinds) - _SUPPORTED)
    if unknown:
        raise UnsupportedOperatorError(
            p, f"unsupported TFLite operator(s): {', '.join(unknown)} "
               f"(supported: {', '.join(sorted(_SUPPORTED))})")

    tensors: dict[int, TensorInfo] = {}
    for t in range(g.TensorsLength()):
        tt = g.Tensors(t)
        tensors[t] = TensorInfo(t, tt.Name().decode(), tuple(int(s) for s in tt.ShapeAsNumpy())
                                if tt.ShapeLength() else ())

    dtypes = {tflite.TensorType.FLOAT32: np.float32, tflite.TensorType.FLOAT16: np.float16,
              tflite.TensorType.INT32: np.int32, tflite.TensorType.INT64: np.int64}
    consts: dict[int, np.ndarray] = {}

    def raw_const(t: int) -> np.ndarray | None:
        tt = g.Tensors(t)
        b = model.Buffers(tt.Buffer())
        data = None
        if b is not None and b.DataLength() > 0:
            data = b.DataAsNumpy().tobytes()
        elif b is not None and b.Offset() > 1:
            data = buf[b.Offset(): b.Offset() + b.Size()]
        if data is None:
            return None
        if tt.Type() not in dtypes:
            raise UnsupportedOperatorError(p, f"tensor {tensors[t].name}: quantized/unsupported "
                                              f"type {tt.Type()} (only float models are ported)")
        return np.frombuffer(data, dtype=dtypes[tt.Type()]).reshape(tensors[t].shape)

    for t in range(g.TensorsLength()):
        a = raw_const(t)
        if a is not None:
            consts[t] = a

    def const(t: int) -> np.ndarray:
        if t not in consts:
            raise InputError(p, f"expected constant tensor {tensors[t].name}")
        return consts[t]

    ops: dict[str, _Op] = {}
    for i in range(n_ops):
        op = g.Operators(i)
        kind = kinds[i]
        ins = [int(v) for v in op.InputsAsNumpy()] if op.InputsLength() else []
        outs = [int(v) for v in op.OutputsAsNumpy()]
        opts = op.BuiltinOptions()

        def options(cls, opts=opts):
            o = cls()
            if opts is not None:
                o.Init(opts.Bytes, opts.Pos)
            return o

        if kind == "DEQUANTIZE":
            if ins[0] in consts:  # fold fp16 weights to fp32 constants
                consts[outs[0]] = consts[ins[0]].astype(np.float32)
                continue
            raise UnsupportedOperatorError(p, "DEQUANTIZE of a non-constant tensor")
        name = f"op{i}"
        dyn = [t for t in ins if t >= 0 and t not in consts]
        if kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            dw = kind == "DEPTHWISE_CONV_2D"
            o = options(tflite.DepthwiseConv2DOptions if dw else tflite.Conv2DOptions)
            if o.StrideH() != o.StrideW() or o.DilationHFactor() != o.DilationWFactor():
                raise UnsupportedOperatorError(p, f"{kind} with unequal strides/dilations")
            bias = consts[ins[2]] if len(ins) > 2 and ins[2] >= 0 else None
            ops[name] = ConvOp([ins[0]], outs, const(ins[1]), bias, o.StrideH(),
                               o.DilationHFactor(), o.Padding(), o.FusedActivationFunction(), dw)
        elif kind in ("ADD", "MUL"):
            o = options(tflite.AddOptions if kind == "ADD" else tflite.MulOptions)
            c = [t for t in ins if t in consts]
            cten = torch.from_numpy(_to_nchw(consts[c[0]].astype(np.float32))) if c else None
            cls = AddOp if kind == "ADD" else MulOp
            ops[name] = cls(dyn, outs, o.FusedActivationFunction(), cten)
        elif kind == "PAD":
            ops[name] = PadOp([ins[0]], outs, const(ins[1]))
        elif kind in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
            o = options(tflite.Pool2DOptions)
            ops[name] = PoolOp([ins[0]], outs, kind, o.FilterHeight(), o.FilterWidth(),
                               o.StrideH(), o.StrideW(), o.Padding(), o.FusedActivationFunction())
        elif kind == "RESIZE_BILINEAR":
            o = options(tflite.ResizeBilinearOptions)
            ish, osh = tensors[ins[0]].shape, tensors[outs[0]].shape
            ops[name] = ResizeBilinearOp([ins[0]], outs, (ish[1], ish[2]), (osh[1], osh[2]),
                                         o.AlignCorners(), o.HalfPixelCenters())
        elif kind == "RESHAPE":
            shape = tensors[outs[0]].shape
            ops[name] = ReshapeOp([ins[0]], outs, len(tensors[ins[0]].shape), shape)
        elif kind == "CONCATENATION":
            o = options(tflite.ConcatenationOptions)
            ops[name] = ConcatOp(dyn, outs, o.Axis(), len(tensors[outs[0]].shape),
                                 o.FusedActivationFunction())
        else:  # LOGISTIC, RELU, RELU6, TANH
            ops[name] = UnaryOp([ins[0]], outs, kind)

    inputs = [int(v) for v in g.InputsAsNumpy()]
    if len(inputs) != 1:
        raise InputError(p, f"expected a single-input model, got {len(inputs)} inputs")
    outputs = [int(v) for v in g.OutputsAsNumpy()]
    return TFLiteGraph(ops, inputs[0], outputs, tensors, str(p))
