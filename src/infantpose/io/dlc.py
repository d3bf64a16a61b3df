"""DeepLabCut ``CollectedData_<scorer>.csv`` (single animal) into a ``LabeledDataset``.

DeepLabCut (Mathis et al., 2018) stores a labelled video folder as a CSV with a three-row column
header (``scorer`` / ``bodyparts`` / ``coords`` with ``x``, ``y`` per body part) and the image path
as the row index: one column (``labeled-data/<video>/img001.png``) in older projects, three columns
(``labeled-data``, ``<video>``, ``img001.png``) in newer ones. An unlabelled body part is an empty
cell (NaN) in both x and y. Multi-animal projects add an ``individuals`` header row; they are
rejected with a clear message (export them per individual first).

Body parts are mapped to keypoints by name (``mapping`` renames them; mapping a body part to
``None`` or ``""`` drops it). DeepLabCut has no occlusion flag, so labelled points are visible (2).
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.io.coco import image_size, match_schema
from infantpose.io.labelme import INFANT22_LABELS
from infantpose.poses import Poses
from infantpose.schemas import Schema, get_schema

__all__ = ["read_dlc", "is_dlc_csv"]


def _header_rows(path: Path, n: int = 4) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            return [row for _, row in zip(range(n), reader)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(path, f"cannot read CSV ({e})") from None


def is_dlc_csv(path: str | os.PathLike) -> bool:
    """True if the file starts with DeepLabCut's ``scorer`` header row."""
    rows = _header_rows(Path(path), 1)
    return bool(rows) and bool(rows[0]) and rows[0][0].strip() == "scorer"


def _find_root(path: Path, rel: str) -> Path | None:
    for cand in (path.parent, path.parent.parent, path.parent.parent.parent):
        if (cand / rel).is_file():
            return cand
    return None


