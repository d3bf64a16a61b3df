"""Pose-ResNet: official SimpleBaseline/FiDIP state-dict layout, checkpoints, trainability."""

import numpy as np
import pytest
import torch

from infantpose.errors import InputError
from infantpose.models.heatmaps import gaussian_targets
from infantpose.models.pose_resnet import (
    PoseResNet,
    infer_depth,
    load_official_state_dict,
    pose_resnet_from_state_dict,
)
from infantpose.models.checkpoint import load_checkpoint, save_checkpoint
from infantpose.train.losses import mse_loss

torch.set_num_threads(1)


def _official_layout(depth: int, k: int = 17) -> dict:
    """A state dict with the official key names, built independently of PoseResNet."""
    sd: dict[str, torch.Tensor] = {}
    g = torch.Generator().manual_seed(0)

    def conv(name, o, i, kh):
        sd[f"{name}.weight"] = torch.randn(o, i, kh, kh, generator=g) * 0.01

    def bn(name, c):
        sd[f"{name}.weight"] = torch.rand(c, generator=g) + 0.5
        sd[f"{name}.bias"] = torch.randn(c, generator=g) * 0.1
        sd[f"{name}.running_mean"] = torch.randn(c, generator=g) * 0.1
        sd[f"{name}.running_var"] = torch.rand(c, generator=g) + 0.5
        sd[f"{name}.num_batches_tracked"] = torch.tensor(100)

    conv("conv1", 64, 3, 7)
    bn("bn1", 64)
    blocks = {18: [2, 2, 2, 2], 50: [3, 4, 6, 3]}[depth]
    bottleneck = depth >= 50
    inpl = 64
    for li, (n, planes) in enumerate(zip(blocks, [64, 128, 256, 512]), start=1):
        for b in range(n):
            pre = f"layer{li}.{b}"
            out = planes * (4 if bottleneck else 1)
            if bottleneck:
                conv(f"{pre}.conv1", planes, inpl, 1)
                bn(f"{pre}.bn1", planes)
                conv(f"{pre}.conv2", planes, planes, 3)
                bn(f"{pre}.bn2", planes)
                conv(f"{pre}.conv3", out, planes, 1)
                bn(f"{pre}.bn3", out)
            else:
                conv(f"{pre}.conv1", planes, inpl, 3)
                bn(f"{pre}.bn1", planes)
                conv(f"{pre}.conv2", planes, planes, 3)
                bn(f"{pre}.bn2", planes)
            if b == 0 and (li > 1 or inpl != out):
                conv(f"{pre}.downsample.0", out, inpl, 1)
                bn(f"{pre}.downsample.1", out)
            inpl = out
    for j in (0, 3, 6):
        sd[f"deconv_layers.{j}.weight"] = torch.randn(inpl, 256, 4, 4, generator=g) * 0.01
        bn(f"deconv_layers.{j + 1}", 256)
        inpl = 256
    sd["final_layer.weight"] = torch.randn(k, 256, 1, 1, generator=g) * 0.01
    sd["final_layer.bias"] = torch.zeros(k)
    return sd


@pytest.mark.parametrize("depth", [18, 50])
def test_official_layout_keys_match(depth):
    sd = _official_layout(depth)
    model = PoseResNet(17, depth)
    assert set(model.state_dict()) == set(sd)
    assert infer_depth(sd) == depth


def test_loads_wrapped_and_prefixed_official_weights(tmp_path):
    sd = _official_layout(18)
    path = tmp_path / "pose_resnet_18_256x192.pth"
    torch.save({"epoch": 140, "state_dict": {f"module.{k}": v for k, v in sd.items()},
                "domain_classifier.fc.weight": torch.zeros(2)}, path)
    loaded = load_checkpoint(path)
    assert loaded.architecture == "pose_resnet" and loaded.schema.name == "coco17"
    assert loaded.input_size == (192, 256)  # from the file name: 256 (h) × 192 (w)
    got = loaded.model.state_dict()
    for k, v in sd.items():
        assert torch.equal(got[k].to(v.dtype), v), k
    # extra FiDIP-style keys outside the pose network are ignored, not fatal
    model = PoseResNet(17, 18)
    ignored = load_official_state_dict(model, {**sd, "domain_cls.0.weight": torch.zeros(3)})
    assert ignored == ["domain_cls.0.weight"]


