"""The mediapipe graphs behind :class:`~infantpose.models.blazepose.BlazePose`: where the model
files are, how a graph is built without mediapipe's download step (the heavy network through a
shadow resource folder), the detector + landmark graph in image and video mode, and one call.

Split out of ``models/blazepose.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from infantpose._native import quiet_stderr
from infantpose.errors import InputError
from infantpose.models.store import model_file

__all__ = ["LANDMARK_MODELS", "weights_paths"]


#: The landmark networks this runtime runs: name -> mediapipe's ``model_complexity``.
LANDMARK_MODELS = {"full": 1, "heavy": 2}


def weights_paths(landmark_model: str = "full") -> dict[str, Path]:
    """The BlazePose model files: the detector inside the installed mediapipe wheel, and the
    landmark network (``full`` ships in the wheel; ``heavy`` is installed by ``infantpose models
    fetch blazepose-heavy`` into the models folder)."""
    spec = importlib.util.find_spec("mediapipe")
    if spec is None or not spec.submodule_search_locations:
        raise InputError(None, "mediapipe is not installed (pip install mediapipe==0.10.14)")
    root = Path(list(spec.submodule_search_locations)[0])
    paths = {
        "landmark": root / "modules" / "pose_landmark" / "pose_landmark_full.tflite",
        "detector": root / "modules" / "pose_detection" / "pose_detection.tflite",
    }
    if _check_landmark_model(landmark_model) == "heavy":
        paths["landmark"] = model_file("blazepose-heavy")
    return paths


def _check_landmark_model(name: Any) -> str:
    if name not in LANDMARK_MODELS:
        raise InputError(None, f"blazepose landmark_model must be one of "
                               f"{', '.join(LANDMARK_MODELS)}, got {name!r}")
    return str(name)


_SHADOW_ROOTS: dict[Path, Path] = {}


def _resource_root(landmark: Path) -> Path | None:
    """A folder that looks like mediapipe's resource root, with ``landmark`` as the heavy
    network (None when the wheel's own root serves: the full network).

    mediapipe's graphs load ``mediapipe/modules/pose_landmark/pose_landmark_heavy.tflite``
    relative to a process-wide resource folder (the wheel's site-packages), and the stock Python
    API downloads the file there when missing. Instead the heavy file stays in the models
    folder, and a temporary folder of symbolic links (the wheel's ``mediapipe/modules`` with
    the heavy file added) becomes the resource root while our graphs load: nothing is written
    inside site-packages, and every other resource still resolves to the wheel's own file.
    """
    if landmark.name != "pose_landmark_heavy.tflite":
        return None
    if landmark in _SHADOW_ROOTS and _SHADOW_ROOTS[landmark].is_dir():
        return _SHADOW_ROOTS[landmark]
    wheel = weights_paths()["detector"].parents[2]  # .../site-packages/mediapipe
    root = Path(tempfile.mkdtemp(prefix="infantpose-mediapipe-"))
    atexit.register(shutil.rmtree, root, True)
    modules = root / "mediapipe" / "modules"
    modules.mkdir(parents=True)
    for sub in (wheel / "modules").iterdir():
        if sub.name != "pose_landmark":
            (modules / sub.name).symlink_to(sub, target_is_directory=sub.is_dir())
    own = modules / "pose_landmark"
    own.mkdir()
    for f in (wheel / "modules" / "pose_landmark").iterdir():
        (own / f.name).symlink_to(f, target_is_directory=f.is_dir())
    (own / "pose_landmark_heavy.tflite").symlink_to(landmark.resolve())
    _SHADOW_ROOTS[landmark] = root
    return root


def _solution(landmark_model: str, **kwargs: Any):
    """``SolutionBase(**kwargs)`` with the landmark network ``landmark_model`` resolvable (the
    heavy file through :func:`_resource_root`); refuses to run if a model file is missing."""
    paths = weights_paths(landmark_model)
    for kind, path in paths.items():
        if not path.is_file():
            raise InputError(path, f"BlazePose {kind} model missing (infantpose never downloads "
                                   "models; reinstall mediapipe==0.10.14, or run `infantpose "
                                   "models fetch blazepose-heavy`)")
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # mediapipe loads when the first graph is built (~3 s), not when infantpose starts
        from mediapipe.python import solution_base

        shadow = _resource_root(paths["landmark"])
        real = solution_base.resource_util

        class _Redirected:
            @staticmethod
            def set_resource_dir(_path: str) -> None:
                real.set_resource_dir(str(shadow))

        if shadow is not None:
            solution_base.resource_util = _Redirected
        try:
            with quiet_stderr():
                graph = solution_base.SolutionBase(**kwargs)
        finally:
            solution_base.resource_util = real
        return graph


def _new_pose(static: bool, min_detection_confidence: float, min_tracking_confidence: float,
              smooth: bool, landmark_model: str = "full"):
    """A mediapipe Pose graph (detector + landmark network ``landmark_model``): static-image
    mode as ``mp_pose.Pose(static_image_mode=True)`` builds it (without its download step),
    else the video-mode :class:`_Tracker`."""
    if not static:
        return _Tracker(min_detection_confidence, min_tracking_confidence, smooth,
                        landmark_model)
    from mediapipe.python.solutions import pose as mp_pose  # mediapipe loads on first use

    return _solution(
        landmark_model, binary_graph_path=mp_pose._BINARYPB_FILE_PATH,
        side_inputs={"model_complexity": LANDMARK_MODELS[landmark_model],
                     "smooth_landmarks": False, "enable_segmentation": False,
                     "smooth_segmentation": False, "use_prev_landmarks": False},
        calculator_params={
            "posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh":
                float(min_detection_confidence),
            "poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__"
            "ThresholdingCalculator.threshold": float(min_tracking_confidence)},
        outputs=["pose_landmarks"])


class _Tracker:
    """mediapipe's Pose graph in video mode (``static_image_mode=False``, as ``mp_pose.Pose``
    builds it) that also reports whether its person detector ran on the last frame: the
    graph's ``pose_detection`` stream carries a packet only on frames where the detector ran
    (the first frame, and the frame after the tracked pose was lost); on the others the
    landmark model ran on the region derived from the previous frame's landmarks."""

    def __init__(self, min_detection_confidence: float, min_tracking_confidence: float,
                 smooth: bool, landmark_model: str = "full"):
        from mediapipe.python.solutions import pose as mp_pose  # mediapipe loads on first use

        self.graph = _solution(
            landmark_model, binary_graph_path=mp_pose._BINARYPB_FILE_PATH,
            side_inputs={"model_complexity": LANDMARK_MODELS[landmark_model],
                         "smooth_landmarks": bool(smooth),
                         "enable_segmentation": False, "smooth_segmentation": False,
                         "use_prev_landmarks": True},
            calculator_params={
                "posedetectioncpu__TensorsToDetectionsCalculator.min_score_thresh":
                    float(min_detection_confidence),
                "poselandmarkbyroicpu__tensorstoposelandmarksandsegmentation__"
                "ThresholdingCalculator.threshold": float(min_tracking_confidence)},
            outputs=["pose_landmarks", "pose_detection"])
        self.detected = False  # the detector ran on the last frame (and found someone)
        #: the next frame's time in microseconds (None: mediapipe's own 30 fps clock)
        self.next_time_us: int | None = None

    def process(self, image: np.ndarray):
        if self.next_time_us is not None:
            # SolutionBase stamps each packet 33333 us after the previous one, as if every
            # video were 30 fps; its landmark smoothing (a One Euro filter) divides by these
            # steps, so stamp the frame's real time instead (strictly increasing, as mediapipe
            # requires).
            last = self.graph._simulated_timestamp
            self.graph._simulated_timestamp = max(last + 1, self.next_time_us) - 33333
        res = self.graph.process(image)
        self.detected = res.pose_detection is not None
        return res

    def close(self) -> None:
        self.graph.close()


def _run(pose, image: np.ndarray) -> np.ndarray | None:
    """(33, 3) normalised (x, y, visibility) from one mediapipe call, or None if nobody found."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with quiet_stderr():
            res = pose.process(np.ascontiguousarray(image))
    if res.pose_landmarks is None:
        return None
    return np.array([(lm.x, lm.y, lm.visibility) for lm in res.pose_landmarks.landmark],
                    dtype=float)
