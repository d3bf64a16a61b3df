"""Tracking on real infants: short pseudo-videos made from real SyRIP photos (not shipped).

    .venv/bin/python benchmarks/video_tracking_syrip.py [--photos 12] [--frames 30]

There are no real infant videos here, so each of a few real photos (``../shared/data/
syrip-train200``, research use only, posture-balanced, see ``_syrip.py``) becomes a pseudo-video:
the photo (longer side 480 px) moved by a smooth camera drift (shift up to ±5 % of the frame,
zoom ±8 %, each on its own slow sine), its labelled keypoints moved along. Nothing is written to
disk. Both tracking methods of ``benchmarks/video_tracking.py`` follow the infant (BlazePose,
coco17): ``own`` (mediapipe's video mode, the default) and ``box`` (infantpose's box + rotation
hint, ``TrackingConfig(own_tracking=False)``).

Per method: frames without a pose, median error in % of the body size (labelled keypoints;
diagonal of the labelled keypoint box), *flipped* frames (the pose with left and right swapped
is closer to the labels by more than 5 % of the body: a left/right confusion), *flip changes*
(frames where that state differs from the previous frame: the tracker turning the infant
around mid-video), residual jitter (mean absolute acceleration of estimate − truth, px/s²; the
camera drift itself is smooth) and CPU per frame.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


def pseudo_video(image: np.ndarray, kps: np.ndarray, n: int, seed: int
                 ) -> tuple[list[np.ndarray], np.ndarray]:
    """(frames, (n, K, 3) truth): ``image`` under a smooth drift and zoom about its centre."""
    import cv2

    h, w = image.shape[:2]
    rng = np.random.default_rng(seed)
    t = np.arange(n) / n
    ph = rng.uniform(0, 2 * np.pi, 3)
    fr = rng.uniform(0.5, 1.5, 3)
    dx = 0.05 * w * np.sin(2 * np.pi * fr[0] * t + ph[0])
    dy = 0.05 * h * np.sin(2 * np.pi * fr[1] * t + ph[1])
    zoom = 1 + 0.08 * np.sin(2 * np.pi * fr[2] * t + ph[2])
    frames, truth = [], np.zeros((n, *kps.shape))
    for i in range(n):
        m = np.array([[zoom[i], 0, (1 - zoom[i]) * w / 2 + dx[i]],
                      [0, zoom[i], (1 - zoom[i]) * h / 2 + dy[i]]])
        frames.append(cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REFLECT))
        truth[i] = kps
        truth[i, :, :2] = kps[:, :2] @ m[:, :2].T + m[:, 2]
    return frames, truth


def main() -> int:
    import _syrip

    from infantpose.io.images import read_image
    from infantpose.models import create_estimator
    from infantpose.schemas import get_schema
    from infantpose.video import filters as F
    from infantpose.video.tracking import TrackingConfig, track_frames
    from video_tracking import one_view

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, default=12)
    ap.add_argument("--frames", type=int, default=30)
    ap.add_argument("--fps", type=float, default=15.0)
    a = ap.parse_args()
    if not _syrip.available():
        print(f"SyRIP photos not found at {_syrip.DATA}; nothing to do")
        return 0
    import cv2

    coco = json.loads((_syrip.DATA / "annotations.json").read_text())
    images = {i["id"]: i for i in coco["images"]}
    anns = {an["image_id"]: an for an in coco["annotations"]}
    ids = _syrip.split_ids()[0][:a.photos]
    flip = get_schema("coco17").flip_index
    est = create_estimator("blazepose", schema="coco17", **one_view())
    methods = {"own": TrackingConfig(), "box": TrackingConfig(own_tracking=False)}
    stats = {m: {"err": [], "acc": [], "cpu": [], "lost": 0, "flipped": 0, "changes": 0,
                 "frames": 0, "videos_lost": 0} for m in methods}
    per_photo = []
    for n, iid in enumerate(ids):
        img = read_image(_syrip.DATA / images[iid]["file_name"])
        kps = np.asarray(anns[iid]["keypoints"], float).reshape(-1, 3)
        kps[kps[:, 2] <= 0, :2] = np.nan
        s = 480 / max(img.shape[:2])
        img = cv2.resize(img, (round(img.shape[1] * s), round(img.shape[0] * s)),
                         interpolation=cv2.INTER_AREA)
        kps[:, :2] *= s
        frames, truth = pseudo_video(img, kps, a.frames, seed=iid)
        span = np.nanmax(truth[..., :2], axis=1) - np.nanmin(truth[..., :2], axis=1)
        body = np.nanmedian(np.hypot(span[:, 0], span[:, 1]))
        row = [f"{iid} ({images[iid].get('posture', '?')})"]
        for m, cfg in methods.items():
            ticks = [time.process_time()]
            p = track_frames(est, enumerate(frames), fps=a.fps, config=cfg,
                             progress=lambda _: ticks.append(time.process_time()))
            st = stats[m]
            st["cpu"].extend(np.diff(ticks[1:]))
            xy = p.data[:, 0, :, :2]
            d = np.linalg.norm(xy - truth[..., :2], axis=-1) / body
            ds = np.linalg.norm(xy[:, flip] - truth[..., :2], axis=-1) / body
            med, med_s = np.nanmedian(d, axis=1), np.nanmedian(ds, axis=1)
            flipped = med_s < med - 0.05
            st["err"].append(d[np.isfinite(d)])
            resid = p.data[:, 0].copy()
            resid[..., :2] -= truth[..., :2]
            st["acc"].append(np.nanmean(F.mean_abs_acceleration(resid, a.fps)))
            lost = int(p.meta["tracking"]["lost"])
            st["lost"] += lost
            st["videos_lost"] += lost > 0
            st["flipped"] += int(flipped.sum())
            st["changes"] += int((flipped[1:] != flipped[:-1]).sum())
            st["frames"] += len(frames)
            row.append(f"{100 * np.nanmedian(d):.1f} % / {int(flipped.sum())} / {lost}")
        per_photo.append(row)
        print(f"photo {n + 1}/{len(ids)}", file=sys.stderr)
    est.close()

    print(f"\nBlazePose (coco17) on {len(ids)} pseudo-videos from real SyRIP photos, "
          f"{a.frames} frames each at {a.fps:g} fps (drift ±5 %, zoom ±8 %)\n")
    print("| method | error, median % body | error, mean % body | residual jitter (px/s²) "
          "| CPU ms/frame | frames without pose | flipped frames | flip changes |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for m, st in stats.items():
        e = np.concatenate(st["err"])
        print(f"| {m} | {100 * np.median(e):.2f} | {100 * e.mean():.2f} | "
              f"{np.mean(st['acc']):.0f} | {1000 * np.mean(st['cpu']):.1f} | "
              f"{st['lost']}/{st['frames']} | {st['flipped']} | {st['changes']} |")
    print("\nPer photo (median error / flipped frames / frames without pose):\n")
    print("| photo | " + " | ".join(methods) + " |")
    print("|---|" + "---:|" * len(methods))
    for row in per_photo:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
