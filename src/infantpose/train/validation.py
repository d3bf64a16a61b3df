"""Validating a training run as ``infantpose evaluate`` scores a model: the estimator around
the model being trained, the weight average (EMA) swapped in for validation, the held-out
sets' metrics, and the metric that selects the best model.
:class:`~infantpose.train.loop.Trainer` takes these methods from :class:`ValidationMixin`.

Split out of ``train/loop.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from infantpose.evaluate import evaluate_predictions
from infantpose.evaluate.run import predict_dataset
from infantpose.models.checkpoint import LoadedModel
from infantpose.models.topdown import TorchPoseEstimator

__all__ = ["FALLBACK_METRIC", "METRIC", "ValidationMixin"]


METRIC = "AP"  # model selection; PCKsh@0.1 where AP is undefined
FALLBACK_METRIC = "PCKsh@0.1"


class ValidationMixin:
    """The validation methods of :class:`~infantpose.train.loop.Trainer` (uses its state)."""

    # --- validation --------------------------------------------------------------------------
    def _estimator(self) -> Any:
        """The estimator ``infantpose evaluate --weights model.pt`` would build, around the
        model being trained (its weights are shared, so it always runs the current state)."""
        if self._val_est is None:
            loaded = LoadedModel(self.model, self.arch, self.schema, tuple(self.model.input_size),
                                 int(self.model.stride), self.activation, self.cfg.decoder,
                                 self.cfg.sigma, crop=self.cfg.crop, margin=self.margin)
            name = "blazepose-torch" if self.cfg.model.arch == "blazepose" else "pose-resnet"
            self._val_est = TorchPoseEstimator(loaded, name=name)
        return self._val_est

    def _update_ema(self) -> None:
        if self.ema is None:
            return
        d = float(self.cfg.optim.ema)
        with torch.no_grad():
            for k, v in self.model.state_dict().items():
                if k in self.ema:
                    self.ema[k].mul_(d).add_(v.detach(), alpha=1.0 - d)

    def _with_ema(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` with the averaged weights loaded in the model, then restore the raw ones."""
        if self.ema is None:
            return fn()
        raw = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
        self.model.load_state_dict({**raw, **self.ema})
        try:
            return fn()
        finally:
            self.model.load_state_dict(raw)

    def validate(self) -> dict[str, float]:
        """The held-out images scored exactly as ``infantpose evaluate`` scores them (given
        person boxes, flip test, the same metrics); several sets are averaged by people.

        Landmark models are scored with and without one pass re-cropped on their own keypoints
        (:class:`~infantpose.models.topdown.TorchPoseEstimator`'s ``refine_roi``); the better
        is reported and recorded in the checkpoint (``self.refine_roi``), so ``evaluate`` runs
        the model as it was validated."""
        if not self.val:
            return {}
        est = self._estimator()
        options = [0, 1] if self.arch == "blazepose_landmarks" else [0]
        best: dict[str, float] = {}
        for r in options:
            est.refine_roi = r
            m = self._validate_once(est)
            if not best or (self._score(m) or -1.0) > (self._score(best) or -1.0):
                best, self.refine_roi = m, r
        est.refine_roi = self.refine_roi
        return best

    def _validate_once(self, est: Any) -> dict[str, float]:
        self.model.eval()
        totals: dict[str, float] = {}
        weight = 0
        try:
            for v in self.val:
                preds = predict_dataset(est, v.gt, use_gt_boxes=True, images=v.images)
                res = evaluate_predictions(v.gt, preds, name="validation")
                n = int((v.gt.visibility > 0).any(-1).sum())
                for key in ("AP", "AP50", "PCKsh@0.1", "PCK@0.1bbox"):
                    val = res.metrics.get(key, float("nan"))
                    val = float(val) if val is not None else float("nan")
                    totals[key] = totals.get(key, 0.0) + n * (0.0 if not np.isfinite(val) else val)
                weight += n
        finally:
            self.model.train()
        return {k: t / max(1, weight) for k, t in totals.items()}

    @staticmethod
    def _score(metrics: dict[str, float]) -> float | None:
        for key in (METRIC, FALLBACK_METRIC):
            v = metrics.get(key)
            if v is not None and np.isfinite(v):
                return float(v)
        return None
