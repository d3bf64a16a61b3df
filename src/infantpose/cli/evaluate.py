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

    from infantpose.errors import InputError
    from infantpose.evaluate import evaluate_predictions, load_predictions
    from infantpose.evaluate.report import summary_table, write_report
    from infantpose.io.labels import read_labels

    console = Console()
    if not console.is_terminal and console.width < 140:
        console = Console(width=140)  # logs and pipes: keep the table readable
    from infantpose.cli.predict import MIRRORING_MODELS, model_options, resolve_model

    preds_in = list(pred or [])
    models = list(model or [])
    if weights is not None and not Path(weights).is_file():
        raise InputError(weights, "weights file not found")
    if weights is not None and not models:
        models = [resolve_model(None, weights)]  # the checkpoint names its own model
    if not preds_in and not models:
        raise InputError(None, "give at least one --pred FILE, --model NAME or --weights FILE")
    # the mediapipe runtime reads its installed networks; the others get --weights
    model_weights: dict[str, str | None] = {}
    for m in models:
        if m in ("blazepose", "blazepose-heavy") or weights is None:
            model_weights[m] = None
        else:
            resolve_model(m, weights)  # refuses a model that cannot run the checkpoint
            model_weights[m] = weights
    if mirror_test is not None and not set(MIRRORING_MODELS) & set(models):
        raise InputError(None, f"--{'' if mirror_test else 'no-'}mirror-test applies to "
                               f"the pretrained models only ({', '.join(MIRRORING_MODELS)})")
    names = list(name or [])
    if len(names) > len(preds_in) + len(models):
        raise InputError(None, f"{len(names)} --name values for "
                               f"{len(preds_in) + len(models)} models")
    import math

    from infantpose.outputs import Outputs

    if not (math.isfinite(mks_lambda) and mks_lambda > 0):
        raise InputError(None, "--mks-lambda must be a positive number")
    schema, pred_schema = value(schema), value(pred_schema)  # checked by their choices
    guard = Outputs("evaluate", [gt, *preds_in] + ([Path(weights)] if weights else [])
                    + ([images] if images is not None else []), overwrite)
    guard.folder(out, create=False)
    for rel in REPORT_FILES:
        guard.file(out / rel, create_parent=False)
    check_images = bool(models)
    if images is not None and not images.is_dir():
        raise InputError(images, "--images must be a folder")
    labels = read_labels(gt, schema=schema, images_root=images, check_images=check_images)
    if len(labels) == 0:
        raise InputError(gt, "no labelled images")
    results = []
    sources = [(p, None) for p in preds_in] + [(None, m) for m in models]
    for i, (p, m) in enumerate(sources):
        label = names[i] if i < len(names) else (p.stem if p is not None else m)
        if p is not None:
            from infantpose.io.coco import check_coco_results

            check_coco_results(p)
            preds = load_predictions(p, labels, schema=pred_schema)
            if preds.unmatched:
                console.print(f"[yellow]{p}: {len(preds.unmatched)} predicted images are not in "
                              f"the labels (ignored)[/yellow]")
        else:
            from infantpose.evaluate.run import predict_dataset
            from infantpose.models import create_estimator
            from infantpose.progress import bar

            est = create_estimator(m, weights=model_weights[m],
                                   **(model_options(m, mirror_test)
                                      if m in MIRRORING_MODELS else {}))
            with bar(len(labels), f"running {m}", enabled=not quiet, unit="image",
                     transient=True) as b:
                preds = predict_dataset(est, labels, use_gt_boxes=gt_boxes,
                                        progress=lambda _i: b.update(1))
        results.append(evaluate_predictions(labels, preds, name=label, lam=mks_lambda))
    paths = write_report(results, out, gt_source=str(gt))
    guard.record(*paths.values())
    console.print(summary_table(results))
    for r in results:
        skipped = ", ".join(r.not_scored) if r.not_scored else "none"
        console.print(f"{r.name}: scored {len(r.scored)} keypoints; not scored: {skipped}")
    console.print(f"report written to {paths['metrics'].parent}")


#: The files ``write_report`` writes into --out.
REPORT_FILES = ("metrics.json", "per_keypoint.csv", "per_region.csv", "pcksh_per_keypoint.png")
