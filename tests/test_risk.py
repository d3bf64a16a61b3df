"""Risk models: nested CV grouped by infant, honest intervals, files and errors (issue 15)."""

import json

import numpy as np
import pandas as pd
import pytest

from infantpose.cli import main
from infantpose.risk import nested_cv
from infantpose.risk.metrics import auc, bootstrap_auc_ci, permutation_labels


def cohort(n_infants=40, videos_per=2, signal=0.0, seed=0, n_features=12):
    """Features table + labels: infants with 1..videos_per videos; ``signal`` shifts two features
    of positive infants (in SD units); an infant-level random effect makes videos correlated."""
    rng = np.random.default_rng(seed)
    y_inf = np.array([i % 2 for i in range(n_infants)])
    rows, labels = [], []
    for i in range(n_infants):
        base = rng.normal(0, 1, n_features)
        for v in range(videos_per):
            x = base * 0.7 + rng.normal(0, 0.7, n_features)
            x[:2] += signal * y_inf[i]
            name = f"inf{i:02d}_v{v}"
            row = {"video": name, "window": "all", "qc_flag": "ok", "qc_coverage": 0.9}
            row.update({f"f{j}": x[j] for j in range(n_features)})
            rows.append(row)
            labels.append({"video": name, "label": int(y_inf[i]), "infant": f"inf{i:02d}"})
    return pd.DataFrame(rows), pd.DataFrame(labels)


def write(tmp_path, feats, labels):
    f, lab = tmp_path / "features.csv", tmp_path / "labels.csv"
    feats.to_csv(f, index=False)
    labels.to_csv(lab, index=False)
    return f, lab


def test_every_infant_in_exactly_one_outer_test_fold():
    for n_inf in (12, 36):  # leave-one-infant-out, then 10 grouped folds
        feats, labels = cohort(n_inf, videos_per=3, signal=1.0)
        X = feats[[c for c in feats.columns if c.startswith("f")]].to_numpy()
        res = nested_cv(X, labels["label"].to_numpy(), labels["infant"].to_numpy(),
                        models=("logistic",))
        assert (res.fold >= 0).all() and np.isfinite(res.scores).all()
        per_infant = pd.Series(res.fold).groupby(labels["infant"].to_numpy()).nunique()
        assert (per_infant == 1).all() and len(per_infant) == n_inf
        n_folds = len(np.unique(res.fold))
        assert n_folds == (n_inf if n_inf < 30 else 10)


