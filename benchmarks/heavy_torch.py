"""BlazePose full vs heavy in the PyTorch port, on REAL infant photos: COCO AP and speed.

Why: the heavy landmark network (``pose_landmark_heavy.tflite``, npm ``@mediapipe/pose``) scored
COCO AP 0.707 against full's 0.620 through the mediapipe runtime on SyRIP test photos; this
measures what it gives as the fine-tunable PyTorch port (``blazepose-torch`` with
``landmark_model="heavy"``), and what it costs per crop on a CPU.

Data: ``../shared/data/syrip-val240`` (240 real SyRIP photos from 46 videos, COCO-17;
VALIDATION ONLY, research use, never copied into the project). Protocol: ``infantpose
evaluate``'s (:func:`infantpose.evaluate.run.predict_dataset` with the labelled person boxes,
:func:`infantpose.evaluate.evaluate_predictions` for COCO OKS AP with the file's box areas),
overall and per ``posture`` (Sitting 115, Prone 59, Standing 38, Supine 28). Both torch rows use
the estimator's defaults: the mediapipe runtime (full) places the crop on its body ROI inside
the box, then the ported network regresses the landmarks on that crop and on its mirror image
(flip test). So the rows differ only in the landmark network. The runtime itself is the
reference row.

Speed: milliseconds per 256×256 crop of the ported landmark network alone (forward pass, the
landmark output only, ``--threads`` threads; best of ``--repeats`` timed runs after a warm-up,
since other work on a shared machine only ever slows a run down), at batch 1 and batch 8; and
seconds per photo of the whole AP pass (runtime + two crops + decoding; rough on a busy machine).

Usage::

    PYTHONPATH=src python benchmarks/heavy_torch.py --heavy /path/pose_landmark_heavy.tflite \\
        [--threads 2] [--out benchmarks/results/heavy_torch.md]

Without ``--heavy`` the model store finds the file (``landmark_model="heavy"``). Exits 0 with a
message when the data folder is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DATA = ROOT.parent / "shared" / "data" / "syrip-val240"


def subset_predictions(preds, idx: np.ndarray):
    """The predictions of the images at ``idx`` (aligned as ``gt.subset(idx)`` is)."""
    p = preds.poses
    poses = replace(p, data=p.data[idx].copy(),
                    frame_names=[p.frame_names[i] for i in idx] if p.frame_names else None,
                    frame_indices=None,
                    image_sizes=[p.image_sizes[i] for i in idx] if p.image_sizes else None)
    return replace(preds, poses=poses, instance_scores=preds.instance_scores[idx].copy())


def postures(gt, annotations: Path) -> list[str]:
    """The ``posture`` field of each labelled image, in ``gt``'s order."""
    fields = gt.meta.get("image_fields")
    if isinstance(fields, list) and len(fields) == len(gt) and all(
            isinstance(f, dict) and "posture" in f for f in fields):
        return [str(f["posture"]) for f in fields]
    import json

    by_name = {Path(im["file_name"]).name: str(im.get("posture", "?"))
               for im in json.loads(annotations.read_text())["images"]}
    return [by_name.get(Path(n).name, "?") for n in gt.image_names]


