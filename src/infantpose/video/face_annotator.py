"""Hiding the face as an annotator: ``annotate(image, poses) -> image``, like the skeleton's.

:class:`FaceAnnotator` wraps one :class:`~infantpose.video.privacy.Deidentifier` (the face
detector, the face regions placed from head keypoints, mosaic or blur, the report) so that the
face is hidden by the same kind of object that draws the skeleton
(:func:`infantpose.draw.overlay_annotators`). It is given the frame's *raw* poses (head keypoints
included: they place the face) or None (the detector alone). One per stream: a video's frames
share its head track (``stream``); photos have none. The labelling tool's previews use it too
(``confirmed``: head keypoints a person placed, so only their head end is hidden).
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

import numpy as np

from infantpose.poses import Poses
from infantpose.schemas import Schema
from infantpose.video.privacy import Deidentifier, guessed_instances

__all__ = ["FaceAnnotator"]


class FaceAnnotator:
    """The face hidden (``mode`` ``"mosaic"`` or ``"blur"``) in every image it is given; images
    with no placeable face region are blurred whole (counted in :attr:`report`).

    ``margin`` and ``use_detector`` are the Deidentifier's (or give a ``deidentifier``);
    ``stream`` names the video whose frames it sees in order (None for photos); ``confirmed``:
    the head keypoints were placed by a person, not guessed by a model (no both-ends hiding).
    :attr:`found` says whether the last image had a face region (else it was blurred whole).
    :meth:`close` frees the face detector."""

    def __init__(self, mode: str, margin: float = 0.3, use_detector: bool = True,
                 stream: Hashable | None = None, deidentifier: Any | None = None,
                 confirmed: bool = False):
        self.deid = deidentifier if deidentifier is not None \
            else Deidentifier(mode, margin, use_detector)
        self.stream = stream
        self.confirmed = confirmed
        self.found = True

    @property
    def report(self) -> Any:
        """The :class:`~infantpose.video.privacy.DeidReport` of every image so far."""
        return self.deid.report

    def annotate(self, image: np.ndarray, poses: Poses | np.ndarray | None = None,
                 schema: Schema | None = None) -> np.ndarray:
        """``image`` with the face hidden, placed by the detector and by the head keypoints of
        ``poses`` (a one-frame Poses, whose ``path`` field marks guessed poses, or a keypoint
        array with its ``schema``)."""
        guess = None
        if isinstance(poses, Poses):
            guess = guessed_instances(poses.path[0]) if poses.path is not None else None
            poses, schema = poses.data[0], poses.schema
        elif poses is None:
            schema = None
        before = self.deid.report.whole_frame_blurred
        out = self.deid(image, poses, schema, stream=self.stream, guessed=guess,
                        confirmed=self.confirmed or None)
        self.found = self.deid.report.whole_frame_blurred == before
        return out

    def close(self) -> None:
        self.deid.close()