def test_planted_signal_gives_high_auc(tmp_path):
    f, lab = write(tmp_path, *cohort(40, signal=1.5, seed=1))
    out = tmp_path / "run"
    assert main(["risk", "train", str(f), "--labels", str(lab), "--out", str(out),
                 "--group", "infant", "--models", "logistic", "-q"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["roc_auc"] > 0.8 and m["roc_auc_ci"][0] < m["roc_auc"] < m["roc_auc_ci"][1]
    for k in ("pr_auc", "balanced_accuracy", "sensitivity", "specificity"):
        assert 0 <= m[k] <= 1
    assert m["n"] == 80 and m["n_positive"] == 40 and m["n_infants"] == 40
    preds = pd.read_csv(out / "predictions.csv")
    assert len(preds) == 80 and preds.groupby("group")["fold"].nunique().max() == 1
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 4
    imp = pd.read_csv(out / "importances.csv")
    assert set(imp["feature"][:2]) == {"f0", "f1"}   # the planted features come first
    assert not (imp["feature"] == "qc_coverage").any()  # QC columns are not predictors
    scores = tmp_path / "scores.csv"
    assert main(["risk", "predict", str(out), str(f), "--out", str(scores)]) == 0
    s = pd.read_csv(scores)
    assert len(s) == 80 and s["score"].between(0, 1).all()


def test_random_labels_interval_contains_half(tmp_path):
    f, lab = write(tmp_path, *cohort(30, videos_per=1, signal=0.0, seed=2))
    out = tmp_path / "run"
    assert main(["risk", "train", str(f), "--labels", str(lab), "--out", str(out),
                 "--models", "logistic", "--permutations", "2", "-q"]) == 0
    m = json.loads((out / "metrics.json").read_text())
    lo, hi = m["roc_auc_ci"]
    assert lo < 0.5 < hi
    assert 0 < m["permutation_p"] <= 1 and m["permutations"] == 2


def test_nested_cv_deterministic_with_seed():
    feats, labels = cohort(6, videos_per=1, signal=0.8, seed=6, n_features=4)
    X = feats[["f0", "f1", "f2", "f3"]].to_numpy()
    y, g = labels["label"].to_numpy(), labels["infant"].to_numpy()
    a = nested_cv(X, y, g, models=("boosting",), seed=3)
    b = nested_cv(X, y, g, models=("boosting",), seed=3)
    c = nested_cv(X, y, g, models=("boosting",), seed=4)
    assert np.array_equal(a.scores, b.scores) and not np.array_equal(a.scores, c.scores)


@pytest.mark.slow
def test_deterministic_with_seed_all_models(tmp_path):
    # all three model families compete in the inner folds
    f, lab = write(tmp_path, *cohort(8, videos_per=1, signal=0.8, seed=3, n_features=6))
    runs = []
    for name in ("a", "b"):
        assert main(["risk", "train", str(f), "--labels", str(lab), "--out", str(tmp_path / name),
                     "--group", "infant", "--seed", "5", "-q"]) == 0
        runs.append((tmp_path / name / "predictions.csv").read_text())
    assert runs[0] == runs[1]
    m = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert m["outer_cv"] == "leave-one-infant-out" and sum(m["chosen_models"].values()) == 8
    assert set(m["chosen_models"]) <= {"logistic(C=0.05)", "logistic(C=0.5)", "forest",
                                       "boosting"}


def test_flagged_videos_left_out(tmp_path):
    feats, labels = cohort(8, signal=1.0, seed=4, n_features=4)
    feats.loc[0, "qc_flag"] = "low_coverage"
    f, lab = write(tmp_path, feats, labels)
    assert main(["risk", "train", str(f), "--labels", str(lab), "--out", str(tmp_path / "r"),
                 "--group", "infant", "--models", "logistic", "-q"]) == 0
    m = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert m["n"] == 15 and m["excluded_by_qc"] == ["inf00_v0 (low_coverage)"]


def test_bootstrap_and_permutation_helpers():
    y = np.array([0, 1] * 20)
    lo, hi = bootstrap_auc_ci(y, y + 0.0, n_boot=200)
    assert lo == hi == 1.0
    g = np.repeat(np.arange(20), 2)
    yg = np.repeat(np.array([0, 1] * 10), 2)
    p = permutation_labels(yg, g, np.random.default_rng(0))
    assert p.sum() == yg.sum() and (p[::2] == p[1::2]).all()   # infants keep one label
    from sklearn.metrics import roc_auc_score
    s = np.random.default_rng(1).normal(size=40).round(1)
    assert auc(y, s) == pytest.approx(roc_auc_score(y, s))


@pytest.mark.parametrize("case", ["missing_features", "labels_columns", "mismatched",
                                  "not_binary", "not_features", "bad_group", "missing_model"])
def test_bad_inputs_one_line_exit_2(tmp_path, capsys, case):
    feats, labels = cohort(8, signal=1.0)
    f, lab = write(tmp_path, feats, labels)
    out = tmp_path / "run"
    args = ["risk", "train", str(f), "--labels", str(lab), "--out", str(out), "--group", "infant",
            "--models", "logistic", "-q"]
    expect = lab
    if case == "missing_features":
        args[2] = str(tmp_path / "nope.csv")
        expect = tmp_path / "nope.csv"
    elif case == "labels_columns":
        labels.rename(columns={"label": "outcome"}).to_csv(lab, index=False)
    elif case == "mismatched":
        labels.assign(video=labels["video"] + ".mp4").to_csv(lab, index=False)
    elif case == "not_binary":
        labels.assign(label=labels["label"] * 2).to_csv(lab, index=False)
    elif case == "not_features":
        pd.DataFrame({"a": [1, 2]}).to_csv(f, index=False)
        expect = f
    elif case == "bad_group":
        args[args.index("infant")] = "site"
    elif case == "missing_model":
        args = ["risk", "predict", str(tmp_path / "nomodel"), str(f), "--out",
                str(tmp_path / "s.csv")]
        expect = tmp_path / "nomodel"
    code = main(args)
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith(f"error: {expect}"), err
    assert not (out / "metrics.json").exists()


def test_outputs_not_replaced_unless_ours(tmp_path, capsys):
    f, lab = write(tmp_path, *cohort(6, videos_per=1, signal=1.0, n_features=3))
    out = tmp_path / "run"
    out.mkdir()
    (out / "report.html").write_text("mine")
    args = ["risk", "train", str(f), "--labels", str(lab), "--out", str(out), "--models",
            "logistic", "-q"]
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err and (out / "report.html").read_text() == "mine"
    assert main(args + ["--overwrite"]) == 0
    assert main(args) == 0     # our own outputs may be replaced by a rerun
    assert main(["risk", "predict", str(out), str(f), "--out", str(f)]) == 2  # never over an input
