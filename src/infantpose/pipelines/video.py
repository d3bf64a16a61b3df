"""The workflows of the video commands: ``deidentify``, ``batch``, ``filter`` and ``overlay``.

They share the one video path of :mod:`infantpose.video.pipeline` with ``predict``, and its
options: ``deidentify`` ("mosaic"/"blur") hides the face in every video written and drops facial
keypoints from every pose output, ``drop_facial`` drops them alone. Each command is one options
dataclass and one function that checks every input and output before anything is written, does
the work and returns what the command prints.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infantpose._names import display_name
from infantpose.errors import InputError
from infantpose.io.posefiles import read_pose_file
from infantpose.io.video import probe_video
from infantpose import models as registry  # create_estimator looked up per call: tests swap it
from infantpose.models.resolve import resolve_model
from infantpose.outputs import Outputs
from infantpose.pipelines._paths import coerce_paths
from infantpose.poses import Poses
from infantpose.progress import bar
from infantpose.video.batch import (BatchOptions, check_batch_paths, check_dashboard,
                                    check_scheduler, run_batch)
from infantpose.video.filters import (METHODS, FilterConfig, filter_poses, high_frequency_power,
                                      mask_low_scores, mean_abs_acceleration)
from infantpose.video.pipeline import predict_and_deidentify, render_videos
from infantpose.video.plots import plot_trajectories
from infantpose.video.privacy import drop_facial_keypoints

__all__ = ["VIDEO_OUT", "BatchResult", "BatchRunOptions", "DeidentifyOptions",
           "DeidentifyResult", "FilterOptions", "FilterResult", "OverlayOptions",
           "OverlayResult", "check_margin", "check_poses_match_video", "check_video_out",
           "filter_config", "run_batch_videos", "run_deidentify", "run_filter", "run_overlay"]

#: The extensions a written video may have.
VIDEO_OUT = (".mp4", ".mov", ".mkv", ".avi")


def check_video_out(path: Path) -> Path:
    """InputError unless ``path`` has a video extension the writer supports."""
    if path.suffix.lower() not in VIDEO_OUT:
        raise InputError(path, f"output video must end in {', '.join(VIDEO_OUT)}")
    return path


def check_margin(margin: float) -> float:
    """InputError unless the face-box margin is a number between 0 and 5."""
    if not math.isfinite(margin) or not 0 <= margin <= 5:
        raise InputError(None, f"--margin must be between 0 and 5, got {margin}")
    return margin


def check_poses_match_video(poses: Poses, poses_path: Path, video: Path) -> None:
    """InputError when a Poses JSON evidently belongs to another video.

    Checked: the frame size recorded in the poses against the video's, and frame indices beyond
    the video's length. (The recorded source path is not compared: files move.)
    """
    info = probe_video(video)
    if poses.frame_size is not None and tuple(poses.frame_size) != tuple(info.frame_size):
        w, h = poses.frame_size
        raise InputError(poses_path, f"poses are for a {w}x{h} video but {video} is "
                                     f"{info.width}x{info.height}; are these its poses?")
    idx = poses.frame_index_array()
    slack = max(2, int(0.05 * info.n_frames)) if not info.n_frames_exact else 0
    if len(idx) and int(idx.max()) >= info.n_frames + slack:
        raise InputError(poses_path, f"poses reach frame {int(idx.max())} but {video} has "
                                     f"{info.n_frames} frames; are these its poses?")


# --- deidentify ------------------------------------------------------------------------------


@dataclass
class DeidentifyOptions:
    """What ``infantpose deidentify`` was asked for. ``poses``: the video's poses, whose head
    keypoints place the face; without them ``model`` runs to place it (``"none"``: the face
    detector alone)."""

    video: Path
    out: Path
    mode: str = "mosaic"
    margin: float = 0.3
    poses: Path | None = None
    model: str = "blazepose"
    weights: Path | None = None
    detector: bool = True
    quiet: bool = False
    overwrite: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class DeidentifyResult:
    """The video written and its :class:`~infantpose.video.privacy.DeidReport` (frames, where
    the face was placed from, frames blurred whole)."""

    out: Path
    report: Any


def run_deidentify(opts: DeidentifyOptions) -> DeidentifyResult:
    """Hide the face in every frame of ``opts.video`` and write ``opts.out`` (all metadata
    stripped); poses are predicted in the same pass when none are given."""
    video, out, weights = opts.video, opts.out, opts.weights
    check_margin(opts.margin)
    inputs = [video] + [p for p in (opts.poses, weights) if p is not None]
    guard = Outputs("deidentify", inputs, opts.overwrite)
    check_video_out(guard.file(out, create_parent=False))
    if weights is not None and not weights.is_file():
        raise InputError(weights, "weights file not found")
    n = probe_video(video).n_frames
    p = None
    if opts.poses is not None:
        p = read_pose_file(opts.poses)
        check_poses_match_video(p, opts.poses, video)
    run_model = opts.poses is None and opts.model != "none"
    with bar(n, video.name, enabled=not opts.quiet) as pbar:
        pbar.set_description(f"{video.name}: {opts.mode}")
        if run_model:  # poses predicted and the face hidden in one pass over the video
            est = registry.create_estimator(resolve_model(opts.model, weights, video=True),
                                   weights=str(weights) if weights else None)
            try:
                _, res = predict_and_deidentify(est, video, out, opts.mode, opts.margin,
                                                opts.detector, progress=pbar.update)
            finally:
                est.close()
        else:
            res = render_videos(video, face_poses=p, deidentify=opts.mode, deidentified=out,
                                margin=opts.margin, use_detector=opts.detector,
                                progress=pbar.update)
    guard.record(out)
    return DeidentifyResult(out, res["report"])


# --- batch -----------------------------------------------------------------------------------


@dataclass
class BatchRunOptions:
    """What ``infantpose batch`` was asked for; choices are plain strings (``filter`` None or
    ``"none"``: no filtered poses). ``workers`` 0 runs in this process; ``scheduler`` an
    existing Dask scheduler; ``dashboard`` ``[HOST]:PORT`` of the local Dask dashboard."""

    video_dir: Path
    out: Path
    workers: int = 2
    scheduler: str | None = None
    model: str | None = None
    weights: Path | None = None
    schema: str = "coco17"
    formats: list[str] = field(default_factory=list)
    filter: str | None = None
    deidentify: str | None = None
    drop_facial: bool = False
    overlay: bool = False
    plot: bool = True
    tracking: bool = True
    max_frames: int | None = None
    nwb: dict[str, Any] = field(default_factory=dict)
    dashboard: str | None = None
    quiet: bool = False
    overwrite: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class BatchResult:
    """One manifest row per video, the count of each status (``ok``: done now, ``skipped``:
    already done, ``failed``), and the manifest."""

    rows: list[dict[str, Any]]
    counts: dict[str, int]
    manifest: Path


def _no_failure_note(name: str, error: str) -> None:
    """The default ``on_failure``: say nothing (the manifest holds the error)."""


def run_batch_videos(opts: BatchRunOptions,
                     on_failure: Callable[[str, str], None] = _no_failure_note) -> BatchResult:
    """Process every video in ``opts.video_dir`` once (resumable; one bad video never stops
    the batch); ``on_failure(video name, error)`` is called as each failed video is reported."""
    if opts.workers < 0:
        raise InputError(None, f"--workers must be >= 0, got {opts.workers}")
    scheduler = opts.scheduler
    if scheduler is not None:
        scheduler = check_scheduler(scheduler)
    check_dashboard(opts.dashboard)
    weights = opts.weights
    if weights is not None and not weights.is_file():
        raise InputError(weights, "weights file not found")
    method = opts.filter
    bopts = BatchOptions(model=resolve_model(opts.model, weights, video=True),
                         schema=opts.schema,
                         weights=str(weights.resolve()) if weights else None,
                         tracking=opts.tracking,
                         filter=None if method in (None, "none") else method,
                         deidentify=opts.deidentify, drop_facial=opts.drop_facial,
                         overlay=opts.overlay, plot=opts.plot, max_frames=opts.max_frames,
                         formats=list(opts.formats) if opts.formats else ["csv"],
                         nwb=opts.nwb).check()
    n = len(check_batch_paths(opts.video_dir, opts.out, opts.overwrite))
    counts = {"ok": 0, "skipped": 0, "failed": 0}
    with bar(n, "videos", enabled=not opts.quiet, unit="video") as pbar:

        def on_result(row: dict[str, Any]) -> None:
            st = row.get("status", "failed")
            counts[st] = counts.get(st, 0) + 1
            name = display_name(str(row["video"]))
            if st == "failed":
                on_failure(name, row.get("error", ""))
            pbar.update(1)
            pbar.set_description(f"{name} {st}")

        rows = run_batch(opts.video_dir, opts.out, bopts, workers=opts.workers,
                         scheduler=scheduler, on_result=on_result, overwrite=opts.overwrite,
                         dashboard=opts.dashboard)
    return BatchResult(rows, counts, opts.out / "manifest.csv")


# --- filter ----------------------------------------------------------------------------------


def filter_config(method: str, cutoff: float | None, window: int | None, min_cutoff: float | None,
                  beta: float | None, max_gap: int, max_speed: float | None, speed_unit: str,
                  min_score: float) -> FilterConfig:
    """A FilterConfig from command-line values (InputError for invalid combinations)."""
    if method not in METHODS:
        raise InputError(None, f"unknown filter {method!r}; choose from {', '.join(METHODS)}")
    if not (math.isfinite(min_score) and 0.0 <= min_score <= 1.0):
        raise InputError(None, f"--min-score must be between 0 and 1, got {min_score}")
    for name, v in (("--cutoff", cutoff), ("--min-cutoff", min_cutoff), ("--beta", beta),
                    ("--max-speed", max_speed)):
        if v is not None and not (math.isfinite(v) and v >= 0):
            raise InputError(None, f"{name} must be a non-negative number, got {v}")
    opts: dict[str, Any] = {}
    if method == "butterworth" and cutoff is not None:
        opts["cutoff_hz"] = cutoff
    if method in ("savgol", "median") and window is not None:
        opts["window"] = window
    if method == "one_euro":
        if min_cutoff is not None:
            opts["min_cutoff"] = min_cutoff
        if beta is not None:
            opts["beta"] = beta
    try:
        return FilterConfig(method=method, min_score=min_score, max_gap=max_gap,
                            max_speed=max_speed if max_speed and max_speed > 0 else None,
                            speed_unit=speed_unit, options=opts)
    except ValueError as e:
        raise InputError(None, str(e)) from None


@dataclass
class FilterOptions:
    """What ``infantpose filter`` was asked for: the poses, the filtered Poses JSON to write
    (``csv``: a CSV of it too), and the filter's settings (see :func:`filter_config`)."""

    poses: Path
    out: Path
    method: str = "butterworth"
    cutoff: float | None = None
    window: int | None = None
    min_cutoff: float | None = None
    beta: float | None = None
    max_gap: int = 5
    max_speed: float | None = 8.0
    speed_unit: str = "body"
    min_score: float = 0.3
    drop_facial: bool = False
    csv: Path | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class FilterResult:
    """The filtered poses, the settings used, the files written, the filter's counts
    (``n_rejected``, ``n_interpolated``, ``n_low_score``), and the jitter of instance 0 per
    keypoint of the output: ``(keypoint, acceleration before, after, high-frequency power
    before, after)`` (None when the poses hold no instance)."""

    poses: Poses
    config: FilterConfig
    written: list[Path]
    counts: dict[str, Any]
    jitter: list[tuple[str, float, float, float, float]] | None


