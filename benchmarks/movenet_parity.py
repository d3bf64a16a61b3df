"""Parity of the PyTorch MoveNet port with TensorFlow.js itself, on real photos.

Both runtimes get the same input tensors: real photos (default: the first ``--n`` of
``../shared/data/syrip-train200/images``; any folder of JPEG/PNG works) padded to a square
(centred, black) and resized to the model's input (Thunder 256, Lightning 192), uint8 RGB.
TensorFlow.js runs in Node.js with its pure-JavaScript CPU backend through a small script this
tool writes to a temporary folder; ``--tfjs`` names the ``node_modules`` folder that holds
``@tensorflow/tfjs`` (install it outside the project, e.g.
``mkdir /tmp/tfjs && cd /tmp/tfjs && npm install @tensorflow/tfjs@4``). The PyTorch side is
:func:`infantpose.models.tfjs_graph.load_tfjs_graph` on the same ``model.json``.

Printed per model: the largest and mean absolute difference of the output keypoints in pixels of
the network input, and of the keypoint scores, over all photos × 17 keypoints; the largest
absolute difference of the four raw heads (centre heatmap, keypoint heatmaps, regression,
offsets: the pre-decoding tensors a fine-tuner trains); and how many keypoints land on a
different heatmap cell (ArgMax flips on near-ties would show here).

Measured (2026-12, @tensorflow/tfjs 4.22.0 cpu backend, torch 2.13 cpu, 20 SyRIP photos)::

    | model | photos | keypoints max / mean abs diff (input px) | scores max / mean | other heatmap cell | heads max abs diff (centre, heatmaps, regression, offsets) |
    |---|---:|---:|---:|---:|---|
    | movenet-thunder | 20 | 2.29e-05 / 6.06e-06 | 1.25e-06 / 3.14e-07 | 0 | 6.5e-05, 8.4e-05, 9.0e-05, 2.9e-05 |
    | movenet-lightning | 20 | 2.29e-05 / 5.20e-06 | 1.49e-06 / 2.93e-07 | 0 | 4.6e-05, 6.1e-05, 1.1e-04, 3.1e-05 |

(float32 rounding only: the port adds up convolutions in another order; about 5 minutes on 2
cores, most of it TF.js's JavaScript convolutions.)

Usage::

    python benchmarks/movenet_parity.py --tfjs /tmp/tfjs/node_modules \\
        --models /tmp/npmpk/hm/package/models [--n 20] [--images DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

DEFAULT_IMAGES = ROOT.parent / "shared" / "data" / "syrip-train200" / "images"
HEADS = {
    "centre": "StatefulPartitionedCall/center_0/conv2d_4/BiasAdd",
    "heatmaps": "StatefulPartitionedCall/kpt_heatmap_0/conv2d_5/BiasAdd",
    "regression": "StatefulPartitionedCall/kpt_regress_0/conv2d_6/BiasAdd",
    "offsets": "StatefulPartitionedCall/kpt_offset_0/conv2d_7/BiasAdd",
}

NODE_SCRIPT = r"""
// Runs a TF.js graph model on raw uint8 inputs; writes outputs (and named nodes) as JSON.
const fs = require('fs');
const path = require('path');
const tf = require('@tensorflow/tfjs');
(async () => {
  const [modelPath, inputDir, n, size, outPath, nodesJson] = process.argv.slice(2);
  await tf.setBackend('cpu');
  const model = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
  const specs = [], bufs = [];
  for (const g of model.weightsManifest) {
    specs.push(...g.weights);
    for (const p of g.paths) bufs.push(fs.readFileSync(path.join(path.dirname(modelPath), p)));
  }
  const all = Buffer.concat(bufs);
  const data = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const graph = await tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: model.modelTopology, weightSpecs: specs, weightData: data,
    format: model.format, signature: model.signature}));
  const nodes = JSON.parse(nodesJson);
  const results = [];
  for (let i = 0; i < Number(n); i++) {
    const raw = fs.readFileSync(path.join(inputDir, `${i}.u8`));
    const x = tf.tensor(Int32Array.from(raw), [1, Number(size), Number(size), 3], 'int32');
    const outs = graph.execute(x, ['Identity:0', ...nodes.map((s) => s + ':0')]);
    const rec = {};
    rec.output = Array.from(outs[0].dataSync());
    nodes.forEach((s, j) => { rec[s] = Array.from(outs[j + 1].dataSync()); });
    results.push(rec);
    tf.dispose([x, ...outs]);
  }
  fs.writeFileSync(outPath, JSON.stringify(results));
})().catch((e) => { console.error(e); process.exit(1); });
"""


def letterbox(image: np.ndarray, size: int) -> np.ndarray:
    """``image`` padded to a centred square (black) and resized to ``size``² (uint8 RGB)."""
    import cv2

    h, w = image.shape[:2]
    side = max(h, w)
    sq = np.zeros((side, side, 3), np.uint8)
    y0, x0 = (side - h) // 2, (side - w) // 2
    sq[y0:y0 + h, x0:x0 + w] = image
    return cv2.resize(sq, (size, size), interpolation=cv2.INTER_AREA)


def run_tfjs(model: Path, inputs: list[np.ndarray], tfjs: Path, work: Path) -> list[dict]:
    script = work / "run_tfjs.js"
    script.write_text(NODE_SCRIPT)
    for i, x in enumerate(inputs):
        (work / f"{i}.u8").write_bytes(np.ascontiguousarray(x, np.uint8).tobytes())
    out = work / "tfjs.json"
    env = dict(os.environ, NODE_PATH=str(tfjs))
    subprocess.run(["node", str(script), str(model), str(work), str(len(inputs)),
                    str(inputs[0].shape[0]), str(out), json.dumps(list(HEADS.values()))],
                   check=True, env=env)
    return json.loads(out.read_text())


def compare(model: Path, inputs: list[np.ndarray], tfjs: Path) -> dict[str, float]:
    import torch

    from infantpose.models.tfjs_graph import load_tfjs_graph

    with tempfile.TemporaryDirectory() as tmp:
        ref = run_tfjs(model, inputs, tfjs, Path(tmp))
    graph = load_tfjs_graph(model).eval()
    size = inputs[0].shape[0]
    kp_d, sc_d, cells = [], [], 0
    head_d = {k: 0.0 for k in HEADS}
    for x, r in zip(inputs, ref):
        with torch.no_grad():
            t = torch.from_numpy(x[None].astype(np.float32))
            out = graph(t)[0][0, 0].numpy()
            heads = graph.run_nodes(t, list(HEADS.values()))
        want = np.asarray(r["output"], np.float32).reshape(17, 3)
        kp_d.append(np.abs(out[:, :2] - want[:, :2]).max(axis=1) * size)
        sc_d.append(np.abs(out[:, 2] - want[:, 2]))
        hm = heads[HEADS["heatmaps"]].shape[1]
        cells += int((np.floor(out[:, :2] * hm) != np.floor(want[:, :2] * hm)).any(1).sum())
        for k, name in HEADS.items():
            mine = heads[name][0].numpy().ravel()
            head_d[k] = max(head_d[k], float(np.abs(mine - np.asarray(r[name])).max()))
    kp, sc = np.concatenate(kp_d), np.concatenate(sc_d)
    return {"photos": len(inputs), "kp_max": kp.max(), "kp_mean": kp.mean(),
            "score_max": sc.max(), "score_mean": sc.mean(), "cells": cells, **head_d}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tfjs", type=Path, required=True,
                    help="node_modules folder holding @tensorflow/tfjs (outside the project)")
    ap.add_argument("--models", type=Path, default=Path("/tmp/npmpk/hm/package/models"),
                    help="folder with movenet-thunder.json / movenet-lightning.json")
    ap.add_argument("--images", type=Path, default=DEFAULT_IMAGES)
    ap.add_argument("--n", type=int, default=20)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import torch

    from infantpose.io.images import read_image

    torch.set_num_threads(args.threads)
    files = sorted(p for p in args.images.iterdir()
                   if p.suffix.lower() in (".jpg", ".jpeg", ".png"))[:args.n]
    if not files:
        print(f"skipped: no images in {args.images}")
        return 0
    photos = [read_image(p) for p in files]
    print("| model | photos | keypoints max / mean abs diff (input px) | scores max / mean | "
          "other heatmap cell | heads max abs diff (centre, heatmaps, regression, offsets) |")
    print("|---|---:|---:|---:|---:|---|")
    for name, size in (("movenet-thunder", 256), ("movenet-lightning", 192)):
        model = args.models / f"{name}.json"
        if not model.is_file():
            print(f"| {name} | model not found: {model} |")
            continue
        m = compare(model, [letterbox(p, size) for p in photos], args.tfjs)
        print(f"| {name} | {m['photos']} | {m['kp_max']:.2e} / {m['kp_mean']:.2e} | "
              f"{m['score_max']:.2e} / {m['score_mean']:.2e} | {m['cells']} | "
              + ", ".join(f"{m[k]:.1e}" for k in HEADS) + " |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
