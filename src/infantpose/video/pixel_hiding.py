"""Hiding pixels: mosaic, blur and whole-frame blur of face regions, and the guarantee that every
hidden pixel changed.

Split out of ``video/privacy.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from infantpose.errors import InputError
from infantpose.video.face_region import FaceRegion

__all__ = ["MODES", "CELLS_PER_FACE", "anonymize_regions", "blur", "blur_whole", "mosaic"]

MODES = ("mosaic", "blur")


# --- hiding pixels -------------------------------------------------------------------------------
#: At most this many mosaic cells across a face: a face must not be recognisable from its mosaic.
CELLS_PER_FACE = 5.0


def _int_box(box: np.ndarray, shape: tuple[int, ...]) -> tuple[int, int, int, int]:
    h, w = shape[:2]
    x1, y1 = int(np.floor(max(0, box[0]))), int(np.floor(max(0, box[1])))
    x2, y2 = int(np.ceil(min(w, box[2]))), int(np.ceil(min(h, box[3])))
    return x1, y1, x2, y2


def mosaic(image: np.ndarray, box: np.ndarray, blocks: int = 8, cell: float | None = None,
           scramble: bool = True) -> np.ndarray:
    """A copy with the box pixelated into cells of mean colour, the cells shuffled.

    ``cell`` is the cell size in pixels (the caller passes face size / :data:`CELLS_PER_FACE`);
    without it the box is cut into about ``blocks`` × ``blocks`` cells. A plain mosaic keeps a
    face's coarse layout (dark eyes and mouth on light skin) and a face detector still finds
    faces in it (measured: ``benchmarks/privacy.py``); ``scramble`` permutes the cells (a fixed
    permutation per grid size, so a still face stays still), keeping the colours and losing the
    layout.
    """
    # imported here: OpenCV loads only when pixels are hidden
    import cv2

    out = image.copy()
    x1, y1, x2, y2 = _int_box(box, image.shape)
    if x2 <= x1 or y2 <= y1:
        return out
    roi = out[y1:y2, x1:x2]
    if cell is not None and cell > 0:
        bw = max(1, int(round(roi.shape[1] / cell)))
        bh = max(1, int(round(roi.shape[0] / cell)))
    else:
        bw = max(1, min(blocks, roi.shape[1] // 2 or 1))
        bh = max(1, min(blocks, roi.shape[0] // 2 or 1))
    small = cv2.resize(roi, (bw, bh), interpolation=cv2.INTER_AREA)
    if scramble and bw * bh > 1:
        perm = np.random.default_rng([bw, bh]).permutation(bw * bh)
        small = small.reshape(bw * bh, -1)[perm].reshape(bh, bw, -1)
    out[y1:y2, x1:x2] = cv2.resize(small, (roi.shape[1], roi.shape[0]),
                                   interpolation=cv2.INTER_NEAREST).reshape(roi.shape)
    return out


def blur(image: np.ndarray, box: np.ndarray, sigma: float | None = None) -> np.ndarray:
    """A copy with the box strongly Gaussian-blurred (``sigma`` in pixels; default a quarter of
    the box's shorter side)."""
    # imported here: OpenCV loads only when pixels are hidden
    import cv2

    out = image.copy()
    x1, y1, x2, y2 = _int_box(box, image.shape)
    if x2 <= x1 or y2 <= y1:
        return out
    roi = out[y1:y2, x1:x2]
    sigma = max(2.0, sigma if sigma else min(roi.shape[:2]) / 4.0)
    # Blur at reduced resolution (cheap even for large faces), then smooth the upsampled result.
    small = cv2.resize(roi, (max(1, roi.shape[1] // 4), max(1, roi.shape[0] // 4)),
                       interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / 4.0, borderType=cv2.BORDER_REFLECT)
    out[y1:y2, x1:x2] = cv2.GaussianBlur(
        cv2.resize(small, (roi.shape[1], roi.shape[0]), interpolation=cv2.INTER_LINEAR),
        (0, 0), 2.0)
    return out


def blur_whole(image: np.ndarray, cells: int = 10) -> np.ndarray:
    """The whole frame blurred beyond recognition: the shorter side is reduced to ``cells``
    pixels, then enlarged and smoothed, so even a face filling a third of the frame keeps
    only about three cells across (this is the fallback when no face could be placed)."""
    # imported here: OpenCV loads only when pixels are hidden
    import cv2

    h, w = image.shape[:2]
    f = max(1.0, min(h, w) / float(cells))
    small = cv2.resize(image, (max(1, int(round(w / f))), max(1, int(round(h / f)))),
                       interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR), (0, 0),
                            max(3.0, f / 2.0))


def _as_region(r: FaceRegion | np.ndarray) -> FaceRegion:
    if isinstance(r, FaceRegion):
        return r
    b = np.asarray(r, float)[:4]
    # A plain box already holds its margin: the face is taken as the box's larger side / 1.6.
    return FaceRegion(b, max(b[2] - b[0], b[3] - b[1]) / 1.6, "box")


def anonymize_regions(image: np.ndarray, boxes: Iterable[FaceRegion | np.ndarray],
                      mode: str = "mosaic") -> np.ndarray:
    """Mosaic or blur every region (a :class:`FaceRegion` or an x1, y1, x2, y2 box that already
    includes its margin). Mosaic cells are face size / :data:`CELLS_PER_FACE` (at least 2 px),
    shuffled; the blur's sigma is at least half the face size.

    The blur is applied to the shuffled mosaic, not to the face: a blur keeps a face's lowest
    frequencies (dark hair above light skin), and in ``benchmarks/privacy.py`` a plain blur
    kept a crop correlation of up to 0.85 with the original face and BlazeFace still fired on
    one blurred head; shuffling first leaves colours but no layout, and the result still looks
    like a blur."""
    if mode not in MODES:
        raise InputError(None, f"unknown de-identification mode {mode!r}; choose mosaic or blur")
    out = image.copy()
    for r in map(_as_region, boxes):
        cell = max(2.0, r.face_size / CELLS_PER_FACE)
        out = mosaic(out, r.box, cell=cell)
        if mode == "blur":
            x1, y1, x2, y2 = _int_box(r.box, image.shape)
            out = blur(out, r.box, sigma=max(r.face_size / 2.0, min(x2 - x1, y2 - y1) / 4.0))
        x1, y1, x2, y2 = _int_box(r.box, image.shape)
        _ensure_changed(image[y1:y2, x1:x2], out[y1:y2, x1:x2])
    return out


def _ensure_changed(before: np.ndarray, after: np.ndarray) -> None:
    """Nudge (by one grey level) pixels that a mosaic or blur happened to leave unchanged.

    A mosaic cell's mean can equal one of its pixels, and a flat region stays flat; one level is
    invisible but guarantees that no pixel inside a hidden region equals its source value, so a
    hidden region can be verified pixel by pixel (and no original pixel value is passed on).
    """
    same = (before == after).all(axis=-1)
    if same.any():
        px = after[same].astype(np.int16)
        px += np.where(px < 255, 1, -1).astype(np.int16)
        after[same] = px.astype(np.uint8)
