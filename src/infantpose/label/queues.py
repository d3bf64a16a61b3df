"""Which frames a person should label: four queues, each giving every pick a reason.

* ``uniform``: evenly spaced over the candidates (in time, for videos);
* ``kmeans``: one frame per k-means cluster of small grey thumbnails, the frame nearest each
  cluster centre (the ``kmeans`` mode of DeepLabCut's ``extract_frames``): frames that look
  different, so rare postures and scenes are not missed;
* ``uncertain``: the frames the model is least sure of, by its keypoint scores (``score``) or by
  how much its predictions on the image and on the mirrored image disagree (``tta``);
* ``jump``: video frames where a predicted keypoint jumps between consecutive sampled frames
  (DeepLabCut's ``extract_outlier_frames`` ``jump`` criterion), normalised by the body's size.

All functions work on plain arrays: ``preds`` is (C, K, 3) x, y, score per candidate with NaN
for keypoints the model did not place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from infantpose.errors import InputError
from infantpose.models.tta import mirror_back

__all__ = ["QUEUES", "UNCERTAINTY", "Pick", "body_size", "flip_back", "image_features",
           "jump_scores", "pick_jump", "pick_kmeans", "pick_uncertain", "pick_uniform",
           "score_uncertainty", "tta_uncertainty"]

QUEUES = ("uniform", "kmeans", "uncertain", "jump")
UNCERTAINTY = ("score", "tta")


@dataclass(frozen=True)
class Pick:
    """A chosen candidate: its position, a priority (higher = label sooner) and why."""

    index: int
    priority: float
    reason: str


def check_queue(queue: str, uncertainty: str = "score") -> None:
    if queue not in QUEUES:
        raise InputError(None, f"unknown --queue {queue!r}; choose one of {', '.join(QUEUES)}")
    if uncertainty not in UNCERTAINTY:
        raise InputError(None, f"unknown --uncertainty {uncertainty!r}; choose "
                               f"{' or '.join(UNCERTAINTY)}")


# --- uniform -------------------------------------------------------------------------------------
def pick_uniform(n_candidates: int, n: int) -> list[Pick]:
    """``n`` evenly spaced candidates (all of them when there are no more than ``n``)."""
    if n_candidates <= 0 or n <= 0:
        return []
    if n >= n_candidates:
        idx = np.arange(n_candidates)
    else:
        idx = np.unique(np.round(np.linspace(0, n_candidates - 1, n)).astype(int))
    if len(idx) == n_candidates:
        return [Pick(int(i), 0.0, "uniform: every candidate frame") for i in idx]
    step = n_candidates / len(idx)
    return [Pick(int(i), 0.0, f"uniform: 1 of every {step:.1f} candidate frames")
            for i in idx]


# --- k-means on thumbnails -----------------------------------------------------------------------
def image_features(rgb: np.ndarray, size: tuple[int, int] = (32, 24)) -> np.ndarray:
    """A small grey thumbnail (``size`` = width, height), flattened, in [0, 1]; images of any
    shape map to the same length (portrait images are turned to landscape first)."""
    # imported here: OpenCV loads when frames are ranked, not for `label`'s other jobs
    import cv2

    img = rgb if rgb.shape[1] >= rgb.shape[0] else np.ascontiguousarray(np.rot90(rgb))
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    return cv2.resize(grey, size, interpolation=cv2.INTER_AREA).reshape(-1) / 255.0


def pick_kmeans(features: np.ndarray, n: int, seed: int = 0) -> list[Pick]:
    """One candidate per cluster (nearest the centre), clusters of k-means with k = ``n``;
    bigger clusters first."""
    # imported here: scikit-learn (seconds) loads only for the k-means queue
    from sklearn.cluster import KMeans

    feats = np.asarray(features, float)
    c = len(feats)
    if c == 0 or n <= 0:
        return []
    if n >= c:
        return [Pick(i, 0.0, "kmeans: every candidate (no more than -n)") for i in range(c)]
    km = KMeans(n_clusters=n, n_init=3, random_state=seed).fit(feats)
    picks = []
    for j in range(n):
        members = np.flatnonzero(km.labels_ == j)
        if len(members) == 0:
            continue
        d = np.linalg.norm(feats[members] - km.cluster_centers_[j], axis=1)
        best = int(members[np.argmin(d)])
        picks.append(Pick(best, float(len(members)),
                          f"kmeans: nearest the centre of cluster {j + 1} of {n} "
                          f"({len(members)} similar frames)"))
    picks.sort(key=lambda p: (-p.priority, p.index))
    return picks


# --- model-based ---------------------------------------------------------------------------------
def body_size(kp: np.ndarray) -> float:
    """The larger side of the box around one (K, 3) prediction's keypoints (NaN if < 2)."""
    xy = kp[~np.isnan(kp[:, :2]).any(axis=1), :2]
    if len(xy) < 2:
        return float("nan")
    s = float(np.ptp(xy, axis=0).max())
    return s if s > 1e-6 else float("nan")


