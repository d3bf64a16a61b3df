"""Training building blocks: gradient reversal, gradient masking, augmentation geometry, config."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from infantpose.errors import InputError
from infantpose.train.augment import AugmentConfig
from infantpose.train.config import config_from_dict, load_config
from infantpose.geometry import box_transform
from infantpose.train.data import Item, TrainData
from infantpose.train.domain import DomainClassifier, GradientReversal, domain_loss, grad_reverse
from infantpose.train.loop import _lr_factor, activation_for
from infantpose.train.losses import heatmap_loss

torch.set_num_threads(1)


def test_gradient_reversal_flips_and_scales_gradients():
    x = torch.randn(3, 4, requires_grad=True)
    (x * torch.arange(4.0)).sum().backward()
    plain = x.grad.clone()
    x.grad = None
    y = grad_reverse(x, 0.5)
    assert torch.equal(y, x)  # identity forward
    (y * torch.arange(4.0)).sum().backward()
    assert torch.allclose(x.grad, -0.5 * plain)
    x.grad = None
    (GradientReversal(2.0)(x) * torch.arange(4.0)).sum().backward()
    assert torch.allclose(x.grad, -2.0 * plain)


def test_domain_classifier_gradient_through_reversal_is_opposite():
    torch.manual_seed(0)
    clf = DomainClassifier(8, hidden=16, dropout=0.0)
    f = torch.randn(4, 8, 5, 5, requires_grad=True)
    dom = torch.tensor([1.0, 0.0, 1.0, 0.0])
    domain_loss(clf(f), dom).backward()
    direct = f.grad.clone()
    f.grad = None
    domain_loss(clf(grad_reverse(f, 1e-3)), dom).backward()
    assert torch.allclose(f.grad, -1e-3 * direct, atol=1e-9)
    assert direct.abs().sum() > 0


@pytest.mark.parametrize("loss", ["mse", "bce", "kce"])
def test_masked_keypoints_get_zero_gradient_through_the_head(loss):
    torch.manual_seed(0)
    head = torch.nn.Conv2d(6, 3, 1)
    feats = torch.randn(2, 6, 8, 8)
    target = torch.rand(2, 3, 8, 8)
    weight = torch.tensor([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    heatmap_loss(loss, head(feats), target, weight).backward()
    assert torch.all(head.weight.grad[1] == 0) and head.bias.grad[1] == 0
    assert head.weight.grad[0].abs().sum() > 0 and head.weight.grad[2].abs().sum() > 0


def _dot_item(schema, size=200):
    """An image with a distinct bright dot at each of three labelled keypoints."""
    k = schema.num_keypoints
    img = np.zeros((size, size, 3), np.uint8)
    xy = np.full((k, 2), np.nan)
    w = np.zeros(k, np.float32)
    li, ri = schema.index("left_wrist"), schema.index("right_wrist")
    for i, (x, y) in zip((li, ri, schema.index("nose")), [(60.5, 80.5), (140.5, 90.5), (100.5, 40.5)]):
        xy[i] = (x, y)
        w[i] = 1
        img[int(y) - 2:int(y) + 3, int(x) - 2:int(x) + 3] = 255
    to_cache = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    return Item(img, to_cache, xy, w, np.array([30.0, 20.0, 170.0, 180.0]), "real", 0), li, ri


def test_augmented_samples_keep_keypoints_on_their_pixels_and_swap_sides():
    from infantpose.schemas import INFANT22

    item, _, _ = _dot_item(INFANT22)
    aug = AugmentConfig(brightness=0, contrast=0, saturation=0, hue=0, blur=0, noise=0, jpeg=0,
                        occlusion=0, flip=0.5)
    data = TrainData([item], INFANT22, (128, 128), stride=4, sigma=1.0, augment=aug)
    flips = 0
    for seed in range(12):
        rng = np.random.default_rng(seed)
        _, flip = data.transform(item, np.random.default_rng(seed))
        img, target, w, dom = data.sample(0, rng)
        assert dom == 0.0 and target.shape == (22, 32, 32)
        flips += flip
        for k in np.flatnonzero(w > 0):
            peak = np.unravel_index(np.argmax(target[k]), target[k].shape)  # (v, u)
            x, y = (peak[1] + 0.5) * 4, (peak[0] + 0.5) * 4
            patch = img[max(0, int(y) - 3):int(y) + 4, max(0, int(x) - 3):int(x) + 4]
            assert patch.max() > 150, (seed, k)
    assert 0 < flips < 12


def test_unaugmented_sample_matches_inference_crop():
    from infantpose.geometry import box_transform, crop_image
    from infantpose.schemas import INFANT22

    item, _, _ = _dot_item(INFANT22)
    data = TrainData([item], INFANT22, (128, 128), stride=4, sigma=1.0)
    img, _, _, _ = data.sample(0, None)
    ref = crop_image(item.image, box_transform(item.box, (128, 128), 1.25), (128, 128))
    assert np.abs(img.astype(int) - ref.astype(int)).max() <= 1


def test_flip_swaps_left_and_right_channels():
    from infantpose.schemas import INFANT22

    item, li, ri = _dot_item(INFANT22)
    aug = AugmentConfig.none()
    flip_only = AugmentConfig(**{**aug.__dict__, "flip": 1.0})
    plain = TrainData([item], INFANT22, (128, 128), 4, 1.0, aug).sample(0, np.random.default_rng(0))
    flipped = TrainData([item], INFANT22, (128, 128), 4, 1.0, flip_only).sample(0, np.random.default_rng(0))
    def pk(t):
        return np.unravel_index(np.argmax(t), t.shape)

    v, u = pk(plain[1][li])
    v2, u2 = pk(flipped[1][ri])  # right channel of the mirror = left wrist mirrored
    assert v == v2 and u2 == 31 - u


def test_lr_schedules():
    assert _lr_factor("cosine", 0, 100) <= 0.2  # warm-up
    assert _lr_factor("cosine", 10, 100) > _lr_factor("cosine", 90, 100)
    assert _lr_factor("step", 70, 100) == pytest.approx(0.1)
    assert activation_for("kce", "blazepose") == "softmax"
    assert activation_for("mse", "pose_resnet") == "none"


def test_bad_configs_fail_with_one_line(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("synthetic: {n: 4}\noptim: {epoch: 3}\n")
    with pytest.raises(InputError, match=r"unknown key optim\.epoch") as e:
        load_config(cfg)
    assert "\n" not in str(e.value)
    cfg.write_text("data: [missing.json]\n")
    with pytest.raises(InputError, match="training data not found"):
        load_config(cfg)
    cfg.write_text("synthetic: {n: 4}\nloss: l1\n")
    with pytest.raises(InputError, match="loss must be one of"):
        load_config(cfg)
    with pytest.raises(InputError, match="unknown preset"):
        config_from_dict({"synthetic": {"n": 4}}, preset="fastest")
    with pytest.raises(InputError, match="needs both real and synthetic"):
        config_from_dict({"synthetic": {"n": 4}, "adapt": {"domain_adaptation": True}})
    with pytest.raises(InputError, match="no training data"):
        config_from_dict({})
    cfg.write_text(": [")
    with pytest.raises(InputError, match="invalid YAML"):
        load_config(cfg)


def test_presets_merge_and_cli_values_win():
    c = config_from_dict({"synthetic": {"n": 4}, "optim": {"batch_size": 2}}, preset="quick")
    assert c.optim.batch_size == 2 and c.optim.max_steps == 1000 and c.model.freeze == ["fidip"]
    assert c.optim.time_limit == 9.0
    full = config_from_dict({"synthetic": {"n": 4}, "preset": "quick"}, preset="full")
    assert full.optim.max_steps == 6000 and full.optim.time_limit == 55.0 and full.optim.lr == 3e-5


def _lying_item(schema, angle_deg: float):
    """A labelled infant lying at ``angle_deg`` (0 = head up): hips at (100, 100), shoulders 40 px
    further along the body axis, a head point beyond; nothing else labelled."""
    k = schema.num_keypoints
    t = np.deg2rad(angle_deg)
    axis = np.array([np.sin(t), -np.cos(t)])  # hip -> shoulder direction in image coordinates
    side = np.array([np.cos(t), np.sin(t)])
    xy = np.full((k, 2), np.nan)
    w = np.zeros(k, np.float32)
    centre = np.array([100.0, 100.0])
    pts = {"left_hip": centre + 10 * side, "right_hip": centre - 10 * side,
           "left_shoulder": centre + 40 * axis + 12 * side,
           "right_shoulder": centre + 40 * axis - 12 * side, "nose": centre + 60 * axis}
    for name, p in pts.items():
        xy[schema.index(name)] = p
        w[schema.index(name)] = 1
    img = np.zeros((200, 200, 3), np.uint8)
    box = np.array([50.0, 50.0, 150.0, 150.0])
    return Item(img, np.array([[1.0, 0, 0], [0, 1.0, 0]]), xy, w, box, "synthetic", 0)


@pytest.mark.parametrize("angle", [0.0, 75.0, 180.0, 250.0])
def test_upright_crops_put_the_body_upright_on_the_mid_hip(angle):
    from infantpose.schemas import INFANT22

    item = _lying_item(INFANT22, angle)
    data = TrainData([item], INFANT22, (128, 128), stride=4, sigma=1.0, crop="upright")
    m, flip = data.transform(item, None)
    assert not flip
    xy = item.keypoints @ m[:, :2].T + m[:, 2]
    hip = xy[[INFANT22.index("left_hip"), INFANT22.index("right_hip")]].mean(0)
    sh = xy[[INFANT22.index("left_shoulder"), INFANT22.index("right_shoulder")]].mean(0)
    assert np.allclose(hip, [64, 64], atol=1e-6)  # mid-hip at the crop centre
    assert abs(sh[0] - hip[0]) < 1e-6 and sh[1] < hip[1]  # shoulders straight above
    box = TrainData([item], INFANT22, (128, 128), stride=4, sigma=1.0, crop="box")
    mb, _ = box.transform(item, None)
    assert np.allclose(mb, box_transform(item.box, (128, 128), 1.25))


def test_upright_augmentation_only_jitters_the_orientation():
    from infantpose.schemas import INFANT22

    item = _lying_item(INFANT22, 130.0)
    aug = AugmentConfig(rotation=30.0, flip=0.0)
    data = TrainData([item], INFANT22, (128, 128), stride=4, sigma=1.0, augment=aug,
                     crop="upright")
    for seed in range(10):
        m, _ = data.transform(item, np.random.default_rng(seed))
        xy = item.keypoints @ m[:, :2].T + m[:, 2]
        hip = xy[[INFANT22.index("left_hip"), INFANT22.index("right_hip")]].mean(0)
        sh = xy[[INFANT22.index("left_shoulder"), INFANT22.index("right_shoulder")]].mean(0)
        up = sh - hip
        tilt = np.degrees(np.arctan2(up[0], -up[1]))
        assert abs(tilt) <= 30.0 + 1e-6, seed
