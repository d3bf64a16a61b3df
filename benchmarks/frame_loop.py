"""One decode per video: the overlay and face-hidden copy drawn while predicting, against
predicting first and drawing in a second pass. Prints a markdown table.

    .venv/bin/python benchmarks/frame_loop.py                     # marker model, 120 frames
    .venv/bin/python benchmarks/frame_loop.py --model blazepose --frames 60

Both rows make the same files from the same frames (the videos are identical frame for frame;
``tests/test_frame_loop.py`` checks it): the poses with tracking, ``deidentified.mp4`` and
``overlay.mp4`` (face hidden, skeleton drawn). "two passes" is what ``predict --overlay
--deidentify`` did before the one frame loop (``predict_video``, then ``render_videos``); "one
pass" is what it does now (``predict_video`` with the renders drawn in its ``on_frame``).
``decodes`` counts the times the video was opened for decoding. ``--model markers`` (default)
runs the cheap marker-finding estimator of ``tests/testclips.py`` on generated stick-figure
clips, so the table shows the pipeline's own cost (decoding, face detector, drawing, encoding);
the face detector (mediapipe) runs in both rows.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

TESTS = str(Path(__file__).resolve().parents[1] / "tests")  # testclips lives with the tests
sys.path.insert(0, TESTS)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="markers", help="markers, or a registered model name")
    ap.add_argument("--frames", type=int, default=120)
    ap.add_argument("--size", type=int, nargs=2, default=(320, 240), metavar=("W", "H"))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--mode", default="blur", choices=("blur", "mosaic"))
    a = ap.parse_args()

    import infantpose.io.video as iv
    from infantpose.models import create_estimator
    from infantpose.video.privacy import drop_facial_keypoints
    from infantpose.video.render import VideoRenders, render_videos
    from infantpose.video.tracking import predict_video
    from testclips import create_marker_estimator, make_clip

    opened: list[str] = []
    real = iv.iter_frames

    def counting(path, *args, **kw):
        opened.append(str(path))
        return real(path, *args, **kw)

    iv.iter_frames = counting
    est = create_marker_estimator() if a.model == "markers" else create_estimator(
        a.model, schema="coco17")
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        clip = d / "clip.mp4"
        make_clip(clip, n_frames=a.frames, size=tuple(a.size), seed=1)
        fps = iv.probe_video(clip).fps
        predict_video(est, clip, max_frames=3)  # warm-up: model load

        def two_passes() -> None:
            raw = predict_video(est, clip)
            render_videos(clip, draw=drop_facial_keypoints(raw), face_poses=raw,
                          deidentify=a.mode, deidentified=d / "d2.mp4", overlay=d / "o2.mp4")

        def one_pass() -> None:
            sink = VideoRenders(clip, fps, deidentify=a.mode, deidentified=d / "d1.mp4",
                                overlay=d / "o1.mp4", draw_fps=fps)
            try:
                raw = predict_video(est, clip, on_frame=lambda f, p: sink(
                    f, p, drop_facial_keypoints(p)))
            except BaseException as e:
                sink.abort(e)
                raise
            sink.finish(int(raw.meta["corrupt_frames"]))

        rows = []
        for name, run in (("two passes (predict, then render)", two_passes),
                          ("one pass (renders in the frame loop)", one_pass)):
            best = float("inf")
            for _ in range(a.repeats):
                opened.clear()
                t0 = time.perf_counter()
                run()
                best = min(best, time.perf_counter() - t0)
            rows.append((name, len(opened), best))
    print(f"model {a.model}, {a.frames} frames {a.size[0]}x{a.size[1]}, --deidentify {a.mode} "
          f"--overlay, best of {a.repeats}\n")
    print("| path | decodes | seconds | frames/s |")
    print("|---|---:|---:|---:|")
    for name, n, s in rows:
        print(f"| {name} | {n} | {s:.2f} | {a.frames / s:.1f} |")


if __name__ == "__main__":
    main()
