"""Issue 21 (4): one frame loop for photos and videos, composable annotators.

A video is decoded once per command even when the overlay and the de-identified copy are
written (counted by the decoder's opens); photos and videos share the loop and the annotators,
so a photo's overlay looks like a video frame's."""

import numpy as np
import pytest

import infantpose.io.video as iv
from infantpose.cli import main
from infantpose.draw import (FrameLabelAnnotator, ScoreVertexAnnotator, TrailAnnotator,
                             overlay_annotators)
from infantpose.frames import Frame, per_image, run_frames, stack_images
from infantpose.io.frames import image_frames, video_frames
from infantpose.poses import Poses
from infantpose.schemas import COCO17
import testclips as tc

MARKERS = "testclips:create_marker_estimator"


@pytest.fixture
def decodes(monkeypatch):
    """How many times each video was opened for decoding (``iter_frames`` calls)."""
    opened: list[str] = []
    real = iv.iter_frames

    def counting(path, *a, **k):
        opened.append(str(path))
        return real(path, *a, **k)

    monkeypatch.setattr(iv, "iter_frames", counting)
    return opened


@pytest.fixture
def clip(tmp_path):
    d = tmp_path / "vids"
    d.mkdir()
    tc.make_clip(d / "visit.mp4", n_frames=6, seed=3, size=(128, 112))
    return d / "visit.mp4"


def test_predict_decodes_a_video_once_with_overlay_and_deidentified_copy(clip, tmp_path,
                                                                          capsys, decodes):
    out = tmp_path / "p"
    assert main(["predict", str(clip), "-o", str(out), "-m", MARKERS, "--overlay",
                 "--deidentify", "blur", "-q"]) == 0, capsys.readouterr().err
    assert decodes == [str(clip)]
    for name in ("overlay.mp4", "deidentified.mp4"):
        assert iv.probe_video(out / "visit" / name).n_frames == 6
    poses = Poses.load_json(out / "visit" / "poses.json")
    assert poses.n_frames == 6 and np.isfinite(poses.data[:, 0, 11, :2]).all()


def test_batch_and_deidentify_decode_each_video_once(clip, tmp_path, capsys, decodes):
    assert main(["batch", str(clip.parent), "-o", str(tmp_path / "b"), "-j", "0", "-m", MARKERS,
                 "--overlay", "--deidentify", "mosaic", "--no-plot", "-q"]) == 0, \
        capsys.readouterr().err
    assert decodes == [str(clip)]
    decodes.clear()
    dst = tmp_path / "hidden.mp4"
    assert main(["deidentify", str(clip), "-o", str(dst), "--model", MARKERS, "-q"]) == 0, \
        capsys.readouterr().err
    assert decodes == [str(clip)]
    assert iv.probe_video(dst).n_frames == 6


def test_an_overlay_of_filtered_poses_needs_its_second_pass(clip, tmp_path, capsys, decodes):
    """The filter looks ahead, so its overlay is drawn after it: the one case with two. The
    face-hidden copy of a filtered run is still drawn in the first pass."""
    base = ["batch", str(clip.parent), "-j", "0", "-m", MARKERS, "--filter", "savgol",
            "--deidentify", "mosaic", "--no-plot", "-q"]
    assert main([*base, "-o", str(tmp_path / "b1")]) == 0, capsys.readouterr().err
    assert decodes == [str(clip)]
    decodes.clear()
    assert main([*base, "-o", str(tmp_path / "b2"), "--overlay"]) == 0, capsys.readouterr().err
    assert decodes == [str(clip)] * 2
    for name in ("overlay.mp4", "deidentified.mp4"):
        assert iv.probe_video(tmp_path / "b2" / "visit" / name).n_frames == 6
    a, _ = iv.read_frames(tmp_path / "b1" / "visit" / "deidentified.mp4")
    b, _ = iv.read_frames(tmp_path / "b2" / "visit" / "deidentified.mp4")
    assert np.array_equal(a, b)


