"""Crops to keypoints, the part every top-down model shares: runner, flip test, codec.

A top-down model cuts the person out of the image (a crop the network's input size) and reads
keypoints from the network's outputs on it. Whatever runs the network (PyTorch or onnxruntime:
the *runner*, a function from (M, h, w, 3) uint8 crops to a list of activated output arrays)
and whatever the outputs are (heatmaps, SimCC vectors, regressed landmarks: the *codec*,
:mod:`infantpose.models.codecs`), the steps around it are the same, written here once:

1. the flip test: the left-right mirrored crops are run too, and their outputs come back
   mirrored with left and right swapped (:func:`infantpose.models.tta.average_flipped` for
   maps, :func:`~infantpose.models.tta.mirror_back` for coordinates) and averaged in;
2. decoding: the codec turns the outputs into keypoints in crop pixels and scores.

The one top-down estimator (:class:`~infantpose.models.topdown_estimator.TopDownEstimator`, for
torch and ONNX models alike) calls :func:`crop_keypoints` with its runner; where it looks (the
crops) is its :class:`~infantpose.models.topdown_estimator.Placement`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from infantpose.models.codecs import HeatmapCodec, RegressionCodec, SimCCCodec
from infantpose.models.tta import average_flipped, mirror_back

__all__ = ["Runner", "crop_keypoints", "decode_outputs"]

#: (M, h, w, 3) uint8 crops -> the network's activated outputs, each (M, ...).
Runner = Callable[[np.ndarray], list[np.ndarray]]


def decode_outputs(codec: HeatmapCodec | SimCCCodec | RegressionCodec, outs: list[np.ndarray],
                   flipped: list[np.ndarray] | None, flip_index: np.ndarray) -> np.ndarray:
    """The runner's outputs (and those of the mirrored crops, or None) → (M, K, 3) keypoints
    (x, y, score) in crop pixels.

    ``flip_index`` swaps the schema's left and right keypoints; outputs with more keypoints
    than it (BlazePose's auxiliary landmarks) keep the extra ones in place.
    """
    if isinstance(codec, SimCCCodec):
        sx, sy = outs
        if flipped is not None:
            sx = average_flipped(sx, flipped[0], flip_index)
            sy = average_flipped(sy, flipped[1], flip_index, axis=None)
        xy, score = codec.decode((sx, sy))
    elif isinstance(codec, RegressionCodec):
        out = outs[0]
        if flipped is not None:
            extra = np.arange(len(flip_index), out.shape[1])  # auxiliary points: not mirrored
            fi = np.concatenate([flip_index, extra]).astype(int)
            out = (out + mirror_back(flipped[0], codec.input_size[0], fi)) / 2
        xy, score = codec.decode(out)
    else:
        hm = outs[0]
        if flipped is not None:
            hm = average_flipped(hm, flipped[0], flip_index)
        xy, score = codec.decode(hm)
    return np.concatenate([xy, score[..., None]], -1)


def crop_keypoints(run: Runner, crops: np.ndarray,
                   codec: HeatmapCodec | SimCCCodec | RegressionCodec, flip_index: np.ndarray,
                   flip_test: bool = False, one_pass: bool = True) -> np.ndarray:
    """(M, h, w, 3) uint8 crops → (M, K, 3) keypoints (x, y, score) in crop pixels.

    ``flip_test`` also runs the mirrored crops and averages them in; ``one_pass`` runs the
    crops and their mirror images as one batch (else as two calls, for runners whose batch is
    fixed or memory-bound).
    """
    if not flip_test:
        return decode_outputs(codec, run(crops), None, flip_index)
    n = len(crops)
    if one_pass:
        both = run(np.concatenate([crops, crops[:, :, ::-1]], axis=0))
        return decode_outputs(codec, [o[:n] for o in both], [o[n:] for o in both], flip_index)
    flipped = run(np.ascontiguousarray(crops[:, :, ::-1]))
    return decode_outputs(codec, run(crops), flipped, flip_index)
