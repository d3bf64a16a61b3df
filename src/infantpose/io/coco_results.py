"""COCO keypoint *results*: the ``predictions.json`` that ``infantpose predict`` writes for images.

A results file is a JSON list with one entry per image and detected instance, as COCO's
``loadRes`` and the field's evaluation scripts expect::

    {"image_id": 1, "category_id": 1, "keypoints": [x, y, score] * K, "score": s,
     "bbox": [x, y, w, h], "file_name": "a.jpg", "schema": "coco17"}

A missing keypoint is written ``0, 0, 0`` (COCO has no NaN) and read back as missing. infantpose
adds ``file_name`` (so results line up with images by name, not only by id) and ``schema`` (so a
reader knows the keypoint order), and may add per-instance fields such as ``rotation`` or
``path`` (which estimator path found the pose; :func:`instance_extras` takes them from the
poses' typed fields).

:func:`coco_results` builds the entries of one image, :func:`write_coco_results` writes a file
(atomically), :func:`read_coco_results` reads one back into :class:`ResultEntry` items, checked
value by value (one-line :class:`~infantpose.errors.InputError` naming the file otherwise).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infantpose import _atomic
from infantpose.errors import InputError
from infantpose.geometry import keypoint_xywh
from infantpose.io.coco import check_coco_results
from infantpose.io.jsonfile import read_json
from infantpose.poses import Poses
from infantpose.schemas import SCHEMAS, Schema, get_schema

__all__ = ["ResultEntry", "coco_results", "dumps_coco_results", "instance_extras",
           "instance_score", "read_coco_results", "write_coco_results"]


def instance_score(keypoints: np.ndarray) -> float:
    """Instance score: mean score of the keypoints the model provided (coordinates present)."""
    kp = np.asarray(keypoints, dtype=float)
    ok = ~np.isnan(kp[:, :2]).any(axis=1)
    return float(np.mean(kp[ok, 2])) if ok.any() else 0.0


def instance_extras(poses: Poses, frame: int = 0,
                    names: tuple[str, ...] = ("rotation", "path")) -> dict[str, list] | None:
    """The typed per-instance fields ``names`` of one frame as :func:`coco_results`' ``extra``
    (one JSON value per instance: unknown as null, whole numbers such as a rotation's degrees
    as integers), or None when the poses record none of them."""
    out: dict[str, list] = {}
    for name in names:
        arr = getattr(poses, name)
        if arr is None:
            continue
        vals = []
        for v in arr[frame]:
            if isinstance(v, (float, np.floating)):
                v = None if math.isnan(v) else int(v) if float(v).is_integer() else float(v)
            elif isinstance(v, np.bool_):
                v = bool(v)
            vals.append(v)
        out[name] = vals
    return out or None


def coco_results(image_id: int, file_name: str, keypoints: np.ndarray, schema_name: str,
                 image_size: tuple[int, int], extra: dict[str, Any] | None = None
                 ) -> list[dict[str, Any]]:
    """COCO keypoint-result entries for one image: one per instance with any keypoint.

    ``keypoints`` is (N, K, 3) in pixels; missing keypoints become 0, 0, 0 as COCO expects.
    ``bbox`` is the box around the present keypoints, clipped to the image. ``extra`` adds
    fields: a list value gives one item per instance, any other value is shared.
    """
    w, h = image_size
    entries = []
    for n, inst in enumerate(np.asarray(keypoints, dtype=float)):
        box = keypoint_xywh(inst)
        if box is None:
            continue
        x0, y0 = min(max(box[0], 0.0), w), min(max(box[1], 0.0), h)
        x1, y1 = min(max(box[0] + box[2], 0.0), w), min(max(box[1] + box[3], 0.0), h)
        flat = np.where(np.isnan(inst), 0.0, inst).copy()
        flat[np.isnan(inst[:, :2]).any(axis=1)] = 0.0
        entry = {
            "image_id": int(image_id),
            "file_name": file_name,
            "category_id": 1,
            "keypoints": [round(float(v), 3) for v in flat.reshape(-1)],
            "score": round(instance_score(inst), 6),
            "bbox": [round(x0, 3), round(y0, 3), round(x1 - x0, 3), round(y1 - y0, 3)],
            "schema": schema_name,
        }
        if extra:
            entry.update({k: (v[n] if isinstance(v, list) else v) for k, v in extra.items()})
        entries.append(entry)
    return entries


def dumps_coco_results(entries: list[dict[str, Any]]) -> str:
    """The JSON text of a results file: one entry per line (diff- and grep-friendly)."""
    return "[\n" + ",\n".join(json.dumps(e, allow_nan=False) for e in entries) + "\n]\n"


def write_coco_results(path: str | os.PathLike, entries: list[dict[str, Any]]) -> Path:
    """Write ``entries`` (from :func:`coco_results`) as a results file, atomically."""
    return _atomic.write_text(path, dumps_coco_results(entries))


@dataclass
class ResultEntry:
    """One predicted instance of a results file.

    ``keypoints`` is (K, 3) with missing keypoints as NaN, NaN, 0; ``score`` the instance score
    (the file's, else the mean score of the present keypoints); ``fields`` every other field of
    the entry (``bbox``, ``category_id``, ``rotation``, ...).
    """

    keypoints: np.ndarray
    schema: Schema
    score: float
    file_name: str | None = None
    image_id: Any = None
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        """True when no keypoint is present (COCO files may hold such entries)."""
        return bool(np.isnan(self.keypoints[:, 0]).all())


def _schema_for(entry: dict, k: int, fallback: str | Schema | None, path: Path) -> Schema:
    name = entry.get("schema") or fallback
    if name:
        s = get_schema(name)
        if s.num_keypoints != k:
            raise InputError(path, f"schema {s.name} has {s.num_keypoints} keypoints but a "
                                   f"prediction has {k}")
        return s
    fits = [s for s in SCHEMAS.values() if s.num_keypoints == k]
    if len(fits) != 1:
        raise InputError(path, f"cannot tell the schema of {k}-keypoint predictions; "
                               "add a 'schema' field or pass --pred-schema")
    return fits[0]


def parse_coco_results(results: list, path: str | os.PathLike,
                       schema: str | Schema | None = None) -> list[ResultEntry]:
    """:class:`ResultEntry` items of an already loaded results list (see
    :func:`read_coco_results`); all entries must share one schema."""
    p = Path(path)
    out: list[ResultEntry] = []
    sch: Schema | None = None
    for j, e in enumerate(results):
        if not isinstance(e, dict) or "keypoints" not in e:
            raise InputError(p, f"prediction [{j}] lacks 'keypoints'")
        if "file_name" not in e and "image_id" not in e:
            raise InputError(p, f"prediction [{j}] lacks 'file_name' and 'image_id'")
        kp = e["keypoints"]
        if not isinstance(kp, list) or len(kp) % 3:
            raise InputError(p, f"prediction [{j}]: 'keypoints' must be a list of x, y, score")
        try:
            arr = np.asarray([np.nan if v is None else v for v in kp], dtype=float).reshape(-1, 3)
        except (TypeError, ValueError):
            raise InputError(p, f"prediction [{j}]: non-numeric keypoints") from None
        s = _schema_for(e, len(arr), schema, p)
        if sch is None:
            sch = s
        elif s.name != sch.name:
            raise InputError(p, f"predictions mix schemas {sch.name} and {s.name}")
        missing = ((arr[:, 0] == 0) & (arr[:, 1] == 0) & (arr[:, 2] == 0)) | np.isnan(arr).any(1)
        arr[missing] = (np.nan, np.nan, 0.0)
        if np.isinf(arr).any():
            raise InputError(p, f"prediction [{j}]: infinite coordinates")
        score = e.get("score")
        score = float(score) if isinstance(score, (int, float)) and not isinstance(score, bool) \
            and math.isfinite(score) else instance_score(arr)
        name = e.get("file_name")
        out.append(ResultEntry(arr, s, score, None if name is None else str(name),
                               e.get("image_id"),
                               {k: v for k, v in e.items() if k not in
                                ("keypoints", "score", "file_name", "image_id", "schema")}))
    return out


def read_coco_results(path: str | os.PathLike, schema: str | Schema | None = None
                      ) -> list[ResultEntry]:
    """Read a COCO keypoint results file (a JSON list) into :class:`ResultEntry` items.

    ``schema`` names the keypoint order of entries without a ``schema`` field (by default the one
    known schema with that many keypoints). Values are checked (ids, numbers, file names; see
    :func:`infantpose.io.coco.check_coco_results`): a bad file raises InputError naming it.
    """
    p = Path(path)
    d = read_json(p)
    if not isinstance(d, list):
        raise InputError(p, "not a COCO results file (expected a JSON list of predictions)")
    check_coco_results(p)
    return parse_coco_results(d, p, schema)
