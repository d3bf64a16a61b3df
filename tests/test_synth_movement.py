"""Movement styles of synthetic clips (issue 15): normal, cramped, poor; exact labels."""

import json

import numpy as np
import pytest

from infantpose.cli import main
from infantpose.errors import InputError
from infantpose.features import FeatureConfig, feature_rows
from infantpose.synth.body import ANGLE_NAMES
from infantpose.synth.clips import angle_trajectory, render_clip

T = np.arange(0, 20, 1 / 15)
JOINTS = ("elbow_flex", "knee_flex", "hip_flex", "shoulder_abd", "shoulder_flex")


def lr_corr(a):
    return np.mean([np.corrcoef(a[:, ANGLE_NAMES.index("left_" + j)],
                                a[:, ANGLE_NAMES.index("right_" + j)])[0, 1] for j in JOINTS])


def speed(a):
    return np.abs(np.diff(a, axis=0)).mean() * 15


def stats(movement):
    rows = [angle_trajectory("supine", T, np.random.default_rng(s), movement=movement)
            for s in range(8)]
    return np.mean([lr_corr(a) for a in rows]), np.mean([speed(a) for a in rows])


def test_styles_differ_as_described():
    c_norm, v_norm = stats("normal")
    c_cramp, v_cramp = stats("cramped")
    c_poor, v_poor = stats("poor")
    assert c_cramp > 0.8 and abs(c_norm) < 0.3 and abs(c_poor) < 0.4   # synchronised limbs
    assert v_poor < 0.4 * v_norm                                        # small, slow movement


def test_normal_is_the_default_trajectory():
    a = angle_trajectory("supine", T, np.random.default_rng(1))
    b = angle_trajectory("supine", T, np.random.default_rng(1), movement="normal")
    assert np.array_equal(a, b)
    with pytest.raises(InputError):
        angle_trajectory("supine", T, np.random.default_rng(1), movement="jerky")


def test_rendered_clips_have_exact_labels_and_style_shows_in_features():
    speeds = {}
    for movement in ("normal", "poor"):
        frames, poses, vis = render_clip(4, 3.0, fps=10, schema="coco17", size=(160, 120),
                                         movement=movement)
        assert len(frames) == 30 and poses.meta["movement"] == movement
        assert poses.n_frames == 30 and vis.shape == (30, 17)
        row = feature_rows(poses, FeatureConfig(conf=0.5))[0]
        speeds[movement] = np.nanmean([row[f"{s}_{j}_angle_vel_median_abs"]
                                       for s in ("left", "right") for j in ("elbow", "knee")])
    assert speeds["poor"] < 0.5 * speeds["normal"]


def test_cli_movement_option(tmp_path, capsys):
    out = tmp_path / "clips"
    assert main(["synth", "--n", "1", "--clip", "0.4", "--fps", "5", "--size", "96x72",
                 "--movement", "poor", "--schema", "coco17", "--out", str(out)]) == 0
    meta = json.loads((out / "clip_000.json").read_text())["meta"]
    assert meta["movement"] == "poor"
    assert main(["synth", "--n", "1", "--clip", "1", "--movement", "wild", "--out",
                 str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "'--movement'" in err and "\n" not in err


def test_severity_blends_from_normal_to_style():
    normal = angle_trajectory("supine", T, np.random.default_rng(2))
    zero = angle_trajectory("supine", T, np.random.default_rng(2), movement="poor", severity=0.0)
    assert np.allclose(zero, normal)
    speeds = [speed(angle_trajectory("supine", T, np.random.default_rng(2), movement="poor",
                                     severity=s)) for s in (0.0, 0.5, 1.0)]
    assert speeds[0] > speeds[1] > speeds[2]
    with pytest.raises(InputError):
        angle_trajectory("supine", T, np.random.default_rng(2), movement="poor", severity=1.5)
