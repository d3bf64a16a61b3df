"""The person finder of the top-down models: the mediapipe BlazePose runtime placing crops.

A top-down network needs to be told where the person is. Without boxes, infantpose's top-down
estimator (:class:`~infantpose.models.topdown_estimator.TopDownEstimator`: torch checkpoints
and ONNX files) asks the mediapipe ``blazepose`` estimator, which finds infants in any orientation (its rotation retries and landmark-only
fallback), and crop on its pose: MediaPipe's rotated body region, or the box around it. This
module is that finder, written once: a BlazePose-33 runtime started on first use, optionally
mirror-tested, with its answers cached per image and boxes (validating a model while it trains
asks for the same photos every epoch).
"""

from __future__ import annotations

import hashlib

import numpy as np

from infantpose.models.blazepose import BlazePose
from infantpose.poses import Poses
from infantpose.schemas import BLAZEPOSE33

__all__ = ["PersonFinder"]


class PersonFinder:
    """The mediapipe runtime's BlazePose-33 poses for crop placement.

    Args:
        landmark_model: the runtime's landmark network, ``"full"`` or ``"heavy"``.
        mirror: whether the runtime also predicts the mirror image (its ``mirror_test``):
            None: only where it searches the whole image (no boxes); True / False: always /
            never.
        cache_size: answers kept (per image content, shape and boxes); 0 keeps none.
    """

    def __init__(self, landmark_model: str = "full", mirror: bool | None = None,
                 cache_size: int = 4096):
        self.landmark_model = landmark_model
        self.mirror = mirror
        self.cache_size = int(cache_size)
        self.runtime = None  # the BlazePose estimator, started by the first call
        self._cache: dict[tuple, Poses] = {}

    def start(self) -> None:
        """Start the runtime now (raises ImportError where mediapipe is missing)."""
        if self.runtime is None:
            self.runtime = BlazePose(schema=BLAZEPOSE33, mirror_test=False,  # set per call
                                     landmark_model=self.landmark_model)

    def mirrors(self, boxes: np.ndarray | None) -> bool:
        """Whether a call with ``boxes`` is mirror-tested (``mirror``)."""
        return boxes is None if self.mirror is None else self.mirror

    def poses(self, image: np.ndarray, boxes: np.ndarray | None = None) -> Poses:
        """The runtime's BlazePose-33 poses for ``image`` (one instance per box, or the person
        it finds), cached."""
        key = None
        if self.cache_size > 0:
            key = (hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16).hexdigest(),
                   image.shape, None if boxes is None else np.asarray(boxes, float).tobytes())
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        self.start()
        p = self.runtime._predict(image, boxes, None, self.mirrors(boxes))
        if key is not None:
            if len(self._cache) >= self.cache_size:
                self._cache.clear()
            self._cache[key] = p
        return p

    def close(self) -> None:
        if self.runtime is not None:
            self.runtime.close()
            self.runtime = None
