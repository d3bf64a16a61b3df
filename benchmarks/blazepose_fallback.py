"""The default estimator's landmark-only fallback (issue 13) measured on REAL infant photos.

Data: ``../shared/data/syrip-train200`` (200 real SyRIP infant photos with COCO-17 labels;
research use only, never copied into the project). All 200 photos are scored, through a
subset file written by ``benchmarks/_syrip.py`` that drops the labels' implausible ``area``
fields (OKS then uses the box area, as in the other real-data benchmarks).

Rows: ``blazepose`` with ``fallback="off"`` (the estimator before issue 13: a photo where the
detector finds nobody gets no pose), ``"auto"`` (the default: the landmark model alone on the
box / whole frame and their quarter turns where the detector fails or scores low) and
``"always"`` (the fallback on every photo, to see how good it is on its own). Each without the
labelled boxes (the model finds the infant itself, ``infantpose evaluate --no-gt-boxes``) and
with them (the evaluate default). Columns: photos without a pose, photos whose pose came from
the fallback, COCO AP, AP50, PCK@0.1 of the box, and wall seconds per photo (median of the
run). Then the fallback's cost where the detector works: CPU seconds per photo with the
fallback off and on, on photos where the detector finds the infant.

Usage::

    python benchmarks/blazepose_fallback.py [--modes off,auto,always] [--boxes no,gt]
    python benchmarks/blazepose_fallback.py --modes "" --overhead 50   # the overhead only

Prints one markdown table. Exits 0 with a message when the data folder is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _syrip  # noqa: E402

HEADER = ("| fallback | boxes | photos | no pose | fallback used | AP | AP50 | PCK@0.1 bbox | "
          "s/photo |\n|---|---|---:|---:|---:|---:|---:|---:|---:|")


def run(mode: str, use_boxes: bool, gt_path: Path) -> str:
    """One table row: ``blazepose`` (COCO-17 output) with ``fallback=mode`` on every photo."""
    from infantpose.evaluate import evaluate_predictions
    from infantpose.evaluate.predictions import predictions_from_poses
    from infantpose.io.images import read_image
    from infantpose.io.labels import read_labels
    from infantpose.models import create_estimator
    from infantpose.poses import Poses

    gt = read_labels(gt_path)
    est = create_estimator("blazepose", schema="coco17", fallback=mode)
    frames, seconds, paths = [], [], []
    for i, path in enumerate(gt.image_paths):
        image = read_image(path)
        boxes = None
        if use_boxes:
            b = gt.boxes[i]
            b = b[~np.isnan(b).any(-1)]
            boxes = np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], axis=1) if len(b) else None
        t = time.perf_counter()
        p = est.predict(image, boxes)
        seconds.append(time.perf_counter() - t)
        frames.append(p)
        paths += p.path[0].tolist()
    est.close()
    poses = Poses.concat(frames, frame_names=gt.image_names, source="blazepose")
    res = evaluate_predictions(gt, predictions_from_poses(poses, gt, source="model:blazepose"))
    m = res.metrics
    no_pose = int((~np.isfinite(poses.data[..., :2]).any(axis=(1, 2, 3))).sum())
    used = sum(1 for x in paths if x == "fallback")
    return (f"| {mode} | {'labelled' if use_boxes else 'none (model finds the infant)'} | "
            f"{len(frames)} | {no_pose} | {used} | {m['AP']:.3f} | {m['AP50']:.3f} | "
            f"{m['PCK@0.1bbox']:.3f} | {float(np.median(seconds)):.3f} |")


def overhead(gt_path: Path, n: int, repeats: int) -> str:
    """CPU seconds per photo with ``fallback="off"`` and ``"auto"`` on the first ``n`` photos
    where the detector finds the infant (the fallback must cost nothing there), interleaved,
    best of ``repeats``; CPU time because other jobs may share the machine."""
    from infantpose.io.images import read_image
    from infantpose.io.labels import read_labels
    from infantpose.models.blazepose import BlazePose

    gt = read_labels(gt_path)
    off, auto = BlazePose(fallback="off"), BlazePose(fallback="auto")
    images = []
    for path in gt.image_paths:
        img = read_image(path)
        if auto.predict(img).path[0].tolist() == ["detector"]:
            images.append(img)
        if len(images) == n:
            break
    off.predict(images[0])  # graphs built before timing
    best = {"off": float("inf"), "auto": float("inf")}
    for _ in range(repeats):
        for name, est in (("off", off), ("auto", auto)):
            c = time.process_time()
            for img in images:
                est.predict(img)
            best[name] = min(best[name], (time.process_time() - c) / len(images))
    extra = 100 * (best["auto"] / best["off"] - 1)
    return (f"\nfallback overhead where the detector finds the infant ({len(images)} photos, best "
            f"of {repeats}, CPU): off {best['off']:.4f} s/photo, auto {best['auto']:.4f} "
            f"s/photo, {extra:+.1f} % (goal: within +15 %)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=_syrip.DATA, help="syrip-train200 folder")
    ap.add_argument("--work", type=Path, default=Path("/tmp/infantpose_blazepose_fallback"),
                    help="subset file (outside the project)")
    ap.add_argument("--modes", default="off,auto,always", help="fallback modes, in order")
    ap.add_argument("--boxes", default="no,gt", help="'no' (model finds the infant), 'gt'")
    ap.add_argument("--overhead", type=int, default=50,
                    help="photos for the overhead measurement (0 skips it)")
    ap.add_argument("--repeats", type=int, default=3, help="repeats of the overhead timing")
    args = ap.parse_args()
    if not _syrip.available(args.data):
        print(f"skipped: {args.data} not found (the real SyRIP photos are not shipped)")
        return 0
    train, val = _syrip.split_ids(args.data)
    gt_path = _syrip.write_subset(sorted(train + val), args.work, "all200", args.data)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if modes:
        print(HEADER, flush=True)
    for boxes in [b.strip() for b in args.boxes.split(",") if b.strip()]:
        for mode in modes:
            print(run(mode, boxes == "gt", gt_path), flush=True)
    if args.overhead:
        print(overhead(gt_path, args.overhead, args.repeats), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
