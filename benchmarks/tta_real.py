"""Accuracy gained at inference on REAL infant photos: test-time mirroring and a 2-model ensemble.

Data: ``../shared/data/syrip-train200`` (200 real SyRIP infant photos with COCO-17 labels;
research use only, never copied into the project), split by ``benchmarks/_syrip.py`` into the
fixed posture-stratified 150 training / 50 validation photos. Protocol: ``infantpose evaluate``'s
(labelled person boxes given to the model, ``--no-gt-boxes`` here for the model finding the
infant in the whole image), COCO OKS with the box area (the split files drop SyRIP's implausible
``area`` fields), as in ``benchmarks/finetune_real.py``.

Rows:

* the mediapipe runtime (``blazepose``) with one view (``mirror_test=False``) and with test-time
  mirroring (``mirror_test=True``, the image-mode default): the image and its mirror image,
  the mirrored pose mapped back with left/right swapped back, averaged when the two agree
  (else the more confident kept). The runtime never saw SyRIP, so it is scored on all 200
  photos and on the 50 validation photos;
* each fine-tuned checkpoint given (``--quick``/``--full``, trained on the 150 training photos by
  ``finetune_real.py``), on the 50 validation photos only: its crop placed by the runtime's
  one-view pose (``runtime_mirror=False``; the model averages a flipped crop itself), by the
  mirrored runtime's pose (``runtime_mirror=True``), and the ensemble (``ensemble=W`` with
  ``runtime_mirror=True``: W × the mirrored runtime's keypoints + (1 − W) × the model's). The
  default, ``runtime_mirror=None``, is the two-view row without boxes and the one-view row with
  them.

``--select`` adds the table these choices were made from: the same settings and ensemble
weights on the 22 training photos each checkpoint's run held out for model selection (never
trained on; the validation photos are never used to choose anything).

Columns: COCO AP, AP50, AP75, PCK@0.1 of the box size, and images per second of prediction on
``--threads`` threads (wall clock, images decoded beforehand; the best of the scored pass and
``--repeats`` passes over 20 photos by fresh estimators, since other work on a shared machine
only ever slows a pass down).

Usage::

    python benchmarks/tta_real.py --quick /tmp/ipft/run_quick_150_real/model.pt \\
        --full /tmp/ipft/run_full_150_real/model.pt [--select] [--out table.md]

Exits 0 with a message when the data folder is absent.
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

HEADER = ("| model | views | photos | AP | AP50 | AP75 | PCK@0.1 bbox | images/s |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|")


def _timed(estimator, gt, images: list[np.ndarray], use_gt_boxes: bool):
    """(predictions, seconds) of one pass; one upside-down copy of the first image is predicted
    first, untimed (graphs warm up; not a labelled image, so nothing is cached for the pass)."""
    from infantpose.evaluate.run import predict_dataset

    estimator.predict(np.ascontiguousarray(images[0][::-1]))
    t0 = time.perf_counter()
    preds = predict_dataset(estimator, gt, use_gt_boxes=use_gt_boxes, images=images)
    return preds, time.perf_counter() - t0


def score(make, gt, images: list[np.ndarray], use_gt_boxes: bool = True, repeats: int = 2,
          n_speed: int = 20) -> dict[str, float]:
    """``infantpose evaluate``'s metrics for the estimator ``make()`` builds on the labelled set
    ``gt`` (as ``finetune_real.score``), and its images per second: the best of the scored
    pass and ``repeats`` more passes over the first ``n_speed`` images, each by a fresh
    estimator (the fine-tuned model caches the runtime's poses per image), so that other work
    on a shared machine slows the figure less."""
    from infantpose.evaluate import evaluate_predictions

    est = make()
    preds, seconds = _timed(est, gt, images, use_gt_boxes)
    est.close()
    rate = len(images) / seconds
    k = min(n_speed, len(images))
    for _ in range(repeats):
        est = make()
        rate = max(rate, k / _timed(est, gt.subset(np.arange(k)), images[:k], use_gt_boxes)[1])
        est.close()
    res = evaluate_predictions(gt, preds)
    out = {k: float(res.metrics[k]) for k in ("AP", "AP50", "AP75", "PCK@0.1bbox")}
    out["images/s"] = rate
    return out


def fmt_row(name: str, views: str, n: int, m: dict[str, float]) -> str:
    return (f"| {name} | {views} | {n} | {m['AP']:.3f} | {m['AP50']:.3f} | {m['AP75']:.3f} | "
            f"{m['PCK@0.1bbox']:.3f} | {m['images/s']:.1f} |")


def held_out(checkpoint: Path, train) -> np.ndarray:
    """Indices of ``train`` that the checkpoint's run held out for model selection (its
    ``val_fraction`` and ``seed``, through the training loop's own split)."""
    import torch

    from infantpose.train.data import split_indices

    cfg = torch.load(checkpoint, map_location="cpu", weights_only=True)["config"]
    if cfg.get("val"):
        raise SystemExit(f"{checkpoint}: trained with a separate validation file; no held-out "
                         "training photos to select with")
    return split_indices(len(train), float(cfg.get("val_fraction", 0.15)),
                         int(cfg.get("seed", 0)))[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=_syrip.DATA, help="syrip-train200 folder")
    ap.add_argument("--work", type=Path, default=Path("/tmp/infantpose_tta_real"),
                    help="split files (outside the project)")
    ap.add_argument("--quick", type=Path, default=None, help="fine-tuned checkpoint (quick)")
    ap.add_argument("--full", type=Path, default=None, help="fine-tuned checkpoint (full)")
    ap.add_argument("--ensemble", type=float, default=0.2,
                    help="weight of the mirrored runtime's keypoints in the ensemble rows")
    ap.add_argument("--select", action="store_true",
                    help="also score ensemble weights on the held-out training photos")
    ap.add_argument("--no-gt-boxes", action="store_true",
                    help="the models find the infant in the whole image")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2, help="extra timed passes per row")
    ap.add_argument("--out", type=Path, default=None, help="also write the tables here")
    args = ap.parse_args()

    if not _syrip.available(args.data):
        print(f"skipped: {args.data} not found (the real SyRIP photos are not shipped; see "
              "docs/training.md)")
        return 0
    for ck in (args.quick, args.full):
        if ck is not None and not ck.is_file():
            ap.error(f"checkpoint not found: {ck}")
    import torch

    from infantpose.io.images import read_image
    from infantpose.io.labels import read_labels
    from infantpose.models import create_estimator

    torch.set_num_threads(args.threads)
    train_ids, val_ids = _syrip.split_ids(args.data)
    files = {"all200": _syrip.write_subset(train_ids + val_ids, args.work, "all200", args.data),
             "val50": _syrip.write_subset(val_ids, args.work, "val50", args.data),
             "train150": _syrip.write_subset(train_ids, args.work, "train150", args.data)}
    sets = {k: read_labels(v) for k, v in files.items()}
    pixels: dict[str, list[np.ndarray]] = {}

    def images(name: str) -> list[np.ndarray]:
        if name not in pixels:
            pixels[name] = [read_image(p) for p in sets[name].image_paths]
        return pixels[name]

    boxes = not args.no_gt_boxes
    lines = [f"boxes: {'labelled person boxes given' if boxes else 'none (whole image)'}; "
             f"{args.threads} threads", "", HEADER]

    def emit(line: str) -> None:
        lines.append(line)
        print(line, flush=True)
        if args.out:
            args.out.write_text("\n".join(lines) + "\n")

    print("\n".join(lines), flush=True)
    for mirror, views in ((False, "1"), (True, "2 (+ mirror)")):
        for name in ("all200", "val50"):
            m = score(lambda: create_estimator("blazepose", schema="coco17", mirror_test=mirror),
                      sets[name], images(name), boxes, args.repeats)
            emit(fmt_row("mediapipe runtime", views, len(sets[name]), m))
    w = args.ensemble
    variants = (({"runtime_mirror": False}, "crop: runtime 1 view; model: crop + flipped crop"),
                ({"runtime_mirror": True}, "crop: runtime 2 views; model: crop + flipped crop"),
                ({"runtime_mirror": True, "ensemble": w},
                 f"ensemble: {1 - w:g} × model + {w:g} × runtime (2 views)"))
    for label, ck in (("fine-tuned (quick)", args.quick), ("fine-tuned (full)", args.full)):
        if ck is None:
            continue
        for options, views in variants:
            m = score(lambda: create_estimator("blazepose-torch", weights=str(ck), **options),
                      sets["val50"], images("val50"), boxes, args.repeats)
            emit(fmt_row(label, views, len(sets["val50"]), m))
    if args.select:
        emit("")
        emit("Selection: the training photos each run held out (not trained on):")
        emit("")
        emit("| model | held-out photos | runtime views (crop) | ensemble weight | AP | AP50 | "
             "AP75 | PCK@0.1 bbox |\n|---|---:|---:|---:|---:|---:|---:|---:|")
        for label, ck in (("fine-tuned (quick)", args.quick), ("fine-tuned (full)", args.full)):
            if ck is None:
                continue
            idx = held_out(ck, sets["train150"])
            gt = sets["train150"].subset(idx)
            ims = [images("train150")[i] for i in idx]
            for mirror, weight in ((False, 0.0), (True, 0.0), (True, 0.1), (True, 0.2),
                                   (True, 0.3), (True, 0.4)):
                m = score(lambda: create_estimator("blazepose-torch", weights=str(ck),
                                                   runtime_mirror=mirror, ensemble=weight),
                          gt, ims, boxes, repeats=0)
                emit(f"| {label} | {len(gt)} | {2 if mirror else 1} | {weight:g} | "
                     f"{m['AP']:.3f} | {m['AP50']:.3f} | {m['AP75']:.3f} | "
                     f"{m['PCK@0.1bbox']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