def test_one_pass_gives_the_videos_the_two_pass_path_gave(clip, tmp_path):
    """The overlay and face-hidden copy drawn during prediction equal those drawn afterwards
    from the same poses (``render_videos``, the path of ``overlay`` and ``deidentify
    --poses``)."""
    from infantpose.models import create_estimator
    from infantpose.video.pipeline import VideoOptions, render_videos, run_video
    from infantpose.video.privacy import drop_facial_keypoints

    out = tmp_path / "one"
    out.mkdir()
    est = create_estimator(MARKERS, schema="coco17")
    res = run_video(est, clip, out, VideoOptions(overlay=True, deidentify="blur").check())
    render_videos(clip, draw=drop_facial_keypoints(res.poses), face_poses=res.poses,
                  deidentify="blur", deidentified=tmp_path / "d2.mp4",
                  overlay=tmp_path / "o2.mp4")
    for one, two in (("overlay.mp4", "o2.mp4"), ("deidentified.mp4", "d2.mp4")):
        a, _ = iv.read_frames(out / one)
        b, _ = iv.read_frames(tmp_path / two)
        assert a.shape == b.shape and np.array_equal(a, b), one
    assert res.info["overlay"] == {"frames": 6, "annotated": 6}


def test_frames_have_one_shape_from_videos_and_images(clip, tmp_path):
    from infantpose.io.images import write_image

    vf = list(video_frames(clip, max_frames=3))
    assert [f.index for f in vf] == [0, 1, 2] and vf[0].name == "visit_f000000"
    assert vf[0].size == (128, 112) and vf[0].image.dtype == np.uint8
    write_image(tmp_path / "a.png", vf[0].image)
    imf = list(image_frames([(tmp_path / "a.png", "sub/a.png"), tmp_path / "a.png"]))
    assert [(f.index, f.name, f.size) for f in imf] == [(0, "sub/a.png", (128, 112)),
                                                        (1, "a.png", (128, 112))]
    given = list(image_frames(["x.png"], pixels=[np.zeros((4, 5, 3), np.uint8)]))
    assert given[0].size == (5, 4)


class _Counter:
    name, schema = "counter", COCO17

    def __init__(self):
        self.seen = []

    def predict(self, image, boxes=None):
        self.seen.append((image.shape, None if boxes is None else boxes.tolist()))
        kp = np.zeros((1, 1, 17, 3))
        kp[..., 0], kp[..., 1], kp[..., 2] = 10.0, 20.0, 0.9
        return Poses(kp, COCO17, frame_size=(image.shape[1], image.shape[0]))


def test_run_frames_steps_hands_on_and_ticks_every_frame():
    est, ticks, handed = _Counter(), [], []
    frames = [Frame(i, f"im{i}", np.zeros((8 + i, 9, 3), np.uint8)) for i in range(3)]
    boxes = {1: np.array([[0.0, 0.0, 4.0, 4.0]])}
    res = run_frames(frames, per_image(est, lambda f: boxes.get(f.index)),
                     on_frame=lambda f, p: handed.append((f.name, p.n_instances)),
                     progress=ticks.append)
    assert ticks == [1, 1, 1] and handed == [("im0", 1), ("im1", 1), ("im2", 1)]
    assert est.seen[1] == ((9, 9, 3), [[0.0, 0.0, 4.0, 4.0]]) and est.seen[0][1] is None
    stacked = stack_images(res, [f.name for f in frames])
    assert stacked.n_frames == 3 and stacked.frame_names == ["im0", "im1", "im2"]


def test_run_frames_names_an_estimator_that_breaks_the_interface():
    from infantpose.errors import InputError

    class Bad(_Counter):
        def predict(self, image, boxes=None):
            return np.zeros((1, 17, 3))

    with pytest.raises(InputError, match="one-frame Poses"):
        run_frames([Frame(0, "a", np.zeros((4, 4, 3), np.uint8))], per_image(Bad()))


def _frame_poses(index=0):
    kp = np.full((1, 1, 17, 3), np.nan)
    rng = np.random.default_rng(0)
    kp[0, 0, :, :2] = rng.uniform(30, 90, (17, 2))
    kp[0, 0, :, 2] = np.linspace(0.1, 1.0, 17)
    return Poses(kp, COCO17, frame_indices=np.array([index]), fps=10.0, frame_size=(120, 120))


