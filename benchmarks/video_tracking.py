"""How BlazePose follows an infant through a video: error, jitter and CPU per tracking method.

    .venv/bin/python benchmarks/video_tracking.py                  # 4 clips × 2 s per style
    .venv/bin/python benchmarks/video_tracking.py --styles home --clips 8 --methods all

Rendered infant clips (:func:`infantpose.synth.clips.render_clip`, exact labels) in the 'home',
'studio' and 'nicu' styles, 320×240 at 15 fps, go through
:func:`infantpose.video.tracking.track_frames` with the shipped BlazePose model (coco17):

* ``own``: mediapipe's own video mode (``TrackingConfig(own_tracking=True)``, the default):
  the landmarks of one frame give the next frame's region, the person detector runs only when
  the pose is lost, landmarks smoothed by mediapipe;
* ``box``: infantpose's tracker (``own_tracking=False``): the previous frame's box (held while
  the infant stays inside it) and rotation, searched by mediapipe in image mode (detector and
  landmark model on the crop, every frame);
* with ``--methods all`` also ``box, recomputed`` (``hold=0``) and ``off`` (a full-frame search
  on every frame).

Both methods run one view per frame (test-time mirroring off, where the estimator offers it).
Measured: ``benchmarks/results/video_tracking.md``.

``--rotations 90,180`` also runs the clips turned by quarter turns (infants lie in every
orientation; the adult-trained detector misses many turned ones).

Error: distance to the true keypoints in % of the body size (diagonal of the true keypoint box),
median over all keypoints of all frames. Jitter: mean absolute acceleration of the raw estimate
(px/s², :func:`infantpose.video.filters.mean_abs_acceleration`), next to the truth's own. CPU:
process CPU time (all threads) per frame after a video's first, and for the first frame, which
includes starting the mediapipe graphs a video needs (mediapipe loads its models on a graph's
first frame; the own video mode starts a tracker per video). Detector: mediapipe passes that ran
the person detector (every image-mode pass; in video mode only when the pose was lost), out of
the frames. The methods run interleaved clip by clip, so that other work on the machine hits
them alike.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

METHODS = {"own": dict(config="own"), "box": dict(config="box"),
           "box, recomputed": dict(config="box0"), "off": dict(tracking=False)}


def _kwargs(spec: dict) -> dict:
    from infantpose.video.tracking import TrackingConfig

    cfgs = {"own": TrackingConfig(), "box": TrackingConfig(own_tracking=False),
            "box0": TrackingConfig(own_tracking=False, hold=0)}
    out = dict(spec)
    if "config" in out:
        out["config"] = cfgs[out["config"]]
    return out


class Counting:
    """The estimator with the person detector's runs counted (a plug-in wrapper: the hooks
    and attributes tracking uses pass through)."""

    def __init__(self, est):
        self.est = est
        self.detector = 0

    def predict(self, image, boxes=None):
        est = self.est
        calls, landmark_only = est.calls, est.fallback_calls
        res = est.predict(image, boxes)
        passes = (est.calls - calls) - (est.fallback_calls - landmark_only)
        followed = bool(res.tracked[0, 0]) and res.path[0, 0] == "detector"
        self.detector += passes - int(followed)
        return res

    def __getattr__(self, name):
        if name == "est":
            raise AttributeError(name)
        return getattr(self.est, name)


def _turned(clip, degrees: int):
    """A rendered clip (frames, truth, visibility) turned by a quarter turn (truth mapped in place)."""
    from infantpose.geometry import rotate_image, rotate_points

    frames, truth, vis = clip
    if degrees % 360 == 0:
        return clip
    h, w = frames[0].shape[:2]
    truth.data[..., :2] = rotate_points(truth.data[..., :2], degrees, (w, h))
    return [rotate_image(f, degrees) for f in frames], truth, vis


def one_view() -> dict:
    """BlazePose options for one view per frame in both methods (test-time mirroring off, in
    versions of the estimator that offer it): the methods are compared as trackers."""
    import inspect

    from infantpose.models.blazepose import BlazePose

    return {"mirror_test": False} if "mirror_test" in inspect.signature(BlazePose).parameters \
        else {}


def main() -> int:
    from infantpose.models import create_estimator
    from infantpose.synth.clips import render_clip
    from infantpose.synth.scene import STYLES
    from infantpose.video import filters as F
    from infantpose.video import tracking as tr

    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clips", type=int, default=4, help="clips per style")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--styles", default="home,studio,nicu")
    ap.add_argument("--methods", default="own,box", help="comma-separated, or 'all': "
                    + ", ".join(METHODS))
    ap.add_argument("--seed", type=int, default=200)
    ap.add_argument("--rotations", default="0", help="comma-separated quarter turns of the clips")
    a = ap.parse_args()
    styles = [s for s in a.styles.split(",") if s]
    unknown = [s for s in styles if s not in STYLES]
    if unknown:
        ap.error(f"unknown style {unknown[0]!r}; choose from {', '.join(STYLES)}")
    methods = list(METHODS) if a.methods == "all" else [m.strip() for m in a.methods.split(",")]
    for m in methods:
        if m not in METHODS:
            ap.error(f"unknown method {m!r}; choose from {', '.join(METHODS)}")

    turns = [int(r) for r in a.rotations.split(",") if r.strip()]
    est = Counting(create_estimator("blazepose", schema="coco17", **one_view()))
    warm = render_clip(a.seed, 0.3, fps=a.fps, schema="coco17", size=(320, 240))[0]
    for m in methods:  # one-time costs (imports, the image-mode graph) outside the timing
        tr.track_frames(est, enumerate(warm), fps=a.fps, **_kwargs(METHODS[m]))
    rows = []
    for style, turn in [(s, r) for s in styles for r in turns]:
        clips = [_turned(render_clip(a.seed + s, a.seconds, fps=a.fps, schema="coco17",
                                     size=(320, 240), style=style), turn)
                 for s in range(a.clips)]
        label = style if turn == 0 else f"{style}, turned {turn}°"
        stats = {m: {"err": [], "acc": [], "cpu": [], "first": [], "frames": 0, "lost": 0,
                     "detector": 0} for m in methods}
        truth_acc = []
        for frames, truth, _ in clips:
            gt = truth.data[:, 0]
            span = np.nanmax(gt[..., :2], axis=1) - np.nanmin(gt[..., :2], axis=1)
            body = np.nanmedian(np.hypot(span[:, 0], span[:, 1]))
            truth_acc.append(np.nanmean(F.mean_abs_acceleration(gt, a.fps)))
            for m in methods:
                ticks = [time.process_time()]
                det0 = est.detector
                p = tr.track_frames(est, enumerate(frames), fps=a.fps,
                                    progress=lambda _: ticks.append(time.process_time()),
                                    **_kwargs(METHODS[m]))
                st = stats[m]
                st["first"].append(ticks[1] - ticks[0])
                st["cpu"].extend(np.diff(ticks[1:]))
                st["detector"] += est.detector - det0
                d = np.linalg.norm(p.data[:, 0, :, :2] - gt[..., :2], axis=-1) / body
                st["err"].append(d[np.isfinite(d)])
                st["acc"].append(np.nanmean(F.mean_abs_acceleration(p.data[:, 0], a.fps)))
                t = p.meta["tracking"]
                st["frames"] += t["frames"]
                st["lost"] += t["lost"]
        for m in methods:
            st = stats[m]
            e = np.concatenate(st["err"])
            rows.append((label, m, 100 * np.median(e), 100 * e.mean(), np.mean(st["acc"]),
                         1000 * np.mean(st["cpu"]), 1000 * np.mean(st["first"]), st["detector"],
                         st["lost"], st["frames"]))
        rows.append((label, "ground truth", 0.0, 0.0, float(np.mean(truth_acc)), None, None,
                     None, None, None))
    est.close()

    print(f"\nBlazePose (coco17) following rendered infants: {a.clips} clips × {a.seconds:g} s "
          f"per style at {a.fps:g} fps, 320×240, {os.cpu_count()} CPU cores\n")
    print("| style | method | error, median % body | error, mean % body | jitter (px/s²) "
          "| CPU ms/frame | CPU ms, first frame | detector runs | lost frames |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|")
    for style, m, med, mean, acc, cpu, first, det, lost, n in rows:
        if cpu is None:
            print(f"| {style} | {m} | 0 | 0 | {acc:.0f} | | | | |")
        else:
            print(f"| {style} | {m} | {med:.2f} | {mean:.2f} | {acc:.0f} | {cpu:.1f} | "
                  f"{first:.0f} | {det}/{n} | {lost} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
