"""The ``infantpose convert`` workflow: labels (COCO, LabelMe, DeepLabCut) to COCO or LabelMe,
or predicted poses to any pose file format of :mod:`infantpose.io.posefiles`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infantpose.errors import InputError
from infantpose.io.coco import write_coco
from infantpose.io.labelme import labelme_output_names, write_labelme
from infantpose.io.labels import read_labels
from infantpose.io.nwb import NwbInfo
from infantpose.io.posefiles import (POSE_FORMATS, READABLE_SUFFIXES, read_pose_file,
                                     write_pose_file)
from infantpose.outputs import Outputs, same_path
from infantpose.pipelines._paths import coerce_paths

__all__ = ["LABEL_FORMATS", "ConvertOptions", "ConvertResult", "parse_mapping", "run_convert"]

#: What labels convert to (every other ``to`` is a pose file format, ``POSE_FORMATS``).
LABEL_FORMATS = ("coco", "labelme")


@dataclass
class ConvertOptions:
    """What ``infantpose convert`` was asked for: ``src`` to ``dst`` in format ``to``;
    ``mapping`` renames LabelMe labels / DeepLabCut body parts (``"LABEL=keypoint"`` strings,
    read for labels only); ``nwb``
    holds the NWB metadata (``--to nwb`` only)."""

    src: Path
    dst: Path
    to: str
    schema: str | None = None
    mapping: list[str] = field(default_factory=list)
    images: Path | None = None
    fps: float | None = None
    check_images: bool = True
    nwb: dict[str, Any] = field(default_factory=dict)
    overwrite: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class ConvertResult:
    """What was written: ``files`` (one for COCO and pose files, one per image for LabelMe),
    how many images (labels) or frames and instance slots (poses), the schema, and the
    keypoints of the target schema the source lacks (left unlabelled)."""

    dst: Path
    to: str
    schema: str
    files: list[Path] = field(default_factory=list)
    images: int = 0
    frames: int = 0
    instances: int = 0
    missing_keypoints: list[str] = field(default_factory=list)


def parse_mapping(items: list[str]) -> dict[str, str]:
    """``LABEL=keypoint`` strings as a dict; InputError for one without ``=``."""
    renames: dict[str, str] = {}
    for item in items:
        if "=" not in item:
            raise InputError(None, f"--map expects LABEL=keypoint, got {item!r}")
        k, v = item.split("=", 1)
        renames[k.strip()] = v.strip()
    return renames


def run_convert(opts: ConvertOptions) -> ConvertResult:
    """Convert ``opts.src`` to ``opts.dst``. The output never replaces the source (nor lands in
    a folder holding it), and a file infantpose did not write is replaced only with
    ``overwrite``."""
    if opts.to in POSE_FORMATS:
        return _convert_poses(opts)
    src, dst, fmt = opts.src, opts.dst, opts.to
    renames = parse_mapping(opts.mapping)
    inputs = [src] + (sorted(q for q in src.iterdir() if q.is_file()) if src.is_dir() else [])
    guard = Outputs("convert", inputs, opts.overwrite)
    if fmt == "coco":
        if dst.suffix.lower() != ".json":
            raise InputError(dst, "--to coco writes a .json file")
        guard.file(dst, create_parent=False)
    else:
        if dst.suffix.lower() == ".json":
            raise InputError(dst, "--to labelme writes a folder of .json files, not one file")
        if src.is_file() and same_path(dst, src.parent):
            raise InputError(dst, f"output folder holds the source {src.name} (an output "
                                  "there could overwrite an input); choose another --out")
        guard.folder(dst, create=False)
    ds = read_labels(src, schema=opts.schema, images_root=opts.images,
                     check_images=opts.check_images, mapping=renames or None)
    guard.inputs += list(ds.image_paths)
    if fmt == "coco":
        write_coco(ds, guard.file(dst))
        files = [dst]
    else:
        for name in labelme_output_names(ds):
            guard.file(dst / name, create_parent=False)
        files = list(write_labelme(ds, guard.folder(dst)))
    guard.record(*files)
    return ConvertResult(dst, fmt, ds.schema.name, files=files, images=len(ds),
                         missing_keypoints=list(ds.meta.get("missing_keypoints") or []))


def _convert_poses(opts: ConvertOptions) -> ConvertResult:
    """Predicted poses (any file :func:`~infantpose.io.posefiles.read_pose_file` reads) to
    ``opts.to`` (see :mod:`infantpose.io.posefiles`)."""
    src, dst, fmt, fps = opts.src, opts.dst, opts.to, opts.fps
    ext = POSE_FORMATS[fmt]
    if dst.suffix.lower() != ext:
        raise InputError(dst, f"--to {fmt} writes a {ext} file")
    if src.suffix.lower() not in READABLE_SUFFIXES:
        raise InputError(src, "poses convert from an infantpose poses .json, a SLEAP .slp or "
                              "analysis .h5, an NWB .nwb, a movement .nc or a DeepLabCut "
                              "predictions .csv/.h5 file")
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise InputError(None, f"--fps must be a positive number, got {fps}")
    guard = Outputs("convert", [src], opts.overwrite)
    guard.file(dst, create_parent=False)
    poses = read_pose_file(src, fps=fps)
    if opts.schema is not None:
        poses = poses.convert(opts.schema)
    write_pose_file(poses, guard.file(dst), fmt, nwb=NwbInfo.from_dict(opts.nwb))
    guard.record(dst)
    return ConvertResult(dst, fmt, poses.schema.name, files=[dst], frames=poses.n_frames,
                         instances=poses.n_instances)
