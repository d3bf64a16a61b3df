"""Test-time mirroring of the mediapipe runtime (``BlazePose(mirror_test=...)``), the fine-tuned
model's runtime options (``runtime_mirror``, ``ensemble``) and their CLI flag.

A stand-in for mediapipe that behaves like a pose model (it labels left and right by the body's
handedness, which a mirror image reverses) checks that the mirrored view maps back exactly, with
left and right swapped back; the real runtime on a rendered infant checks that predicting an
image and predicting its mirror image give mirror-image poses.
"""

import numpy as np
import pytest

from infantpose.cli import main
from infantpose.errors import InputError
from infantpose.models import blazepose as bp
from infantpose.models import create_estimator
from infantpose.schemas import BLAZEPOSE33

NAMES = BLAZEPOSE33.keypoints
FLIP = np.asarray(BLAZEPOSE33.flip_index)
CENTRE = FLIP == np.arange(len(FLIP))
LEFT = np.array(["left" in n for n in NAMES]) & ~CENTRE


# --- a stand-in pose model ---------------------------------------------------------------------

def _marker(image, rgb):
    ys, xs = np.nonzero((image == np.array(rgb, np.uint8)).all(-1))
    return None if len(xs) == 0 else np.array([xs.mean() + 0.5, ys.mean() + 0.5])


def _fake_run(pose, image, only_when=None):
    """Blue marks the head, red and green the two sides of the body. Like a person seen from the
    front, the side on the image's right of the head-to-body axis is the person's *left*: a
    mirror image turns the handedness around, so the labels follow anatomy, not colour."""
    pose.process(image)
    head, red, green = (_marker(image, c) for c in ((0, 0, 255), (255, 0, 0), (0, 255, 0)))
    if head is None or red is None or green is None:
        return None
    if only_when is not None and not only_when(red, green):
        return None
    mid = (red + green) / 2
    axis = mid - head
    side = axis[0] * (red[1] - mid[1]) - axis[1] * (red[0] - mid[0])
    left, right = (red, green) if side < 0 else (green, red)
    out = np.zeros((33, 3))
    out[:, 2] = 0.9
    out[CENTRE, :2] = head
    out[LEFT, :2] = left
    out[~CENTRE & ~LEFT, :2] = right
    h, w = image.shape[:2]
    out[:, :2] /= (w, h)
    return out


class _Graph:
    def __init__(self, log):
        self.log = log

    def process(self, image):
        self.log.append(image.copy())

    def close(self):
        pass


@pytest.fixture
def fake(monkeypatch):
    log = []
    monkeypatch.setattr(bp, "_new_pose", lambda *a, **k: _Graph(log))
    monkeypatch.setattr(bp, "_run", _fake_run)
    return log


def _infant(w=80, h=60):
    """Head at (20.5, 10.5); red at (10.5, 40.5), green at (50.5, 40.5): red is on the image's
    left below the head, so the person's right."""
    img = np.zeros((h, w, 3), np.uint8)
    img[10, 20] = (0, 0, 255)
    img[40, 10] = (255, 0, 0)
    img[40, 50] = (0, 255, 0)
    return img


def _expected():
    xy = np.zeros((33, 2))
    xy[CENTRE] = (20.5, 10.5)
    xy[LEFT] = (50.5, 40.5)  # green: the person's left
    xy[~CENTRE & ~LEFT] = (10.5, 40.5)
    return xy


def test_the_stand_in_labels_anatomy_not_colour():
    img = _infant()
    a = _fake_run(_Graph([]), img)
    b = _fake_run(_Graph([]), np.ascontiguousarray(img[:, ::-1]))
    assert a[NAMES.index("left_shoulder"), 0] * 80 == pytest.approx(50.5)
    # in the mirror image the red marker (now on the image's right) is the person's left
    assert b[NAMES.index("left_shoulder"), 0] * 80 == pytest.approx(80 - 10.5)


@pytest.mark.parametrize("boxes", [None, np.array([[5.0, 5.0, 60.0, 50.0]])])
def test_mirrored_view_maps_back_exactly_and_both_views_are_averaged(fake, boxes):
    img = _infant()
    est = bp.BlazePose(mirror_test=True, rotations=())
    p = est.predict(img, boxes)
    assert p.views[0].tolist() == ["both"]  # agreeing views: a wrong mapping would disagree
    np.testing.assert_allclose(p.data[0, 0, :, :2], _expected(), atol=1e-9)
    np.testing.assert_allclose(p.data[0, 0, :, 2], 0.9)
    assert p.meta["attempts"] == [2]
    # the second call saw the mirror image (of the mirrored box's region, when a box was given)
    assert len(fake) == 2
    for seen, mirrored in zip(fake, (False, True)):
        red, green = _marker(seen, (255, 0, 0)), _marker(seen, (0, 255, 0))
        assert (red[0] > green[0]) == mirrored


