"""Where do synthetic infants differ from real infant photos? One table of measurable gaps.

Renders ``--n`` synthetic infants (COCO-17, the style and square size used for training; by
default the ``--style`` the training config uses) and compares them with the **150 training
photos** of the fixed syrip-train200 split (``benchmarks/_syrip.py``; the 50 validation photos
are never read) on the statistics of :mod:`infantpose.synth.stats`: limb-length ratios over the
torso, 2D joint angles, body orientation in the image, how much of the image the infant fills,
labelled/visible keypoints, colour, brightness, saturation and sharpness of the person crop.
Optionally (``--mediapipe``) the off-the-shelf BlazePose runtime is run on each set, given the
labelled person box, and its PCK@0.1 (of the box's longer side) is printed: how much harder or
easier the renders are for an adult model than real infants.

Each row: real median [IQR], synthetic median [IQR], and the Kolmogorov–Smirnov distance D
(0 = same distribution, 1 = disjoint); rows with D ≥ 0.3 are marked as large gaps.

Run: ``python benchmarks/synth_vs_real.py [--n 150] [--style home] [--size 320] [--mediapipe]``
(several ``--style`` values make one column pair each). Skips with a message when the data
folder is absent. Research data: nothing is copied or written anywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _syrip  # noqa: E402

from infantpose.synth.stats import (  # noqa: E402
    ANGLE_STATS,
    IMAGE_STATS,
    LENGTH_STATS,
    image_statistics,
    ks_distance,
    merge,
    pose_statistics,
    summarise,
)

ROWS: list[tuple[str, str, str]] = (
    [(k, f"{k.replace('_', ' ')} / torso", "ratio") for k in LENGTH_STATS]
    + [(k, f"{k} angle (°, 180 = straight)", "deg") for k in ANGLE_STATS]
    + [("abs_orientation", "abs. hip→shoulder angle (°, 0 = head up)", "deg"),
       ("box_fraction", "keypoint box area / image area", "ratio"),
       ("box_side", "keypoint box long side / image short side", "ratio"),
       ("box_aspect", "keypoint box long / short side", "ratio"),
       ("labelled", "fraction of keypoints labelled (v>0)", "ratio"),
       ("visible", "fraction of keypoints visible (v=2)", "ratio")]
    + [(k, k.replace("_", " "), "img") for k in IMAGE_STATS]
)


def real_records(data: Path, ids: list[int], images: bool):
    """(pose stats, image stats, posture counts, items) of the real training photos ``ids``.

    ``items`` are (image path, keypoints (17, 2), visibility (17,)) for the optional model run.
    """
    from infantpose.io.images import read_image

    coco = json.loads((data / "annotations.json").read_text())
    keep = set(ids)
    ims = {im["id"]: im for im in coco["images"] if im["id"] in keep}
    pose: dict[str, list[float]] = {}
    img_stats: dict[str, list[float]] = {}
    items = []
    for a in coco["annotations"]:
        if a["image_id"] not in keep:
            continue
        im = ims[a["image_id"]]
        k = np.asarray(a["keypoints"], float).reshape(-1, 3)
        kp, v = k[:, :2], k[:, 2].astype(int)
        path = data / im["file_name"]
        size = (int(im["width"]), int(im["height"]))
        if images:
            img = read_image(path)
            size = (img.shape[1], img.shape[0])
            merge(img_stats, image_statistics(img, kp, v))
        merge(pose, pose_statistics(kp, v, size))
        items.append((path, kp, v))
    postures = Counter(str(ims[i].get("posture", "?")) for i in ims)
    return pose, img_stats, postures, items


def synth_records(n: int, style: str, size: int, seed: int):
    """(pose stats, image stats, posture counts, samples) of ``n`` COCO-17 renders."""
    from infantpose.synth import render_sample

    pose: dict[str, list[float]] = {}
    img_stats: dict[str, list[float]] = {}
    postures: Counter = Counter()
    items = []
    for i in range(n):
        s = render_sample(seed, i, "coco17", size=(size, size), style=style)
        merge(pose, pose_statistics(s.keypoints, s.visibility, (size, size)))
        merge(img_stats, image_statistics(s.image, s.keypoints, s.visibility))
        postures[s.posture] += 1
        items.append((s.image, s.keypoints, s.visibility))
    return pose, img_stats, postures, items


def mediapipe_pck(items, from_paths: bool) -> tuple[float, float]:
    """(PCK@0.1 of the box's longer side, fraction of people found) of the mediapipe runtime
    given each labelled keypoint box (10 % margin), over all labelled keypoints."""
    from infantpose.io.images import read_image
    from infantpose.models import create_estimator

    est = create_estimator("blazepose", schema="coco17")
    hits, total, found = 0, 0, 0
    for src, kp, v in items:
        img = read_image(src) if from_paths else src
        lab = (v > 0) & np.isfinite(kp).all(axis=1)
        x0, y0 = kp[lab].min(axis=0)
        x1, y1 = kp[lab].max(axis=0)
        m = 0.1 * max(x1 - x0, y1 - y0)
        box = np.array([[x0 - m, y0 - m, x1 + m, y1 + m]])
        out = est.predict(img, boxes=box)
        pred = out.data[0, 0, :, :2]
        ok = np.isfinite(pred).all(axis=1)
        found += bool(ok.any())
        thr = 0.1 * max(x1 - x0, y1 - y0)
        err = np.linalg.norm(np.where(ok[:, None], pred, 1e9) - np.nan_to_num(kp), axis=1)
        hits += int(((err < thr) & lab).sum())
        total += int(lab.sum())
    return hits / max(total, 1), found / max(len(items), 1)


def fmt(q: tuple[float, float, float, int], kind: str) -> str:
    lo, med, hi, cnt = q
    if cnt == 0:
        return "–"
    if kind == "deg":
        return f"{med:.0f} [{lo:.0f}–{hi:.0f}]"
    if kind == "img" and med > 10:
        return f"{med:.0f} [{lo:.0f}–{hi:.0f}]"
    return f"{med:.2f} [{lo:.2f}–{hi:.2f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=_syrip.DATA, help="syrip-train200 folder")
    ap.add_argument("--n", type=int, default=150, help="renders per style")
    ap.add_argument("--style", action="append", default=None,
                    help="generator style (repeat for several; default: the training default)")
    ap.add_argument("--size", type=int, default=None,
                    help="square render size (default: the training default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mediapipe", action="store_true",
                    help="also score the off-the-shelf runtime (PCK@0.1 of the box) on each set")
    args = ap.parse_args()
    if not _syrip.available(args.data):
        print(f"skipped: {args.data} not found (syrip-train200 real infant photos; research "
              "data, not shipped). Nothing to compare renders with.")
        return
    from infantpose.train.config import SyntheticData

    styles = args.style or [SyntheticData().style]
    size = args.size or SyntheticData().size
    train_ids, _val_ids = _syrip.split_ids(args.data)  # validation ids are never read
    t = time.perf_counter()
    r_pose, r_img, r_post, r_items = real_records(args.data, train_ids, images=True)
    t_real = time.perf_counter() - t
    sets = []
    for st in styles:
        t = time.perf_counter()
        sp, si, spost, sitems = synth_records(args.n, st, size, args.seed)
        sets.append((st, sp, si, spost, sitems, time.perf_counter() - t))

    print(f"Real: {len(r_items)} training photos of syrip-train200 (split seed {_syrip.SEED}; "
          f"validation photos not read), stats in {t_real:.0f} s. Synthetic: {args.n} renders "
          f"per style, {size}×{size}, seed {args.seed}, COCO-17.\n")
    head = "| statistic | real (median [IQR]) | " + " | ".join(
        f"`{st}` (median [IQR]) | D" for st, *_ in sets) + " |"
    print(head)
    print("|---|---:|" + "---:|---:|" * len(sets))
    big: dict[str, list[str]] = {st: [] for st, *_ in sets}
    for key, label, kind in ROWS:
        real = (r_img if kind == "img" else r_pose).get(key, [])
        cells = [fmt(summarise(real), kind)]
        for st, sp, si, *_ in sets:
            syn = (si if kind == "img" else sp).get(key, [])
            d = ks_distance(real, syn)
            mark = " **!**" if d >= 0.3 else ""
            if d >= 0.3:
                big[st].append(f"{label} (D {d:.2f})")
            cells += [fmt(summarise(syn), kind), f"{d:.2f}{mark}"]
        print(f"| {label} | " + " | ".join(cells) + " |")
    # Orientation as four quadrants (head up / right / down / left in the image).
    def quads(vals: list[float]) -> str:
        a = np.asarray(vals, float)
        q = np.digitize(np.mod(a + 45, 360), [90, 180, 270])
        c = np.bincount(q, minlength=4) / max(len(a), 1)
        return " / ".join(f"{x:.2f}" for x in c)
    print("| head up / right / down / left (share) | " + quads(r_pose["orientation"]) + " | "
          + " | ".join(f"{quads(sp['orientation'])} | {ks_distance(r_pose['orientation'], sp['orientation']):.2f}"
                       for _, sp, *_ in sets) + " |")
    print()
    total = sum(r_post.values())
    print("Postures — real: " + ", ".join(f"{k} {v / total:.2f}" for k, v in
                                          sorted(r_post.items(), key=lambda x: -x[1])))
    for st, _sp, _si, spost, _it, secs in sets:
        print(f"Postures — `{st}`: " + ", ".join(f"{k} {v / args.n:.2f}" for k, v in
                                                spost.most_common())
              + f" ({secs:.0f} s to render and measure)")
    print()
    for st in big:
        print(f"Large gaps (D ≥ 0.3) for `{st}`: " + ("; ".join(big[st]) or "none"))
    if args.mediapipe:
        print()
        print("| set | mediapipe PCK@0.1 (box) | found |")
        print("|---|---:|---:|")
        pck, fnd = mediapipe_pck(r_items, from_paths=True)
        print(f"| real (150 train photos) | {pck:.3f} | {fnd:.2f} |")
        for st, _sp, _si, _post, items, _s in sets:
            pck, fnd = mediapipe_pck(items, from_paths=False)
            print(f"| `{st}` renders | {pck:.3f} | {fnd:.2f} |")


if __name__ == "__main__":
    main()
