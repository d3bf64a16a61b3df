"""Reading a JSON file with the one-line errors every reader reports (bottom layer, beside
:mod:`infantpose._atomic`, so that :mod:`infantpose.poses` can use it)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from infantpose.errors import InputError

__all__ = ["read_json"]


def read_json(path: str | os.PathLike) -> Any:
    """Parsed content of a JSON file; InputError naming the file if missing, unreadable or invalid."""
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "file not found")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise InputError(p, f"invalid JSON ({e})") from None
    except OSError as e:
        raise InputError(p, f"cannot read ({e.strerror or e})") from None