def test_a_pose_found_only_in_the_mirror_image_comes_back_with_left_and_right_swapped(
        fake, monkeypatch):
    img = _infant()
    # the stand-in finds the infant only when red lies right of green (the mirror image)
    monkeypatch.setattr(bp, "_run", lambda pose, image: _fake_run(
        pose, image, lambda red, green: red[0] > green[0]))
    est = bp.BlazePose(mirror_test=True, rotations=(), fallback="off")
    p = est.predict(img)
    one = bp.BlazePose(mirror_test=False, rotations=(), fallback="off").predict(img)
    assert one.meta["found"] == [False]
    assert p.views[0].tolist() == ["mirrored"] and p.meta["found"] == [True]
    assert p.rotation[0].tolist() == [0]
    np.testing.assert_allclose(p.data[0, 0, :, :2], _expected(), atol=1e-9)
    i, j = NAMES.index("left_wrist"), NAMES.index("right_wrist")
    assert p.data[0, 0, i, 0] > p.data[0, 0, j, 0]  # the person's left is on the image's right


def test_the_mirror_image_s_rotation_is_reported_in_the_image_s_sense(fake, monkeypatch):
    from infantpose.geometry import rotate_image

    img = _infant()
    target = rotate_image(np.ascontiguousarray(img[:, ::-1]), 90)  # found only in this view
    monkeypatch.setattr(bp, "_run", lambda pose, image: _fake_run(pose, image) if (
        image.shape == target.shape and np.array_equal(image, target)) else None)
    p = bp.BlazePose(mirror_test=True, fallback="off").predict(img)
    assert p.views[0].tolist() == ["mirrored"]
    assert p.rotation[0].tolist() == [270]  # a quarter turn of the mirror image is the opposite one
    np.testing.assert_allclose(p.data[0, 0, :, :2], _expected(), atol=1e-9)


def test_no_pose_in_either_view(fake):
    p = bp.BlazePose(mirror_test=True, fallback="off", schema="coco17").predict(
        np.zeros((40, 40, 3), np.uint8))
    assert p.views[0].tolist() == [None] and p.meta["found"] == [False]
    assert np.isnan(p.data[..., :2]).all()


def test_default_mirrors_images_not_video(fake):
    est = bp.BlazePose()
    assert est.mirror_test is None and est.mirroring
    trk = est.tracker()  # mediapipe's own video mode: one view per frame
    assert not trk.runner.mirroring
    assert trk.runner.predict(_infant()).views is None
    assert est.mirroring  # the estimator itself is unchanged
    assert bp.BlazePose(mirror_test=True).tracker().runner.mirroring
    assert not bp.BlazePose(mirror_test=False).mirroring


def test_video_mode_mirrors_in_a_twin_and_keeps_its_own_tracking(fake):
    est = bp.BlazePose(mirror_test=True, rotations=())
    trk = est.tracker()
    img = _infant()
    for _ in range(3):
        p = trk.runner.predict(img)  # what each trk.step(img) runs
        assert p.views[0].tolist() == ["both"]
        np.testing.assert_allclose(p.data[0, 0, :, :2], _expected(), atol=1e-9)
    runner = trk.runner
    # the mirrored views are the estimator's own (image mode, no tracking state)
    assert runner._mirror_runner() is est and runner._twin is None
    assert set(runner._trackers) == {0} and not est._trackers
    assert runner._static is None and est._static is not None  # its graphs are borrowed
    trk.close()
    assert not runner._trackers and est._static is not None  # the estimator's stay open


def test_combine_views_rules():
    a = np.zeros((4, 3))
    a[:, 0] = [0, 10, 0, 10]
    a[:, 1] = [0, 0, 10, 10]
    a[:, 2] = 0.8
    b = a.copy()
    b[:, :2] += 0.5  # within 0.1 of the body diagonal (14.1)
    b[:, 2] = 0.4
    out, which = bp.combine_views(a, b)
    assert which == "both"
    np.testing.assert_allclose(out[:, :2], a[:, :2] + 0.25)
    np.testing.assert_allclose(out[:, 2], 0.6)
    far = a.copy()
    far[:, :2] = a[::-1, :2]  # upside down: the views disagree, the more confident is kept
    far[:, 2] = 0.9
    out, which = bp.combine_views(a, far)
    assert which == "mirrored" and np.array_equal(out, far)
    out, which = bp.combine_views(a, np.full((4, 3), np.nan))
    assert which == "original" and np.array_equal(out, a)
    nan = np.full((4, 3), np.nan)
    assert bp.combine_views(nan, nan)[1] is None
    part = b.copy()
    part[0, :2] = np.nan  # a keypoint one view lacks comes from the other
    out, which = bp.combine_views(a, part)
    assert which == "both" and np.allclose(out[0], a[0])


