"""De-identification: no face pixel survives, unplaceable faces blur the frame, metadata is gone."""

import numpy as np
import pytest

from infantpose.errors import InputError
from infantpose.io.video import read_frames
from infantpose.video import privacy as pv
from infantpose.video.pipeline import deidentify_video
import testclips as tc

PHI = {"creation_time": "2024-05-01T10:00:00.000000Z", "location": "+52.3700+004.8900/",
       "title": "baby anna smith", "make": "Apple", "model": "iPhone 13"}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("priv") / "phone.mp4"
    truth, frames = tc.make_clip(path, n_frames=8, metadata=PHI)
    return path, truth, frames


@pytest.mark.parametrize("mode", ["mosaic", "blur"])
def test_no_face_pixel_unchanged_inside_the_face_box(clip, mode):
    _, truth, frames = clip
    deid = pv.Deidentifier(mode=mode, margin=0.3, use_detector=False)
    for f in range(len(frames)):
        out = deid(frames[f], truth.data[f], truth.schema)
        x1, y1, x2, y2 = np.round(tc.face_box(truth.data[f, 0, :, :2], truth.schema)).astype(int)
        x1, y1 = max(x1, 0), max(y1, 0)
        before, after = frames[f][y1:y2, x1:x2], out[y1:y2, x1:x2]
        unchanged = (before == after).all(axis=-1)
        assert unchanged.sum() == 0, f"{unchanged.sum()} face pixels unchanged in frame {f}"
        # and the texture (the identity) is gone, not just shifted: the noise face no longer
        # correlates with what is left
        face = (before[..., 0] == before[..., 1]) & (before[..., 1] == before[..., 2])
        corr = np.corrcoef(before[face][:, 0].astype(float), after[face][:, 0].astype(float))[0, 1]
        assert corr < 0.5, corr
        # far from the face nothing was touched
        assert np.array_equal(out[-10:, :10], frames[f][-10:, :10])
    assert deid.report.keypoint_frames == len(frames) and deid.report.whole_frame_blurred == 0


def test_video_is_deidentified_and_metadata_stripped(clip, tmp_path):
    path, truth, frames = clip
    assert pv.identifying_tags(path)  # the source really carries identifying tags
    out = tmp_path / "deid.mp4"
    report = deidentify_video(path, out, mode="mosaic", poses=truth)
    assert report.frames == 8 and report.whole_frame_blurred == 0
    assert pv.identifying_tags(out) == {}
    meta = pv.container_metadata(out)
    values = set(meta["container"].values()) | {v for s in meta["streams"] for v in s.values()}
    assert not values & set(PHI.values())
    raw = out.read_bytes()
    for secret in (b"anna", b"iPhone", b"+52.37", b"2024-05-01"):
        assert secret not in raw
    dec, idx = read_frames(out)
    src, _ = read_frames(path)
    assert dec.shape == src.shape and idx == list(range(8))
    for f in range(8):
        x1, y1, x2, y2 = np.round(tc.face_box(truth.data[f, 0, :, :2], truth.schema)).astype(int)
        diff = np.abs(dec[f, y1:y2, x1:x2].astype(int) - src[f, y1:y2, x1:x2].astype(int)).max(-1)
        assert (diff > 3).mean() > 0.9  # beyond compression noise, almost every pixel changed


def test_frames_without_a_face_region_are_blurred_whole(clip, tmp_path):
    path, _, frames = clip
    out = tmp_path / "blurred.mp4"
    report = deidentify_video(path, out, use_detector=False)  # no detector, no keypoints
    assert report.whole_frame_blurred == report.frames == 8
    dec, _ = read_frames(out)
    src, _ = read_frames(path)
    # high-frequency detail (the face texture, the markers) is gone everywhere
    assert np.abs(np.diff(dec.astype(float), axis=2)).mean() < 0.3 * np.abs(
        np.diff(src.astype(float), axis=2)).mean()


def test_face_detector_geometry_and_empty_frame():
    det = pv.FaceDetector()
    try:
        assert det.detect(np.full((96, 128, 3), 90, np.uint8)).shape == (0, 5)
        assert det.calls == 4  # tried upright and three rotations
    finally:
        det.close()
    # a point in an image rotated by k quarter turns maps back to the original pixel (the
    # detector's boxes go through infantpose.geometry.unrotate_points)
    img = np.zeros((6, 10))
    img[1, 7] = 1
    for k in range(4):
        rot = np.rot90(img, k)
        yr, xr = np.argwhere(rot == 1)[0]
        back = pv.unrotate_points(np.array([[xr + 0.5, yr + 0.5]]), 90 * k, (10, 6))[0]
        assert np.allclose(back, [7.5, 1.5])


def test_drop_facial_keypoints(clip):
    _, truth, _ = clip
    out = pv.drop_facial_keypoints(truth)
    facial = truth.schema.facial_mask
    assert np.isnan(out.data[:, :, facial, :2]).all() and (out.data[:, :, facial, 2] == 0).all()
    assert np.array_equal(out.data[:, :, ~facial], truth.data[:, :, ~facial])
    assert out.meta["facial_keypoints_dropped"] == list(truth.schema.facial)


def test_head_box_needs_head_points_and_bad_mode(clip):
    _, truth, _ = clip
    inst = truth.data[0, 0].copy()
    assert pv.head_box(inst, truth.schema) is not None
    inst[truth.schema.facial_mask, 2] = 0.0
    assert pv.head_box(inst, truth.schema) is None
    with pytest.raises(InputError, match="mode"):
        pv.Deidentifier(mode="pixelate", use_detector=False)
    with pytest.raises(InputError, match="missing.mp4"):
        deidentify_video("missing.mp4", "out.mp4")


def test_face_detector_finds_a_rendered_infant_face_in_any_orientation():
    from infantpose.geometry import rotate_points
    from infantpose.synth.clips import render_clip

    frames, truth, _ = render_clip(0, 0.1, fps=10, schema="coco17", size=(320, 240),
                                   style="studio")
    head = truth.data[0, 0, :5, :2].mean(axis=0)  # nose, eyes, ears
    for k in range(4):
        img = np.ascontiguousarray(np.rot90(frames[0], k))
        point = rotate_points(head, 90 * k, (320, 240))
        det = pv.FaceDetector()
        try:
            boxes = det.detect(img)
        finally:
            det.close()
        assert len(boxes) >= 1, f"no face at rotation {90 * k}"
        x1, y1, x2, y2, score = boxes[0]
        assert x1 <= point[0] <= x2 and y1 <= point[1] <= y2 and score > 0.5
        deid = pv.Deidentifier(use_detector=True)
        out = deid(img)
        deid.close()
        assert deid.report.detector_frames == 1 and deid.report.whole_frame_blurred == 0
        xi, yi = int(point[0]), int(point[1])
        patch = np.s_[yi - 3:yi + 3, xi - 3:xi + 3]
        assert not np.array_equal(out[patch], img[patch])
