"""Speed of the trainable pose networks on this CPU; prints a markdown table.

Rows: forward frames/s and training images/s (forward + backward + Adam step, batch 16) for
BlazePoseNet (256×256, infant-22 head) and Pose-ResNet-50 (256×192, COCO-17), and single-image
inference of the whole ported BlazePose landmark graph next to the TFLite runtime
(ai-edge-litert, XNNPACK) on the same inputs.

``--end-to-end`` adds what a user waits for (issue 13): ``predict`` speed of the mediapipe
runtime, the PyTorch port and a fine-tuned landmark checkpoint on photos scaled to 1280 px
(the real SyRIP validation photos when ``../shared/data/syrip-train200`` exists, else renders),
and on the frames of a rendered 640×480 video through the tracker (``predict_video``). A
fine-tuned checkpoint's speed does not depend on its weights, so an untrained
``BlazePoseLandmarkNet`` checkpoint stands in for one.

    .venv/bin/python benchmarks/model_speed.py [--threads 1] [--repeats 3] [--quick]
    .venv/bin/python benchmarks/model_speed.py --end-to-end --threads 2 --skip-networks
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch


def _timeit(fn, repeats: int) -> float:
    fn()  # warm-up
    t = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t) / repeats


def bench_model(name, model, size_hw, batch, repeats, loss_name="mse"):
    from infantpose.train.losses import heatmap_loss

    x = torch.rand(batch, 3, *size_hw)
    model.eval()

    def fwd():
        with torch.inference_mode():
            model(x)

    t_fwd = _timeit(fwd, repeats)
    model.train()
    with torch.no_grad():
        target = torch.rand_like(model(x[:1])).expand(batch, -1, -1, -1).contiguous()
    weight = torch.ones(target.shape[:2])
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-4)

    def step():
        opt.zero_grad()
        heatmap_loss(loss_name, model(x), target, weight).backward()
        opt.step()

    t_train = _timeit(step, max(1, repeats - 1))
    return [(f"{name} forward (batch {batch})", batch / t_fwd, "frames/s"),
            (f"{name} training step (batch {batch})", batch / t_train, "images/s")]


def bench_port_vs_tflite(repeats):
    import cv2
    import matplotlib.image as mimage
    from matplotlib import cbook

    from infantpose.models.tflite_port import load_tflite, mediapipe_model_path

    path = mediapipe_model_path()
    img = mimage.imread(cbook.get_sample_data("grace_hopper.jpg"))
    x = cv2.resize(img, (256, 256)).astype(np.float32)[None] / 255.0
    graph = load_tflite(path).eval()
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()

    def port():
        with torch.inference_mode():
            graph(xt)

    n = repeats * 5
    rows = [("BlazePose landmark graph, torch port (batch 1)", 1 / _timeit(port, n), "frames/s")]
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        rows.append(("BlazePose landmark graph, TFLite runtime", float("nan"),
                     "ai-edge-litert not installed"))
        return rows
    it = Interpreter(model_path=str(path), num_threads=torch.get_num_threads())
    it.allocate_tensors()
    idx = it.get_input_details()[0]["index"]

    def tfl():
        it.set_tensor(idx, x)
        it.invoke()

    rows.append(("BlazePose landmark graph, TFLite runtime XNNPACK (batch 1)", 1 / _timeit(tfl, n),
                 "frames/s"))
    return rows


def _photos(n: int, side: int = 1280) -> list[np.ndarray]:
    """``n`` photos scaled so their longer side is ``side`` px: real ones when available."""
    import sys
    from pathlib import Path

    import cv2

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import _syrip

    from infantpose.io.images import read_image

    if _syrip.available(_syrip.DATA):
        import json

        _, val_ids = _syrip.split_ids(_syrip.DATA)
        coco = json.loads((_syrip.DATA / "annotations.json").read_text())
        names = {int(im["id"]): im["file_name"] for im in coco["images"]}
        imgs = [read_image(_syrip.DATA / names[i]) for i in val_ids[:n]]
    else:
        from infantpose.synth.generate import render_sample

        imgs = [render_sample(7, i, "coco17", size=(960, 720)).image for i in range(n)]
    out = []
    for im in imgs:
        r = side / max(im.shape[:2])
        out.append(cv2.resize(im, (round(im.shape[1] * r), round(im.shape[0] * r)),
                              interpolation=cv2.INTER_AREA if r < 1 else cv2.INTER_LINEAR))
    return out


def bench_end_to_end(n_photos: int, video_seconds: float) -> list[tuple[str, float, str]]:
    import tempfile
    from pathlib import Path

    from infantpose.models import create_estimator
    from infantpose.models.blazepose_landmarks import BlazePoseLandmarkNet
    from infantpose.models.checkpoint import save_checkpoint
    from infantpose.synth.clips import render_clip
    from infantpose.io.video import write_video
    from infantpose.video.tracking import predict_video

    tmp = Path(tempfile.mkdtemp(prefix="ip_speed_"))
    ck = save_checkpoint(tmp / "landmarks.pt", BlazePoseLandmarkNet("coco17"), "coco17",
                         crop="upright", margin=1.4, refine_roi=1)
    photos = _photos(n_photos)
    clip = render_clip(11, video_seconds, fps=15.0, schema="coco17", size=(640, 480))
    video = write_video(tmp / "clip.mp4", clip[0], 15.0)
    models = [("mediapipe runtime", "blazepose", None),
              ("PyTorch port, off the shelf", "blazepose-torch", None),
              ("fine-tuned landmark checkpoint", "blazepose-torch", str(ck))]
    rows = []
    for label, name, weights in models:
        est = create_estimator(name, schema="coco17", weights=weights)
        est.predict(photos[0])  # warm-up (graph start, first allocation)
        t = time.perf_counter()
        for im in photos:
            est.predict(im)
        rows.append((f"{label}: predict, {len(photos)} photos at 1280 px", 
                     len(photos) / (time.perf_counter() - t), "images/s"))
        est = create_estimator(name, schema="coco17", weights=weights)
        t = time.perf_counter()
        poses = predict_video(est, video)
        rows.append((f"{label}: video 640×480, tracked ({poses.n_frames} frames)",
                     poses.n_frames / (time.perf_counter() - t), "frames/s"))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1,
                    help="torch and TFLite threads (1 is fastest on a CPU shared with other jobs)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--quick", action="store_true", help="Pose-ResNet-18 instead of -50")
    ap.add_argument("--end-to-end", action="store_true",
                    help="also time predict on 1280-px photos and tracked video frames")
    ap.add_argument("--skip-networks", action="store_true",
                    help="skip the network forward/training rows")
    ap.add_argument("--photos", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    from infantpose.models.blazepose_net import BlazePoseNet
    from infantpose.models.pose_resnet import PoseResNet

    rows = []
    if not a.skip_networks:
        rows += bench_model("BlazePoseNet 256×256", BlazePoseNet(schema="infant22"), (256, 256),
                            a.batch, a.repeats, "kce")
        depth = 18 if a.quick else 50
        rows += bench_model(f"Pose-ResNet-{depth} 256×192", PoseResNet(17, depth, (192, 256)),
                            (256, 192), a.batch, a.repeats, "mse")
        rows += bench_port_vs_tflite(a.repeats)
    tflite = (rows[-2][1], rows[-1][1]) if rows else (float("nan"), float("nan"))
    if a.end_to_end:
        rows += bench_end_to_end(a.photos, 4.0)
    print(f"CPU threads: {a.threads}, torch {torch.__version__}\n")
    print("| measurement | value | unit |")
    print("|---|---:|---|")
    for name, v, unit in rows:
        print(f"| {name} | {v:.2f} | {unit} |")
    port, tfl = tflite
    if np.isfinite(tfl):
        print(f"\nTorch port is {tfl / port:.2f}× slower than the TFLite runtime (goal ≤ 3×).")
    if a.end_to_end:
        e2e = {name: v for name, v, _ in rows}
        rt = [v for k, v in e2e.items() if k.startswith("mediapipe runtime: video")][0]
        ft = [v for k, v in e2e.items() if k.startswith("fine-tuned landmark checkpoint: video")][0]
        photo = [v for k, v in e2e.items() if k.startswith("fine-tuned landmark checkpoint: predict")][0]
        print(f"\nFine-tuned checkpoint: {photo:.1f} images/s on 1280-px photos (goal ≥ 5); "
              f"video {rt / ft:.2f}× the runtime's time per frame (goal ≤ 1.5×).")


if __name__ == "__main__":
    main()