def run_filter(opts: FilterOptions) -> FilterResult:
    """Clean keypoint trajectories (outliers, gaps, smoothing), write them (all or nothing),
    and measure the jitter before and after."""
    cfg = filter_config(opts.method, opts.cutoff, opts.window, opts.min_cutoff, opts.beta,
                        opts.max_gap, opts.max_speed, opts.speed_unit, opts.min_score)
    out, csv = opts.out, opts.csv
    guard = Outputs("filter", [opts.poses], opts.overwrite)
    guard.file(out, create_parent=False)
    if out.suffix.lower() != ".json":
        raise InputError(out, "--out must be a .json file")
    if csv is not None:
        if csv.suffix.lower() != ".csv":
            raise InputError(csv, "--csv must be a .csv file")
        guard.file(csv, create_parent=False)
    poses = read_pose_file(opts.poses)
    if poses.n_frames < 2:
        raise InputError(opts.poses, "needs a video with at least 2 frames")
    if cfg.method in ("butterworth", "one_euro") and not poses.fps:
        raise InputError(opts.poses, f"no fps recorded; the {cfg.method} filter needs it "
                                     "(use savgol or median)")
    try:
        result = filter_poses(poses, cfg)
    except ValueError as e:
        raise InputError(opts.poses, str(e)) from None
    if opts.drop_facial:
        result = drop_facial_keypoints(result)
    written = [result.save_json(out)]
    try:
        if csv is not None:
            written.append(result.to_csv(csv))
    except BaseException:
        written[0].unlink(missing_ok=True)  # all or nothing
        raise
    guard.record(*written)
    return FilterResult(result, cfg, written, result.meta["filter"],
                        _jitter(poses, result, cfg.min_score))


