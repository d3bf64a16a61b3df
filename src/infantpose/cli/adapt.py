"""``infantpose adapt``: fine-tune on your own footage without labelling it."""

from __future__ import annotations

from pathlib import Path

import typer

from infantpose.cli import app
from infantpose.cli._options import (
    Preset,
    SchemaName,
    model_option,
    out_option,
    overwrite_option,
    quiet_option,
    schema_option,
    value,
)


@app.command("adapt")
def adapt_cmd(
    sources: list[Path] = typer.Argument(
        ..., help="Photos, videos, or folders of them (your own footage; no labels needed)."),
    out: Path = out_option("Run folder: model.pt, pseudo_labels.json, frames/, "
                           "adapt_report.json, ..."),
    model: str = model_option("blazepose", help="Model that makes the pseudo-labels (default: "
                                                "the mediapipe runtime)."),
    weights: Path | None = typer.Option(
        None, "--weights", "-w", help="Start training from this infantpose checkpoint (and make "
                                      "the pseudo-labels with it when --model is blazepose-torch)."),
    schema: SchemaName = schema_option("coco17", help="Keypoint schema to train."),
    preset: Preset = typer.Option(Preset.quick, "--preset", help="Training preset.",
                                  case_sensitive=False),
    val: list[Path] | None = typer.Option(
        None, "--val", help="Labelled images to select the model on (default: hold out part of "
                            "the pseudo-labels)."),
    frames_per_video: int = typer.Option(40, "--frames-per-video",
                                         help="Frames sampled from each video."),
    min_views: int = typer.Option(5, "--min-views",
                                  help="Views (of 8) that must agree to keep a keypoint."),
    tolerance: float = typer.Option(
        0.05, "--tolerance", help="Agreement radius as a fraction of the body's box diagonal."),
    min_score: float = typer.Option(0.5, "--min-score", help="Lowest keypoint score a view "
                                                             "may count with."),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1,
                                         help="Stop training after S steps (default: the preset's)."),
    fresh: bool = typer.Option(False, "--fresh", help="Make new pseudo-labels and restart "
                                                      "training (default: resume)."),
    overwrite: bool = overwrite_option(),
    quiet: bool = quiet_option(),
) -> None:
    """Adapt a pose model to your own infants without labels.

    The model labels your frames itself, in 8 views each (quarter turns, mirrored); only
    keypoints the views agree on (and, in videos, that do not jump between neighbouring frames)
    are kept; then the `train` recipe fine-tunes on them and writes OUT/model.pt, which
    `predict --weights OUT/model.pt` uses. OUT/adapt_report.json says how many keypoints were
    kept. Re-running the same command resumes.
    """
    # imported here, not at the top: `infantpose --help` stays fast without torch
    from infantpose.pipelines.adapt import AdaptRunOptions, run_adapt

    opts = AdaptRunOptions(
        sources=list(sources), out=out, model=model, weights=weights, schema=value(schema),
        preset=value(preset), val=list(val or []), frames_per_video=frames_per_video,
        min_views=min_views, tolerance=tolerance, min_score=min_score, max_steps=max_steps,
        fresh=fresh, overwrite=overwrite, quiet=quiet)
    result = run_adapt(opts, log=lambda message: typer.echo(message, err=True))
    typer.echo(str(result.model))
