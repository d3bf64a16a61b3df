"""The frames ``infantpose adapt`` learns from: a user's photos and frames sampled from videos.

A video contributes ``per_video`` frames spread evenly over its length, each with the frames
just before and after it (``radius`` on either side), so pseudo-labels can be checked for
temporal consistency. Photos are read upright (EXIF orientation applied).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from infantpose.io.images import read_image
from infantpose.io.video import iter_frames as iter_video_frames, media_files, probe_video

__all__ = ["Frame", "collect_sources", "iter_frames", "sample_indices"]


@dataclass
class Frame:
    """One frame to pseudo-label: ``image`` (H×W×3 uint8 RGB) from ``source`` (a photo, or a
    video at frame ``index``); ``neighbours`` are the frames around it (video only, in time
    order, the frame itself excluded), ``centre`` its position among them."""

    source: Path
    index: int | None
    image: np.ndarray
    neighbours: list[np.ndarray] = field(default_factory=list)
    centre: int = 0

    @property
    def name(self) -> str:
        return self.source.stem if self.index is None else f"{self.source.stem}_f{self.index:06d}"


def collect_sources(paths: Sequence[str | os.PathLike]) -> tuple[list[Path], list[Path]]:
    """(photos, videos) named by ``paths``: files, or folders searched (not recursively)."""
    return media_files(paths)


def sample_indices(n_frames: int, per_video: int) -> list[int]:
    """``per_video`` frame numbers spread evenly over ``n_frames`` (all when there are fewer)."""
    if n_frames <= 0 or per_video <= 0:
        return []
    if n_frames <= per_video:
        return list(range(n_frames))
    edges = np.linspace(0, n_frames, per_video + 1)
    return sorted({int((a + b) // 2) for a, b in zip(edges[:-1], edges[1:])})


def _video_frames(path: Path, per_video: int, radius: int) -> Iterator[Frame]:
    info = probe_video(path)
    targets = sample_indices(max(int(info.n_frames or 0), 1), per_video)
    wanted = {t + d for t in targets for d in range(-radius, radius + 1)}
    last = max(wanted) if wanted else -1
    got: dict[int, np.ndarray] = {}
    for i, rgb in iter_video_frames(path):
        if i in wanted:
            got[i] = rgb
        if i >= last:
            break
    for t in targets:
        if t not in got:  # a corrupt or missing frame: skip it
            continue
        before = [got[t + d] for d in range(-radius, 0) if t + d in got]
        after = [got[t + d] for d in range(1, radius + 1) if t + d in got]
        yield Frame(path, t, got[t], before + after, len(before))


def iter_frames(photos: Sequence[Path], videos: Sequence[Path], per_video: int = 40,
                radius: int = 2) -> Iterator[Frame]:
    """Every photo, then ``per_video`` sampled frames of each video with their neighbours."""
    for p in photos:
        yield Frame(p, None, read_image(p))
    for v in videos:
        yield from _video_frames(v, per_video, radius)