def _jitter(poses: Poses, result: Poses, min_score: float
            ) -> list[tuple[str, float, float, float, float]] | None:
    """Per keypoint of ``result``: mean absolute acceleration and high-frequency power of
    instance 0 before (low scores masked) and after filtering, on the video's frame numbers
    (frames the reader skipped count as time, as batch's summary does)."""
    if not poses.n_instances:
        return None
    fps = poses.fps or 1.0
    before = mask_low_scores(poses.data[:, 0], min_score)
    after = result.data[:, 0]
    fi = poses.frame_indices
    ab = mean_abs_acceleration(before, fps, frame_indices=fi)
    aa = mean_abs_acceleration(after, fps, frame_indices=fi)
    hb = high_frequency_power(before, fps, frame_indices=fi)
    ha = high_frequency_power(after, fps, frame_indices=fi)
    rows = []
    for name in result.schema.keypoints:
        j = poses.schema.index(name)
        rows.append((name, ab[j], aa[j], hb[j], ha[j]))
    return rows


# --- overlay ---------------------------------------------------------------------------------


@dataclass
class OverlayOptions:
    """What ``infantpose overlay`` was asked for: the video, its poses, the overlay video to
    write, the face hidden (``deidentify``), and a trajectory PNG (``plot``)."""

    video: Path
    poses: Path
    out: Path
    deidentify: str | None = None
    plot: Path | None = None
    quiet: bool = False
    overwrite: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class OverlayResult:
    """The files written, the frames written and those with keypoints drawn, and (when the
    face was hidden) the frames blurred whole."""

    written: list[Path]
    frames: int
    annotated: int
    whole_frame_blurred: int | None = None


