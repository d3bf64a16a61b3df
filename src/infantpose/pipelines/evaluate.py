"""The ``infantpose evaluate`` workflow: score prediction files and models against labels."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infantpose import models as registry
from infantpose.errors import InputError
from infantpose.evaluate import EvalResult, evaluate_predictions, load_predictions
from infantpose.evaluate.report import write_report
from infantpose.evaluate.run import predict_dataset
from infantpose.io.coco import check_coco_results
from infantpose.io.labels import read_labels
from infantpose.models.resolve import MIRRORING_MODELS, model_options, resolve_model
from infantpose.outputs import Outputs
from infantpose.pipelines._paths import coerce_paths
from infantpose.progress import bar

__all__ = ["REPORT_FILES", "EvaluateOptions", "EvaluateResult", "ModelRun", "model_runs",
           "run_evaluate"]

#: The files ``write_report`` writes into the report folder.
REPORT_FILES = ("metrics.json", "per_keypoint.csv", "per_region.csv", "pcksh_per_keypoint.png")


@dataclass
class ModelRun:
    """A registered model to run on the labelled images: its name, its checkpoint (None: the
    model's own weights) and its estimator options (e.g. ``mirror_test``)."""

    name: str
    weights: str | None = None
    options: dict[str, Any] = field(default_factory=dict)


def model_runs(models: list[str], weights: str | None = None, mirror_test: bool | None = None,
               preds: list[Path] | None = None) -> list[ModelRun]:
    """The models ``evaluate`` runs, from its ``--model`` names, ``--weights`` and
    ``--mirror-test/--no-mirror-test`` (None: not given); ``preds``: the prediction files, so
    that a run with nothing to score is refused.

    A weights file alone runs the model it holds; the mediapipe runtimes (``blazepose``,
    ``blazepose-heavy``) read their installed networks, every other model gets ``weights``
    (a model that cannot run the checkpoint is refused). ``mirror_test`` goes to the models
    that mirror and must name at least one of them.
    """
    models = list(models)
    if weights is not None and not Path(weights).is_file():
        raise InputError(weights, "weights file not found")
    if weights is not None and not models:
        models = [resolve_model(None, weights)]  # the checkpoint names its own model
    if not preds and not models:
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
    return [ModelRun(m, model_weights[m],
                     model_options(m, mirror_test) if m in MIRRORING_MODELS else {})
            for m in models]


@dataclass
class EvaluateOptions:
    """What ``infantpose evaluate`` was asked for: labels, prediction files and models (already
    resolved from ``--model`` / ``--weights``), display names in that order, the report folder."""

    gt: Path
    preds: list[Path] = field(default_factory=list)
    models: list[ModelRun] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    weights: str | None = None
    images: Path | None = None
    out: Path = Path("report")
    schema: str | None = None
    pred_schema: str | None = None
    gt_boxes: bool = True
    mks_lambda: float = 0.01
    overwrite: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class EvaluateResult:
    """One :class:`~infantpose.evaluate.EvalResult` per prediction file / model, in order, and
    the report files written (``metrics``, ... -> path)."""

    results: list[EvalResult]
    paths: dict[str, Path]


def _quiet(message: str) -> None:
    """The default ``warn``: say nothing."""


def run_evaluate(opts: EvaluateOptions,
                 warn: Callable[[str], None] = _quiet) -> EvaluateResult:
    """Check everything, read the labels, score each prediction file and run and score each
    model, then write the report. ``warn`` gets a note for each prediction file that holds
    images the labels lack (they are ignored)."""
    preds_in, runs, names = opts.preds, opts.models, opts.names
    if len(names) > len(preds_in) + len(runs):
        raise InputError(None, f"{len(names)} --name values for "
                               f"{len(preds_in) + len(runs)} models")
    if not (math.isfinite(opts.mks_lambda) and opts.mks_lambda > 0):
        raise InputError(None, "--mks-lambda must be a positive number")
    guard = Outputs("evaluate", [opts.gt, *preds_in]
                    + ([Path(opts.weights)] if opts.weights else [])
                    + ([opts.images] if opts.images is not None else []), opts.overwrite)
    guard.folder(opts.out, create=False)
    for rel in REPORT_FILES:
        guard.file(opts.out / rel, create_parent=False)
    if opts.images is not None and not opts.images.is_dir():
        raise InputError(opts.images, "--images must be a folder")
    labels = read_labels(opts.gt, schema=opts.schema, images_root=opts.images,
                         check_images=bool(runs))
    if len(labels) == 0:
        raise InputError(opts.gt, "no labelled images")
    results = []
    sources: list[tuple[Path | None, ModelRun | None]] = (
        [(p, None) for p in preds_in] + [(None, m) for m in runs])
    for i, (p, m) in enumerate(sources):
        if p is not None:
            label = names[i] if i < len(names) else p.stem
            check_coco_results(p)
            preds = load_predictions(p, labels, schema=opts.pred_schema)
            if preds.unmatched:
                warn(f"{p}: {len(preds.unmatched)} predicted images are not in the labels "
                     f"(ignored)")
        else:
            assert m is not None
            label = names[i] if i < len(names) else m.name
            est = registry.create_estimator(m.name, weights=m.weights, **m.options)
            with bar(len(labels), f"running {m.name}", enabled=not opts.quiet, unit="image",
                     transient=True) as b:
                preds = predict_dataset(est, labels, use_gt_boxes=opts.gt_boxes,
                                        progress=lambda _i: b.update(1))
        results.append(evaluate_predictions(labels, preds, name=label, lam=opts.mks_lambda))
    paths = write_report(results, opts.out, gt_source=str(opts.gt))
    guard.record(*paths.values())
    return EvaluateResult(results, paths)
