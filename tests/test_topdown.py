"""Top-down inference: exact crop geometry, flip-test alignment, estimators and the CLI."""

import numpy as np

from infantpose.models.tracker import Hint
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from infantpose.errors import InputError
from infantpose.models import create_estimator
from infantpose.geometry import box_transform, crop_image
from infantpose.models.checkpoint import LoadedModel, save_checkpoint
from infantpose.models.heatmaps import heatmap_to_input, input_to_heatmap
from infantpose.models.topdown import TorchPoseEstimator
from infantpose.schemas import COCO17

torch.set_num_threads(1)


class BlobModel(nn.Module):
    """Every heatmap channel = the input's brightness pooled at stride 4: peaks on bright blobs."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, x):
        return F.avg_pool2d(x.mean(1, keepdim=True), 4).repeat(1, self.k, 1, 1)


def _blob_image(w, h, centres, sigma=6.0):
    yy, xx = np.mgrid[0:h, 0:w] + 0.5  # continuous pixel centres
    img = np.zeros((h, w))
    for cx, cy in centres:
        img += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    return np.repeat((255 * img.clip(0, 1))[..., None], 3, axis=2).astype(np.uint8)


def _estimator(**kw):
    loaded = LoadedModel(BlobModel(17), "test", COCO17, (96, 128), 4, "none", "dark", 1.5)
    return TorchPoseEstimator(loaded, detector="none", **kw)


def test_crop_geometry_is_exact():
    img = np.zeros((50, 60, 3), np.uint8)
    img[20, 30] = 255  # pixel covering [30, 31) × [20, 21): centre (30.5, 20.5)
    m = box_transform([20, 10, 44, 42], (24, 32), margin=1.0)  # scale 1, same aspect
    crop = crop_image(img, m, (24, 32))
    cx, cy = m @ np.array([30.5, 20.5, 1.0])
    assert crop[int(cy), int(cx), 0] == 255 and crop.sum() == 255 * 3
    assert heatmap_to_input(input_to_heatmap(np.array([13.0, 7.0]), 4), 4) == pytest.approx([13, 7])


@pytest.mark.parametrize("flip", [False, True])
def test_keypoints_map_back_to_image(flip):
    img = _blob_image(200, 150, [(70.3, 60.8)])
    est = _estimator(flip_test=flip)
    p = est.predict(img, np.array([[30, 20, 120, 110]]))
    assert p.data.shape == (1, 1, 17, 3) and p.schema.name == "coco17"
    assert np.abs(p.data[0, 0, :, :2] - [70.3, 60.8]).max() < 0.6
    whole = est.predict(img)  # no boxes, detector "none": the whole frame
    assert np.abs(whole.data[0, 0, :, :2] - [70.3, 60.8]).max() < 1.0


def test_batch_several_boxes_and_sizes():
    a = _blob_image(200, 150, [(50, 40), (150, 100)])
    b = _blob_image(120, 160, [(60, 90)])
    est = _estimator(batch_size=2)
    p = est.predict_batch([a, b], [np.array([[20, 10, 80, 70], [120, 70, 180, 130]]), None])
    assert p.data.shape == (2, 2, 17, 3)
    assert np.abs(p.data[0, 0, 0, :2] - [50, 40]).max() < 1.0
    assert np.abs(p.data[0, 1, 0, :2] - [150, 100]).max() < 1.0
    assert np.abs(p.data[1, 0, 0, :2] - [60, 90]).max() < 1.0
    assert np.isnan(p.data[1, 1]).all() or (p.data[1, 1, :, 2] == 0).all()  # padded instance
    assert p.image_sizes == [(200, 150), (120, 160)]
    conv = _estimator(schema="infant22").predict(a, np.array([[20, 10, 80, 70]]))
    assert conv.schema.name == "infant22" and conv.data.shape == (1, 1, 22, 3)


def test_blazepose_torch_pretrained_and_finetuned_checkpoint(tmp_path):
    import matplotlib.image as mimage
    from matplotlib import cbook

    from infantpose.models.blazepose_net import BlazePoseNet

    img = mimage.imread(cbook.get_sample_data("grace_hopper.jpg"))
    est = create_estimator("blazepose-torch", schema="coco17", detector="none", flip_test=False)
    p = est.predict(img)
    assert p.data.shape == (1, 1, 17, 3)
    nose = p.data[0, 0, 0]
    # the pretrained network finds the face in the upper half, roughly centred
    assert 150 < nose[0] < 360 and 100 < nose[1] < 330 and nose[2] > 0.5
    net = BlazePoseNet(schema="infant22")
    ck = save_checkpoint(tmp_path / "bp.pt", net, "infant22", config={"note": "test"})
    est2 = create_estimator("blazepose-torch", schema="infant22", weights=str(ck), detector="none")
    q = est2.predict(img)
    assert q.data.shape == (1, 1, 22, 3) and np.isfinite(q.data[0, 0, :, :2]).all()
    with pytest.raises(InputError, match="not pose_resnet"):
        create_estimator("pose-resnet", weights=str(ck))


def test_pose_resnet_needs_weights_and_cli_predict(tmp_path):
    import cv2
    from typer.testing import CliRunner

    from infantpose.cli import app
    from infantpose.models.pose_resnet import PoseResNet

    with pytest.raises(InputError, match="weights"):
        create_estimator("pose-resnet")
    ck = save_checkpoint(tmp_path / "pr.pt", PoseResNet(17, 18, (64, 64), deconv_channels=16),
                         "coco17")
    img = _blob_image(80, 60, [(40, 30)])
    cv2.imwrite(str(tmp_path / "a.png"), img)
    res = CliRunner().invoke(app, ["predict", str(tmp_path / "a.png"), "--out",
                                   str(tmp_path / "out"), "--model", "pose-resnet", "--weights",
                                   str(ck), "--quiet"])
    assert res.exit_code == 0, res.output
    assert any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_rotated_crops_map_back_exactly(rotation):
    m = box_transform([10, 20, 110, 70], (64, 96), 1.25, rotation)
    # the box centre lands in the crop centre; a point right of it moves by the quarter turn
    assert m @ np.array([60.0, 45.0, 1.0]) == pytest.approx([32, 48])
    d = m[:, :2] @ np.array([1.0, 0.0])
    expected = {90: [0, -1], 180: [-1, 0], 270: [0, 1]}[rotation]
    assert d / np.linalg.norm(d) == pytest.approx(expected, abs=1e-12)
    img = _blob_image(200, 150, [(70.3, 60.8)])
    est = _estimator()
    view = est.tracker().view  # a tracker's rotation hint: the crop is turned by it
    p = view(img, np.array([[30, 20, 120, 110]]), Hint(rotation))
    assert p.rotation[0].tolist() == [rotation]
    assert np.abs(p.data[0, 0, :, :2] - [70.3, 60.8]).max() < 0.6


def test_roi_transform_points_up_vector_up():
    from infantpose.geometry import roi_transform

    m = roi_transform([100.0, 50.0], 40.0, [1.0, 0.0], (256, 256))  # body pointing right
    assert m @ np.array([100.0, 50.0, 1.0]) == pytest.approx([128, 128])
    tip = m @ np.array([110.0, 50.0, 1.0])  # 10 px along "up" → 64 px above the centre
    assert tip == pytest.approx([128, 128 - 64])


def test_blazepose_torch_roi_refinement_runs():
    import matplotlib.image as mimage
    from matplotlib import cbook

    img = mimage.imread(cbook.get_sample_data("grace_hopper.jpg"))
    est = create_estimator("blazepose-torch", schema="blazepose33", detector="none",
                           flip_test=False, refine_roi=1)
    p = est.predict(img)
    assert p.meta["roi_refined"] == 1 and p.data.shape == (1, 1, 33, 3)
    assert np.isfinite(p.data[0, 0, :, :2]).all()


def test_upright_turn_matches_box_transform_rotation():
    from infantpose.geometry import upright_turn

    for up, expected in (([0, -1], 0), ([1, 0], 90), ([0, 1], 180), ([-1, 0], 270),
                         ([0.9, -0.3], 90)):
        rot = upright_turn(up)
        assert rot == expected
        m = box_transform([0, 0, 10, 10], (32, 32), 1.0, rot)
        d = m[:, :2] @ np.asarray(up, dtype=float)
        assert d[1] < 0 and abs(d[1]) >= abs(d[0])  # "up" points up in the rotated crop


class TopHeavyBlobModel(nn.Module):
    """Like BlobModel, but a blob scores higher the nearer it is to the top of the crop: a model
    that is confident only when the infant is upright."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, x):
        hm = F.avg_pool2d(x.mean(1, keepdim=True), 4)
        rows = torch.linspace(1.0, 0.2, hm.shape[2]).view(1, 1, -1, 1)
        return (hm * rows).repeat(1, self.k, 1, 1)


