"""Speed of the synthetic infant generator: images per second on one core, per image size.

Run: ``python benchmarks/synth_speed.py [--n 60]``; prints a markdown table. Rendering is pure
numpy/OpenCV in one process with every library limited to one thread, so the rate per CPU-second
is the rate of one core even when other jobs share the machine (the wall-clock rate then drops).
"""

from __future__ import annotations

import argparse
import os
import time

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")


def main() -> None:
    import cv2

    from infantpose.synth import render_sample

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=60, help="images per size")
    ap.add_argument("--style", default="home")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    render_sample(0, 0, size=(64, 64))  # warm up imports
    print(f"| size (style {args.style}) | images | wall s | images/s wall | images/s per CPU-second |")
    print("|---|---:|---:|---:|---:|")
    for size in ((256, 256), (640, 480), (1280, 720)):
        t, c = time.perf_counter(), time.process_time()
        for i in range(args.n):
            render_sample(1, i, "infant22", size=size, style=args.style)
        dt, dc = time.perf_counter() - t, time.process_time() - c
        print(f"| {size[0]}×{size[1]} | {args.n} | {dt:.2f} | {args.n / dt:.1f} | {args.n / dc:.1f} |")


if __name__ == "__main__":
    main()
