"""The one frame loop: frames in, one model step per frame, each frame's poses handed on.

Photos and videos take the same road. Their frames come from :mod:`infantpose.io.frames`
(decoded videos, read images) in one shape, :class:`Frame` (index, name, image, size); a *step*
turns a frame into that frame's poses (a one-frame :class:`~infantpose.poses.Poses`):

* :func:`per_image`: the estimator on each frame by itself (photos, labelled images), with the
  person boxes a caller knows;
* :class:`~infantpose.video.tracking.Follower`: a tracker following one infant from frame to
  frame (videos).

:func:`run_frames` runs the step over the frames with a progress bar and hands every frame and
its poses to ``on_frame`` at once, while the frame is still in memory: that is where the
annotated copies (overlay, face hidden) are drawn and written
(:mod:`infantpose.video.render`), so a video is decoded once per command however many outputs
it gets. The caller turns the per-frame results into one ``Poses`` (:func:`stack_images` for
photos, ``Follower.video_poses`` for a video). The loop lives in the core layer: it knows
frames, steps and poses, nothing of files or models, so every layer above may use it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from infantpose.errors import InputError
from infantpose.poses import Poses
from infantpose.progress import ticker

__all__ = ["Frame", "Step", "per_image", "run_frames", "stack_images"]


@dataclass(frozen=True)
class Frame:
    """One picture to run a model on.

    Attributes:
        index: the frame number in its video (skipped corrupt frames leave gaps), or the
            image's position in its list (0, 1, ...).
        name: the image's name (as the outputs call it), or ``<video stem>_f<index>``.
        image: H×W×3 uint8 RGB.
    """

    index: int
    name: str
    image: np.ndarray

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])

#: A frame -> its poses (a one-frame Poses in the frame's pixels).
Step = Callable[[Frame], Poses]


def per_image(estimator: Any, boxes: Callable[[Frame], np.ndarray | None] | None = None) -> Step:
    """The step of frames that stand alone: ``estimator.predict(frame.image, boxes(frame))``.

    ``boxes`` gives a frame's person boxes (N×4, x1 y1 x2 y2) or None (the estimator finds the
    person itself). InputError when the estimator answers with anything but a one-frame Poses
    (a plug-in's mistake, named)."""

    def step(frame: Frame) -> Poses:
        out = estimator.predict(frame.image, boxes(frame) if boxes is not None else None)
        if not isinstance(out, Poses) or out.n_frames != 1:
            raise InputError(None, f"estimator {getattr(estimator, 'name', estimator)!r} must "
                                   "return a one-frame Poses")
        return out

    return step


def run_frames(frames: Iterable[Frame], step: Step, *,
               on_frame: Callable[[Frame, Poses], None] | None = None,
               progress: Callable[[int], None] | None = None, total: int | None = None,
               description: str = "frames", show_progress: bool = False) -> list[Poses]:
    """Run ``step`` on every frame, in order; the per-frame poses, one per frame.

    ``on_frame(frame, poses)`` is called right after each step (draw, hide, write). Progress:
    ``progress`` is called with 1 per frame (a caller's bar); without it ``show_progress`` draws
    a bar of its own over ``total`` frames, named ``description``.
    """
    results: list[Poses] = []
    with ticker(total, description, show=show_progress, progress=progress) as tick:
        for frame in frames:
            poses = step(frame)
            if on_frame is not None:
                on_frame(frame, poses)
            results.append(poses)
            tick(1)
    return results


def stack_images(results: list[Poses], names: list[str], source: str | None = None) -> Poses:
    """The per-image poses of :func:`run_frames` as one ``Poses`` (one frame per image, named,
    instances padded to the most found in one image)."""
    if not results:
        raise ValueError("stack_images needs at least one image's poses")
    return Poses.concat(results, frame_names=list(names), source=source)
