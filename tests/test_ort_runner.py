"""Inference through onnxruntime: the same numbers as the torch module, a cached export, and
the torch module kept whenever the export cannot be trusted."""

from __future__ import annotations

import numpy as np
import torch

from infantpose.models import store
from infantpose.models.ort_runner import OrtNet, onnx_or_torch


class Tiny(torch.nn.Module):
    """NHWC in, a (1, 1, 4, 3) tensor out, like MoveNet's interface."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3, stride=2, padding=1)

    def forward(self, x):
        y = torch.nn.functional.relu6(self.conv(x.permute(0, 3, 1, 2) / 255.0))
        return y.mean(dim=(2, 3)).reshape(1, 1, 4, 1).expand(1, 1, 4, 3).contiguous()


class Opaque(Tiny):
    """Leaves the graph (numpy inside): a trace would freeze its output, so it must not run
    through onnxruntime."""

    def forward(self, x):
        return torch.from_numpy(np.full((1, 1, 4, 3), float(x.mean()), np.float32))


def test_same_numbers_and_a_cached_file(tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "models"))
    torch.manual_seed(0)
    net = Tiny().eval()
    x = torch.rand(1, 32, 32, 3) * 255
    run = onnx_or_torch(net, x)
    assert isinstance(run, OrtNet)
    other = torch.rand(1, 32, 32, 3) * 255
    np.testing.assert_allclose(run(other).numpy(), net(other).detach().numpy(), atol=1e-5)
    cached = list((tmp_path / "models" / ".onnx-cache").glob("*.onnx"))
    assert len(cached) == 1 and not list(cached[0].parent.glob("*.tmp.*"))
    # other weights, another file; the same weights reuse it
    net2 = Tiny().eval()
    onnx_or_torch(net2, x)
    onnx_or_torch(net, x)
    assert len(list(cached[0].parent.glob("*.onnx"))) == 2


def test_a_network_that_does_not_export_faithfully_stays_in_torch(tmp_path, monkeypatch):
    monkeypatch.setenv(store.ENV_VAR, str(tmp_path / "models"))
    net = Opaque().eval()
    x = torch.rand(1, 16, 16, 3) * 255
    run = onnx_or_torch(net, x)
    if isinstance(run, OrtNet):  # the trace froze the value: it must still agree elsewhere
        y = torch.zeros(1, 16, 16, 3)
        np.testing.assert_allclose(run(y).numpy(), net(y).numpy())
    else:
        assert run is net
