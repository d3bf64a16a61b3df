"""The built-in estimators: name, factory (``module:function``), one-line description, and
whether the model needs ``--weights``.

Plain data, imported by :mod:`infantpose.models.base`, which registers every entry when it is
first imported. The factories' modules are imported only when ``create_estimator`` builds one,
so listing the models costs nothing. Add a built-in model here; a plug-in model of one's own is
registered with :func:`~infantpose.models.base.register_estimator` instead.
"""

from __future__ import annotations

__all__ = ["BUILTIN"]

# (name, factory, description, needs_weights)
BUILTIN: tuple[tuple[str, str, str, bool], ...] = (
    ("blazepose", "infantpose.models.blazepose:create",
     "BlazePose (full) via mediapipe's TFLite runtime, with rotation retries", False),
    ("blazepose-heavy", "infantpose.models.blazepose:create_heavy",
     "BlazePose heavy via mediapipe's runtime (infantpose models fetch "
     "blazepose-heavy), same retries and fallback as blazepose", False),
    ("blazepose-torch", "infantpose.models.topdown:create_blazepose_torch",
     "BlazePose ported to PyTorch (mediapipe weights; landmark_model='heavy' for the "
     "heavy network; or --weights fine-tuned checkpoint)", False),
    ("pose-resnet", "infantpose.models.topdown:create_pose_resnet",
     "SimpleBaseline Pose-ResNet (FiDIP backbone) from --weights checkpoint", True),
    ("onnx", "infantpose.models.onnx_model:create",
     "A runtime, not a network: runs your own top-down heatmap or SimCC model from "
     "--weights MODEL.onnx on onnxruntime (settings in MODEL.onnx.yaml)", True),
    ("movenet", "infantpose.models.movenet:create",
     "MoveNet Thunder (Google, 2021) ported from TF.js to PyTorch; whole image in "
     "two passes, or a square around each box; mirror test", False),
    ("movenet-lightning", "infantpose.models.movenet:create_lightning",
     "MoveNet Lightning (faster, less accurate) ported from TF.js to PyTorch", False),
)
