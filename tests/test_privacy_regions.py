"""Issue 11 (2): face regions are never tiny, cover profiles, scale the mosaic with the face;
no muxer tag survives in any output format."""

from __future__ import annotations

import numpy as np
import pytest

from infantpose.schemas import get_schema
from infantpose.video import face_region as fr
from infantpose.video import privacy as pv

COCO = get_schema("coco17")


def instance(points: dict[str, tuple[float, float]], schema=COCO, score: float = 0.9
             ) -> np.ndarray:
    inst = np.full((schema.num_keypoints, 3), np.nan)
    inst[:, 2] = 0.0
    for name, (x, y) in points.items():
        inst[schema.index(name)] = (x, y, score)
    return inst


def inside(inner: np.ndarray, outer: np.ndarray) -> bool:
    return bool(outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2]
                and inner[3] <= outer[3])


def test_a_small_face_gets_a_region_of_at_least_the_floor_and_covers_the_head():
    # the case: a 224x224 video, a ~40 px head whose eyes/nose span a few pixels
    inst = instance({"nose": (112, 100), "left_eye": (116, 96), "right_eye": (108, 96),
                     "left_ear": (122, 98), "right_ear": (102, 98),
                     "left_shoulder": (132, 130), "right_shoulder": (92, 130)})
    reg = fr.keypoint_region(inst, COCO, (224, 224))
    assert reg is not None and reg.source == "keypoints"
    side = min(reg.box[2] - reg.box[0], reg.box[3] - reg.box[1])
    assert side >= fr.MIN_FRAME_FRACTION * 224
    head = np.array([112 - 20, 100 - 22, 112 + 20, 100 + 18])  # the ~40 px head
    assert inside(head, reg.box)


def test_a_profile_face_covers_nose_lips_and_chin_beyond_the_nose():
    # facing right: ear at the back, one eye, nose tip far to the right
    inst = instance({"left_ear": (200, 200), "left_eye": (235, 190), "nose": (250, 205),
                     "left_shoulder": (190, 260)})
    reg = fr.keypoint_region(inst, COCO, (640, 480))
    ear_to_nose = 50.0
    # lips and chin lie about 0.3-0.5 head lengths beyond/below the nose tip
    assert reg.box[2] >= 250 + 0.4 * ear_to_nose and reg.box[3] >= 205 + 0.6 * ear_to_nose
    assert reg.box[0] <= 200 - 0.3 * ear_to_nose  # the back of the head too


def test_shoulders_only_hide_a_region_around_them_and_nothing_means_whole_frame():
    inst = instance({"left_shoulder": (300, 240), "right_shoulder": (340, 240)})
    reg = fr.keypoint_region(inst, COCO, (640, 480))
    assert reg is not None and reg.source == "shoulders"
    # the head may be on any side of the shoulders: all four directions are covered
    assert reg.box[0] <= 320 - 60 and reg.box[2] >= 320 + 60
    assert reg.box[1] <= 240 - 60 and reg.box[3] >= 240 + 60
    assert fr.keypoint_region(instance({}), COCO, (640, 480)) is None
    rgb = np.random.default_rng(0).integers(0, 255, (120, 160, 3), dtype=np.uint8)
    deid = pv.Deidentifier(use_detector=False)
    out = deid(rgb, instance({})[None], COCO)
    assert deid.report.whole_frame_blurred == 1 and np.abs(out.astype(int) - rgb).mean() > 20


def test_a_tiny_detector_box_is_grown_to_the_floor():
    reg = fr.detector_region(np.array([100, 100, 105, 104, 0.9]), (320, 240))
    assert reg.box[2] - reg.box[0] >= fr.MIN_FRAME_FRACTION * 240


