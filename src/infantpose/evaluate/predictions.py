"""Load model predictions and line them up with the ground-truth images.

Three inputs are understood:

(a) the ``predictions.json`` that ``infantpose predict`` writes for images: a JSON *list* of COCO
    keypoint results, each with ``file_name`` (or ``image_id``), ``keypoints`` as
    ``[x, y, score] * K`` (a missing keypoint is ``0, 0, 0``), ``score``, ``bbox`` and ``schema``
    (read by :mod:`infantpose.io.coco_results`);
(b) a COCO keypoint JSON with labels (e.g. another annotator's, or a model's output saved as
    labels): every annotation is an instance with score 1;
(c) an infantpose Poses JSON whose ``frame_names`` are the image names.

Predictions are matched to ground-truth images by file name: the exact relative path, then the
path relative to the labels' root, then the bare file name when that is unambiguous.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.io.coco import is_coco_json, read_coco
from infantpose.io.coco_results import parse_coco_results
from infantpose.io.jsonfile import read_json
from infantpose.poses import Poses
from infantpose.schemas import Schema, get_schema

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


def _from_results(results: list, gt: LabeledDataset, path: Path,
                  schema: str | Schema | None) -> Predictions:
    """Predictions from a loaded COCO results list (parsed by :mod:`infantpose.io.coco_results`)."""
    match = ImageMatcher(gt)
    per_image: list[list[tuple[np.ndarray, float]]] = [[] for _ in range(len(gt))]
    unmatched: list[str] = []
    entries = parse_coco_results(results, path, schema)
    for e in entries:
        i = match(e.file_name, e.image_id)
        if i is None:
            unmatched.append(str(e.file_name if e.file_name is not None else e.image_id))
            continue
        if e.empty:
            continue
        per_image[i].append((e.keypoints, e.score))
    sch = entries[0].schema if entries else (get_schema(schema) if schema else gt.schema)
    return _stack(per_image, sch, gt, str(path), sorted(set(unmatched)))


def load_predictions(path: str | os.PathLike, gt: LabeledDataset,
                     schema: str | Schema | None = None) -> Predictions:
    """Read predictions in any of the three formats and align them to ``gt``'s images."""
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
