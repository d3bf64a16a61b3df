"""Pose files of the field's tools, one reader and one writer for all of them.

:func:`read_pose_file` and :func:`write_pose_file` choose the format from the file (its
extension, and for ``.h5`` / ``.csv`` its content) and hand over to the module of the format;
``infantpose.load_poses`` / ``save_poses`` and every command that takes poses go through here.

Written and read: infantpose poses ``.json``, SLEAP ``.slp`` (:mod:`infantpose.io.sleap`,
through sleap-io), NWB ``.nwb`` with ndx-pose (:mod:`infantpose.io.nwb`, through pynwb),
movement ``.nc`` (:mod:`infantpose.io.netcdf`, through xarray) and DeepLabCut predictions
``.csv`` (:mod:`infantpose.io.dlc`, through pandas). Written only: the tidy keypoint table
``.csv``. Read only: SLEAP analysis ``.h5`` (sleap-io) and DeepLabCut predictions ``.h5``
(pandas, when PyTables is installed).

Every format follows :mod:`infantpose.io.conventions`: the 0.5 px pixel-centre shift (exact
both ways) and one convention for a missing keypoint (NaN position, confidence 0).
"""

from __future__ import annotations

import math
import os
from pathlib import Path

from infantpose._validate import MAX_FPS, MIN_FPS
from infantpose.errors import InputError
from infantpose.io.conventions import PIXEL_CENTRE_SHIFT
from infantpose.io.netcdf import read_movement, to_movement, write_movement
from infantpose.io.nwb import NwbInfo, read_nwb, write_nwb
from infantpose.io.sleap import (is_sleap_analysis, labels_to_poses, poses_to_labels,
                                 read_sleap_analysis, read_slp, write_slp)
from infantpose.poses import Poses

__all__ = ["POSE_FORMATS", "PIXEL_CENTRE_SHIFT", "READABLE", "NwbInfo", "labels_to_poses",
           "pose_format", "poses_to_labels", "read_movement", "read_nwb", "read_pose_file",
           "read_sleap_analysis", "read_slp", "to_movement", "write_movement", "write_nwb",
           "write_pose_file", "write_slp"]

#: format name -> file extension, for ``convert --to`` and ``predict --format``.
POSE_FORMATS = {"json": ".json", "csv": ".csv", "slp": ".slp", "nwb": ".nwb", "movement": ".nc",
                "dlc": ".csv"}
#: Formats :func:`read_pose_file` reads (``.csv`` only as DeepLabCut predictions; ``.h5`` as
#: SLEAP analysis or DeepLabCut predictions).
READABLE = ("json", "slp", "nwb", "movement", "dlc", "sleap-analysis", "dlc-h5")
#: File extensions :func:`read_pose_file` reads.
READABLE_SUFFIXES = (".json", ".slp", ".nwb", ".nc", ".csv", ".h5")


def pose_format(path: str | os.PathLike) -> str:
    """The pose format a file name implies (see :data:`POSE_FORMATS`); InputError if none."""
    suffix = Path(path).suffix.lower()
    for name, ext in POSE_FORMATS.items():
        if suffix == ext:
            return name
    raise InputError(path, f"unknown pose file type {suffix or '(none)'}; expected one of "
                           f"{', '.join(POSE_FORMATS.values())}")


# --- dispatch ------------------------------------------------------------------------------------
def read_pose_file(path: str | os.PathLike, fps: float | None = None) -> Poses:
    """Read poses from any file of :data:`READABLE_SUFFIXES`: an infantpose poses ``.json``,
    SLEAP ``.slp`` or analysis ``.h5``, NWB ``.nwb``, movement ``.nc``, DeepLabCut predictions
    ``.csv`` (or ``.h5`` with PyTables installed).

    ``fps``: the frame rate for files that hold none (DeepLabCut, SLEAP analysis); a file's own
    frame rate wins where it has one. Bad files raise InputError naming the file.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in READABLE_SUFFIXES:
        raise InputError(p, f"poses are read from {', '.join(READABLE_SUFFIXES)} files, not "
                            f"{suffix or 'a file without extension'}")
    if not p.is_file():
        raise InputError(p, "no such file")
    if suffix == ".json":
        poses = Poses.load_json(p)
    elif suffix == ".slp":
        poses = read_slp(p)
    elif suffix == ".nwb":
        poses = read_nwb(p)
    elif suffix == ".nc":
        poses = read_movement(p)
    elif suffix == ".h5":
        # imported here: `infantpose --help` loads this module, and stays as lean as it was
        from infantpose.io.dlc import is_dlc_h5, read_dlc_h5

        if is_sleap_analysis(p):
            poses = read_sleap_analysis(p)
        elif is_dlc_h5(p):
            poses = read_dlc_h5(p)
        else:
            raise InputError(p, "not a SLEAP analysis or DeepLabCut predictions .h5 file")
    else:
        # imported here: `infantpose --help` loads this module, and stays as lean as it was
        from infantpose.io.dlc import is_dlc_csv, read_dlc_predictions

        if not is_dlc_csv(p):
            raise InputError(p, "not a DeepLabCut predictions CSV; infantpose's tidy keypoint "
                                "tables are written, not read (convert the poses .json)")
        poses = read_dlc_predictions(p)
    if fps is not None and not poses.fps:
        poses.fps = float(fps)
    if poses.fps and not (math.isfinite(poses.fps) and MIN_FPS <= poses.fps <= MAX_FPS):
        raise InputError(p, f"frame rate {poses.fps:g} is not plausible (expected {MIN_FPS:g} to "
                            f"{MAX_FPS:g} frames per second)")
    return poses


def write_pose_file(poses: Poses, path: str | os.PathLike, fmt: str | None = None,
                    nwb: NwbInfo | None = None,
                    relative_to: str | os.PathLike | None = None) -> Path:
    """Write ``poses`` in ``fmt`` (default: from the file extension, see :data:`POSE_FORMATS`).

    ``nwb``: subject and session metadata of an NWB file; ``relative_to``: the folder the file
    will finally live in, when it is written elsewhere first (SLEAP and NWB files name the video
    relative to it; default: the file's own folder).
    """
    fmt = fmt or pose_format(path)
    if fmt == "json":
        return poses.save_json(path)
    if fmt == "csv":
        return poses.to_csv(path)
    if fmt == "slp":
        return write_slp(poses, path, relative_to=relative_to)
    if fmt == "nwb":
        return write_nwb(poses, path, info=nwb, relative_to=relative_to)
    if fmt == "movement":
        return write_movement(poses, path)
    if fmt == "dlc":
        # imported here: `infantpose --help` loads this module, and stays as lean as it was
        from infantpose.io.dlc import write_dlc_predictions

        return write_dlc_predictions(poses, path)
    raise InputError(path, f"unknown pose format {fmt!r}; choose from {', '.join(POSE_FORMATS)}")

