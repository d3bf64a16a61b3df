"""Do two source trees give the same poses? Built-in models on rendered infants, photo and video.

A refactor of the estimators (issue 21: frame-stateless estimators and trackers, codecs,
test-time augmentation written once) must not move a number. This script runs the pretrained
models as a user meets them on four rendered infant photos (turned 0/90/180/270°), one photo
with a box, a rendered clip followed by the tracker (BlazePose also with the box tracker),
tracking off, and the first photo again after the video (an estimator must not remember it);
``save`` writes the keypoints, ``compare`` prints one row per output with whether two saved
runs are bit-identical.

Usage (each tree's ``src`` first on the path)::

    PYTHONPATH=OLD/src python benchmarks/estimator_parity.py save old.npz
    PYTHONPATH=NEW/src python benchmarks/estimator_parity.py save new.npz
    python benchmarks/estimator_parity.py compare old.npz new.npz
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

MODELS = ("blazepose", "movenet", "blazepose-torch")


def save(path: str, models: tuple[str, ...] = MODELS) -> int:
    from infantpose.models import create_estimator
    from infantpose.synth.clips import render_clip
    from infantpose.video.tracking import TrackingConfig, track_frames

    out: dict[str, np.ndarray] = {}
    frames, _, _ = render_clip(3, 1.0, fps=10, schema="coco17", size=(320, 240), style="studio")
    photos = [np.ascontiguousarray(np.rot90(frames[i], k))
              for i, k in ((0, 0), (3, 1), (6, 2), (9, 3))]
    box = np.array([[40.0, 20.0, 300.0, 230.0]])
    for name in models:
        with create_estimator(name, schema="coco17") as est:
            for i, p in enumerate(photos):
                out[f"{name}/photo{i}"] = est.predict(p).data
            out[f"{name}/box"] = est.predict(frames[0], box).data
            out[f"{name}/video"] = track_frames(est, enumerate(frames), fps=10.0).data
            out[f"{name}/video_off"] = track_frames(est, enumerate(frames[:4]), fps=10.0,
                                                    tracking=False).data
            if name.startswith("blazepose") and name != "blazepose-torch":
                out[f"{name}/video_box"] = track_frames(
                    est, enumerate(frames[:6]), fps=10.0,
                    config=TrackingConfig(own_tracking=False)).data
            out[f"{name}/photo0_again"] = est.predict(photos[0]).data
    np.savez(path, **out)
    print(f"wrote {len(out)} outputs to {path}")
    return 0


def compare(a_path: str, b_path: str) -> int:
    a, b = np.load(a_path), np.load(b_path)
    print("| output | shape | identical | largest difference |")
    print("|---|---|---|---|")
    differ = 0
    for key in sorted(set(a.files) | set(b.files)):
        if key not in a.files or key not in b.files:
            print(f"| {key} | - | missing in one | - |")
            differ += 1
            continue
        x, y = a[key], b[key]
        same = x.shape == y.shape and np.array_equal(x, y, equal_nan=True)
        diff = "-" if same or x.shape != y.shape else f"{np.nanmax(np.abs(x - y)):.3g}"
        differ += not same
        print(f"| {key} | {x.shape} | {'yes' if same else 'NO'} | {diff} |")
    print(f"\n{differ} of {len(set(a.files) | set(b.files))} outputs differ")
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("save")
    s.add_argument("out")
    s.add_argument("--models", nargs="+", default=list(MODELS))
    c = sub.add_parser("compare")
    c.add_argument("a")
    c.add_argument("b")
    args = ap.parse_args(argv)
    if args.cmd == "save":
        return save(args.out, tuple(args.models))
    return compare(args.a, args.b)


if __name__ == "__main__":
    sys.exit(main())
