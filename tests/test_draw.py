"""Skeleton drawing: array in, array out; sides coloured apart; missing keypoints skipped."""

import dataclasses

import numpy as np
import pytest

from infantpose.draw import (BoxAnnotator, EdgeAnnotator, Palette, SkeletonAnnotator,
                             VertexAnnotator, body_side, draw_poses, draw_skeleton,
                             side_of)
from infantpose.geometry import keypoint_xywh
from infantpose.poses import Poses
from infantpose.schemas import COCO17


def _kp():
    kp = np.full((17, 3), np.nan)
    kp[:, 2] = 0.0
    kp[COCO17.index("left_shoulder")] = (70, 20, 1.0)
    kp[COCO17.index("left_elbow")] = (70, 60, 1.0)
    kp[COCO17.index("right_shoulder")] = (20, 20, 1.0)
    kp[COCO17.index("right_elbow")] = (20, 60, 1.0)
    return kp


def test_sides_get_their_colours_and_input_is_untouched():
    img = np.zeros((80, 90, 3), np.uint8)
    pal = Palette()
    out = draw_skeleton(img, _kp(), COCO17)
    assert img.sum() == 0 and out.shape == img.shape and out.dtype == np.uint8
    assert tuple(out[40, 70]) == pal.left    # middle of the left upper arm
    assert tuple(out[40, 20]) == pal.right   # middle of the right upper arm
    assert tuple(out[20, 45]) == pal.center  # shoulder line joins both sides


def test_missing_keypoints_and_low_scores_are_skipped():
    img = np.zeros((80, 90, 3), np.uint8)
    kp = _kp()
    kp[COCO17.index("left_elbow"), :2] = np.nan
    out = EdgeAnnotator().annotate(img, kp, COCO17)
    assert out[40, 70].sum() == 0  # the left arm edge lost an end
    kp = _kp()
    kp[COCO17.index("right_elbow"), 2] = 0.1
    out = EdgeAnnotator(min_score=0.5).annotate(img, kp, COCO17)
    assert out[40, 20].sum() == 0
    assert draw_skeleton(img, np.full((17, 3), np.nan), COCO17).sum() == 0


def test_vertex_opacity_follows_score():
    img = np.zeros((40, 40, 3), np.uint8)
    kp = np.full((17, 3), np.nan)
    kp[:, 2] = 0
    kp[COCO17.index("left_wrist")] = (10, 10, 1.0)
    kp[COCO17.index("right_wrist")] = (30, 30, 0.4)
    out = VertexAnnotator(outline=None, min_alpha=0.0).annotate(img, kp, COCO17)
    assert tuple(out[10, 10]) == Palette().left
    np.testing.assert_allclose(out[30, 30], np.array(Palette().right) * 0.4, atol=1)


def test_composition_boxes_and_poses():
    img = np.zeros((80, 90, 3), np.uint8)
    p = Poses(_kp()[None, None], COCO17)
    a = draw_poses(img, p)
    b = SkeletonAnnotator((EdgeAnnotator(), VertexAnnotator(), BoxAnnotator())).annotate(
        img, p.data[0], COCO17)
    assert a.sum() > 0 and (b != a).any()
    assert keypoint_xywh(_kp()) == (20.0, 20.0, 50.0, 40.0)
    assert keypoint_xywh(np.full((17, 3), np.nan)) is None
    assert side_of("left_palm") == "left" and side_of("mouth_right") == "right"
    assert side_of("nose") == "center"
    with pytest.raises(ValueError):
        draw_skeleton(np.zeros((5, 5), np.uint8), _kp(), COCO17)


def test_centre_is_the_spelling_and_center_still_works():
    assert body_side("nose") == "centre" and body_side("left_palm") == "left"
    assert body_side("mouth_right") == "right" and side_of("mouth_right") == "right"
    pal = Palette()
    assert pal.center == pal.centre == pal.for_side("centre") == pal.for_side("center")
    assert Palette(center=(1, 2, 3)).centre == (1, 2, 3)  # the old keyword
    moved = dataclasses.replace(Palette(center=(1, 2, 3)), centre=(4, 5, 6))
    assert moved.centre == moved.center == (4, 5, 6)
    assert pal.hex() == {"left": "#ff8c00", "right": "#1e90ff", "centre": "#3cdc3c"}


def test_the_labelling_page_draws_sides_in_these_colours():
    """label.js takes its side colours from the server (Palette.hex) and defines none itself;
    label.css's fallbacks (before the project loads) are the same colours."""
    import re
    from importlib import resources

    from infantpose.label.app import _schema_info

    static = resources.files("infantpose.label") / "static"
    js = (static / "label.js").read_text(encoding="utf-8")
    css = (static / "label.css").read_text(encoding="utf-8")
    assert "COLORS = S.project.schema.colours" in js
    assert not re.search(r"COLORS\s*=\s*\{[^}]*#", js)  # no hard-coded side colours
    css_vars = dict(re.findall(r"--(left|right|centre):\s*(#[0-9a-fA-F]{6})", css))
    assert {k: v.lower() for k, v in css_vars.items()} == Palette().hex()
    info = _schema_info("blazepose33")
    assert info["colours"] == Palette().hex()
    assert info["sides"] == [body_side(k) for k in info["keypoints"]]
    assert info["sides"][info["keypoints"].index("mouth_left")] == "left"
