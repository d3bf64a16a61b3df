"""The ported BlazePose (``blazepose-torch``) next to MediaPipe's runtime (``blazepose``) on
synthetic infants with exact labels; prints a markdown table.

Both run the same pretrained weights; the port crops on MediaPipe's rotated body region (from the
mediapipe estimator's landmarks, then optionally re-centred on its own landmarks). The table
shows how close the port comes to MediaPipe's accuracy, what the ROI refinement and flip test
add, and the time per image (which includes the mediapipe person search for the torch rows).

    .venv/bin/python benchmarks/blazepose_torch_accuracy.py [--n 30] [--seed 0] [--threads 1]

A second table runs both through video tracking (:func:`infantpose.video.tracking.track_frames`)
on three synthetic 2-second clips (supine, prone, side-lying; 10 frames/s).

Metric: PCK@0.1 / PCK@0.2 of the labelled body-box size over COCO-17 keypoints that are labelled
visible (a missed person counts every keypoint as wrong).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-clips", dest="clips", action="store_false", help="skip the video table")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from infantpose.models import create_estimator
    from infantpose.schemas import COCO17
    from infantpose.synth.generate import render_sample

    samples = [render_sample(a.seed, i, "coco17") for i in range(a.n)]
    models = {
        "blazepose (mediapipe runtime)": create_estimator("blazepose", schema="coco17"),
        "blazepose-torch, 1 pass, no flip": create_estimator(
            "blazepose-torch", schema="coco17", refine_roi=0, flip_test=False),
        "blazepose-torch, 1 pass + flip (default)": create_estimator(
            "blazepose-torch", schema="coco17"),
        "blazepose-torch, ROI refined once + flip": create_estimator(
            "blazepose-torch", schema="coco17", refine_roi=1),
    }
    rows = []
    for name, est in models.items():
        errs, t0 = [], time.perf_counter()
        for s in samples:
            p = est.predict(s.image)
            pred = p.data[0, 0, :, :2] if p.n_instances else np.full((COCO17.num_keypoints, 2), np.nan)
            size = max(s.box[2], s.box[3])
            vis = (s.visibility > 0) & np.isfinite(s.keypoints).all(axis=1)
            d = np.hypot(*(pred - s.keypoints).T)[vis] / size
            errs.append(np.nan_to_num(d, nan=np.inf))
        sec = (time.perf_counter() - t0) / len(samples)
        e = np.concatenate(errs)
        rows.append((name, np.mean(e < 0.1), np.mean(e < 0.2), np.median(e), sec))
    print(f"{a.n} synthetic infants (seed {a.seed}), {a.threads} thread(s)\n")
    print("| model | PCK@0.1 | PCK@0.2 | median error (box) | s/image |")
    print("|---|---:|---:|---:|---:|")
    for name, p1, p2, med, sec in rows:
        print(f"| {name} | {p1:.3f} | {p2:.3f} | {med:.3f} | {sec:.2f} |")
    if a.clips:
        clip_table(a.seed)


def clip_table(seed: int) -> None:
    """PCK of both estimators under video tracking on synthetic clips."""
    from infantpose.models import create_estimator
    from infantpose.synth.clips import render_clip
    from infantpose.video.tracking import track_frames

    errs: dict[str, list[np.ndarray]] = {}
    secs: dict[str, float] = {}
    for i, posture in enumerate(("supine", "prone", "side")):
        frames, gt, vis = render_clip(seed + i, 2.0, 10.0, "coco17", posture=posture)
        g = gt.data[:, 0]
        size = np.max(np.nanmax(g[..., :2], axis=1) - np.nanmin(g[..., :2], axis=1), axis=1)
        ok = (vis > 0) & np.isfinite(g[..., 0])
        for name in ("blazepose", "blazepose-torch"):
            est = create_estimator(name, schema="coco17")
            t0 = time.perf_counter()
            p = track_frames(est, list(enumerate(frames)), fps=10.0)
            secs[name] = secs.get(name, 0.0) + (time.perf_counter() - t0) / len(frames) / 3
            d = np.hypot(*(p.data[:, 0, :, :2] - g[..., :2]).transpose(2, 0, 1)) / size[:, None]
            errs.setdefault(name, []).append(np.nan_to_num(d[ok], nan=np.inf))
    print("\nVideo tracking, 3 synthetic clips × 20 frames (supine, prone, side):\n")
    print("| model | PCK@0.1 | PCK@0.2 | s/frame |")
    print("|---|---:|---:|---:|")
    for name, e in errs.items():
        e = np.concatenate(e)
        print(f"| {name} | {np.mean(e < 0.1):.3f} | {np.mean(e < 0.2):.3f} | {secs[name]:.2f} |")


if __name__ == "__main__":
    main()
