"""BlazePose through mediapipe: real inference on matplotlib's Grace Hopper photo, rotation
retries, and exact mapping of coordinates back from rotated and cropped inputs."""

import numpy as np
import pytest

from infantpose.errors import InputError
from infantpose import geometry as geo
from infantpose.examples import hopper_image, hopper_scene
from infantpose.models import blazepose as bp
from infantpose.models import create_estimator
from infantpose.schemas import BLAZEPOSE33

# --- the retry logic with a stand-in for mediapipe ---------------------------------------------

class _MarkerPose:
    """Stands in for a mediapipe graph; with _fake_run a person is found only when the red marker
    lies in the top-left quarter of the (rotated) image, all 33 landmarks at the marker."""

    def __init__(self, log):
        self.log = log

    def process(self, image):
        self.log.append(image.shape)
        return image

    def close(self):
        pass


def _fake_run(pose, image):
    pose.process(image)
    ys, xs = np.nonzero((image[..., 0] == 255) & (image[..., 1] == 0))
    if len(xs) == 0:
        return None
    h, w = image.shape[:2]
    x, y = xs.mean() + 0.5, ys.mean() + 0.5
    if x > w / 2 or y > h / 2:
        return None
    out = np.zeros((33, 3))
    out[:, 0], out[:, 1], out[:, 2] = x / w, y / h, 0.9
    return out


@pytest.fixture
def fake_mediapipe(monkeypatch):
    log = []
    monkeypatch.setattr(bp, "_new_pose", lambda *a, **k: _MarkerPose(log))
    monkeypatch.setattr(bp, "_run", _fake_run)
    return log


@pytest.mark.parametrize("r,c,expected_rot", [(10, 10, 0), (50, 10, 270), (50, 70, 180),
                                               (10, 70, 90)])
def test_retry_finds_rotation_and_maps_back(fake_mediapipe, r, c, expected_rot):
    img = np.zeros((60, 80, 3), np.uint8)
    img[r, c] = (255, 0, 0)
    est = bp.BlazePose(schema="coco17", mirror_test=False)  # one view
    p = est.predict(img)
    assert p.meta["found"] == [True]
    assert p.rotation[0].tolist() == [expected_rot]
    np.testing.assert_allclose(p.data[0, 0, :, :2], np.tile([c + 0.5, r + 0.5], (17, 1)),
                               atol=1e-9)
    assert p.meta["attempts"] == [[0, 90, 180, 270].index(expected_rot) + 1]


def test_box_crop_maps_back_and_whole_frame_fallback(fake_mediapipe):
    img = np.zeros((200, 300, 3), np.uint8)
    img[120, 210] = (255, 0, 0)
    est = bp.BlazePose()
    # a box whose crop puts the marker in the crop's top-left quarter: found in the crop
    p = est.predict(img, boxes=np.array([[205, 115, 260, 170]]))
    assert p.meta["found"] == [True] and p.meta["whole_frame"] == [False]
    np.testing.assert_allclose(p.data[0, 0, 0, :2], [210.5, 120.5])
    # a box far from the marker: no rotation of the crop works, the whole frame does
    p = est.predict(img, boxes=np.array([[10, 10, 40, 40]]))
    assert p.meta["found"] == [True] and p.meta["whole_frame"] == [True]
    np.testing.assert_allclose(p.data[0, 0, 0, :2], [210.5, 120.5])
    assert p.rotation[0].tolist() == [180]
    # two boxes -> two instances
    p = est.predict(img, boxes=np.array([[205, 115, 260, 170], [10, 10, 40, 40]]))
    assert p.data.shape == (1, 2, 33, 3)


def test_no_person_gives_missing_instance(fake_mediapipe):
    est = bp.BlazePose(schema="infant22", fallback="off", mirror_test=False)  # the fallback: test_blazepose_fallback
    p = est.predict(np.zeros((40, 40, 3), np.uint8))
    assert p.data.shape == (1, 1, 22, 3)
    assert np.isnan(p.data[..., :2]).all() and (p.data[..., 2] == 0).all()
    assert p.meta["found"] == [False] and p.meta["attempts"] == [4]
    assert len(fake_mediapipe) == 4


