"""Pose-ResNet (SimpleBaseline) in plain PyTorch: the FiDIP backbone.

Xiao, Wu & Wei, "Simple Baselines for Human Pose Estimation and Tracking" (ECCV 2018): a ResNet
trunk (stride 32) followed by three 4×4 stride-2 transposed convolutions (256 channels, BatchNorm,
ReLU) and a final 1×1 convolution giving one heatmap per keypoint at stride 4. FiDIP (Huang et
al., 2021, seeds ``001_``/``003_``) fine-tunes exactly this network (ResNet-50, 256×192 input)
on infant images.

Parameter names follow the official SimpleBaseline / FiDIP ``state_dict`` layout
(``conv1.weight``, ``bn1.*``, ``layer1.0.conv1.weight``, ``layer1.0.downsample.0.weight``,
``deconv_layers.0.weight``, ``deconv_layers.1.running_mean``, ``final_layer.weight``, ...), so a
user's ``pose_resnet_50_256x192.pth`` or FiDIP checkpoint loads with :func:`load_official_state_dict`
(``module.`` prefixes from DataParallel and ``{'state_dict': ...}`` wrappers are accepted).

Input: (B, 3, H, W) RGB float in [0, 1]; ImageNet mean/std normalisation happens inside
``forward`` (as a non-persistent buffer, so the state dict keeps the official layout).
Output: (B, K, H/4, W/4) heatmaps (trained with MSE in the original; any loss works).
No torchvision is needed.
"""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from infantpose.errors import InputError
from infantpose.schemas import get_mapping, get_schema

__all__ = [
    "RESNET_SPECS",
    "PoseResNet",
    "build_pose_resnet",
    "infer_depth",
    "load_official_state_dict",
    "pose_resnet_from_state_dict",
    "unwrap_state_dict",
]

log = logging.getLogger(__name__)

# depth -> (block type, blocks per stage)
RESNET_SPECS = {18: ("basic", (2, 2, 2, 2)), 34: ("basic", (3, 4, 6, 3)),
                50: ("bottleneck", (3, 4, 6, 3)), 101: ("bottleneck", (3, 4, 23, 3)),
                152: ("bottleneck", (3, 8, 36, 3))}
_POSE_PREFIXES = ("conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.", "deconv_layers.",
                  "final_layer.")
BN_MOMENTUM = 0.1


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + idt)


