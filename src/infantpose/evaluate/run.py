"""Run an estimator on labelled images, producing :class:`Predictions` aligned to the labels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.evaluate.predictions import Predictions, predictions_from_poses
from infantpose.io.images import read_image
from infantpose.poses import Poses

__all__ = ["predict_dataset"]


def predict_dataset(estimator: Any, gt: LabeledDataset, use_gt_boxes: bool = True,
                    progress: Callable[[int], None] | None = None,
                    images: Sequence[np.ndarray] | None = None) -> Predictions:
    """Predict every labelled image with ``estimator``.

    With ``use_gt_boxes`` the labelled person boxes are passed as ``boxes`` (x1, y1, x2, y2), the
    usual top-down protocol (COCO/FiDIP evaluate keypoints given the person box); otherwise the
    estimator finds people itself. ``progress(i)`` is called after each image. ``images``
    gives the decoded images (e.g. in-memory renders) instead of reading ``gt.image_paths``.
    """
    frames = []
    for i, path in enumerate(gt.image_paths):
        image = images[i] if images is not None else read_image(path)
        boxes = None
        if use_gt_boxes:
            b = gt.boxes[i]
            b = b[~np.isnan(b).any(-1)]
            if len(b):
                boxes = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1)
        out = estimator.predict(image, boxes)
        if not isinstance(out, Poses) or out.n_frames != 1:
            raise InputError(None, f"estimator {getattr(estimator, 'name', estimator)!r} must "
                                   "return a one-frame Poses")
        frames.append(out)
        if progress is not None:
            progress(i)
    if not frames:
        raise InputError(gt.meta.get("source_file"), "no labelled images to predict")
    poses = Poses.concat(frames, frame_names=gt.image_names,
                         source=getattr(estimator, "name", None))
    return predictions_from_poses(poses, gt, source=f"model:{getattr(estimator, 'name', '?')}")
