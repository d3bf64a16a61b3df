"""The Python entry points a scientist calls from a notebook, one line each.

``PoseModel`` turns a model name or a checkpoint path into a callable (image or images in,
``Poses`` out), ``predict_video`` runs the same path as ``infantpose predict`` on a video, and
``load_poses`` / ``save_poses`` / ``load_labels`` / ``save_labels`` choose the file format from
the extension. Everything returns the one data model (:class:`~infantpose.poses.Poses`, or a
:class:`~infantpose.datasets.LabeledDataset` for labels).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.errors import InputError
from infantpose.poses import Poses
from infantpose.schemas import Schema

__all__ = ["PoseModel", "load_labels", "load_poses", "predict_video", "save_labels",
           "save_poses"]

class PoseModel:
    """A pose model, ready to call on images.

    ``model``: None for the default (MoveNet Thunder), a registered name (``"blazepose"``, ``"blazepose-heavy"`` or ``"heavy"``,
    ``"movenet"``, ``"blazepose-torch"``, ... see ``infantpose models`` and
    :func:`infantpose.models.list_estimators`), or a checkpoint path (``runs/x/model.pt`` from
    ``infantpose train``, or a ``.onnx`` file) that selects its own model. ``schema``: the
    keypoints to answer in (``"coco17"``, ``"infant22"``, ``"blazepose33"``; a network's own by
    default); keypoints a network lacks stay missing. ``options`` go to the model's factory
    (e.g. ``mirror_test=False``).

    Calling it on one image (an H×W×3 uint8 RGB array, or a path) gives a one-frame ``Poses``;
    on a list of images, one frame per image (``frame_names`` are the paths where given).
    """

    def __init__(self, model: str | os.PathLike | None = None,
                 schema: str | Schema | None = None, **options: Any):
        from infantpose.models import create_estimator
        from infantpose.models.resolve import resolve_model

        from infantpose.models.resolve import DEFAULT_MODEL

        text = os.fspath(DEFAULT_MODEL if model is None else model)
        is_file = Path(text).suffix.lower() in (".pt", ".pth", ".onnx") or Path(text).is_file()
        if is_file and not Path(text).is_file():
            raise InputError(text, "weights file not found")
        weights = text if is_file else None
        self.name = resolve_model(None if is_file else text, weights)
        self.estimator = create_estimator(self.name, schema=schema, weights=weights, **options)
        self.schema = self.estimator.schema

    def __call__(self, images: Any, boxes: np.ndarray | None = None) -> Poses:
        if isinstance(images, (list, tuple)):
            from infantpose.frames import Frame, per_image, run_frames, stack_images

            names = [os.fspath(im) if isinstance(im, (str, os.PathLike)) else f"image{i}"
                     for i, im in enumerate(images)]
            frames = (Frame(i, names[i], self._array(im)) for i, im in enumerate(images))
            results = run_frames(frames, per_image(self.estimator, lambda _f: boxes))
            if not results:
                raise InputError(None, "no images given")
            return stack_images(results, names)
        return self.estimator.predict(self._array(images), boxes)

    @staticmethod
    def _array(image: Any) -> np.ndarray:
        """An image path read upright, or an H×W×3 uint8 RGB array checked."""
        from infantpose.io.images import read_image

        if isinstance(image, (str, os.PathLike)):
            array = read_image(image)
        elif isinstance(image, np.ndarray):
            array = image
        else:
            raise InputError(None, f"an image is an H×W×3 uint8 array or a path, not "
                                   f"{type(image).__name__}")
        if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
            raise InputError(None, f"an image array must be H×W×3 uint8 RGB, got shape "
                                   f"{array.shape} and dtype {array.dtype}")
        return np.ascontiguousarray(array)

    def close(self) -> None:
        self.estimator.close()

    def __enter__(self) -> PoseModel:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PoseModel({self.name!r}, schema={self.schema.name!r})"


def predict_video(path: str | os.PathLike, model: PoseModel | str | None = None,
                  schema: str | Schema | None = None, tracking: bool = True,
                  show_progress: bool = False) -> Poses:
    """Every frame of the video at ``path``, the way ``infantpose predict`` runs it (the
    infant followed from frame to frame; corrupt frames skipped and counted in ``meta``).
    ``model`` None: the video default (the mediapipe runtime, fast in its own video mode)."""
    from infantpose.video.tracking import predict_video as _track

    from infantpose.models.resolve import DEFAULT_VIDEO_MODEL

    own = not isinstance(model, PoseModel)
    pm = PoseModel(DEFAULT_VIDEO_MODEL if model is None else model, schema=schema) if own \
        else model
    try:
        return _track(pm.estimator, path, tracking=tracking, show_progress=show_progress)
    finally:
        if own:
            pm.close()


def load_poses(path: str | os.PathLike, fps: float | None = None) -> Poses:
    """Poses from an infantpose ``.json``, SLEAP ``.slp`` or analysis ``.h5``, NWB ``.nwb``,
    movement ``.nc`` or DeepLabCut predictions ``.csv`` (``.h5`` with PyTables). ``fps``: the
    frame rate of files that hold none (DeepLabCut, SLEAP analysis)."""
    from infantpose.io.posefiles import read_pose_file

    return read_pose_file(path, fps=fps)


def save_poses(poses: Poses, path: str | os.PathLike, format: str | None = None,
               **nwb: Any) -> Path:
    """Write ``poses`` (format from the extension, or ``format``: json, csv, slp, nwb,
    movement, dlc), atomically. For NWB, ``nwb`` keywords describe the infant and session
    (``subject_id``, ``subject_age`` such as ``"P12W"``, ``subject_sex``,
    ``session_description``, ``experimenter``, ``institution``; see
    :class:`infantpose.io.nwb.NwbInfo`)."""
    from infantpose.io.nwb import NwbInfo
    from infantpose.io.posefiles import write_pose_file

    try:
        info = NwbInfo.from_dict(nwb)
    except TypeError as e:
        raise InputError(path, f"save_poses: {e}") from None
    return write_pose_file(poses, path, format, nwb=info)


def load_labels(path: str | os.PathLike, schema: str | Schema | None = None):
    """Labelled images (COCO ``.json``, a LabelMe folder, DeepLabCut ``CollectedData``) as a
    :class:`~infantpose.datasets.LabeledDataset`."""
    from infantpose.io.labels import read_labels

    return read_labels(path, schema=schema)


def save_labels(labels: Any, path: str | os.PathLike) -> Path:
    """Write labelled images as COCO keypoint JSON (``.json``), atomically."""
    from infantpose.io.coco import write_coco

    if Path(path).suffix.lower() != ".json":
        raise InputError(path, "labels are written as COCO keypoint JSON: use a .json name "
                               "(infantpose convert writes the other formats)")
    return write_coco(labels, path)
