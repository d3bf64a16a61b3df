"""Evaluation reports: metrics.json, per_keypoint.csv, per_region.csv, a bar chart, a table."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from infantpose import _atomic
from infantpose.evaluate.core import EvalResult

__all__ = ["write_report", "summary_table", "HEADLINE"]

#: Columns of the one-row-per-model summary.
HEADLINE = ("AP", "AP50", "AP75", "AR", "PCKsh@0.1", "PCKsh@0.06", "PCKsh@0.02", "mKS",
            "PCK@0.1bbox")


def summary_table(results: list[EvalResult]):
    """A rich Table with one row per model."""
    # imported here: pipelines import this module and must not load rich (only the CLI prints)
    from rich.table import Table

    keys = [k for k in HEADLINE if any(k in r.metrics for r in results)]
    t = Table(title="Keypoint accuracy")
    t.add_column("model")
    for k in keys:
        t.add_column(k, justify="right")
    t.add_column("keypoints scored", justify="right")
    for r in results:
        cells = []
        for k in keys:
            v = r.metrics.get(k, float("nan"))
            cells.append("-" if v is None or v != v or v < 0 else f"{v:.3f}")
        t.add_row(r.name, *cells, str(len(r.scored)))
    return t


def _chart(results: list[EvalResult], path: Path, metric: str = "PCKsh@0.1") -> None:
    # imported here: matplotlib (about 1 s) loads only when the chart is drawn
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kps: list[str] = []
    for r in results:
        kps += [k for k in r.per_keypoint["keypoint"] if k not in kps]
    width = 0.8 / max(len(results), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(kps) + 2), 4.2))
    x = np.arange(len(kps))
    for i, r in enumerate(results):
        vals = dict(zip(r.per_keypoint["keypoint"], r.per_keypoint[metric]))
        ax.bar(x + (i - (len(results) - 1) / 2) * width,
               [np.nan_to_num(vals.get(k, np.nan)) for k in kps], width, label=r.name)
    ax.set_xticks(x)
    ax.set_xticklabels(kps, rotation=60, ha="right", fontsize=8)
    ax.set_ylim(0, 1.0)
    ax.set_ylabel(metric)
    ax.set_title(f"{metric} per keypoint")
    ax.legend(fontsize=8)
    fig.tight_layout()
    with _atomic.atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)


def write_report(results: list[EvalResult], out_dir: str | os.PathLike,
                 gt_source: str | None = None) -> dict[str, Path]:
    """Write the report files into ``out_dir`` (each atomically); returns their paths."""
    # imported here: pandas (about 1 s) loads only when the report is written
    import pandas as pd

    out = _atomic.ensure_writable_dir(out_dir)
    doc = {"ground_truth": gt_source, "models": [r.to_dict() for r in results]}
    paths = {"metrics": out / "metrics.json", "per_keypoint": out / "per_keypoint.csv",
             "per_region": out / "per_region.csv", "chart": out / "pcksh_per_keypoint.png"}
    kp = pd.concat([r.per_keypoint.assign(model=r.name) for r in results], ignore_index=True)
    rg = pd.concat([r.per_region.assign(model=r.name) for r in results], ignore_index=True)
    kp = kp[["model"] + [c for c in kp.columns if c != "model"]]
    rg = rg[["model"] + [c for c in rg.columns if c != "model"]]
    _chart(results, paths["chart"])
    with _atomic.atomic_path(paths["per_keypoint"]) as tmp:
        kp.to_csv(tmp, index=False, float_format="%.4f")
    with _atomic.atomic_path(paths["per_region"]) as tmp:
        rg.to_csv(tmp, index=False, float_format="%.4f")
    _atomic.write_text(paths["metrics"], json.dumps(doc, indent=2, allow_nan=False))
    return paths