def test_mirror_helpers():
    np.testing.assert_allclose(bp.mirror_boxes(np.array([[1.0, 2.0, 5.0, 9.0]]), 20),
                               [[15.0, 2.0, 19.0, 9.0]])
    assert [bp.mirror_rotation(r) for r in (0, 90, 180, 270, None)] == [0, 270, 180, 90, None]


def test_rotation_hint_is_mirrored_for_the_mirror_image(fake):
    from infantpose.geometry import rotate_image

    img = _infant()
    from infantpose.models.tracker import Hint

    est = bp.BlazePose(mirror_test=True)
    p = est.tracker(following=False).view(img, None, Hint(90))  # the box tracker's hint
    # each view is tried first at the hinted turn, which in the mirror image is 270
    assert len(fake) == 2
    assert np.array_equal(fake[0], rotate_image(img, 90))
    assert np.array_equal(fake[1], rotate_image(np.ascontiguousarray(img[:, ::-1]), 270))
    assert p.rotation[0].tolist() == [90] and p.views[0].tolist() == ["both"]
    np.testing.assert_allclose(p.data[0, 0, :, :2], _expected(), atol=1e-9)


# --- options and errors ------------------------------------------------------------------------

def test_create_estimator_takes_the_option(fake):
    assert create_estimator("blazepose", mirror_test=True).mirror_test is True
    assert create_estimator("blazepose", mirror_test=False).mirroring is False
    assert create_estimator("blazepose", mirror_tol=0.2).mirror_tol == 0.2


@pytest.mark.parametrize("kw", [{"mirror_test": "yes"}, {"mirror_test": 1.5},
                                {"mirror_tol": 0}, {"mirror_tol": "x"},
                                {"mirror_tol": float("nan")}])
def test_bad_mirror_values_are_one_line_errors(kw):
    with pytest.raises(InputError) as e:
        bp.BlazePose(**kw)
    assert "\n" not in str(e.value) and "mirror" in str(e.value)


def _torch_estimator(**kw):
    from infantpose.models.checkpoint import LoadedModel
    from infantpose.models.topdown import TorchPoseEstimator
    from infantpose.schemas import COCO17

    class Flat:
        def eval(self):
            return self

    loaded = LoadedModel(Flat(), "test", COCO17, (64, 64), 4, "none", "dark", 1.5)
    return TorchPoseEstimator(loaded, detector="none", **kw)


@pytest.mark.parametrize("kw", [{"ensemble": 1.5}, {"ensemble": -0.1}, {"ensemble": "half"},
                                {"ensemble": float("nan")}, {"runtime_mirror": "yes"}])
def test_bad_fine_tuned_options_are_one_line_errors(kw):
    with pytest.raises(InputError) as e:
        _torch_estimator(**kw)
    assert "\n" not in str(e.value)


def test_fine_tuned_runtime_options(fake):
    est = _torch_estimator(runtime_mirror=True, ensemble=0.25)
    assert est.runtime_mirror and est.ensemble == 0.25
    box = np.array([[0.0, 0.0, 10.0, 10.0]])
    assert est._finder.mirrors(None) and est._finder.mirrors(box)
    default = _torch_estimator()  # the default: mirror only when searching the whole image
    assert default.runtime_mirror is None and default._finder.mirrors(None) and not default._finder.mirrors(box)
    never = _torch_estimator(runtime_mirror=False)
    assert not never._finder.mirrors(None) and not never._finder.mirrors(box)


def test_the_runtime_placing_fine_tuned_crops_mirrors_whole_images_only(fake):
    """The runtime inside the fine-tuned estimator is one estimator whose mirroring follows
    each call: two views without a box, one with boxes (the default)."""
    est = _torch_estimator()
    img = _infant()
    p = est._runtime(img, None)
    assert p.views[0].tolist() == ["both"] and len(fake) == 2
    fake.clear()
    p = est._runtime(img, np.array([[5.0, 5.0, 60.0, 50.0]]))
    assert p.views is None and len(fake) == 1
    np.testing.assert_allclose(p.data[0, 0, :, :2], _expected(), atol=1e-9)