def test_mismatched_weights_raise_clear_errors(tmp_path):
    sd = _official_layout(18)
    with pytest.raises(InputError, match="missing key"):
        load_official_state_dict(PoseResNet(17, 50), sd, "w.pth")
    bad = dict(sd)
    bad["final_layer.weight"] = torch.zeros(17, 128, 1, 1)
    with pytest.raises(InputError, match="shape mismatch"):
        load_official_state_dict(PoseResNet(17, 18), bad, "w.pth")
    with pytest.raises(InputError, match="not a PyTorch state dict"):
        pose_resnet_from_state_dict([1, 2, 3], "w.pth")
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="junk.pth"):
        load_checkpoint(junk)
    with pytest.raises(InputError, match="not found"):
        load_checkpoint(tmp_path / "absent.pth")


def test_infantpose_checkpoint_round_trip(tmp_path):
    model = PoseResNet(22, 18, input_size=(64, 96), deconv_channels=32).eval()
    path = save_checkpoint(tmp_path / "m.pt", model, "infant22", decoder="wa", sigma=1.5,
                           config={"epochs": 3})
    loaded = load_checkpoint(path)
    assert loaded.schema.name == "infant22" and loaded.input_size == (64, 96)
    assert loaded.decoder == "wa" and loaded.sigma == 1.5 and loaded.config == {"epochs": 3}
    x = torch.rand(1, 3, 96, 64)
    with torch.no_grad():
        assert torch.allclose(model(x), loaded.model(x))
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # atomic write, no leftovers


def test_few_steps_reduce_loss():
    torch.manual_seed(0)
    model = PoseResNet(4, 18, input_size=(64, 64), deconv_channels=32)
    model.freeze(["stem", "layer1", "layer2", "layer3"])  # FiDIP-style: train the late layers
    assert not any(p.requires_grad for p in model.stage_parameters("layer2"))
    assert all(p.requires_grad for p in model.stage_parameters("layer4"))
    x = torch.rand(2, 3, 64, 64)
    kp = np.random.default_rng(0).uniform(3, 12, (2, 4, 2))
    t, w = gaussian_targets(kp, None, (16, 16), sigma=1.5)
    t, w = torch.from_numpy(t), torch.from_numpy(w)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    model.train()
    losses = []
    for _ in range(6):
        opt.zero_grad()
        loss = mse_loss(model(x), t, w)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_build_from_coco_weights_for_infant22_and_scratch_warning(tmp_path):
    from infantpose.models.checkpoint import build_model
    from infantpose.schemas import COCO17, INFANT22

    sd = _official_layout(18)
    path = tmp_path / "coco.pth"
    torch.save(sd, path)
    model = build_model("pose_resnet", "infant22", {"depth": 18, "deconv_channels": 256},
                        input_size=(64, 64), weights=path)
    fw = model.final_layer.weight.detach()
    assert fw.shape[0] == 22
    assert torch.equal(fw[INFANT22.index("left_knee")], sd["final_layer.weight"][COCO17.index("left_knee")])
    assert torch.equal(model.layer1[0].conv1.weight, sd["layer1.0.conv1.weight"])
    assert model.pretrained == str(path)
    with pytest.warns(UserWarning, match="from scratch"):
        scratch = build_model("pose_resnet", "coco17", {"depth": 18, "deconv_channels": 16},
                              input_size=(64, 64))
    assert scratch.pretrained is None


@pytest.mark.slow
def test_pose_resnet_50_official_size():
    """ResNet-50 at 256×192: official-layout weights load, 34.0 M parameters, 64×48 heatmaps."""
    sd = _official_layout(50)
    model = pose_resnet_from_state_dict({"state_dict": sd}, input_size=(192, 256)).eval()
    assert model.depth == 50
    assert abs(sum(p.numel() for p in model.parameters()) - 34.0e6) < 0.1e6
    with torch.no_grad():
        assert model(torch.rand(1, 3, 256, 192)).shape == (1, 17, 64, 48)


def test_checkpoint_config_with_paths_stays_loadable(tmp_path):
    from pathlib import Path

    model = PoseResNet(17, 18, input_size=(64, 64), deconv_channels=16)
    path = save_checkpoint(tmp_path / "c.pt", model, "coco17",
                           config={"data": Path("/x/y"), "sizes": (1, 2)})
    assert load_checkpoint(path).config == {"data": "/x/y", "sizes": [1, 2]}
