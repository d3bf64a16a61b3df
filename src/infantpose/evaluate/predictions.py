"""Load model predictions and line them up with the ground-truth images.

Three inputs are understood:

(a) the ``predictions.json`` that ``infantpose predict`` writes for images: a JSON *list* of COCO
    keypoint results, each with ``file_name`` (or ``image_id``), ``keypoints`` as
    ``[x, y, score] * K`` (a missing keypoint is ``0, 0, 0``), ``score``, ``bbox`` and ``schema``;
(b) a COCO keypoint JSON with labels (e.g. another annotator's, or a model's output saved as
    labels): every annotation is an instance with score 1;
(c) an infantpose Poses JSON whose ``frame_names`` are the image names.

Predictions are matched to ground-truth images by file name: the exact relative path, then the
path relative to the labels' root, then the bare file name when that is unambiguous.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.io.jsonfile import read_json
from infantpose.poses import Poses
from infantpose.schemas import SCHEMAS, Schema, get_schema

__all__ = ["ImageMatcher", "Predictions", "load_predictions", "predictions_from_poses"]


@dataclass
class Predictions:
    """Predicted instances per ground-truth image, in the model's own schema.

    ``poses`` has one frame per ground-truth image (same order); ``instance_scores`` (F, M) ranks
    instances for COCO AP (NaN for padding slots).
    """

    poses: Poses
    instance_scores: np.ndarray
    source: str
    unmatched: list[str] = field(default_factory=list)

    @property
    def schema(self) -> Schema:
        return self.poses.schema


class ImageMatcher:
    """Finds the ground-truth image index for a predicted file name."""

    def __init__(self, gt: LabeledDataset):
        self.exact = {n: i for i, n in enumerate(gt.image_names)}
        self.resolved = {str(p.resolve()): i for i, p in enumerate(gt.image_paths)}
        by_base: dict[str, list[int]] = {}
        for i, n in enumerate(gt.image_names):
            by_base.setdefault(os.path.basename(n), []).append(i)
        self.base = {b: ids[0] for b, ids in by_base.items() if len(ids) == 1}
        self.root = gt.root
        self.ids = {v: i for i, v in enumerate(gt.meta.get("coco_image_ids") or [])}

    def __call__(self, name: str | None, image_id: Any = None) -> int | None:
        if name is not None:
            name = str(name).replace("\\", "/")
            if name in self.exact:
                return self.exact[name]
            p = Path(name)
            cand = p if p.is_absolute() else self.root / p
            hit = self.resolved.get(str(cand.resolve()))
            if hit is not None:
                return hit
            hit = self.base.get(os.path.basename(name))
            if hit is not None:
                return hit
            return None
        if image_id is not None:
            return self.ids.get(image_id)
        return None


def _stack(per_image: list[list[tuple[np.ndarray, float]]], schema: Schema, gt: LabeledDataset,
           source: str, unmatched: list[str]) -> Predictions:
    m = max((len(x) for x in per_image), default=0)
    f, k = len(per_image), schema.num_keypoints
    data = np.full((f, m, k, 3), np.nan)
    data[..., 2] = 0.0
    scores = np.full((f, m), np.nan)
    for i, inst in enumerate(per_image):
        inst = sorted(inst, key=lambda t: -t[1])
        for j, (kp, s) in enumerate(inst):
            data[i, j], scores[i, j] = kp, s
    poses = Poses(data, schema, source=source, frame_names=gt.image_names)
    return Predictions(poses, scores, source, unmatched)


def _instance_score(kp: np.ndarray) -> float:
    vis = ~np.isnan(kp[:, 0])
    return float(kp[vis, 2].mean()) if vis.any() else 0.0


def predictions_from_poses(poses: Poses, gt: LabeledDataset, source: str = "poses"
                           ) -> Predictions:
    """Predictions from a Poses whose ``frame_names`` name the ground-truth images."""
    if poses.frame_names is None:
        if poses.n_frames != len(gt):
            raise InputError(source, "poses have no frame_names and a different number of "
                                     f"frames ({poses.n_frames}) than the labels ({len(gt)})")
        names = gt.image_names
    else:
        names = poses.frame_names
    match = ImageMatcher(gt)
    per_image: list[list[tuple[np.ndarray, float]]] = [[] for _ in range(len(gt))]
    unmatched = []
    for fi, name in enumerate(names):
        i = match(name)
        if i is None:
            unmatched.append(name)
            continue
        for kp in poses.data[fi]:
            if (~np.isnan(kp[:, 0])).any():
                per_image[i].append((kp, _instance_score(kp)))
    return _stack(per_image, poses.schema, gt, source, unmatched)


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


def _from_results(results: list, gt: LabeledDataset, path: Path,
                  schema: str | Schema | None) -> Predictions:
    match = ImageMatcher(gt)
    per_image: list[list[tuple[np.ndarray, float]]] = [[] for _ in range(len(gt))]
    unmatched: list[str] = []
    sch: Schema | None = None
    for j, e in enumerate(results):
        if not isinstance(e, dict) or "keypoints" not in e:
            raise InputError(path, f"prediction [{j}] lacks 'keypoints'")
        if "file_name" not in e and "image_id" not in e:
            raise InputError(path, f"prediction [{j}] lacks 'file_name' and 'image_id'")
        kp = e["keypoints"]
        if not isinstance(kp, list) or len(kp) % 3:
            raise InputError(path, f"prediction [{j}]: 'keypoints' must be a list of x, y, score")
        try:
            arr = np.asarray([np.nan if v is None else v for v in kp], dtype=float).reshape(-1, 3)
        except (TypeError, ValueError):
            raise InputError(path, f"prediction [{j}]: non-numeric keypoints") from None
        s = _schema_for(e, len(arr), schema, path)
        if sch is None:
            sch = s
        elif s.name != sch.name:
            raise InputError(path, f"predictions mix schemas {sch.name} and {s.name}")
        missing = ((arr[:, 0] == 0) & (arr[:, 1] == 0) & (arr[:, 2] == 0)) | np.isnan(arr).any(1)
        arr[missing] = (np.nan, np.nan, 0.0)
        if np.isinf(arr).any():
            raise InputError(path, f"prediction [{j}]: infinite coordinates")
        i = match(e.get("file_name"), e.get("image_id"))
        if i is None:
            unmatched.append(str(e.get("file_name", e.get("image_id"))))
            continue
        if missing.all():
            continue
        score = e.get("score")
        score = float(score) if isinstance(score, (int, float)) and math.isfinite(score) \
            else _instance_score(arr)
        per_image[i].append((arr, score))
    if sch is None:
        sch = get_schema(schema) if schema else gt.schema
    return _stack(per_image, sch, gt, str(path), sorted(set(unmatched)))


def load_predictions(path: str | os.PathLike, gt: LabeledDataset,
                     schema: str | Schema | None = None) -> Predictions:
    """Read predictions in any of the three formats and align them to ``gt``'s images."""
    from infantpose.io.coco import is_coco_json, read_coco

    p = Path(path)
    d = read_json(p)
    if isinstance(d, list):
        return _from_results(d, gt, p, schema)
    if isinstance(d, dict) and d.get("format") == "infantpose.poses":
        return predictions_from_poses(Poses.from_dict(d, p), gt, str(p))
    if is_coco_json(d):
        labels = read_coco(p, check_images=False)
        preds = predictions_from_poses(labels.poses, gt, str(p))
        preds.instance_scores = np.where(np.isnan(preds.instance_scores), np.nan, 1.0)
        return preds
    raise InputError(p, "unrecognised predictions: expected a JSON list of COCO keypoint "
                        "results, a COCO keypoint file, or an infantpose poses JSON")
