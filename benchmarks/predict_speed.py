"""Frames/s of ``infantpose predict`` on a generated 640×480 video vs. mediapipe called directly.

Usage:  .venv/bin/python benchmarks/predict_speed.py [--seconds 10] [--fps 15] [--repeats 3]

Three rows:
* mediapipe direct: ``mp.solutions.pose.Pose(model_complexity=1)`` in its own tracking mode
  on frames already decoded into memory, graph creation included: the runtime alone;
* ``infantpose predict`` through the CLI entry point ``infantpose.cli.main`` in this process:
  probing, decoding (in a background thread), inference with infantpose's tracker (the path
  ``batch`` takes too), schema conversion, JSON and CSV;
* ``infantpose predict`` as a subprocess: the same plus process start-up and imports.

Overhead = extra time in percent of the direct run, for wall time and for CPU time (CPU time
is steadier when other work shares the machine). Each measurement is repeated, interleaved,
and the best run is kept.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def raw_mediapipe(frames) -> tuple[float, float]:
    """(wall, CPU) seconds for mediapipe alone on in-memory frames, graph creation included."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mediapipe.python.solutions import pose as mp_pose

        t, c = time.perf_counter(), time.process_time()
        pose = mp_pose.Pose(static_image_mode=False, model_complexity=1, smooth_landmarks=True,
                            enable_segmentation=False, min_detection_confidence=0.5,
                            min_tracking_confidence=0.5)
        found = 0
        for f in frames:
            res = pose.process(f)
            found += res.pose_landmarks is not None
        pose.close()
        wall, cpu = time.perf_counter() - t, time.process_time() - c
    if found < len(frames) * 0.9:
        print(f"warning: mediapipe found a person in only {found}/{len(frames)} frames",
              file=sys.stderr)
    return wall, cpu


def cli_in_process(video: Path, out: Path) -> tuple[float, float]:
    """(wall, CPU) seconds of ``infantpose predict`` through the CLI entry point ``main()``."""
    import contextlib
    import io

    from infantpose.cli import main as cli_main

    err = io.StringIO()
    t, c = time.perf_counter(), time.process_time()
    with contextlib.redirect_stderr(err):
        code = cli_main(["predict", str(video), "--schema", "coco17", "--out", str(out), "-q"])
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    if code != 0:
        raise SystemExit(f"infantpose predict failed:\n{err.getvalue()}")
    return wall, cpu


def cli_subprocess(video: Path, out: Path) -> float:
    """Wall seconds of ``infantpose predict`` as a fresh process (start-up and imports included)."""
    exe = Path(sys.executable).with_name("infantpose")
    cmd = [str(exe), "predict", str(video), "--schema", "coco17", "--out", str(out), "--quiet"]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"infantpose predict failed:\n{r.stderr}")
    if not re.search(r"frames/s", r.stderr):
        raise SystemExit(f"unexpected CLI output:\n{r.stderr}")
    return wall


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--fps", type=float, default=15.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    from infantpose.examples import write_hopper_video
    from infantpose.io.video import read_frames

    with tempfile.TemporaryDirectory() as d:
        video = write_hopper_video(Path(d) / "bench.mp4", seconds=args.seconds, fps=args.fps)
        frames, _ = read_frames(video)
        n = len(frames)
        raw, cli, sub = [], [], []
        for i in range(args.repeats):  # interleaved, so background load hits both alike
            raw.append(raw_mediapipe(frames))
            cli.append(cli_in_process(video, Path(d) / f"in{i}"))
            sub.append(cli_subprocess(video, Path(d) / f"sub{i}"))
    rw, rc = min(w for w, _ in raw), min(c for _, c in raw)
    cw, cc = min(w for w, _ in cli), min(c for _, c in cli)
    sw = min(sub)

    def pct(a: float, b: float) -> str:
        return f"{(a / b - 1) * 100:+.1f}%"

    print(f"\n{n} frames, 640×480, best of {args.repeats} interleaved runs, "
          f"{os.cpu_count()} CPU cores (shared with other work: wall times are noisy)\n")
    print("| path | wall s | frames/s (wall) | CPU s | overhead (wall) | overhead (CPU) |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| mediapipe Pose called directly, frames in memory | {rw:.2f} | {n / rw:.1f} | "
          f"{rc:.2f} | — | — |")
    print(f"| `infantpose predict` via main() (decode, infer, convert, JSON+CSV) | {cw:.2f} | "
          f"{n / cw:.1f} | {cc:.2f} | {pct(cw, rw)} | {pct(cc, rc)} |")
    print(f"| `infantpose predict` subprocess, incl. start-up and imports | {sw:.2f} | "
          f"{n / sw:.1f} | — | {pct(sw, rw)} | — |")


if __name__ == "__main__":
    main()
