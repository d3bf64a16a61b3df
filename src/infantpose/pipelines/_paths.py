"""Options dataclasses take a path as ``str`` or ``Path``; the pipelines work with ``Path``."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any


def coerce_paths(options: Any) -> None:
    """Turn the values of ``options``' fields annotated ``Path`` (alone, optional, or a list)
    into ``Path`` objects, so a caller may pass plain strings."""
    for f in dataclasses.fields(options):
        kind = str(f.type)
        value = getattr(options, f.name)
        if kind.startswith("list[Path]") and value is not None:
            setattr(options, f.name, [Path(v) for v in value])
        elif kind.startswith("Path") and isinstance(value, (str, os.PathLike)):
            setattr(options, f.name, Path(value))
