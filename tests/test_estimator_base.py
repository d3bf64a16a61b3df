"""One estimator protocol: ``predict(image, boxes=None)``; plug-ins get ``close`` and ``with``
from the one adapter; built-in estimators keep no state between calls."""

from __future__ import annotations

import numpy as np
import pytest

from infantpose.errors import InputError
from infantpose.models import Estimator, PluginEstimator, create_estimator
from infantpose.poses import Poses
from infantpose.schemas import get_schema


class Bare:
    """A plug-in with nothing but predict."""

    name = "bare"
    schema = get_schema("coco17")

    def predict(self, image, boxes=None):
        return Poses.empty(self.schema, 1, 1)


class Closing(Bare):
    """A plug-in with a close of its own and another attribute."""

    def __init__(self):
        self.calls = []

    def close(self):
        self.calls.append("close")


def create_bare(schema=None, weights=None):
    return Bare()


def create_closing(schema=None, weights=None):
    return Closing()


def create_nothing(schema=None, weights=None):
    return object()


def test_a_bare_plugin_is_adapted_and_satisfies_the_protocol():
    est = create_estimator("test_estimator_base:create_bare")
    assert isinstance(est, PluginEstimator) and isinstance(est, Estimator)
    assert est.name == "bare" and est.schema.name == "coco17"
    with est:  # closing a plug-in without close does nothing
        assert est.predict(np.zeros((8, 8, 3), np.uint8)).n_frames == 1
    # the old hooks are gone: nothing to switch between images and videos
    for hook in ("set_mode", "set_tracking", "set_rotation_hint", "set_frame_time"):
        assert not hasattr(est, hook)


def test_the_adapter_closes_the_plugin_and_passes_its_attributes():
    est = create_estimator("test_estimator_base:create_closing")
    with est:
        pass
    assert est.inner.calls == ["close"] and est.calls is est.inner.calls


def test_create_estimator_refuses_what_is_not_an_estimator():
    with pytest.raises(InputError, match="cannot load model factory"):
        create_estimator("no_such_module_xyz:create")
    with pytest.raises(InputError, match="no predict"):
        create_estimator("test_estimator_base:create_nothing")


def test_built_in_estimators_are_the_protocol_and_have_no_video_hooks():
    from infantpose.models.blazepose import BlazePose
    from infantpose.models.movenet import MoveNet
    from infantpose.models.onnx_model import OnnxPoseEstimator
    from infantpose.models.topdown import TorchPoseEstimator

    for cls in (BlazePose, MoveNet, OnnxPoseEstimator, TorchPoseEstimator):
        for hook in ("set_mode", "set_tracking", "set_rotation_hint", "set_frame_time"):
            assert not hasattr(cls, hook), (cls.__name__, hook)
        assert callable(cls.predict) and callable(cls.close) and callable(cls.tracker)
