"""Video commands: ``deidentify``, ``batch``, ``filter`` and ``overlay``.

Heavy libraries (mediapipe, OpenCV, Dask) are imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from infantpose.cli import app
from infantpose.errors import InputError
from infantpose.outputs import Outputs

__all__ = ["deidentify_cmd", "batch_cmd", "filter_cmd", "overlay_cmd", "filter_config"]

OVERWRITE_HELP = ("Replace existing output files that infantpose did not write (inputs are "
                  "never replaced).")
VIDEO_OUT = (".mp4", ".mov", ".mkv", ".avi")


def check_video_out(path: Path) -> Path:
    """InputError unless ``path`` has a video extension the writer supports."""
    if path.suffix.lower() not in VIDEO_OUT:
        raise InputError(path, f"output video must end in {', '.join(VIDEO_OUT)}")
    return path


def check_margin(margin: float) -> float:
    import math

    if not math.isfinite(margin) or not 0 <= margin <= 5:
        raise InputError(None, f"--margin must be between 0 and 5, got {margin}")
    return margin


def filter_config(method: str, cutoff: float | None, window: int | None, min_cutoff: float | None,
                  beta: float | None, max_gap: int, max_speed: float | None, speed_unit: str,
                  min_score: float) -> Any:
    """A FilterConfig from command-line values (InputError for invalid combinations)."""
    from infantpose.video.filters import METHODS, FilterConfig

    import math

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


@app.command("deidentify")
def deidentify_cmd(
    video: Path = typer.Argument(..., help="Video to de-identify."),
    out: Path = typer.Option(..., "--out", "-o", help="Output video (.mp4, .mov, .mkv, .avi)."),
    mode: str = typer.Option("mosaic", "--mode", help="mosaic or blur."),
    margin: float = typer.Option(0.3, "--margin", help="Face box grown by this fraction per side."),
    poses: Path = typer.Option(None, "--poses", help="Poses JSON of this video (from predict or "
                                                     "batch): head keypoints place the face too."),
    model: str = typer.Option("blazepose", "--model", "-m",
                              help="Pose model run to place the face from head keypoints when "
                                   "--poses is not given; 'none' uses the face detector only."),
    detector: bool = typer.Option(True, "--detector/--no-detector",
                                  help="Use mediapipe's face detector."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
) -> None:
    """Hide the infant's face in every frame (mosaic or blur) and strip all metadata.

    Frames where no face region can be placed are blurred whole, and counted."""
    from rich.console import Console

    from infantpose.poses import Poses
    from infantpose.video.privacy import MODES, deidentify_video

    console = Console(stderr=True)
    if mode not in MODES:
        raise InputError(None, f"--mode must be mosaic or blur, got {mode!r}")
    check_margin(margin)
    guard = Outputs("deidentify", [video] + ([poses] if poses is not None else []), overwrite)
    check_video_out(guard.file(out, create_parent=False))
    p = None
    if poses is not None:
        p = Poses.load_json(poses)
        check_poses_match_video(p, poses, video)
    elif model != "none":
        from infantpose.models import create_estimator
        from infantpose.video.tracking import predict_video

        est = create_estimator(model)
        p = predict_video(est, video, show_progress=not quiet)
    rep = deidentify_video(video, out, mode=mode, margin=margin, poses=p, use_detector=detector,
                           show_progress=not quiet)
    guard.record(out)
    console.print(f"{rep.frames} frames written to {out} ({mode}); face placed by detector in "
                  f"{rep.detector_frames}, by head keypoints in {rep.keypoint_frames}")
    if rep.whole_frame_blurred:
        console.print(f"[yellow]{rep.whole_frame_blurred} frame(s) had no face region and were "
                      f"blurred whole[/yellow]")
    if rep.both_ends_frames:
        console.print(f"{rep.both_ends_frames} frame(s) with both body ends hidden (the face "
                      f"detector did not confirm which end is the head)")
    if rep.corrupt_frames:
        console.print(f"{rep.corrupt_frames} corrupt frame(s) skipped")


@app.command("batch")
def batch_cmd(
    video_dir: Path = typer.Argument(..., help="Folder of videos."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (one sub-folder per video, "
                                                      "manifest.csv)."),
    workers: int = typer.Option(2, "--workers", "-w", help="Local Dask worker processes "
                                                           "(0: run in this process)."),
    scheduler: str = typer.Option(None, "--scheduler", help="Existing Dask scheduler, e.g. "
                                                            "tcp://HOST:8786."),
    model: str = typer.Option("blazepose", "--model", "-m",
                              help="Registered model name or package.module:factory."),
    schema: str = typer.Option("coco17", "--schema", "-s", help="Output keypoint schema."),
    filter_method: str = typer.Option(None, "--filter", help="Also write filtered keypoints: "
                                      "median, savgol, butterworth or one_euro."),
    deidentify: bool = typer.Option(False, "--deidentify", help="Write a face-hidden video and "
                                    "drop facial keypoints from all exported files."),
    deid_mode: str = typer.Option("mosaic", "--deid-mode", help="mosaic or blur."),
    keep_facial: bool = typer.Option(False, "--keep-facial-keypoints",
                                     help="Keep facial keypoints even with --deidentify."),
    overlay: bool = typer.Option(False, "--overlay", help="Write overlay videos."),
    plot: bool = typer.Option(True, "--plot/--no-plot", help="Write trajectories.png."),
    tracking: bool = typer.Option(True, "--tracking/--no-tracking",
                                  help="Follow the infant frame to frame."),
    max_frames: int = typer.Option(None, "--max-frames", help="At most N frames per video."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    dashboard: str = typer.Option(None, "--dashboard",
                                  help="Serve the local Dask dashboard at [HOST]:PORT, e.g. "
                                       ":8787 (off by default)."),
) -> None:
    """Process every video in VIDEO_DIR once (resumable; one bad video never stops the batch).

    A video is redone when its options change. Files in --out that infantpose did not write are
    never deleted, and replaced only with --overwrite."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from infantpose.schemas import get_schema
    from infantpose.video.batch import (BatchOptions, check_batch_paths, check_dashboard,
                                        check_scheduler, display_name, run_batch)
    from infantpose.video.filters import METHODS
    from infantpose.video.privacy import MODES

    console = Console(stderr=True)
    get_schema(schema)
    if filter_method is not None and filter_method not in METHODS:
        raise InputError(None, f"unknown filter {filter_method!r}; "
                               f"choose from {', '.join(METHODS)}")
    if deid_mode not in MODES:
        raise InputError(None, f"--deid-mode must be mosaic or blur, got {deid_mode!r}")
    if max_frames is not None and max_frames < 1:
        raise InputError(None, "--max-frames must be at least 1")
    if workers < 0:
        raise InputError(None, f"--workers must be >= 0, got {workers}")
    if scheduler is not None:
        scheduler = check_scheduler(scheduler)
    check_dashboard(dashboard)
    opts = BatchOptions(model=model, schema=schema, tracking=tracking, filter=filter_method,
                        deidentify=deidentify, deid_mode=deid_mode, keep_facial=keep_facial,
                        overlay=overlay, plot=plot, max_frames=max_frames)
    n = len(check_batch_paths(video_dir, out, overwrite))
    counts = {"ok": 0, "skipped": 0, "failed": 0}
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console) as bar:
        task = bar.add_task("videos", total=n)

        def on_result(row: dict[str, Any]) -> None:
            st = row.get("status", "failed")
            counts[st] = counts.get(st, 0) + 1
            name = display_name(str(row["video"]))
            if st == "failed":
                bar.console.print(f"failed {name}: {row.get('error', '')}", style="red",
                                  markup=False)
            bar.update(task, advance=1, description=f"{name} {st}")

        rows = run_batch(video_dir, out, opts, workers=workers, scheduler=scheduler,
                         on_result=on_result, overwrite=overwrite, dashboard=dashboard)
    console.print(f"{len(rows)} videos: {counts['ok']} done now, {counts['skipped']} already done, "
                  f"{counts['failed']} failed; manifest: {out / 'manifest.csv'}")
    if counts["failed"]:
        raise typer.Exit(code=1)


