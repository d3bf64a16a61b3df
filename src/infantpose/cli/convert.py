"""``infantpose convert``: labels, or predicted poses, from one format/schema to another.

Labels (COCO, LabelMe, DeepLabCut) convert ``--to coco|labelme``; predicted poses (an infantpose
poses ``.json``, a SLEAP ``.slp`` or analysis ``.h5``, an NWB ``.nwb``, a movement ``.nc`` or a
DeepLabCut predictions ``.csv``/``.h5``) convert ``--to json|csv|slp|nwb|movement|dlc`` through
:mod:`infantpose.io.posefiles`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from infantpose.cli import app
from infantpose.cli._options import (Choice, PoseFormat, SchemaName, experimenter_option,
                                     institution_option, nwb_metadata, overwrite_option,
                                     schema_option, session_description_option,
                                     subject_age_option, subject_id_option, subject_sex_option,
                                     value)


#: Output formats of ``convert --to``: labels (coco, labelme), then the pose files of PoseFormat.
ConvertTarget = Choice("ConvertTarget", {"coco": "coco", "labelme": "labelme",
                                         **{f.value: f.value for f in PoseFormat}})


@app.command("convert")
def convert_cmd(
    src: Path = typer.Argument(..., help="Labels: COCO .json, LabelMe folder/file, or "
                                         "DeepLabCut CollectedData .csv; or predicted poses: "
                                         "an infantpose poses .json, SLEAP .slp or analysis "
                                         ".h5, NWB .nwb, movement .nc or DeepLabCut "
                                         "predictions .csv/.h5."),
    dst: Optional[Path] = typer.Argument(None, help="Output (or give it with --out)."),
    to: ConvertTarget = typer.Option(..., "--to", case_sensitive=False,
                                     help="Labels: coco or labelme. Poses: json, csv (tidy "
                                          "table), slp (SLEAP), nwb (ndx-pose), movement "
                                          "(netCDF) or dlc (DeepLabCut predictions CSV)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o",
                                       help="Output: a .json file for --to coco, a folder for "
                                            "--to labelme; for poses a file with the format's "
                                            "extension (.json .csv .slp .nwb .nc; .csv for "
                                            "dlc)."),
    schema: Optional[SchemaName] = schema_option(
        None, "Convert keypoints to this schema (missing ones stay unlabelled)."),
    mapping: Optional[list[str]] = typer.Option(
        None, "--map", help="LABEL=keypoint renaming for LabelMe labels / DeepLabCut body "
                            "parts (repeatable; LABEL= drops a DeepLabCut body part)."),
    images: Optional[Path] = typer.Option(
        None, "--images", help="Folder of the images (COCO, DeepLabCut; default: beside the "
                               "labels, or an images/ folder there)."),
    fps: Optional[float] = typer.Option(None, "--fps", help="Frame rate of poses whose file "
                                                            "has none (DeepLabCut, SLEAP "
                                                            "analysis .h5)."),
    no_image_check: bool = typer.Option(False, "--no-image-check",
                                        help="Do not require the image files to exist."),
    subject_id: Optional[str] = subject_id_option(),
    subject_age: Optional[str] = subject_age_option(),
    subject_sex: Optional[str] = subject_sex_option(),
    session_description: Optional[str] = session_description_option(),
    experimenter: Optional[list[str]] = experimenter_option(),
    institution: Optional[str] = institution_option(),
    overwrite: bool = overwrite_option(),
) -> None:
    """Convert labels between COCO, LabelMe and DeepLabCut, or predicted poses between infantpose
    JSON, SLEAP, NWB, DeepLabCut and movement, optionally to another schema.

    The output never replaces the source: the output may not be SRC (or a folder holding it),
    and an existing file that infantpose did not write is replaced only with --overwrite."""
    from rich.console import Console

    from infantpose.errors import InputError
    from infantpose.io.labels import read_labels
    from infantpose.outputs import Outputs, same_path

    if (dst is None) == (out is None):
        raise InputError(None, "give the output once: convert SRC DST or convert SRC --out DST")
    dst = dst if dst is not None else out
    assert dst is not None
    fmt, schema = value(to), value(schema)
    nwb = nwb_metadata(subject_id, subject_age, subject_sex, session_description, experimenter,
                       institution)
    if nwb and fmt != "nwb":
        raise InputError(None, "--subject-*, --session-description, --experimenter and "
                               "--institution describe an NWB file: use --to nwb")
    if fmt in {f.value for f in PoseFormat}:
        _convert_poses(src, dst, fmt, schema, overwrite, fps, nwb)
        return
    renames: dict[str, str] = {}
    for item in mapping or []:
        if "=" not in item:
            raise InputError(None, f"--map expects LABEL=keypoint, got {item!r}")
        k, v = item.split("=", 1)
        renames[k.strip()] = v.strip()
    inputs = [src] + (sorted(q for q in src.iterdir() if q.is_file()) if src.is_dir() else [])
    guard = Outputs("convert", inputs, overwrite)
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
    ds = read_labels(src, schema=schema, images_root=images, check_images=not no_image_check,
                     mapping=renames or None)
    guard.inputs += list(ds.image_paths)
    console = Console()
    if fmt == "coco":
        from infantpose.io.coco import write_coco

        write_coco(ds, guard.file(dst))
        guard.record(dst)
        console.print(f"wrote {dst} ({len(ds)} images, schema {ds.schema.name})")
    else:
        from infantpose.io.labelme import labelme_output_names, write_labelme

        for name in labelme_output_names(ds):
            guard.file(dst / name, create_parent=False)
        files = write_labelme(ds, guard.folder(dst))
        guard.record(*files)
        console.print(f"wrote {len(files)} LabelMe files to {dst} (schema {ds.schema.name})")
    missing = ds.meta.get("missing_keypoints")
    if missing:
        console.print(f"keypoints the source schema lacks (left unlabelled): {', '.join(missing)}")


def _convert_poses(src: Path, dst: Path, fmt: str, schema: str | None, overwrite: bool,
                   fps: float | None = None, nwb: dict | None = None) -> None:
    """Predicted poses (any file :func:`~infantpose.io.posefiles.read_pose_file` reads) to
    ``fmt`` (see :mod:`infantpose.io.posefiles`)."""
    import math

    from rich.console import Console

    from infantpose.errors import InputError
    from infantpose.io.nwb import NwbInfo
    from infantpose.io.posefiles import (POSE_FORMATS, READABLE_SUFFIXES, read_pose_file,
                                         write_pose_file)
    from infantpose.outputs import Outputs

    ext = POSE_FORMATS[fmt]
    if dst.suffix.lower() != ext:
        raise InputError(dst, f"--to {fmt} writes a {ext} file")
    if src.suffix.lower() not in READABLE_SUFFIXES:
        raise InputError(src, "poses convert from an infantpose poses .json, a SLEAP .slp or "
                              "analysis .h5, an NWB .nwb, a movement .nc or a DeepLabCut "
                              "predictions .csv/.h5 file")
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise InputError(None, f"--fps must be a positive number, got {fps}")
    guard = Outputs("convert", [src], overwrite)
    guard.file(dst, create_parent=False)
    poses = read_pose_file(src, fps=fps)
    if schema is not None:
        poses = poses.convert(schema)
    write_pose_file(poses, guard.file(dst), fmt, nwb=NwbInfo.from_dict(nwb))
    guard.record(dst)
    Console().print(f"wrote {dst} ({poses.n_frames} frames, {poses.n_instances} instance "
                    f"slots, schema {poses.schema.name})")
