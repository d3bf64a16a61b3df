"""Overlay videos: the skeleton on every frame, keypoints coloured by score, trails, a timestamp.

An overlay is how a researcher checks a tracking result by eye. Its look is the one look of
every overlay infantpose draws (:func:`infantpose.draw.overlay_annotators`, photos too): edges
use the side colours of :mod:`infantpose.draw` (left/right swaps are the commonest error); each
keypoint's dot is coloured by its score (red = unsure, yellow, green = confident), so dropouts
are visible; the last second of the (filtered) wrist and ankle trajectories is drawn as a
fading trail; the time and frame number are printed in a corner. Optionally the face is hidden
first (:mod:`infantpose.video.face_annotator`).

:func:`draw_overlay_frame` draws one frame from arrays (a trail given, not remembered); the
video path (:mod:`infantpose.video.render`) composes the same annotators.
"""

from __future__ import annotations

import numpy as np

from infantpose.draw import (EdgeAnnotator, ScoreVertexAnnotator, draw_frame_label, draw_trail,
                             score_color, trail_keypoints)
from infantpose.schemas import Schema

__all__ = ["score_color", "trail_keypoints", "draw_overlay_frame"]


def draw_overlay_frame(rgb: np.ndarray, keypoints: np.ndarray, schema: Schema,
                       time_s: float | None = None, frame_index: int | None = None,
                       trail: np.ndarray | None = None, min_score: float = 0.0) -> np.ndarray:
    """One overlay frame.

    Args:
        rgb: H×W×3 uint8 frame.
        keypoints: (N, K, 3) or (K, 3) for this frame.
        schema: keypoint schema.
        time_s, frame_index: printed in the top-left corner when given.
        trail: (L, K, 2) past positions (oldest first) of the keypoints to trail (NaN skipped).
        min_score: keypoints below this score are not drawn.
    """
    out = EdgeAnnotator(min_score=min_score).annotate(rgb, keypoints, schema)
    if trail is not None and len(trail) > 1:
        out = draw_trail(out, trail, schema)
    out = ScoreVertexAnnotator(min_score).annotate(out, keypoints, schema)
    if time_s is not None or frame_index is not None:
        out = draw_frame_label(out, time_s, frame_index)
    return out
