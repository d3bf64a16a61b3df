"""Small-data fine-tuning on a CPU: off-the-shelf BlazePose vs fine-tuned variants.

The experiment of issue 6. The *target domain* is synthetic infants rendered in the ``nicu``
style (grey/pale backgrounds, wires, diapers, strong blur and compression), standing in for a
clinic's own videos; the *source* synthetic data uses another style (``home`` by default). All
scores are on held-out target-domain images that no training run ever sees (a separate render
seed); model selection uses a separate validation set.

Rows:
* off-the-shelf BlazePose: the mediapipe estimator, and the PyTorch port's regressed landmarks;
* fine-tuned with the ``quick`` preset (or ``--steps``): MSE vs KCE, on synthetic only vs
  synthetic + 30 "real-like" target images, with/without FiDIP domain adaptation and memory
  replay.

Usage::

    python benchmarks/finetune_small_data.py --quick --out benchmarks/results/finetune.md
    python benchmarks/finetune_small_data.py            # the full grid (several hours on 2 cores)

Prints one markdown table (PCKsh@0.1, PCKsh@0.05, AP, train time) and writes it to ``--out``
after every row.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def make_data(work: Path, n_syn: int, n_real: int, n_val: int, n_test: int, source_style: str,
              target_style: str) -> dict[str, Path]:
    from infantpose.synth.generate import write_dataset

    sets = {"real": (n_real, 101), "val": (n_val, 202), "test": (n_test, 303)}
    out = {}
    for name, (n, seed) in sets.items():
        d = work / f"{target_style}_{name}"
        if not (d / "annotations.json").is_file():
            write_dataset(d, n, "infant22", seed=seed, size=None, style=target_style)
        out[name] = d / "annotations.json"
    d = work / f"{source_style}_synthetic"
    if not (d / "annotations.json").is_file():
        write_dataset(d, n_syn, "infant22", seed=0, size=(320, 320), style=source_style)
    out["synthetic"] = d / "annotations.json"
    return out


def evaluate(estimator, test: Path) -> dict[str, float]:
    from infantpose.evaluate import evaluate_predictions
    from infantpose.evaluate.run import predict_dataset
    from infantpose.io.labels import read_labels

    gt = read_labels(test)
    res = evaluate_predictions(gt, predict_dataset(estimator, gt, use_gt_boxes=True),
                               betas=(0.05, 0.1))
    return {k: res.metrics[k] for k in ("PCKsh@0.1", "PCKsh@0.05", "AP")}


def row(name: str, data: str, m: dict[str, float], seconds: float | None) -> str:
    t = "–" if seconds is None else f"{seconds / 60:.1f} min"
    return (f"| {name} | {data} | {m['PCKsh@0.1']:.3f} | {m['PCKsh@0.05']:.3f} | {m['AP']:.3f} "
            f"| {t} |")


GRID_QUICK = [  # (loss, real, domain adaptation, replay)
    ("mse", False, False, False), ("kce", False, False, False),
    ("mse", True, False, False), ("kce", True, False, False),
    ("kce", True, True, False), ("kce", True, False, True),
]
GRID_FULL = GRID_QUICK + [
    ("kce", False, False, True), ("mse", True, True, False), ("mse", True, False, True),
    ("kce", True, True, True), ("bce", True, False, False),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="reduced grid (6 trainings)")
    ap.add_argument("--work", default="/tmp/infantpose_finetune_bench", help="data and runs folder")
    ap.add_argument("--out", default=None, help="also write the table to this file")
    ap.add_argument("--synthetic", type=int, default=200, help="source-style synthetic images")
    ap.add_argument("--real", type=int, default=30, help="target-style 'real-like' images")
    ap.add_argument("--test", type=int, default=60, help="held-out target-style test images")
    ap.add_argument("--steps", type=int, default=None, help="steps per run (default: preset)")
    ap.add_argument("--long-steps", type=int, default=None,
                    help="add a longer KCE run (synthetic + real-like) of this many steps")
    ap.add_argument("--long-da", action="store_true",
                    help="also a long run with FiDIP domain adaptation")
    ap.add_argument("--no-grid", action="store_true", help="only the baselines and long runs")
    ap.add_argument("--skip-baselines", action="store_true", help="no off-the-shelf rows")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--source-style", default="home")
    ap.add_argument("--target-style", default="nicu")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--skip-mediapipe", action="store_true")
    args = ap.parse_args()

    import torch

    from infantpose.models import create_estimator
    from infantpose.train import config_from_dict, train

    torch.set_num_threads(args.threads)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    paths = make_data(work, args.synthetic, args.real, 20, args.test, args.source_style,
                      args.target_style)
    header = ["| model | training data | PCKsh@0.1 | PCKsh@0.05 | AP | train time |",
              "|---|---|---|---|---|---|"]
    lines: list[str] = []

    def emit(line: str) -> None:
        lines.append(line)
        print(line, flush=True)
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text("\n".join(header + lines) + "\n"
                                      + f"\nTest: {args.test} held-out {args.target_style} images; "
                                        f"synthetic source: {args.synthetic} {args.source_style} "
                                        f"images; {args.threads} threads.\n")

    print("\n".join(header), flush=True)
    if not (args.skip_mediapipe or args.skip_baselines):
        try:
            emit(row("BlazePose (mediapipe), off the shelf", "–",
                     evaluate(create_estimator("blazepose", schema="infant22"), paths["test"]), None))
        except Exception as e:  # noqa: BLE001 - report and go on
            print(f"mediapipe BlazePose failed: {e}", file=sys.stderr)
    if not args.skip_baselines:
        emit(row("BlazePose (PyTorch port), off the shelf", "–",
                 evaluate(create_estimator("blazepose-torch", schema="infant22"), paths["test"]),
                 None))
    grid = [] if args.no_grid else [(*g, args.steps) for g in (GRID_QUICK if args.quick else GRID_FULL)]
    if args.long_steps:
        grid.append(("kce", True, False, False, args.long_steps))
        if args.long_da:
            grid.append(("kce", True, True, False, args.long_steps))
    for loss, real, da, replay, steps in grid:
        name = f"fine-tuned {loss.upper()}" + (" + DA" if da else "") + (" + replay" if replay else "")
        if steps:
            name += f", {steps} steps"
        data = f"{args.synthetic} synthetic" + (f" + {args.real} real-like" if real else "")
        tag = (f"{loss}_{'real' if real else 'syn'}{'_da' if da else ''}{'_replay' if replay else ''}"
               + (f"_{steps}" if steps else ""))
        cfg = {"preset": args.preset, "schema": "infant22", "loss": loss, "seed": 0,
               "threads": args.threads, "out": str(work / "runs" / tag),
               "data": [{"path": str(paths["synthetic"]), "domain": "synthetic"}],
               "adapt": {"domain_adaptation": da, "memory_replay": replay}}
        if real:
            cfg["data"].append({"path": str(paths["real"]), "domain": "real"})
            cfg["val"] = [{"path": str(paths["val"]), "domain": "real"}]
        if steps:
            cfg["optim"] = {"max_steps": steps, "patience": 8, "time_limit": None}
        t0 = time.time()
        # resume=True: a finished run is reused, an interrupted one continues (re-run the script
        # after a crash without losing work); the time reported is the run's own training time
        model = train(config_from_dict(cfg), resume=True, progress=False, log=lambda s: None)
        last = torch.load(model.parent / "last.pt", weights_only=True)["training_state"]["state"]
        secs = float(last["seconds"]) or (time.time() - t0)
        est = create_estimator("blazepose-torch", schema="infant22", weights=str(model))
        emit(row(name, data, evaluate(est, paths["test"]), secs))
    base = [ln for ln in lines if "off the shelf" in ln]
    tuned = [ln for ln in lines if "fine-tuned" in ln]
    if base and tuned:
        best_base = max(float(ln.split("|")[3]) for ln in base)
        best = max(float(ln.split("|")[3]) for ln in tuned)
        print(f"\nbest fine-tuned PCKsh@0.1 {best:.3f} vs best off-the-shelf {best_base:.3f}: "
              f"{best - best_base:+.3f}", flush=True)


if __name__ == "__main__":
    main()