def run_overlay(opts: OverlayOptions) -> OverlayResult:
    """Draw the skeleton (scores as colour, limb trails, timestamp) on a video; with ``plot``,
    also the trajectories (all or nothing)."""
    video, out, plot = opts.video, opts.out, opts.plot
    guard = Outputs("overlay", [video, opts.poses], opts.overwrite)
    check_video_out(guard.file(out, create_parent=False))
    if plot is not None:
        if plot.suffix.lower() != ".png":
            raise InputError(plot, "--plot writes a PNG file: give a name ending in .png")
        guard.file(plot, create_parent=False)
    poses = read_pose_file(opts.poses)
    check_poses_match_video(poses, opts.poses, video)
    mode = opts.deidentify
    with bar(probe_video(video).n_frames, video.name, enabled=not opts.quiet) as pbar:
        res = render_videos(video, draw=poses, deidentify=mode, overlay=out,
                            progress=pbar.update)
    written = [out]
    try:
        if plot is not None:
            plot_trajectories(drop_facial_keypoints(poses) if mode else poses, plot)
            written.append(plot)
    except BaseException:
        out.unlink(missing_ok=True)  # all or nothing
        raise
    guard.record(*written)
    blurred = (res["deidentification"]["whole_frame_blurred"] if "deidentification" in res
               else None)
    return OverlayResult(written, res["frames"], res["annotated"], blurred)
