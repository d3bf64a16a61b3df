"""Speed of the synthetic infant generator: images per second on one core, per image size.

Run: ``python benchmarks/synth_speed.py [--n 60]``; prints a markdown table. Rendering is pure
numpy/OpenCV in one process; OpenCV is limited to one thread so the number is per core.
"""

from __future__ import annotations

import argparse
import time


def main() -> None:
    import cv2

    from infantpose.synth import render_sample

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=60, help="images per size")
    ap.add_argument("--style", default="home")
    args = ap.parse_args()
    cv2.setNumThreads(1)
    render_sample(0, 0, size=(64, 64))  # warm up imports
    print(f"| size | images | seconds | images/s (1 core, style {args.style}) |")
    print("|---|---:|---:|---:|")
    for size in ((256, 256), (640, 480), (1280, 720)):
        t = time.perf_counter()
        for i in range(args.n):
            render_sample(1, i, "infant22", size=size, style=args.style)
        dt = time.perf_counter() - t
        print(f"| {size[0]}×{size[1]} | {args.n} | {dt:.2f} | {args.n / dt:.1f} |")


if __name__ == "__main__":
    main()
