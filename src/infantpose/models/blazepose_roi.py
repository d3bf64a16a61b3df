"""BlazePose's landmark network alone on a caller-given rotated region (the detector-free
fallback of :class:`~infantpose.models.blazepose.BlazePose`): the mediapipe graph, the
conversion of a :class:`~infantpose.geometry.Roi` to and from mediapipe's ``NormalizedRect``,
and one pass.

Split out of ``models/blazepose.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from infantpose._native import quiet_stderr
from infantpose.geometry import Roi
from infantpose.models.blazepose_runtime import LANDMARK_MODELS, _solution

__all__ = ["roi_from_proto", "roi_to_proto"]


# The landmark half of mediapipe's PoseLandmarkByRoiCpu, without its person-presence gate: the
# model runs on a given rotated region and always reports its landmarks with the presence score
# (the stock subgraph drops landmarks when presence < 0.5). PoseLandmarksToRoi, the subgraph the
# stock tracker uses, derives the next region from the auxiliary landmarks 33-34.
_ROI_GRAPH = """
input_stream: "image"
input_stream: "roi"
input_side_packet: "model_complexity"
output_stream: "landmarks"
output_stream: "presence"
output_stream: "next_roi"
node { calculator: "ImagePropertiesCalculator" input_stream: "IMAGE_CPU:image"
       output_stream: "SIZE:image_size" }
node {
  calculator: "ImageToTensorCalculator"
  input_stream: "IMAGE:image"
  input_stream: "NORM_RECT:roi"
  output_stream: "TENSORS:input_tensors"
  output_stream: "LETTERBOX_PADDING:letterbox_padding"
  options: { [mediapipe.ImageToTensorCalculatorOptions.ext] {
    output_tensor_width: 256 output_tensor_height: 256 keep_aspect_ratio: true
    output_tensor_float_range { min: 0.0 max: 1.0 } } }
}
node { calculator: "PoseLandmarkModelLoader"
       input_side_packet: "MODEL_COMPLEXITY:model_complexity" output_side_packet: "MODEL:model" }
node {
  calculator: "InferenceCalculator"
  input_side_packet: "MODEL:model"
  input_stream: "TENSORS:input_tensors"
  output_stream: "TENSORS:output_tensors"
  options: { [mediapipe.InferenceCalculatorOptions.ext] { delegate { xnnpack {} } } }
}
node {
  calculator: "SplitTensorVectorCalculator"
  input_stream: "output_tensors"
  output_stream: "landmark_tensor"
  output_stream: "flag_tensor"
  options: { [mediapipe.SplitVectorCalculatorOptions.ext] {
    ranges { begin: 0 end: 1 } ranges { begin: 1 end: 2 } } }
}
node { calculator: "TensorsToFloatsCalculator" input_stream: "TENSORS:flag_tensor"
       output_stream: "FLOAT:presence" }
node {
  calculator: "TensorsToLandmarksCalculator"
  input_stream: "TENSORS:landmark_tensor"
  output_stream: "NORM_LANDMARKS:raw_landmarks"
  options: { [mediapipe.TensorsToLandmarksCalculatorOptions.ext] {
    num_landmarks: 39 input_image_width: 256 input_image_height: 256
    visibility_activation: SIGMOID presence_activation: SIGMOID } }
}
node { calculator: "LandmarkLetterboxRemovalCalculator" input_stream: "LANDMARKS:raw_landmarks"
       input_stream: "LETTERBOX_PADDING:letterbox_padding" output_stream: "LANDMARKS:unpadded" }
node { calculator: "LandmarkProjectionCalculator" input_stream: "NORM_LANDMARKS:unpadded"
       input_stream: "NORM_RECT:roi" output_stream: "NORM_LANDMARKS:landmarks" }
node {
  calculator: "SplitNormalizedLandmarkListCalculator"
  input_stream: "landmarks"
  output_stream: "auxiliary_landmarks"
  options: { [mediapipe.SplitVectorCalculatorOptions.ext] { ranges { begin: 33 end: 35 } } }
}
node { calculator: "PoseLandmarksToRoi" input_stream: "LANDMARKS:auxiliary_landmarks"
       input_stream: "IMAGE_SIZE:image_size" output_stream: "ROI:next_roi" }
"""


def _new_roi_graph(landmark_model: str = "full"):
    """A mediapipe graph running the landmark network on a caller-given :class:`Roi`."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # mediapipe (and its protobuf) load only when a graph is built: ~3 s to import
        from google.protobuf import text_format
        from mediapipe.framework import calculator_pb2

        config = text_format.Parse(_ROI_GRAPH, calculator_pb2.CalculatorGraphConfig())
    return _solution(landmark_model, graph_config=config,
                     side_inputs={"model_complexity": LANDMARK_MODELS[landmark_model]},
                     outputs=["landmarks", "presence", "next_roi"])


def roi_to_proto(roi: Roi, size: tuple[int, int]) -> Any:
    """The ``mediapipe.NormalizedRect`` of ``roi`` in an image of ``size`` (w, h)."""
    from mediapipe.framework.formats import rect_pb2  # mediapipe loads on first use (~3 s)

    w, h = size
    return rect_pb2.NormalizedRect(x_center=roi.cx / w, y_center=roi.cy / h,
                                   width=roi.width / w, height=roi.height / h,
                                   rotation=float(roi.rotation))


def roi_from_proto(rect: Any, size: tuple[int, int]) -> Roi:
    """The pixel :class:`~infantpose.geometry.Roi` of a ``NormalizedRect`` in an image of
    ``size`` (w, h)."""
    w, h = size
    return Roi(rect.x_center * w, rect.y_center * h, rect.width * w, rect.height * h,
               float(rect.rotation))


@dataclass
class _RoiResult:
    """One landmark pass on a region: (33, 3) normalised (x, y, visibility), the presence
    score, and MediaPipe's region for the next pass (None when degenerate)."""

    landmarks: np.ndarray
    presence: float
    next_roi: Roi | None


def _run_roi(graph, image: np.ndarray, roi: Roi) -> _RoiResult | None:
    """The landmark model on ``roi`` of ``image`` (None only if mediapipe returns nothing)."""
    size = (image.shape[1], image.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with quiet_stderr():
            res = graph.process({"image": np.ascontiguousarray(image),
                                 "roi": roi_to_proto(roi, size)})
    if res.landmarks is None:
        return None
    lm = np.array([(p.x, p.y, p.visibility) for p in res.landmarks.landmark[:33]], dtype=float)
    nxt = None
    if res.next_roi is not None and res.next_roi.width > 0 and res.next_roi.height > 0:
        nxt = roi_from_proto(res.next_roi, size)
    presence = float(res.presence) if res.presence is not None else 0.0
    return _RoiResult(lm, presence, nxt)
