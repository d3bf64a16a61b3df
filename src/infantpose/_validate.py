"""Strict checks of values read from label and pose files, each failing with one InputError.

JSON is loosely typed: ``"12.5"`` and ``true`` pass ``float()``, ``1e30`` is a valid number, and
a list can stand where an id should. Every reader checks its values through these helpers, so a
malformed file stops with ``error: <file>: <where>: <problem>`` instead of a traceback or,
worse, a silently wrong number.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from infantpose.errors import InputError

__all__ = ["IMAGE_EXTENSIONS", "MAX_COORD", "MAX_FPS", "MIN_FPS", "MAX_NAME", "MAX_PATH", "MAX_SIDE", "MAX_SPAN",
           "check_id", "check_name_length", "check_rel_path", "check_size", "frame_span_limit",
           "is_number", "number", "number_array"]

#: File name endings of the images infantpose reads (:mod:`infantpose.io.images`) and accepts
#: as image names in label files (:func:`check_rel_path`).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
#: Coordinates beyond this many pixels from the origin are refused as absurd.
MAX_COORD = 1e6
#: Frame rates infantpose accepts (frames per second). Outside this range a video's clock is not
#: plausible, and seconds computed from it overflow or vanish.
MIN_FPS = 1e-3
MAX_FPS = 1e5
#: Image / frame sides beyond this are refused as absurd.
MAX_SIDE = 100_000

#: A frame grid (one row per frame number from the first recorded frame to the last: features'
#: time axis, DeepLabCut's one row per frame) holds at most this many rows per recorded frame ...
MAX_SPAN_PER_FRAME = 1000
#: ... and never more than this many rows (about 46 hours at 30 fps).
MAX_SPAN = 5_000_000

Path_ = str | os.PathLike | None


def frame_span_limit(n_frames: int) -> int:
    """The most frame numbers a grid over ``n_frames`` recorded frames may span. Checked before
    such a grid is allocated: 20 frames numbered up to 1e9 must be refused, not exhaust memory."""
    return min(MAX_SPAN, max(100_000, MAX_SPAN_PER_FRAME * int(n_frames)))


def is_number(v: Any) -> bool:
    """A JSON number (int or float, not a bool, not a string)."""
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool,
                                                                                       np.bool_))


def number(v: Any, path: Path_, where: str, lo: float | None = None, hi: float | None = None,
           integer: bool = False) -> float:
    """``v`` as a finite float within [lo, hi]; InputError otherwise."""
    if not is_number(v):
        raise InputError(path, f"{where}: expected a number, got {_show(v)}")
    f = float(v)
    if not math.isfinite(f):
        raise InputError(path, f"{where}: {f} is not a finite number")
    if integer and f != int(f):
        raise InputError(path, f"{where}: expected a whole number, got {v}")
    if (lo is not None and f < lo) or (hi is not None and f > hi):
        rng = f"{'-inf' if lo is None else lo:g}..{'inf' if hi is None else hi:g}"
        raise InputError(path, f"{where}: {v} is outside the valid range {rng}")
    return f


def number_array(values: Any, path: Path_, where: str, allow_null: bool = False,
                 max_abs: float | None = MAX_COORD) -> np.ndarray:
    """A (nested) list of JSON numbers as a float array (``null`` -> NaN when ``allow_null``).

    Refuses strings, booleans, ragged lists, NaN/infinity and absolute values above
    ``max_abs``.
    """
    try:
        obj = np.array(values, dtype=object)
    except ValueError:
        raise InputError(path, f"{where}: lists of unequal length") from None
    flat = obj.reshape(-1)
    for v in flat:
        if v is None and allow_null:
            continue
        if not is_number(v):
            raise InputError(path, f"{where}: expected numbers, got {_show(v)}")
    arr = np.array([np.nan if v is None else float(v) for v in flat], dtype=float)
    bad = ~np.isfinite(arr) & ~np.array([v is None for v in flat], dtype=bool)
    if bad.any():
        raise InputError(path, f"{where}: NaN or infinite value")
    if max_abs is not None and (np.abs(np.nan_to_num(arr)) > max_abs).any():
        big = float(np.nanmax(np.abs(arr)))
        raise InputError(path, f"{where}: value {big:g} is absurd (more than {max_abs:g} px)")
    return arr.reshape(obj.shape)


def check_size(v: Any, path: Path_, where: str) -> tuple[int, int]:
    """A (width, height) pair of whole numbers in 1..MAX_SIDE."""
    if not isinstance(v, (list, tuple)) or len(v) != 2:
        raise InputError(path, f"{where}: expected [width, height], got {_show(v)}")
    w = number(v[0], path, f"{where} width", 1, MAX_SIDE, integer=True)
    h = number(v[1], path, f"{where} height", 1, MAX_SIDE, integer=True)
    return int(w), int(h)


def check_id(v: Any, path: Path_, where: str) -> int | str:
    """An id: an integer or a string (never a list, an object, a float or a bool)."""
    if isinstance(v, bool) or not isinstance(v, (int, str, np.integer)):
        raise InputError(path, f"{where}: an id must be an integer or a string, got {_show(v)}")
    return int(v) if isinstance(v, np.integer) else v


def check_rel_path(v: Any, path: Path_, where: str) -> str:
    """An image file name from a label file: a relative path (``..`` allowed: infantpose itself
    writes paths relative to the label file's folder) with an image extension. Absolute paths,
    NUL bytes and names of non-image files (``../../etc/passwd``) are refused."""
    if not isinstance(v, str) or not v.strip():
        raise InputError(path, f"{where}: expected a file name, got {_show(v)}")
    if "\0" in v:
        raise InputError(path, f"{where}: file name contains a NUL byte")
    if os.path.isabs(v) or v.startswith(("/", "\\")) or (len(v) > 1 and v[1] == ":"):
        raise InputError(path, f"{where}: file name {v!r} is an absolute path; label files "
                               "name images relative to their folder")
    check_name_length(v, path, where)
    if os.path.splitext(v)[1].lower() not in IMAGE_EXTENSIONS:
        raise InputError(path, f"{where}: file name {v!r} is not an image file "
                               f"({', '.join(IMAGE_EXTENSIONS)})")
    return v


#: Longest file name (one path component, in bytes) and path that file systems accept.
MAX_NAME, MAX_PATH = 255, 4096


def check_name_length(v: str, path: Path_, where: str) -> str:
    """A file name from a label file that a file system can hold: no part longer than
    :data:`MAX_NAME` bytes, the whole at most :data:`MAX_PATH` characters (a longer name makes
    every file-system call fail with "File name too long")."""
    parts = v.replace("\\", "/").split("/")
    if len(v) > MAX_PATH or any(len(p.encode("utf-8", "surrogatepass")) > MAX_NAME
                                for p in parts):
        raise InputError(path, f"{where}: file name {v[:40]!r}... is too long (more than "
                               f"{MAX_NAME} bytes in one name)")
    return v


def _show(v: Any) -> str:
    text = repr(v)
    kind = type(v).__name__
    return f"{kind} {text[:40]}{'...' if len(text) > 40 else ''}"
