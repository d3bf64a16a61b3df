"""Heatmap losses: minimal at the target, exactly zero gradient on masked keypoints."""

import numpy as np
import pytest
import torch

from infantpose.models.heatmaps import gaussian_targets
from infantpose.train.losses import LOSSES, bce_loss, heatmap_loss, kce_loss, mse_loss

torch.set_num_threads(1)


def _targets(b=2, k=3, h=16, w=12, sigma=1.5, seed=0):
    rng = np.random.default_rng(seed)
    kp = rng.uniform(3, 9, size=(b, k, 2))
    t, wt = gaussian_targets(kp, None, (h, w), sigma)
    return torch.from_numpy(t), torch.from_numpy(wt)


def test_mse_zero_at_target():
    t, w = _targets()
    assert mse_loss(t, t, w).item() == 0.0
    assert mse_loss(t + 0.1, t, w).item() > 0


def test_bce_and_kce_minimal_at_target():
    t, w = _targets()
    # BCE: the target itself (as logits) is the optimum; relative form is 0 there
    logits = torch.logit(t.clamp(1e-6, 1 - 1e-6)).double()
    tt = t.clamp(1e-6, 1 - 1e-6).double()
    assert abs(bce_loss(logits, tt, w, relative=True).item()) < 1e-9
    assert bce_loss(logits + 0.3, tt, w, relative=True).item() > 1e-4
    # KCE: log of the normalised target is optimal (softmax recovers it); relative form is 0
    tn = t.double() / t.double().sum(dim=(-1, -2), keepdim=True)
    best = torch.log(tn.clamp(min=1e-300))
    assert abs(kce_loss(best, t.double(), w, relative=True).item()) < 1e-9
    base = kce_loss(best, t.double(), w).item()
    for noise in (0.1, 0.5):
        worse = best + noise * torch.randn_like(best)
        assert kce_loss(worse, t.double(), w).item() > base


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_masked_keypoints_get_zero_gradient(name):
    t, _ = _targets()
    w = torch.ones(t.shape[:2])
    w[0, 1] = 0.0
    w[1, 2] = 0.0
    pred = torch.randn_like(t, requires_grad=True)
    loss = heatmap_loss(name, pred, t, w)
    loss.backward()
    g = pred.grad
    assert torch.all(g[0, 1] == 0) and torch.all(g[1, 2] == 0)
    assert g[0, 0].abs().sum() > 0 and g[1, 1].abs().sum() > 0
    # masked predictions can be anything (even NaN) without changing loss or gradient
    pred2 = pred.detach().clone()
    pred2[0, 1] = float("nan")
    pred2.requires_grad_(True)
    loss2 = heatmap_loss(name, pred2, t, w)
    assert torch.isclose(loss2, loss.detach())
    loss2.backward()
    assert torch.all(pred2.grad[0, 1] == 0)
    assert torch.allclose(pred2.grad[0, 0], g[0, 0])


def test_masking_does_not_rescale_other_keypoints():
    t, _ = _targets(b=1, k=2)
    pred = t + 0.2
    w = torch.tensor([[1.0, 0.0]])
    assert torch.isclose(mse_loss(pred, t, w), mse_loss(pred[:, :1], t[:, :1]))


def test_bad_shapes_raise():
    t, w = _targets()
    with pytest.raises(ValueError):
        mse_loss(t, t[:, :2], w)
    with pytest.raises(ValueError):
        kce_loss(t, t, w[:, :2])
    with pytest.raises(ValueError):
        heatmap_loss("l1", t, t, w)