def read_dlc(path: str | os.PathLike, schema: str | Schema | None = None,
             mapping: dict[str, str | None] | None = None,
             images_root: str | os.PathLike | None = None,
             check_images: bool = True) -> LabeledDataset:
    """Read a single-animal DeepLabCut ``CollectedData`` CSV.

    ``schema`` defaults to the known schema whose keypoints are the (mapped) body part names.
    Image paths are relative to ``images_root``, by default the DeepLabCut project folder (found
    by looking for the first image next to the CSV and up to two folders above). Bad files (not
    a DeepLabCut header, multi-animal, unknown body parts, an x without a y, non-numeric or
    infinite values, images not found) raise InputError naming the file.
    """
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise InputError(p, "file not found")
    rows = _header_rows(p)
    if len(rows) < 3 or not rows[0] or rows[0][0].strip() != "scorer":
        raise InputError(p, "not a DeepLabCut CSV (first header row must start with 'scorer')")
    if rows[1] and rows[1][0].strip() == "individuals":
        raise InputError(p, "multi-animal DeepLabCut CSV is not supported (one individual only)")
    if not (rows[1] and rows[1][0].strip() == "bodyparts" and rows[2]
            and rows[2][0].strip() == "coords"):
        raise InputError(p, "DeepLabCut header must have rows scorer / bodyparts / coords")
    n_index = sum(1 for v in rows[2] if v.strip() in ("coords", ""))
    n_index = max(1, min(n_index, 3))
    try:
        df = pd.read_csv(p, header=[0, 1, 2], index_col=list(range(n_index)))
    except (ValueError, pd.errors.ParserError) as e:
        raise InputError(p, f"cannot parse DeepLabCut CSV ({e})") from None
    coords = list(df.columns.get_level_values(2))
    parts_all = list(df.columns.get_level_values(1))
    if set(coords) - {"x", "y", "likelihood"}:
        raise InputError(p, f"unexpected coords {sorted(set(coords) - {'x', 'y', 'likelihood'})}")
    bodyparts = list(dict.fromkeys(parts_all))
    mapping = dict(mapping or {})
    kept = {bp: (mapping[bp] if bp in mapping else INFANT22_LABELS.get(bp, bp)) for bp in bodyparts}
    kept = {bp: kp for bp, kp in kept.items() if kp}
    if schema is None:
        sch = match_schema(sorted(set(kept.values())), None, p)
    else:
        sch = get_schema(schema)
        unknown = sorted(bp for bp, kp in kept.items() if kp not in sch.keypoints)
        if unknown:
            raise InputError(p, f"body parts {unknown} are not keypoints of schema {sch.name}; "
                                f"map them with --mapping/mapping= or drop them")
    if len(set(kept.values())) != len(kept):
        raise InputError(p, "two body parts map to the same keypoint")

    if n_index == 1:
        names = [str(v).replace("\\", "/") for v in df.index]
    else:
        names = ["/".join(str(x) for x in tup) for tup in df.index]
    if not names:
        raise InputError(p, "no labelled images in the CSV")
    from infantpose.io.validate import MAX_COORD, check_rel_path

    for i, nm in enumerate(names):
        check_rel_path(nm, p, f"row {i + 1} image")
    if images_root is not None:
        root = Path(images_root)
    else:
        root = _find_root(p, names[0]) or p.parent
    if check_images:
        for nm in names:
            if not (root / nm).is_file():
                raise InputError(p, f"image not found: {root / nm}")

    f, k = len(names), sch.num_keypoints
    data = np.full((f, 1, k, 3), np.nan)
    data[..., 2] = 0.0
    vis = np.zeros((f, 1, k), dtype=int)
    for bp, kp in kept.items():
        try:
            cols = [df.xs((bp, c), axis=1, level=(1, 2)).iloc[:, 0] for c in ("x", "y")]
            if any(c.dtype == bool or c.dtype == object and c.map(
                    lambda v: isinstance(v, bool)).any() for c in cols):
                raise InputError(p, f"body part {bp!r} has true/false instead of coordinates")
            x, y = (c.to_numpy(dtype=float) for c in cols)
        except KeyError:
            raise InputError(p, f"body part {bp!r} lacks an x or y column") from None
        except (TypeError, ValueError):
            raise InputError(p, f"body part {bp!r} has non-numeric coordinates") from None
        if (np.isnan(x) != np.isnan(y)).any():
            row = int(np.flatnonzero(np.isnan(x) != np.isnan(y))[0])
            raise InputError(p, f"{names[row]}: body part {bp!r} has only one of x, y")
        if np.isinf(x).any() or np.isinf(y).any():
            raise InputError(p, f"body part {bp!r} has infinite coordinates")
        if (np.abs(np.nan_to_num(x)) > MAX_COORD).any() or (np.abs(np.nan_to_num(y)) >
                                                             MAX_COORD).any():
            raise InputError(p, f"body part {bp!r} has absurd coordinates (beyond "
                                f"{MAX_COORD:g} px)")
        i = sch.index(kp)
        lab = ~np.isnan(x)
        data[lab, 0, i] = np.stack([x[lab], y[lab], np.ones(lab.sum())], axis=-1)
        vis[lab, 0, i] = 2
    boxes = np.full((f, 1, 4), np.nan)
    for j in range(f):
        xy = data[j, 0, vis[j, 0] > 0, :2]
        if len(xy):
            boxes[j, 0] = [*xy.min(0), *(xy.max(0) - xy.min(0))]
    sizes = [image_size(root / nm) if (root / nm).is_file() else (0, 0) for nm in names]
    same = len(set(sizes)) == 1
    poses = Poses(data, sch, source=str(p), frame_names=names,
                  frame_size=sizes[0] if same else None, image_sizes=None if same else sizes)
    meta = {"source_file": str(p), "format": "deeplabcut", "scorer": rows[0][n_index]
            if len(rows[0]) > n_index else "", "bodyparts": bodyparts}
    return LabeledDataset(poses, vis, boxes, root, ["real"] * f, meta)
