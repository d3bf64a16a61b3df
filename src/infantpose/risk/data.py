"""Reading features and labels for the risk models, with one-line errors naming the file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from infantpose.errors import InputError

__all__ = ["Dataset", "check_numbers", "feature_columns", "load_dataset", "read_csv", "read_features"]

# Columns that describe a row rather than the movement: never predictors.
NON_FEATURES = {"video", "file", "schema", "window", "t_start", "t_end", "qc_flag", "label",
                "group", "source"}


def read_csv(path: str | os.PathLike):
    """A pandas DataFrame from ``path``; InputError for a missing, empty or unparsable file."""
    p = Path(path)
    if not p.exists():
        raise InputError(p, "no such file")
    if p.is_dir():
        raise InputError(p, "is a folder, expected a CSV file")
    try:
        df = pd.read_csv(p)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError) as e:
        raise InputError(p, f"not a readable CSV table ({type(e).__name__})") from None
    except OSError as e:
        raise InputError(p, f"cannot read ({e.strerror or e})") from None
    if df.empty:
        raise InputError(p, "table has no rows")
    return df


def _is_numeric(series) -> bool:
    return pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
        series.dtype)


def feature_columns(df) -> list[str]:
    """Numeric movement-feature columns: everything numeric except identifiers and ``qc_*``."""
    cols = []
    for c in df.columns:
        if c in NON_FEATURES or str(c).startswith("qc_"):
            continue
        if _is_numeric(df[c]):
            cols.append(str(c))
    return cols


def check_numbers(df, path: str | os.PathLike):
    """``df`` with its feature columns checked: a column of numbers holding some text (``abc``
    among numbers) or an infinite value is InputError naming the file, column and video
    (missing values stay allowed: they are imputed). Columns wholly of text are left alone (not
    features). Returns the frame with such columns converted to numbers."""
    df = df.copy()
    for c in df.columns:
        if c in NON_FEATURES or str(c).startswith("qc_"):
            continue
        col = df[c]
        if not _is_numeric(col):
            given = col.notna() & (col.astype(str).str.strip() != "")
            nums = pd.to_numeric(col.where(given), errors="coerce")
            bad = given & nums.isna()
            if not nums.notna().any():
                continue  # a text column (notes, ids): not a feature
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(path, f"column {c!r}, video {df['video'].iloc[row]!r}: "
                                   f"{str(col.iloc[row])[:40]!r} is not a number")
        vals = col.to_numpy(float)
        inf = np.isinf(vals)
        if inf.any():
            row = int(np.flatnonzero(inf)[0])
            raise InputError(path, f"column {c!r}, video {df['video'].iloc[row]!r}: "
                                   f"{vals[row]} is not a finite number (leave the cell empty "
                                   "for a missing value)")
    return df


def read_features(path: str | os.PathLike):
    """Whole-recording rows of a features CSV (``window == "all"`` when windows are present)."""
    p = Path(path)
    df = read_csv(p)
    if "video" not in df.columns:
        raise InputError(p, "not a features table (no 'video' column; make one with "
                            "`infantpose features`)")
    if "window" in df.columns:
        df = df[df["window"].astype(str) == "all"]
    df = df.copy()
    df["video"] = df["video"].astype(str)
    dup = df["video"][df["video"].duplicated()]
    if len(dup):
        raise InputError(p, f"video {dup.iloc[0]!r} appears more than once")
    df = check_numbers(df, p)
    if not feature_columns(df):
        raise InputError(p, "has no numeric feature columns")
    return df.reset_index(drop=True)


@dataclass
class Dataset:
    """Aligned design matrix, labels and groups."""

    X: np.ndarray
    y: np.ndarray
    groups: np.ndarray
    videos: list[str]
    features: list[str]
    excluded: list[tuple[str, str]]


def load_dataset(features_path: str | os.PathLike, labels_path: str | os.PathLike,
                 group: str | None = None, include_flagged: bool = False) -> Dataset:
    """Join a features CSV and a labels CSV (``video``, 0/1 ``label``, optional group column).

    Every labelled video must have features (else InputError naming the labels file); videos
    without a label are left out; videos flagged by QC are left out unless ``include_flagged``.
    ``group`` names a column of the labels (or features) table that identifies the infant.
    """
    fp, lp = Path(features_path), Path(labels_path)
    feats = read_features(fp)
    labels = read_csv(lp)
    need = [c for c in ("video", "label") if c not in labels.columns]
    if need:
        raise InputError(lp, f"labels need columns 'video' and 'label' (missing "
                             f"{', '.join(repr(c) for c in need)}; has "
                             f"{', '.join(map(str, labels.columns[:8]))})")
    labels = labels.copy()
    labels["video"] = labels["video"].astype(str)
    if labels["video"].duplicated().any():
        raise InputError(lp, f"video {labels['video'][labels['video'].duplicated()].iloc[0]!r} "
                             "is labelled more than once")
    lab = labels["label"]
    ok = lab.isin([0, 1, "0", "1", 0.0, 1.0, True, False])
    if not ok.all():
        raise InputError(lp, f"label must be 0 or 1 (found {lab[~ok].iloc[0]!r} for video "
                             f"{labels['video'][~ok].iloc[0]!r})")
    labels["label"] = lab.astype(float).astype(int)
    missing = sorted(set(labels["video"]) - set(feats["video"]))
    if missing:
        shown = ", ".join(missing[:3]) + (f" and {len(missing) - 3} more" if len(missing) > 3 else "")
        raise InputError(lp, f"{len(missing)} labelled video(s) have no features in {fp}: {shown}")
    if group is not None:
        if group in labels.columns:
            g = labels[["video", group]]
        elif group in feats.columns:
            g = feats[["video", group]]
        else:
            raise InputError(lp, f"group column {group!r} is in neither the labels nor the "
                                 "features table")
        labels = labels.drop(columns=[c for c in (group,) if c in labels.columns])
        labels = labels.merge(g.rename(columns={group: "_group"}), on="video", how="left")
        if labels["_group"].isna().any():
            raise InputError(lp, f"group column {group!r} is empty for some videos")
        labels["_group"] = labels["_group"].astype(str)
    else:
        labels["_group"] = labels["video"]
    mixed = labels.groupby("_group")["label"].nunique()
    if (mixed > 1).any():
        raise InputError(lp, f"infant {mixed[mixed > 1].index[0]!r} has videos with both labels")
    df = labels[["video", "label", "_group"]].merge(feats, on="video", how="inner")
    excluded: list[tuple[str, str]] = []
    if "qc_flag" in df.columns and not include_flagged:
        bad = df["qc_flag"].astype(str) != "ok"
        excluded = [(v, str(f)) for v, f in zip(df["video"][bad], df["qc_flag"][bad])]
        df = df[~bad]
    cols = feature_columns(feats)
    y = df["label"].to_numpy(int)
    groups = df["_group"].to_numpy(str)
    for cls in (0, 1):
        n = len(set(groups[y == cls]))
        if n < 3:
            raise InputError(lp, f"need at least 3 infants labelled {cls} (after QC), found {n}")
    X = np.array(df[cols].to_numpy(float), copy=True)
    X[~np.isfinite(X)] = np.nan
    return Dataset(X, y, groups, df["video"].tolist(), cols, excluded)
