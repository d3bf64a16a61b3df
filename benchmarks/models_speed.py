"""Speed of every pretrained network as a user meets it: photos at 1280 px and a 640×480 video.

Issue 20's bar for the default model: at least 5 photos/s at 1280 px and 15 frames/s on a
640×480 video, on 2 cores. Rows: each ``--models`` entry (as ``create_estimator`` builds it,
image-mode defaults, mirror test included where it is the default) on ``--photos`` photos of a
rendered infant scaled to 1280×960 (decoded beforehand; the estimator finds the infant in the
whole photo), and ``predict_video`` (the path ``infantpose predict`` and ``batch`` take:
decoding, tracking, inference) on a rendered 640×480 clip. Best of ``--repeats`` runs (other
work on a shared machine only slows a run down); a warm-up call first.

``--real N``: N real photos of ``../shared/data/syrip-val240`` (validation photos, only timed
here) scaled so their long side is 1280 px, instead of rendered ones: real infants give the
networks' real confidence, hence their real number of passes (rendered infants score lower,
so quarter turns are tried more often). ``--no-mirror`` adds a row per model with the mirror
test off.

Usage::

    python benchmarks/models_speed.py --models blazepose blazepose-heavy movenet [--threads 2]
    python benchmarks/models_speed.py --models movenet --real 20 --no-mirror --video-seconds 0
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))


def _photos(n: int):
    import cv2
    import numpy as np

    from infantpose.synth.generate import render_sample

    return [np.ascontiguousarray(cv2.resize(render_sample(3, i, style="photo",
                                                          size=(640, 480)).image,
                                            (1280, 960), interpolation=cv2.INTER_LINEAR))
            for i in range(n)]


def _real_photos(n: int):
    """The first ``n`` val240 photos (RGB), scaled so the long side is 1280 px."""
    import json

    import cv2

    from infantpose.io.images import read_image

    root = ROOT.parent / "shared" / "data" / "syrip-val240"
    coco = json.loads(next(root.glob("*.json")).read_text())
    out = []
    for im in coco["images"][:n]:
        img = read_image(next(root.rglob(Path(im["file_name"]).name)))
        f = 1280 / max(img.shape[:2])
        out.append(cv2.resize(img, (round(img.shape[1] * f), round(img.shape[0] * f)),
                              interpolation=cv2.INTER_LINEAR if f > 1 else cv2.INTER_AREA))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["blazepose", "blazepose-heavy"])
    ap.add_argument("--photos", type=int, default=10)
    ap.add_argument("--video-seconds", type=float, default=6.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--real", type=int, default=0)
    ap.add_argument("--no-mirror", action="store_true")
    args = ap.parse_args()
    import numpy as np
    import torch

    from infantpose.models import create_estimator
    from infantpose.synth.clips import write_clip
    from infantpose.video.tracking import predict_video

    torch.set_num_threads(args.threads)
    photos = _real_photos(args.real) if args.real else _photos(args.photos)
    print("| model | photos/s at 1280×960 | video frames/s at 640×480 |")
    print("|---|---:|---:|")
    with tempfile.TemporaryDirectory() as d:
        clip = None
        if args.video_seconds > 0:
            clip, _ = write_clip(Path(d) / "clip.mp4", seconds=args.video_seconds, fps=15,
                                 seed=5, size=(640, 480))
        runs = [(n, {}) for n in args.models]
        if args.no_mirror:
            runs += [(n, {"mirror_test": False}) for n in args.models]
        for name, opts in runs:
            est = create_estimator(name, schema="coco17", **opts)
            est.predict(np.ascontiguousarray(photos[0][::-1]))
            best_img = best_vid = 0.0
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                for im in photos:
                    est.predict(im)
                best_img = max(best_img, len(photos) / (time.perf_counter() - t0))
                if args.video_seconds > 0:
                    t0 = time.perf_counter()
                    poses = predict_video(est, clip)
                    best_vid = max(best_vid, poses.n_frames / (time.perf_counter() - t0))
            est.close()
            label = name + (" (no mirror test)" if opts else "")
            vid = f"{best_vid:.1f}" if args.video_seconds > 0 else "—"
            print(f"| {label} | {best_img:.1f} | {vid} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