def test_a_detector_box_region_holds_the_whole_head():
    """BlazeFace's box spans eyes to mouth; the head (ears, hair) is ~1.7 box sides wide, and
    the region (1.6 head sizes) holds a point 1.3 box sides from the centre (an ear)."""
    box = np.array([300, 200, 360, 260, 0.9])  # 60 px box on a 640x480 frame
    reg = fr.detector_region(box, (640, 480))
    assert reg.face_size == pytest.approx(fr.HEAD_PER_FACE_BOX * 60)
    assert reg.box[0] <= 330 - 1.3 * 60 and reg.box[2] >= 330 + 1.3 * 60
    assert reg.box[1] <= 230 - 1.3 * 60 and reg.box[3] >= 230 + 1.3 * 60


def test_mosaic_has_at_most_six_cells_across_the_face():
    rng = np.random.default_rng(1)
    rgb = rng.integers(0, 255, (400, 400, 3), dtype=np.uint8)
    inst = instance({"nose": (200, 200), "left_eye": (215, 190), "right_eye": (185, 190),
                     "left_ear": (235, 195), "right_ear": (165, 195)})
    reg = fr.keypoint_region(inst, COCO, (400, 400))
    out = pv.anonymize_regions(rgb, [reg], "mosaic")
    # count cells along the row through the eyes inside the face (ear to ear)
    row = out[190, 165:236].astype(int)
    changes = int((np.abs(np.diff(row, axis=0)).sum(axis=1) > 3).sum())
    assert changes + 1 <= 6 + 1  # cells (and the one-level nudges) along 70 px of face
    assert changes >= 1


@pytest.mark.parametrize("mode", ["mosaic", "blur"])
def test_face_layout_does_not_survive(mode):
    """A face-like pattern (dark eyes and mouth on light skin) does not correlate with its
    de-identified copy."""
    import cv2

    rgb = np.full((300, 300, 3), 90, np.uint8)
    cv2.circle(rgb, (150, 150), 60, (225, 190, 170), -1)
    for x in (128, 172):
        cv2.circle(rgb, (x, 135), 8, (30, 20, 20), -1)
    cv2.ellipse(rgb, (150, 180), (20, 7), 0, 0, 360, (120, 40, 50), -1)
    inst = instance({"nose": (150, 155), "left_eye": (172, 135), "right_eye": (128, 135),
                     "left_ear": (210, 150), "right_ear": (90, 150)})
    deid = pv.Deidentifier(mode, use_detector=False)
    out = deid(rgb, inst[None], COCO)
    a = rgb[95:205, 95:205].mean(axis=2).ravel()
    b = out[95:205, 95:205].mean(axis=2).ravel()
    assert np.corrcoef(a, b)[0, 1] < 0.6


@pytest.mark.parametrize("ext", [".mp4", ".mkv", ".mov", ".avi"])
def test_no_muxer_tags_in_any_output_format(tmp_path, ext):
    from infantpose.io.video import read_frames, write_video

    frames = [np.full((48, 64, 3), 20 * i, np.uint8) for i in range(4)]
    path = write_video(tmp_path / f"v{ext}", frames, fps=10)
    assert pv.identifying_tags(path) == {}
    back, idx = read_frames(path)
    assert back.shape == (4, 48, 64, 3) and idx == [0, 1, 2, 3]


def test_predict_and_deidentify_build_the_same_deidentifier(monkeypatch):
    """``predict --deidentify`` and ``deidentify`` hide faces through the same Deidentifier
    settings (margin, score threshold, detector)."""
    made = []
    real = pv.Deidentifier.__init__

    def spy(self, *a, **k):
        real(self, *a, **k)
        made.append((self.mode, self.margin, self.min_score, self.detector is not None))

    monkeypatch.setattr(pv.Deidentifier, "__init__", spy)
    monkeypatch.setattr(pv, "FaceDetector", lambda *a, **k: _NoFaces())
    from infantpose.pipelines.predict import _deidentifier

    _deidentifier("mosaic")  # predict on images
    pv.Deidentifier("mosaic")  # what the video path (render_videos) builds with its defaults
    assert made[0] == made[1]


class _NoFaces:
    def detect(self, rgb):
        return np.zeros((0, 5))

    def close(self):
        pass
