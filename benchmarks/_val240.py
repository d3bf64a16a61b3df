"""The validation yardstick on real infants: ``../shared/data/syrip-val240`` (not shipped, not in CI).

240 real SyRIP photos from 46 videos (one infant per video) that share no infant with SyRIP's
100-image test set, COCO-17 labels, ``posture`` and ``source_group`` per image. **Validation
only**: never train, pseudo-label, or choose anything on them. Scores are COCO keypoint AP as
``infantpose evaluate`` computes it (OKS scale: the labelled ``area``, the box area here), over
all photos and per posture, with a bootstrap 95 % interval that resamples whole videos (photos
of one infant are not independent, so resampling photos would understate the spread).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "syrip-val240"
POSTURES = ("Supine", "Prone", "Sitting", "Standing")


def available(data: Path = DATA) -> bool:
    return (data / "annotations.json").is_file()


def load(data: Path = DATA):
    """(LabeledDataset, postures, groups): the labels and, per image in the dataset's order,
    its posture and source video."""
    from infantpose.io.coco import read_coco

    gt = read_coco(data / "annotations.json")
    coco = json.loads((data / "annotations.json").read_text())
    by_name = {im["file_name"]: im for im in coco["images"]}
    postures, groups = [], []
    for name in gt.image_names:
        im = by_name.get(name) or by_name[Path(name).name]
        postures.append(str(im.get("posture", "?")))
        groups.append(str(im.get("source_group", im["file_name"])))
    return gt, np.array(postures), np.array(groups)


def _subset_preds(preds, idx: np.ndarray):
    p = preds.poses
    poses = replace(p, data=p.data[idx].copy(),
                    frame_names=[p.frame_names[i] for i in idx] if p.frame_names else None,
                    frame_indices=None,
                    image_sizes=[p.image_sizes[i] for i in idx] if p.image_sizes else None,
                    meta={})
    return replace(preds, poses=poses, instance_scores=preds.instance_scores[idx].copy())


def ap(gt, preds, idx: np.ndarray | None = None) -> float:
    """COCO AP of ``preds`` on the images ``idx`` (all when None)."""
    from infantpose.evaluate import evaluate_predictions

    if idx is not None:
        gt, preds = gt.subset(idx), _subset_preds(preds, idx)
    return float(evaluate_predictions(gt, preds).metrics["AP"])


def interval(gt, preds, groups: np.ndarray, idx: np.ndarray | None = None, n_boot: int = 200,
             seed: int = 0) -> tuple[float, float]:
    """Bootstrap 95 % interval of AP over ``idx``, resampling source videos with replacement."""
    idx = np.arange(len(gt)) if idx is None else np.asarray(idx)
    rng = np.random.default_rng(seed)
    videos = sorted(set(groups[idx]))
    members = {v: idx[groups[idx] == v] for v in videos}
    vals = []
    for _ in range(n_boot):
        pick = rng.choice(len(videos), size=len(videos), replace=True)
        sample = np.concatenate([members[videos[j]] for j in pick])
        vals.append(ap(gt, preds, sample))
    return float(np.percentile(vals, 2.5)), float(np.percentile(vals, 97.5))


def row(name: str, protocol: str, gt, preds, postures: np.ndarray, groups: np.ndarray,
        rate: float, n_boot: int = 200) -> str:
    """One markdown row: AP over all photos with its interval, AP per posture, speed."""
    lo, hi = interval(gt, preds, groups, n_boot=n_boot)
    cells = [f"{ap(gt, preds):.3f} ({lo:.3f}-{hi:.3f})"]
    for p in POSTURES:
        idx = np.flatnonzero(postures == p)
        cells.append(f"{ap(gt, preds, idx):.3f}" if len(idx) else "-")
    return f"| {name} | {protocol} | " + " | ".join(cells) + f" | {rate:.1f} |"


def header(postures: np.ndarray) -> str:
    counts = {p: int((postures == p).sum()) for p in POSTURES}
    h = "| model | protocol | AP all (95 % CI) | " + " | ".join(
        f"{p} ({counts[p]})" for p in POSTURES) + " | photos/s |"
    return h + "\n|---|---|---:|" + "---:|" * len(POSTURES) + "---:|"
