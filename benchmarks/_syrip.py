"""The fixed real-image split used by the real-data benchmarks (not shipped, not tested in CI).

``../shared/data/syrip-train200`` (200 real SyRIP infant photos, COCO-17; research use only) is
split 150 train / 50 validation, stratified by the ``posture`` field, with a fixed seed. The
split files are written into a scratch folder beside a symlink to the image folder: nothing is
copied and nothing is written into the project.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "syrip-train200"
SEED = 2026
N_VAL = 50


def available(data: Path = DATA) -> bool:
    return (data / "annotations.json").is_file()


def split_ids(data: Path = DATA, n_val: int = N_VAL, seed: int = SEED) -> tuple[list[int], list[int]]:
    """(train image ids in a fixed random order, validation image ids), posture-stratified.

    The training ids are ordered so that their first n form a posture-balanced subset for any
    n (round-robin over postures), which is how the 6/25/50/150-image subsets are taken.
    """
    coco = json.loads((data / "annotations.json").read_text())
    rng = np.random.default_rng(seed)
    by: dict[str, list[int]] = {}
    for im in sorted(coco["images"], key=lambda i: i["id"]):
        by.setdefault(str(im.get("posture", "?")), []).append(int(im["id"]))
    total = sum(len(v) for v in by.values())
    val, train_groups = [], {}
    for k in sorted(by):
        ids = list(rng.permutation(by[k]))
        nv = int(round(n_val * len(ids) / total))
        val += ids[:nv]
        train_groups[k] = ids[nv:]
    while len(val) > n_val:  # rounding
        big = max(train_groups, key=lambda k: len(train_groups[k]))
        train_groups[big].append(val.pop())
    train: list[int] = []
    order = sorted(train_groups, key=lambda k: -len(train_groups[k]))
    while any(train_groups.values()):
        for k in order:
            if train_groups[k]:
                train.append(int(train_groups[k].pop(0)))
    return train, [int(v) for v in val]


def write_subset(ids: list[int], out: Path, name: str, data: Path = DATA) -> Path:
    """A COCO file holding only ``ids``, in ``out`` beside an ``images`` symlink to the data."""
    coco = json.loads((data / "annotations.json").read_text())
    keep = set(ids)
    anns = []
    for a in coco["annotations"]:
        if a["image_id"] in keep:
            # SyRIP's 'area' values are implausible (median 5% of the box, down to 0.5%), which
            # makes OKS far harsher than on COCO; drop them so the OKS scale is the box area.
            anns.append({k: v for k, v in a.items() if k != "area"})
    sub = {"images": [i for i in coco["images"] if i["id"] in keep], "annotations": anns,
           "categories": coco["categories"]}
    out.mkdir(parents=True, exist_ok=True)
    link = out / "images"
    if not link.exists():
        os.symlink(data / "images", link)
    path = out / f"{name}.json"
    path.write_text(json.dumps(sub))
    return path
