"""movement (neuroinformatics-unit) poses datasets: an ``xarray.Dataset`` in movement's layout,
saved as netCDF ``.nc`` (read and written).

Layout, as movement defines it: ``position`` (time, space, keypoints, individuals) with space
``x, y``; ``confidence`` (time, keypoints, individuals); ``time`` in seconds (frame / fps) when
the fps is known, else frame numbers (attribute ``time_unit``); attributes ``fps``,
``source_software``, ``source_file``, ``ds_type`` ("poses"). Individuals are ``instance_<n>``.
movement opens the file with ``xarray.open_dataset`` and passes its own validator.
Pixel centres and missing points follow :mod:`infantpose.io.conventions`.
Needs xarray (the ``movement`` extra); netCDF is written by whichever backend xarray has
(netCDF4, h5netcdf, or scipy for netCDF-3).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from infantpose import _atomic
from infantpose.errors import InputError
from infantpose.io.conventions import file_points, poses_points
from infantpose.poses import Poses

__all__ = ["read_movement", "to_movement", "write_movement"]


def _xarray() -> Any:
    try:
        # imported here: xarray is optional (a missing one is an error for .nc files only)
        import xarray as xr
    except ImportError:
        raise InputError(None, "movement datasets need xarray: pip install "
                               "'infantpose[movement]'") from None
    return xr


def to_movement(poses: Poses) -> Any:
    """The poses as a ``movement`` poses dataset (``xarray.Dataset``, see the module doc)."""
    xr = _xarray()
    frames = poses.frame_index_array()
    seconds = bool(poses.fps)
    time = frames / float(poses.fps) if seconds else frames.astype(float)
    xy, conf = file_points(poses.data)
    individuals = [f"instance_{n}" for n in range(poses.n_instances)]
    return xr.Dataset(
        {"position": (("time", "space", "keypoints", "individuals"), xy.transpose(0, 3, 2, 1)),
         "confidence": (("time", "keypoints", "individuals"), conf.transpose(0, 2, 1))},
        coords={"time": time, "space": ["x", "y"], "keypoints": list(poses.schema.keypoints),
                "individuals": individuals},
        attrs={"fps": float(poses.fps) if poses.fps else None,
               "time_unit": "seconds" if seconds else "frames",
               "source_software": "infantpose", "source_file": str(poses.source or ""),
               "ds_type": "poses", "schema": poses.schema.name})


def write_movement(poses: Poses, path: str | os.PathLike) -> Path:
    """Write :func:`to_movement` as a netCDF file (atomically)."""
    ds = to_movement(poses)
    ds.attrs = {k: v for k, v in ds.attrs.items() if v is not None}  # netCDF has no null
    with _atomic.atomic_path(path) as tmp:
        tmp.unlink()
        try:
            ds.to_netcdf(tmp)
        except (ImportError, ValueError) as e:
            raise InputError(path, f"cannot write netCDF ({e}); pip install "
                                   "'infantpose[movement]'") from None
    return Path(path)


def read_movement(path: str | os.PathLike, fps: float | None = None) -> Poses:
    """Read a movement poses dataset (``.nc``) into a :class:`Poses`.

    Frame numbers are ``round(time * fps)`` when time is in seconds, else the time values; the
    fps comes from the argument, else the file. Individuals named ``instance_<n>`` go to slot n,
    others to slots in file order. The keypoint names pick the schema.
    """
    # imported here: `infantpose --help` loads this module, and stays as lean as it was
    from infantpose.io.coco import match_schema

    xr = _xarray()
    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such file")
    try:
        with xr.open_dataset(p) as ds:
            ds = ds.load()
    except Exception as e:  # noqa: BLE001 - netCDF/HDF5 errors of many kinds
        raise InputError(p, f"cannot read netCDF file ({type(e).__name__}: {e})") from None
    if "position" not in ds:
        raise InputError(p, "not a movement poses dataset (no 'position' variable)")
    pos = ds["position"]
    need = {"time", "space", "keypoints", "individuals"}
    if set(pos.dims) != need:
        raise InputError(p, f"position has dimensions {tuple(pos.dims)}; movement poses have "
                            f"{sorted(need)}")
    space = [str(s) for s in ds["space"].values]
    if space != ["x", "y"]:
        raise InputError(p, f"space is {space}; infantpose reads 2-D (x, y) poses")
    xy = pos.transpose("time", "individuals", "keypoints", "space").values.astype(float)
    conf = (ds["confidence"].transpose("time", "individuals", "keypoints").values.astype(float)
            if "confidence" in ds else None)
    names = [str(k) for k in ds["keypoints"].values]
    schema = match_schema(names, ds.attrs.get("schema"), p)
    file_fps = ds.attrs.get("fps")
    fps = fps or (float(file_fps) if file_fps is not None and np.isfinite(file_fps)
                  and file_fps > 0 else None)
    time = np.asarray(ds["time"].values, dtype=float)
    unit = ds.attrs.get("time_unit", "seconds" if file_fps else "frames")
    frames = np.round(time * fps).astype(int) if unit == "seconds" and fps \
        else np.round(time).astype(int)
    if len(frames) > 1 and np.any(np.diff(frames) <= 0):
        raise InputError(p, "time values do not fall on distinct, increasing frames")
    individuals = [str(i) for i in ds["individuals"].values]
    slots = [int(m.group(1)) if (m := re.fullmatch(r"instance_(\d+)", i)) else None
             for i in individuals]
    if None in slots or len(set(slots)) != len(slots):
        slots = list(range(len(individuals)))
    n = max(slots) + 1 if slots else 0
    data = np.full((len(frames), n, schema.num_keypoints, 3), np.nan)
    data[..., 2] = 0.0
    order = [schema.index(k) for k in names]
    pts = poses_points(xy, conf)  # (time, individuals, keypoints, 3)
    for j, s in enumerate(slots):
        data[:, s, order] = pts[:, j]
    # movement's source_file is the file a dataset was loaded from; only infantpose's names the video
    source = ds.attrs.get("source_file") if ds.attrs.get("source_software") == "infantpose" \
        else None
    return Poses(data, schema, source=str(source) if source else None, frame_indices=frames,
                 fps=fps, meta={"format": "movement", "source_file": str(p)})
