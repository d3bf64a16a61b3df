"""Score predictions against labels: every metric, per keypoint and per body region.

:func:`evaluate_predictions` converts the predictions into the ground truth's schema (with the
registered keypoint mapping, or by keypoint name), scores only the keypoints that *both* sides
define (the model provides and predicts them, and at least one is labelled), matches predicted
people to labelled people by OKS, and computes COCO AP/AR, PCKsh, mKS and bbox PCK. So a COCO-17 model is
scored against infant-22 labels on their shared body keypoints, and the result says which
keypoints were scored and why the others were not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.evaluate import metrics as M
from infantpose.evaluate.coco_ap import coco_keypoint_ap
from infantpose.evaluate.predictions import Predictions
from infantpose.schemas import Mapping, Schema, get_mapping

__all__ = ["EvalResult", "evaluate_predictions", "scored_keypoints", "mapping_to"]


@dataclass
class EvalResult:
    """Metrics of one model on one labelled set."""

    name: str
    metrics: dict[str, float]
    per_keypoint: Any  # pandas.DataFrame
    per_region: Any  # pandas.DataFrame
    scored: list[str]
    not_scored: dict[str, str]
    counts: dict[str, int]
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        def clean(v: Any) -> Any:
            return None if isinstance(v, float) and not np.isfinite(v) else v

        return {
            "name": self.name,
            "metrics": {k: clean(v) for k, v in self.metrics.items()},
            "scored_keypoints": self.scored,
            "not_scored": self.not_scored,
            "counts": self.counts,
            "settings": self.settings,
            "per_region": [{k: clean(v) for k, v in r.items()}
                           for r in self.per_region.to_dict(orient="records")],
        }


def mapping_to(source: Schema, target: Schema) -> Mapping:
    """The registered mapping, else a by-name mapping (shared names copied, others missing)."""
    try:
        return get_mapping(source, target)
    except InputError:
        names = set(source.keypoints)
        return Mapping(source, target, tuple((t,) if t in names else () for t in target.keypoints))


def scored_keypoints(gt: LabeledDataset, pred_schema: Schema,
                     predicted: np.ndarray | None = None) -> tuple[list[str], dict[str, str]]:
    """Ground-truth keypoints to score, and the reason each other keypoint is not scored.

    A keypoint is scored when the model's schema provides it (directly or via the keypoint
    mapping), the model predicted it in at least one image (``predicted``, a (K_gt,) mask; a
    predictions file in infant-22 written from a BlazePose model never has a vertex, so the
    vertex is not the model's), and it is labelled at least once. If the model predicted
    nothing at all, every provided keypoint is scored (all misses).
    """
    mapping = mapping_to(pred_schema, gt.schema)
    provided = set(mapping.provided)
    if predicted is not None and not any(
            predicted[gt.schema.index(k)] for k in provided):
        predicted = None
    labelled = (gt.visibility > 0).any(axis=(0, 1)) if len(gt) else np.zeros(len(gt.schema), bool)
    scored, skipped = [], {}
    for i, name in enumerate(gt.schema.keypoints):
        if name not in provided:
            skipped[name] = f"model schema {pred_schema.name} does not provide it"
        elif predicted is not None and not predicted[i]:
            skipped[name] = "the model never predicted it"
        elif not labelled[i]:
            skipped[name] = "never labelled in the ground truth"
        else:
            scored.append(name)
    return scored, skipped


def _areas(gt: LabeledDataset) -> np.ndarray:
    """OKS area per labelled person: the COCO ``area`` when the labels had one, else the box
    width x height."""
    f, n = gt.boxes.shape[:2]
    out = np.nan_to_num(gt.boxes[..., 2] * gt.boxes[..., 3], nan=0.0)
    given = gt.meta.get("areas")
    if isinstance(given, list) and len(given) == f:
        for i, row in enumerate(given):
            for j, a in enumerate(row[:n] if isinstance(row, list) else []):
                if a is not None:
                    out[i, j] = float(a)
    return out


def _sizes(gt: LabeledDataset) -> list[tuple[int, int]]:
    return gt.poses.sizes() or [(0, 0)] * len(gt)


def evaluate_predictions(gt: LabeledDataset, preds: Predictions, name: str = "model",
                         lam: float = M.MKS_LAMBDA, betas: tuple[float, ...] = M.PCKSH_BETAS,
                         alphas: tuple[float, ...] = M.BBOX_ALPHAS) -> EvalResult:
    """All metrics of ``preds`` against ``gt`` (see the module docstring)."""
    # imported here: pandas (about 1 s) loads when scores are tabled; training imports this module
    import pandas as pd

    if preds.poses.n_frames != len(gt):
        raise InputError(preds.source, "predictions are not aligned to the labelled images")
    schema = gt.schema
    mapping = mapping_to(preds.schema, schema)
    pred_full = mapping.apply(preds.poses.data)  # (F, M, K_gt, 3)
    predicted = (~np.isnan(pred_full[..., 0])).any(axis=(0, 1))
    scored, not_scored = scored_keypoints(gt, preds.schema, predicted)
    if not scored:
        raise InputError(preds.source, f"no keypoint is both predicted (schema "
                                       f"{preds.schema.name}) and labelled (schema {schema.name})")
    idx = np.array([schema.index(k) for k in scored])
    pred = pred_full[:, :, idx]
    gt_xy_full = gt.poses.xy
    vis_full = gt.visibility
    gt_xy, gt_vis = gt_xy_full[:, :, idx], vis_full[:, :, idx]
    lab = gt_vis > 0
    sigmas = schema.sigma_array[idx]
    areas = _areas(gt)
    f, n, k = lab.shape

    errors = np.full((f, n, k), np.inf)
    matched = np.full((f, n), -1)
    for i in range(f):
        m = M.match_instances(gt_xy[i], lab[i], areas[i], pred[i, :, :, :2],
                              preds.instance_scores[i], sigmas)
        matched[i] = m
        errors[i] = M.keypoint_errors(gt_xy[i], pred[i, :, :, :2], m)

    s_len = M.standardized_length(gt_xy_full, vis_full > 0, schema)[..., None]  # (F, N, 1)
    box_len = np.fmax(gt.boxes[..., 2], gt.boxes[..., 3])[..., None]
    box_len = np.where(box_len > 0, box_len, np.nan)

    ap = coco_keypoint_ap(gt_xy, gt_vis, gt.boxes, areas, _sizes(gt), pred[..., :2],
                          pred[..., 2], preds.instance_scores, sigmas)
    metrics: dict[str, float] = dict(ap)
    for b in betas:
        metrics[f"PCKsh@{b:g}"] = M.pck(errors, s_len, lab, b)
    metrics["mKS"] = M.mks(errors, s_len, lab, lam)
    for a in alphas:
        metrics[f"PCK@{a:g}bbox"] = M.pck(errors, box_len, lab, a)

    rows = []
    regions = [schema.regions[i] for i in idx]
    for j, kname in enumerate(scored):
        e, v = errors[:, :, j], lab[:, :, j]
        row: dict[str, Any] = {"keypoint": kname, "region": regions[j], "labelled": int(v.sum())}
        for b in betas:
            row[f"PCKsh@{b:g}"] = M.pck(e, s_len[..., 0], v, b)
        row["mKS"] = M.mks(e, s_len[..., 0], v, lam)
        for a in alphas:
            row[f"PCK@{a:g}bbox"] = M.pck(e, box_len[..., 0], v, a)
        row["missed"] = float(np.isinf(e[v]).mean()) if v.any() else float("nan")
        rows.append(row)
    per_kp = pd.DataFrame(rows)
    reg_rows = []
    for region in dict.fromkeys(regions):
        sel = np.array([r == region for r in regions])
        e, v = errors[:, :, sel], lab[:, :, sel]
        row = {"region": region, "keypoints": int(sel.sum()), "labelled": int(v.sum())}
        for b in betas:
            row[f"PCKsh@{b:g}"] = M.pck(e, s_len, v, b)
        row["mKS"] = M.mks(e, s_len, v, lam)
        for a in alphas:
            row[f"PCK@{a:g}bbox"] = M.pck(e, box_len, v, a)
        reg_rows.append(row)
    per_region = pd.DataFrame(reg_rows)

    people = lab.any(-1)
    counts = {
        "images": int(f),
        "labelled_people": int(people.sum()),
        "matched_people": int(((matched >= 0) & people).sum()),
        "predicted_people": int((~np.isnan(preds.instance_scores)).sum()),
        "people_without_S": int((people & np.isnan(s_len[..., 0])).sum()),
        "labelled_keypoints": int(lab.sum()),
        "unmatched_prediction_files": len(preds.unmatched),
    }
    settings = {
        "gt_schema": schema.name, "pred_schema": preds.schema.name,
        "mks_lambda": lam, "pcksh_betas": list(betas), "bbox_alphas": list(alphas),
        "oks_sigmas": {kname: float(s) for kname, s in zip(scored, sigmas)},
        "derived_keypoints": [d for d in mapping.derived if d in scored],
        "predictions": preds.source,
    }
    return EvalResult(name, metrics, per_kp, per_region, scored, not_scored, counts, settings)
