"""Pseudo-labels without human labels: test-time augmentation, agreement, temporal consistency.

The idea follows SuperAnimal's unsupervised video adaptation (Ye et al., Nature Communications
2024, seed ``002_``): a pretrained model labels the user's own frames, unreliable keypoints are
dropped, and the model is fine-tuned on what is left with masked losses. How keypoints are judged
reliable here is infantpose's own rule:

* **views**: the estimator sees each frame in 8 views (4 quarter turns × mirrored or not; a
  mirrored view has its left/right keypoints swapped back). Infants lie in every orientation, so
  a keypoint a pose model only finds in one orientation is a guess;
* **agreement**: a keypoint is kept when at least ``min_views`` views put it within ``tol`` of the
  body size of their consensus (the median), and its pseudo-label is the mean of those views;
* **time** (video): a kept keypoint that jumps away from the median of its neighbouring frames
  by more than ``tol`` body sizes is dropped too.

Functions take and return arrays; :func:`view_predictions` is the only one that runs a model.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from infantpose.geometry import body_size, rotate_image, unrotate_points
from infantpose.models.tta import mirror_back
from infantpose.schemas import Schema

__all__ = ["VIEWS", "PseudoLabel", "agreement", "temporal_mask", "view_predictions"]

#: (quarter turns counter-clockwise, mirrored) for the 8 views of a frame.
VIEWS: tuple[tuple[int, bool], ...] = tuple((k, m) for m in (False, True) for k in range(4))


def _view_image(image: np.ndarray, turns: int, mirror: bool) -> np.ndarray:
    """The view: the image mirrored left-right (when ``mirror``), then turned ``turns`` CCW
    quarter turns."""
    return np.ascontiguousarray(rotate_image(image[:, ::-1] if mirror else image, 90 * turns))


def _points_back(xy: np.ndarray, turns: int, mirror: bool, size: tuple[int, int]) -> np.ndarray:
    """Points of a view (``turns`` CCW quarter turns of the maybe-mirrored image) back into the
    original image of ``size`` (w, h), continuous pixel coordinates."""
    # the mirrored image has the original's size, so the turn is undone in it first
    out = unrotate_points(xy, 90 * turns, size)
    if mirror:
        out[..., 0] = size[0] - out[..., 0]
    return out


def view_predictions(estimator, image: np.ndarray, schema: Schema,
                     views: tuple[tuple[int, bool], ...] = VIEWS) -> np.ndarray:
    """(V, K, 3) keypoints (x, y, score) in original pixels, one row per view.

    The first person the estimator returns in each view is used (infantpose's use case is one
    infant per frame); a view where nobody is found is all-NaN with score 0.
    """
    h, w = image.shape[:2]
    out = np.full((len(views), schema.num_keypoints, 3), np.nan)
    out[..., 2] = 0.0
    for i, (turns, mirror) in enumerate(views):
        poses = estimator.predict(_view_image(image, turns, mirror))
        if poses.schema.name != schema.name:
            poses = poses.convert(schema)
        if poses.n_instances == 0:
            continue
        kp = poses.data[0, 0].copy()
        kp[:, :2] = unrotate_points(kp[:, :2], 90 * turns, (w, h))  # the turn undone first
        out[i] = mirror_back(kp, w, schema.flip_index) if mirror else kp
    return out


@dataclass
class PseudoLabel:
    """One frame's pseudo-label: ``keypoints`` (K, 3) with the kept keypoints' mean position and
    mean score (NaN/0 elsewhere), ``kept`` (K,) bool, ``agree`` (K,) how many views agreed."""

    keypoints: np.ndarray
    kept: np.ndarray
    agree: np.ndarray


def agreement(views: np.ndarray, tol: float = 0.05, min_views: int = 5,
              min_score: float = 0.5) -> PseudoLabel:
    """Keep the keypoints on which the views of one frame agree.

    ``views`` is (V, K, 3) from :func:`view_predictions`. The consensus is the per-keypoint median
    over views that found the person; a view agrees on a keypoint when it lies within ``tol`` ×
    the consensus body size of it and scores at least ``min_score``. A keypoint with
    ``min_views`` or more agreeing views is kept, at the mean of those views.
    """
    views = np.asarray(views, dtype=float)
    v, k, _ = views.shape
    keypoints = np.full((k, 3), np.nan)
    keypoints[:, 2] = 0.0
    empty = PseudoLabel(keypoints, np.zeros(k, bool), np.zeros(k, int))
    xy, score = views[..., :2], np.nan_to_num(views[..., 2])
    finite = np.isfinite(xy).all(-1)
    if not finite.any():
        return empty
    with warnings.catch_warnings():  # all-NaN keypoints (no view found them) stay NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        median = np.nanmedian(np.where(finite[..., None], xy, np.nan), axis=0)  # (K, 2)
    size = body_size(median)
    if not np.isfinite(size) or size <= 0:
        return empty
    dist = np.linalg.norm(xy - median[None], axis=-1)
    agrees = finite & (np.nan_to_num(dist, nan=np.inf) <= tol * size) & (score >= min_score)
    count = agrees.sum(0)
    kept = count >= min_views
    for j in np.flatnonzero(kept):
        a = agrees[:, j]
        keypoints[j, :2] = xy[a, j].mean(0)
        keypoints[j, 2] = score[a, j].mean()
    return PseudoLabel(keypoints, kept, count.astype(int))


def temporal_mask(track: np.ndarray, kept: np.ndarray, tol: float = 0.05,
                  radius: int = 2) -> np.ndarray:
    """Drop keypoints that jump: ``track`` (T, K, 2) consecutive-frame positions (NaN where
    unknown), ``kept`` (T, K) bool. A kept keypoint stays kept when it lies within ``tol`` body
    sizes of the median of its known positions in the ``radius`` frames on either side (and there
    is at least one such neighbour); returns the new (T, K) mask."""
    track = np.asarray(track, dtype=float)
    kept = np.asarray(kept, dtype=bool)
    t, k, _ = track.shape
    out = np.zeros_like(kept)
    for i in range(t):
        size = body_size(track[i])
        if not np.isfinite(size) or size <= 0:
            continue
        lo, hi = max(0, i - radius), min(t, i + radius + 1)
        nb = np.concatenate([track[lo:i], track[i + 1:hi]], axis=0)  # (n, K, 2)
        if len(nb) == 0:
            continue
        for j in np.flatnonzero(kept[i]):
            pts = nb[:, j][np.isfinite(nb[:, j]).all(-1)]
            if len(pts) == 0:
                continue
            ref = np.median(pts, axis=0)
            out[i, j] = np.linalg.norm(track[i, j] - ref) <= tol * size
    return out
