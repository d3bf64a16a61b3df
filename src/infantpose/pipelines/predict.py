"""The ``infantpose predict`` workflow: run a pose model on images, folders and videos, offline.

Outputs (under ``out``):

* images -> ``out/predictions.json``: a JSON list in COCO keypoint-results format, one entry per
  image and detected instance (:mod:`infantpose.io.coco_results`, docs/predict.md);
  ``overlay`` -> ``out/overlay/<image name>``; ``deidentify`` -> ``out/deidentified/<image
  name>`` (the face hidden);
* each video -> its own folder ``out/<stem>/`` with the files ``batch`` writes too (one video
  path, :mod:`infantpose.video.pipeline`): ``poses.json``, ``keypoints.csv`` and the other
  ``formats`` files, ``overlay.mp4`` (``overlay``), ``deidentified.mp4`` (``deidentify``),
  ``trajectories.png`` (``plot``).

Nothing appears under ``out`` unless the whole run succeeds: outputs are written into a hidden
staging folder inside ``out`` and moved into place at the end (each move is an atomic rename).
Every output path is checked first against :mod:`infantpose.outputs`: ``out`` may not be an input
folder, and a file that infantpose did not write is never replaced unless ``overwrite``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infantpose._names import display_name
from infantpose.errors import InputError, OutputError
from infantpose.frames import per_image, run_frames
from infantpose.io.coco_results import coco_results, instance_extras, write_coco_results
from infantpose.io.frames import image_frames
from infantpose.io.images import check_image_header, is_image_path, write_image
from infantpose.io.video import is_video_path, media_in_folder, probe_video
from infantpose import models as registry  # create_estimator looked up per call: tests swap it
from infantpose.models.resolve import (DEFAULT_MODEL, DEFAULT_VIDEO_MODEL, MIRRORING_MODELS,
                                       model_options, resolve_model)
from infantpose.outputs import Outputs, lock_folder, refuse_links
from infantpose.pipelines._paths import coerce_paths
from infantpose.progress import bar
from infantpose.schemas import get_schema
from infantpose.video.batch import output_dir_names
from infantpose.video.pipeline import VideoOptions, planned_files, run_video
from infantpose.video.privacy import Deidentifier, drop_facial_keypoints
from infantpose.video.render import FrameRenderer

__all__ = ["DEFAULT_MODEL", "DEFAULT_VIDEO_MODEL", "MIRRORING_MODELS", "RESERVED",
           "PredictOptions", "PredictResult", "Sources", "collect_sources", "model_options",
           "planned_outputs", "remove_stale_staging", "resolve_model", "run_predict",
           "video_dirs"]


@dataclass
class PredictOptions:
    """What ``infantpose predict`` was asked for; choices are plain strings.

    ``model`` None runs the model the ``weights`` checkpoint holds (see :func:`resolve_model`),
    or the default models when no weights are given. ``formats``: pose formats of each video
    besides ``poses.json`` (empty: csv). ``deidentify`` ("mosaic"/"blur"): hide the face in
    every image and video written, write face-hidden copies, drop facial keypoints from every
    pose output; ``drop_facial`` drops them without writing any media. ``mirror_test``: the
    models' test-time mirroring (None: their default). ``nwb``: subject and session metadata
    of the NWB files (fields of :class:`~infantpose.io.nwb.NwbInfo`).
    """

    sources: list[Path]
    out: Path
    schema: str = "coco17"
    overlay: bool = False
    model: str | None = None
    weights: Path | None = None
    max_frames: int | None = None
    deidentify: str | None = None
    overwrite: bool = False
    formats: list[str] = field(default_factory=list)
    tracking: bool = True
    drop_facial: bool = False
    plot: bool = False
    mirror_test: bool | None = None
    nwb: dict[str, Any] = field(default_factory=dict)
    quiet: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class Sources:
    """Inputs sorted into images (with their output file names) and videos."""

    images: list[tuple[Path, str]] = field(default_factory=list)
    videos: list[Path] = field(default_factory=list)


def collect_sources(paths: list[Path]) -> Sources:
    """Sort SOURCE arguments into images and videos; InputError for anything unusable.

    A folder contributes its images (file_name relative to the folder) and its videos, sorted by
    name. A single image file contributes its file name.
    """
    out = Sources()
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            imgs, vids = media_in_folder(p)
            out.images.extend((q, q.relative_to(p).as_posix()) for q in imgs)
            out.videos.extend(vids)
        elif p.is_file():
            if is_image_path(p):
                out.images.append((p, p.name))
            elif is_video_path(p):
                out.videos.append(p)
            else:
                raise InputError(p, "not an image or video file (by its extension)")
        else:
            raise InputError(p, "no such file or directory")
    return out


def _unique(name: str, used: set[str]) -> str:
    stem, suffix = os.path.splitext(name)
    out, i = name, 2
    while out in used:
        out = f"{stem}_{i}{suffix}"
        i += 1
    used.add(out)
    return out


#: Names in ``out`` that a video's folder may not take (the images' outputs).
RESERVED = {"predictions.json", "overlay", "deidentified"}


def video_dirs(videos: list[Path]) -> list[str]:
    """One output folder name per video: its stem (its full name when stems collide, as in
    ``batch``), made unique and kept clear of the images' outputs (:data:`RESERVED`)."""
    names = output_dir_names(videos)
    used = set(RESERVED)
    return [_unique(names[v], used) for v in videos]


