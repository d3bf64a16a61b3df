"""Per-frame pose normalisation: pelvis-centred, rotated to the body axis, scaled by trunk length.

After Chambers et al. (2020) and seed ``000_`` (Segado et al.): features of infant movement must not
depend on where the infant lies in the frame, which way it points or how large it appears. Every
frame is mapped by its own similarity transform so that

* the pelvis (mid-point of the hips) is the origin,
* the body axis (pelvis -> mid-point of the shoulders) is the +y axis,
* one unit is the trunk length (distance pelvis -> mid-shoulder) of that frame.

Because each frame is transformed by a rotation, a uniform scale and a shift computed from the
frame itself, any rotation, scaling or shift applied to a frame leaves the result unchanged
(reflections are not removed: a mirrored video swaps the sign of x). Frames without both hips and
both shoulders cannot be normalised and become gaps (NaN).
"""

from __future__ import annotations

import numpy as np

__all__ = ["body_axes", "normalise_frames"]


def body_axes(l_hip: np.ndarray, r_hip: np.ndarray, l_sh: np.ndarray,
              r_sh: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-frame origin (T, 2), unit body axis (T, 2) and trunk length (T,) from (T, 2) points.

    Frames where any input is NaN or the trunk has zero length give NaN.
    """
    pelvis = (np.asarray(l_hip, float) + np.asarray(r_hip, float)) / 2
    neck = (np.asarray(l_sh, float) + np.asarray(r_sh, float)) / 2
    axis = neck - pelvis
    length = np.hypot(axis[:, 0], axis[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        length = np.where(length > 1e-9, length, np.nan)
        unit = axis / length[:, None]
    return pelvis, unit, length


def normalise_frames(xy: np.ndarray, l_hip: int, r_hip: int, l_sh: int, r_sh: int) -> np.ndarray:
    """(T, K, 2) image coordinates -> (T, K, 2) body coordinates, frame by frame.

    ``l_hip`` ... ``r_sh`` index axis 1 of ``xy``. In body coordinates y runs from the pelvis
    towards the shoulders and x is perpendicular to it (x = cross(axis, p - pelvis)), both in
    trunk lengths of that frame. Frames lacking a hip or shoulder are NaN throughout.
    """
    xy = np.asarray(xy, float)
    origin, unit, length = body_axes(xy[:, l_hip], xy[:, r_hip], xy[:, l_sh], xy[:, r_sh])
    d = xy - origin[:, None, :]
    ux, uy = unit[:, None, 0], unit[:, None, 1]
    along = d[..., 0] * ux + d[..., 1] * uy
    across = ux * d[..., 1] - uy * d[..., 0]
    out = np.stack([across, along], axis=-1) / length[:, None, None]
    return out
