"""``infantpose predict``: run a pose model on images, folders and videos, offline.

Outputs (under ``--out DIR``):

* images -> ``DIR/predictions.json``: a JSON list in COCO keypoint-results format, one entry per
  image and detected instance (see :mod:`infantpose.io.coco_results` and docs/predict.md);
* each video -> ``DIR/<stem>.json`` (``Poses.save_json``) and ``DIR/<stem>.csv`` (tidy table);
* ``--overlay`` -> ``DIR/overlay/<image name>`` and ``DIR/<stem>_overlay.mp4``.

Nothing appears under ``DIR`` unless the whole run succeeds: outputs are written into a hidden
staging folder inside ``DIR`` and moved into place at the end (each move is an atomic rename).
Every output path is checked first against :mod:`infantpose.outputs`: ``DIR`` may not be an input
folder, and a file that infantpose did not write (say a ground-truth ``clip.json`` beside
``clip.mp4``) is never replaced unless ``--overwrite``.
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

import numpy as np
import typer

from infantpose.cli import app
from infantpose.errors import InputError
from infantpose.io.coco_results import coco_results, instance_score, write_coco_results

__all__ = ["coco_results", "collect_sources", "instance_score", "predict_cmd", "resolve_model",
           "run_predict"]

#: The model run when neither --model nor --weights is given (mediapipe's runtime, weights in the
#: wheel).
DEFAULT_MODEL = "blazepose"


def resolve_model(model: str | None, weights: str | os.PathLike | None) -> str:
    """The registered model to run for ``--model`` / ``--weights``.

    A checkpoint says what it is, so ``--weights FILE`` alone runs the model the file holds
    (``blazepose-torch`` for BlazePose checkpoints, ``pose-resnet`` for Pose-ResNet ones). A
    ``--model`` that cannot run the file is refused with the model that can; a model registered
    by the user is trusted with its weights. Neither given: :data:`DEFAULT_MODEL`.
    """
    if weights is None:
        return model or DEFAULT_MODEL
    if Path(weights).suffix.lower() == ".onnx":  # not a torch checkpoint: the onnx model runs it
        return model or "onnx"
    from infantpose.models.topdown import MODEL_OF_ARCHITECTURE, checkpoint_model

    if model is not None and model not in {DEFAULT_MODEL, *MODEL_OF_ARCHITECTURE.values()}:
        return model  # a model registered by the user reads its own weights file, any format
    name, arch = checkpoint_model(weights)
    if model is None or model == name:
        return name
    raise InputError(weights, f"checkpoint holds a {arch} model, which --model {name} runs, "
                              f"not --model {model} (leave out --model to use the file's)")


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
    from infantpose.io.images import is_image_path
    from infantpose.io.video import is_video_path, media_in_folder

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


@dataclass
class Summary:
    frames: int = 0
    seconds: float = 0.0
    images: int = 0
    images_without_person: list[str] = field(default_factory=list)
    videos: int = 0
    video_frames_without_person: int = 0
    corrupt_frames: dict[str, int] = field(default_factory=dict)
    written: list[Path] = field(default_factory=list)
    frames_blurred_whole: int = 0  # --deidentify: overlay frames with no placeable face

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def planned_outputs(src: Sources, overlay: bool) -> tuple[list[str], list[str], list[str]]:
    """Output paths (relative to ``--out``) the run will write: the overlay names of the images,
    the stems of the videos, and every file."""
    used: set[str] = set()
    overlay_names = [_unique(name, used) for _, name in src.images] if overlay else []
    stems_used: set[str] = {"predictions"}
    stems = [_unique(v.stem, stems_used) for v in src.videos]
    files = (["predictions.json"] if src.images else []) + [f"overlay/{n}" for n in overlay_names]
    for stem in stems:
        files += [f"{stem}.json", f"{stem}.csv"] + ([f"{stem}_overlay.mp4"] if overlay else [])
    return overlay_names, stems, files


def run_predict(sources: list[Path], schema: str, out: Path, overlay: bool = False,
                model: str | None = None, weights: Path | None = None,
                max_frames: int | None = None, progress: bool = True,
                deidentify: str | None = None, overwrite: bool = False) -> Summary:
    """The whole ``predict`` command as a function (used by the CLI and the benchmark).

    ``model`` None runs the model the ``weights`` checkpoint holds (see :func:`resolve_model`),
    or BlazePose when no weights are given.
    """

    from infantpose.io.video import probe_video
    from infantpose.outputs import Outputs
    from infantpose.schemas import get_schema

    sch = get_schema(schema)
    if deidentify is not None and deidentify not in ("mosaic", "blur"):
        raise InputError(None, f"--deidentify must be mosaic or blur, got {deidentify!r}")
    if max_frames is not None and max_frames < 1:
        raise InputError(None, f"--max-frames must be at least 1, got {max_frames}")
    if weights is not None and not Path(weights).is_file():
        raise InputError(weights, "weights file not found")
    model = resolve_model(model, weights)
    src = collect_sources(sources)
    if max_frames is not None:
        src.images = src.images[:max_frames]
    guard = Outputs("predict", [*sources, *(p for p, _ in src.images), *src.videos,
                                *([weights] if weights else [])], overwrite)
    guard.folder(out, create=False)
    overlay_names, video_stems, planned = planned_outputs(src, overlay)
    for rel in planned:
        guard.file(out / rel, create_parent=False)
    for img_path, _ in src.images:
        from infantpose.io.images import check_image_header
        check_image_header(img_path)
    infos = {v: probe_video(v) for v in src.videos}  # missing/unreadable/zero-frame fail here
    created_out = not out.exists()
    try:
        return _run(src, sch, out, guard, overlay, overlay_names, video_stems, infos, model,
                    weights, max_frames, progress, deidentify)
    except BaseException:
        if created_out:  # a failed run leaves no empty output folder behind
            for d in (out / "overlay", out):
                with contextlib.suppress(OSError):
                    d.rmdir()  # only ever removes an empty folder
        raise


def _run(src: Sources, sch: Any, out: Path, guard: Any, overlay: bool, overlay_names: list[str],
         video_stems: list[str], infos: dict, model: str, weights: Path | None,
         max_frames: int | None, progress: bool, deidentify: str | None) -> Summary:
    """The run after every input and output has been checked (see :func:`run_predict`)."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from infantpose.draw import draw_poses
    from infantpose.io.images import read_image, write_image
    from infantpose.io.video import DecodeStats, iter_frames
    from infantpose.models import create_estimator
    from infantpose.poses import Poses
    from infantpose.video.prefetch import Prefetcher

    deid = None
    if deidentify:  # faces hidden in overlays, facial keypoints dropped from outputs
        from infantpose.video.privacy import drop_facial_keypoints, guessed_instances
        deid = _make_deidentifier(deidentify, overlay)
    est = create_estimator(model, schema=sch, weights=str(weights) if weights else None)
    if est.schema.name != sch.name:
        raise InputError(None, f"model {model!r} emits {est.schema.name}, not {sch.name}")
    out = guard.folder(out)

    total = len(src.images) + sum(
        min(i.n_frames, max_frames) if max_frames else i.n_frames for i in infos.values())
    summary = Summary()
    staging = Path(tempfile.mkdtemp(prefix=".predict-staging-", dir=out))
    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TextColumn("{task.fields[rate]}"), TimeRemainingColumn(),
                      disable=not progress, transient=False) as bar:
            task = bar.add_task("predict", total=total, rate="")
            t_start = time.perf_counter()

            def tick(desc: str) -> None:
                summary.frames += 1
                el = time.perf_counter() - t_start
                bar.update(task, advance=1, description=desc,
                           rate=f"{summary.frames / el:.1f} frames/s" if el > 0 else "")

            # ---- images -> predictions.json ------------------------------------------------
            if src.images:
                est.set_mode("image")
                results: list[dict[str, Any]] = []
                for image_id, (path, name) in enumerate(src.images, start=1):
                    img = read_image(path)
                    poses = est.predict(img)
                    if deid is not None:
                        img = deid(img, poses.data[0], sch, guessed=guessed_instances(
                            poses.meta.get("path"))) if overlay else img
                        poses = drop_facial_keypoints(poses)
                    kp = poses.data[0]
                    extra = {k: poses.meta[k] for k in ("rotation", "path")  # path: which
                             if len(poses.meta.get(k) or []) == kp.shape[0]} or None  # found it
                    entries = coco_results(image_id, name, kp, sch.name,
                                           (img.shape[1], img.shape[0]), extra)
                    if not entries:
                        summary.images_without_person.append(name)
                    results.extend(entries)
                    if overlay:
                        write_image(staging / "overlay" / overlay_names[image_id - 1],
                                    draw_poses(img, poses))
                    summary.images += 1
                    tick(f"image {image_id}/{len(src.images)}")
                write_coco_results(staging / "predictions.json", results)

            # ---- videos -> <stem>.json, <stem>.csv, <stem>_overlay.mp4 ---------------------
            for vpath, stem in zip(src.videos, video_stems):
                info = infos[vpath]
                est.set_mode("video")
                stats = DecodeStats()
                frames, idx, rotations, paths = [], [], [], []
                extra_meta: dict[str, Any] = {}
                writer = None
                if overlay:  # sized from the first decoded frame (headers can disagree)
                    writer = _LazyWriter(staging / f"{stem}_overlay.mp4", info.fps or 30.0)
                if writer is not None:
                    writer.__enter__()
                # Decode in a background thread while the model works (issue 7's prefetcher).
                frames_it = Prefetcher(iter_frames(vpath, stats=stats, max_frames=max_frames),
                                       maxsize=8)
                try:
                    for fi, rgb in frames_it:
                        p = est.predict(rgb)
                        if deid is not None:
                            rgb = deid(rgb, p.data[0], sch, stream=str(vpath),
                                       guessed=guessed_instances(p.meta.get("path"))) \
                                if writer is not None else rgb
                            p = drop_facial_keypoints(p)
                        if not frames and "missing_keypoints" in p.meta:
                            extra_meta["missing_keypoints"] = p.meta["missing_keypoints"]
                        frames.append(p.data[0])
                        idx.append(fi)
                        rotations.append(p.meta.get("rotation", [None])[0]
                                         if p.meta.get("rotation") else None)
                        paths.append((p.meta.get("path") or [None])[0])
                        if writer is not None:
                            writer.write(draw_poses(rgb, p))
                        tick(f"{vpath.name} frame {fi}")
                except BaseException as e:
                    frames_it.close()
                    if writer is not None:
                        writer.__exit__(type(e), e, e.__traceback__)
                    raise
                if writer is not None:
                    writer.__exit__(None, None, None)
                n = max(len(f) for f in frames)
                data = np.full((len(frames), n, sch.num_keypoints, 3), np.nan)
                data[..., 2] = 0.0
                for i, f in enumerate(frames):
                    data[i, :len(f)] = f
                poses = Poses(data, sch, source=str(vpath), frame_indices=idx, fps=info.fps,
                              frame_size=info.frame_size,
                              meta={"model": model, "rotation": rotations,
                                    **({"path": paths} if any(paths) else {}),
                                    **({"weights": str(weights)} if weights else {}),
                                    "corrupt_frames_skipped": stats.corrupt,
                                    "video_frames": info.n_frames, **extra_meta})
                no_person = int((~poses.present.any(axis=1)).sum())
                poses.meta["frames_without_person"] = no_person
                if deid is not None:
                    poses.meta["facial_keypoints_dropped"] = list(sch.facial)
                summary.video_frames_without_person += no_person
                summary.corrupt_frames[str(vpath)] = stats.corrupt
                poses.save_json(staging / f"{stem}.json")
                poses.to_csv(staging / f"{stem}.csv")
                summary.videos += 1
            summary.seconds = time.perf_counter() - t_start
            if deid is not None:
                summary.frames_blurred_whole = deid.report.whole_frame_blurred
        summary.written = _commit(staging, out)
        guard.record(*summary.written)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if deid is not None:
            deid.close()
        est.close()
    return summary


