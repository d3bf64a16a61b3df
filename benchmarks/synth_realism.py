"""How "real" do synthetic infants look to an adult pose model?

Renders N synthetic images (random phone/NICU framings), runs the off-the-shelf BlazePose
estimator (mediapipe, infant22 output) on them and prints PCKsh@0.1 per keypoint with
``infantpose.evaluate`` (S = sqrt(shoulder width × head-to-hip-centre distance), seed 004).
Two protocols: BlazePose finding the infant itself in the whole image, and BlazePose run on a
crop around the true person box (15% margin; coordinates mapped back).

Run: ``python benchmarks/synth_realism.py [--n 200] [--style home]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time


def predict(est, gt, crop: bool):
    """Predictions of ``est`` on every image of ``gt`` (whole image, or a crop around the box)."""
    import numpy as np

    from infantpose.evaluate import predictions_from_poses
    from infantpose.io.images import read_image
    from infantpose.poses import Poses

    frames = []
    for i, path in enumerate(gt.image_paths):
        img = read_image(path)
        x0 = y0 = 0
        if crop:
            x, y, w, h = gt.boxes[i, 0]
            m = 0.15 * max(w, h)
            x0, y0 = int(max(0, x - m)), int(max(0, y - m))
            x1 = int(min(img.shape[1], x + w + m))
            y1 = int(min(img.shape[0], y + h + m))
            img = np.ascontiguousarray(img[y0:y1, x0:x1])
        out = est.predict(img)
        out.data[..., 0] += x0
        out.data[..., 1] += y0
        frames.append(out)
    poses = Poses.concat(frames, frame_names=gt.image_names, source="blazepose")
    return predictions_from_poses(poses, gt, source="model:blazepose")


def main() -> None:
    from infantpose.evaluate import evaluate_predictions
    from infantpose.models import create_estimator
    from infantpose.synth import write_dataset

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--seed", type=int, default=123)
    ap.add_argument("--style", default="home")
    ap.add_argument("--size", default=None, help="WxH (default: random framings)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        gt = write_dataset(tmp, args.n, "infant22", seed=args.seed, size=args.size,
                           style=args.style)
        t_gen = time.perf_counter() - t
        results = {}
        for label, crop in (("whole image", False), ("crop around true box", True)):
            est = create_estimator("blazepose", schema="infant22")
            t = time.perf_counter()
            preds = predict(est, gt, crop)
            results[label] = (evaluate_predictions(gt, preds, name=f"blazepose ({label})"),
                              time.perf_counter() - t)
    print(f"{args.n} synthetic images (style {args.style}, seed {args.seed}) rendered in "
          f"{t_gen:.1f} s; BlazePose (mediapipe 0.10.14, infant22 output)\n")
    r0 = next(iter(results.values()))[0]
    print("| keypoint | labelled | " + " | ".join(f"PCKsh@0.1 {k}" for k in results) + " |")
    print("|---|---:|" + "---:|" * len(results))
    for i, row in r0.per_keypoint.iterrows():
        vals = [f"{r.per_keypoint.loc[i, 'PCKsh@0.1']:.3f}" for r, _ in results.values()]
        print(f"| {row['keypoint']} | {row['labelled']} | " + " | ".join(vals) + " |")
    print("| **all scored** | | " + " | ".join(f"**{r.metrics['PCKsh@0.1']:.3f}**"
                                           for r, _ in results.values()) + " |")
    print()
    print("| protocol | PCKsh@0.06 | PCKsh@0.1 | PCK@0.2bbox | AP | people matched | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for k, (r, dt) in results.items():
        g = r.metrics.get
        print(f"| {k} | {g('PCKsh@0.06', float('nan')):.3f} | {g('PCKsh@0.1'):.3f} "
              f"| {g('PCK@0.2bbox', float('nan')):.3f} "
              f"| {r.metrics.get('AP', float('nan')):.3f} | "
              f"{r.counts['matched_people']}/{r.counts['labelled_people']} | {dt:.1f} |")
    if r0.not_scored:
        print("\nnot scored: " + ", ".join(f"{k} ({v})" for k, v in r0.not_scored.items()))


if __name__ == "__main__":
    main()
