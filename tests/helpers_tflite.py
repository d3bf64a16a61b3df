"""Write tiny float TFLite flatbuffers for unit tests of the PyTorch port.

Why: the port's operators are otherwise only checked on BlazePose files from the mediapipe wheel,
which lack some cases (BlazePose heavy's channel PAD). A graph of two or three operators written
here pins one behaviour down without any model file. Only what the tests need is supported:
float32 and int32 tensors, single subgraph, CONV_2D / ADD / PAD operators.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import flatbuffers
import numpy as np
import tflite


@dataclass
class TinyGraph:
    """A graph under construction: ``tensor`` adds a tensor, ``op`` an operator."""

    tensors: list[tuple[str, tuple[int, ...], np.ndarray | None, int]] = field(default_factory=list)
    ops: list[tuple[str, list[int], list[int], dict]] = field(default_factory=list)

    def tensor(self, name: str, shape, data: np.ndarray | None = None) -> int:
        """A tensor (a constant when ``data`` is given; int32 data for PAD's paddings)."""
        arr = None if data is None else np.ascontiguousarray(data)
        ttype = (tflite.TensorType.INT32 if arr is not None and arr.dtype == np.int32
                 else tflite.TensorType.FLOAT32)
        if arr is not None and arr.dtype not in (np.int32, np.float32):
            raise ValueError("constants must be float32 or int32")
        self.tensors.append((name, tuple(int(s) for s in shape), arr, ttype))
        return len(self.tensors) - 1

    def op(self, kind: str, inputs: list[int], outputs: list[int], **options) -> None:
        self.ops.append((kind, list(inputs), list(outputs), options))

    def to_bytes(self, inputs: list[int], outputs: list[int]) -> bytes:
        return _serialise(self, inputs, outputs)


def _int_vector(b: flatbuffers.Builder, values) -> int:
    return b.CreateNumpyVector(np.asarray(values, dtype=np.int32))


def _bytes_vector(b: flatbuffers.Builder, data: bytes) -> int:
    b.StartVector(1, len(data), 16)  # TFLite wants constant buffers 16-byte aligned
    b.head -= len(data)
    b.Bytes[b.head:b.head + len(data)] = data
    return b.EndVector()


def _options(b: flatbuffers.Builder, kind: str, o: dict) -> tuple[int, int]:
    """(BuiltinOptions union type, table offset) of an operator."""
    if kind == "CONV_2D":
        tflite.Conv2DOptionsStart(b)
        tflite.Conv2DOptionsAddPadding(b, o.get("padding", tflite.Padding.SAME))
        tflite.Conv2DOptionsAddStrideW(b, o.get("stride", 1))
        tflite.Conv2DOptionsAddStrideH(b, o.get("stride", 1))
        tflite.Conv2DOptionsAddDilationWFactor(b, 1)
        tflite.Conv2DOptionsAddDilationHFactor(b, 1)
        tflite.Conv2DOptionsAddFusedActivationFunction(b, o.get("act", 0))
        return tflite.BuiltinOptions.Conv2DOptions, tflite.Conv2DOptionsEnd(b)
    if kind == "ADD":
        tflite.AddOptionsStart(b)
        tflite.AddOptionsAddFusedActivationFunction(b, o.get("act", 0))
        return tflite.BuiltinOptions.AddOptions, tflite.AddOptionsEnd(b)
    if kind == "PAD":
        tflite.PadOptionsStart(b)
        return tflite.BuiltinOptions.PadOptions, tflite.PadOptionsEnd(b)
    raise ValueError(f"helpers_tflite does not write {kind}")


def _serialise(g: TinyGraph, inputs: list[int], outputs: list[int]) -> bytes:
    b = flatbuffers.Builder(1024)
    # buffers: 0 is the conventional empty buffer; one more per constant tensor
    buffer_of, buffers = [], []
    for _, _, data, _ in g.tensors:
        if data is None:
            buffer_of.append(0)
        else:
            buffer_of.append(len(buffers) + 1)
            buffers.append(data.tobytes())
    buf_offsets = []
    for raw in [b"", *buffers]:
        vec = _bytes_vector(b, raw) if raw else None
        tflite.BufferStart(b)
        if vec is not None:
            tflite.BufferAddData(b, vec)
        buf_offsets.append(tflite.BufferEnd(b))

    tensor_offsets = []
    for (name, shape, _, ttype), buf in zip(g.tensors, buffer_of):
        n = b.CreateString(name)
        s = _int_vector(b, shape)
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, s)
        tflite.TensorAddType(b, ttype)
        tflite.TensorAddBuffer(b, buf)
        tflite.TensorAddName(b, n)
        tensor_offsets.append(tflite.TensorEnd(b))

    kinds = list(dict.fromkeys(k for k, _, _, _ in g.ops))
    code_offsets = []
    for k in kinds:
        code = getattr(tflite.BuiltinOperator, k)
        tflite.OperatorCodeStart(b)
        tflite.OperatorCodeAddDeprecatedBuiltinCode(b, code)
        tflite.OperatorCodeAddBuiltinCode(b, code)
        tflite.OperatorCodeAddVersion(b, 1)
        code_offsets.append(tflite.OperatorCodeEnd(b))

    op_offsets = []
    for kind, ins, outs, opts in g.ops:
        iv, ov = _int_vector(b, ins), _int_vector(b, outs)
        otype, ooff = _options(b, kind, opts)
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, kinds.index(kind))
        tflite.OperatorAddInputs(b, iv)
        tflite.OperatorAddOutputs(b, ov)
        tflite.OperatorAddBuiltinOptionsType(b, otype)
        tflite.OperatorAddBuiltinOptions(b, ooff)
        op_offsets.append(tflite.OperatorEnd(b))

    def table_vector(start, offsets) -> int:
        start(b, len(offsets))
        for off in reversed(offsets):
            b.PrependUOffsetTRelative(off)
        return b.EndVector()

    tv = table_vector(tflite.SubGraphStartTensorsVector, tensor_offsets)
    opv = table_vector(tflite.SubGraphStartOperatorsVector, op_offsets)
    iv, ov = _int_vector(b, inputs), _int_vector(b, outputs)
    name = b.CreateString("main")
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tv)
    tflite.SubGraphAddInputs(b, iv)
    tflite.SubGraphAddOutputs(b, ov)
    tflite.SubGraphAddOperators(b, opv)
    tflite.SubGraphAddName(b, name)
    sg = tflite.SubGraphEnd(b)

    sgv = table_vector(tflite.ModelStartSubgraphsVector, [sg])
    cv = table_vector(tflite.ModelStartOperatorCodesVector, code_offsets)
    bv = table_vector(tflite.ModelStartBuffersVector, buf_offsets)
    desc = b.CreateString("infantpose test graph")
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, cv)
    tflite.ModelAddSubgraphs(b, sgv)
    tflite.ModelAddDescription(b, desc)
    tflite.ModelAddBuffers(b, bv)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())
