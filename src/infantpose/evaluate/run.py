"""Run an estimator on labelled images, producing :class:`Predictions` aligned to the labels.

The images go through the one frame loop (:func:`infantpose.frames.run_frames`), each on its
own (:func:`~infantpose.frames.per_image`), with the labelled person boxes when asked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

import numpy as np

from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.evaluate.predictions import Predictions, predictions_from_poses
from infantpose.frames import Frame, per_image, run_frames, stack_images
from infantpose.io.frames import image_frames

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
    def boxes(frame: Frame) -> np.ndarray | None:  # the labelled boxes as x1, y1, x2, y2
        b = gt.boxes[frame.index]
        b = b[~np.isnan(b).any(-1)]
        return np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1) if len(b) else None

    frames = image_frames(list(gt.image_paths), pixels=images)
    results = run_frames(frames, per_image(estimator, boxes if use_gt_boxes else None),
                         on_frame=(lambda f, _p: progress(f.index)) if progress else None)
    if not results:
        raise InputError(gt.meta.get("source_file"), "no labelled images to predict")
    poses = stack_images(results, gt.image_names, source=getattr(estimator, "name", None))
    return predictions_from_poses(poses, gt, source=f"model:{getattr(estimator, 'name', '?')}")
