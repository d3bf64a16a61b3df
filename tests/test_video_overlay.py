"""Overlay frames: scores as colour, trails, timestamp; trajectory PNGs."""

import numpy as np

from infantpose.poses import Poses
from infantpose.schemas import COCO17
from infantpose.video import overlay as ov
from infantpose.video.plots import plot_trajectories
from testclips import clip_trajectories


def test_score_colour_runs_red_to_green():
    assert ov.score_color(0.0) == (230, 0, 40)
    assert ov.score_color(1.0) == (0, 230, 40)
    r, g, _ = ov.score_color(0.5)
    assert r == 230 and g == 230
    assert ov.score_color(float("nan")) == ov.score_color(0.0)


def test_overlay_frame_marks_keypoints_by_score_and_prints_time():
    img = np.full((120, 160, 3), 30, np.uint8)
    kp = np.full((17, 3), np.nan)
    kp[:, 2] = 0
    kp[9] = (40, 60, 0.95)   # left wrist, confident
    kp[10] = (120, 60, 0.05)  # right wrist, unsure
    trail = np.full((5, 17, 2), np.nan)
    trail[:, 9] = np.stack([np.linspace(20, 40, 5), np.full(5, 90)], 1)
    out = ov.draw_overlay_frame(img, kp, COCO17, time_s=61.5, frame_index=1845, trail=trail)
    assert out.shape == img.shape and not np.array_equal(out, img)
    good, bad = out[60, 40].astype(int), out[60, 120].astype(int)
    assert good[1] > good[0] + 100  # green
    assert bad[0] > bad[1] + 100  # red
    assert (out[:14, :60] != 30).any()  # the timestamp box
    assert (out[88:93, 22:38] != 30).any()  # the trail
    assert np.array_equal(img, np.full((120, 160, 3), 30, np.uint8))  # input untouched


def test_trajectory_plot_is_written(tmp_path):
    pts = clip_trajectories("coco17", 20)
    data = np.concatenate([pts, np.ones(pts.shape[:-1] + (1,))], -1)[:, None]
    p = Poses(data, "coco17", fps=15.0, source="x.mp4")
    out = plot_trajectories(p, tmp_path / "t.png", raw=p)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [f.name for f in tmp_path.iterdir()] == ["t.png"]
