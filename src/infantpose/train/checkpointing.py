"""Saving and resuming a training run: the checkpoint's config record, ``model.pt`` and
``last.pt`` (with the optimiser, scheduler, EMA and random state), and resuming from ``last.pt``.
:class:`~infantpose.train.loop.Trainer` takes these methods from :class:`CheckpointMixin`.

Split out of ``train/loop.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch

from infantpose.errors import InputError
from infantpose.models.checkpoint import save_checkpoint
from infantpose.train.config import config_to_dict

__all__ = ["CheckpointMixin"]


class CheckpointMixin:
    """The checkpoint methods of :class:`~infantpose.train.loop.Trainer` (uses its state)."""

    # --- checkpoints -------------------------------------------------------------------------
    def _config_dict(self, metrics: dict | None = None) -> dict[str, Any]:
        d = config_to_dict(self.cfg)
        d["training"] = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "images": len(self.data),
                         "domains": self.domains, "best_epoch": self.state["best_epoch"],
                         "best_step": self.state.get("best_step", -1),
                         "steps": self.state["step"], "seconds": round(self.state["seconds"], 1),
                         "start_metrics": self.state.get("start_metrics")}
        if metrics:
            d["training"]["val_metrics"] = metrics
        return d

    def _save_model(self, path: Path, metrics: dict | None = None, extra: dict | None = None) -> None:
        save_checkpoint(path, self.model, self.schema, self.activation, self.cfg.decoder,
                        self.cfg.sigma, self._config_dict(metrics), extra=extra,
                        crop=self.cfg.crop, margin=self.margin, refine_roi=self.refine_roi)

    def _save_last(self) -> None:
        ts = {"state": dict(self.state), "optimizer": self.opt.state_dict(),
              "ema": self.ema,
              "scheduler": self.sched.state_dict(), "torch_rng": torch.get_rng_state()}
        if self.classifier is not None:
            ts["classifier"] = self.classifier.state_dict()
            ts["classifier_optimizer"] = self.copt.state_dict()
        self._save_model(self.out / "last.pt", extra={"training_state": ts})

    def _try_resume(self) -> bool:
        path = self.out / "last.pt"
        if not (self.resume and path.is_file()):
            return False
        try:
            ck = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001
            raise InputError(path, f"cannot read resume checkpoint ({type(e).__name__}); "
                                   "delete it or use --fresh") from None
        ts = ck.get("training_state")
        if not isinstance(ts, dict):
            raise InputError(path, "not a resumable training checkpoint; use --fresh")
        if ck.get("schema") != self.schema.name or ck.get("architecture") != self.arch:
            raise InputError(path, f"was trained for {ck.get('architecture')}/{ck.get('schema')}, "
                                   f"not {self.arch}/{self.schema.name}; use another --out or --fresh")
        was = (ck.get("arch_config") or {}).get("variant")
        now = self.model.config().get("variant")
        if was != now:  # full and heavy share no parameter names: never resume one as the other
            raise InputError(path, f"was trained from {was}, not {now}; use another --out or "
                                   "--fresh")
        self.model.load_state_dict(ck["state_dict"], strict=False)
        self.opt.load_state_dict(ts["optimizer"])
        self.sched.load_state_dict(ts["scheduler"])
        torch.set_rng_state(ts["torch_rng"])
        if self.classifier is not None and "classifier" in ts:
            self.classifier.load_state_dict(ts["classifier"])
            self.copt.load_state_dict(ts["classifier_optimizer"])
        self.state.update(ts["state"])
        if self.ema is not None and isinstance(ts.get("ema"), dict):
            self.ema = ts["ema"]
        self.log(f"resuming {path}: epoch {self.state['epoch'] + 1}, batch {self.state['batch']}, "
                 f"step {self.state['step']}")
        return True
