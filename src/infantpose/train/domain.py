"""Domain confusion for FiDIP-style adaptation between synthetic and real images.

FiDIP (Huang, Wan, Ostadabbas et al., "Invariant Representation Learning for Infant Pose
Estimation with Small Data", FG 2021; seed ``003_``) attaches a small domain classifier (three fully
connected layers) to the pose network's backbone features. Training alternates two stages:

* Stage I: the pose network is locked; the classifier learns to tell synthetic from real features.
* Stage II: the classifier is locked; the pose network minimises its pose loss while a gradient
  reversal layer (Ganin & Lempitsky, 2015) makes it *maximise* the classifier's loss, pulling the
  two domains' features together. FiDIP used a reversal weight of 0.0005.

Domain labels: 1 = synthetic, 0 = real (the classifier outputs the synthetic logit).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["REAL", "SYNTHETIC", "DomainClassifier", "GradientReversal", "domain_loss", "grad_reverse"]

SYNTHETIC = 1.0
REAL = 0.0


class _ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, lam: float) -> torch.Tensor:  # type: ignore[override]
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):  # type: ignore[override]
        return -ctx.lam * grad, None


def grad_reverse(x: torch.Tensor, lam: float = 1.0) -> torch.Tensor:
    """Identity in the forward pass; multiplies the gradient by ``-lam`` in the backward pass."""
    return _ReverseGrad.apply(x, float(lam))


class GradientReversal(nn.Module):
    """Module form of :func:`grad_reverse` with a settable weight ``lam``."""

    def __init__(self, lam: float = 1.0):
        super().__init__()
        self.lam = float(lam)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return grad_reverse(x, self.lam)


class DomainClassifier(nn.Module):
    """Three fully connected layers on globally pooled backbone features -> one synthetic logit."""

    def __init__(self, in_channels: int, hidden: int = 256, dropout: float = 0.2):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_channels, hidden), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden, hidden // 2), nn.ReLU(inplace=True), nn.Dropout(dropout),
            nn.Linear(hidden // 2, 1),
        )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Features (B, C, H, W) or (B, C) -> logits (B,)."""
        if features.dim() == 4:
            features = self.pool(features)
        return self.net(features).squeeze(-1)


def domain_loss(logits: torch.Tensor, domains: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy between synthetic logits and domain labels (1 synthetic, 0 real)."""
    return nn.functional.binary_cross_entropy_with_logits(logits, domains.to(logits.dtype))
