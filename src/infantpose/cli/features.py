"""``infantpose features``: movement features (seed 000) of Poses JSON files, one row per video."""

from __future__ import annotations

from pathlib import Path

import typer

from infantpose.cli import app
from infantpose.cli._options import out_option, overwrite_option, quiet_option
from infantpose.errors import InputError

__all__ = ["features_cmd", "expand_inputs"]


#: files in a predict/batch output folder that are not one video's Poses
NOT_POSES = {"predictions.json", "done.json"}


def _poses_in(folder: Path) -> list[Path]:
    """The Poses files of an output folder: its own ``*.json`` files, and one per video folder
    inside it (``<video>/poses_filtered.json`` when batch wrote one, else ``<video>/poses.json``),
    so ``infantpose features out/`` reads what ``predict`` or ``batch`` wrote to ``out/``."""
    found = [q for q in folder.glob("*.json")
             if q.is_file() and not q.name.startswith(".") and q.name not in NOT_POSES]
    for sub in sorted(d for d in folder.iterdir() if d.is_dir() and not d.name.startswith(".")):
        for name in ("poses_filtered.json", "poses.json"):
            if (sub / name).is_file():
                found.append(sub / name)
                break
    return sorted(found)


def expand_inputs(paths: list[Path]) -> list[Path]:
    """Files as given; folders become their Poses files (:func:`_poses_in`). Missing paths and
    folders without Poses files -> InputError."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = _poses_in(p)
            if not found:
                raise InputError(p, "folder holds no Poses files (*.json, or <video>/poses.json "
                                    "as predict and batch write them)")
            out += found
        elif p.exists():
            out.append(p)
        else:
            raise InputError(p, "no such file")
    return out


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

    from infantpose import _atomic
    from infantpose.features.qc import MAX_FPS, MIN_FPS
    from infantpose.features.table import FeatureConfig, features_table
    from infantpose.outputs import Outputs
    from infantpose.progress import bar

    console = Console(stderr=True)
    if not 0 <= conf <= 1:
        raise InputError(None, f"--conf must be in 0..1, got {conf}")
    if max_gap < 0:
        raise InputError(None, f"--max-gap must be >= 0 seconds, got {max_gap}")
    if windows is not None and not windows > 0:
        raise InputError(None, f"--windows must be a positive number of seconds, got {windows}")
    if fps is not None and not MIN_FPS <= fps <= MAX_FPS:
        raise InputError(None, f"--fps must be a frame rate between {MIN_FPS:g} and "
                               f"{MAX_FPS:g}, got {fps}")
    if out.suffix.lower() != ".csv":
        raise InputError(out, "features output must be a .csv file")
    files = expand_inputs(poses)
    guard = Outputs("features", files, overwrite)
    guard.file(out, create_parent=False)
    cfg = FeatureConfig(conf=conf, max_gap=max_gap, min_coverage=min_coverage, windows=windows,
                        fps=fps)
    with bar(len(files), "features", enabled=not quiet, unit="file", transient=True) as b:
        table = features_table(files, cfg, progress=b.update)
    guard.folder(out.parent if str(out.parent) else ".", own=False)
    with _atomic.atomic_path(out) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    guard.record(out)
    whole = table[table["window"] == "all"]
    flagged = whole[whole["qc_flag"] != "ok"]
    msg = f"wrote {out}: {len(whole)} video(s), {table.shape[1]} columns"
    if windows:
        msg += f", {len(table) - len(whole)} window row(s)"
    console.print(msg)
    for _, r in flagged.iterrows():
        console.print(f"[yellow]flagged[/] {r['video']}: {r['qc_flag']} (coverage "
                      f"{r['qc_coverage']:.2f}, {r['qc_duration_s']:.1f} s)")
