"""A per-video PNG of keypoint trajectories over time (raw and filtered).

Two panels, horizontal (x) and vertical (y) position against time, one colour per keypoint; the
raw estimate is drawn thin and faint behind the filtered one, so jitter, dropouts (gaps) and what
the filter did are visible at a glance. Matplotlib with the Agg backend; written atomically.
"""

from __future__ import annotations

import os
from pathlib import Path
from collections.abc import Sequence


from infantpose import _atomic
from infantpose._names import display_name
from infantpose.poses import Poses

__all__ = ["default_keypoints", "plot_trajectories"]


def default_keypoints(poses: Poses) -> list[str]:
    """Wrists and ankles (the limbs of general-movement analysis), else the first 6 keypoints."""
    names = [n for n in poses.schema.keypoints if any(p in n for p in ("wrist", "ankle"))]
    return names or list(poses.schema.keypoints[:6])


def plot_trajectories(poses: Poses, out: str | os.PathLike, raw: Poses | None = None,
                      keypoints: Sequence[str] | None = None, instance: int = 0,
                      title: str | None = None) -> Path:
    """Save x(t) and y(t) of ``keypoints`` of one instance as a PNG at ``out``.

    ``raw`` (same frames) is drawn faintly behind ``poses``. Time is in seconds when the frame
    rate is known, else in frames.
    """
    # imported here: matplotlib (about 1 s) loads only when a plot is drawn
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(keypoints) if keypoints else default_keypoints(poses)
    idx = [poses.schema.index(n) for n in names]
    t = poses.times if poses.fps else poses.frame_index_array().astype(float)
    xlabel = "time (s)" if poses.fps else "frame"
    fig, axes = plt.subplots(2, 1, figsize=(10, 5.5), sharex=True)
    colors = plt.get_cmap("tab10")
    for j, (name, k) in enumerate(zip(names, idx)):
        c = colors(j % 10)
        for a, ax in enumerate(axes):
            if raw is not None and raw.n_instances > instance:
                ax.plot(raw.times if raw.fps else raw.frame_index_array(),
                        raw.data[:, instance, k, a], color=c, lw=0.6, alpha=0.35)
            if poses.n_instances > instance:
                ax.plot(t, poses.data[:, instance, k, a], color=c, lw=1.4,
                        label=name if a == 0 else None)
    axes[0].set_ylabel("x (px)")
    axes[1].set_ylabel("y (px)")
    axes[1].invert_yaxis()  # image coordinates: up is up
    axes[1].set_xlabel(xlabel)
    axes[0].legend(loc="upper right", fontsize=7, ncol=min(4, max(1, len(names))))
    label = display_name(title or (Path(poses.source).name if poses.source else
                                   "trajectories"))
    if raw is not None:
        label += "  (thin: raw, thick: filtered)"
    axes[0].set_title(label, fontsize=9)
    fig.tight_layout()
    try:
        with _atomic.atomic_path(out) as tmp:
            fig.savefig(tmp, dpi=90, format="png")
    finally:
        plt.close(fig)
    return Path(out)