def test_ensemble_averages_model_and_runtime_keypoints(fake):
    """``ensemble`` × the runtime's keypoints + (1 − ensemble) × the model's, where both have
    them; instance n is box n."""
    from infantpose.poses import Poses

    est = _torch_estimator(ensemble=0.25)
    rt = Poses.empty(BLAZEPOSE33, 1, 2)
    rt.data[0, 0, :, :2] = 100.0
    rt.data[0, 0, :, 2] = 1.0
    est._runtime = lambda image, boxes: rt  # the cached runtime poses, one per box
    model = [np.zeros((17, 3)), np.zeros((17, 3))]
    model[0][:, 2] = 0.5
    out = est._ensembled(np.zeros((8, 8, 3), np.uint8), np.zeros((2, 4)), model)
    np.testing.assert_allclose(out[0][:, :2], 25.0)
    np.testing.assert_allclose(out[0][:, 2], 0.75 * 0.5 + 0.25 * 1.0)
    np.testing.assert_array_equal(out[1], model[1])  # the runtime found nobody in box 2
    assert model[0][0, 0] == 0.0  # the inputs are not changed


# --- the CLI -----------------------------------------------------------------------------------

def test_cli_passes_the_flag_to_the_runtime(tmp_path, monkeypatch, capsys):
    from infantpose.io.images import write_image
    from infantpose.models import base
    from infantpose.poses import Poses

    seen = []

    class Stub:
        name = "stub"

        def __init__(self, schema=None, **options):
            from infantpose.schemas import get_schema

            self.schema = get_schema(schema or "coco17")
            seen.append(options)

        def predict(self, image, boxes=None):
            return Poses.empty(self.schema, 1, 1, frame_size=(image.shape[1], image.shape[0]))

        def close(self):
            pass

    real = base.create_estimator

    def create(name, schema=None, weights=None, **options):
        if name == "blazepose":
            return Stub(schema, **options)
        return real(name, schema=schema, weights=weights, **options)

    import infantpose.models

    monkeypatch.setattr(infantpose.models, "create_estimator", create)
    write_image(tmp_path / "a.png", np.zeros((32, 32, 3), np.uint8))
    for i, (flag, expected) in enumerate((("--no-mirror-test", {"mirror_test": False}),
                                          ("--mirror-test", {"mirror_test": True}),
                                          (None, {}))):
        seen.clear()
        argv = ["predict", str(tmp_path / "a.png"), "-o", str(tmp_path / f"out{i}"), "-q",
                "-m", "blazepose"]
        assert main(argv + ([flag] if flag else [])) == 0, capsys.readouterr().err
        assert seen == [expected]
    capsys.readouterr()


def test_cli_refuses_the_flag_for_other_models(tmp_path, capsys):
    from infantpose.io.images import write_image

    write_image(tmp_path / "a.png", np.zeros((32, 32, 3), np.uint8))
    code = main(["predict", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "-m",
                 "blazepose-torch", "--mirror-test", "-q"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--mirror-test applies to the blazepose" in err[0]
    assert not (tmp_path / "o").exists()
    gt = tmp_path / "gt.json"
    gt.write_text('{"images": [], "annotations": [], "categories": []}')
    code = main(["evaluate", "--gt", str(gt), "--pred", str(gt), "--no-mirror-test",
                 "-o", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--no-mirror-test applies to the pretrained models" \
        in err[0]


# --- the real runtime on a rendered infant -----------------------------------------------------

def test_real_runtime_on_a_render_is_mirror_symmetric():
    """The two views of an image are the two views of its mirror image in the other order, so
    with test-time mirroring the mirror image's pose is the image's pose mirrored, exactly
    (a wrong mapping back or a missing left/right swap breaks this)."""
    from infantpose.adapt.pseudo_labels import _points_back, _view_image
    from infantpose.synth.generate import render_sample

    s = render_sample(3, 0, schema="coco17", size=(256, 192), style="studio",
                      posture="supine")
    with bp.BlazePose(schema="coco17", mirror_test=True) as est:
        p = est.predict(s.image)
        q = est.predict(_view_image(s.image, 0, True))
    assert p.meta["found"] == [True] and q.meta["found"] == [True]
    back = q.data[0, 0].copy()
    back[:, :2] = _points_back(back[:, :2], 0, True, (256, 192))
    back = back[np.asarray(est.schema.flip_index)]
    if p.views[0].tolist() == ["both"]:
        assert q.views[0].tolist() == ["both"]
        np.testing.assert_allclose(back, p.data[0, 0], atol=1e-4)
    else:  # one view kept: the same view, seen from the other side
        assert {p.views[0, 0], q.views[0, 0]} == {"original", "mirrored"}
        np.testing.assert_allclose(back, p.data[0, 0], atol=1e-4)
