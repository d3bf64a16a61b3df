"""The estimator base declares every hook; plug-ins that do not derive from it are adapted."""

from __future__ import annotations

import numpy as np
import pytest

from infantpose.errors import InputError
from infantpose.models import EstimatorBase, as_estimator, create_estimator, predict_batch
from infantpose.poses import Poses
from infantpose.schemas import get_schema


class Bare:
    """A plug-in with nothing but predict."""

    name = "bare"
    schema = get_schema("coco17")

    def predict(self, image, boxes=None):
        return Poses.empty(self.schema, 1, 1)


class Hooked(Bare):
    """A plug-in with hooks of its own and a rotation_hint attribute."""

    def __init__(self):
        self.calls = []
        self.rotation_hint = None

    def set_mode(self, mode):
        self.calls.append(("mode", mode))

    def set_tracking(self, on):
        self.calls.append(("tracking", on))

    def close(self):
        self.calls.append(("close",))


def create_bare(schema=None, weights=None):
    return Bare()


def test_base_hooks_do_nothing_and_batch_loops():
    est = as_estimator(Bare())
    assert isinstance(est, EstimatorBase) and est.name == "bare"
    assert not est.accepts_rotation_hint
    est.set_mode("video")
    est.set_tracking(True)
    est.set_rotation_hint(90)
    est.close()
    with pytest.raises(InputError, match="image' or 'video"):
        est.set_mode("film")
    img = np.zeros((8, 8, 3), np.uint8)
    assert predict_batch(est, [img, img, img]).n_frames == 3
    assert as_estimator(est) is est


def test_adapter_uses_the_plugins_own_hooks():
    inner = Hooked()
    est = as_estimator(inner)
    assert est.accepts_rotation_hint  # it has a rotation_hint attribute
    est.set_mode("video")
    est.set_tracking(False)
    est.set_rotation_hint(180)
    with est:
        pass
    assert inner.calls == [("mode", "video"), ("tracking", False), ("close",)]
    assert inner.rotation_hint == 180
    assert est.calls is inner.calls  # other attributes pass through


def test_create_estimator_loads_a_factory_by_module_path():
    est = create_estimator("test_estimator_base:create_bare")
    assert isinstance(est, EstimatorBase) and est.name == "bare"
    with pytest.raises(InputError, match="cannot load model factory"):
        create_estimator("no_such_module_xyz:create")


def test_an_estimator_without_predict_cannot_be_built():
    class NoPredict(EstimatorBase):
        schema = get_schema("coco17")

    with pytest.raises(TypeError, match="predict"):
        NoPredict()
