"""What one view of BlazePose's search yields and how views map back: the candidate pose of a
rotation or region, how candidates rank, the tracker's rotation hint, the option checks of the
test-time mirror, and the mirror image's boxes and rotation.

Split out of ``models/blazepose.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from infantpose.errors import InputError
from infantpose.geometry import Roi, quarter_turns

__all__ = ["mirror_boxes", "mirror_rotation"]


@dataclass
class _Candidate:
    keypoints: np.ndarray  # (33, 3) in original pixels
    score: float
    rotation: int
    whole_frame: bool
    path: str = "detector"  # "detector" or "fallback"
    presence: float | None = None  # the landmark model's pose presence (fallback only)
    next_roi: Roi | None = None  # fallback: MediaPipe's region for the next frame
    tracked: bool = False  # video mode: followed from the previous frame, no detector run


# --- test-time mirroring -------------------------------------------------------------------------

def _score(c: _Candidate) -> float:
    return c.score


def _hint(rotation: Any) -> int | None:
    """A tracker's rotation hint as a quarter turn (0/90/180/270), or None."""
    return None if rotation is None else quarter_turns(rotation) * 90


def _check_mirror_test(value: Any) -> bool | None:
    if value is None or isinstance(value, (bool, np.bool_)):
        return None if value is None else bool(value)
    raise InputError(None, f"blazepose mirror_test must be True, False or None (mirror in "
                           f"image mode only), got {value!r}")


def _check_mirror_tol(value: Any) -> float:
    try:
        tol = float(value)
    except (TypeError, ValueError):
        tol = float("nan")
    if not (np.isfinite(tol) and tol > 0):
        raise InputError(None, f"blazepose mirror_tol must be a positive number, got {value!r}")
    return tol


def mirror_boxes(boxes: np.ndarray, width: float) -> np.ndarray:
    """(N, 4) boxes (x1, y1, x2, y2) of an image ``width`` pixels wide, in its left-right
    mirror image (continuous pixel coordinates: x maps to ``width - x``)."""
    b = np.asarray(boxes, dtype=float).reshape(-1, 4).copy()
    b[:, [0, 2]] = width - b[:, [2, 0]]
    return b


def mirror_rotation(rotation: int | None) -> int | None:
    """The quarter turn of the original image that matches ``rotation`` of its mirror image
    (mirroring reverses the sense of a rotation)."""
    return None if rotation is None else (-int(rotation)) % 360
