"""``infantpose evaluate``: score one or more models against labelled images."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from infantpose.cli import app
from infantpose.cli._options import (
    SchemaName,
    mirror_test_option,
    overwrite_option,
    quiet_option,
    schema_option,
    value,
)


@app.command("evaluate")
def evaluate_cmd(
    gt: Path = typer.Option(..., "--gt", help="Labels: COCO .json, LabelMe folder/file, or "
                                              "DeepLabCut CollectedData .csv."),
    pred: Optional[list[Path]] = typer.Option(
        None, "--pred", help="Predictions (repeatable): predictions.json from `infantpose "
                             "predict`, a COCO keypoint file, or a Poses JSON."),
    name: Optional[list[str]] = typer.Option(
        None, "--name", help="Display name per --pred/--model, in order (default: file stem)."),
    model: Optional[list[str]] = typer.Option(
        None, "--model", "-m",
        help="Run this registered model on the labelled images (repeatable)."),
    weights: Optional[str] = typer.Option(
        None, "--weights", "-w",
        help="A checkpoint for the PyTorch models; alone, it runs the model it holds "
             "(the blazepose runtime keeps mediapipe's own weights)."),
    images: Optional[Path] = typer.Option(
        None, "--images", help="Folder of the labelled images (default: beside the labels, or "
                               "an images/ folder there)."),
    out: Path = typer.Option(Path("report"), "--out", "-o", help="Report folder."),
    schema: Optional[SchemaName] = schema_option(
        None, help="Convert the labels to this schema before scoring."),
    pred_schema: Optional[SchemaName] = typer.Option(
        None, "--pred-schema", help="Schema of predictions that do not name one.",
        case_sensitive=False),
    gt_boxes: bool = typer.Option(True, "--gt-boxes/--no-gt-boxes",
                                  help="--model: give the model the labelled person boxes."),
    mks_lambda: float = typer.Option(0.01, "--mks-lambda", help="mKS smoothing lambda."),
    mirror_test: Optional[bool] = mirror_test_option(),
    overwrite: bool = overwrite_option(),
    quiet: bool = quiet_option(),
) -> None:
    """Score models against labels (COCO AP/AR, PCKsh, mKS, bbox PCK) and write a report.

    Only keypoints that both the labels and the model define are scored. Writes metrics.json,
    per_keypoint.csv, per_region.csv and pcksh_per_keypoint.png into --out.
    """
    from rich.console import Console

    # imported here, not at the top: `infantpose --help` stays fast
    from infantpose.evaluate.report import summary_table
    from infantpose.pipelines.evaluate import EvaluateOptions, model_runs, run_evaluate

    console = Console()
    if not console.is_terminal and console.width < 140:
        console = Console(width=140)  # logs and pipes: keep the table readable
    preds_in = list(pred or [])
    runs = model_runs(list(model or []), weights, mirror_test, preds_in)
    opts = EvaluateOptions(gt=gt, preds=preds_in, models=runs, names=list(name or []),
                           weights=weights, images=images, out=out, schema=value(schema),
                           pred_schema=value(pred_schema), gt_boxes=gt_boxes,
                           mks_lambda=mks_lambda, overwrite=overwrite, quiet=quiet)
    done = run_evaluate(opts, warn=lambda message: console.print(f"[yellow]{message}[/yellow]"))
    console.print(summary_table(done.results))
    for r in done.results:
        skipped = ", ".join(r.not_scored) if r.not_scored else "none"
        console.print(f"{r.name}: scored {len(r.scored)} keypoints; not scored: {skipped}")
    console.print(f"report written to {done.paths['metrics'].parent}")
