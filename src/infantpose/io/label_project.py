"""An ``infantpose label`` project read as labels: a one-person-per-frame ``LabeledDataset``.

A point with visibility 2 (visible) or 1 (occluded) is labelled; an absent point (0) is
unlabelled. Each frame's box is the box around its labelled points grown by 10 % of its size on
every side, clipped to the image. Frame names are relative to the project folder when the image
lies inside it. Each image entry keeps where the frame came from and why it was chosen
(``label_source``, ``label_frame_index``, ``label_queue``, ``label_reason``, ``label_reviewed``).

Read as labels (``read_labels(PROJECT)``, ``train --data PROJECT``, ``evaluate --gt PROJECT``),
a project contributes its reviewed frames only: proposals nobody looked at are not labels. It
lives in ``io`` (beside the project's store, :mod:`infantpose.io.label_store`) so that
``read_labels`` needs nothing from the labelling tool; ``label/export.py`` writes it out as COCO
or LabelMe.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.io.label_store import Store
from infantpose.poses import Poses
from infantpose.schemas import get_schema

__all__ = ["BOX_MARGIN", "project_dataset", "read_project"]

BOX_MARGIN = 0.1


def _image_name(image: str, project: Path) -> str:
    p = Path(image)
    if not p.is_absolute():
        return image
    try:
        return os.path.relpath(p, project).replace(os.sep, "/")
    except ValueError:  # another drive (Windows): keep the absolute path
        return str(p)


def _box(xy: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if len(xy) == 0:
        return np.full(4, np.nan)
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    pad = BOX_MARGIN * (hi - lo)
    lo = np.maximum(lo - pad, 0.0)
    hi = np.minimum(hi + pad, np.asarray(size, float))
    return np.array([lo[0], lo[1], hi[0] - lo[0], hi[1] - lo[1]])


def project_dataset(project_dir: str | os.PathLike, only_reviewed: bool = False,
                    check_images: bool = False) -> LabeledDataset:
    """The project's frames (all, or only reviewed ones) as a one-person-per-frame dataset;
    ``check_images``: every frame's image must exist."""
    store = Store.open(project_dir)
    project = store.dir.resolve()
    schema = get_schema(store.meta()["schema"])
    frames = [f for f in store.frames() if f["reviewed"] or not only_reviewed]
    if not frames:
        what = "reviewed frames (press Enter on a frame to mark it reviewed)" if only_reviewed \
            else "frames"
        raise InputError(store.dir, f"label project has no {what}")
    k = schema.num_keypoints
    index = {f["id"]: i for i, f in enumerate(frames)}
    data = Poses.empty(schema, len(frames), 1).data
    vis = np.zeros((len(frames), 1, k), dtype=int)
    for p in store.points_table():
        i = index.get(p["frame_id"])
        if i is None or p["v"] == 0 or p["x"] is None or p["y"] is None:
            continue
        data[i, 0, p["k"]] = (p["x"], p["y"], 1.0)
        vis[i, 0, p["k"]] = p["v"]
    sizes = [(int(f["width"]), int(f["height"])) for f in frames]
    boxes = np.stack([_box(data[i, 0, vis[i, 0] > 0, :2], sizes[i])
                      for i in range(len(frames))])[:, None]
    names = [_image_name(f["image"], project) for f in frames]
    if check_images:
        for name in names:
            if not (project / name).is_file():
                raise InputError(store.path, f"image not found: {project / name}")
    same = len(set(sizes)) == 1
    poses = Poses(data, schema, source=str(project), frame_names=names,
                  frame_size=sizes[0] if same else None, image_sizes=None if same else sizes)
    fields = [{"label_source": Path(f["source"]).name, "label_frame_index": f["frame_index"],
               "label_queue": f["queue"], "label_reason": f["reason"],
               "label_reviewed": bool(f["reviewed"])} for f in frames]
    meta = {"source_file": str(project), "format": "label-project", "image_fields": fields}
    return LabeledDataset(poses, vis, boxes, project, ["real"] * len(frames), meta)


def read_project(project_dir: str | os.PathLike, check_images: bool = True) -> LabeledDataset:
    """The reviewed frames of a project, as ``read_labels`` returns labels."""
    return project_dataset(project_dir, only_reviewed=True, check_images=check_images)
