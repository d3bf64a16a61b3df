"""infantpose.geometry: quarter-turn rotations map pixels exactly and invert; keypoint boxes;
crop regions and the affine helpers."""

import numpy as np
import pytest

from infantpose import geometry as geo

# --- quarter turns -------------------------------------------------------------------------------

@pytest.mark.parametrize("deg", [0, 90, 180, 270])
def test_rotation_maps_pixels_exactly(deg):
    h, w = 7, 11
    img = np.zeros((h, w, 3), np.uint8)
    r, c = 2, 8
    img[r, c] = 255
    rot = geo.rotate_image(img, deg)
    rr, cc = np.argwhere(rot[..., 0] == 255)[0]
    centre = np.array([c + 0.5, r + 0.5])
    fwd = geo.rotate_points(centre, deg, (w, h))
    np.testing.assert_allclose(fwd, [cc + 0.5, rr + 0.5])          # forward lands on the pixel
    np.testing.assert_allclose(geo.unrotate_points(fwd, deg, (w, h)), centre)  # and back


def test_unrotate_inverts_rotate_on_random_points():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 100, (50, 2))
    for deg in (0, 90, 180, 270, -90, 450):
        back = geo.unrotate_points(geo.rotate_points(pts, deg, (120, 80)), deg, (120, 80))
        np.testing.assert_allclose(back, pts, atol=1e-12)
    with pytest.raises(ValueError):
        geo.rotate_image(np.zeros((4, 4, 3), np.uint8), 45)


def test_crop_region():
    assert geo.crop_region((100, 100, 200, 300), (640, 480), 0.25) == (0, 50, 300, 350)
    assert geo.crop_region((0, 0, 640, 480), (640, 480)) == (0, 0, 640, 480)
    assert geo.crop_region((np.nan, 0, 1, 1), (640, 480)) == (0, 0, 640, 480)


@pytest.mark.parametrize("deg", [0, 90, 180, 270])
def test_upright_turn_agrees_with_the_image_rotation(deg):
    # a body pointing along the image's rotated "up" stands upright after that turn
    up = geo.unrotate_points(np.array([0.5, 0.0]), deg, (1, 1)) - geo.unrotate_points(
        np.array([0.5, 1.0]), deg, (1, 1))
    assert geo.upright_turn(up) == deg
    roi = geo.quarter_turn_roi((0, 0, 10, 20), deg)
    assert roi.quarter_turn() == deg and roi.width == roi.height == 20


# --- boxes ---------------------------------------------------------------------------------------

def test_tight_box_keeps_finite_masked_points_and_counts_them():
    xy = np.array([[10.0, 20.0], [30.0, 5.0], [np.nan, 1.0], [100.0, 100.0]])
    np.testing.assert_array_equal(geo.tight_box(xy), [10, 5, 100, 100])
    keep = np.array([True, True, True, False])
    np.testing.assert_array_equal(geo.tight_box(xy, keep), [10, 5, 30, 20])
    assert geo.tight_box(xy, keep, min_points=3) is None
    assert geo.tight_box(np.full((4, 2), np.nan)) is None


def test_grow_pad_clip_and_box_formats():
    box = np.array([10.0, 10.0, 30.0, 20.0])
    np.testing.assert_allclose(geo.grow_box(box, 0.5), [0, 5, 40, 25])
    np.testing.assert_allclose(geo.grow_box(box, 0.0, square=True), [10, 5, 30, 25])
    np.testing.assert_allclose(geo.pad_box(box, 2), [8, 8, 32, 22])
    np.testing.assert_allclose(geo.pad_box(box, [1, 2]), [9, 8, 31, 22])
    np.testing.assert_allclose(geo.clip_box([-5, 3, 50, 90], (40, 60)), [0, 3, 40, 60])
    np.testing.assert_allclose(geo.xywh_to_xyxy(geo.xyxy_to_xywh(box)), box)
    np.testing.assert_allclose(geo.xyxy_to_xywh(box), [10, 10, 20, 10])


