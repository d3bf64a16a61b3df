"""``report.html``: metrics, ROC / precision-recall / calibration plots and feature importances,
with the figures embedded as PNG so the file can be mailed or archived on its own."""

from __future__ import annotations

import base64
import html
import io
import os

import numpy as np
from sklearn.calibration import calibration_curve
from sklearn.metrics import precision_recall_curve, roc_curve

from infantpose import _atomic

__all__ = ["figures", "write_report"]


def _png(fig) -> str:
    # imported here: matplotlib (about 1 s) loads for `risk train`'s report, not `risk predict`
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def figures(y: np.ndarray, scores: np.ndarray, importances: list[tuple[str, float, float]],
            metrics: dict) -> dict[str, str]:
    """Base64 PNGs: ``roc``, ``pr``, ``calibration``, ``importance``."""
    # imported here: matplotlib (about 1 s) loads for `risk train`'s report, not `risk predict`
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    fpr, tpr, _ = roc_curve(y, scores)
    fig, ax = plt.subplots(figsize=(4, 4))
    lo, hi = metrics["roc_auc_ci"]
    ax.plot(fpr, tpr, lw=2, label=f"AUC {metrics['roc_auc']:.2f} [{lo:.2f}, {hi:.2f}]")
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set(xlabel="1 - specificity", ylabel="sensitivity", title="ROC (out-of-fold)")
    ax.legend(loc="lower right")
    out["roc"] = _png(fig)
    prec, rec, _ = precision_recall_curve(y, scores)
    fig, ax = plt.subplots(figsize=(4, 4))
    ax.step(rec, prec, where="post", lw=2, label=f"AP {metrics['pr_auc']:.2f}")
    ax.axhline(np.mean(y), color="k", ls="--", lw=1, label="prevalence")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall (out-of-fold)",
           ylim=(0, 1.02))
    ax.legend(loc="lower left")
    out["pr"] = _png(fig)
    fig, ax = plt.subplots(figsize=(4, 4))
    bins = int(max(2, min(10, len(y) // 10)))
    frac, mean_pred = calibration_curve(y, scores, n_bins=bins, strategy="quantile")
    ax.plot(mean_pred, frac, "o-", lw=2)
    ax.plot([0, 1], [0, 1], "k--", lw=1)
    ax.set(xlabel="predicted risk", ylabel="observed fraction positive",
           title=f"Calibration ({bins} quantile bins)", xlim=(0, 1), ylim=(0, 1))
    out["calibration"] = _png(fig)
    top = importances[:20][::-1]
    fig, ax = plt.subplots(figsize=(6, 0.28 * len(top) + 1))
    ax.barh([t[0] for t in top], [t[1] for t in top], xerr=[t[2] for t in top], color="#4a7ab5")
    ax.set(xlabel="increase in log loss when permuted", title="Feature importance (final model)")
    out["importance"] = _png(fig)
    return out


def write_report(path: str | os.PathLike, metrics: dict, figs: dict[str, str],
                 title: str = "infantpose risk model") -> None:
    """Write the HTML report atomically."""
    rows = []
    for k in ("roc_auc", "roc_auc_ci", "pr_auc", "balanced_accuracy", "sensitivity",
              "specificity", "n", "n_positive", "n_infants", "outer_cv", "chosen_models",
              "final_model", "threshold", "permutation_p", "permutations", "excluded_by_qc"):
        if k not in metrics:
            continue
        v = metrics[k]
        if isinstance(v, float):
            v = f"{v:.3f}"
        elif isinstance(v, list) and v and all(isinstance(x, float) for x in v):
            v = "[" + ", ".join(f"{x:.3f}" for x in v) + "]"
        rows.append(f"<tr><th>{html.escape(k)}</th><td>{html.escape(str(v))}</td></tr>")
    imgs = "".join(f'<figure><img alt="{k}" src="data:image/png;base64,{v}"></figure>'
                   for k, v in figs.items())
    doc = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;max-width:1100px;margin:2em auto}}
table{{border-collapse:collapse}}th,td{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
figure{{display:inline-block;margin:8px}}</style></head><body>
<h1>{html.escape(title)}</h1>
<p>All numbers are out-of-fold: each infant was scored by a model that never saw any of its
videos (nested cross-validation, model choice inside the training folds). The interval is a 95%
bootstrap over infants. Feature importance is for the final model refitted on all data and shows
what it relies on, not how well it generalises. A screening score is not a diagnosis.</p>
<table>{''.join(rows)}</table>
{imgs}
</body></html>
"""
    _atomic.write_text(path, doc)