def test_upright_checkpoints_try_quarter_turns_and_keep_the_confident_one(tmp_path):
    from infantpose.models.blazepose_net import BlazePoseNet
    from infantpose.models.checkpoint import load_checkpoint

    ck = save_checkpoint(tmp_path / "up.pt", BlazePoseNet(schema="coco17"), "coco17", crop="upright")
    assert load_checkpoint(ck).crop == "upright"
    assert load_checkpoint(save_checkpoint(tmp_path / "box.pt", BlazePoseNet(schema="coco17"),
                                           "coco17")).crop == "box"
    with pytest.raises(ValueError, match="crop"):
        save_checkpoint(tmp_path / "bad.pt", BlazePoseNet(schema="coco17"), "coco17", crop="tilted")

    blob = (40.0, 100.0)  # on the left of the box: upright after a quarter turn
    img = _blob_image(200, 200, [blob])
    box = [20.0, 20.0, 180.0, 180.0]
    tops = {r: (box_transform(box, (96, 96), 1.25, r)[:, :2] @ np.array(blob)
                + box_transform(box, (96, 96), 1.25, r)[:, 2])[1] for r in (0, 90, 180, 270)}
    expected = min(tops, key=tops.get)
    loaded = LoadedModel(TopHeavyBlobModel(17), "test", COCO17, (96, 96), 4, "none", "dark", 1.5,
                         crop="upright")
    est = TorchPoseEstimator(loaded, detector="none", flip_test=False)
    p = est.predict(img, np.array([box]))
    assert p.rotation[0].tolist() == [expected]
    assert np.abs(p.data[0, 0, :, :2] - blob).max() < 1.5
    view = est.tracker().view  # a tracker's hint: only that orientation is tried
    assert view(img, np.array([box]), Hint(0)).rotation[0].tolist() == [0]
    assert est.predict(img, np.array([box])).rotation[0].tolist() == [expected]  # no state kept
