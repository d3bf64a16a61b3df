"""Off-the-shelf accuracy and speed of every pretrained network on REAL infants (val240).

Data: ``../shared/data/syrip-val240`` (240 real SyRIP photos of 46 infants, validation only;
see ``benchmarks/_val240.py``). Each model runs as ``infantpose evaluate`` runs it
(``predict_dataset``): with the labelled person boxes (``boxes``) or finding the infant in the
whole photo (``whole``), in its default image-mode settings (mirror test included where it is
the default). COCO AP over all photos with a bootstrap 95 % interval over videos, AP per
posture, and photos per second of prediction on ``--threads`` threads (images decoded
beforehand; wall clock of the scored pass).

Usage::

    python benchmarks/models_real.py --models blazepose blazepose-heavy movenet \\
        --protocols boxes whole [--threads 2] [--out benchmarks/results/models_real.md]

A model is ``NAME`` or ``NAME:option=value,...`` (options passed to its factory, e.g.
``blazepose:mirror_test=false``). Exits 0 with a message when the data folder is absent.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _val240  # noqa: E402


def _parse(spec: str) -> tuple[str, dict]:
    name, _, opts = spec.partition(":")
    options = {}
    for kv in filter(None, opts.split(",")):
        k, _, v = kv.partition("=")
        low = v.lower()
        options[k] = (True if low == "true" else False if low == "false"
                      else float(v) if v.replace(".", "", 1).isdigit() else v)
    return name, options


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["blazepose", "blazepose-heavy"])
    ap.add_argument("--protocols", nargs="+", default=["boxes", "whole"],
                    choices=["boxes", "whole"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--limit", type=int, default=0, help="first N photos only (smoke runs)")
    ap.add_argument("--out", type=Path, default=None, help="also append the table here")
    args = ap.parse_args()
    if not _val240.available():
        print(f"no data at {_val240.DATA}; nothing to measure")
        return 0
    import numpy as np
    import torch

    from infantpose.evaluate.run import predict_dataset
    from infantpose.io.images import read_image
    from infantpose.models import create_estimator

    torch.set_num_threads(args.threads)
    gt, postures, groups = _val240.load()
    if args.limit:
        keep = np.arange(min(args.limit, len(gt)))
        gt, postures, groups = gt.subset(keep), postures[keep], groups[keep]
    images = [read_image(p) for p in gt.image_paths]
    lines = [_val240.header(postures)]
    print(lines[0], flush=True)
    for spec in args.models:
        name, options = _parse(spec)
        for protocol in args.protocols:
            est = create_estimator(name, schema="coco17", **options)
            est.predict(np.ascontiguousarray(images[0][::-1]))  # warm-up, not a labelled view
            t0 = time.perf_counter()
            preds = predict_dataset(est, gt, use_gt_boxes=protocol == "boxes", images=images)
            rate = len(images) / (time.perf_counter() - t0)
            est.close()
            line = _val240.row(spec, protocol, gt, preds, postures, groups, rate, args.n_boot)
            lines.append(line)
            print(line, flush=True)
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n".join(lines) + "\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
