"""Contact sheets: a grid of samples with their skeletons drawn, to look at the generator."""

from __future__ import annotations

import cv2
import numpy as np

from infantpose.schemas import Schema, get_schema

__all__ = ["contact_sheet", "draw_skeleton"]


def draw_skeleton(image: np.ndarray, keypoints: np.ndarray, visibility: np.ndarray,
                  schema: Schema | str) -> np.ndarray:
    """Copy of ``image`` with edges and keypoints drawn: filled dots = visible, rings = hidden;
    left side orange, right side blue, centre green."""
    s = get_schema(schema)
    img = np.ascontiguousarray(image.copy())
    t = max(1, round(max(img.shape[:2]) / 300))

    def col(name: str) -> tuple[int, int, int]:
        return (255, 140, 0) if name.startswith("left") else \
            (30, 120, 255) if name.startswith("right") else (40, 200, 60)

    for a, b in s.edge_index:
        if visibility[a] > 0 and visibility[b] > 0:
            pa = tuple(int(v) for v in np.round(keypoints[a]))
            pb = tuple(int(v) for v in np.round(keypoints[b]))
            cv2.line(img, pa, pb, col(s.keypoints[b]), t, cv2.LINE_AA)
    for k, name in enumerate(s.keypoints):
        if visibility[k] > 0:
            p = tuple(int(v) for v in np.round(keypoints[k]))
            cv2.circle(img, p, 2 * t + 1, col(name), -1 if visibility[k] == 2 else t, cv2.LINE_AA)
    return img


def contact_sheet(images: list[np.ndarray], cols: int = 4, cell: int = 320) -> np.ndarray:
    """Tile images (each letterboxed into a ``cell``×``cell`` square) into one RGB image."""
    rows = (len(images) + cols - 1) // cols
    sheet = np.full((rows * cell, cols * cell, 3), 255, np.uint8)
    for i, im in enumerate(images):
        h, w = im.shape[:2]
        sc = cell / max(h, w)
        small = cv2.resize(im, (max(1, round(w * sc)), max(1, round(h * sc))),
                           interpolation=cv2.INTER_AREA)
        r, c = divmod(i, cols)
        y0 = r * cell + (cell - small.shape[0]) // 2
        x0 = c * cell + (cell - small.shape[1]) // 2
        sheet[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
    return sheet
