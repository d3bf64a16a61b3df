"""Top-down keypoint models from ONNX files, run on onnxruntime (``--model onnx``).

Labs with a stronger model than BlazePose (ViTPose, RTMPose, a FiDIP Pose-ResNet) can export it
to ONNX and run it through infantpose's pipeline (predict, evaluate, video tracking) without
PyTorch code of their own. Two output styles cover the common top-down models:

- ``heatmap``: one output ``(N, K, H, W)`` of per-keypoint heatmaps (SimpleBaseline,
  HRNet, ViTPose). Decoded with :func:`infantpose.models.heatmaps.decode_heatmaps`
  (``dark``, ``wa`` or ``argmax``); the score is the (activated) peak value.
- ``simcc``: two outputs ``(N, K, Wx)`` and ``(N, K, Hy)`` of per-axis classification
  scores over ``split_ratio`` bins per input pixel (SimCC, RTMPose). Decoded by argmax per
  axis; the score is the smaller of the two maxima (a keypoint is only as sure as its less
  sure axis).

The model file says nothing about how it wants its input or what its channels mean, so a small
sidecar YAML beside it says so: ``model.onnx.yaml`` (or ``model.yaml``). Every key is optional::

    schema: coco17          # keypoint order of the output channels (a registered schema)
    output: heatmap         # heatmap | simcc (default: told by the outputs' ranks)
    outputs: [simcc_x, simcc_y]   # output names to read (default: the first one / two)
    input_size: [192, 256]  # network input (w, h) (default: the ONNX input's static shape)
    mean: [123.675, 116.28, 103.53]   # per-channel, on 0-255 pixel values, in RGB order
    std: [58.395, 57.12, 57.375]      # input = (pixel - mean) / std (ImageNet: MMPose's default)
    channel_order: rgb      # rgb | bgr: the channel order the network expects
    margin: 1.25            # context around a person box (MMPose's and SimpleBaseline's 1.25)
    decoder: dark           # heatmaps: dark | wa | argmax
    sigma: 2.0              # heatmaps: Gaussian sigma of the training targets (for dark)
    activation: none        # none | sigmoid | softmax, applied to the raw outputs first
    split_ratio: 2.0        # simcc: bins per input pixel (default: output bins / input size)
    pixel_centers: half     # half | integer (below)
    flip_test: false        # average with the mirrored crop (left/right swapped)

Models that expect inputs in [0, 1] say ``mean: [0, 0, 0]`` and ``std: [255, 255, 255]``
(e.g. an exported infantpose Pose-ResNet, which normalises inside the network).

Coordinates. ``pixel_centers: half`` is infantpose's convention (continuous pixels, an image
spans [0, W]; heatmap pixel ``j`` of stride ``s`` is centred on input coordinate ``(j + 0.5)·s``,
SimCC bin ``b`` on ``(b + 0.5) / split_ratio``), which models trained or exported by infantpose
follow. ``integer`` is MMPose's codecs (MSRAHeatmap, SimCCLabel: input pixel ``i`` centred on
``i``, heatmap pixel ``j`` on input pixel ``j·s``, bin ``b`` on ``b / split_ratio``); use it for
RTMPose/ViTPose files exported from MMPose.

Where to look: with ``boxes`` (labelled boxes in ``evaluate``, the previous frame's box in video
tracking) each box is cropped aspect-preserving with ``margin``; with a rotation hint (the
tracker's) the crop is turned by it, otherwise each quarter turn of the crop is tried and the
most confident kept (adult-trained models expect people upright; infants lie every way).
Without boxes the mediapipe ``blazepose`` estimator (with its landmark-only fallback where its
person detector misses) gives the box (its landmarks' extent) and the body's orientation
(mid-hip → mid-shoulder turned upright); where it finds nobody, or with ``detector="none"``,
the whole frame is used.

onnxruntime is a dependency of infantpose (CPU build, no CUDA packages). Exporting a PyTorch
model needs ``onnx`` (``torch.onnx.export(..., dynamo=False)``), which is only a development
dependency.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.errors import InputError
from infantpose.models.codecs import HeatmapCodec, SimCCCodec
# the sidecar config and the onnxruntime session live in their own modules (re-exported here:
# callers and tests import them from this module)
from infantpose.models.onnx_config import (_ACTIVATIONS, _DECODERS, IMAGENET_MEAN,  # noqa: F401
                                           IMAGENET_STD, OUTPUT_KINDS, OnnxConfig, _choice,
                                           _number_list, _positive, find_sidecar, read_config)
from infantpose.models.onnx_session import _dim, _ort, _Session  # noqa: F401
from infantpose.models.person_finder import PersonFinder
from infantpose.models.topdown_estimator import Placement, TopDownEstimator
from infantpose.schemas import BLAZEPOSE33, COCO17, Schema, get_mapping, get_schema  # noqa: F401

__all__ = ["OUTPUT_KINDS", "OnnxConfig", "OnnxPoseEstimator", "OnnxRunner", "create",
           "find_sidecar", "read_config"]


# --- runner ---------------------------------------------------------------------------------------

def _activate(a: np.ndarray, how: str, axes: tuple[int, ...]) -> np.ndarray:
    if how == "sigmoid":
        return 1.0 / (1.0 + np.exp(-a))
    if how == "softmax":
        z = a - a.max(axis=axes, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=axes, keepdims=True)
    return a


@dataclass
class OnnxRunner:
    """Crops through an onnxruntime session (the :class:`~infantpose.models.topdown_estimator.
    CropRunner` of ONNX files): (M, h, w, 3) uint8 RGB crops, normalised as the sidecar says
    (``mean``, ``std``, ``channel_order``) → the outputs, checked against the schema's keypoint
    count and activated (float64): ``[heatmaps]`` or ``[SimCC x, SimCC y]``. The mirrored crops
    of the flip test run as a second call (``one_pass`` False: a model's batch may be fixed)."""

    session: _Session
    config: OnnxConfig
    model_schema: Schema
    input_size: tuple[int, int]
    one_pass = False

    def __post_init__(self) -> None:
        scale = np.asarray(self.config.std, dtype=np.float32)
        shift = np.asarray(self.config.mean, dtype=np.float32)
        if self.config.channel_order == "bgr":
            scale, shift = scale[::-1].copy(), shift[::-1].copy()
        self._std, self._mean = scale, shift

    def tensor(self, crops: np.ndarray) -> np.ndarray:
        """(M, h, w, 3) uint8 RGB crops → (M, 3, h, w) float32 network input."""
        x = crops.astype(np.float32)
        if self.config.channel_order == "bgr":
            x = x[..., ::-1]
        x = (x - self._mean) / self._std
        return np.ascontiguousarray(x.transpose(0, 3, 1, 2))

    def __call__(self, crops: np.ndarray) -> list[np.ndarray]:
        cfg = self.config
        outs = self.session.run(self.tensor(crops))
        if cfg.output == "heatmap":
            self._check(outs[0], 4, "heatmap")
            return [_activate(outs[0].astype(np.float64), cfg.activation, (2, 3))]
        sx, sy = outs
        self._check(sx, 3, "SimCC x")
        self._check(sy, 3, "SimCC y")
        win, hin = self.input_size
        ratio = cfg.split_ratio or sx.shape[2] / win
        if abs(sy.shape[2] - ratio * hin) > 1 or abs(sx.shape[2] - ratio * win) > 1:
            raise InputError(self.session.path,
                             f"SimCC outputs have {sx.shape[2]} x and {sy.shape[2]} y bins, "
                             f"which do not fit input {win}×{hin} at split_ratio {ratio:g}")
        return [_activate(sx.astype(np.float64), cfg.activation, (2,)),
                _activate(sy.astype(np.float64), cfg.activation, (2,))]

    def _check(self, a: np.ndarray, rank: int, what: str) -> None:
        k = self.model_schema.num_keypoints
        if a.ndim != rank or a.shape[1] != k:
            want = "(N, K, H, W)" if rank == 4 else "(N, K, bins)"
            raise InputError(self.session.path, f"{what} output has shape {list(a.shape)}; "
                                                f"expected {want} with K = {k} "
                                                f"({self.model_schema.name})")


# --- estimator ------------------------------------------------------------------------------------

class OnnxPoseEstimator(TopDownEstimator):
    """The top-down estimator (:class:`~infantpose.models.topdown_estimator.TopDownEstimator`)
    around an ONNX model (module docstring): this class only builds its parts from the file and
    its sidecar (runner, codec, crop placement, person finder) and keeps ``path`` and
    ``config``.

    Args:
        path: the ``.onnx`` file.
        schema: output schema (converted from the model's ``schema`` through the registered
            mapping); default: the model's.
        sidecar: the YAML to read instead of the one found beside the model.
        detector: ``"blazepose"`` (find the infant with the mediapipe estimator when no boxes
            are given) or ``"none"`` (the whole frame).
        quarter_turns: with boxes and no rotation hint (a tracker's), try the four quarter turns of each box
            crop and keep the most confident (False: upright only).
        threads: onnxruntime intra-op threads (default: onnxruntime's choice).
        Any sidecar key (e.g. ``flip_test=True``, ``decoder="wa"``) overrides the YAML.
    """

    def __init__(self, path: str | os.PathLike, schema: Schema | str | None = None,
                 sidecar: str | os.PathLike | None = None, detector: str = "blazepose",
                 quarter_turns: bool = True, threads: int | None = None, **overrides: Any):
        p = Path(path)
        if not p.is_file():
            raise InputError(p, "ONNX model file not found")
        self.path = p
        self.config = read_config(p, sidecar)
        for key, val in overrides.items():
            if key not in OnnxConfig.__dataclass_fields__ or key in ("source", "extra"):
                raise InputError(None, f"unknown onnx model option {key!r}")
            setattr(self.config, key, val)
        session = _Session(p, self.config, threads)
        cfg = self.config
        out_schema = get_schema(schema) if schema is not None else cfg.schema
        if out_schema.name != cfg.schema.name:
            get_mapping(cfg.schema, out_schema)  # fail early when no mapping exists
        self.quarter_turns = bool(quarter_turns)
        input_size: tuple[int, int] = tuple(cfg.input_size)  # type: ignore[assignment]
        if cfg.output == "simcc":
            codec: HeatmapCodec | SimCCCodec = SimCCCodec(input_size, cfg.split_ratio,
                                                          pixel_centers=cfg.pixel_centers)
        else:
            codec = HeatmapCodec(input_size, None, cfg.sigma, cfg.decoder, cfg.activation,
                                 pixel_centers=cfg.pixel_centers)
        super().__init__(
            name="onnx", model_schema=cfg.schema, schema=out_schema,
            runner=OnnxRunner(session, cfg, cfg.schema, input_size), codec=codec,
            input_size=input_size, margin=cfg.margin,
            # the mediapipe runtime that finds the infant without boxes (one view, uncached)
            finder=PersonFinder("full", mirror=False, cache_size=0),
            placement=Placement(found="box", boxes="turns" if self.quarter_turns else "box",
                                pose_rotation=False),
            flip_test=cfg.flip_test, detector=detector,
            meta_keys={"model": None, "weights": str(p), "output": cfg.output,
                       "flip_test": None})


def create(schema: Schema | str | None = None, weights: str | None = None,
           **options: Any) -> OnnxPoseEstimator:
    """Factory registered as ``onnx``: ``weights`` is the ``.onnx`` file (sidecar beside it)."""
    if not weights:
        raise InputError(None, "the onnx model needs --weights MODEL.onnx (with an optional "
                               "MODEL.onnx.yaml beside it; see docs/models.md)")
    return OnnxPoseEstimator(weights, schema=schema, **options)
