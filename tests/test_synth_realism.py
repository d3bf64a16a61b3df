"""Tests of the realism statistics (synth.stats) and of the ``photo`` style fitted to real photos.

The real-photo numbers quoted here are aggregate statistics of the 150 training photos of the
syrip-train200 split (benchmarks/results/synth_vs_real.md); no real image or label is needed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from infantpose.schemas import COCO17
from infantpose.synth import STYLES, render_sample, sample_scene
from infantpose.synth.body import BodyShape, Pose, pose_body, rest_angles
from infantpose.synth.generate import image_orientation
from infantpose.synth.labels import project_keypoints
from infantpose.synth.poses import ANGLE_LIMITS, ANGLE_NAMES, POSTURES, posture_ranges, ranges_with
from infantpose.synth.scene import desaturate
from infantpose.synth.stats import (
    image_statistics,
    ks_distance,
    merge,
    pose_statistics,
    summarise,
)

ROOT = Path(__file__).resolve().parents[1]


def _skeleton() -> np.ndarray:
    """An upright COCO-17 person: torso 100 px, straight arms down, legs down, head above."""
    k = np.zeros((17, 2))
    k[0] = (100, 40)  # nose
    k[1], k[2] = (110, 35), (90, 35)  # eyes (left = subject's left = image right here)
    k[3], k[4] = (125, 40), (75, 40)  # ears
    k[5], k[6] = (135, 100), (65, 100)  # shoulders
    k[7], k[8] = (135, 150), (65, 150)  # elbows: upper arm 50
    k[9], k[10] = (135, 190), (65, 190)  # wrists: forearm 40
    k[11], k[12] = (125, 200), (75, 200)  # hips: torso = 100
    k[13], k[14] = (125, 260), (75, 260)  # knees: thigh 60
    k[15], k[16] = (125, 300), (75, 300)  # ankles: shank 40
    return k


def test_pose_statistics_ratios_angles_orientation():
    k = _skeleton()
    v = np.full(17, 2)
    s = pose_statistics(k, v, (200, 400))
    assert s["upper_arm"] == pytest.approx([0.5, 0.5])
    assert s["forearm"] == pytest.approx([0.4, 0.4])
    assert s["thigh"] == pytest.approx([0.6, 0.6])
    assert s["shoulder_width"] == pytest.approx([0.7])
    assert s["hip_width"] == pytest.approx([0.5])
    assert s["elbow"] == pytest.approx([180, 180])  # straight arms
    assert s["orientation"] == pytest.approx([0.0])  # head up
    assert s["labelled"] == [1.0] and s["visible"] == [1.0]
    # Rotate the image content 90° clockwise: the head now points to the image right.
    r = np.stack([400 - k[:, 1], k[:, 0]], axis=1)
    assert pose_statistics(r, v, (400, 200))["orientation"] == pytest.approx([90.0])
    # A bent elbow and unlabelled keypoints.
    k2 = k.copy()
    k2[9] = (185, 150)  # left wrist straight out sideways from the elbow: 90°
    v2 = v.copy()
    v2[10] = 0
    v2[16] = 1
    s2 = pose_statistics(k2, v2, (200, 400))
    assert s2["elbow"] == pytest.approx([90.0])
    assert s2["labelled"] == [pytest.approx(16 / 17)] and s2["visible"] == [pytest.approx(15 / 17)]
    # Without both shoulders and hips nothing torso-relative is measured.
    v3 = v.copy()
    v3[5] = 0
    s3 = pose_statistics(k, v3, (200, 400))
    assert s3["upper_arm"] == [] and s3["orientation"] == [] and len(s3["box_fraction"]) == 1


def test_ks_distance_and_summary():
    a = np.arange(100.0)
    assert ks_distance(a, a) == 0.0
    assert ks_distance(a, a + 1000) == 1.0
    assert 0.4 < ks_distance(a, a + 50) < 0.6
    assert np.isnan(ks_distance([], a))
    lo, med, hi, n = summarise([1, 2, 3, 4, np.nan])
    assert (med, n) == (2.5, 4) and lo < med < hi
    assert summarise([])[3] == 0
    d: dict[str, list[float]] = {"x": [1.0]}
    merge(d, {"x": [2.0], "y": [3.0]})
    assert d == {"x": [1.0, 2.0], "y": [3.0]}


def test_image_statistics_saturation_and_sharpness():
    import cv2

    rng = np.random.default_rng(0)
    k, v = _skeleton(), np.full(17, 2)
    sharp = (rng.random((400, 200, 3)) * 255).astype(np.uint8)
    blurred = cv2.GaussianBlur(sharp, (0, 0), 3)
    s1 = image_statistics(sharp, k, v)
    s2 = image_statistics(blurred, k, v)
    assert s1["sharpness"][0] > 5 * s2["sharpness"][0]
    grey = np.full((400, 200, 3), 128, np.uint8)
    g = image_statistics(grey, k, v)
    assert g["saturation"][0] == pytest.approx(0.0, abs=1e-6)
    assert g["brightness"][0] == pytest.approx(128 / 255, abs=0.01)
    assert g["contrast"][0] == pytest.approx(0.0, abs=1e-6)
    red = np.zeros((400, 200, 3), np.uint8)
    red[..., 0] = 200
    assert image_statistics(red, k, v)["red_blue"][0] > 0.7


def test_desaturate():
    c = np.array([0.9, 0.2, 0.1], np.float32)
    assert np.allclose(desaturate(c, 0.0), c)
    g = desaturate(c, 1.0)
    assert np.allclose(g, g[0]) and g[0] == pytest.approx(0.299 * 0.9 + 0.587 * 0.2 + 0.114 * 0.1)
    half = desaturate(c, 0.5)
    assert np.ptp(half) == pytest.approx(np.ptp(c) / 2, rel=1e-5)


def test_segment_multipliers_scale_the_bones():
    pose = Pose(rest_angles(), np.eye(3), np.zeros(3))
    base = pose_body(BodyShape(), pose).keypoints
    longer = pose_body(BodyShape(upper_arm=1.2, thigh=0.9, torso=1.1, shoulders=0.8, hips=1.25),
                       pose).keypoints

    def d(kp, a, b):
        return float(np.linalg.norm(kp[a] - kp[b]))

    assert d(longer, "left_shoulder", "left_elbow") == pytest.approx(
        1.2 * d(base, "left_shoulder", "left_elbow"))
    assert d(longer, "left_elbow", "left_wrist") == pytest.approx(
        d(base, "left_elbow", "left_wrist"))
    assert d(longer, "right_hip", "right_knee") == pytest.approx(
        0.9 * d(base, "right_hip", "right_knee"))
    assert d(longer, "left_hip", "right_hip") == pytest.approx(1.25 * d(base, "left_hip", "right_hip"))
    assert d(longer, "left_shoulder", "right_shoulder") == pytest.approx(
        0.8 * d(base, "left_shoulder", "right_shoulder"))
    mid = lambda kp, a, b: (kp[a] + kp[b]) / 2  # noqa: E731
    torso = lambda kp: float(np.linalg.norm(mid(kp, "left_shoulder", "right_shoulder")  # noqa: E731
                                            - mid(kp, "left_hip", "right_hip")))
    assert torso(longer) == pytest.approx(1.1 * torso(base), rel=1e-3)  # depth offsets unscaled


def test_ranges_with_overrides():
    assert np.array_equal(ranges_with("supine", ()), posture_ranges("supine"))
    over = (("*", "*_elbow_flex", 0, 100), ("prone", "*_elbow_flex", 10, 120),
            ("*", "spine_twist", -500, 500))
    i_el = ANGLE_NAMES.index("left_elbow_flex")
    i_tw = ANGLE_NAMES.index("spine_twist")
    sup, prone = ranges_with("supine", over), ranges_with("prone", over)
    assert tuple(sup[i_el]) == (0, 100) and tuple(sup[ANGLE_NAMES.index("right_elbow_flex")]) == (0, 100)
    assert tuple(prone[i_el]) == (10, 120)  # the posture's own row wins over "*"
    assert tuple(sup[i_tw]) == tuple(ANGLE_LIMITS[i_tw])  # clipped to anatomy
    with pytest.raises(ValueError):
        ranges_with("standing", over)


def test_other_styles_keep_their_renders():
    """The realism options default to off: home/nicu/studio draw the same random streams as
    before the photo style existed (labels pinned from the generator before the change)."""
    pinned = {
        "home": {"nose": (69.90, 25.87), "left_hip": (39.29, 37.16), "right_ankle": (27.26, 29.24)},
        "nicu": {"nose": (65.99, 25.59), "left_hip": (38.47, 35.51), "right_ankle": (27.44, 27.58)},
        "studio": {"nose": (65.01, 25.36), "left_hip": (38.40, 35.53),
                   "right_ankle": (27.85, 29.54)},
    }
    for style, want in pinned.items():
        s = render_sample(3, 1, "coco17", size=(96, 80), style=style)
        for name, xy in want.items():
            got = s.keypoints[COCO17.keypoints.index(name)]
            assert got == pytest.approx(xy, abs=0.01), (style, name)


def test_photo_style_is_deterministic():
    a = render_sample(5, 2, "coco17", size=(96, 96), style="photo")
    b = render_sample(5, 2, "coco17", size=(96, 96), style="photo")
    c = render_sample(5, 3, "coco17", size=(96, 96), style="photo")
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.keypoints, b.keypoints, equal_nan=True)
    assert not np.array_equal(a.image, c.image)


def _photo_vs_home_pose(n: int = 60) -> dict[str, dict[str, list[float]]]:
    """Pose statistics of ``n`` scenes per style, labels only (nothing is rendered)."""
    out: dict[str, dict[str, list[float]]] = {}
    size = (160, 160)
    for style in ("home", "photo"):
        stats: dict[str, list[float]] = {"posture": []}
        for i in range(n):
            rng = np.random.default_rng([11, i])
            scene, pose = sample_scene(rng, size=size, style=style)
            body = pose_body(scene.shape, pose)
            uv, _ = project_keypoints(body, COCO17.keypoints, scene.camera)
            inside = (uv >= 0).all(axis=1) & (uv[:, 0] < size[0]) & (uv[:, 1] < size[1])
            merge(stats, pose_statistics(uv, np.where(inside, 2, 0), size))
            stats["posture"].append(float(POSTURES.index(scene.posture)))
            stats.setdefault("axis", []).append(image_orientation(body, scene.camera))
        out[style] = stats
    return out


def test_photo_style_moves_pose_statistics_towards_real_photos():
    s = _photo_vs_home_pose()
    home, photo = s["home"], s["photo"]
    med = lambda st, k: summarise(st[k])[1]  # noqa: E731
    # Real training photos: upper arm / torso 0.50, hip width 0.54, elbow 130°, shoulder 51°,
    # |body axis| 52°, prone the most common posture.
    assert abs(med(photo, "upper_arm") - 0.50) < abs(med(home, "upper_arm") - 0.50)
    assert abs(med(photo, "hip_width") - 0.54) < abs(med(home, "hip_width") - 0.54)
    assert med(photo, "elbow") > med(home, "elbow") and 105 < med(photo, "elbow") < 150
    assert med(photo, "shoulder") < med(home, "shoulder")
    assert med(photo, "abs_orientation") < med(home, "abs_orientation")
    postures = np.bincount(np.asarray(photo["posture"], int), minlength=len(POSTURES))
    assert postures[POSTURES.index("prone")] >= postures[POSTURES.index("supine")] - 5
    # image_orientation is the stats module's orientation of the same body.
    assert len(photo["axis"]) == 60


def test_photo_style_images_are_less_saturated_and_sharper():
    stats = {}
    for style in ("home", "photo"):
        acc: dict[str, list[float]] = {}
        for i in range(12):
            s = render_sample(21, i, "coco17", size=(128, 128), style=style)
            merge(acc, image_statistics(s.image, s.keypoints, s.visibility))
        stats[style] = acc
    med = lambda st, k: summarise(stats[st][k])[1]  # noqa: E731
    assert med("photo", "saturation") < med("home", "saturation")
    assert med("photo", "sharpness") > med("home", "sharpness")


def test_photo_style_is_listed():
    assert "photo" in STYLES


def test_benchmark_skips_without_the_data(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "synth_vs_real.py"),
                        "--data", str(tmp_path / "absent")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    assert "skipped" in r.stdout and "not found" in r.stdout
