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
from infantpose.errors import InputError


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

    # imported here, not at the top: `infantpose --help` stays fast
    from infantpose.pipelines.convert import ConvertOptions, run_convert

    if (dst is None) == (out is None):
        raise InputError(None, "give the output once: convert SRC DST or convert SRC --out DST")
    dst = dst if dst is not None else out
    assert dst is not None
    fmt = value(to)
    nwb = nwb_metadata(subject_id, subject_age, subject_sex, session_description, experimenter,
                       institution)
    if nwb and fmt != "nwb":
        raise InputError(None, "--subject-*, --session-description, --experimenter and "
                               "--institution describe an NWB file: use --to nwb")
    done = run_convert(ConvertOptions(src=src, dst=dst, to=fmt, schema=value(schema),
                                      mapping=list(mapping or []), images=images, fps=fps,
                                      check_images=not no_image_check, nwb=nwb,
                                      overwrite=overwrite))
    console = Console()
    if fmt in {f.value for f in PoseFormat}:
        console.print(f"wrote {dst} ({done.frames} frames, {done.instances} instance slots, "
                      f"schema {done.schema})")
        return
    if fmt == "coco":
        console.print(f"wrote {dst} ({done.images} images, schema {done.schema})")
    else:
        console.print(f"wrote {len(done.files)} LabelMe files to {dst} (schema {done.schema})")
    if done.missing_keypoints:
        console.print("keypoints the source schema lacks (left unlabelled): "
                      f"{', '.join(done.missing_keypoints)}")
