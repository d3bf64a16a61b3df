"""Risk models on movement features: nested, infant-grouped cross-validation (issue 15, seed 000).

:func:`train` runs the whole procedure and writes ``metrics.json``, ``predictions.csv``,
``importances.csv``, ``model.joblib`` and ``report.html``; :func:`predict` scores new videos with a
saved model. ``model.joblib`` is a pickle: load only files you made or trust.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.inspection import permutation_importance
from sklearn.metrics import roc_auc_score

from infantpose import _atomic
from infantpose.errors import InputError
from infantpose.risk.data import Dataset, feature_columns, load_dataset, read_features
from infantpose.risk.metrics import permutation_labels, screening_metrics
from infantpose.risk.nested import MODELS, fit_final, model_name, n_outer_folds, nested_cv
from infantpose.risk.report import figures, write_report

__all__ = ["MODELS", "Dataset", "load_dataset", "nested_cv", "predict", "train"]

MODEL_FILE = "model.joblib"
OUTPUT_FILES = ("metrics.json", "predictions.csv", "importances.csv", MODEL_FILE, "report.html")
FORMAT = "infantpose.risk"


def train(features: str | os.PathLike, labels: str | os.PathLike, out: str | os.PathLike,
          group: str | None = None, permutations: int = 0, seed: int = 0,
          models: tuple[str, ...] = MODELS, n_boot: int = 2000, include_flagged: bool = False,
          progress: Callable[[str, int, int], None] | None = None) -> dict:
    """Nested CV, metrics, final model and report into ``out``; returns the metrics dict.

    ``progress(stage, done, total)`` is called as outer folds and permutations finish.
    """
    ds = load_dataset(features, labels, group, include_flagged)
    outdir = _atomic.ensure_writable_dir(out)
    total = n_outer_folds(ds.groups, ds.y, seed)
    done = [0]

    def tick(stage: str, tot: int):
        def f(k: int) -> None:
            done[0] += k
            if progress is not None:
                progress(stage, done[0], tot)
        return f

    res = nested_cv(ds.X, ds.y, ds.groups, models, seed, progress=tick("outer folds", total))
    m = screening_metrics(ds.y, res.scores, res.predicted, ds.groups, n_boot, seed)
    m["outer_cv"] = res.scheme
    m["chosen_models"] = res.chosen_counts
    m["threshold_rule"] = "positive when score >= positive rate of the training fold"
    m["excluded_by_qc"] = [f"{v} ({f})" for v, f in ds.excluded]
    m["seed"] = seed
    m["models"] = list(models)
    m["n_features"] = len(ds.features)
    if permutations > 0:
        rng = np.random.default_rng([seed, 7])

        null = []
        done[0] = 0
        for _ in range(permutations):
            yp = permutation_labels(ds.y, ds.groups, rng)
            r = nested_cv(ds.X, yp, ds.groups, models, seed)
            null.append(float(roc_auc_score(yp, r.scores)))
            tick("permutations", permutations)(1)
        m["permutations"] = permutations
        m["permutation_p"] = (1 + sum(a >= m["roc_auc"] for a in null)) / (permutations + 1)
        m["permutation_auc_mean"] = float(np.mean(null))
    final = fit_final(ds.X, ds.y, ds.groups, models, seed)
    m["final_model"] = model_name(final)
    m["threshold"] = float(ds.y.mean())
    # Log loss, not AUC: a forest ranks its own training data perfectly, so permuting one feature
    # rarely moves the in-sample AUC, but it does move the predicted probabilities.
    imp = permutation_importance(final, ds.X, ds.y, scoring="neg_log_loss", n_repeats=10,
                                 random_state=seed, n_jobs=1)
    order = np.argsort(-imp.importances_mean)
    importances = [(ds.features[i], float(imp.importances_mean[i]), float(imp.importances_std[i]))
                   for i in order]
    preds = pd.DataFrame({"video": ds.videos, "group": ds.groups, "label": ds.y,
                          "score": res.scores, "predicted": res.predicted,
                          "threshold": res.thresholds, "fold": res.fold, "model": res.chosen})
    with _atomic.atomic_path(outdir / "predictions.csv") as tmp:
        preds.to_csv(tmp, index=False, float_format="%.6g")
    with _atomic.atomic_path(outdir / "importances.csv") as tmp:
        pd.DataFrame(importances, columns=["feature", "importance", "sd"]).to_csv(
            tmp, index=False, float_format="%.6g")

    bundle = {"format": FORMAT, "version": 1, "model": final, "features": ds.features,
              "threshold": m["threshold"], "final_model": m["final_model"], "seed": seed}
    with _atomic.atomic_path(outdir / MODEL_FILE) as tmp:
        joblib.dump(bundle, tmp)
    write_report(outdir / "report.html", m, figures(ds.y, res.scores, importances, m))
    _atomic.write_text(outdir / "metrics.json", json.dumps(m, indent=2, allow_nan=True))
    return m


def load_model(model_dir: str | os.PathLike) -> dict:
    """The bundle saved by :func:`train` (a pickle: only load directories you trust)."""
    d = Path(model_dir)
    f = d / MODEL_FILE if d.is_dir() else d
    if not f.exists():
        raise InputError(f, "no such file (train a model with `infantpose risk train`)")
    try:
        bundle = joblib.load(f)
    except Exception as e:  # noqa: BLE001 - any unpickling failure is a bad file to the user
        raise InputError(f, f"not a readable risk model ({type(e).__name__})") from None
    if not isinstance(bundle, dict) or bundle.get("format") != FORMAT:
        raise InputError(f, "not an infantpose risk model")
    return bundle


def predict(model_dir: str | os.PathLike, features: str | os.PathLike):
    """Scores (probability of label 1) and 0/1 calls for every video of a features CSV."""
    bundle = load_model(model_dir)
    df = read_features(features)
    missing = [c for c in bundle["features"] if c not in df.columns]
    if missing:
        raise InputError(features, f"lacks {len(missing)} feature column(s) the model needs, "
                                   f"e.g. {missing[0]!r}")
    text = [c for c in bundle["features"] if c not in feature_columns(df)]
    if text:
        raise InputError(features, f"feature column {text[0]!r} holds text, not numbers")
    X = np.array(df[bundle["features"]].to_numpy(float), copy=True)
    X[~np.isfinite(X)] = np.nan
    score = bundle["model"].predict_proba(X)[:, 1]
    out = pd.DataFrame({"video": df["video"], "score": score,
                        "predicted": (score >= bundle["threshold"]).astype(int)})
    if "qc_flag" in df.columns:
        out["qc_flag"] = df["qc_flag"].to_numpy()
    return out
