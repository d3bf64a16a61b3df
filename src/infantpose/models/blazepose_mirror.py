"""BlazePose's test-time mirror: the mirror image predicted too and combined with the original.

The image's left-right mirror image is predicted as a second view, its pose mapped back with
left and right swapped back (:func:`~infantpose.models.tta.mirror_back`), and the two views
are combined instance by instance (:func:`~infantpose.models.tta.combine_views`: averaged when
they agree, else the more confident kept). In video mode the mirrored view must not disturb
the trackers following the original frames, so another estimator in image mode predicts it.

Split out of ``models/blazepose.py``: :class:`MirrorTest` holds the methods, which
:class:`~infantpose.models.blazepose.BlazePose` inherits.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from infantpose.models.blazepose_views import mirror_boxes, mirror_rotation
from infantpose.models.tta import combine_views, mirror_back
from infantpose.poses import Poses
from infantpose.schemas import BLAZEPOSE33

__all__ = ["MirrorTest"]


class MirrorTest:
    """The test-time mirror of :class:`~infantpose.models.blazepose.BlazePose` (module
    docstring): whether a call mirrors (:attr:`mirroring`), who predicts the mirrored view
    (:meth:`_mirror_runner`) and how the two views become one (:meth:`_with_mirror`). It uses
    the estimator's ``mode``, ``mirror_test``, ``mirror_tol``, ``calls`` and its
    ``_predict_view``."""

    @property
    def mirroring(self) -> bool:
        """Whether :meth:`predict` averages the image with its mirror image (``mirror_test``
        None: photos, not the frames a video runner follows)."""
        return self.mode == "image" if self.mirror_test is None else bool(self.mirror_test)

    def _mirror_runner(self) -> Any:
        """Who predicts the mirrored view: this estimator in image mode (no state to disturb);
        in video mode the estimator it was made from, or a twin in image mode (this one's
        trackers follow the original frames)."""
        if self.mode == "image":
            return self
        if self._lender is not None:
            return self._lender
        if self._twin is None:
            self._twin = type(self)(schema=BLAZEPOSE33, mirror_test=False,
                                    **self._twin_options)
        return self._twin

    def _with_mirror(self, poses: Poses, image: np.ndarray, boxes: np.ndarray | None,
                     hint: int | None = None) -> Poses:
        """``poses`` (BlazePose-33, the original view) combined with the mirrored view's
        (:func:`combine_views`), instance by instance (instance n of both views is box n)."""
        h, w = image.shape[:2]
        runner = self._mirror_runner()
        before = runner.calls
        view = runner._predict_view(np.ascontiguousarray(image[:, ::-1]),
                                    None if boxes is None or len(boxes) == 0
                                    else mirror_boxes(boxes, w),
                                    mirror_rotation(self._known_turn(hint)))
        if runner is not self:
            self.calls += runner.calls - before
        mirrored = mirror_back(view.data[0], w, BLAZEPOSE33.flip_index)
        meta = {k: list(v) if isinstance(v, list) else v for k, v in poses.meta.items()}
        fields = {k: v.copy() for k, v in poses.fields().items()}
        used = []
        for n in range(poses.n_instances):
            poses.data[0, n], which = combine_views(poses.data[0, n], mirrored[n],
                                                    self.mirror_tol)
            used.append(which)
            for key, vals in meta.items():
                other = view.meta.get(key)
                if not isinstance(vals, list) or not isinstance(other, list) or n >= len(other):
                    continue
                if key == "attempts":
                    vals[n] = vals[n] + other[n]
                elif which == "mirrored":
                    vals[n] = other[n]
            if which == "mirrored":  # the mirrored view's facts, its turn mirrored back
                for key, vals in fields.items():
                    other = getattr(view, key)
                    if other is not None and n < other.shape[1]:
                        vals[0, n] = other[0, n]
                if np.isfinite(fields["rotation"][0, n]):
                    fields["rotation"][0, n] = mirror_rotation(int(fields["rotation"][0, n]))
        return replace(poses, meta=meta, views=[used], **fields)
