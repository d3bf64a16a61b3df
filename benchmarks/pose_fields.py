"""What the typed Poses fields cost on a long video: 100 000 frames (about an hour at 30 fps),
one instance, infant22, with and without ``path`` / ``rotation`` / ``outcome``.

Run: ``PYTHONPATH=src python benchmarks/pose_fields.py`` (prints a table; writes only to a
temporary folder it removes).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from infantpose.poses import Poses

FRAMES = 100_000


def _seconds(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    data = np.random.default_rng(0).uniform(0, 500, (FRAMES, 1, 22, 3))
    fields = dict(path=[["detector" if i % 7 else "fallback"] for i in range(FRAMES)],
                  rotation=[[0 if i % 5 else None] for i in range(FRAMES)],
                  outcome=["tracked"] * FRAMES)
    tmp = Path(tempfile.mkdtemp())
    try:
        rows = []
        for label, kw in (("without fields", {}), ("path + rotation + outcome", fields)):
            build, p = _seconds(lambda: Poses(data, "infant22", **kw))
            save, _ = _seconds(lambda: p.save_json(tmp / "p.json"))
            load, q = _seconds(lambda: Poses.load_json(tmp / "p.json"))
            ops, _ = _seconds(lambda: Poses.concat([q.take_frames(np.arange(0, FRAMES, 2)), q]))
            rows.append((label, build, save, load, ops))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{FRAMES} frames | build | save_json | load_json | take_frames + concat")
    print("---|---|---|---|---")
    for label, build, save, load, ops in rows:
        print(f"{label} | {build * 1e3:.0f} ms | {save:.1f} s | {load:.1f} s | {ops * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
