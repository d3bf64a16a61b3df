"""Synthetic cohort end to end: render -> predict -> filter -> features -> risk train.

A cohort of rendered infants, half moving normally (label 0) and half atypically (label 1: half
"cramped", half "poor"; see ``infantpose synth --movement``). Every clip goes through the same
steps a user's videos would:

    render (exact labels) -> infantpose predict (BlazePose) -> Butterworth filter
    -> infantpose features -> infantpose risk train

and the script prints the ROC AUC of the risk model trained on features from the ground-truth
trajectories and from the predicted ones, and the per-feature agreement (ICC(A,1)) between the
two. The ICC is the number that tells you whether pose quality is good enough for an analysis.

    .venv/bin/python benchmarks/cohort_end_to_end.py --clips-per-class 30 --seconds 8

Renders are not real infants: the AUCs measure the pipeline, not clinical validity.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clips-per-class", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--size", default="320x240")
    ap.add_argument("--style", default="home")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--models", default="logistic,forest,boosting")
    ap.add_argument("--severity", default="0.1,0.5",
                    help="LOW,HIGH: each atypical clip blends normal and atypical movement with a "
                         "severity drawn uniformly from this range (1,1: pure styles, classes "
                         "that any pose model separates).")
    ap.add_argument("--work", type=Path, default=None,
                    help="Working folder (kept; re-runs reuse rendered clips and predictions).")
    args = ap.parse_args()

    import pandas as pd
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from infantpose.cli import main as cli
    from infantpose.features import FeatureConfig, features_table
    from infantpose.features.agreement import icc_table
    from infantpose.poses import Poses
    from infantpose.risk.data import feature_columns
    from infantpose.synth.clips import write_clip
    from infantpose.video.filters import FilterConfig, filter_poses

    console = Console()
    work = args.work or Path(tempfile.mkdtemp(prefix="cohort_"))
    for sub in ("clips", "pred", "filtered", "runs"):
        (work / sub).mkdir(parents=True, exist_ok=True)
    n = args.clips_per_class
    plan = [("normal", 0)] * n + [("cramped", 1)] * (n - n // 2) + [("poor", 1)] * (n // 2)
    names = [f"{mv}_{i:03d}" for i, (mv, _) in enumerate(plan)]
    lo, hi = (float(v) for v in args.severity.split(","))
    sev = np.random.default_rng([args.seed, 17]).uniform(lo, hi, len(plan))
    times: dict[str, float] = {}

    t0 = time.perf_counter()
    frames_per = max(1, round(args.seconds * args.fps))
    todo = [i for i, nm in enumerate(names) if not (work / "clips" / f"{nm}.json").exists()]
    with Progress(transient=True) as bar:
        task = bar.add_task("rendering clips", total=len(todo) * frames_per)
        for i in todo:
            write_clip(work / "clips" / f"{names[i]}.mp4", args.seconds,
                       seed=args.seed * 100_000 + i, fps=args.fps, schema="coco17",
                       size=args.size, style=args.style, movement=plan[i][0],
                       severity=float(sev[i]) if plan[i][1] else 1.0,
                       progress=lambda k: bar.advance(task, k))
    times["render"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    videos = [str(work / "clips" / f"{nm}.mp4") for nm in names
              if not (work / "pred" / nm / "poses.json").exists()]
    if videos:
        code = cli(["predict", *videos, "--schema", "coco17", "--out", str(work / "pred"), "-q",
                    "--overwrite"])
        if code:
            raise SystemExit(f"predict failed with exit code {code}")
    times["predict"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    cfg = FilterConfig(method="butterworth")
    for nm in names:
        p = Poses.load_json(work / "pred" / nm / "poses.json")
        filter_poses(p, cfg).save_json(work / "filtered" / f"{nm}.json")
    times["filter"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    fcfg = FeatureConfig()
    gt = features_table([work / "clips" / f"{nm}.json" for nm in names], fcfg)
    pr = features_table([work / "filtered" / f"{nm}.json" for nm in names], fcfg)
    gt.to_csv(work / "features_truth.csv", index=False)
    pr.to_csv(work / "features_predicted.csv", index=False)
    times["features"] = time.perf_counter() - t0
    labels = pd.DataFrame({"video": names, "label": [lab for _, lab in plan],
                           "movement": [mv for mv, _ in plan],
                           "severity": [float(sev[i]) if lab else 0.0
                                        for i, (_, lab) in enumerate(plan)]})
    labels.to_csv(work / "labels.csv", index=False)

    results = {}
    t0 = time.perf_counter()
    for which in ("truth", "predicted"):
        out = work / "runs" / which
        code = cli(["risk", "train", str(work / f"features_{which}.csv"), "--labels",
                    str(work / "labels.csv"), "--out", str(out), "--seed", str(args.seed),
                    "--models", args.models, "-q", "--include-flagged"])
        if code:
            raise SystemExit(f"risk train failed with exit code {code}")
        results[which] = json.loads((out / "metrics.json").read_text())
    times["risk train (x2)"] = time.perf_counter() - t0

    gt = gt.set_index("video").loc[names]
    pr = pr.set_index("video").loc[names]
    cols = feature_columns(gt.reset_index())
    icc = icc_table(gt, pr, cols)
    pd.Series(icc, name="icc").to_csv(work / "icc_per_feature.csv", index_label="feature")

    t = Table(title=f"cohort: {len(names)} clips ({n} normal, {n - n // 2} cramped, {n // 2} poor),"
                    f" {args.seconds:g} s at {args.fps:g} fps, {args.size}, severity {args.severity}")
    for c in ("trajectories", "ROC AUC [95% CI]", "PR AUC", "bal. acc.", "models chosen",
              "coverage", "flagged"):
        t.add_column(c)
    for which, df in (("truth", gt), ("predicted", pr)):
        m = results[which]
        lo, hi = m["roc_auc_ci"]
        t.add_row(which, f"{m['roc_auc']:.3f} [{lo:.3f}, {hi:.3f}]", f"{m['pr_auc']:.3f}",
                  f"{m['balanced_accuracy']:.3f}",
                  ", ".join(f"{k} {v}" for k, v in m["chosen_models"].items()),
                  f"{df['qc_coverage'].mean():.3f}", str(int((df["qc_flag"] != "ok").sum())))
    console.print(t)

    fam: dict[str, list[float]] = {}
    for c, v in icc.items():
        fam.setdefault(re.sub(r"^(left|right)_", "", c), []).append(v)
    t = Table(title="feature agreement, truth vs predicted: ICC(A,1) across clips "
                    "(mean of left and right)")
    t.add_column("feature")
    t.add_column("ICC", justify="right")
    for f, vs in fam.items():
        t.add_row(f, f"{np.nanmean(vs):.2f}" if np.isfinite(vs).any() else "-")
    console.print(t)
    vals = np.array(list(icc.values()), float)
    ok = np.isfinite(vals)
    console.print(f"ICC over {ok.sum()} features: median {np.median(vals[ok]):.2f}; "
                  f"{(vals[ok] >= 0.75).mean():.0%} >= 0.75 (good), "
                  f"{(vals[ok] < 0.5).mean():.0%} < 0.5 (poor)")
    console.print("time (s): " + ", ".join(f"{k} {v:.0f}" for k, v in times.items()))
    console.print(f"files in {work}")


if __name__ == "__main__":
    main()
