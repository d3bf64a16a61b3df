"""Speed of the trainable pose networks on this CPU; prints a markdown table.

Rows: forward frames/s and training images/s (forward + backward + Adam step, batch 16) for
BlazePoseNet (256×256, infant-22 head) and Pose-ResNet-50 (256×192, COCO-17), and single-image
inference of the whole ported BlazePose landmark graph next to the TFLite runtime
(ai-edge-litert, XNNPACK) on the same inputs.

    .venv/bin/python benchmarks/model_speed.py [--threads 1] [--repeats 3] [--quick]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1,
                    help="torch and TFLite threads (1 is fastest on a CPU shared with other jobs)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--quick", action="store_true", help="Pose-ResNet-18 instead of -50")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    from infantpose.models.blazepose_net import BlazePoseNet
    from infantpose.models.pose_resnet import PoseResNet

    rows = []
    rows += bench_model("BlazePoseNet 256×256", BlazePoseNet(schema="infant22"), (256, 256),
                        a.batch, a.repeats, "kce")
    depth = 18 if a.quick else 50
    rows += bench_model(f"Pose-ResNet-{depth} 256×192", PoseResNet(17, depth, (192, 256)),
                        (256, 192), a.batch, a.repeats, "mse")
    rows += bench_port_vs_tflite(a.repeats)
    print(f"CPU threads: {a.threads}, torch {torch.__version__}\n")
    print("| measurement | value | unit |")
    print("|---|---:|---|")
    for name, v, unit in rows:
        print(f"| {name} | {v:.2f} | {unit} |")
    port = rows[-2][1]
    tfl = rows[-1][1]
    if np.isfinite(tfl):
        print(f"\nTorch port is {tfl / port:.2f}× slower than the TFLite runtime (goal ≤ 3×).")


if __name__ == "__main__":
    main()