def _make_deidentifier(mode: str, overlay: bool) -> Any:
    """The Deidentifier of ``deidentify``/``overlay`` (same margin, thresholds and face detector,
    so the same regions are hidden); without overlays no image is written and no detector runs."""
    from infantpose.video.privacy import Deidentifier

    return Deidentifier(mode, use_detector=overlay)


class _LazyWriter:
    """A VideoWriter opened on the first frame, so its size is the decoded frame size."""

    def __init__(self, path: Path, fps: float):
        self.path, self.fps, self._w = path, fps, None

    def __enter__(self) -> _LazyWriter:
        return self

    def write(self, rgb: np.ndarray) -> None:
        from infantpose.io.video import VideoWriter

        if self._w is None:
            self._w = VideoWriter(self.path, self.fps, (rgb.shape[1], rgb.shape[0])).__enter__()
        self._w.write(rgb)

    def __exit__(self, *exc) -> None:
        if self._w is not None:
            self._w.__exit__(*exc)


def _commit(staging: Path, out: Path) -> list[Path]:
    """Move every staged file into ``out`` (atomic renames on one file system)."""
    moved = []
    for f in sorted(staging.rglob("*")):
        if f.is_file():
            dest = out / f.relative_to(staging)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(f, dest)
            moved.append(dest)
    return moved


