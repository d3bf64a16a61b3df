"""Test-time augmentation, written once: the quarter-turn search and the mirror test.

Infants lie in every orientation, and adult-trained networks expect people upright, so several
models try the image (or a crop) at quarter turns and keep the most confident one; and the
mirror image's prediction, mapped back with left and right swapped back, is combined with the
original's. The models differ in what one attempt is (a mediapipe pass, a crop through a
network, a face detection), not in how the turns are searched or the mirrored view comes back:

- :func:`turn_order` / :func:`search_turns`: try turns one after another (the hinted one first),
  keep the best, stop as soon as it is good enough (the mediapipe runtime, MoveNet, the face
  detector of :mod:`infantpose.video.privacy`);
- :func:`most_confident`: the best of turns run as one batch (the top-down models);
- :func:`mirror_back`: keypoints predicted on the mirror image, back in the original (the
  mediapipe runtime's mirror test, the labelling tool's proposals, the pseudo-labels' views);
- :func:`average_flipped`: per-keypoint maps (heatmaps, SimCC vectors) of the mirrored input
  averaged with the original's (the top-down models' flip test);
- :func:`combine_views`: the original view's pose and the mirrored view's, averaged when they
  agree, else the more confident one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from infantpose.geometry import body_size

__all__ = ["MIRROR_TOL", "QUARTER_TURNS", "TurnSearch", "average_flipped", "combine_views",
           "mirror_back", "most_confident", "search_turns", "turn_order"]

#: Counter-clockwise quarter turns, in the order they are tried by default.
QUARTER_TURNS = (0, 90, 180, 270)

#: How far (mean keypoint distance, as a fraction of the body box's diagonal) the two views may
#: lie apart and still be averaged; farther apart, the more confident view is kept alone.
#: Chosen on the 150 training photos of the fixed SyRIP split (0.07 / 0.1 / 0.13 / 0.16).
MIRROR_TOL = 0.1

T = TypeVar("T")


# --- quarter turns ------------------------------------------------------------------------------

def turn_order(first: int | None, turns: Sequence[int] = QUARTER_TURNS) -> list[int]:
    """``first`` (None: 0), then the other ``turns`` in their order."""
    start = 0 if first is None else int(first)
    return [start] + [t for t in turns if t != start]


@dataclass
class TurnSearch(Generic[T]):
    """What :func:`search_turns` found: the best attempt (None: none found anything), its
    turn, how many turns were tried, and whether it stopped early on a good one."""

    best: T | None
    turn: int | None
    tries: int
    stopped: bool


def search_turns(attempt: Callable[[int], T | None], turns: Sequence[int],
                 score: Callable[[T], float], good: Callable[[T], bool] | None = None,
                 greedy: bool = True) -> TurnSearch[T]:
    """Try ``attempt(turn)`` for each of ``turns`` in order and keep the highest ``score``
    (the earlier on ties; None results are skipped).

    ``good`` stops the search once the best so far passes it: after every attempt when
    ``greedy``, else only after the first (a known orientation that works is kept without
    looking further, but once it fails every other turn is tried). None: try all turns.
    """
    best: T | None = None
    best_turn: int | None = None
    tries = 0
    for i, turn in enumerate(turns):
        found = attempt(turn)
        tries += 1
        if found is not None and (best is None or score(found) > score(best)):
            best, best_turn = found, turn
        if good is not None and best is not None and (greedy or i == 0) and good(best):
            return TurnSearch(best, best_turn, tries, True)
    return TurnSearch(best, best_turn, tries, False)


def most_confident(keypoints: np.ndarray) -> int:
    """Index of the candidate (T, K, 3) with the highest mean keypoint score (missing as 0)."""
    return int(np.argmax(np.nan_to_num(np.asarray(keypoints)[..., 2]).mean(axis=-1)))


# --- the mirror test ----------------------------------------------------------------------------

def mirror_back(keypoints: np.ndarray, width: float, flip_index: np.ndarray) -> np.ndarray:
    """(..., K, C) keypoints (x, y, ...) predicted on the left-right mirror image of an image
    ``width`` pixels wide, in the original image: x becomes ``width - x`` (continuous pixel
    coordinates) and each keypoint takes its mirror partner's place (``flip_index``)."""
    a = np.asarray(keypoints)
    if not np.issubdtype(a.dtype, np.floating):
        a = a.astype(float)  # (a float array keeps its precision: float32 network outputs)
    out = a[..., np.asarray(flip_index), :].copy()
    out[..., 0] = width - out[..., 0]
    return out


def average_flipped(maps: np.ndarray, flipped: np.ndarray, flip_index: np.ndarray,
                    axis: int | None = -1) -> np.ndarray:
    """Per-keypoint maps (N, K, ...) averaged with those of the mirrored input, whose channels
    are swapped back (``flip_index``) and reversed along the horizontal ``axis`` (the width of
    a heatmap, the x bins of SimCC; None for maps without one, SimCC's y bins)."""
    back = flipped[:, np.asarray(flip_index)]
    if axis is not None:
        back = np.flip(back, axis=axis)
    return (maps + back) / 2


def combine_views(original: np.ndarray, mirrored: np.ndarray, tol: float = MIRROR_TOL
                  ) -> tuple[np.ndarray, str | None]:
    """One instance's (K, 3) keypoints from the original view and the mirrored view (already
    mapped back, left/right swapped back), and which views made it.

    When the two views agree (mean keypoint distance at most ``tol`` × the diagonal of the box
    around their mean pose), positions and scores are averaged (``"both"``; a keypoint one view
    lacks comes from the other); otherwise they found different poses (a limb swapped, the body
    upside down) and the view with the higher mean score is kept alone (``"original"`` or
    ``"mirrored"``). A view that found nobody (all NaN) leaves the other; neither: None. On
    the 150 training photos of the fixed SyRIP split, gt boxes given, COCO AP was 0.651 for the
    original view, 0.671 for the plain average, 0.671 for a score-weighted one and 0.681 for
    this rule.
    """
    a = np.asarray(original, dtype=float)
    b = np.asarray(mirrored, dtype=float)
    fa, fb = np.isfinite(a[:, :2]).all(-1), np.isfinite(b[:, :2]).all(-1)
    if not fb.any():
        return a.copy(), ("original" if fa.any() else None)
    if not fa.any():
        return b.copy(), "mirrored"
    both = fa & fb
    mean = np.where(both[:, None], (a[:, :2] + b[:, :2]) / 2, np.where(fa[:, None], a[:, :2],
                                                                         b[:, :2]))
    size = body_size(mean)
    dist = np.linalg.norm(a[both, :2] - b[both, :2], axis=-1)
    if not both.any() or not np.isfinite(size) or size <= 0 or dist.mean() > tol * size:
        sa, sb = np.nanmean(a[fa, 2]), np.nanmean(b[fb, 2])
        return (a.copy(), "original") if sa >= sb else (b.copy(), "mirrored")
    out = np.empty_like(a)
    out[:, :2] = mean
    sa, sb = np.nan_to_num(a[:, 2]), np.nan_to_num(b[:, 2])
    out[:, 2] = np.where(both, (sa + sb) / 2, np.where(fa, sa, sb))
    return out, "both"
