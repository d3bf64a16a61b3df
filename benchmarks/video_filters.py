"""Temporal filters on real model output: error against ground truth and jitter, per filter.

    .venv/bin/python benchmarks/video_filters.py            # 4 rendered infant clips, BlazePose
    .venv/bin/python benchmarks/video_filters.py --clips 8 --seconds 4 --style home

Synthetic infant clips (``infantpose.synth.clips``) have exact per-frame keypoints whose
trajectories are smooth (joint angles are sums of 0.15–1.2 Hz sinusoids). BlazePose runs on them
with tracking (:func:`infantpose.video.tracking.predict_video`); each filter of
:mod:`infantpose.video.filters` is then applied with its default chain (scores < 0.3 missing,
outliers beyond 8 body lengths/s dropped, gaps ≤ 5 frames filled). The table gives, over all
clips and the keypoints both truth and model have:

* error: median distance to the truth, as % of the body size (diagonal of the true keypoint box);
* acc: mean absolute acceleration (px/s²) — the truth's own value is the floor a perfect
  estimate would reach;
* HF: power above 4 Hz (px²);
* lag: the shift (frames) that best aligns the estimate with the truth, median over keypoints.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np


def main() -> int:
    from infantpose.models import create_estimator
    from infantpose.synth.clips import render_clip
    from infantpose.video import filters as F
    from infantpose.video.tracking import track_frames

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--style", default="studio", help="studio, home or nicu")
    ap.add_argument("--size", default="320x240")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.lower().split("x"))
    est = create_estimator("blazepose", schema="coco17")
    methods = [("raw (no filter)", None), ("median 5", ("median", {"window": 5})),
               ("Savitzky-Golay 9/2", ("savgol", {"window": 9, "polyorder": 2})),
               ("Butterworth, default (min(6 Hz, fps/4))", ("butterworth", {})),
               ("Butterworth 6 Hz", ("butterworth", {"cutoff_hz": 6.0})),
               ("Butterworth 3 Hz", ("butterworth", {"cutoff_hz": 3.0})),
               ("One-Euro 1.5 Hz, beta 0.05", ("one_euro", {"min_cutoff": 1.5, "beta": 0.05}))]
    acc: dict[str, list] = {m: [] for m, _ in methods + [("truth", None)]}
    err: dict[str, list] = {m: [] for m, _ in methods}
    hf: dict[str, list] = {m: [] for m, _ in methods + [("truth", None)]}
    lag: dict[str, list] = {m: [] for m, _ in methods}
    t0 = time.perf_counter()
    n_frames = 0
    for seed in range(a.clips):
        frames, truth, _ = render_clip(100 + seed, a.seconds, fps=a.fps, schema="coco17",
                                       size=(w, h), style=a.style)
        poses = track_frames(est, enumerate(frames), fps=a.fps)
        n_frames += len(frames)
        gt = truth.data[:, 0]
        span = np.nanmax(gt[..., :2], axis=1) - np.nanmin(gt[..., :2], axis=1)
        body = np.nanmedian(np.hypot(span[:, 0], span[:, 1]))
        acc["truth"].append(F.mean_abs_acceleration(gt, a.fps))
        hf["truth"].append(F.high_frequency_power(gt, a.fps, 4.0))
        for name, spec in methods:
            if spec is None:
                out = F.mask_low_scores(poses.data[:, 0], 0.3)
            else:
                out = F.filter_poses(poses, F.FilterConfig(method=spec[0],
                                                           options=spec[1])).data[:, 0]
            d = np.linalg.norm(out[..., :2] - gt[..., :2], axis=-1) / body
            err[name].append(d[np.isfinite(d)])
            acc[name].append(F.mean_abs_acceleration(out, a.fps))
            hf[name].append(F.high_frequency_power(out, a.fps, 4.0))
            for k in range(gt.shape[1]):
                ok = np.isfinite(out[:, k, 0]) & np.isfinite(gt[:, k, 0])
                if ok.all():
                    lag[name].append(F.lag_frames(gt[:, k, 0], out[:, k, 0], 5))
    elapsed = time.perf_counter() - t0

    def mean(xs: list) -> float:
        v = np.concatenate([np.ravel(x) for x in xs])
        v = v[np.isfinite(v)]
        return float(v.mean()) if v.size else float("nan")

    print(f"\nFilters on BlazePose output: {a.clips} rendered '{a.style}' clips × "
          f"{a.seconds:g} s at {a.fps:g} fps ({n_frames} frames, {w}×{h}); "
          f"{elapsed:.0f} s incl. rendering\n")
    print("| filter | error, median % body | acc (px/s²) | HF > 4 Hz (px²) | lag (frames) |")
    print("|---|---:|---:|---:|---:|")
    for name, _ in methods:
        e = np.concatenate(err[name])
        lg = f"{np.median(lag[name]):.0f}" if lag[name] else "-"
        print(f"| {name} | {100 * np.median(e):.1f} | {mean(acc[name]):.0f} | "
              f"{mean(hf[name]):.2f} | {lg} |")
    print(f"| ground truth | 0 | {mean(acc['truth']):.0f} | {mean(hf['truth']):.2f} | 0 |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