@app.command("predict")
def predict_cmd(
    sources: list[Path] = typer.Argument(..., help="Image files, folders of images/videos, "
                                                   "or video files (mp4/avi/mov/mkv)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (created if needed)."),
    schema: str = typer.Option("coco17", "--schema", "-s",
                               help="Keypoint schema of the output: coco17, infant22, blazepose33."),
    overlay: bool = typer.Option(False, "--overlay", help="Also write images/videos with the "
                                                          "skeleton drawn."),
    model: str = typer.Option(None, "--model", "-m",
                              help="Registered model name (default: the model the --weights "
                                   "checkpoint holds, else blazepose)."),
    weights: Path = typer.Option(None, "--weights", "-w",
                                 help="A checkpoint (e.g. runs/x/model.pt from `infantpose "
                                      "train`); it selects its own model."),
    max_frames: int = typer.Option(None, "--max-frames", help="At most N frames per video "
                                                              "(and at most N images)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    deidentify: str = typer.Option(None, "--deidentify",
                                   help="mosaic or blur: hide faces in overlays (frames with no "
                                        "placeable face are blurred whole) and drop facial "
                                        "keypoints from the outputs."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace existing output files that infantpose did not "
                                        "write (inputs are never replaced)."),
) -> None:
    """Predict keypoints on images and videos; write COCO results (images) and Poses JSON + CSV
    (videos), optionally overlays."""
    from rich.console import Console

    console = Console(stderr=True)
    s = run_predict(sources, schema, out, overlay=overlay, model=model, weights=weights,
                    max_frames=max_frames, progress=not quiet, deidentify=deidentify,
                    overwrite=overwrite)
    console.print(f"{s.frames} frames in {s.seconds:.1f} s: {s.fps:.1f} frames/s "
                  f"({s.images} images, {s.videos} videos)")
    if s.images_without_person:
        shown = ", ".join(s.images_without_person[:10])
        more = f" and {len(s.images_without_person) - 10} more" \
            if len(s.images_without_person) > 10 else ""
        console.print(f"no person found in {len(s.images_without_person)} of {s.images} images: "
                      f"{shown}{more}")
    if s.videos:
        console.print(f"video frames without a person: {s.video_frames_without_person}")
        for v, c in s.corrupt_frames.items():
            if c:
                console.print(f"{v}: {c} corrupt frame(s) skipped")
    if deidentify and overlay:
        console.print(f"de-identified ({deidentify}); overlay frames blurred whole (no face "
                      f"found): {s.frames_blurred_whole}")
    console.print(f"wrote {len(s.written)} files to {out}")