def network_ms_per_crop(graphs: dict, batch: int, repeats: int) -> dict[str, float]:
    """Best-of-``repeats`` milliseconds per crop of each graph on random crops; the graphs take
    turns within each repeat, so a busy spell on a shared machine hits them alike."""
    import torch

    x = torch.rand(batch, 3, 256, 256, generator=torch.Generator().manual_seed(0))
    best = {name: float("inf") for name in graphs}
    with torch.inference_mode():
        for g in graphs.values():
            g(x)  # warm-up
        for _ in range(repeats):
            for name, g in graphs.items():
                t0 = time.perf_counter()
                g(x)
                best[name] = min(best[name], (time.perf_counter() - t0) / batch * 1000)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA, help="syrip-val240 folder")
    ap.add_argument("--heavy", type=Path, default=None,
                    help="pose_landmark_heavy.tflite (default: the model store's)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=20, help="timed runs per speed figure")
    ap.add_argument("--speed-only", action="store_true", help="only the network speed table")
    ap.add_argument("--limit", type=int, default=None, help="first N photos only (a smoke run)")
    ap.add_argument("--no-runtime", dest="runtime", action="store_false",
                    help="skip the mediapipe runtime reference row")
    ap.add_argument("--out", type=Path, default=None, help="also write the tables here")
    args = ap.parse_args()

    ann = args.data / "annotations.json"
    if not ann.is_file():
        print(f"skipped: {ann} not found (the real SyRIP photos are not shipped)")
        return 0
    import torch

    torch.set_num_threads(args.threads)
    from infantpose.evaluate import evaluate_predictions
    from infantpose.evaluate.run import predict_dataset
    from infantpose.io.images import read_image
    from infantpose.io.labels import read_labels
    from infantpose.models import create_estimator, tflite_port
    from infantpose.models.blazepose_net import pretrained_landmark_graph

    if args.heavy is not None:  # an explicit file stands in for the model store
        heavy = args.heavy.resolve()
        tflite_port.stored_model_file = lambda name: heavy

    gt = read_labels(ann)
    if args.limit:
        gt = gt.subset(np.arange(min(args.limit, len(gt))))
    post = np.array(postures(gt, ann))
    groups = [("all", np.arange(len(gt)))] + [
        (k, np.flatnonzero(post == k)) for k in sorted(set(post), key=lambda k: -np.sum(post == k))]

    rows = {}
    makers = {}
    if args.runtime and not args.speed_only:
        makers["mediapipe runtime (full), reference"] = lambda: create_estimator(
            "blazepose", schema="coco17")
    for lm in ("full", "heavy") if not args.speed_only else ():
        makers[f"blazepose-torch, {lm}"] = lambda lm=lm: create_estimator(
            "blazepose-torch", schema="coco17", landmark_model=lm)
    images = [read_image(p) for p in gt.image_paths] if makers else []
    for name, make in makers.items():
        est = make()
        t0 = time.perf_counter()
        preds = predict_dataset(est, gt, use_gt_boxes=True, images=images)
        sec = (time.perf_counter() - t0) / len(gt)
        if hasattr(est, "close"):
            est.close()
        res = {}
        for g, idx in groups:
            m = evaluate_predictions(gt.subset(idx), subset_predictions(preds, idx)).metrics
            res[g] = (float(m["AP"]), float(m["AP50"]), float(m["PCK@0.1bbox"]))
        rows[name] = (res, sec)
        print(f"{name}: AP {res['all'][0]:.3f}, {sec:.2f} s/photo", file=sys.stderr)

    graphs, n_params = {}, {}
    for lm in ("full", "heavy"):
        full = pretrained_landmark_graph(lm)
        graphs[lm] = full.pruned([full.tensor_id("Identity")]).eval()
        n_params[lm] = sum(p.numel() for p in graphs[lm].parameters())
    b1 = network_ms_per_crop(graphs, 1, args.repeats)
    b8 = network_ms_per_crop(graphs, 8, args.repeats)
    speed = {lm: (n_params[lm], b1[lm], b8[lm]) for lm in graphs}

    names = [g for g, _ in groups]
    counts = {g: len(idx) for g, idx in groups}
    lines = [] if not rows else [
        f"syrip-val240: {len(gt)} real photos, labelled person boxes given, COCO-17 OKS AP "
        f"(box areas from the file); {args.threads} CPU thread(s).", "",
        "| model | " + " | ".join(f"AP {g} ({counts[g]})" for g in names)
        + " | AP50 all | PCK@0.1 bbox all | s/photo |",
        "|---|" + "---:|" * (len(names) + 3)]
    for name, (res, sec) in rows.items():
        lines.append(f"| {name} | " + " | ".join(f"{res[g][0]:.3f}" for g in names)
                     + f" | {res['all'][1]:.3f} | {res['all'][2]:.3f} | {sec:.2f} |")
    lines += [""] * bool(lines) + [
        "Ported landmark network alone (landmark output; best of "
        f"{args.repeats} runs, {args.threads} thread(s)):", "",
        "| network | parameters | ms/crop, batch 1 | ms/crop, batch 8 |",
        "|---|---:|---:|---:|"]
    for lm, (n, b1, b8) in speed.items():
        lines.append(f"| {lm} | {n / 1e6:.1f} M | {b1:.0f} | {b8:.0f} |")
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
