"""The ``infantpose features`` workflow: movement features (seed 000) of pose files, one row per
video (and per window), written as one CSV."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from infantpose import _atomic
from infantpose.errors import InputError
from infantpose.features.qc import MAX_FPS, MIN_FPS
from infantpose.features.table import FeatureConfig, features_table
from infantpose.outputs import Outputs
from infantpose.pipelines._paths import coerce_paths
from infantpose.progress import bar

__all__ = ["NOT_POSES", "FeaturesOptions", "FeaturesResult", "expand_inputs", "run_features"]

#: files in a predict/batch output folder that are not one video's Poses
NOT_POSES = {"predictions.json", "done.json"}


@dataclass
class FeaturesOptions:
    """What ``infantpose features`` was asked for: pose files or folders of them, the CSV to
    write, and the feature settings of :class:`~infantpose.features.table.FeatureConfig`."""

    poses: list[Path]
    out: Path
    conf: float = 0.3
    max_gap: float = 0.2
    windows: float | None = None
    min_coverage: float = 0.6
    fps: float | None = None
    overwrite: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class FeaturesResult:
    """The written CSV and its table (``window == "all"`` rows are whole videos)."""

    out: Path
    table: pd.DataFrame

    @property
    def videos(self) -> pd.DataFrame:
        """One row per video (the whole-video rows)."""
        return self.table[self.table["window"] == "all"]

    @property
    def flagged(self) -> pd.DataFrame:
        """The whole-video rows whose QC flag is not ``ok``."""
        whole = self.videos
        return whole[whole["qc_flag"] != "ok"]


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


def _check(opts: FeaturesOptions) -> None:
    if not 0 <= opts.conf <= 1:
        raise InputError(None, f"--conf must be in 0..1, got {opts.conf}")
    if opts.max_gap < 0:
        raise InputError(None, f"--max-gap must be >= 0 seconds, got {opts.max_gap}")
    if opts.windows is not None and not opts.windows > 0:
        raise InputError(None, f"--windows must be a positive number of seconds, got "
                               f"{opts.windows}")
    if opts.fps is not None and not MIN_FPS <= opts.fps <= MAX_FPS:
        raise InputError(None, f"--fps must be a frame rate between {MIN_FPS:g} and "
                               f"{MAX_FPS:g}, got {opts.fps}")
    if opts.out.suffix.lower() != ".csv":
        raise InputError(opts.out, "features output must be a .csv file")


def run_features(opts: FeaturesOptions) -> FeaturesResult:
    """Check the options and inputs, compute the features table and write it atomically."""
    _check(opts)
    out = opts.out
    files = expand_inputs(opts.poses)
    guard = Outputs("features", files, opts.overwrite)
    guard.file(out, create_parent=False)
    cfg = FeatureConfig(conf=opts.conf, max_gap=opts.max_gap, min_coverage=opts.min_coverage,
                        windows=opts.windows, fps=opts.fps)
    with bar(len(files), "features", enabled=not opts.quiet, unit="file", transient=True) as b:
        table = features_table(files, cfg, progress=b.update)
    guard.folder(out.parent if str(out.parent) else ".", own=False)
    with _atomic.atomic_path(out) as tmp:
        table.to_csv(tmp, index=False, float_format="%.6g")
    guard.record(out)
    return FeaturesResult(out, table)
