"""Tracking modes on rendered infant clips: accuracy and jitter of BlazePose, tracking off/on.

    .venv/bin/python benchmarks/video_tracking.py                 # 4 'home' clips × 2 s
    .venv/bin/python benchmarks/video_tracking.py --style studio --clips 8

Compares per-frame full-image search (tracking off), tracking with a box recomputed every frame
(hold 0), and tracking with the box held steady while the infant stays inside it (the default,
hold 0.1; see :func:`infantpose.video.tracking._next_box`). Error is the distance to the clip's
exact labels as % of the body size (diagonal of the true keypoint box); acc is the mean absolute
acceleration of the raw estimate (px/s²; jitter), next to the truth's own; calls counts mediapipe
invocations (rotation retries included).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def main() -> int:
    from infantpose.models import create_estimator
    from infantpose.synth.clips import render_clip
    from infantpose.video import filters as F
    from infantpose.video import tracking as tr

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--style", default="home")
    a = ap.parse_args()
    est = create_estimator("blazepose", schema="coco17")
    clips = [render_clip(200 + s, a.seconds, fps=a.fps, schema="coco17", size=(320, 240),
                         style=a.style) for s in range(a.clips)]
    modes = [("tracking off", dict(tracking=False)),
             ("tracking on, box recomputed every frame", dict(config=tr.TrackingConfig(hold=0))),
             ("tracking on, box held (default)", dict(config=tr.TrackingConfig()))]
    truth_acc = np.mean([np.nanmean(F.mean_abs_acceleration(t.data[:, 0], a.fps))
                         for _, t, _ in clips])
    print(f"\nTracking on {a.clips} rendered '{a.style}' clips × {a.seconds:g} s at {a.fps:g} fps, "
          f"320×240, BlazePose (coco17)\n")
    print("| mode | error, median % body | error, mean % body | acc (px/s²) | lost frames "
          "| calls |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, kw in modes:
        errs, accs, lost, calls0 = [], [], 0, est.calls
        for frames, truth, _ in clips:
            p = tr.track_frames(est, enumerate(frames), fps=a.fps, **kw)
            gt = truth.data[:, 0]
            span = np.nanmax(gt[..., :2], axis=1) - np.nanmin(gt[..., :2], axis=1)
            body = np.nanmedian(np.hypot(span[:, 0], span[:, 1]))
            d = np.linalg.norm(p.data[:, 0, :, :2] - gt[..., :2], axis=-1) / body
            errs.append(d[np.isfinite(d)])
            accs.append(np.nanmean(F.mean_abs_acceleration(p.data[:, 0], a.fps)))
            lost += p.meta["tracking"]["lost"]
        e = np.concatenate(errs)
        print(f"| {name} | {100 * np.median(e):.2f} | {100 * e.mean():.2f} | {np.mean(accs):.0f} | "
              f"{lost} | {est.calls - calls0} |")
    print(f"| ground truth | 0 | 0 | {truth_acc:.0f} | | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
