"""Video commands: ``deidentify``, ``batch``, ``filter`` and ``overlay``.

They share the one video path of :mod:`infantpose.video.pipeline` with ``predict``, and its
options: ``--deidentify mosaic|blur`` hides the face in every video written and drops facial
keypoints from every pose output, ``--drop-facial-keypoints`` drops them alone.
Heavy libraries (mediapipe, OpenCV, Dask) are imported inside the commands.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from infantpose.cli import app
from infantpose.cli._options import (Choice, DeidMode, PoseFormat, SchemaName, deidentify_option,
                                     drop_facial_option,
                                     model_option, out_option, overwrite_option, quiet_option,
                                     schema_option, value, weights_option)
from infantpose.cli._options import (experimenter_option, institution_option, nwb_metadata,
                                     session_description_option, subject_age_option,
                                     subject_id_option, subject_sex_option)
from infantpose.errors import InputError
from infantpose.io.posefiles import read_pose_file
from infantpose.outputs import Outputs

__all__ = ["deidentify_cmd", "batch_cmd", "filter_cmd", "overlay_cmd", "filter_config",
           "FilterMethod", "SpeedUnit"]

VIDEO_OUT = (".mp4", ".mov", ".mkv", ".avi")


class FilterMethod(Choice):
    """Trajectory filters of :mod:`infantpose.video.filters` (none: outliers and gaps only)."""

    none = "none"
    median = "median"
    savgol = "savgol"
    butterworth = "butterworth"
    one_euro = "one_euro"


class SpeedUnit(Choice):
    """Unit of the outlier speed bound: body lengths per second, or pixels per second."""

    body = "body"
    px = "px"


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
    import math

    from infantpose.video.filters import METHODS, FilterConfig

    method = value(method)
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
    out: Path = out_option("Output video (.mp4, .mov, .mkv, .avi)."),
    mode: DeidMode = typer.Option(DeidMode.mosaic, "--mode", case_sensitive=False,
                                  help="How the face is hidden."),
    margin: float = typer.Option(0.3, "--margin", help="Face box grown by this fraction per side."),
    poses: Optional[Path] = typer.Option(None, "--poses",
                                         help="Poses of this video (poses.json from predict or "
                                              "batch, or any pose file convert reads): head "
                                              "keypoints place the face too."),
    model: str = model_option("blazepose", "Pose model run to place the face from head "
                                           "keypoints when --poses is not given; 'none' uses "
                                           "the face detector only."),
    weights: Optional[Path] = weights_option(),
    detector: bool = typer.Option(True, "--detector/--no-detector",
                                  help="Use mediapipe's face detector."),
    quiet: bool = quiet_option(),
    overwrite: bool = overwrite_option(),
) -> None:
    """Hide the infant's face in every frame (mosaic or blur) and strip all metadata.

    Frames where no face region can be placed are blurred whole, and counted."""
    from rich.console import Console

    from infantpose.io.video import probe_video
    from infantpose.progress import bar
    from infantpose.video.pipeline import render_videos

    console = Console(stderr=True)
    mode_s = value(mode)
    check_margin(margin)
    inputs = [video] + [p for p in (poses, weights) if p is not None]
    guard = Outputs("deidentify", inputs, overwrite)
    check_video_out(guard.file(out, create_parent=False))
    if weights is not None and not weights.is_file():
        raise InputError(weights, "weights file not found")
    n = probe_video(video).n_frames
    p = None
    if poses is not None:
        p = read_pose_file(poses)
        check_poses_match_video(p, poses, video)
    run_model = poses is None and model != "none"
    with bar(n, video.name, enabled=not quiet) as pbar:
        pbar.set_description(f"{video.name}: {mode_s}")
        if run_model:  # poses predicted and the face hidden in one pass over the video
            from infantpose.cli.predict import resolve_model
            from infantpose.models import create_estimator
            from infantpose.video.pipeline import predict_and_deidentify

            est = create_estimator(resolve_model(model, weights, video=True),
                                   weights=str(weights) if weights else None)
            try:
                _, res = predict_and_deidentify(est, video, out, mode_s, margin, detector,
                                                progress=pbar.update)
            finally:
                est.close()
        else:
            res = render_videos(video, face_poses=p, deidentify=mode_s, deidentified=out,
                                margin=margin, use_detector=detector, progress=pbar.update)
    guard.record(out)
    rep = res["report"]
    console.print(f"{rep.frames} frames written to {out} ({mode_s}); face placed by detector in "
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
    out: Path = out_option("Output folder (one sub-folder per video, manifest.csv)."),
    workers: int = typer.Option(2, "--workers", "-j", help="Local Dask worker processes "
                                                           "(0: run in this process)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler",
                                            help="Existing Dask scheduler, e.g. "
                                                 "tcp://HOST:8786."),
    model: Optional[str] = model_option(),
    weights: Optional[Path] = weights_option(),
    schema: SchemaName = schema_option("coco17", "Output keypoint schema."),
    formats: Optional[list[PoseFormat]] = typer.Option(
        None, "--format", "-f", case_sensitive=False,
        help="Pose files of each video besides poses.json (repeatable; default csv): csv, "
             "slp (SLEAP), nwb (NWB ndx-pose), movement (netCDF), dlc (DeepLabCut)."),
    filter_method: Optional[FilterMethod] = typer.Option(
        None, "--filter", case_sensitive=False,
        help="Also write filtered keypoints (poses_filtered.json; the keypoint files then hold "
             "them)."),
    deidentify: Optional[DeidMode] = deidentify_option(
        "Hide the infant's face (mosaic or blur) in every video written (frames with no "
        "placeable face are blurred whole), write deidentified.mp4, and drop facial keypoints "
        "from every pose output."),
    drop_facial: bool = drop_facial_option(),
    overlay: bool = typer.Option(False, "--overlay", help="Write overlay videos."),
    plot: bool = typer.Option(True, "--plot/--no-plot", help="Write trajectories.png."),
    tracking: bool = typer.Option(True, "--tracking/--no-tracking",
                                  help="Follow the infant frame to frame."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames",
                                             help="At most N frames per video."),
    subject_id: Optional[str] = subject_id_option(),
    subject_age: Optional[str] = subject_age_option(),
    subject_sex: Optional[str] = subject_sex_option(),
    session_description: Optional[str] = session_description_option(),
    experimenter: Optional[list[str]] = experimenter_option(),
    institution: Optional[str] = institution_option(),
    quiet: bool = quiet_option(),
    overwrite: bool = overwrite_option(),
    dashboard: Optional[str] = typer.Option(None, "--dashboard",
                                            help="Serve the local Dask dashboard at [HOST]:PORT, "
                                                 "e.g. :8787 (off by default)."),
) -> None:
    """Process every video in VIDEO_DIR once (resumable; one bad video never stops the batch).

    Each video gets the files predict writes for a video, in OUT/<video>/. A video is redone
    when its options change. Files in --out that infantpose did not write are never deleted,
    and replaced only with --overwrite."""
    from rich.console import Console

    from infantpose.cli.predict import resolve_model
    from infantpose.progress import bar
    from infantpose.video.batch import (BatchOptions, check_batch_paths, check_dashboard,
                                        check_scheduler, display_name, run_batch)

    console = Console(stderr=True)
    if workers < 0:
        raise InputError(None, f"--workers must be >= 0, got {workers}")
    if scheduler is not None:
        scheduler = check_scheduler(scheduler)
    check_dashboard(dashboard)
    if weights is not None and not weights.is_file():
        raise InputError(weights, "weights file not found")
    method = value(filter_method)
    opts = BatchOptions(model=resolve_model(model, weights, video=True), schema=value(schema),
                        weights=str(weights.resolve()) if weights else None, tracking=tracking,
                        filter=None if method in (None, "none") else method,
                        deidentify=value(deidentify), drop_facial=drop_facial, overlay=overlay,
                        plot=plot, max_frames=max_frames,
                        formats=[value(f) for f in formats] if formats else ["csv"],
                        nwb=nwb_metadata(subject_id, subject_age, subject_sex,
                                         session_description, experimenter, institution)).check()
    n = len(check_batch_paths(video_dir, out, overwrite))
    counts = {"ok": 0, "skipped": 0, "failed": 0}
    with bar(n, "videos", enabled=not quiet, unit="video") as pbar:

        def on_result(row: dict[str, Any]) -> None:
            st = row.get("status", "failed")
            counts[st] = counts.get(st, 0) + 1
            name = display_name(str(row["video"]))
            if st == "failed":
                console.print(f"failed {name}: {row.get('error', '')}", style="red",
                              markup=False)
            pbar.update(1)
            pbar.set_description(f"{name} {st}")

        rows = run_batch(video_dir, out, opts, workers=workers, scheduler=scheduler,
                         on_result=on_result, overwrite=overwrite, dashboard=dashboard)
    console.print(f"{len(rows)} videos: {counts['ok']} done now, {counts['skipped']} already done, "
                  f"{counts['failed']} failed; manifest: {out / 'manifest.csv'}")
    if counts["failed"]:
        raise typer.Exit(code=1)


@app.command("filter")
def filter_cmd(
    poses_path: Path = typer.Argument(..., help="Video poses: poses.json from predict or batch, "
                                                "or any pose file convert reads (.slp, .nwb, "
                                                ".nc, DeepLabCut .csv, SLEAP analysis .h5)."),
    out: Path = out_option("Filtered Poses JSON."),
    method: FilterMethod = typer.Option(FilterMethod.butterworth, "--method",
                                        case_sensitive=False, help="Smoothing filter."),
    cutoff: Optional[float] = typer.Option(None, "--cutoff",
                                           help="Butterworth cut-off (Hz; default "
                                                "min(6, fps/4))."),
    window: Optional[int] = typer.Option(None, "--window",
                                         help="Savitzky-Golay / median window (frames)."),
    min_cutoff: Optional[float] = typer.Option(None, "--min-cutoff",
                                               help="One-Euro minimum cut-off (Hz)."),
    beta: Optional[float] = typer.Option(None, "--beta", help="One-Euro speed coefficient."),
    max_gap: int = typer.Option(5, "--max-gap", help="Fill gaps up to N frames (0: never)."),
    max_speed: float = typer.Option(8.0, "--max-speed", help="Outlier speed bound (0: off)."),
    speed_unit: SpeedUnit = typer.Option(SpeedUnit.body, "--speed-unit", case_sensitive=False,
                                         help="Unit of --max-speed: body lengths/s or px/s."),
    min_score: float = typer.Option(0.3, "--min-score", help="Lower scores count as missing."),
    drop_facial: bool = drop_facial_option("Drop facial keypoints from the output."),
    drop_facial_old: bool = typer.Option(False, "--drop-facial", hidden=True),
    csv: Optional[Path] = typer.Option(None, "--csv",
                                       help="Also write the filtered keypoints as CSV."),
    overwrite: bool = overwrite_option(),
) -> None:
    """Clean keypoint trajectories: outliers, gaps, smoothing; print jitter before/after."""
    import numpy as np
    from rich.console import Console
    from rich.table import Table

    from infantpose.video.filters import (filter_poses, high_frequency_power, mask_low_scores,
                                          mean_abs_acceleration)

    console = Console()
    cfg = filter_config(value(method), cutoff, window, min_cutoff, beta, max_gap, max_speed,
                        value(speed_unit), min_score)
    guard = Outputs("filter", [poses_path], overwrite)
    guard.file(out, create_parent=False)
    if out.suffix.lower() != ".json":
        raise InputError(out, "--out must be a .json file")
    if csv is not None:
        if csv.suffix.lower() != ".csv":
            raise InputError(csv, "--csv must be a .csv file")
        guard.file(csv, create_parent=False)
    poses = read_pose_file(poses_path)
    if poses.n_frames < 2:
        raise InputError(poses_path, "needs a video with at least 2 frames")
    if cfg.method in ("butterworth", "one_euro") and not poses.fps:
        raise InputError(poses_path, f"no fps recorded; the {cfg.method} filter needs it "
                                     "(use savgol or median)")
    try:
        result = filter_poses(poses, cfg)
    except ValueError as e:
        raise InputError(poses_path, str(e)) from None
    if drop_facial or drop_facial_old:
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
        # on the video's frame numbers: frames the reader skipped count as time (as batch's
        # summary does)
        before = mask_low_scores(poses.data[:, 0], cfg.min_score)
        after = result.data[:, 0]
        fi = poses.frame_indices
        ab = mean_abs_acceleration(before, fps, frame_indices=fi)
        aa = mean_abs_acceleration(after, fps, frame_indices=fi)
        hb = high_frequency_power(before, fps, frame_indices=fi)
        ha = high_frequency_power(after, fps, frame_indices=fi)
        for k, name in enumerate(result.schema.keypoints):
            j = poses.schema.index(name)
            table.add_row(name, *(f"{v:.1f}" if np.isfinite(v) else "-" for v in
                                  (ab[j], aa[j], hb[j], ha[j])))
        console.print(table)
    f = result.meta["filter"]
    console.print(f"wrote {out}: {f['n_rejected']} outliers rejected, {f['n_interpolated']} points "
                  f"interpolated, {f['n_low_score']} low-score points treated as missing")


@app.command("overlay")
def overlay_cmd(
    video: Path = typer.Argument(..., help="The video the poses belong to."),
    poses_path: Path = typer.Argument(..., help="Poses (raw or filtered): a poses .json or any "
                                                "pose file convert reads."),
    out: Path = out_option("Overlay video (.mp4, .mov, .mkv, .avi)."),
    deidentify: Optional[DeidMode] = deidentify_option(
        "Hide the infant's face (mosaic or blur) in the overlay (frames with no placeable face "
        "are blurred whole) and leave the facial keypoints undrawn."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Also write a trajectory PNG here."),
    quiet: bool = quiet_option(),
    overwrite: bool = overwrite_option(),
) -> None:
    """Draw the skeleton (scores as colour, limb trails, timestamp) on a video."""
    from rich.console import Console

    from infantpose.io.video import probe_video
    from infantpose.progress import bar
    from infantpose.video.pipeline import render_videos

    guard = Outputs("overlay", [video, poses_path], overwrite)
    check_video_out(guard.file(out, create_parent=False))
    if plot is not None:
        if plot.suffix.lower() != ".png":
            raise InputError(plot, "--plot writes a PNG file: give a name ending in .png")
        guard.file(plot, create_parent=False)
    poses = read_pose_file(poses_path)
    check_poses_match_video(poses, poses_path, video)
    mode = value(deidentify)
    with bar(probe_video(video).n_frames, video.name, enabled=not quiet) as pbar:
        res = render_videos(video, draw=poses, deidentify=mode, overlay=out,
                            progress=pbar.update)
    written = [out]
    try:
        if plot is not None:
            from infantpose.video.plots import plot_trajectories
            from infantpose.video.privacy import drop_facial_keypoints

            plot_trajectories(drop_facial_keypoints(poses) if mode else poses, plot)
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
