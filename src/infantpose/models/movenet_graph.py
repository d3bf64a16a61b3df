"""The MoveNet graph itself: loading the TF.js model as a torch module, its raw heads for a
fine-tuner, and fine-tuned checkpoints (written by :mod:`infantpose.train.movenet`).

Split out of :mod:`infantpose.models.movenet` (which re-exports every name here): that module
holds the estimator (where the network looks), this one what the network is and where its
weights live.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch

from infantpose import _atomic
from infantpose.errors import InputError
from infantpose.models.checkpoint import CHECKPOINT_FORMAT
from infantpose.models.tfjs_graph import load_tfjs_graph
from infantpose.schemas import COCO17

__all__ = ["CHECKPOINT_ARCHITECTURE", "HEAD_NODES", "STRIDE", "VARIANTS", "load_movenet",
           "load_movenet_checkpoint", "movenet_heads", "read_movenet_checkpoint",
           "save_movenet_checkpoint"]

#: The raw outputs of MoveNet's four heads (before the in-graph decoding), by graph node name:
#: logits at stride 4 (64×64 for Thunder, 48×48 for Lightning), channels last in TF.
HEAD_NODES = {
    "centre": "StatefulPartitionedCall/center_0/conv2d_4/BiasAdd",  # 1 channel, sigmoid -> heat
    "heatmaps": "StatefulPartitionedCall/kpt_heatmap_0/conv2d_5/BiasAdd",  # 17, sigmoid
    "regression": "StatefulPartitionedCall/kpt_regress_0/conv2d_6/BiasAdd",  # 34: (dy, dx) × 17
    "offsets": "StatefulPartitionedCall/kpt_offset_0/conv2d_7/BiasAdd",  # 34: (dy, dx) × 17
}
VARIANTS = ("thunder", "lightning")
#: the heads' stride: an N×N input gives (N / 4)×(N / 4) cells
STRIDE = 4
#: ``architecture`` of a fine-tuned MoveNet checkpoint (:func:`save_movenet_checkpoint`)
CHECKPOINT_ARCHITECTURE = "movenet"


def load_movenet(model_path: str | os.PathLike):
    """The MoveNet TF.js graph (``movenet-*.json`` with its ``.bin`` beside it) as a torch
    module (:class:`~infantpose.models.tfjs_graph.TFJSGraph`) in eval mode."""
    graph = load_tfjs_graph(model_path)
    shape = graph.input_shape
    if len(shape) != 4 or shape[1] != shape[2] or shape[3] != 3 or shape[1] <= 0:
        raise InputError(model_path, f"not a MoveNet model: input shape {shape}, expected "
                                     "[1, N, N, 3]")
    return graph.eval()


def movenet_heads(graph, images: torch.Tensor) -> dict[str, torch.Tensor]:
    """The four raw head outputs (logits, NCHW: (B, C, S, S)) for a batch of (B, N, N, 3) RGB
    images with pixel values 0-255 (float): what a fine-tuner puts its losses on."""
    out = graph.run_nodes(images, list(HEAD_NODES.values()), layout="nchw")
    return {k: out[v] for k, v in HEAD_NODES.items()}


def _model_path(variant: str, model_path: str | os.PathLike | None) -> Path:
    if model_path is not None:
        return Path(model_path)
    try:  # looked up per call: tests and experiments swap the store module
        from infantpose.models.store import model_file
    except ImportError:
        raise InputError(None, f"MoveNet {variant}: no model store in this installation; pass "
                               "model_path=PATH/movenet-{variant}.json") from None
    return Path(model_file(f"movenet-{variant}"))


# --- fine-tuned checkpoints (written by infantpose.train.movenet) --------------------------

def save_movenet_checkpoint(path: str | os.PathLike, graph: torch.nn.Module, variant: str,
                            config: dict[str, Any] | None = None) -> Path:
    """Write a fine-tuned MoveNet (its TF.js graph's state dict) as an infantpose checkpoint
    (module docstring), atomically."""
    n = int(graph.input_shape[1]) if hasattr(graph, "input_shape") else 256
    ck = {"format": CHECKPOINT_FORMAT, "version": 1, "architecture": CHECKPOINT_ARCHITECTURE,
          "arch_config": {"variant": str(variant)}, "schema": COCO17.name,
          "keypoints": list(COCO17.keypoints), "input_size": [n, n], "stride": STRIDE,
          "state_dict": {k: v.detach().cpu().clone() for k, v in graph.state_dict().items()},
          "config": json.loads(json.dumps(dict(config or {}), default=str))}
    with _atomic.atomic_path(path) as tmp:
        torch.save(ck, tmp)
    return Path(path)


def read_movenet_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint dict of a fine-tuned MoveNet; InputError (one line naming the file) when
    it is missing, unreadable or not a MoveNet checkpoint."""
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "checkpoint file not found")
    try:
        ck = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - pickle/zip errors of many kinds
        first = (str(e).strip().splitlines() or [""])[0]
        raise InputError(p, f"cannot read checkpoint ({type(e).__name__}: {first})") from None
    if not isinstance(ck, dict) or ck.get("format") != CHECKPOINT_FORMAT:
        raise InputError(p, "not an infantpose checkpoint")
    if ck.get("architecture") != CHECKPOINT_ARCHITECTURE:
        raise InputError(p, f"checkpoint holds a {ck.get('architecture')} model, not movenet")
    for key in ("arch_config", "state_dict"):
        if key not in ck:
            raise InputError(p, f"checkpoint lacks {key!r}")
    return ck


def load_movenet_checkpoint(path: str | os.PathLike, variant: str | None = None,
                            model_path: str | os.PathLike | None = None
                            ) -> tuple[torch.nn.Module, dict[str, Any]]:
    """(graph with the fine-tuned weights, checkpoint dict). The graph's structure comes from
    the model store's ``movenet-<variant>`` (or ``model_path``); ``variant`` given and not the
    checkpoint's is an InputError."""
    ck = read_movenet_checkpoint(path)
    have = str(ck["arch_config"].get("variant", "thunder"))
    if variant is not None and variant != have:
        raise InputError(path, f"checkpoint is a MoveNet {have} model, not {variant}")
    graph = load_movenet(_model_path(have, model_path))
    own = graph.state_dict()
    sd = ck["state_dict"]
    bad = sorted(set(own) ^ set(sd)) + [k for k in sd if k in own
                                         and tuple(sd[k].shape) != tuple(own[k].shape)]
    if bad:
        raise InputError(path, f"weights do not fit the MoveNet {have} graph "
                               f"({len(bad)} mismatched, e.g. {bad[0]})")
    graph.load_state_dict(sd)
    return graph.eval(), ck