@app.command("filter")
def filter_cmd(
    poses_path: Path = typer.Argument(..., help="Video Poses JSON (from predict or batch)."),
    out: Path = typer.Option(..., "--out", "-o", help="Filtered Poses JSON."),
    method: str = typer.Option("butterworth", "--method",
                               help="none, median, savgol, butterworth or one_euro."),
    cutoff: float = typer.Option(None, "--cutoff",
                                 help="Butterworth cut-off (Hz; default min(6, fps/4))."),
    window: int = typer.Option(None, "--window", help="Savitzky-Golay / median window (frames)."),
    min_cutoff: float = typer.Option(None, "--min-cutoff", help="One-Euro minimum cut-off (Hz)."),
    beta: float = typer.Option(None, "--beta", help="One-Euro speed coefficient."),
    max_gap: int = typer.Option(5, "--max-gap", help="Fill gaps up to N frames (0: never)."),
    max_speed: float = typer.Option(8.0, "--max-speed", help="Outlier speed bound (0: off)."),
    speed_unit: str = typer.Option("body", "--speed-unit", help="body (lengths/s) or px (/s)."),
    min_score: float = typer.Option(0.3, "--min-score", help="Lower scores count as missing."),
    drop_facial: bool = typer.Option(False, "--drop-facial", help="Drop facial keypoints."),
    csv: Path = typer.Option(None, "--csv", help="Also write the filtered keypoints as CSV."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
) -> None:
    """Clean keypoint trajectories: outliers, gaps, smoothing; print jitter before/after."""
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from infantpose.poses import Poses
    from infantpose.video.filters import filter_poses, high_frequency_power, mean_abs_acceleration

    console = Console()
    cfg = filter_config(method, cutoff, window, min_cutoff, beta, max_gap, max_speed, speed_unit,
                        min_score)
    guard = Outputs("filter", [poses_path], overwrite)
    guard.file(out, create_parent=False)
    if out.suffix.lower() != ".json":
        raise InputError(out, "--out must be a .json file")
    if csv is not None:
        if csv.suffix.lower() != ".csv":
            raise InputError(csv, "--csv must be a .csv file")
        guard.file(csv, create_parent=False)
    poses = Poses.load_json(poses_path)
    if poses.n_frames < 2:
        raise InputError(poses_path, "needs a video with at least 2 frames")
    if cfg.method in ("butterworth", "one_euro") and not poses.fps:
        raise InputError(poses_path, f"no fps recorded; the {cfg.method} filter needs it "
                                     "(use savgol or median)")
    try:
        result = filter_poses(poses, cfg)
    except ValueError as e:
        raise InputError(poses_path, str(e)) from None
    if drop_facial:
        from infantpose.video.privacy import drop_facial_keypoints
        result = drop_facial_keypoints(result)
    written = [result.save_json(out)]
    try:
        if csv is not None:
            written.append(result.to_csv(csv))
    except BaseException:
        written[0].unlink(missing_ok=True)  # all or nothing
        raise
    guard.record(*written)
    fps = poses.fps or 1.0
    table = Table(title=f"jitter, instance 0 ({cfg.method})")
    for c in ("keypoint", "acc before", "acc after", "HF before", "HF after"):
        table.add_column(c, justify="right" if c != "keypoint" else "left")
    if poses.n_instances:
        clean_before = poses.data[:, 0].copy()
        clean_before[clean_before[..., 2] < cfg.min_score] = np.nan
        after = result.data[:, 0]
        ab, aa = mean_abs_acceleration(clean_before, fps), mean_abs_acceleration(after, fps)
        hb, ha = high_frequency_power(clean_before, fps), high_frequency_power(after, fps)
        for k, name in enumerate(poses.schema.keypoints):
            table.add_row(name, *(f"{v:.1f}" if np.isfinite(v) else "-" for v in
                                  (ab[k], aa[k], hb[k], ha[k])))
        console.print(table)
    f = result.meta["filter"]
    console.print(f"wrote {out}: {f['n_rejected']} outliers rejected, {f['n_interpolated']} points "
                  f"interpolated, {f['n_low_score']} low-score points treated as missing")


@app.command("overlay")
def overlay_cmd(
    video: Path = typer.Argument(..., help="The video the poses belong to."),
    poses_path: Path = typer.Argument(..., help="Poses JSON (raw or filtered)."),
    out: Path = typer.Option(..., "--out", "-o", help="Overlay video (.mp4)."),
    deidentify: str = typer.Option(None, "--deidentify",
                                   help="Hide the face first: mosaic or blur."),
    plot: Path = typer.Option(None, "--plot", help="Also write a trajectory PNG here."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
) -> None:
    """Draw the skeleton (scores as colour, limb trails, timestamp) on a video."""
    from rich.console import Console

    from infantpose.poses import Poses
    from infantpose.video.overlay import render_overlay

    if deidentify is not None and deidentify not in ("mosaic", "blur"):
        raise InputError(None, f"--deidentify must be mosaic or blur, got {deidentify!r}")
    guard = Outputs("overlay", [video, poses_path], overwrite)
    check_video_out(guard.file(out, create_parent=False))
    if plot is not None:
        if plot.suffix.lower() != ".png":
            raise InputError(plot, "--plot writes a PNG file: give a name ending in .png")
        guard.file(plot, create_parent=False)
    poses = Poses.load_json(poses_path)
    check_poses_match_video(poses, poses_path, video)
    res = render_overlay(video, poses, out, deidentify=deidentify, show_progress=not quiet)
    written = [out]
    try:
        if plot is not None:
            from infantpose.video.plots import plot_trajectories
            plot_trajectories(poses, plot)
            written.append(plot)
    except BaseException:
        out.unlink(missing_ok=True)  # all or nothing
        raise
    guard.record(*written)
    msg = f"wrote {out}: {res['frames']} frames, {res['annotated']} with keypoints"
    if "deidentification" in res:
        msg += f", {res['deidentification']['whole_frame_blurred']} blurred whole (no face found)"
    Console(stderr=True).print(msg)


def check_poses_match_video(poses: Any, poses_path: Path, video: Path) -> None:
    """InputError when a Poses JSON evidently belongs to another video.

    Checked: the frame size recorded in the poses against the video's, and frame indices beyond
    the video's length. (The recorded source path is not compared: files move.)
    """
    from infantpose.io.video import probe_video

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
