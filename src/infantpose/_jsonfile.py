"""Reading a JSON file with the one-line errors every reader reports (bottom layer, beside
:mod:`infantpose._atomic`, so that :mod:`infantpose.poses` can use it).

Whatever the file holds, :func:`read_json` returns parsed data or raises
:class:`~infantpose.errors.InputError` naming the file: a missing or unreadable file, text that is
not UTF-8, invalid JSON, a number too long for Python to convert (more than
``sys.get_int_max_str_digits()`` digits), and nesting too deep (Python's parser recurses once per
level and would fail with a ``RecursionError``; deep but parseable documents would fail later, when
written back out). No label or pose format nests more than a handful of levels.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.errors import InputError

__all__ = ["MAX_DEPTH", "check_depth", "nesting_depth", "parse_json", "read_json"]

#: Deepest nesting of arrays and objects accepted (poses JSON uses 5 levels, COCO 4).
MAX_DEPTH = 64

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN, _CLOSE = np.frombuffer(b"[{", np.uint8), np.frombuffer(b"]}", np.uint8)


def nesting_depth(text: str) -> int:
    """How deeply arrays and objects nest in valid JSON ``text`` (brackets inside strings do
    not count). Vectorised: a few milliseconds per megabyte."""
    code = np.frombuffer(_STRING.sub('""', text).encode("utf-8", "surrogatepass"), np.uint8)
    opens, closes = np.isin(code, _OPEN), np.isin(code, _CLOSE)
    steps = opens.astype(np.int8)[opens | closes] - closes.astype(np.int8)[opens | closes]
    return int(np.cumsum(steps, dtype=np.int64).max()) if steps.size else 0


def check_depth(text: str, path: str | os.PathLike | None, limit: int = MAX_DEPTH) -> None:
    """InputError when valid JSON ``text`` nests deeper than ``limit`` levels."""
    depth = nesting_depth(text)
    if depth > limit:
        raise InputError(path, f"invalid JSON (nested {depth} levels deep; at most {limit} "
                               "are accepted)")


def parse_json(text: str, path: str | os.PathLike | None = None) -> Any:
    """Parsed ``text``; InputError naming ``path`` for anything but a sane JSON document."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(path, f"invalid JSON ({e})") from None
    except RecursionError:
        raise InputError(path, f"invalid JSON (nested too deeply; at most {MAX_DEPTH} levels "
                               "are accepted)") from None
    except ValueError:  # a number beyond Python's integer conversion limit
        raise InputError(path, "invalid JSON (a number longer than "
                               f"{sys.get_int_max_str_digits()} digits)") from None
    if isinstance(value, (list, dict)):
        check_depth(text, path)
    return value


def read_json(path: str | os.PathLike) -> Any:
    """Parsed content of a JSON file; InputError naming the file if missing, unreadable or invalid."""
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "file not found")
    try:
        text = p.read_text(encoding="utf-8-sig")  # a byte-order mark (Windows editors) is fine
    except UnicodeDecodeError as e:
        raise InputError(p, f"invalid JSON (not UTF-8 text: byte {e.object[e.start]:#04x} at "
                            f"offset {e.start})") from None
    except OSError as e:
        raise InputError(p, f"cannot read ({e.strerror or e})") from None
    return parse_json(text, p)
