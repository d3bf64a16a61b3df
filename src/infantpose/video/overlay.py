"""Overlay videos: the skeleton on every frame, keypoints coloured by score, trails, a timestamp.

An overlay is how a researcher checks a tracking result by eye. Edges use the side colours of
:mod:`infantpose.draw` (left/right swaps are the commonest error); each keypoint's dot is
coloured by its score (red = unsure, yellow, green = confident), so dropouts are visible; the
last second of the (filtered) wrist and ankle trajectories is drawn as a fading trail; the time
and frame number are printed in a corner. Optionally the face is hidden first
(:mod:`infantpose.video.privacy`).
"""

from __future__ import annotations


import numpy as np

from infantpose.schemas import Schema

__all__ = ["score_color", "trail_keypoints", "draw_overlay_frame"]


def score_color(score: float) -> tuple[int, int, int]:
    """RGB from red (score 0) through yellow (0.5) to green (1)."""
    s = float(np.clip(np.nan_to_num(score), 0.0, 1.0))
    if s < 0.5:
        return (230, int(round(460 * s)), 40)
    return (int(round(230 * (1 - s) * 2)), 230, 40)


def trail_keypoints(schema: Schema) -> list[int]:
    """Indices of the extremities whose trails are drawn (wrists and ankles, else all)."""
    idx = [i for i, n in enumerate(schema.keypoints)
           if any(p in n for p in ("wrist", "ankle"))]
    return idx or list(range(schema.num_keypoints))


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
    import cv2

    from infantpose.draw import EdgeAnnotator

    out = EdgeAnnotator(min_score=min_score).annotate(rgb, keypoints, schema)
    kp = np.asarray(keypoints, float).reshape(-1, schema.num_keypoints, 3)
    scale = max(1.0, min(out.shape[:2]) / 360.0)
    r = max(2, int(round(3 * scale)))
    if trail is not None and len(trail) > 1:
        for k in trail_keypoints(schema):
            pts = trail[:, k]
            for j in range(1, len(pts)):
                a, b = pts[j - 1], pts[j]
                if np.isfinite(a).all() and np.isfinite(b).all():
                    fade = j / len(pts)
                    c = tuple(int(v * fade + 255 * (1 - fade) * 0.3) for v in (255, 255, 255))
                    cv2.line(out, (int(round(a[0])), int(round(a[1]))),
                             (int(round(b[0])), int(round(b[1]))), c, 1, cv2.LINE_AA)
    for inst in kp:
        for p in inst:
            if not np.isfinite(p[:2]).all() or p[2] < min_score:
                continue
            c = (int(round(p[0])), int(round(p[1])))
            cv2.circle(out, c, r, score_color(p[2]), -1, cv2.LINE_AA)
            cv2.circle(out, c, r, (20, 20, 20), 1, cv2.LINE_AA)
    if time_s is not None or frame_index is not None:
        parts = []
        if time_s is not None and np.isfinite(time_s):
            m, s = divmod(float(time_s), 60.0)
            parts.append(f"{int(m):02d}:{s:06.3f}")
        if frame_index is not None:
            parts.append(f"#{int(frame_index)}")
        text = "  ".join(parts)
        fs = 0.4 * scale
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, fs, 1)
        cv2.rectangle(out, (0, 0), (tw + 8, th + base + 8), (0, 0, 0), -1)
        cv2.putText(out, text, (4, th + 4), cv2.FONT_HERSHEY_SIMPLEX, fs, (255, 255, 255), 1,
                    cv2.LINE_AA)
    return out
