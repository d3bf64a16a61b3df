"""``infantpose adapt``: label-free adaptation of a pose model to a user's own photos and videos.

Two stages, each resumable: :func:`pseudo_label` turns frames into a COCO file of pseudo-labels
(``pseudo_labels.json`` with the frames as JPEGs in ``frames/``), keeping only keypoints the
views of a frame agree on (:mod:`infantpose.adapt.pseudo_labels`); then the real-data training
recipe (:func:`infantpose.train.loop.train`) fine-tunes on them, with masked losses for the
dropped keypoints, and keeps the starting model when the fine-tuned one is not better on the
held-out pseudo-labels (or on ``--val`` labels when the user has some).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from infantpose import _atomic
from infantpose.adapt.frames import Frame
from infantpose.adapt.pseudo_labels import (VIEWS, PseudoLabel, agreement, temporal_mask,
                                            view_predictions)
from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.io.coco import write_coco
from infantpose.io.images import write_image
from infantpose.poses import Poses
from infantpose.schemas import Schema

__all__ = ["AdaptOptions", "label_frame", "pseudo_label", "training_values"]

LABELS = "pseudo_labels.json"
REPORT = "adapt_report.json"
FRAMES = "frames"


@dataclass
class AdaptOptions:
    """How strict the pseudo-labels are (defaults measured on real infant photos in
    docs/training.md) and how much of each video is used."""

    tol: float = 0.05        # agreement radius, fraction of the body's box diagonal
    min_views: int = 5       # of the 8 views that must agree on a keypoint
    min_score: float = 0.5   # a view's own keypoint score must reach this
    min_keypoints: int = 6   # frames with fewer kept keypoints are not used
    per_video: int = 40      # frames sampled from each video
    radius: int = 2          # neighbouring frames on either side for the temporal check
    max_side: int = 1280     # stored frames are downscaled to this longer side

    def check(self) -> None:
        bad = None
        if not (0.0 < self.tol <= 1.0):
            bad = f"tolerance must be in (0, 1], got {self.tol}"
        elif not (1 <= self.min_views <= len(VIEWS)):
            bad = f"min-views must be 1..{len(VIEWS)}, got {self.min_views}"
        elif not (0.0 <= self.min_score <= 1.0):
            bad = f"min-score must be in [0, 1], got {self.min_score}"
        elif self.min_keypoints < 1 or self.per_video < 1 or self.radius < 0:
            bad = "min-keypoints and frames-per-video must be at least 1, radius at least 0"
        elif self.max_side < 64:
            bad = f"max-side must be at least 64, got {self.max_side}"
        if bad:
            raise InputError(None, bad)


def label_frame(estimator: Any, frame: Frame, schema: Schema, opts: AdaptOptions) -> PseudoLabel:
    """The pseudo-label of one frame: agreement over its 8 views, then (video) the temporal check
    against its neighbours, each predicted once in the orientation that scored best."""
    views = view_predictions(estimator, frame.image, schema)
    pl = agreement(views, opts.tol, opts.min_views, opts.min_score)
    if not frame.neighbours or not pl.kept.any():
        return pl
    found = np.isfinite(views[..., 0])  # (V, K); some view found the infant (pl.kept.any())
    mean_score = np.where(found, views[..., 2], 0.0).sum(1) / np.maximum(found.sum(1), 1)
    best = int(np.argmax(np.where(found.any(1), mean_score, -1.0)))
    one_view = (VIEWS[best],)
    track = [view_predictions(estimator, im, schema, one_view)[0, :, :2] for im in frame.neighbours]
    centre_xy = np.where(pl.kept[:, None], pl.keypoints[:, :2], np.nan)
    track.insert(frame.centre, centre_xy)
    kept = np.zeros((len(track), schema.num_keypoints), bool)
    kept[frame.centre] = pl.kept
    ok = temporal_mask(np.stack(track), kept, opts.tol, opts.radius)[frame.centre]
    keypoints = pl.keypoints.copy()
    keypoints[~ok] = [np.nan, np.nan, 0.0]
    return PseudoLabel(keypoints, ok, pl.agree)


@dataclass
class Report:
    """What :func:`pseudo_label` kept: counts per keypoint and per source."""

    frames: int = 0
    frames_used: int = 0
    keypoints_kept: dict[str, int] = field(default_factory=dict)
    sources: dict[str, dict[str, int]] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)
    model: str = ""

    @property
    def kept_fraction(self) -> float:
        total = self.frames * max(len(self.keypoints_kept), 1)
        return sum(self.keypoints_kept.values()) / total if total else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "kept_fraction": self.kept_fraction}


def _scaled(image: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    # imported here: OpenCV loads only when an image must be scaled
    import cv2

    h, w = image.shape[:2]
    r = min(1.0, max_side / max(h, w))
    if r >= 1.0:
        return image, 1.0
    size = (max(1, round(w * r)), max(1, round(h * r)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA), r


def pseudo_label(estimator: Any, frames: Sequence[Frame] | Any, schema: Schema, out: Path,
                 opts: AdaptOptions, claim: Callable[[Path], Any] = lambda p: p,
                 progress: Callable[[Frame], None] | None = None) -> tuple[Path, Report]:
    """Pseudo-label ``frames`` and write ``out/pseudo_labels.json`` (COCO; frames kept with at
    least ``min_keypoints`` keypoints, as JPEGs under ``out/frames/``) and
    ``out/adapt_report.json``. ``claim(path)`` is called before each frame is written (the
    command's output rule: it raises rather than replace a file infantpose did not write)."""
    frames_dir = out / FRAMES
    frames_dir.mkdir(parents=True, exist_ok=True)
    report = Report(keypoints_kept={n: 0 for n in schema.keypoints}, options=asdict(opts),
                    model=str(getattr(estimator, "name", "?")))
    rows: list[np.ndarray] = []
    names: list[str] = []
    sizes: list[tuple[int, int]] = []
    for frame in frames:
        report.frames += 1
        src = report.sources.setdefault(str(frame.source), {"frames": 0, "used": 0, "keypoints": 0})
        src["frames"] += 1
        pl = label_frame(estimator, frame, schema, opts)
        for j in np.flatnonzero(pl.kept):
            report.keypoints_kept[schema.keypoints[j]] += 1
        if progress is not None:
            progress(frame)
        if int(pl.kept.sum()) < opts.min_keypoints:
            continue
        image, r = _scaled(frame.image, opts.max_side)
        name = f"{len(names):05d}_{frame.name}.jpg"
        claim(frames_dir / name)
        write_image(frames_dir / name, image, quality=95)
        kp = pl.keypoints.copy()
        kp[:, :2] *= r
        rows.append(kp)
        names.append(f"{FRAMES}/{name}")
        sizes.append((int(image.shape[1]), int(image.shape[0])))
        report.frames_used += 1
        src["used"] += 1
        src["keypoints"] += int(pl.kept.sum())

    if not rows:
        raise InputError(None, f"no usable pseudo-labels in {report.frames} frame(s): the model "
                               "found no infant whose keypoints its views agree on (try more "
                               "frames, or a lower --min-views)")
    data = np.stack(rows)[:, None]
    kept = np.isfinite(data[..., 0])
    poses = Poses(data, schema, source="pseudo-labels", frame_names=names, image_sizes=sizes)
    ds = LabeledDataset(poses, np.where(kept, 2, 0), np.full((len(rows), 1, 4), np.nan), out,
                        ["real"] * len(rows), {"source_file": str(out / LABELS)})
    labels = write_coco(ds, out / LABELS)
    _atomic.write_text(out / REPORT, json.dumps(report.to_dict(), indent=2))
    return labels, report


def training_values(labels: Path, schema: Schema, out: Path, weights: str | os.PathLike | None,
                    val: Sequence[str | os.PathLike] = ()) -> dict[str, Any]:
    """The ``train`` config mapping that fine-tunes on the pseudo-labels: the real-data recipe,
    starting from ``weights`` (a BlazePose checkpoint) or the mediapipe weights."""
    values: dict[str, Any] = {"data": [{"path": str(labels), "domain": "real"}],
                              "schema": schema.name, "out": str(out)}
    if weights:
        values["model"] = {"weights": str(weights)}
    if val:
        values["val"] = [{"path": str(v)} for v in val]
    return values
