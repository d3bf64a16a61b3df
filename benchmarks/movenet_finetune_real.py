"""Fine-tuning MoveNet Thunder on 200 REAL infant photos, scored on 240 others (val240).

Data (research use only, never copied into the project):

* ``../shared/data/syrip-train200``: what is trained on. A posture-stratified 15 % of it
  (``--held-out``, seed 0) is held out: the training run selects its state on it (the
  estimator's two protocols, mean AP) and every recipe choice was made on it.
* ``../shared/data/syrip-val240``: 240 photos of 46 other infants, VALIDATION ONLY: scored once
  per trained model, never used to choose anything (:mod:`_val240`: COCO AP as ``infantpose
  evaluate`` computes it, per posture, 95 % bootstrap interval over videos).

Each ``--minutes`` value is one run from the off-the-shelf model, ``--steps`` its step budget
(the minutes then only cap it; the wall-clock covers training and its intermediate held-out
validations). Default: the quick preset, 200 steps capped at 9 minutes. The recipe is
:class:`infantpose.train.movenet.MoveNetTrainConfig`'s defaults (the presets'), the options
below override them (how the recipe was chosen: ``benchmarks/results/movenet_finetune_real.md``). The fine-tuned
model is written as a checkpoint (``WORK/<tag>/model.pt``) and scored through
``infantpose.models.movenet.create(weights=model.pt)``, i.e. as a user would run it, with the
labelled boxes (square 1.25 × box) and without (whole image, then 1.5 × its own keypoints);
mirror test on in both. ``--reuse`` scores an existing checkpoint of the same recipe instead of
training again.

Usage::

    python benchmarks/movenet_finetune_real.py [--minutes 14 40 --steps 80 200] [--out FILE.md] [--reuse]

Exits 0 with a message when the data or the model file are absent.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _syrip  # noqa: E402
import _val240  # noqa: E402


def train200(work: Path):
    """(LabeledDataset of all 200 photos, 'area' dropped as the other real benchmarks do,
    postures)."""
    from infantpose.io.labels import read_labels

    train_ids, val_ids = _syrip.split_ids()
    f = _syrip.write_subset(train_ids + val_ids, work, "train200")
    gt = read_labels(f)
    coco = json.loads(f.read_text())
    by = {im["file_name"]: str(im.get("posture", "?")) for im in coco["images"]}
    return gt, [by.get(n, by.get(Path(n).name, "?")) for n in gt.image_names]


def score(est, gt, ims, boxes: bool, cache: Path | None = None):
    from infantpose.evaluate.run import predict_dataset

    if cache is not None and cache.is_file():
        got = pickle.loads(cache.read_bytes())
        return got if isinstance(got, tuple) else (got, float("nan"))  # older: no speed
    t0 = time.perf_counter()
    preds = predict_dataset(est, gt, use_gt_boxes=boxes, images=ims)
    rate = len(gt) / max(1e-9, time.perf_counter() - t0)
    if cache is not None:
        cache.write_bytes(pickle.dumps((preds, rate)))
    return preds, rate


def main() -> int:  # noqa: C901 - one linear script
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=None)
    ap.add_argument("--steps", type=int, nargs="+", default=None,
                    help="step budgets (one per --minutes value; the minutes then only cap)")
    ap.add_argument("--work", type=Path, default=Path("/tmp/infantpose_movenet_finetune"))
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--reuse", action="store_true")
    ap.add_argument("--no-val240", action="store_true", help="train and select only")
    ap.add_argument("--held-out", type=float, default=0.15)
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--loss", default=None)
    ap.add_argument("--freeze", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--replay", type=float, default=None)
    ap.add_argument("--rotate-p", type=float, default=None)
    ap.add_argument("--upright-p", type=float, default=None,
                    help="probability of a training crop turned torso-upright")
    ap.add_argument("--shift", type=float, default=None, help="centre jitter, × box side")
    ap.add_argument("--scale-max", type=float, default=None,
                    help="loosest crop, × the 1.25 × box margin")
    ap.add_argument("--sigma", type=float, default=None)
    ap.add_argument("--centre-sigma", type=float, default=None)
    ap.add_argument("--val-every", type=float, default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--own-finder", action="store_true",
                    help="also score fine-tuned models taking their own whole-image first look")
    ap.add_argument("--tag", default="")
    ap.add_argument("--threads", type=int, default=2,
                    help="torch threads (1 on a machine other jobs share: OpenMP threads that "
                         "wait for a busy core stall every operator)")
    args = ap.parse_args()
    if args.minutes is None:  # the quick preset
        args.minutes = [9.0]
        args.steps = args.steps or [200]
        args.val_every = 2.5 if args.val_every is None else args.val_every  # as the preset
    if args.steps and len(args.steps) != len(args.minutes):
        ap.error("give one --steps value per --minutes value")

    from infantpose.models.store import model_file

    try:
        model_path = Path(model_file("movenet-thunder"))
    except Exception as e:  # noqa: BLE001 - not installed
        print(f"skipped: movenet-thunder not installed ({e})")
        return 0
    if not _syrip.available():
        print(f"skipped: {_syrip.DATA} not found")
        return 0
    import torch

    from infantpose.io.images import read_image
    from infantpose.models.movenet import create
    from infantpose.train import movenet as mt

    torch.set_num_threads(args.threads)
    args.work.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def emit(line: str = "") -> None:
        lines.append(line)
        print(line, flush=True)
        if args.out:
            args.out.write_text("\n".join(lines) + "\n")

    gt, postures = train200(args.work)
    ims = [read_image(p) for p in gt.image_paths]
    tr, ho = mt.split_held_out(postures, args.held_out, seed=0)
    held_gt, held_ims = gt.subset(ho), [ims[i] for i in ho]
    print(f"train200: {len(tr)} to train on, {len(ho)} held out (posture-stratified)")
    samples = mt.cache_samples(gt.subset(tr), [ims[i] for i in tr], 256)

    base = mt.MoveNetTrainConfig()
    over = {"lr": args.lr, "loss": args.loss, "freeze": args.freeze,
            "batch_size": args.batch_size, "replay": args.replay, "sigma": args.sigma,
            "centre_sigma": args.centre_sigma,
            "val_every": args.val_every}
    for k, v in over.items():
        if v is not None:
            setattr(base, k, v)
    base.seed = args.seed
    base.threads = args.threads
    recipe = {k: v for k, v in over.items() if v is not None}
    if args.rotate_p is not None:
        base.augment.rotate_p = args.rotate_p
        recipe["rotate_p"] = args.rotate_p
    if args.upright_p is not None:
        base.augment.upright_p = args.upright_p
        recipe["upright_p"] = args.upright_p
    if args.shift is not None:
        base.augment.shift = args.shift
        recipe["shift"] = args.shift
    if args.scale_max is not None:
        base.augment.scale = (base.augment.scale[0], args.scale_max)
        recipe["scale_max"] = args.scale_max

    runs = []
    start_file = args.work / f"heldout_start_seed0_{args.held_out:g}.json"
    start = json.loads(start_file.read_text()) if start_file.is_file() else None
    for i, minutes in enumerate(args.minutes):
        from dataclasses import asdict, replace

        cfg = replace(base, minutes=float(minutes))
        if args.steps:
            cfg.max_steps = int(args.steps[i])
        tag = args.tag or "_".join(f"{k}{v}" for k, v in sorted(recipe.items())) or "default"
        steps = f"_{cfg.max_steps}steps" if args.steps else ""
        run = args.work / f"{tag}_{minutes:g}min{steps}_seed{args.seed}"
        ckpt = run / "model.pt"
        if args.reuse and ckpt.is_file():
            conf = torch.load(ckpt, map_location="cpu", weights_only=True)["config"]["training"]
            print(f"reusing {ckpt}")
        else:
            from infantpose.models.movenet import load_movenet

            graph = load_movenet(model_path)
            rep = mt.fine_tune(graph, samples, held_gt, held_ims, cfg, start_metrics=start)
            start = rep["start"]
            start_file.write_text(json.dumps(start))
            conf = {**asdict(cfg), "photos": len(tr), "held_out": len(ho),
                    **{k: rep[k] for k in ("start", "best", "best_step", "steps", "seconds", "wall_seconds")},
                    "history": rep["history"]}
            run.mkdir(parents=True, exist_ok=True)
            mt.save_movenet_checkpoint(ckpt, graph, "thunder", {"training": conf})
            for f in run.glob("val240_*.pkl"):
                f.unlink()
        label = (f"{cfg.max_steps} steps (≤ {minutes:g} min)" if args.steps
                 else f"{minutes:g} min")
        runs.append((label, run, ckpt, conf))

    emit("## MoveNet Thunder fine-tuned on real infant photos (syrip-train200)")
    emit()
    emit(f"Recipe: {json.dumps(recipe) if recipe else 'defaults'} on top of "
         f"`infantpose.train.movenet.MoveNetTrainConfig` defaults (lr {base.lr:g}, batch "
         f"{base.batch_size}, loss {base.loss}, MobileNetV2 blocks 1-{base.freeze} frozen, "
         f"sigma {base.sigma:g} cells, full-circle rotation p {base.augment.rotate_p:g}, replay "
         f"{base.replay:g}); {len(tr)} photos trained on, {len(ho)} held out; {args.threads} torch "
         "thread(s) on a shared 2-core machine.")
    emit()
    emit("Held-out train200 photos (selection; COCO AP, mirror test; mean of both protocols "
         "picks the state):")
    emit()
    emit("| run | training min | wall min (with validations) | validated every (min) | steps | "
         "best step | AP boxes start → best | AP no box start → best |")
    emit("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, _, _, c in runs:
        s, b = c["start"], c["best"]
        emit(f"| {label} | {c['seconds'] / 60:.1f} | "
             f"{c.get('wall_seconds', float('nan')) / 60:.1f} | {c.get('val_every', 0):g} | "
             f"{c['steps']} | {c['best_step']} | "
             f"{s['boxes']:.3f} → {b['boxes']:.3f} | {s['nobox']:.3f} → {b['nobox']:.3f} |")
    emit()
    if args.no_val240:
        return 0
    if not _val240.available():
        emit(f"val240 skipped: {_val240.DATA} not found")
        return 0
    vgt, vpost, vgroups = _val240.load()
    vims = [read_image(p) for p in vgt.image_paths]
    emit(f"syrip-val240 ({len(vgt)} photos, 46 infants; validation only): COCO AP, 95 % "
         f"bootstrap interval over videos ({args.boot} resamples), per posture:")
    emit()
    emit(_val240.header(vpost))
    models = [("MoveNet Thunder off the shelf", None, args.work / "offshelf")]
    models += [(f"fine-tuned, {m}", ck, run) for m, run, ck, _ in runs]
    for name, ck, run in models:
        run.mkdir(parents=True, exist_ok=True)
        protocols = [(True, "labelled boxes", "none"), (False, "no boxes (two-pass)", "none")]
        if ck is not None:  # a fine-tuned model's whole-image first look: the off-the-shelf
            # network's (create's default for a checkpoint), or (--own-finder) its own
            protocols = [(True, "labelled boxes", "none"),
                         (False, "no boxes, off-the-shelf first look", "thunder")]
            if args.own_finder:
                protocols.append((False, "no boxes (two-pass)", "none"))
        for boxes, proto, finder in protocols:
            est = (create(weights=str(ck), finder=finder) if ck is not None
                   else create(model_path=model_path))
            key = f"{'boxes' if boxes else 'nobox'}_{est.mirror_scope}_{finder}"
            if est.align_lean is not None:  # the upright retry (since the crops were placed
                key += f"_lean{est.align_lean:g}"  # without it, cached files lack the suffix)
            preds, rate = score(est, vgt, vims, boxes, run / f"val240_{key}.pkl")
            emit(_val240.row(name, proto, vgt, preds, vpost, vgroups, rate, args.boot))
    emit()
    emit(f"photos/s: the scoring pass (mirror test, {args.threads} torch thread(s), a shared "
         "machine; cached with the predictions when an earlier run of this script scored "
         "them).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
