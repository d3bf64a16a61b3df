"""How long scoring takes: ``evaluate_predictions`` (COCO AP via pycocotools + PCKsh, mKS, bbox
PCK, per-keypoint and per-region tables) on random infant-22 labels with noisy predictions.

Run: ``.venv/bin/python benchmarks/evaluate_speed.py`` (prints a markdown table).
"""

from __future__ import annotations

import time

import numpy as np

from infantpose.datasets import LabeledDataset
from infantpose.evaluate import evaluate_predictions, predictions_from_poses
from infantpose.poses import Poses
from infantpose.schemas import INFANT22


def case(n_images: int, n_people: int, noise: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    k = INFANT22.num_keypoints
    data = np.ones((n_images, n_people, k, 3))
    centres = rng.uniform(100, 500, (n_images, n_people, 1, 2))
    data[..., :2] = centres + rng.normal(0, 60, (n_images, n_people, k, 2))
    vis = np.full((n_images, n_people, k), 2)
    xy = data[..., :2]
    boxes = np.concatenate([xy.min(2), xy.max(2) - xy.min(2)], axis=-1)
    names = [f"{i:05d}.jpg" for i in range(n_images)]
    gt = LabeledDataset(Poses(data, INFANT22, frame_names=names, frame_size=(640, 480)), vis,
                        boxes, ".", ["real"] * n_images)
    pred = data.copy()
    pred[..., :2] += rng.normal(0, noise, pred[..., :2].shape)
    return gt, predictions_from_poses(Poses(pred, INFANT22, frame_names=names), gt)


def main() -> None:
    print("| images | people/image | noise (px) | seconds | AP | PCKsh@0.1 | mKS |")
    print("|---|---|---|---|---|---|---|")
    for n_images, n_people in ((100, 1), (1000, 1), (1000, 2)):
        gt, preds = case(n_images, n_people, noise=5.0)
        t0 = time.perf_counter()
        r = evaluate_predictions(gt, preds)
        dt = time.perf_counter() - t0
        m = r.metrics
        print(f"| {n_images} | {n_people} | 5 | {dt:.2f} | {m['AP']:.3f} | "
              f"{m['PCKsh@0.1']:.3f} | {m['mKS']:.3f} |")


if __name__ == "__main__":
    main()