def test_video_mode_keeps_the_working_rotation(fake_mediapipe):
    from infantpose.models.tracker import Hint

    img = np.zeros((60, 80, 3), np.uint8)
    img[50, 70] = (255, 0, 0)  # found only at 180
    est = bp.BlazePose()
    trk = est.tracker()  # mediapipe's own video mode, in a runner of the tracker's
    assert trk.step(img).meta["attempts"] == [3]
    assert trk.step(img).meta["attempts"] == [1]  # 180 tried first now
    trk.close()
    assert est.tracker().step(img).meta["attempts"] == [3]  # new video: upright again
    assert est.predict(img).meta["attempts"][0] >= 3  # the estimator itself kept nothing
    img2 = np.zeros((60, 80, 3), np.uint8)
    img2[50, 10] = (255, 0, 0)  # found only at 270
    img_est = bp.BlazePose(mirror_test=False)
    view = img_est.tracker(following=False).view  # the box tracker's rotation hint
    assert view(img2, None, Hint(270)).meta["attempts"] == [1]
    assert img_est.predict(img2).meta["attempts"] == [4]


# --- real mediapipe ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real():
    est = create_estimator("blazepose", schema="blazepose33")
    yield est
    est.close()


def test_real_blazepose_finds_grace_hopper(real, monkeypatch):
    import urllib.request

    def no_network(*a, **k):
        raise AssertionError("mediapipe tried to download a model")

    monkeypatch.setattr(urllib.request, "urlopen", no_network)
    img = hopper_image()
    p = real.predict(img)
    assert p.meta["found"] == [True] and p.rotation[0].tolist() == [0]
    nose = p.data[0, 0, BLAZEPOSE33.index("nose")]
    eyes = p.data[0, 0, [BLAZEPOSE33.index("left_eye"), BLAZEPOSE33.index("right_eye")]]
    assert nose[2] > 0.9 and 150 < nose[0] < 350 and 120 < nose[1] < 330
    assert np.all(eyes[:, 1] < nose[1])  # upright: eyes above the nose
    assert eyes[0, 0] > eyes[1, 0]       # her left eye is on the image's right


def test_real_blazepose_rotated_90_is_found_at_the_same_place(real):
    img = hopper_image()
    up = real.predict(img).data[0, 0]
    h, w = img.shape[:2]
    for deg in (90, 270):
        rot = geo.rotate_image(img, deg)
        p = real.predict(rot)
        assert p.meta["found"] == [True]
        back = geo.unrotate_points(p.data[0, 0, :, :2], deg, (w, h))
        face = [BLAZEPOSE33.index(k) for k in ("nose", "left_eye", "right_eye", "mouth_left",
                                                "mouth_right", "left_shoulder", "right_shoulder")]
        err = np.linalg.norm(back[face] - up[face, :2], axis=1)
        assert np.median(err) < 12, err


def test_real_blazepose_on_example_scene_and_schemas():
    est = create_estimator("blazepose", schema="infant22")
    p = est.predict(hopper_scene(90))
    assert p.schema.name == "infant22" and p.data.shape == (1, 1, 22, 3)
    assert p.meta["found"] == [True]
    assert np.isnan(p.data[0, 0, p.schema.index("vertex"), :2]).all()  # never guessed
    est.close()


def test_weights_and_bad_input():
    paths = bp.weights_paths()
    assert paths["landmark"].is_file() and paths["detector"].is_file()
    with pytest.raises(InputError, match="takes no --weights"):
        create_estimator("blazepose", weights="x.pt")
    with pytest.raises(InputError, match="uint8 RGB"):
        bp.BlazePose().predict(np.zeros((10, 10), np.uint8))
    with pytest.raises(InputError, match="unknown model"):
        create_estimator("no-such-model")


def test_real_blazepose_with_a_box_runs_on_the_crop(real):
    img = hopper_scene(0)  # 640×480, the portrait in the middle
    p = real.predict(img, boxes=np.array([[220, 100, 420, 380]]))
    assert p.meta["found"] == [True] and p.meta["whole_frame"] == [False]
    nose = p.data[0, 0, BLAZEPOSE33.index("nose")]
    assert 220 < nose[0] < 420 and 100 < nose[1] < 380  # mapped back into frame pixels
    whole = real.predict(img).data[0, 0, BLAZEPOSE33.index("nose")]
    assert np.linalg.norm(nose[:2] - whole[:2]) < 10
