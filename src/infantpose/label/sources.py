"""Frames a label project can choose from: every image, and frames sampled from every video.

A :class:`Candidate` is one frame that a queue may pick: an image file, or frame ``index`` of a
video. :func:`collect_candidates` turns the SOURCE arguments into candidates (videos sampled at a
stride so that at most ``max_candidates`` frames are considered in all) and :func:`iter_images`
decodes them in order, reading each video once.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from infantpose.io.images import read_image
from infantpose.io.video import iter_frames, media_files, probe_video


__all__ = ["Candidate", "collect_candidates", "iter_images", "source_files"]


@dataclass(frozen=True)
class Candidate:
    """One frame a queue can choose: an image (``index`` None) or a frame of a video."""

    path: Path
    index: int | None = None
    time: float | None = None

    @property
    def is_video(self) -> bool:
        return self.index is not None

    def label(self) -> str:
        if self.index is None:
            return self.path.name
        t = f", {self.time:.2f} s" if self.time is not None else ""
        return f"{self.path.name} frame {self.index}{t}"


def source_files(paths: Sequence[str | os.PathLike]) -> tuple[list[Path], list[Path]]:
    """(images, videos) named by SOURCE arguments (:func:`infantpose.io.video.media_files`)."""
    return media_files(paths)


def collect_candidates(paths: Sequence[str | os.PathLike], max_candidates: int = 1000
                       ) -> list[Candidate]:
    """Every image, and frames of every video at one stride so that the videos contribute at
    most ``max_candidates`` frames in all (at least one per video). Videos are probed now, so a
    corrupt or empty video is reported before any work starts."""
    images, videos = source_files(paths)
    out = [Candidate(p.resolve()) for p in images]
    infos = [probe_video(v) for v in videos]
    total = sum(i.n_frames for i in infos)
    if infos:
        stride = max(1, math.ceil(total / max(1, max_candidates)))
        for v, info in zip(videos, infos):
            fps = info.fps or None
            for idx in range(0, info.n_frames, stride):
                out.append(Candidate(v.resolve(), idx, idx / fps if fps else None))
    seen: set[tuple[Path, int | None]] = set()
    unique = []
    for c in out:  # the same file named twice (file and its folder) counts once
        key = (c.path, c.index)
        if key not in seen:
            seen.add(key)
            unique.append(c)
    return unique


def iter_images(candidates: Sequence[Candidate]) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(position in candidates, RGB image)`` for every candidate, each video decoded
    once. Images come first in their order, then each video's frames in time order; a video
    frame that cannot be decoded (corrupt packet, shorter than its header said) is skipped."""
    by_video: dict[Path, dict[int, int]] = {}
    for i, c in enumerate(candidates):
        if c.index is None:
            yield i, read_image(c.path)
        else:
            by_video.setdefault(c.path, {})[c.index] = i
    for path, wanted in by_video.items():
        last = max(wanted)
        for idx, rgb in iter_frames(path):
            if idx in wanted:
                yield wanted[idx], rgb
            if idx >= last:
                break
