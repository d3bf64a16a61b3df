"""What a training run writes besides checkpoints: ``metrics.csv`` (one row per validation)
and ``curves.png`` (training losses and validation metrics by epoch).
:class:`~infantpose.train.loop.Trainer` takes these methods from :class:`OutputsMixin`.

Split out of ``train/loop.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

import csv
import io

import numpy as np

from infantpose import _atomic

__all__ = ["OutputsMixin"]


_FIELDS = ["epoch", "step", "lr", "train_loss", "pose_loss", "domain_loss", "replay_loss",
           "domain_acc", "val_AP", "val_AP50", "val_PCKsh@0.1", "val_PCK@0.1bbox", "seconds"]


class OutputsMixin:
    """The output methods of :class:`~infantpose.train.loop.Trainer` (uses its state)."""

    # --- outputs -----------------------------------------------------------------------------
    def _write_metrics(self) -> None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=_FIELDS, extrasaction="ignore")
        w.writeheader()
        for row in self.state["history"]:
            w.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in _FIELDS})
        _atomic.write_text(self.out / "metrics.csv", buf.getvalue())
        try:
            self._plot()
        except Exception as e:  # noqa: BLE001 - a plot must never stop training
            self.log(f"warning: could not draw curves.png ({e})")

    def _plot(self) -> None:
        # imported here: matplotlib (about 1 s) loads only when curves are drawn
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        hist = self.state["history"]
        if not hist:
            return
        ep = [r["epoch"] for r in hist]
        fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
        for key in ("train_loss", "pose_loss", "replay_loss", "domain_loss"):
            ys = [r.get(key) for r in hist]
            if any(y for y in ys if y is not None):
                a.plot(ep, [np.nan if y is None else y for y in ys], marker="o", label=key)
        a.set_xlabel("epoch")
        a.set_title("training loss")
        a.legend(fontsize=8)
        for key in ("val_AP", "val_PCKsh@0.1", "val_PCK@0.1bbox"):
            ys = [r.get(key) for r in hist]
            if any(y is not None for y in ys):
                b.plot(ep, [np.nan if y is None else y for y in ys], marker="o", label=key[4:])
        b.set_xlabel("epoch")
        b.set_title("validation")
        b.set_ylim(0, 1)
        if b.get_legend_handles_labels()[0]:
            b.legend(fontsize=8)
        fig.tight_layout()
        with _atomic.atomic_path(self.out / "curves.png") as tmp:
            fig.savefig(tmp, dpi=80)
        plt.close(fig)
