"""Pose losses with per-keypoint masking: heatmap losses and the landmark-regression loss.

Every loss takes predicted heatmaps ``pred`` (B, K, H, W) (raw network outputs: values for
``mse``, logits for ``bce`` and ``kce``), targets ``target`` of the same shape, and per-keypoint
weights ``weight`` (B, K). A keypoint with weight 0 is *masked*: its term is multiplied by exactly
zero, so it contributes exactly zero gradient. This is SuperAnimal's keypoint gradient masking
(Ye et al., 2023, seed ``002_``): a keypoint a dataset does not label must not teach the network
that the keypoint is absent. The loss is averaged over the weighted keypoints (the sum of weights),
so masking some keypoints does not shrink the loss of the others.

- ``mse``: mean squared error over pixels (SimpleBaseline, Xiao et al., 2018).
- ``bce``: binary cross-entropy with logits over pixels (MediaPipe-style heatmaps).
- ``kce``: Keypoint Cross-Entropy (seed ``004_``): a spatial softmax turns each predicted map into
  a distribution over pixels, and the loss is the cross-entropy ``-Σ h log softmax(ĥ)`` against the
  target normalised to sum to one. Its minimum over predictions is the target's entropy
  (zero only for a one-hot target); :func:`kce` can subtract it so the loss is 0 at the target.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["LOSSES", "bce_loss", "heatmap_loss", "kce_loss", "landmark_loss", "mse_loss"]


def _check(pred: torch.Tensor, target: torch.Tensor,
           weight: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Validate shapes; replace masked keypoints' maps by zeros (their gradient is then exactly
    zero, even when a masked prediction is NaN)."""
    if pred.shape != target.shape or pred.ndim != 4:
        raise ValueError(f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must both "
                         "be (B, K, H, W)")
    if weight is None:
        return pred, target, torch.ones(pred.shape[:2], dtype=pred.dtype, device=pred.device)
    weight = weight.to(device=pred.device, dtype=pred.dtype)
    if weight.shape != pred.shape[:2]:
        raise ValueError(f"weight must be (B, K) = {tuple(pred.shape[:2])}, got {tuple(weight.shape)}")
    keep = (weight > 0)[..., None, None]
    pred = torch.where(keep, pred, torch.zeros((), dtype=pred.dtype, device=pred.device))
    target = torch.where(keep, target, torch.zeros((), dtype=target.dtype, device=target.device))
    return pred, target, weight


def _reduce(per_kp: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    # torch.where (not just multiplication) so NaN/inf in masked predictions cannot leak through
    masked = torch.where(weight > 0, per_kp * weight, torch.zeros_like(per_kp))
    return masked.sum() / weight.sum().clamp(min=1e-8)


def mse_loss(pred: torch.Tensor, target: torch.Tensor,
             weight: torch.Tensor | None = None) -> torch.Tensor:
    """Weighted pixel MSE; 0 exactly at the target."""
    pred, target, w = _check(pred, target, weight)
    per_kp = ((pred - target) ** 2).mean(dim=(-1, -2))
    return _reduce(per_kp, w)


def bce_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
             relative: bool = False) -> torch.Tensor:
    """Weighted per-pixel binary cross-entropy with logits (targets in [0, 1]).

    ``relative=True`` subtracts the target's own entropy, so the loss is 0 at ``sigmoid(pred) ==
    target``; gradients are unchanged.
    """
    pred, target, w = _check(pred, target, weight)
    per_px = F.binary_cross_entropy_with_logits(pred, target, reduction="none")
    if relative:
        t = target.clamp(1e-12, 1 - 1e-12)
        per_px = per_px + (target * torch.log(t) + (1 - target) * torch.log1p(-t))
    return _reduce(per_px.mean(dim=(-1, -2)), w)


def kce_loss(pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor | None = None,
             relative: bool = False) -> torch.Tensor:
    """Keypoint cross-entropy: spatial softmax of each predicted map vs the normalised target.

    ``target`` may be any non-negative map (e.g. a Gaussian with peak 1); it is normalised to sum
    to 1 per keypoint. ``relative=True`` subtracts the target entropy (the loss's minimum).
    """
    pred, target, w = _check(pred, target, weight)
    b, k = pred.shape[:2]
    logp = F.log_softmax(pred.reshape(b, k, -1), dim=-1)
    t = target.reshape(b, k, -1).clamp(min=0)
    t = t / t.sum(dim=-1, keepdim=True).clamp(min=1e-12)
    per_kp = -(t * logp).sum(dim=-1)
    if relative:
        per_kp = per_kp + (t * torch.log(t.clamp(min=1e-30))).sum(dim=-1)
    return _reduce(per_kp, w)


LOSSES = {"mse": mse_loss, "bce": bce_loss, "kce": kce_loss}


def heatmap_loss(name: str, pred: torch.Tensor, target: torch.Tensor,
                 weight: torch.Tensor | None = None, **kw) -> torch.Tensor:
    """Dispatch by name: ``mse``, ``bce`` or ``kce``."""
    try:
        fn = LOSSES[name.lower()]
    except KeyError:
        raise ValueError(f"unknown heatmap loss {name!r}; choose mse, bce or kce") from None
    return fn(pred, target, weight, **kw)


def landmark_loss(xy: torch.Tensor, vis_logit: torch.Tensor, target: torch.Tensor,
                  weight: torch.Tensor, scale: float, vis_weight: float = 0.1,
                  vis_sigma: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked loss for regressed keypoints (:class:`~infantpose.models.blazepose_landmarks.BlazePoseLandmarkNet`).

    ``xy`` and ``target`` are (B, K, 2) crop pixels, ``vis_logit`` and ``weight`` (B, K).
    Position: L1 distance divided by ``scale`` (the crop side), averaged over weighted keypoints;
    L1 keeps the pull of a badly wrong keypoint bounded, so a few mislabelled points do not
    dominate a small data set. Score: binary cross-entropy of the visibility logit against
    ``exp(-d² / 2σ²)`` (d the detached error in crop units, σ = ``vis_sigma``), so the score a
    fine-tuned model reports keeps meaning "this keypoint is probably right" (it ranks
    instances for AP and flags frames for review). Masked keypoints contribute exactly zero
    gradient. Returns (total, position part).
    """
    if xy.shape != target.shape or xy.ndim != 3 or xy.shape[-1] != 2:
        raise ValueError(f"xy {tuple(xy.shape)} and target {tuple(target.shape)} must both be (B, K, 2)")
    if weight.shape != xy.shape[:2] or vis_logit.shape != xy.shape[:2]:
        raise ValueError("weight and vis_logit must be (B, K)")
    weight = weight.to(xy.dtype)
    keep = weight > 0
    zero = torch.zeros((), dtype=xy.dtype)
    diff = torch.where(keep[..., None], xy - target, zero) / float(scale)
    per_kp = diff.abs().sum(-1)
    pos = _reduce(per_kp, weight)
    with torch.no_grad():
        d2 = (diff ** 2).sum(-1)
        goal = torch.exp(-d2 / (2 * vis_sigma ** 2))
    bce = F.binary_cross_entropy_with_logits(torch.where(keep, vis_logit, zero), goal,
                                             reduction="none")
    return pos + vis_weight * _reduce(bce, weight), pos
