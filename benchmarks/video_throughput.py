"""Video pipeline throughput: frames/s for one video (tracking on vs off), and for a batch of
videos with 1 vs 2 Dask workers (scaling efficiency). Prints a markdown table.

    .venv/bin/python benchmarks/video_throughput.py                # BlazePose on rendered infants
    .venv/bin/python benchmarks/video_throughput.py --model markers --frames 60   # pipeline only

The videos are synthetic infant clips (``infantpose.synth.clips``, studio style) so the numbers
need no data; ``--model markers`` swaps in the cheap marker-finding estimator of
``tests/testclips.py`` on generated stick-figure clips, to measure the pipeline's own
overhead (decoding, tracking, writing, Dask). Batch times are wall clock for the whole
``run_batch`` call, including starting the local cluster, with plots off.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

MARKERS = "testclips:create_marker_estimator"
TESTS = str(Path(__file__).resolve().parents[1] / "tests")  # testclips lives with the tests
sys.path.insert(0, TESTS)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [TESTS, os.environ.get("PYTHONPATH")]))


def make_videos(d: Path, n: int, frames: int, size: tuple[int, int], model: str) -> list[Path]:
    from infantpose.io.video import write_video

    out = []
    for i in range(n):
        p = d / f"clip{i:02d}.mp4"
        if model == "markers":
            from testclips import make_clip
            make_clip(p, n_frames=frames, size=size, seed=i)
        else:
            from infantpose.synth.clips import render_clip
            fr, _, _ = render_clip(i, frames / 15.0, fps=15, schema="coco17", size=size,
                                   style="studio")
            write_video(p, fr, fps=15)
        out.append(p)
    return out


def single_video(path: Path, model: str, repeats: int) -> list[tuple[str, float, str]]:
    from infantpose.models import create_estimator
    from testclips import create_marker_estimator
    from infantpose.video.tracking import predict_video

    est = create_marker_estimator() if model == "markers" else create_estimator(
        "blazepose", schema="coco17")
    predict_video(est, path, max_frames=3)  # warm-up: model load
    rows = []
    for tracking in (False, True):
        best, meta, cpu = 0.0, {}, 0.0
        for _ in range(repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            p = predict_video(est, path, tracking=tracking)
            fps = p.n_frames / (time.perf_counter() - t0)
            if fps > best:
                best, meta = fps, p.meta["tracking"]
                cpu = 1000 * (time.process_time() - c0) / p.n_frames
        note = (f"{cpu:.0f} ms CPU per frame; {meta['detected']} full-frame searches, "
                f"{meta['tracked']} tracked, {meta['redetections']} re-detections, "
                f"{meta['lost']} lost")
        rows.append((f"one video, tracking {'on' if tracking else 'off'}", best, note))
    return rows


def batch(videos_dir: Path, model: str, workers: int, frames_total: int
          ) -> tuple[float, float, float, float]:
    from infantpose.video.batch import BatchOptions, run_batch

    out = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        opts = BatchOptions(model=MARKERS if model == "markers" else "blazepose",
                            schema="coco17", plot=False, formats=["json"])
        t0 = time.perf_counter()
        rows = run_batch(videos_dir, out, opts, workers=workers)
        wall = time.perf_counter() - t0
        bad = [r for r in rows if r["status"] != "ok"]
        if bad:
            raise RuntimeError(f"batch failures: {bad}")
        busy = sum(float(r["seconds"]) for r in rows)  # wall time inside the video tasks
        cpu = sum(float(r["cpu_seconds"]) for r in rows)  # CPU time of the worker processes
        return wall, frames_total / wall, busy, cpu
    finally:
        shutil.rmtree(out, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", choices=("blazepose", "markers"), default="blazepose")
    ap.add_argument("--frames", type=int, default=45, help="frames per video")
    ap.add_argument("--videos", type=int, default=8, help="videos in the batch")
    ap.add_argument("--size", default="320x240", help="frame size WxH")
    ap.add_argument("--repeats", type=int, default=2, help="single-video repeats (best kept)")
    a = ap.parse_args()
    w, h = (int(v) for v in a.size.lower().split("x"))
    tmp = Path(tempfile.mkdtemp(prefix="bench-video-"))
    try:
        vids = make_videos(tmp, a.videos, a.frames, (w, h), a.model)
        rows = single_video(vids[0], a.model, a.repeats)
        results = {}
        for workers in (1, 2):
            results[workers] = batch(tmp, a.model, workers, a.videos * a.frames)
        print(f"\nVideo throughput: model={a.model}, {a.videos} videos × {a.frames} frames, "
              f"{w}×{h}, {os.cpu_count()} CPU cores (shared machine)\n")
        print("| run | frames/s | notes |")
        print("|---|---:|---|")
        for name, fps, note in rows:
            print(f"| {name} | {fps:.1f} | {note} |")
        for workers in (1, 2):
            wall, fps, busy, cpu = results[workers]
            n = a.videos * a.frames
            note = (f"{wall:.1f} s wall incl. cluster start; per frame {1000 * busy / n:.0f} ms "
                    f"task time, {1000 * cpu / n:.0f} ms CPU")
            if workers == 2:
                speedup = results[2][1] / results[1][1]
                note += f"; scaling efficiency {speedup / 2:.0%} (speed-up {speedup:.2f}×)"
            print(f"| batch of {a.videos}, {workers} worker{'s' if workers > 1 else ''} | "
                  f"{fps:.1f} | {note} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
