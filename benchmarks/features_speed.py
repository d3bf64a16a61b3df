"""How long `infantpose features` takes on a long recording (issue 15: < 10 s for 10 min at 30 fps).

A generated 10-minute, 30 fps stick-infant trajectory (with keypoint noise and 5 % of frames
dropped) is saved as Poses JSON, then read and turned into features, whole-recording and with
10-second windows. Prints a table.

    .venv/bin/python benchmarks/features_speed.py [--minutes 10] [--fps 30]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from rich.console import Console
    from rich.table import Table

    from infantpose.features import FeatureConfig, feature_rows
    from infantpose.features.testdata import skeleton, to_poses
    from infantpose.poses import Poses

    rng = np.random.default_rng(0)
    t = np.arange(0, args.minutes * 60, 1 / args.fps)
    ang = {}
    for side in ("left", "right"):
        for j, c in (("shoulder", 200.0), ("elbow", 100.0), ("hip", 230.0), ("knee", 90.0)):
            f = rng.uniform(0.2, 1.2, 3)
            ang[f"{side}_{j}"] = c + sum(10 * np.sin(2 * np.pi * fk * t + rng.uniform(0, 6))
                                         for fk in f)
    keep = np.sort(rng.choice(len(t), int(0.95 * len(t)), replace=False))
    pts = {k: v[keep] + rng.normal(0, 0.01, v[keep].shape) for k, v in skeleton(ang).items()}
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for schema in ("coco17", "infant22"):
            path = Path(d) / f"{schema}.json"
            to_poses(pts, args.fps, schema=schema, frame_indices=keep,
                     rotation_deg=rng.uniform(0, 360)).save_json(path)
            for windows in (None, 10.0):
                best = [np.inf, np.inf]
                for _ in range(args.repeats):
                    t0 = time.perf_counter()
                    poses = Poses.load_json(path)
                    t1 = time.perf_counter()
                    out = feature_rows(poses, FeatureConfig(windows=windows))
                    t2 = time.perf_counter()
                    best = [min(best[0], t1 - t0), min(best[1], t2 - t1)]
                rows.append((schema, "-" if windows is None else f"{windows:g} s", len(keep),
                             len(out), best[0], best[1]))
    table = Table(title=f"features of a {args.minutes:g}-min {args.fps:g} fps recording "
                        f"(best of {args.repeats})")
    for c in ("schema", "windows", "frames", "rows", "read JSON (s)", "features (s)", "total (s)"):
        table.add_column(c, justify="right")
    for schema, w, n, r, a, b in rows:
        table.add_row(schema, w, str(n), str(r), f"{a:.2f}", f"{b:.2f}", f"{a + b:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
