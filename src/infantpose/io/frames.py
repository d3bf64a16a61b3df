"""Frames in one shape, whether they come from a video or from a list of images.

Every loop that runs a model over pictures (``predict`` on photos and videos, ``batch``,
``deidentify``, evaluation on labelled images) reads its input through here, so the loop itself
(:func:`infantpose.frames.run_frames`) never asks where a frame came from. A
:class:`~infantpose.frames.Frame` holds its position (the video's frame number, or the image's
place in the list), a name (the image's output name, or ``<video stem>_f<number>``), the
H×W×3 uint8 RGB pixels and their size.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np

from infantpose.frames import Frame
from infantpose.io.images import read_image
from infantpose.io import video as video_io  # iter_frames looked up per call: tests count it

__all__ = ["Frame", "image_frames", "video_frame_name", "video_frames"]


def video_frame_name(video: str | os.PathLike, index: int) -> str:
    """``<video stem>_f<index, six digits>``: a video frame's name (as ``adapt`` and ``label``
    name the frames they take from videos)."""
    return f"{Path(video).stem}_f{int(index):06d}"


def video_frames(path: str | os.PathLike, *, max_frames: int | None = None,
                 stats: object | None = None) -> Iterator[Frame]:
    """The decodable frames of a video, decoded once, in order (see
    :func:`~infantpose.io.video.iter_frames`: corrupt frames skipped and counted in ``stats``
    (a :class:`~infantpose.io.video.DecodeStats`), at most ``max_frames``)."""
    frames = video_io.iter_frames(path, stats=stats,  # type: ignore[arg-type]
                                  max_frames=max_frames)
    for idx, rgb in frames:
        yield Frame(int(idx), video_frame_name(path, idx), rgb)


def image_frames(images: Sequence[str | os.PathLike | tuple[str | os.PathLike, str]],
                 pixels: Iterable[np.ndarray] | None = None) -> Iterator[Frame]:
    """One frame per image: ``images`` are paths, or ``(path, name)`` pairs where the outputs
    call the image ``name`` (e.g. its path relative to the folder given). Each image is read
    upright (:func:`~infantpose.io.images.read_image`) when its frame is reached, unless
    ``pixels`` gives the decoded images (e.g. in-memory renders), one per entry of ``images``."""
    given = iter(pixels) if pixels is not None else None
    for i, item in enumerate(images):
        path, name = item if isinstance(item, tuple) else (item, Path(item).name)
        rgb = next(given) if given is not None else read_image(path)
        yield Frame(i, str(name), rgb)