def score_uncertainty(preds: np.ndarray) -> np.ndarray:
    """1 - mean keypoint score per candidate, over the keypoints the model places anywhere
    (a keypoint it missed in this frame counts as score 0; no detection at all scores 1)."""
    p = np.asarray(preds, float)
    placed = ~np.isnan(p[..., :2]).any(axis=-1)
    usable = placed.any(axis=0)
    if not usable.any():
        return np.ones(len(p))
    scores = np.where(placed, np.nan_to_num(p[..., 2]), 0.0)[:, usable]
    return 1.0 - np.clip(scores, 0, 1).mean(axis=1)


def flip_back(pred_flipped: np.ndarray, width: int, flip_index: np.ndarray) -> np.ndarray:
    """A (K, 3) prediction made on the mirrored image, mapped back onto the original."""
    return mirror_back(np.asarray(pred_flipped, float), width, flip_index)


def tta_uncertainty(preds: np.ndarray, preds_mirror: np.ndarray) -> np.ndarray:
    """Mean disagreement between predictions on the image and on its mirror (mapped back), per
    candidate, as a fraction of the body size, each keypoint capped at 1; a keypoint placed by
    only one of the two counts 1; no detection at all scores 1."""
    a, b = np.asarray(preds, float), np.asarray(preds_mirror, float)
    out = np.ones(len(a))
    for i in range(len(a)):
        pa = ~np.isnan(a[i, :, :2]).any(axis=1)
        pb = ~np.isnan(b[i, :, :2]).any(axis=1)
        size = body_size(a[i])
        either = pa | pb
        if not either.any() or not np.isfinite(size):
            continue
        both = pa & pb
        d = np.ones(len(pa))
        d[both] = np.minimum(np.linalg.norm(a[i, both, :2] - b[i, both, :2], axis=1) / size, 1)
        out[i] = float(d[either].mean())
    return out


def pick_uncertain(uncertainty: np.ndarray, n: int, kind: str = "score") -> list[Pick]:
    """The ``n`` most uncertain candidates, most uncertain first."""
    u = np.asarray(uncertainty, float)
    order = np.argsort(-u, kind="stable")[:max(0, n)]
    what = "1 - mean keypoint score" if kind == "score" else "mirror disagreement (body size)"
    return [Pick(int(i), float(u[i]), f"uncertain: {what} {u[i]:.2f} (rank {r + 1} of {len(u)})")
            for r, i in enumerate(order)]


def jump_scores(preds: np.ndarray, groups: Sequence[int], names: Sequence[str]
                ) -> tuple[np.ndarray, list[str]]:
    """For each candidate, the largest keypoint move since the previous candidate of the same
    video, as a fraction of the body size (0 for a video's first frame; 1 when the infant is
    found in only one of the two frames), and a description of it."""
    p = np.asarray(preds, float)
    g = np.asarray(groups)
    scores = np.zeros(len(p))
    why = ["first sampled frame of its video"] * len(p)
    for i in range(1, len(p)):
        if g[i] != g[i - 1] or g[i] < 0:
            continue
        a, b = p[i - 1], p[i]
        pa = ~np.isnan(a[:, :2]).any(axis=1)
        pb = ~np.isnan(b[:, :2]).any(axis=1)
        if pa.any() != pb.any():
            scores[i], why[i] = 1.0, "infant found in only one of two consecutive frames"
            continue
        both = pa & pb
        size = np.nanmax([body_size(a), body_size(b)]) if both.sum() >= 2 else np.nan
        if not both.any() or not np.isfinite(size):
            why[i] = "no keypoints to compare"
            continue
        d = np.linalg.norm(b[both, :2] - a[both, :2], axis=1) / size
        j = int(np.argmax(d))
        scores[i] = float(d[j])
        why[i] = f"{names[int(np.flatnonzero(both)[j])]} moved {d[j]:.2f} body sizes"
    return scores, why


def pick_jump(scores: np.ndarray, why: Sequence[str], n: int) -> list[Pick]:
    """The ``n`` candidates with the largest jumps, largest first."""
    s = np.asarray(scores, float)
    order = np.argsort(-s, kind="stable")[:max(0, n)]
    return [Pick(int(i), float(s[i]), f"jump: {why[i]} since the previous sampled frame")
            for i in order]
