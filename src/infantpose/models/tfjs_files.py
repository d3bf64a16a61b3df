"""Reading a TF.js graph model's files (see :mod:`infantpose.models.tfjs_graph` for the format):
the ``model.json``, its weight shards (fp16 and uint8/uint16-quantized weights dequantized to
fp32), and the ``GraphDef`` nodes with their typed attributes.

Split out of ``models/tfjs_graph.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from infantpose.errors import InputError

__all__ = ["GraphNode", "read_weights"]


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
