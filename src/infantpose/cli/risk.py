"""``infantpose risk train|predict``: validated risk models on movement features (seed 000)."""

from __future__ import annotations

from pathlib import Path

import typer

from infantpose.cli import app
from infantpose.errors import InputError

__all__ = ["risk_app"]

risk_app = typer.Typer(help="Risk models on movement features: nested CV, scores for new videos.",
                       no_args_is_help=True)
app.add_typer(risk_app, name="risk")


@risk_app.command("train")
def train_cmd(
    features: Path = typer.Argument(..., help="Features CSV from `infantpose features`."),
    labels: Path = typer.Option(..., "--labels", help="CSV with columns video and label (0/1)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder."),
    group: str = typer.Option(None, "--group",
                              help="Column (labels or features) naming the infant; all its "
                                   "videos stay in one fold. Default: one infant per video."),
    permutations: int = typer.Option(0, "--permutations",
                                     help="Permutation test with N retrainings (0: off)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same results)."),
    models: str = typer.Option(",".join(("logistic", "forest", "boosting")), "--models",
                               help="Candidate models, comma-separated: logistic, forest, "
                                    "boosting."),
    include_flagged: bool = typer.Option(False, "--include-flagged",
                                         help="Also use videos whose qc_flag is not ok."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace existing outputs that infantpose did not write."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Nested cross-validation grouped by infant; writes metrics.json, predictions.csv,
    importances.csv, model.joblib and report.html into OUT.

    model.joblib is a pickle: share it only with people who trust you, and load only models you
    trust."""
    from rich.console import Console
    from rich.progress import Progress

    from infantpose.outputs import Outputs
    from infantpose.risk import MODELS, OUTPUT_FILES, train

    console = Console(stderr=True)
    chosen = tuple(m.strip() for m in models.split(",") if m.strip())
    bad = [m for m in chosen if m not in MODELS]
    if bad or not chosen:
        raise InputError(None, f"unknown model {bad[0] if bad else models!r}; choose from "
                               f"{', '.join(MODELS)}")
    if permutations < 0:
        raise InputError(None, f"--permutations must be >= 0, got {permutations}")
    guard = Outputs("risk train", [features, labels], overwrite)
    guard.folder(out, create=False)
    targets = [guard.file(out / name, create_parent=False) for name in OUTPUT_FILES]
    with Progress(transient=True, disable=quiet, console=console) as bar:
        tasks: dict[str, int] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done)

        m = train(features, labels, out, group=group, permutations=permutations, seed=seed,
                  models=chosen, include_flagged=include_flagged, progress=progress)
    guard.record(*targets)
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
    out: Path = typer.Option(..., "--out", "-o", help="Scores CSV (video, score, predicted)."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace an existing output that infantpose did not write."),
) -> None:
    """Score new videos with a trained model (a pickle: only load models you trust)."""
    from rich.console import Console

    from infantpose import _atomic
    from infantpose.outputs import Outputs
    from infantpose.risk import predict

    if out.suffix.lower() != ".csv":
        raise InputError(out, "scores output must be a .csv file")
    guard = Outputs("risk predict", [model_dir, features], overwrite)
    guard.file(out, create_parent=False)
    scores = predict(model_dir, features)
    guard.folder(out.parent if str(out.parent) else ".")
    with _atomic.atomic_path(out) as tmp:
        scores.to_csv(tmp, index=False, float_format="%.6g")
    guard.record(out)
    Console(stderr=True).print(f"wrote {out}: {len(scores)} video(s), "
                               f"{int(scores['predicted'].sum())} above the threshold")
