"""EXIF orientation: phone photos are read upright everywhere (issue 12, item 2).

A phone held in portrait stores a landscape pixel array with EXIF Orientation = 6 ("turn 90°
clockwise to view"). Viewers, browsers and LabelMe apply the tag, so labels are made on the
upright image; infantpose must read the same upright pixels and report the upright size.
"""

import json

import numpy as np
import pytest
from PIL import Image, ImageOps

from infantpose.io.coco import image_size as coco_image_size
from infantpose.io.coco import read_coco
from infantpose.io.images import (apply_orientation, check_image_header, image_size, read_image)

STORED_W, STORED_H = 64, 32


def _stored() -> np.ndarray:
    """A landscape array with a red block at the stored top-left and a blue one at the
    stored bottom-left, so every turn and mirror is told apart."""
    a = np.full((STORED_H, STORED_W, 3), 128, np.uint8)
    a[:8, :8] = (255, 0, 0)
    a[-8:, :8] = (0, 0, 255)
    return a


def _write(path, orientation: int, fmt: str | None = None) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    kw = {"quality": 95} if path.suffix == ".jpg" else {}
    Image.fromarray(_stored()).save(path, exif=exif.tobytes(), **kw)


def test_orientation_6_jpeg_is_read_upright(tmp_path):
    path = tmp_path / "phone.jpg"
    _write(path, 6)
    img = read_image(path)
    assert img.shape == (STORED_W, STORED_H, 3)  # portrait: 32 wide, 64 high
    # turned 90° clockwise: the stored top-left (red) is now top-right, stored bottom-left
    # (blue) is now top-left
    assert np.all(np.abs(img[2, -3].astype(int) - (255, 0, 0)) < 40)
    assert np.all(np.abs(img[2, 2].astype(int) - (0, 0, 255)) < 40)
    with Image.open(path) as im:
        ref = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert ref.shape == img.shape
    assert np.abs(ref.astype(int) - img.astype(int)).mean() < 2.0  # same decoder up to rounding
    assert check_image_header(path) == (STORED_H, STORED_W)
    assert image_size(path) == (STORED_H, STORED_W)
    assert coco_image_size(path) == (STORED_H, STORED_W)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_orientation_matches_pillow(tmp_path, orientation):
    path = tmp_path / f"o{orientation}.png"  # lossless, so the pixels compare exactly
    _write(path, orientation)
    with Image.open(path) as im:
        ref = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    assert np.array_equal(read_image(path), ref)
    assert np.array_equal(apply_orientation(_stored(), orientation), ref)
    assert check_image_header(path) == (ref.shape[1], ref.shape[0])


def test_coco_labels_of_a_phone_photo_line_up(tmp_path):
    """A COCO file made on the upright photo (no width/height stated): the size read from the
    image is the upright size and the labelled point sits on the block it was placed on."""
    _write(tmp_path / "phone.jpg", 6)
    names = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
             "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
             "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle"]
    kps = [0] * 51
    kps[0:3] = [STORED_H - 4, 4, 2]  # nose on the red block, top-right of the upright image
    coco = {"images": [{"id": 1, "file_name": "phone.jpg"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "keypoints": kps,
                             "bbox": [0, 0, STORED_H, STORED_W]}],
            "categories": [{"id": 1, "name": "person", "keypoints": names}]}
    (tmp_path / "labels.json").write_text(json.dumps(coco))
    ds = read_coco(tmp_path / "labels.json")
    assert ds.poses.sizes() == [(STORED_H, STORED_W)]
    x, y = ds.poses.data[0, 0, 0, :2].astype(int)
    img = read_image(ds.image_paths[0])
    assert img[y, x, 0] > 200 and img[y, x, 2] < 60  # red
