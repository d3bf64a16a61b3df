"""The ``infantpose adapt`` workflow: pseudo-label a user's own footage, then fine-tune on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infantpose import models
from infantpose.adapt.frames import collect_sources, iter_frames
from infantpose.adapt.run import (FRAMES, LABELS, REPORT, AdaptOptions, pseudo_label,
                                  training_values)
from infantpose.errors import InputError
from infantpose.io.images import check_image_header
from infantpose.io.labels import read_labels
from infantpose.io.video import probe_video
from infantpose.models.topdown import checkpoint_model
from infantpose.outputs import Outputs, is_owned, lock_folder, recording, remove_owned
from infantpose.pipelines._paths import coerce_paths
from infantpose.pipelines.train import RUN_FILES
from infantpose.progress import bar
from infantpose.schemas import Schema, get_schema
from infantpose.train import loop
from infantpose.train.config import config_from_dict

__all__ = ["AdaptRunOptions", "AdaptResult", "run_adapt"]


@dataclass
class AdaptRunOptions:
    """What ``infantpose adapt`` was asked for. The pseudo-label thresholds (``tolerance``,
    ``min_views``, ``min_score``, ``frames_per_video``) become an
    :class:`infantpose.adapt.run.AdaptOptions`, checked before anything is read."""

    sources: list[Path]
    out: Path
    model: str = "blazepose"
    weights: Path | None = None
    schema: str = "coco17"
    preset: str = "quick"
    val: list[Path] = field(default_factory=list)
    frames_per_video: int = 40
    min_views: int = 5
    tolerance: float = 0.05
    min_score: float = 0.5
    max_steps: int | None = None
    fresh: bool = False
    overwrite: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class AdaptResult:
    """The adapted model (``OUT/model.pt``)."""

    model: Path


def _quiet(message: str) -> None:
    """The default ``log``: say nothing."""


def run_adapt(opts: AdaptRunOptions, log: Callable[[str], None] = _quiet) -> AdaptResult:
    """Check every source, then pseudo-label (unless OUT already holds infantpose's
    pseudo-labels) and train. ``log`` gets the one-line notes a user should see while it runs
    (pseudo-labels reused, how many keypoints were kept). Folders this run created and left
    empty are removed when it fails."""
    thresholds = AdaptOptions(tol=opts.tolerance, min_views=opts.min_views,
                              min_score=opts.min_score, per_video=opts.frames_per_video)
    thresholds.check()
    sch = get_schema(opts.schema)
    photos, videos = collect_sources(opts.sources)
    weights, out, val = opts.weights, opts.out, opts.val
    if weights is not None and not weights.is_file():
        raise InputError(weights, "no such checkpoint file")
    for p in photos:  # every source checked before anything is written
        check_image_header(p)
    for v in videos:
        probe_video(v)
    for v in val:
        read_labels(v)
    if weights is not None:
        checkpoint_model(weights)  # a file that is not an infantpose checkpoint fails here
    guard = Outputs("adapt", [*opts.sources, *photos, *videos, *val,
                              *([weights] if weights else [])], opts.overwrite)
    made = [p for p in (out, out / FRAMES) if not p.exists()]
    out_dir = guard.folder(out)
    frames_dir = guard.folder(out_dir / FRAMES)
    if opts.fresh:
        remove_owned(out_dir, [LABELS, REPORT, *[n for n in RUN_FILES if n != "config.yaml"]])
        remove_owned(frames_dir)
    guard.files([out_dir / n for n in (LABELS, REPORT, *RUN_FILES)])

    try:
        with lock_folder(out_dir, "adapt"):
            if not opts.fresh:  # a killed run's temporary files (.last.*.tmp.pt) go
                remove_owned(out_dir, [])
                remove_owned(frames_dir, [])
            return AdaptResult(_run(opts, out_dir, photos, videos, sch, thresholds, guard, log))
    except BaseException:
        for p in reversed(made):  # folders this run created and left empty
            if p.is_dir() and not any(p.iterdir()):
                p.rmdir()
        raise


def _run(opts: AdaptRunOptions, out_dir: Path, photos: list[Path], videos: list[Path],
         sch: Schema, thresholds: AdaptOptions, guard: Outputs,
         log: Callable[[str], None]) -> Any:
    """Pseudo-label (unless this folder already holds infantpose's pseudo-labels), then train;
    the path of the trained model."""
    model, weights = opts.model, opts.weights
    labels = out_dir / LABELS
    # (the 8 views already include the mirror images: no test-time mirroring inside each)
    options = ({"rotations": (), "min_score": 0.0, "mirror_test": False}
               if model == "blazepose" else {})
    with recording("adapt"):
        if labels.is_file() and is_owned(labels):
            log(f"reusing pseudo-labels in {labels} (--fresh makes new ones)")
        else:
            est = models.create_estimator(model, schema=sch,
                                          weights=str(weights) if weights else None, **options)
            if est.schema.name != sch.name:
                raise InputError(None, f"model {model!r} emits {est.schema.name}, not {sch.name}")
            total = len(photos) + len(videos) * thresholds.per_video
            with bar(total, "pseudo-labelling (8 views per frame)", enabled=not opts.quiet,
                     transient=True) as b:
                labels, report = pseudo_label(
                    est, iter_frames(photos, videos, thresholds.per_video, thresholds.radius),
                    sch, out_dir, thresholds, claim=guard.file, progress=lambda f: b.update(1))
            est.close()
            log(f"pseudo-labels: {report.frames_used} of {report.frames} frames used, "
                f"{report.kept_fraction:.0%} of keypoints kept ({out_dir / REPORT})")
        values = training_values(labels, sch, out_dir, weights, opts.val)
        if opts.max_steps is not None:
            values["optim"] = {"max_steps": opts.max_steps}
        cfg = config_from_dict(values, None, opts.preset)
        return loop.train(cfg, resume=not opts.fresh, progress=not opts.quiet)
