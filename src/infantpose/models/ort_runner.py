"""Run a ported torch network through onnxruntime for inference: same numbers, several times
faster on a CPU.

Why: the TF.js port (:mod:`infantpose.models.tfjs_graph`) executes the graph node by node in
eager PyTorch, which keeps it trainable but pays Python dispatch, padding copies and layout
changes on every call. Exported once to ONNX (the torch graph traced for one image) and run by
onnxruntime, MoveNet Thunder gives the same keypoints (2e-7 apart) in a quarter to a third of
the time on 2 cores. The export costs a few seconds, so the file is cached, named by a hash of
the network's weights (a fine-tuned checkpoint gets its own file): in the models folder when it
is writable, else in a temporary folder for the process. Anything that keeps the export or the
session from working falls back to the torch module, never to an error.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infantpose.models.store import models_dir

__all__ = ["OrtNet", "onnx_or_torch"]


def _weights_hash(net: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for name, t in sorted(net.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:24]


def _cache_dir() -> Path:
    d = models_dir() / ".onnx-cache"
    try:
        d.mkdir(parents=True, exist_ok=True)
        if os.access(d, os.W_OK):
            return d
    except OSError:
        pass
    return Path(tempfile.mkdtemp(prefix="infantpose-onnx-"))


class OrtNet:
    """Callable like the torch module on a (1, N, N, 3) float tensor; returns a tensor. The
    torch module stays reachable (``module``; its attributes, such as ``parameters``, pass
    through) for whoever inspects or fine-tunes it."""

    def __init__(self, session: Any, input_name: str, module: torch.nn.Module | None = None):
        self.session = session
        self.input_name = input_name
        self.module = module

    def __getattr__(self, name: str) -> Any:
        if name in ("session", "input_name", "module") or self.__dict__.get("module") is None:
            raise AttributeError(name)
        return getattr(self.module, name)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        out = self.session.run(None, {self.input_name: x.detach().cpu().numpy()
                                      .astype(np.float32, copy=False)})[0]
        return torch.from_numpy(out)


def onnx_or_torch(net: torch.nn.Module, example: torch.Tensor, threads: int | None = None
                  ) -> Any:
    """``net`` as an onnxruntime session when it exports and runs (checked against the torch
    output on ``example``), else ``net`` itself."""
    try:  # optional here: without onnxruntime the torch module runs
        import onnxruntime as ort
    except ImportError:
        return net
    try:
        with torch.no_grad():
            ref = net(example)
        ref = ref[0] if isinstance(ref, (list, tuple)) else ref
        path = _cache_dir() / f"{_weights_hash(net)}.onnx"
        if not path.is_file():
            tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.onnx")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(net, (example,), str(tmp), input_names=["input"],
                                  output_names=["output"], dynamo=False, opset_version=17)
            os.replace(tmp, path)
        so = ort.SessionOptions()
        so.intra_op_num_threads = int(threads or torch.get_num_threads())
        so.log_severity_level = 3
        session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        runner = OrtNet(session, session.get_inputs()[0].name, net)
        if not np.allclose(runner(example).numpy().reshape(-1), ref.numpy().reshape(-1),
                           atol=1e-3):
            return net
        return runner
    except Exception:  # an exporter or runtime limitation: the torch module still works
        return net