class Bottleneck(nn.Module):
    """ResNet v1 bottleneck with the stride on the 3×3 convolution (as in SimpleBaseline)."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1,
                 downsample: nn.Module | None = None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        idt = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + idt)


class PoseResNet(nn.Module):
    """SimpleBaseline Pose-ResNet (see module docstring).

    Args:
        num_keypoints: heatmap channels K (17 for COCO/SyRIP, 22 for infant-22).
        depth: ResNet depth, one of 18, 34, 50, 101, 152.
        input_size: (w, h) of the network input, e.g. (192, 256); any multiple of 32 works.
        deconv_channels / deconv_layers / deconv_kernel: the head (official: 256, 3, 4).
        final_kernel: 1 (official).
    """

    stride = 4

    def __init__(self, num_keypoints: int = 17, depth: int = 50,
                 input_size: tuple[int, int] = (192, 256), deconv_channels: int = 256,
                 deconv_layers: int = 3, deconv_kernel: int = 4, final_kernel: int = 1):
        super().__init__()
        if depth not in RESNET_SPECS:
            raise ValueError(f"unsupported ResNet depth {depth}; choose from {sorted(RESNET_SPECS)}")
        kind, blocks = RESNET_SPECS[depth]
        block = Bottleneck if kind == "bottleneck" else BasicBlock
        self.depth, self.num_keypoints = depth, num_keypoints
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.stride = 2 ** (5 - deconv_layers)
        self._cfg = {"num_keypoints": num_keypoints, "depth": depth,
                     "input_size": list(self.input_size), "deconv_channels": deconv_channels,
                     "deconv_layers": deconv_layers, "deconv_kernel": deconv_kernel,
                     "final_kernel": final_kernel}
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64, momentum=BN_MOMENTUM)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(block, 64, blocks[0])
        self.layer2 = self._make_layer(block, 128, blocks[1], 2)
        self.layer3 = self._make_layer(block, 256, blocks[2], 2)
        self.layer4 = self._make_layer(block, 512, blocks[3], 2)
        pad, out_pad = {4: (1, 0), 3: (1, 1), 2: (0, 0)}[deconv_kernel]
        layers: list[nn.Module] = []
        for _ in range(deconv_layers):
            layers += [nn.ConvTranspose2d(self.inplanes, deconv_channels, deconv_kernel, 2, pad,
                                          out_pad, bias=False),
                       nn.BatchNorm2d(deconv_channels, momentum=BN_MOMENTUM),
                       nn.ReLU(inplace=True)]
            self.inplanes = deconv_channels
        self.deconv_layers = nn.Sequential(*layers)
        self.final_layer = nn.Conv2d(deconv_channels, num_keypoints, final_kernel, 1,
                                     1 if final_kernel == 3 else 0)
        self.register_buffer("mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1),
                             persistent=False)
        self.init_weights()

    def _make_layer(self, block: type, planes: int, n: int, stride: int = 1) -> nn.Sequential:
        down = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            down = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * block.expansion, 1, stride, bias=False),
                nn.BatchNorm2d(planes * block.expansion, momentum=BN_MOMENTUM))
        layers = [block(self.inplanes, planes, stride, down)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, n)]
        return nn.Sequential(*layers)

    def init_weights(self) -> None:
        """SimpleBaseline's initialisation: He-init trunk, N(0, 0.001) head, zero biases."""
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        for m in list(self.deconv_layers.modules()) + [self.final_layer]:
            if isinstance(m, (nn.ConvTranspose2d, nn.Conv2d)):
                nn.init.normal_(m.weight, std=0.001)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) RGB in [0, 1] → (B, K, H/4, W/4) heatmaps."""
        x = (x - self.mean) / self.std
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.final_layer(self.deconv_layers(x))

    def config(self) -> dict[str, Any]:
        return dict(self._cfg)

    # named stages for freezing (FiDIP freezes the early layers during domain adaptation)
    def stage_parameters(self, stage: str) -> list[nn.Parameter]:
        groups = {"stem": ("conv1", "bn1"), "layer1": ("layer1",), "layer2": ("layer2",),
                  "layer3": ("layer3",), "layer4": ("layer4",), "deconv": ("deconv_layers",),
                  "head": ("final_layer",),
                  "backbone": ("conv1", "bn1", "layer1", "layer2", "layer3", "layer4")}
        if stage not in groups:
            raise ValueError(f"unknown stage {stage!r}; stages: {', '.join(groups)}")
        return [p for n in groups[stage] for p in getattr(self, n).parameters()]

    def freeze(self, stages: str | list[str] | tuple[str, ...] = ("stem", "layer1")) -> None:
        for s in [stages] if isinstance(stages, str) else stages:
            for p in self.stage_parameters(s):
                p.requires_grad_(False)

    def unfreeze(self, stages: str | list[str] | tuple[str, ...] = ("backbone", "deconv", "head")) -> None:
        for s in [stages] if isinstance(stages, str) else stages:
            for p in self.stage_parameters(s):
                p.requires_grad_(True)


def unwrap_state_dict(obj: Any, path: str | os.PathLike | None = None) -> dict[str, torch.Tensor]:
    """Get a flat state dict out of common checkpoint wrappers, dropping ``module.`` prefixes."""
    sd = obj
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(sd, Mapping) and key in sd and isinstance(sd[key], Mapping):
            sd = sd[key]
            break
    if not isinstance(sd, Mapping) or not sd or not all(isinstance(k, str) for k in sd):
        raise InputError(path, "not a PyTorch state dict (expected a mapping of parameter names)")
    out: dict[str, torch.Tensor] = {}
    for k, v in sd.items():
        k = re.sub(r"^(module\.)+", "", k)
        if not torch.is_tensor(v):
            continue
        out[k] = v
    if not out:
        raise InputError(path, "state dict contains no tensors")
    return out


def infer_depth(state: Mapping[str, torch.Tensor], path: str | os.PathLike | None = None) -> int:
    """ResNet depth from the keys of an official-layout state dict."""
    bottleneck = "layer1.0.conv3.weight" in state
    counts = []
    for i in range(1, 5):
        ids = {int(m.group(1)) for k in state if (m := re.match(rf"layer{i}\.(\d+)\.", k))}
        counts.append(max(ids) + 1 if ids else 0)
    for depth, (kind, blocks) in RESNET_SPECS.items():
        if tuple(counts) == blocks and (kind == "bottleneck") == bottleneck:
            return depth
    raise InputError(path, f"state dict is not a Pose-ResNet (blocks per stage {counts}, "
                           f"bottleneck={bottleneck})")


def load_official_state_dict(model: PoseResNet, obj: Any, path: str | os.PathLike | None = None,
                             ) -> list[str]:
    """Load a SimpleBaseline/FiDIP state dict into ``model`` (strict on pose-network keys).

    Keys outside the pose network (e.g. FiDIP's domain classifier) are ignored and returned.
    Missing keys, unexpected keys inside the network, and shape mismatches raise InputError.
    """
    state = unwrap_state_dict(obj, path)
    own = model.state_dict()
    ignored = [k for k in state if not k.startswith(_POSE_PREFIXES)]
    state = {k: v for k, v in state.items() if k.startswith(_POSE_PREFIXES)}
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s), e.g. {', '.join(missing[:3])}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s), e.g. {', '.join(unexpected[:3])}")
        raise InputError(path, f"weights do not fit Pose-ResNet-{model.depth}: " + "; ".join(parts))
    bad = [f"{k} {tuple(state[k].shape)} vs {tuple(own[k].shape)}" for k in state
           if tuple(state[k].shape) != tuple(own[k].shape)]
    if bad:
        raise InputError(path, f"shape mismatch for {len(bad)} tensor(s), e.g. {bad[0]}")
    model.load_state_dict({k: v.to(own[k].dtype) for k, v in state.items()}, strict=False)
    if ignored:
        log.info("ignored %d non-pose keys (e.g. %s)", len(ignored), ignored[0])
    return ignored


def pose_resnet_from_state_dict(obj: Any, path: str | os.PathLike | None = None,
                                input_size: tuple[int, int] = (192, 256)) -> PoseResNet:
    """Build a PoseResNet whose depth and keypoint count match an official state dict."""
    state = unwrap_state_dict(obj, path)
    depth = infer_depth(state, path)
    if "final_layer.weight" not in state:
        raise InputError(path, "state dict has no final_layer.weight (not a Pose-ResNet)")
    fw = state["final_layer.weight"]
    n_deconv = len({k.split(".")[1] for k in state if k.startswith("deconv_layers.")
                    and k.endswith(".weight") and state[k].ndim == 4})
    dk = int(state["deconv_layers.0.weight"].shape[-1]) if "deconv_layers.0.weight" in state else 4
    model = PoseResNet(int(fw.shape[0]), depth, input_size, deconv_channels=int(fw.shape[1]),
                       deconv_layers=n_deconv or 3, deconv_kernel=dk,
                       final_kernel=int(fw.shape[-1]))
    load_official_state_dict(model, state, path)
    return model


def build_pose_resnet(schema: Any, depth: int = 50, input_size: tuple[int, int] = (192, 256),
                      weights: str | os.PathLike | None = None,
                      weights_schema: Any = "coco17", **kw: Any) -> PoseResNet:
    """A Pose-ResNet for ``schema``, initialised from official weights when given.

    With ``weights`` (an official SimpleBaseline/FiDIP state dict, e.g. COCO-17
    ``pose_resnet_50_256x192.pth``): the trunk and deconvolutions load as they are; when the
    target schema differs from ``weights_schema``, each output channel of the final layer is
    copied (or averaged, for derived keypoints) from the matching pretrained channel via the
    registered schema mapping and the rest start at SimpleBaseline's init. Without weights the
    network trains from scratch, and a warning says so: FiDIP (seed ``001_``) reports that
    from-scratch training on small infant data reaches only ~10 AP.
    """
    s, src = get_schema(schema), get_schema(weights_schema)
    model = PoseResNet(s.num_keypoints, depth, input_size, **kw)
    if weights is None:
        warnings.warn(f"Pose-ResNet-{depth}: no pretrained weights given, training from scratch "
                      "(expect poor accuracy on small data; pass official weights if you have "
                      "them)", UserWarning, stacklevel=2)
        model.pretrained = None
        return model
    try:
        obj = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001
        raise InputError(weights, f"cannot read weights ({type(e).__name__}: {e})") from None
    state = unwrap_state_dict(obj, weights)
    fw = state.get("final_layer.weight")
    if fw is None:
        raise InputError(weights, "no final_layer.weight: not a Pose-ResNet state dict")
    if fw.shape[0] != src.num_keypoints:
        raise InputError(weights, f"final layer has {fw.shape[0]} channels but weights_schema "
                                  f"{src.name} has {src.num_keypoints} keypoints")
    if s.name == src.name:
        load_official_state_dict(model, state, weights)
    else:
        fb = state.get("final_layer.bias", torch.zeros(fw.shape[0]))
        new_w = model.final_layer.weight.detach().clone()
        new_b = model.final_layer.bias.detach().clone()
        try:
            sources = get_mapping(src, s).sources
        except InputError:
            sources = tuple(() for _ in s.keypoints)
        for k, srcs in enumerate(sources):
            if srcs:
                idx = [src.index(n) for n in srcs]
                new_w[k] = fw[idx].mean(0)
                new_b[k] = fb[idx].mean()
        state = {**state, "final_layer.weight": new_w, "final_layer.bias": new_b}
        load_official_state_dict(model, state, weights)
    model.pretrained = str(weights)
    return model
