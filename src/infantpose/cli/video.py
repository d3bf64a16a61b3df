"""Video commands: ``deidentify``, ``batch``, ``filter`` and ``overlay``.

They parse their options and print; the workflows are :mod:`infantpose.pipelines.video`. They
share the one video path of :mod:`infantpose.video.pipeline` with ``predict``, and its options:
``--deidentify mosaic|blur`` hides the face in every video written and drops facial keypoints
from every pose output, ``--drop-facial-keypoints`` drops them alone. The pipeline (and with it
mediapipe, OpenCV, Dask) is imported inside the commands.
"""

from __future__ import annotations

import math
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

__all__ = ["deidentify_cmd", "batch_cmd", "filter_cmd", "overlay_cmd", "filter_config",
           "FilterMethod", "SpeedUnit"]

#: Names that moved to :mod:`infantpose.pipelines.video`, importable from here as before.
_MOVED = {"VIDEO_OUT", "check_video_out", "check_margin", "check_poses_match_video"}


def __getattr__(name: str) -> Any:
    """The moved names, imported on first use: ``infantpose --help`` does not load the
    pipeline."""
    if name in _MOVED:
        from infantpose.pipelines import video as pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


def filter_config(method: str, cutoff: float | None, window: int | None, min_cutoff: float | None,
                  beta: float | None, max_gap: int, max_speed: float | None, speed_unit: str,
                  min_score: float) -> Any:
    """A FilterConfig from command-line values, choices as given on the command line
    (InputError for invalid combinations; :func:`infantpose.pipelines.video.filter_config`)."""
    from infantpose.pipelines.video import filter_config as config

    return config(value(method), cutoff, window, min_cutoff, beta, max_gap, max_speed,
                  value(speed_unit), min_score)

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

    from infantpose.pipelines.video import DeidentifyOptions, run_deidentify

    mode_s = value(mode)
    res = run_deidentify(DeidentifyOptions(video=video, out=out, mode=mode_s, margin=margin,
                                           poses=poses, model=model, weights=weights,
                                           detector=detector, quiet=quiet, overwrite=overwrite))
    console = Console(stderr=True)
    rep = res.report
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

    from infantpose.pipelines.video import BatchRunOptions, run_batch_videos

    console = Console(stderr=True)
    opts = BatchRunOptions(
        video_dir=video_dir, out=out, workers=workers, scheduler=scheduler, model=model,
        weights=weights, schema=value(schema), formats=[value(f) for f in formats or []],
        filter=value(filter_method), deidentify=value(deidentify), drop_facial=drop_facial,
        overlay=overlay, plot=plot, tracking=tracking, max_frames=max_frames,
        nwb=nwb_metadata(subject_id, subject_age, subject_sex, session_description,
                         experimenter, institution),
        dashboard=dashboard, quiet=quiet, overwrite=overwrite)

    def failed(name: str, error: str) -> None:
        console.print(f"failed {name}: {error}", style="red", markup=False)

    res = run_batch_videos(opts, on_failure=failed)
    counts = res.counts
    console.print(f"{len(res.rows)} videos: {counts['ok']} done now, {counts['skipped']} already "
                  f"done, {counts['failed']} failed; manifest: {out / 'manifest.csv'}")
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
    from rich.console import Console
    from rich.table import Table

    from infantpose.pipelines.video import FilterOptions, run_filter

    console = Console()
    res = run_filter(FilterOptions(
        poses=poses_path, out=out, method=value(method), cutoff=cutoff, window=window,
        min_cutoff=min_cutoff, beta=beta, max_gap=max_gap, max_speed=max_speed,
        speed_unit=value(speed_unit), min_score=min_score,
        drop_facial=drop_facial or drop_facial_old, csv=csv, overwrite=overwrite))
    if res.jitter is not None:
        table = Table(title=f"jitter, instance 0 ({res.config.method})")
        for c in ("keypoint", "acc before", "acc after", "HF before", "HF after"):
            table.add_column(c, justify="right" if c != "keypoint" else "left")
        for name, *values in res.jitter:
            table.add_row(name, *(f"{v:.1f}" if math.isfinite(v) else "-" for v in values))
        console.print(table)
    f = res.counts
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

    from infantpose.pipelines.video import OverlayOptions, run_overlay

    res = run_overlay(OverlayOptions(video=video, poses=poses_path, out=out,
                                     deidentify=value(deidentify), plot=plot, quiet=quiet,
                                     overwrite=overwrite))
    msg = f"wrote {out}: {res.frames} frames, {res.annotated} with keypoints"
    if res.whole_frame_blurred is not None:
        msg += f", {res.whole_frame_blurred} blurred whole (no face found)"
    Console(stderr=True).print(msg)