# --- affines -------------------------------------------------------------------------------------

def test_affine_helpers_invert_and_compose():
    m = geo.box_transform([10, 20, 110, 70], (64, 96), 1.25, 90)
    pts = np.array([[10.0, 20.0], [110.0, 70.0], [50.0, 33.0]])
    np.testing.assert_allclose(geo.apply_affine(geo.invert_affine(m), geo.apply_affine(m, pts)),
                               pts, atol=1e-9)
    np.testing.assert_allclose((geo.to_3x3(m) @ geo.to_3x3(geo.invert_affine(m)))[:2],
                               [[1, 0, 0], [0, 1, 0]], atol=1e-12)


def test_body_size_is_the_diagonal_of_the_present_points_box():
    from infantpose.geometry import body_size

    xy = np.array([[0.0, 0.0], [3.0, 1.0], [np.nan, np.nan], [1.0, 4.0], [50.0, np.nan]])
    assert body_size(xy) == 5.0  # box 3 x 4; the half-missing point does not count
    assert np.isnan(body_size(np.array([[1.0, 1.0], [np.nan, np.nan]])))  # one point: no size
    assert np.isnan(body_size(np.full((3, 2), np.nan)))
    many = np.stack([xy, xy * 2, np.full_like(xy, np.nan)])  # (3 poses, K, 2)
    sizes = body_size(many)
    assert sizes.shape == (3,)
    assert sizes[:2].tolist() == [5.0, 10.0] and np.isnan(sizes[2])
    video = np.stack([many, many])  # (2 frames, 3 instances, K, 2)
    assert body_size(video).shape == (2, 3)


@pytest.mark.parametrize("angle", [0.0, 35.0, 90.0, 160.0, -120.0])
def test_upright_crop_turns_up_to_up_and_fits_the_points(angle):
    th = np.radians(angle)
    up = np.array([np.sin(th), -np.cos(th)])  # "up" leaning `angle` degrees clockwise
    assert geo.lean_degrees(up) == pytest.approx(abs(angle))
    pts = np.array([[100, 100], [100, 100]]) + np.outer([0, 40], up)  # hip, shoulder
    pts = np.vstack([pts, [np.nan, np.nan]])  # ignored
    m = geo.upright_crop_transform(pts, up, (64, 64), margin=2.0)
    q = geo.apply_affine(m, pts[:2])
    np.testing.assert_allclose(q[1, 0], q[0, 0], atol=1e-9)  # shoulder straight above hip
    assert q[1, 1] < q[0, 1]
    np.testing.assert_allclose(q.mean(0), [32, 32], atol=1e-9)  # centred
    np.testing.assert_allclose(q[0, 1] - q[1, 1], 32, atol=1e-9)  # 40 px × 2 = the crop side
    assert geo.upright_crop_transform(pts[:1], up, (64, 64)) is None
    assert geo.upright_crop_transform(pts, [0, 0], (64, 64)) is None


def test_torso_up_uses_the_kept_shoulders_and_hips():
    from infantpose.schemas import COCO17

    xy = np.zeros((17, 2))
    xy[[5, 6]] = [[110, 50], [90, 50]]  # shoulders above the hips
    xy[[11, 12]] = [[108, 100], [92, 100]]
    ok = np.zeros(17, bool)
    ok[[5, 6, 11, 12]] = True
    np.testing.assert_allclose(geo.torso_up(xy, ok), [0, -50])
    ok[[6, 12]] = False  # one side unseen: the other side's points alone
    np.testing.assert_allclose(geo.torso_up(xy, ok), [2, -50])
    ok[[5]] = False
    assert geo.torso_up(xy, ok) is None  # no shoulder kept
    ok[[5, 11]] = [True, True]
    xy[11] = xy[5] + 0.5  # shorter than a pixel: no direction
    assert geo.torso_up(xy, ok) is None
    assert geo.torso_up(xy, ok, COCO17) is None
