"""A label project exported as labels: COCO keypoint JSON or LabelMe files.

One person per frame, as :func:`infantpose.io.label_project.project_dataset` reads the project
(labelled points, boxes around them, where each frame came from and why it was chosen). Image
paths are written relative to the output file, so ``read_coco``/``read_labelme`` find the images
wherever the export is written. ``project_dataset`` and ``read_project`` stay importable from
here.
"""

from __future__ import annotations

import os
from pathlib import Path

from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.io.coco import write_coco
from infantpose.io.label_project import BOX_MARGIN, project_dataset, read_project
from infantpose.io.labelme import write_labelme

__all__ = ["BOX_MARGIN", "FORMATS", "export_project", "project_dataset", "project_to_coco",
           "read_project"]

FORMATS = ("coco", "labelme")


def export_project(project_dir: str | os.PathLike, dst: str | os.PathLike, to: str = "coco",
                   only_reviewed: bool = False) -> tuple[list[Path], LabeledDataset]:
    """Write the project's labels as COCO JSON (``dst`` a .json file) or LabelMe files (``dst``
    a folder); every file is written atomically. Returns the files and the dataset written."""
    fmt = to.lower()
    if fmt not in FORMATS:
        raise InputError(None, f"--to must be coco or labelme, not {to!r}")
    out = Path(dst)
    if fmt == "coco" and out.suffix.lower() != ".json":
        raise InputError(out, "--to coco writes a .json file")
    if fmt == "labelme" and out.exists() and not out.is_dir():
        raise InputError(out, "--to labelme writes into a folder, and this is a file")
    ds = project_dataset(project_dir, only_reviewed)
    if fmt == "coco":
        return [write_coco(ds, out)], ds

    return write_labelme(ds, out), ds


def project_to_coco(project_dir: str | os.PathLike, path: str | os.PathLike | None = None,
                    only_reviewed: bool = True) -> Path:
    """The project's reviewed labels as a COCO file (default ``PROJECT/export/labels.json``),
    for tools that take a COCO path; returns the path."""
    target = Path(path) if path is not None else Path(project_dir) / "export" / "labels.json"
    files, _ = export_project(project_dir, target, "coco", only_reviewed)
    return files[0]
