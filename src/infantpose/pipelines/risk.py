"""The ``infantpose risk`` workflows: train a validated risk model on movement features, and
score new videos with it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from infantpose import _atomic, risk
from infantpose.errors import InputError
from infantpose.outputs import Outputs
from infantpose.pipelines._paths import coerce_paths
from infantpose.progress import bar

__all__ = ["RiskPredictOptions", "RiskPredictResult", "RiskTrainOptions", "run_risk_predict",
           "run_risk_train"]


@dataclass
class RiskTrainOptions:
    """What ``infantpose risk train`` was asked for; ``models`` are names of
    ``infantpose.risk.MODELS`` (empty: all)."""

    features: Path
    labels: Path
    out: Path
    group: str | None = None
    permutations: int = 0
    seed: int = 0
    models: tuple[str, ...] = ()
    include_flagged: bool = False
    overwrite: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


def run_risk_train(opts: RiskTrainOptions) -> dict[str, Any]:
    """Nested cross-validation grouped by infant, written into ``opts.out``
    (``risk.OUTPUT_FILES``); returns the metrics (``metrics.json``'s content)."""
    if opts.permutations < 0:
        raise InputError(None, f"--permutations must be >= 0, got {opts.permutations}")
    guard = Outputs("risk train", [opts.features, opts.labels], opts.overwrite)
    guard.folder(opts.out, create=False)
    targets = [guard.file(opts.out / name, create_parent=False) for name in risk.OUTPUT_FILES]
    with bar(None, "risk train", enabled=not opts.quiet, unit="step", transient=True) as b:
        stages: list[str] = []

        def progress(stage: str, done: int, total: int) -> None:
            if not stages or stages[-1] != stage:  # a new stage: the bar starts again
                stages.append(stage)
                b.reset(total, stage)
            b.set_total(total)
            b.update(done - b.n)

        metrics = risk.train(opts.features, opts.labels, opts.out, group=opts.group,
                             permutations=opts.permutations, seed=opts.seed,
                             models=opts.models or tuple(risk.MODELS),
                             include_flagged=opts.include_flagged, progress=progress)
    guard.record(*targets)
    return metrics


@dataclass
class RiskPredictOptions:
    """What ``infantpose risk predict`` was asked for: a trained model folder, the features of
    the videos to score, and the scores CSV to write."""

    model_dir: Path
    features: Path
    out: Path
    overwrite: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class RiskPredictResult:
    """The written scores CSV and its table (columns video, score, predicted)."""

    out: Path
    scores: pd.DataFrame


def run_risk_predict(opts: RiskPredictOptions) -> RiskPredictResult:
    """Score new videos with a trained model (a pickle: only load models you trust)."""
    out = opts.out
    if out.suffix.lower() != ".csv":
        raise InputError(out, "scores output must be a .csv file")
    guard = Outputs("risk predict", [opts.model_dir, opts.features], opts.overwrite)
    guard.file(out, create_parent=False)
    scores = risk.predict(opts.model_dir, opts.features)
    guard.folder(out.parent if str(out.parent) else ".", own=False)
    with _atomic.atomic_path(out) as tmp:
        scores.to_csv(tmp, index=False, float_format="%.6g")
    guard.record(out)
    return RiskPredictResult(out, scores)
