"""``read_labels``: open any supported label format by looking at what the path holds.

- a ``.json`` file with ``images``/``annotations``/``categories``: COCO keypoints;
- a ``.json`` file with ``shapes`` and ``imagePath``: one LabelMe file;
- a folder of ``.json`` files: LabelMe (one file per image); a folder holding one COCO file is
  read as that file;
- a ``.csv`` whose first header row is ``scorer``: DeepLabCut ``CollectedData``;
- a folder holding ``label.sqlite``: an ``infantpose label`` project (its reviewed frames).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.io.coco import is_coco_json, read_coco
from infantpose.io.dlc import is_dlc_csv, read_dlc
from infantpose.io.jsonfile import read_json
from infantpose.io.label_project import read_project
from infantpose.io.label_store import is_project
from infantpose.io.labelme import is_labelme_json, read_labelme
from infantpose.schemas import Schema, get_schema

__all__ = ["detect_format", "read_labels"]


def _peek_json(path: Path) -> Any:
    return read_json(path)


def detect_format(path: str | os.PathLike) -> str:
    """``"coco"``, ``"labelme"``, ``"dlc"`` or ``"label-project"`` for a labels path;
    InputError if unrecognised."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "not found")
    if p.is_dir():
        if is_project(p):
            return "label-project"
        jsons = sorted(q for q in p.glob("*.json") if not q.name.startswith("."))
        if not jsons:
            csvs = sorted(p.glob("CollectedData*.csv"))
            if len(csvs) == 1:
                return "dlc"
            raise InputError(p, "folder holds no label files (LabelMe .json or "
                                "DeepLabCut CollectedData*.csv)")
        first = _peek_json(jsons[0])
        if len(jsons) == 1 and is_coco_json(first):
            return "coco"
        if is_labelme_json(first):
            return "labelme"
        raise InputError(jsons[0], "not a LabelMe file (needs 'shapes' and 'imagePath')")
    suffix = p.suffix.lower()
    if suffix == ".json":
        d = _peek_json(p)
        if is_coco_json(d):
            return "coco"
        if is_labelme_json(d):
            return "labelme"
        if isinstance(d, dict) and d.get("format") == "infantpose.poses":
            raise InputError(p, "this is an infantpose poses file (predictions), not labels")
        raise InputError(p, "unrecognised JSON labels: expected COCO keypoints (images, "
                            "annotations, categories) or LabelMe (shapes, imagePath)")
    if suffix == ".csv":
        if is_dlc_csv(p):
            return "dlc"
        raise InputError(p, "unrecognised CSV labels: expected a DeepLabCut CollectedData CSV")
    if suffix in (".h5", ".hdf5"):
        raise InputError(p, "DeepLabCut .h5 is not read directly; use the CollectedData .csv "
                            "beside it")
    raise InputError(p, "unrecognised labels file (supported: COCO .json, LabelMe .json or "
                        "folder, DeepLabCut .csv)")


def read_labels(path: str | os.PathLike, schema: str | Schema | None = None,
                images_root: str | os.PathLike | None = None, check_images: bool = True,
                mapping: dict[str, str] | None = None) -> LabeledDataset:
    """Read labels in any supported format into a ``LabeledDataset``.

    ``schema``, when given, converts the result to that schema (missing keypoints stay
    unlabelled); for LabelMe and DeepLabCut it also names the schema the labels are in when the
    label names alone do not say. ``mapping`` renames LabelMe labels / DeepLabCut body parts to
    keypoint names.
    """
    p = Path(path)
    fmt = detect_format(p)
    if fmt == "coco":
        target = p
        if p.is_dir():
            target = sorted(q for q in p.glob("*.json") if not q.name.startswith("."))[0]
        ds = read_coco(target, images_root=images_root, check_images=check_images)
    elif fmt == "label-project":
        ds = read_project(p, check_images=check_images)
    elif fmt == "labelme":
        ds = _with_schema_fallback(lambda s: read_labelme(p, schema=s, label_map=mapping,
                                                          check_images=check_images), schema)
    else:
        target = p if p.is_file() else sorted(p.glob("CollectedData*.csv"))[0]
        ds = _with_schema_fallback(lambda s: read_dlc(target, schema=s, mapping=mapping,
                                                      images_root=images_root,
                                                      check_images=check_images), schema)
    if schema is not None and ds.schema.name != get_schema(schema).name:
        ds = ds.convert(schema)
    return ds


def _with_schema_fallback(read, schema):
    """Read with the labels' own schema; if the names alone do not identify one, use ``schema``."""
    try:
        return read(None)
    except InputError:
        if schema is None:
            raise
        return read(schema)