@dataclass
class PredictResult:
    """What a run did: frames and seconds, images and videos, what was not found, the files
    written."""

    frames: int = 0
    seconds: float = 0.0
    images: int = 0
    images_without_person: list[str] = field(default_factory=list)
    videos: int = 0
    video_frames_without_person: int = 0
    corrupt_frames: dict[str, int] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)
    frames_blurred_whole: int = 0  # deidentify: frames/images with no placeable face

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def planned_outputs(src: Sources, video_options: Any, overlay: bool, deidentify: bool
                    ) -> tuple[list[str], list[str], list[str]]:
    """Output paths (relative to ``out``) the run will write: the output names of the images,
    the folder names of the videos, and every file."""
    used: set[str] = set()
    image_names = [_unique(name, used) for _, name in src.images] \
        if overlay or deidentify else []
    dirs = video_dirs(src.videos)
    files = ["predictions.json"] if src.images else []
    files += [f"overlay/{n}" for n in image_names] if overlay else []
    files += [f"deidentified/{n}" for n in image_names] if deidentify else []
    for d in dirs:
        files += [f"{d}/{name}" for name in planned_files(video_options)]
    return image_names, dirs, files


def run_predict(opts: PredictOptions) -> PredictResult:
    """The whole ``predict`` command, callable from Python: check every input and output, then
    predict, render and write (see the module's docstring)."""
    sources, out, weights = opts.sources, opts.out, opts.weights
    sch = get_schema(opts.schema)
    vopts = VideoOptions(tracking=opts.tracking, max_frames=opts.max_frames,
                         deidentify=opts.deidentify, drop_facial=opts.drop_facial,
                         overlay=opts.overlay, plot=opts.plot,
                         formats=list(opts.formats) if opts.formats else ["csv"],
                         nwb=dict(opts.nwb or {})).check()
    if weights is not None and not Path(weights).is_file():
        raise InputError(weights, "weights file not found")
    models = (resolve_model(opts.model, weights),
              resolve_model(opts.model, weights, video=True))
    options = {m: model_options(m, opts.mirror_test) for m in set(models)}
    src = collect_sources(sources)
    if opts.max_frames is not None:
        src.images = src.images[:opts.max_frames]
    guard = Outputs("predict", [*sources, *(p for p, _ in src.images), *src.videos,
                                *([weights] if weights else [])], opts.overwrite)
    guard.folder(out, create=False)
    image_names, dirs, planned = planned_outputs(src, vopts, opts.overlay,
                                                 bool(opts.deidentify))
    refuse_links(out, [out / rel for rel in planned])  # out/<video>, out/overlay: never links
    for rel in planned:
        guard.file(out / rel, create_parent=False)
    for img_path, _ in src.images:
        check_image_header(img_path)
    infos = {v: probe_video(v) for v in src.videos}  # missing/unreadable/zero-frame fail here
    created_out = not out.exists()
    try:
        return _run(src, sch, out, guard, vopts, image_names, dirs, infos, models, weights,
                    not opts.quiet, options)
    except BaseException:
        if created_out:  # a failed run leaves no empty output folder behind
            for d in (out / "overlay", out / "deidentified", out):
                with contextlib.suppress(OSError):
                    d.rmdir()  # only ever removes an empty folder
        raise


def _run(src: Sources, sch: Any, out: Path, guard: Any, vopts: Any, image_names: list[str],
         dirs: list[str], infos: dict, models: tuple[str, str], weights: Path | None,
         progress: bool, options: dict[str, dict[str, Any]] | None = None) -> PredictResult:
    """The run after every input and output has been checked (see :func:`run_predict`);
    ``models``: the model for the photos and the one for the videos (the same unless neither
    --model nor --weights was given)."""
    built: dict[str, Any] = {}
    for name, needed in zip(models, (bool(src.images), bool(src.videos))):
        if needed and name not in built:
            built[name] = registry.create_estimator(name, schema=sch,
                                           weights=str(weights) if weights else None,
                                           **(options or {}).get(name, {}))
            if built[name].schema.name != sch.name:
                raise InputError(None, f"model {name!r} emits {built[name].schema.name}, "
                                       f"not {sch.name}")
    model = models[1] if src.videos else models[0]
    out = guard.folder(out)
    per_video = [min(i.n_frames, vopts.max_frames) if vopts.max_frames else i.n_frames
                 for i in infos.values()]
    total = len(src.images) + sum(per_video)  # one pass per video, renders drawn in it
    summary = PredictResult()
    try:
        with lock_folder(out, "predict"):
            remove_stale_staging(out)
            return _run_locked(src, sch, out, guard, vopts, dirs, models, built, model,
                               weights, progress, image_names, total, summary)
    finally:
        for est in built.values():
            est.close()


