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

import importlib.util
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from infantpose.errors import InputError
# the operator modules live in tflite_ops (re-exported here: callers and tests import them from
# this module)
from infantpose.models.tflite_ops import (_AXIS_4D, AddOp, ConcatOp, ConvOp,  # noqa: F401
                                          MulOp, PadOp, PoolOp, ReshapeOp, ResizeBilinearOp,
                                          UnaryOp, UnsupportedOperatorError, _apply_act,
                                          _legacy_resize, _Op, _same_pad, _to_nchw)

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
    try:  # looked up per call: tests and experiments swap the store module
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
    import tflite  # the flatbuffer reader costs ~0.6 s to import: only when a file is read

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
