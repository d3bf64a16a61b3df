"""COCO keypoint AP/AR via pycocotools, with the schema's own OKS sigmas.

We build the ground-truth and result dicts in memory (only the scored keypoints) and run the
official ``COCOeval`` with ``iouType="keypoints"`` and ``params.kpt_oks_sigmas`` set to the
per-keypoint sigmas of the ground-truth schema, so numbers are comparable with FiDIP's AP on
SyRIP (seed ``003_``) when the schema is COCO-17.
"""

from __future__ import annotations

import contextlib
import io

import numpy as np

__all__ = ["coco_keypoint_ap", "AP_KEYS"]

#: Names of ``COCOeval.stats`` for keypoints, in order.
AP_KEYS = ("AP", "AP50", "AP75", "APm", "APl", "AR", "AR50", "AR75", "ARm", "ARl")


def coco_keypoint_ap(gt_xy: np.ndarray, gt_vis: np.ndarray, gt_boxes: np.ndarray,
                     gt_areas: np.ndarray, image_sizes: list[tuple[int, int]],
                     pred_xy: np.ndarray, pred_kp_scores: np.ndarray, pred_scores: np.ndarray,
                     sigmas: np.ndarray) -> dict[str, float]:
    """COCO keypoint AP/AR of predictions against labels.

    Args:
        gt_xy: (F, N, K, 2) labelled coordinates; gt_vis: (F, N, K) COCO visibility 0/1/2.
        gt_boxes: (F, N, 4) x, y, w, h (NaN rows are padding); gt_areas: (F, N) OKS area.
        image_sizes: (width, height) per image.
        pred_xy: (F, M, K, 2) (NaN = not predicted); pred_kp_scores: (F, M, K);
        pred_scores: (F, M) instance scores (NaN = padding).
        sigmas: (K,) OKS sigmas.

    Returns the ten ``COCOeval.stats`` under :data:`AP_KEYS` (``-1`` where pycocotools has
    nothing to average, e.g. no "medium" people).
    """
    # imported here: pycocotools loads when COCO AP is computed, not with the other metrics
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    f, n, k = gt_vis.shape
    images, anns = [], []
    aid = 1
    for i in range(f):
        w, h = image_sizes[i]
        images.append({"id": i + 1, "width": int(w), "height": int(h)})
        for j in range(n):
            lab = gt_vis[i, j] > 0
            if np.isnan(gt_boxes[i, j]).any() and not lab.any():
                continue
            kps = np.zeros((k, 3))
            kps[lab, :2] = gt_xy[i, j, lab]
            kps[lab, 2] = gt_vis[i, j, lab]
            box = gt_boxes[i, j]
            if np.isnan(box).any():
                xy = gt_xy[i, j, lab]
                box = np.array([*xy.min(0), *(xy.max(0) - xy.min(0))])
            anns.append({"id": aid, "image_id": i + 1, "category_id": 1, "iscrowd": 0,
                         "keypoints": kps.ravel().tolist(), "num_keypoints": int(lab.sum()),
                         "bbox": [float(b) for b in box], "area": float(gt_areas[i, j])})
            aid += 1
    results = []
    for i in range(f):
        for j in range(pred_xy.shape[1]):
            if np.isnan(pred_scores[i, j]):
                continue
            kp = np.zeros((k, 3))
            have = ~np.isnan(pred_xy[i, j]).any(-1)
            if not have.any():
                continue
            kp[have, :2] = pred_xy[i, j, have]
            kp[have, 2] = np.nan_to_num(pred_kp_scores[i, j, have])
            results.append({"image_id": i + 1, "category_id": 1,
                            "keypoints": kp.ravel().tolist(), "score": float(pred_scores[i, j])})
    if not anns:
        return {key: float("nan") for key in AP_KEYS}
    if not results:
        return {key: 0.0 for key in AP_KEYS}
    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        gt = COCO()
        gt.dataset = {"images": images, "annotations": anns,
                      "categories": [{"id": 1, "name": "person", "supercategory": "person",
                                      "keypoints": [str(x) for x in range(k)], "skeleton": []}]}
        gt.createIndex()
        dt = gt.loadRes(results)
        ev = COCOeval(gt, dt, iouType="keypoints")
        ev.params.kpt_oks_sigmas = np.asarray(sigmas, dtype=float)
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return {key: float(v) for key, v in zip(AP_KEYS, ev.stats)}
