"""The one top-down estimator (``models/topdown_estimator.py``), driven by a runner of numpy code.

The runner answers each crop with the same map for every keypoint: the crop's brightness,
weighted towards the crop's top edge. On an image holding one bright square every keypoint
lands on the square, whichever crop it came through, and its score is higher the nearer the
square sits to the top of the crop: so the quarter turn that places it highest must win.
"""

import numpy as np
import pytest

from infantpose.models.codecs import HeatmapCodec
from infantpose.models.onnx_model import OnnxPoseEstimator
from infantpose.models.person_finder import PersonFinder
from infantpose.models.topdown import TorchPoseEstimator
from infantpose.models.topdown_estimator import Placement, TopDownEstimator
from infantpose.schemas import COCO17

SIZE = (64, 64)  # network input (w, h)
STRIDE = 4


class TopHeavyBrightness:
    """Crops → one (M, K, H, W) map per keypoint: brightness × (1 − row / H), in [0, 1]."""

    one_pass = True

    def __init__(self):
        self.calls = []

    def __call__(self, crops):
        self.calls.append(len(crops))
        m, h, w, _ = crops.shape
        g = crops.astype(float).mean(-1).reshape(m, h // STRIDE, STRIDE, w // STRIDE, STRIDE)
        g = g.mean((2, 4)) / 255.0
        ramp = 1.0 - np.arange(g.shape[1])[:, None] / g.shape[1]
        return [np.repeat((g * ramp)[:, None], COCO17.num_keypoints, axis=1)]


def _estimator(boxes="box", **kw):
    opts = {"flip_test": False, "detector": "none", **kw}
    return TopDownEstimator(
        name="fake", model_schema=COCO17, schema=COCO17, runner=TopHeavyBrightness(),
        codec=HeatmapCodec(SIZE, STRIDE, 2.0, "argmax", "sigmoid"), input_size=SIZE,
        margin=1.0, finder=PersonFinder(cache_size=0), placement=Placement(
            found="box", boxes=boxes, pose_rotation=False), **opts)


def _image(x, y, size=(120, 100)):
    """A dark image with an 8-pixel bright square whose centre is (x, y)."""
    img = np.zeros((size[1], size[0], 3), np.uint8)
    img[y - 4:y + 4, x - 4:x + 4] = 255
    return img


BOX = np.array([[10.0, 10.0, 110.0, 90.0]])


@pytest.mark.parametrize("spot", [(30, 50), (90, 50), (60, 20), (60, 80)])
def test_the_turn_that_lifts_the_spot_highest_wins_and_keypoints_land_on_it(spot):
    img = _image(*spot)
    est = _estimator("turns")
    p = est.predict(img, BOX)
    assert est.runner.calls == [4]  # the four turns of the box: one batch
    rot = int(p.rotation[0, 0])
    # each turn on its own (a tracker's hint): the chosen one scores highest, and is the same pose
    by_turn = {r: est._predict_frames([img], [BOX], hint=r)[0] for r in (0, 90, 180, 270)}
    best = max(by_turn, key=lambda r: by_turn[r].data[0, 0, :, 2].mean())
    assert rot == best
    np.testing.assert_array_equal(p.data, by_turn[rot].data)
    # (within two heatmap cells: a cell is 4 crop pixels, 6.25 image pixels here)
    np.testing.assert_allclose(p.data[0, 0, :, :2], np.broadcast_to(spot, (17, 2)), atol=12.5)
    # "box": the upright crop only, whose keypoints also land on the spot
    upright = _estimator("box").predict(img, BOX)
    assert upright.rotation.tolist() == [[0]]
    np.testing.assert_array_equal(upright.data, by_turn[0].data)


def test_spot_on_the_left_is_lifted_by_a_clockwise_crop():
    """A spot at the box's left edge rises to the crop's top when the crop turns 270° ccw."""
    p = _estimator("turns").predict(_image(20, 50), BOX)
    assert p.rotation.tolist() == [[270]]


def test_batch_is_the_frames_one_by_one_in_one_runner_call():
    imgs = [_image(30, 50), _image(90, 20), _image(60, 80)]
    boxes = [BOX, None, np.array([[0.0, 0.0, 60.0, 60.0], [50.0, 40.0, 120.0, 100.0]])]
    est = _estimator("turns")
    batch = est.predict_batch(imgs, boxes)
    assert est.runner.calls == [4 + 1 + 8]
    assert batch.n_frames == 3
    for i, (im, b) in enumerate(zip(imgs, boxes)):
        one = est.predict(im, b)
        n = one.n_instances
        np.testing.assert_array_equal(batch.data[i, :n], one.data[0])
        np.testing.assert_array_equal(batch.rotation[i, :n], one.rotation[0])  # per instance
    with pytest.raises(ValueError):
        est.predict_batch(imgs, boxes[:2])


def test_meta_holds_the_estimators_keys_in_order_with_this_calls_values():
    est = _estimator(meta_keys={"model": None, "weights": "w.onnx", "flip_test": None})
    p = est.predict(_image(30, 50), BOX)
    assert list(p.meta) == ["model", "weights", "flip_test"]
    assert p.meta == {"model": "fake", "weights": "w.onnx", "flip_test": False}
    assert p.rotation.tolist() == [[0]]  # the instance's turn: a field, not meta
    est.flip_test = True  # a live setting, read at each call
    assert est.predict(_image(30, 50), BOX).meta["flip_test"] is True


def test_flip_test_mirrors_in_the_same_call_and_keeps_a_symmetric_answer():
    """A spot on the crop's vertical centre line looks the same mirrored: the flip test must
    keep its place (the mirrored maps are flipped back before averaging)."""
    est = _estimator("box")
    img = _image(60, 30)
    plain = est.predict(img, BOX)
    est.flip_test = True
    flipped = est.predict(img, BOX)
    assert est.runner.calls[-1] == 2  # the crop and its mirror image, one batch
    np.testing.assert_allclose(flipped.data[0, 0, :, :2], plain.data[0, 0, :, :2], atol=1.0)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        Placement(found="nowhere")
    with pytest.raises(ValueError):
        Placement(boxes="all")
    from infantpose.errors import InputError

    with pytest.raises(InputError, match="detector"):
        _estimator(detector="yolo")


def test_the_torch_and_onnx_estimators_are_this_class_and_add_no_behaviour():
    for cls in (TorchPoseEstimator, OnnxPoseEstimator):
        assert issubclass(cls, TopDownEstimator)
        own = {k for k, v in vars(cls).items() if callable(v) and not k.startswith("__")}
        assert own == set() and "__init__" in vars(cls), (cls.__name__, own)
