"""Nested cross-validation of a small set of scikit-learn classifiers, grouped by infant.

Seed ``000_`` (after Chambers et al. 2020) chose models with auto-sklearn on overlapping "folds" made
from repeated shuffle splits; auto-sklearn does not install on Python 3.11 and overlapping folds
overstate what a model will do on a new infant. Here:

* outer folds keep every video of one infant together: leave one infant out with fewer than 30
  infants, else 10 stratified group folds; every infant is in exactly one outer test fold;
* inside each outer training set, grouped stratified folds choose among L2 logistic regression,
  a random forest and gradient boosting (by ROC AUC);
* imputation (median) and scaling are steps of the pipeline, so they are fitted on training folds
  only;
* a video is called positive when its score reaches the positive rate of its training fold.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, LeaveOneGroupOut, StratifiedGroupKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

__all__ = ["MODELS", "NestedResult", "candidate_grid", "make_pipeline", "nested_cv",
           "outer_splitter", "fit_final"]

MODELS = ("logistic", "forest", "boosting")


def make_pipeline():
    """Imputer -> scaler -> classifier (the classifier is chosen by the grid)."""
    return Pipeline([("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                     ("scale", StandardScaler()),
                     ("clf", LogisticRegression(max_iter=5000))])


def candidate_grid(models: tuple[str, ...] = MODELS, seed: int = 0) -> list[dict]:
    """GridSearchCV parameter grid: each entry one classifier family with a few settings."""
    grid: list[dict] = []
    for m in models:
        if m == "logistic":
            grid.append({"clf": [LogisticRegression(C=c, solver="liblinear", max_iter=5000)
                                     for c in (0.05, 0.5)]})
        elif m == "forest":
            grid.append({"clf": [RandomForestClassifier(n_estimators=100, min_samples_leaf=2,
                                                        max_features="sqrt", random_state=seed,
                                                        n_jobs=1)]})
        elif m == "boosting":
            grid.append({"clf": [GradientBoostingClassifier(n_estimators=100, max_depth=2,
                                                            learning_rate=0.05, subsample=0.8,
                                                            random_state=seed)]})
        else:
            raise ValueError(f"unknown model {m!r}; choose from {', '.join(MODELS)}")
    return grid


def model_name(est) -> str:
    """Short name of a fitted pipeline's classifier, e.g. ``logistic(C=0.5)``."""
    clf = est.named_steps["clf"] if hasattr(est, "named_steps") else est
    kind = type(clf).__name__
    if kind == "LogisticRegression":
        return f"logistic(C={clf.C:g})"
    if kind == "RandomForestClassifier":
        return "forest"
    if kind == "GradientBoostingClassifier":
        return "boosting"
    return kind


def outer_splitter(groups: np.ndarray, y: np.ndarray, seed: int = 0):
    """Leave-one-group-out below 30 groups, else 10 stratified group folds."""
    if len(np.unique(groups)) < 30:
        return LeaveOneGroupOut(), "leave-one-infant-out"
    return StratifiedGroupKFold(n_splits=10, shuffle=True, random_state=seed), \
        "10 stratified folds grouped by infant"


def _inner_cv(y: np.ndarray, groups: np.ndarray, seed: int):
    per_class = min(len(np.unique(groups[y == c])) for c in (0, 1))
    k = int(max(2, min(5, per_class)))
    return StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)


def _search(X, y, groups, models, seed):
    search = GridSearchCV(make_pipeline(), candidate_grid(models, seed), scoring="roc_auc",
                          cv=_inner_cv(y, groups, seed), n_jobs=1, error_score=np.nan,
                          refit=True)
    # tiny matrices: BLAS threads only add contention on a 2-core laptop
    with warnings.catch_warnings(), threadpool_limits(1):
        warnings.simplefilter("ignore")
        search.fit(X, y, groups=groups)
    return search


@dataclass
class NestedResult:
    """Out-of-fold scores and how they were made."""

    scores: np.ndarray
    predicted: np.ndarray
    thresholds: np.ndarray
    fold: np.ndarray
    chosen: list[str]
    scheme: str
    chosen_counts: dict[str, int] = field(default_factory=dict)


def nested_cv(X: np.ndarray, y: np.ndarray, groups: np.ndarray,
              models: tuple[str, ...] = MODELS, seed: int = 0,
              progress: Callable[[int], None] | None = None) -> NestedResult:
    """Out-of-fold probability of label 1 for every row, from the nested scheme above."""
    X, y, groups = np.asarray(X, float), np.asarray(y, int), np.asarray(groups)
    splitter, scheme = outer_splitter(groups, y, seed)
    n = len(y)
    scores = np.full(n, np.nan)
    thr = np.full(n, np.nan)
    fold = np.full(n, -1)
    chosen_per_row = [""] * n
    chosen: list[str] = []
    for f, (tr, te) in enumerate(splitter.split(X, y, groups)):
        search = _search(X[tr], y[tr], groups[tr], models, seed)
        scores[te] = search.best_estimator_.predict_proba(X[te])[:, 1]
        thr[te] = y[tr].mean()
        fold[te] = f
        name = model_name(search.best_estimator_)
        chosen.append(name)
        for i in te:
            chosen_per_row[i] = name
        if progress is not None:
            progress(1)
    res = NestedResult(scores, (scores >= thr).astype(int), thr, fold, chosen_per_row, scheme)
    res.chosen_counts = dict(Counter(chosen))
    return res


def n_outer_folds(groups: np.ndarray, y: np.ndarray, seed: int = 0) -> int:
    splitter, _ = outer_splitter(np.asarray(groups), np.asarray(y), seed)
    return splitter.get_n_splits(None, y, groups)


def fit_final(X: np.ndarray, y: np.ndarray, groups: np.ndarray,
              models: tuple[str, ...] = MODELS, seed: int = 0):
    """The model to ship: the same inner selection run on all data, refitted on all of it."""
    return _search(np.asarray(X, float), np.asarray(y, int), np.asarray(groups), models,
                   seed).best_estimator_
