"""Pose estimators behind one interface (see :mod:`infantpose.models.base`).

Registering an estimator here costs nothing at import time: its module is imported only when
``create_estimator`` builds it.
"""

from infantpose.models.base import (Estimator, EstimatorInfo, PluginEstimator, create_estimator,
                                    list_estimators, register_estimator)

__all__ = ["Estimator", "EstimatorInfo", "PluginEstimator", "create_estimator",
           "list_estimators", "register_estimator"]

# name -> factory, description (one line per estimator; modules are imported lazily)
register_estimator("blazepose", "infantpose.models.blazepose:create",
                   "BlazePose (full) via mediapipe's TFLite runtime, with rotation retries")
register_estimator("blazepose-heavy", "infantpose.models.blazepose:create_heavy",
                   "BlazePose heavy via mediapipe's runtime (infantpose models fetch "
                   "blazepose-heavy), same retries and fallback as blazepose")
register_estimator("blazepose-torch", "infantpose.models.topdown:create_blazepose_torch",
                   "BlazePose ported to PyTorch (mediapipe weights; landmark_model='heavy' for the "
                   "heavy network; or --weights fine-tuned checkpoint)")
register_estimator("pose-resnet", "infantpose.models.topdown:create_pose_resnet",
                   "SimpleBaseline Pose-ResNet (FiDIP backbone) from --weights checkpoint",
                   needs_weights=True)
register_estimator("onnx", "infantpose.models.onnx_model:create",
                   "Top-down heatmap or SimCC model from --weights MODEL.onnx (onnxruntime; "
                   "settings in MODEL.onnx.yaml)", needs_weights=True)
register_estimator("movenet", "infantpose.models.movenet:create",
                   "MoveNet Thunder (Google, 2021) ported from TF.js to PyTorch; whole image in "
                   "two passes, or a square around each box; mirror test")
register_estimator("movenet-lightning", "infantpose.models.movenet:create_lightning",
                   "MoveNet Lightning (faster, less accurate) ported from TF.js to PyTorch")