def test_photo_and_video_overlays_share_one_look():
    """The same skeleton (edges by side, dots by score) on a photo and on a video frame; the
    video adds only its time label (and, from the second frame on, the trail)."""
    img = np.full((120, 120, 3), 90, np.uint8)
    p = _frame_poses()
    photo = overlay_annotators().annotate(img, p)
    video = overlay_annotators(fps=10.0, trail_frames=10).annotate(img, p)
    white = np.full_like(img, 255)
    label = FrameLabelAnnotator(10.0).annotate(white, p) != white
    corner = np.zeros(img.shape[:2], bool)
    ys, xs = np.nonzero(label.any(-1))
    corner[:ys.max() + 1, :xs.max() + 1] = True
    assert not np.array_equal(photo, img)
    assert np.array_equal(photo[~corner], video[~corner])
    # the dots are the score colours: red for an unsure keypoint, green for a sure one
    dots = ScoreVertexAnnotator().annotate(img, p)
    x0, y0 = np.round(p.data[0, 0, 0, :2]).astype(int)
    x1, y1 = np.round(p.data[0, 0, -1, :2]).astype(int)
    assert dots[y0, x0, 0] > dots[y0, x0, 1] and dots[y1, x1, 1] > dots[y1, x1, 0]


def test_trail_annotator_remembers_its_frames():
    img = np.zeros((120, 120, 3), np.uint8)
    trail = TrailAnnotator(length=3)
    first = trail.annotate(img, _frame_poses(0))
    assert np.array_equal(first, img)  # one frame: no trail yet
    moved = _frame_poses(1)
    moved.data[..., :2] += 15
    second = trail.annotate(img, moved)
    assert second.any() and len(trail._past) == 2
    for i in range(2, 6):
        trail.annotate(img, _frame_poses(i))
    assert len(trail._past) == 3


class _NoFaces:
    """A face detector that finds no face (the regions then come from the keypoints)."""

    def detect(self, rgb):
        return np.zeros((0, 5))

    def close(self):
        pass


def _no_faces_found(monkeypatch) -> None:
    import infantpose.video.privacy as pv

    monkeypatch.setattr(pv, "FaceDetector", lambda *a, **k: _NoFaces())


def test_face_annotator_hides_what_the_deidentifier_hides(monkeypatch):
    import infantpose.video.privacy as pv
    from infantpose.video.face_annotator import FaceAnnotator

    _no_faces_found(monkeypatch)
    img = np.random.default_rng(1).integers(0, 255, (120, 120, 3), dtype=np.uint8)
    p = _frame_poses()
    p.data[0, 0, :, 2] = 0.9
    ann = FaceAnnotator("mosaic")
    direct = pv.Deidentifier("mosaic")
    assert np.array_equal(ann.annotate(img, p), direct(img, p.data[0], COCO17, guessed=[]))
    assert np.array_equal(ann.annotate(img, None), direct(img))  # no poses: blurred whole
    assert ann.report.frames == 2 and ann.report.whole_frame_blurred == 1


def test_label_previews_hide_the_face_through_the_same_annotator(monkeypatch):
    """The labelling tool's previews: the face annotator with the label's rules (blur; the
    frame blurred whole, and reported, when no face can be placed)."""
    import infantpose.video.privacy as pv
    from infantpose.label.build import display_image

    _no_faces_found(monkeypatch)
    img = np.random.default_rng(2).integers(0, 255, (120, 120, 3), dtype=np.uint8)
    kp = _frame_poses().data[0, 0]
    kp[:, 2] = 0.9
    for by_person in (False, True):
        shown, found = display_image(img, kp, COCO17, pv.Deidentifier("blur"), by_person)
        regs, _, _ = pv.Deidentifier("blur").regions(img, kp[None], COCO17,
                                                     confirmed=by_person)
        assert found and regs
        assert np.array_equal(shown, pv.anonymize_regions(img, regs, "blur"))
    shown, found = display_image(img, np.full((17, 3), np.nan), COCO17, pv.Deidentifier("blur"))
    assert not found and np.array_equal(shown, pv.blur_whole(img))
