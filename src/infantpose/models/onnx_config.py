"""How to feed and read one ONNX pose model: :class:`OnnxConfig`, read from the sidecar YAML
beside the model (see :mod:`infantpose.models.onnx_model` for its keys) with defaults filled
in and every value checked.

Split out of ``models/onnx_model.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from infantpose.errors import InputError
from infantpose.schemas import COCO17, Schema, get_schema

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "OUTPUT_KINDS", "OnnxConfig", "find_sidecar",
           "read_config"]

OUTPUT_KINDS = ("heatmap", "simcc")
IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)
_DECODERS = ("dark", "wa", "argmax")
_ACTIVATIONS = ("none", "sigmoid", "softmax")


@dataclass
class OnnxConfig:
    """How to feed and read one ONNX model (the sidecar YAML, defaults filled in)."""

    schema: Schema = COCO17
    output: str | None = None  # None: told by the outputs' ranks
    outputs: list[str] | None = None
    input_size: tuple[int, int] | None = None  # (w, h); None: the model's static input shape
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    channel_order: str = "rgb"
    margin: float = 1.25
    decoder: str = "dark"
    sigma: float = 2.0
    activation: str = "none"
    split_ratio: float | None = None
    pixel_centers: str = "half"
    flip_test: bool = False
    source: str | None = None  # the sidecar file read, if any
    extra: dict[str, Any] = field(default_factory=dict)


# --- the sidecar ----------------------------------------------------------------------------------

def find_sidecar(model: str | os.PathLike) -> Path | None:
    """``model.onnx.yaml`` (or ``.yml``) beside ``model.onnx``, else ``model.yaml``; or None."""
    p = Path(model)
    for cand in (p.with_name(p.name + ".yaml"), p.with_name(p.name + ".yml"),
                 p.with_suffix(".yaml"), p.with_suffix(".yml")):
        if cand.is_file():
            return cand
    return None


def _number_list(value: Any, n: int, key: str, path: Path) -> tuple[float, ...]:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value] * n
    if not isinstance(value, (list, tuple)) or len(value) != n or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in value):
        raise InputError(path, f"{key} must be a list of {n} numbers, got {value!r}")
    return tuple(float(v) for v in value)


def _choice(value: Any, options: Sequence[str], key: str, path: Path) -> str:
    v = str(value).lower() if isinstance(value, str) else value
    if v not in options:
        raise InputError(path, f"{key} must be one of {', '.join(options)}, got {value!r}")
    return str(v)


def _positive(value: Any, key: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or not math.isfinite(value):
        raise InputError(path, f"{key} must be a positive number, got {value!r}")
    return float(value)


def read_config(model: str | os.PathLike, sidecar: str | os.PathLike | None = None) -> OnnxConfig:
    """The model's :class:`OnnxConfig` from its sidecar YAML (defaults when there is none).

    Raises InputError naming the YAML file for unreadable YAML, unknown keys and bad values.
    """
    path = Path(sidecar) if sidecar is not None else find_sidecar(model)
    if path is None:
        return OnnxConfig()
    if not path.is_file():
        raise InputError(path, "sidecar YAML not found")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path, f"cannot read ({type(e).__name__}: {e})") from None
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        at = f" at line {where.line + 1}" if where is not None else ""
        raise InputError(path, f"not valid YAML{at}: {getattr(e, 'problem', None) or e}") \
            from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise InputError(path, "must be a YAML mapping of settings (e.g. 'schema: coco17')")
    known = set(OnnxConfig.__dataclass_fields__) - {"source", "extra"}
    unknown = sorted(str(k) for k in raw if k not in known)
    if unknown:
        raise InputError(path, f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}")
    cfg = OnnxConfig(source=str(path))
    if "schema" in raw:
        try:
            cfg.schema = get_schema(str(raw["schema"]))
        except (InputError, KeyError, ValueError) as e:
            raise InputError(path, f"schema: {getattr(e, 'problem', e)}") from None
    if raw.get("output") is not None:
        cfg.output = _choice(raw["output"], OUTPUT_KINDS, "output", path)
    if raw.get("outputs") is not None:
        outs = raw["outputs"]
        if isinstance(outs, str):
            outs = [outs]
        if not isinstance(outs, list) or not outs or not all(isinstance(o, str) for o in outs):
            raise InputError(path, f"outputs must be a list of output names, got {outs!r}")
        cfg.outputs = list(outs)
    if raw.get("input_size") is not None:
        w, h = _number_list(raw["input_size"], 2, "input_size", path)
        if w < 8 or h < 8 or w != int(w) or h != int(h):
            raise InputError(path, f"input_size must be two whole numbers of pixels (w, h) "
                                   f"of at least 8, got {raw['input_size']!r}")
        cfg.input_size = (int(w), int(h))
    if "mean" in raw:
        cfg.mean = _number_list(raw["mean"], 3, "mean", path)  # type: ignore[assignment]
    if "std" in raw:
        cfg.std = _number_list(raw["std"], 3, "std", path)  # type: ignore[assignment]
        if min(cfg.std) <= 0:
            raise InputError(path, "std values must be positive")
    if "channel_order" in raw:
        cfg.channel_order = _choice(raw["channel_order"], ("rgb", "bgr"), "channel_order", path)
    if "margin" in raw:
        cfg.margin = _positive(raw["margin"], "margin", path)
    if "decoder" in raw:
        cfg.decoder = _choice(raw["decoder"], _DECODERS, "decoder", path)
    if "sigma" in raw:
        cfg.sigma = _positive(raw["sigma"], "sigma", path)
    if "activation" in raw:
        cfg.activation = _choice(raw["activation"], _ACTIVATIONS, "activation", path)
    if raw.get("split_ratio") is not None:
        cfg.split_ratio = _positive(raw["split_ratio"], "split_ratio", path)
    if "pixel_centers" in raw:
        cfg.pixel_centers = _choice(raw["pixel_centers"], ("half", "integer"), "pixel_centers",
                                    path)
    if "flip_test" in raw:
        if not isinstance(raw["flip_test"], bool):
            raise InputError(path, f"flip_test must be true or false, got {raw['flip_test']!r}")
        cfg.flip_test = raw["flip_test"]
    return cfg
