"""The TFLite operators of the BlazePose port, as PyTorch modules (see
:mod:`infantpose.models.tflite_port` for the layout, padding and resize rules): convolutions
whose kernels and biases are real parameters, element-wise, padding, pooling, resize, reshape,
concatenation and unary operators, and the small helpers they share.

Split out of ``models/tflite_port.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from infantpose.errors import InputError

__all__ = ["AddOp", "ConcatOp", "ConvOp", "MulOp", "PadOp", "PoolOp", "ReshapeOp",
           "ResizeBilinearOp", "UnaryOp", "UnsupportedOperatorError"]


class UnsupportedOperatorError(InputError):
    """The flatbuffer uses an operator the port does not implement."""


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
