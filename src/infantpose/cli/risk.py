"""``infantpose risk train|predict``: validated risk models on movement features (seed 000)."""

from __future__ import annotations

from pathlib import Path

import typer

from infantpose.cli import app
from infantpose.cli._options import (Choice, out_option, overwrite_option, quiet_option,
                                     seed_option)

__all__ = ["risk_app"]

risk_app = typer.Typer(help="Risk models on movement features: nested CV, scores for new videos.",
                       no_args_is_help=True)
app.add_typer(risk_app, name="risk")


class RiskModel(Choice):
    """Candidate risk models (``infantpose.risk.MODELS``)."""

    logistic = "logistic"
    forest = "forest"
    boosting = "boosting"


def _risk_models(given: list[str] | None) -> list[str] | None:
    """``--models`` values, repeated or comma-separated, each one of :class:`RiskModel`."""
    if not given:
        return given
    names = [m.strip().lower() for g in given for m in g.split(",") if m.strip()]
    bad = [m for m in names if m not in RiskModel.__members__]
    if bad or not names:
        raise typer.BadParameter(f"{bad[0] if bad else ','.join(given)!r} is not one of "
                                 f"{', '.join(repr(m.value) for m in RiskModel)}")
    return names


@risk_app.command("train")
def train_cmd(
    features: Path = typer.Argument(..., help="Features CSV from `infantpose features`."),
    labels: Path = typer.Option(..., "--labels", help="CSV with columns video and label (0/1)."),
    out: Path = out_option("Output folder."),
    group: str = typer.Option(None, "--group",
                              help="Column (labels or features) naming the infant; all its "
                                   "videos stay in one fold. Default: one infant per video."),
    permutations: int = typer.Option(0, "--permutations",
                                     help="Permutation test with N retrainings (0: off)."),
    seed: int = seed_option(0, "Random seed (same seed, same results)."),
    models: list[str] | None = typer.Option(
        None, "--models", metavar="<" + "|".join(m.value for m in RiskModel) + ">",
        callback=_risk_models,
        help="Candidate models (repeatable or comma-separated; default: all three)."),
    include_flagged: bool = typer.Option(False, "--include-flagged",
                                         help="Also use videos whose qc_flag is not ok."),
    overwrite: bool = overwrite_option(),
    quiet: bool = quiet_option(),
) -> None:
    """Nested cross-validation grouped by infant; writes metrics.json, predictions.csv,
    importances.csv, model.joblib and report.html into OUT.

    model.joblib is a pickle: share it only with people who trust you, and load only models you
    trust."""
    from rich.console import Console

    # imported here, not at the top: `infantpose --help` stays fast
    from infantpose.pipelines.risk import RiskTrainOptions, run_risk_train

    console = Console(stderr=True)
    m = run_risk_train(RiskTrainOptions(
        features=features, labels=labels, out=out, group=group, permutations=permutations,
        seed=seed, models=tuple(models or ()), include_flagged=include_flagged,
        overwrite=overwrite, quiet=quiet))
    lo, hi = m["roc_auc_ci"]
    console.print(f"ROC AUC {m['roc_auc']:.3f} [{lo:.3f}, {hi:.3f}], PR AUC {m['pr_auc']:.3f}, "
                  f"balanced accuracy {m['balanced_accuracy']:.3f} (n={m['n']}, "
                  f"{m['n_positive']} positive, {m['n_infants']} infants, {m['outer_cv']})")
    if "permutation_p" in m:
        console.print(f"permutation p = {m['permutation_p']:.3g} ({m['permutations']} retrainings)")
    if m["excluded_by_qc"]:
        console.print(f"[yellow]left out by QC[/]: {', '.join(m['excluded_by_qc'])}")
    console.print(f"wrote {out}/metrics.json, predictions.csv, model.joblib, report.html")


@risk_app.command("predict")
def predict_cmd(
    model_dir: Path = typer.Argument(..., help="Folder written by `infantpose risk train`."),
    features: Path = typer.Argument(..., help="Features CSV of the videos to score."),
    out: Path = out_option("Scores CSV (video, score, predicted)."),
    overwrite: bool = overwrite_option(),
) -> None:
    """Score new videos with a trained model (a pickle: only load models you trust)."""
    from rich.console import Console

    from infantpose.pipelines.risk import RiskPredictOptions, run_risk_predict

    done = run_risk_predict(RiskPredictOptions(model_dir, features, out, overwrite))
    scores = done.scores
    Console(stderr=True).print(f"wrote {out}: {len(scores)} video(s), "
                               f"{int(scores['predicted'].sum())} above the threshold")
