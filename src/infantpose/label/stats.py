"""How labelling went: frames reviewed, proposals accepted unchanged, corrections, time.

Counted on reviewed frames, over the points that the model proposed or the person placed (a
keypoint absent in both is not a decision). A point is *accepted unchanged* when it equals the
model's proposal (position and visibility); the *correction* of a moved point is the distance
in pixels between the proposal and the final position.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass

from infantpose.io.label_store import ABSENT, ACCEPTED, Store

__all__ = ["LabelStats", "format_stats", "project_stats"]


@dataclass
class LabelStats:
    frames: int
    reviewed: int
    points: int
    accepted_unchanged: int
    moved: int
    placed: int
    removed: int
    visibility_changed: int
    mean_correction_px: float
    median_correction_px: float
    seconds_per_frame: float

    @property
    def share_accepted(self) -> float:
        return self.accepted_unchanged / self.points if self.points else float("nan")

    def to_dict(self) -> dict:
        return {**asdict(self), "share_accepted": self.share_accepted}


def project_stats(project_dir: str | os.PathLike) -> LabelStats:
    """Statistics of a project (see the module docstring)."""
    store = Store.open(project_dir)
    frames = store.frames()
    reviewed = [f for f in frames if f["reviewed"]]
    points = accepted = moved = placed = removed = vis_changed = 0
    dists: list[float] = []
    for p in store.points_table():
        if not p["reviewed"] or (p["v"] == ABSENT and p["pv"] == ABSENT):
            continue
        points += 1
        if p["status"] == ACCEPTED:
            accepted += 1
            continue
        if p["pv"] == ABSENT:
            placed += 1
        elif p["v"] == ABSENT:
            removed += 1
        else:
            d = math.hypot(p["x"] - p["px"], p["y"] - p["py"])
            if d > 0.01:
                moved += 1
                dists.append(d)
            if p["v"] != p["pv"]:
                vis_changed += 1
    dists.sort()
    mean = sum(dists) / len(dists) if dists else float("nan")
    median = (dists[len(dists) // 2] if len(dists) % 2 else
              (dists[len(dists) // 2 - 1] + dists[len(dists) // 2]) / 2) if dists else float("nan")
    secs = sum(f["seconds"] for f in reviewed) / len(reviewed) if reviewed else float("nan")
    return LabelStats(len(frames), len(reviewed), points, accepted, moved, placed, removed,
                      vis_changed, mean, median, secs)


def format_stats(s: LabelStats) -> str:
    """A short plain-text report."""
    def num(v: float, fmt: str) -> str:
        return "-" if math.isnan(v) else format(v, fmt)

    lines = [
        f"frames reviewed              {s.reviewed} of {s.frames}",
        f"points decided               {s.points}",
        f"accepted unchanged           {s.accepted_unchanged} ({num(100 * s.share_accepted, '.1f')} %)",
        f"moved                        {s.moved}",
        f"placed (model had none)      {s.placed}",
        f"marked absent                {s.removed}",
        f"visibility changed           {s.visibility_changed}",
        f"mean correction              {num(s.mean_correction_px, '.1f')} px "
        f"(median {num(s.median_correction_px, '.1f')} px)",
        f"seconds per reviewed frame   {num(s.seconds_per_frame, '.1f')}",
    ]
    return "\n".join(lines)
