"""``infantpose predict``: run a pose model on images, folders and videos, offline.

The command parses its options and prints the summary; the workflow (inputs checked, outputs
staged and moved into place) is :mod:`infantpose.pipelines.predict`. The model-resolution names
that once lived here (``resolve_model``, ``DEFAULT_MODEL``, ...) belong to
:mod:`infantpose.models.resolve`; they still import from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from infantpose.cli import app
from infantpose.cli._options import (DeidMode, PoseFormat, SchemaName, deidentify_option,
                                     drop_facial_option,
                                     mirror_test_option, model_option, out_option,
                                     overwrite_option, quiet_option, schema_option, value,
                                     weights_option)
from infantpose.cli._options import (experimenter_option, institution_option, nwb_metadata,
                                     session_description_option, subject_age_option,
                                     subject_id_option, subject_sex_option)

__all__ = ["predict_cmd"]

#: Names that moved to :mod:`infantpose.pipelines.predict` (which takes the model names from
#: :mod:`infantpose.models.resolve`), importable from here as before. (``run_predict`` is not
#: among them: it now takes a :class:`~infantpose.pipelines.predict.PredictOptions`.)
_MOVED = {"DEFAULT_MODEL", "DEFAULT_VIDEO_MODEL", "MIRRORING_MODELS", "collect_sources",
          "model_options", "resolve_model", "Sources", "RESERVED", "video_dirs",
          "planned_outputs", "remove_stale_staging"}


def __getattr__(name: str) -> Any:
    """The moved names, imported on first use: ``infantpose --help`` does not load the
    pipeline (and with it OpenCV and the models)."""
    if name in _MOVED:
        from infantpose.pipelines import predict as pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@app.command("predict")
def predict_cmd(
    sources: list[Path] = typer.Argument(..., help="Image files, folders of images/videos, "
                                                   "or video files (mp4/avi/mov/mkv)."),
    out: Path = out_option("Output folder (created if needed): predictions.json for images, "
                           "one folder per video."),
    schema: SchemaName = schema_option("coco17", "Keypoint schema of the output."),
    overlay: bool = typer.Option(False, "--overlay", help="Also write images/videos with the "
                                                          "skeleton drawn."),
    model: Optional[str] = model_option(),
    weights: Optional[Path] = weights_option(),
    formats: Optional[list[PoseFormat]] = typer.Option(
        None, "--format", "-f", case_sensitive=False,
        help="Pose files of each video besides poses.json (repeatable; default csv): csv, "
             "slp (SLEAP), nwb (NWB ndx-pose), movement (netCDF), dlc (DeepLabCut)."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames",
                                             help="At most N frames per video (and at most N "
                                                  "images)."),
    tracking: bool = typer.Option(True, "--tracking/--no-tracking",
                                  help="Follow the infant frame to frame in videos."),
    plot: bool = typer.Option(False, "--plot/--no-plot",
                              help="Write each video's trajectories.png."),
    deidentify: Optional[DeidMode] = deidentify_option(
        "Hide the infant's face (mosaic or blur) in every image and video written (frames "
        "with no placeable face are blurred whole), write face-hidden copies (deidentified/, "
        "deidentified.mp4), and drop facial keypoints from every pose output."),
    drop_facial: bool = drop_facial_option(),
    mirror_test: Optional[bool] = mirror_test_option(),
    subject_id: Optional[str] = subject_id_option(),
    subject_age: Optional[str] = subject_age_option(),
    subject_sex: Optional[str] = subject_sex_option(),
    session_description: Optional[str] = session_description_option(),
    experimenter: Optional[list[str]] = experimenter_option(),
    institution: Optional[str] = institution_option(),
    quiet: bool = quiet_option(),
    overwrite: bool = overwrite_option(),
) -> None:
    """Predict keypoints on images and videos: COCO results for images, and per video the files
    batch writes too (poses.json, keypoints.csv, ...), optionally overlays and face-hidden
    copies."""
    from rich.console import Console

    # imported here, not at the top: `infantpose --help` stays fast
    from infantpose.pipelines.predict import PredictOptions, run_predict

    console = Console(stderr=True)
    opts = PredictOptions(
        sources=list(sources), out=out, schema=value(schema), overlay=overlay, model=model,
        weights=weights, max_frames=max_frames, deidentify=value(deidentify),
        overwrite=overwrite, formats=[value(f) for f in formats or []], tracking=tracking,
        drop_facial=drop_facial, plot=plot, mirror_test=mirror_test,
        nwb=nwb_metadata(subject_id, subject_age, subject_sex, session_description,
                         experimenter, institution),
        quiet=quiet)
    s = run_predict(opts)
    console.print(f"{s.frames} frames in {s.seconds:.1f} s: {s.fps:.1f} frames/s "
                  f"({s.images} images, {s.videos} videos)")
    if s.images_without_person:
        shown = ", ".join(s.images_without_person[:10])
        more = f" and {len(s.images_without_person) - 10} more" \
            if len(s.images_without_person) > 10 else ""
        console.print(f"no person found in {len(s.images_without_person)} of {s.images} images: "
                      f"{shown}{more}")
    if s.videos:
        console.print(f"video frames without a person: {s.video_frames_without_person}")
        for v, c in s.corrupt_frames.items():
            if c:
                console.print(f"{v}: {c} corrupt frame(s) skipped")
    if deidentify:
        console.print(f"de-identified ({value(deidentify)}); frames blurred whole (no face "
                      f"found): {s.frames_blurred_whole}")
    console.print(f"wrote {len(s.written)} files to {out}")