def remove_stale_staging(out: Path) -> list[Path]:
    """Remove staging folders that a killed run (kill -9) left in ``out``: called while this
    run holds ``out``'s lock, so no other run is using them. Only real folders named
    ``.predict-staging-*`` go; a link of that name is left alone."""
    removed = []
    for d in out.glob(".predict-staging-*"):
        if d.is_dir() and not d.is_symlink():
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def _run_locked(src: Sources, sch: Any, out: Path, guard: Any, vopts: Any, dirs: list[str],
                models: tuple[str, str], built: dict[str, Any], model: str,
                weights: Path | None, progress: bool, image_names: list[str], total: int,
                summary: PredictResult) -> PredictResult:
    """The predictions and renders, staged in a hidden folder of ``out`` and moved into place
    at the end (``out``'s lock held)."""
    staging = Path(tempfile.mkdtemp(prefix=".predict-staging-", dir=out))
    meta = {"model": model, **({"weights": str(weights)} if weights else {})}
    pbar = bar(total, "predict", enabled=progress)
    t_start = time.perf_counter()

    def tick(n: int = 1) -> None:  # frames predicted (and rendered in the same pass)
        pbar.update(n)
        el = time.perf_counter() - t_start
        if el > 0:
            pbar.set_rate(f"{pbar.n / el:.1f}/s")

    try:
        if src.images:
            pbar.set_description("images")
            _predict_images(built[models[0]], src, sch, staging, vopts, image_names, summary,
                            tick)
        for vpath, d in zip(src.videos, dirs):
            pbar.set_description(vpath.name)
            (staging / d).mkdir(parents=True)
            res = run_video(built[models[1]], vpath, staging / d, vopts, meta=meta, progress=tick,
                            final_dir=out / d)
            summary.videos += 1
            summary.frames += res.poses.n_frames
            summary.video_frames_without_person += int(res.poses.meta["frames_without_person"])
            summary.corrupt_frames[str(vpath)] = int(res.poses.meta["corrupt_frames"])
            deid = res.info.get("deidentification")
            if deid:
                summary.frames_blurred_whole += int(deid["whole_frame_blurred"])
        summary.seconds = time.perf_counter() - t_start
        pbar.close()
        summary.written = _commit(staging, out)
        guard.record(*summary.written)
    except OutputError as e:  # name the output, not its hidden staging copy
        if e.path and Path(e.path).is_relative_to(staging):
            raise OutputError(out / Path(e.path).relative_to(staging), e.problem) from None
        raise
    finally:
        pbar.close()
        shutil.rmtree(staging, ignore_errors=True)
    return summary


def _predict_images(est: Any, src: Sources, sch: Any, staging: Path, vopts: Any,
                    image_names: list[str], summary: PredictResult, tick: Any) -> None:
    """Images -> ``predictions.json`` (COCO results), overlays and face-hidden copies, through
    the one frame loop (:mod:`infantpose.frames`) and the shared annotators
    (:class:`~infantpose.video.render.FrameRenderer`: the overlay looks as a video's does)."""
    deid = _deidentifier(vopts.deidentify) if vopts.deidentify else None
    renderer = FrameRenderer(vopts.deidentify, vopts.overlay, deidentifier=deid)
    results: list[dict[str, Any]] = []

    def on_frame(frame: Any, poses: Any) -> None:
        # faces placed from the head keypoints before they are dropped
        shown = drop_facial_keypoints(poses) if vopts.drops_facial else poses
        before = deid.report.whole_frame_blurred if deid is not None else 0
        out = renderer.render(frame.image, poses, shown)
        if out.hidden is not None and deid is not None:
            summary.frames_blurred_whole += deid.report.whole_frame_blurred - before
            write_image(staging / "deidentified" / image_names[frame.index], out.hidden)
        kp = shown.data[0]
        extra = instance_extras(shown)  # rotation, path: which estimator path found it
        name = display_name(frame.name)
        entries = coco_results(frame.index + 1, name, kp, sch.name, frame.size, extra)
        if not entries:
            summary.images_without_person.append(name)
        results.extend(entries)
        if out.overlay is not None:
            write_image(staging / "overlay" / image_names[frame.index], out.overlay)
        summary.images += 1
        summary.frames += 1

    try:
        run_frames(image_frames(src.images), per_image(est), on_frame=on_frame, progress=tick)
    finally:
        renderer.close()
    write_coco_results(staging / "predictions.json", results)


def _deidentifier(mode: str) -> Deidentifier:
    """The Deidentifier of images: the settings of every other command (margin, thresholds,
    face detector), so the same regions are hidden."""
    return Deidentifier(mode)


def _commit(staging: Path, out: Path) -> list[Path]:
    """Move every staged file into ``out`` (atomic renames on one file system)."""
    moved = []
    for f in sorted(staging.rglob("*")):
        if f.is_file():
            dest = out / f.relative_to(staging)
            refuse_links(out, [dest])  # checked before the run too; a link planted since
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, dest)
            moved.append(dest)
    return moved
