"""Screening metrics with uncertainty: ROC AUC with an infant-level bootstrap interval, PR AUC,
balanced accuracy, sensitivity, specificity, and a permutation p-value."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, balanced_accuracy_score, roc_auc_score

__all__ = ["auc", "bootstrap_auc_ci", "permutation_labels", "screening_metrics"]


def auc(y: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic (ties count one half); NaN with one class only.

    Equal to ``sklearn.metrics.roc_auc_score`` and fast enough for thousands of bootstrap draws.
    """
    y = np.asarray(y, int)
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    r = rankdata(np.asarray(scores, float))
    return float((r[y == 1].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def bootstrap_auc_ci(y: np.ndarray, scores: np.ndarray, groups: np.ndarray | None = None,
                     n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile interval of ROC AUC over ``n_boot`` resamples of infants (groups) with
    replacement; resamples with one class only are redrawn (skipped)."""
    y, s = np.asarray(y, int), np.asarray(scores, float)
    g = np.asarray(groups) if groups is not None else np.arange(len(y))
    uniq, inv = np.unique(g, return_inverse=True)
    members = [np.flatnonzero(inv == i) for i in range(len(uniq))]
    rng = np.random.default_rng(seed)
    aucs = []
    tries = 0
    while len(aucs) < n_boot and tries < 20 * n_boot:
        tries += 1
        pick = rng.integers(0, len(uniq), len(uniq))
        idx = np.concatenate([members[i] for i in pick])
        yy = y[idx]
        if yy.min() == yy.max():
            continue
        aucs.append(auc(yy, s[idx]))
    if not aucs:
        return float("nan"), float("nan")
    a = (1 - level) / 2
    lo, hi = np.quantile(aucs, [a, 1 - a])
    return float(lo), float(hi)


def screening_metrics(y: np.ndarray, scores: np.ndarray, predicted: np.ndarray,
                      groups: np.ndarray | None = None, n_boot: int = 2000,
                      seed: int = 0) -> dict:
    """The metrics of ``metrics.json`` from out-of-fold scores and 0/1 calls."""
    y, s, p = np.asarray(y, int), np.asarray(scores, float), np.asarray(predicted, int)
    tp = int(((p == 1) & (y == 1)).sum())
    tn = int(((p == 0) & (y == 0)).sum())
    npos, nneg = int((y == 1).sum()), int((y == 0).sum())
    lo, hi = bootstrap_auc_ci(y, s, groups, n_boot, seed=seed)
    return {
        "roc_auc": float(roc_auc_score(y, s)),
        "roc_auc_ci": [lo, hi],
        "pr_auc": float(average_precision_score(y, s)),
        "balanced_accuracy": float(balanced_accuracy_score(y, p)),
        "sensitivity": tp / npos if npos else float("nan"),
        "specificity": tn / nneg if nneg else float("nan"),
        "n": int(len(y)),
        "n_positive": npos,
        "n_infants": int(len(np.unique(groups))) if groups is not None else int(len(y)),
        "bootstrap": {"resamples": n_boot, "unit": "infant", "level": 0.95},
    }


def permutation_labels(y: np.ndarray, groups: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Labels shuffled between infants (each infant keeps one label for all its videos)."""
    y, groups = np.asarray(y, int), np.asarray(groups)
    uniq, first, inv = np.unique(groups, return_index=True, return_inverse=True)
    per_group = y[first]
    return rng.permutation(per_group)[inv]
