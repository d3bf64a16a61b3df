"""``infantpose features``: movement features (seed 000) of Poses JSON files, one row per video."""

from __future__ import annotations

from pathlib import Path

import typer

from infantpose.cli import app
from infantpose.cli._options import out_option, overwrite_option, quiet_option

__all__ = ["features_cmd"]


@app.command("features")
def features_cmd(
    poses: list[Path] = typer.Argument(..., help="Poses JSON files (from predict, batch or "
                                                 "filter) or folders of them, or any pose "
                                                 "file convert reads (.slp, .nwb, .nc, "
                                                 "DeepLabCut .csv, SLEAP analysis .h5)."),
    out: Path = out_option("Features CSV (one row per video)."),
    conf: float = typer.Option(0.3, "--conf", help="Keypoints scored below this are gaps."),
    max_gap: float = typer.Option(0.2, "--max-gap",
                                  help="Interpolate gaps up to this many seconds; longer gaps "
                                       "stay missing."),
    windows: float = typer.Option(None, "--windows",
                                  help="Also one row per window of this many seconds."),
    min_coverage: float = typer.Option(0.6, "--min-coverage",
                                       help="Flag videos (qc_flag=low_coverage) whose body "
                                            "keypoints are present less than this fraction."),
    fps: float = typer.Option(None, "--fps", help="Frame rate for files that do not record one."),
    overwrite: bool = overwrite_option(),
    quiet: bool = quiet_option(),
) -> None:
    """Kinematic features of infant movement (Chambers et al. 2020 / seed 000) with QC columns.

    Per video: wrist and ankle position, velocity, acceleration and entropy; elbow, knee, shoulder
    and hip angles (circular mean/SD, entropy, angular velocity/acceleration); left-right
    correlations; coverage, mean confidence, RMS jerk, fps and duration. Poses are normalised per
    frame (pelvis-centred, body axis up, trunk length 1); time comes from the video's frame numbers.
    """
    from rich.console import Console

    # imported here, not at the top: `infantpose --help` stays fast
    from infantpose.pipelines.features import FeaturesOptions, run_features

    console = Console(stderr=True)
    done = run_features(FeaturesOptions(poses=list(poses), out=out, conf=conf, max_gap=max_gap,
                                        windows=windows, min_coverage=min_coverage, fps=fps,
                                        overwrite=overwrite, quiet=quiet))
    table, whole = done.table, done.videos
    msg = f"wrote {out}: {len(whole)} video(s), {table.shape[1]} columns"
    if windows:
        msg += f", {len(table) - len(whole)} window row(s)"
    console.print(msg)
    for _, r in done.flagged.iterrows():
        console.print(f"[yellow]flagged[/] {r['video']}: {r['qc_flag']} (coverage "
                      f"{r['qc_coverage']:.2f}, {r['qc_duration_s']:.1f} s)")

