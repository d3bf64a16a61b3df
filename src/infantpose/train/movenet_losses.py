"""MoveNet's training losses: CenterNet's penalty-reduced focal loss (or a plain MSE) on the
heatmaps, masked L1 on offsets and regressions, and their sum with optional replay.

Split out of ``train/movenet.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["focal_loss", "heat_mse", "masked_l1", "movenet_loss"]


# --- losses ------------------------------------------------------------------------------------

def focal_loss(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor,
               alpha: float = 2.0, beta: float = 4.0) -> torch.Tensor:
    """CenterNet's penalty-reduced pixel-wise focal loss (Zhou et al. 2019, eq. 1) on
    (B, C, S, S) logits; ``mask`` (B, C) keeps channels (0: the keypoint is not labelled, no
    gradient at all); normalised by the number of peaks kept."""
    m = mask[..., None, None]
    pos = (target >= 1.0).float() * m
    logp, log1p = F.logsigmoid(logits), F.logsigmoid(-logits)
    p = torch.sigmoid(logits)
    pos_l = -(1 - p) ** alpha * logp * pos
    neg_l = -(1 - target) ** beta * p ** alpha * log1p * (1 - pos) * m
    return (pos_l.sum() + neg_l.sum()) / pos.sum().clamp(min=1.0)


def heat_mse(logits: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Squared error of the sigmoid heatmaps over the kept channels, the peaks weighted up
    (×(1 + 9·target)) so a small peak is not drowned by the background; per kept channel."""
    m = mask[..., None, None]
    w = (1.0 + 9.0 * target) * m
    return (w * (torch.sigmoid(logits) - target) ** 2).sum() / m.sum().clamp(min=1.0)


def masked_l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """L1 of (B, 34, S, S) (dy, dx) maps over the cells ``mask`` (B, 17, S, S) keeps, per kept
    cell."""
    b, c, s, _ = pred.shape
    d = (pred - target).abs().reshape(b, c // 2, 2, s, s).sum(2)
    return (d * mask).sum() / mask.sum().clamp(min=1.0)


def movenet_loss(heads: dict[str, torch.Tensor], t: dict[str, torch.Tensor], loss: str = "focal",
                 weights: dict[str, float] | None = None,
                 teacher: dict[str, torch.Tensor] | None = None, replay: float = 0.0
                 ) -> tuple[torch.Tensor, dict[str, float]]:
    """Total loss and its terms for a batch of head logits and collated targets.

    ``weights``: per term (``heat``, ``centre``, ``offset``, ``regression``; default 1, 1, 1,
    0.1 as CenterNet weighs its size regression). Unlabelled keypoints are masked out of every
    term. ``teacher`` head logits and ``replay`` > 0: memory replay, the squared difference of
    the sigmoid heatmaps (keypoints and centre) to the frozen starting network's.
    """
    w = {"heat": 1.0, "centre": 1.0, "offset": 1.0, "regression": 0.1, **(weights or {})}
    hl = focal_loss if loss == "focal" else heat_mse
    b = heads["heatmaps"].shape[0]
    terms = {
        "heat": hl(heads["heatmaps"], t["heatmaps"], t["heat_mask"]),
        "centre": hl(heads["centre"], t["centre"], t["centre_ok"].reshape(b, 1)),
        "offset": masked_l1(heads["offsets"], t["offsets"], t["offset_mask"]),
        "regression": masked_l1(heads["regression"], t["regression"], t["regression_mask"]),
    }
    total = sum(w[k] * v for k, v in terms.items())
    if teacher is not None and replay > 0:
        r = sum(F.mse_loss(torch.sigmoid(heads[k]), torch.sigmoid(teacher[k]), reduction="sum")
                / b for k in ("heatmaps", "centre"))
        terms["replay"] = r
        total = total + replay * r
    return total, {k: float(v.detach()) for k, v in terms.items()}
