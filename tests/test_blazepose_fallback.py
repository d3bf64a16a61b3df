"""The default estimator never misses an infant (issue 13): when mediapipe's person detector finds
nobody, the landmark model runs alone on the box / whole frame and its quarter turns.

Logic with stand-ins for both mediapipe graphs; then the real runtime on synthetic infants the
tests render themselves (a NICU render the detector misses, and a render turned 90 degrees)."""

import json

import numpy as np
import pytest

from infantpose import geometry as geo
from infantpose.models import blazepose as bp
from infantpose.poses import Poses

# --- region geometry -----------------------------------------------------------------------------


@pytest.mark.parametrize("deg", [0, 90, 180, 270])
def test_quarter_turn_roi_round_trips_its_turn(deg):
    roi = geo.quarter_turn_roi((10, 20, 110, 70), deg, scale=1.5)
    assert (roi.cx, roi.cy) == (60, 45)
    assert roi.width == roi.height == 150  # square on the longer side, scaled
    assert roi.quarter_turn() == deg
    rect = bp.roi_to_proto(roi, (200, 100))
    assert rect.x_center == pytest.approx(0.3) and rect.width == pytest.approx(0.75)
    assert rect.height == pytest.approx(1.5)
    assert bp.roi_from_proto(rect, (200, 100)).cx == pytest.approx(60)


# --- the search, with stand-ins for mediapipe ----------------------------------------------------

class _Graph:
    def __init__(self, log):
        self.log = log

    def process(self, image):
        return image

    def close(self):
        pass


@pytest.fixture
def fakes(monkeypatch):
    """The detector graph finds nobody (``state["detector"]`` poses otherwise); the landmark
    model is confident only for the quarter turn ``state["turn"]``, where it puts every landmark
    at the region's centre, and it proposes a region half the size for the next pass."""
    state = {"detector": None, "turn": 90, "det_calls": 0, "rois": []}

    def run(pose, image):
        state["det_calls"] += 1
        return state["detector"]

    def run_roi(graph, image, roi):
        state["rois"].append(roi)
        h, w = image.shape[:2]
        lm = np.zeros((33, 3))
        lm[:, 0], lm[:, 1] = roi.cx / w, roi.cy / h
        right = roi.quarter_turn() == state["turn"]
        lm[:, 2] = 0.9 if right else 0.6
        nxt = geo.Roi(roi.cx, roi.cy, roi.width / 2, roi.height / 2, roi.rotation)
        return bp._RoiResult(lm, 0.99 if right else 0.05, nxt)

    monkeypatch.setattr(bp, "_new_pose", lambda *a, **k: _Graph([]))
    monkeypatch.setattr(bp, "_run", run)
    monkeypatch.setattr(bp, "_new_roi_graph", lambda *a: _Graph([]))
    monkeypatch.setattr(bp, "_run_roi", run_roi)
    return state


def test_detector_miss_falls_back_to_the_most_confident_quarter_turn(fakes):
    img = np.zeros((60, 80, 3), np.uint8)
    est = bp.BlazePose(schema="coco17", mirror_test=False)  # one view
    p = est.predict(img)
    assert p.meta["found"] == [True] and p.path[0].tolist() == ["fallback"]
    assert p.rotation[0].tolist() == [90] and p.presence[0].tolist() == [0.99]
    # 4 detector attempts, then 4 turns × (1 + 2 refinement passes) of the landmark model
    assert fakes["det_calls"] == 4 and len(fakes["rois"]) == 12
    assert p.meta["attempts"] == [16] and est.fallback_calls == 12
    np.testing.assert_allclose(p.data[0, 0, :, :2], np.tile([40.0, 30.0], (17, 1)))
    # the whole frame, as a square on its longer side, then refined on the model's own region
    assert fakes["rois"][0].width == 80 and fakes["rois"][1].width == 40
    np.testing.assert_allclose(p.data[0, 0, :, 2], 0.9)


def test_no_person_anywhere_gives_no_invented_pose(fakes):
    fakes["turn"] = None  # the landmark model doubts every turn (presence 0.05)
    p = bp.BlazePose().predict(np.zeros((60, 80, 3), np.uint8))
    assert p.meta["found"] == [False] and p.path[0].tolist() == [None]
    assert p.presence[0].tolist() == [0.05] and np.isnan(p.data[..., :2]).all()


def test_fallback_off_keeps_the_old_behaviour(fakes):
    p = bp.BlazePose(fallback="off").predict(np.zeros((60, 80, 3), np.uint8))
    assert p.meta["found"] == [False] and p.path[0].tolist() == [None]
    assert np.isnan(p.data[..., :2]).all() and not fakes["rois"]


def test_detector_pose_is_kept_without_fallback_cost(fakes):
    det = np.zeros((33, 3))
    det[:, :2], det[:, 2] = 0.5, 0.8
    fakes["detector"] = det
    est = bp.BlazePose(mirror_test=False)
    p = est.predict(np.zeros((60, 80, 3), np.uint8))
    assert p.path[0].tolist() == ["detector"] and np.isnan(p.presence[0, 0])
    assert fakes["det_calls"] == 1 and not fakes["rois"] and est.fallback_calls == 0
    # a low-scoring detector pose triggers the fallback, and the more confident result wins
    det[:, 2] = 0.1
    p = est.predict(np.zeros((60, 80, 3), np.uint8))
    assert p.path[0].tolist() == ["fallback"] and fakes["rois"]


def test_always_skips_the_detector_and_boxes_search_the_box_first(fakes):
    est = bp.BlazePose(fallback="always", mirror_test=False)
    img = np.zeros((200, 300, 3), np.uint8)
    p = est.predict(img, boxes=np.array([[100, 50, 160, 150]]))
    assert fakes["det_calls"] == 0
    assert p.path[0].tolist() == ["fallback"] and p.meta["whole_frame"] == [False]
    first = fakes["rois"][0]
    assert (first.cx, first.cy) == (130, 100) and first.width == pytest.approx(150)  # 100 × 1.5
    assert len(fakes["rois"]) == 12  # confident in the box: the whole frame is not searched
    np.testing.assert_allclose(p.data[0, 0, 0, :2], [130, 100])


def test_rotation_hint_is_tried_alone_first(fakes):
    fakes["turn"] = 270
    from infantpose.models.tracker import Hint

    est = bp.BlazePose(fallback="always", mirror_test=False)
    p = est.tracker(following=False).view(np.zeros((60, 80, 3), np.uint8), None, Hint(270))
    assert p.rotation[0].tolist() == [270] and len(fakes["rois"]) == 3


def test_video_mode_carries_the_fallback_region(fakes):
    est = bp.BlazePose()
    trk = est.tracker()
    img = np.zeros((60, 80, 3), np.uint8)
    assert trk.step(img).meta["attempts"] == [16]
    n = len(fakes["rois"])
    p = trk.step(img)  # the last region still holds a confident pose: one pass, no detector
    assert p.meta["attempts"] == [1] and p.path == "fallback"
    assert p.outcome == "tracked"
    assert len(fakes["rois"]) == n + 1 and fakes["det_calls"] == 4
    fakes["turn"] = 0  # the carried region loses the infant: full search again
    assert trk.step(img).meta["attempts"][0] > 1
    assert est._carry is None  # the region was the tracker's runner's, never the estimator's
    assert est.tracker().runner._carry is None  # new video: nothing carried


def test_path_metadata_survives_json(tmp_path, fakes):
    p = bp.BlazePose(schema="coco17").predict(np.zeros((60, 80, 3), np.uint8))
    p.save_json(tmp_path / "p.json")
    back = Poses.load_json(tmp_path / "p.json")
    assert back.path[0].tolist() == ["fallback"] and back.presence[0].tolist() == [0.99]
    assert json.loads((tmp_path / "p.json").read_text())["fields"]["rotation"] == [[90]]


def test_bad_fallback_option():
    from infantpose.errors import InputError

    with pytest.raises(InputError, match="fallback must be one of"):
        bp.BlazePose(fallback="sometimes")


# --- the real runtime on renders ------------------------------------------------------------------

def _pck(p: Poses, sample, alpha: float = 0.2) -> float:
    kp = p.data[0, 0]
    vis = sample.visibility > 0
    err = np.linalg.norm(kp[:, :2] - sample.keypoints, axis=1) / max(sample.box[2:])
    return float(np.mean(err[vis] < alpha))


@pytest.fixture(scope="module")
def missed_render():
    """A NICU render (320×240) on which the mediapipe detector finds nobody in any rotation."""
    from infantpose.synth.generate import render_sample

    off = bp.BlazePose(schema="coco17", fallback="off")
    try:
        for idx in (12, 18, 7, *range(40)):
            s = render_sample(0, idx, schema="coco17", size=(320, 240), style="nicu")
            if not off.predict(s.image).meta["found"][0]:
                return s
    finally:
        off.close()
    pytest.fail("no render the detector misses among 40 (the synthetic renders changed?)")


def test_real_runtime_gives_a_pose_where_the_detector_finds_nobody(missed_render):
    s = missed_render
    with bp.BlazePose(schema="coco17") as est:
        p = est.predict(s.image)
    assert p.meta["found"] == [True] and p.path[0].tolist() == ["fallback"]
    assert 0.0 <= p.presence[0, 0] <= 1.0 and p.rotation[0, 0] in (0, 90, 180, 270)
    xy = p.data[0, 0, :, :2]
    assert np.isfinite(xy).all()
    # the pose is on the infant: most keypoints inside its (amodal) box grown by half
    x, y, w, h = s.box
    inside = ((xy[:, 0] > x - w / 2) & (xy[:, 0] < x + 1.5 * w)
              & (xy[:, 1] > y - h / 2) & (xy[:, 1] < y + 1.5 * h))
    assert inside.mean() > 0.7


def test_real_fallback_is_accurate_and_finds_the_infant_turned_90_degrees(missed_render):
    s = missed_render
    with bp.BlazePose(schema="coco17") as est:
        up = est.predict(s.image)
        turned = est.predict(geo.rotate_image(s.image, 90))
    assert up.path[0].tolist() == ["fallback"] and _pck(up, s) >= 0.5
    assert turned.meta["found"] == [True]
    moved = Poses(turned.data.copy(), turned.schema)
    moved.data[0, 0, :, :2] = geo.unrotate_points(turned.data[0, 0, :, :2], 90, (320, 240))
    assert _pck(moved, s) >= 0.5


def test_real_runtime_invents_no_infant_on_a_blank_frame():
    with bp.BlazePose() as est:
        p = est.predict(np.full((120, 160, 3), 90, np.uint8))
    assert p.meta["found"] == [False] and p.presence[0, 0] < 0.5


def test_predict_writes_which_path_found_each_infant(tmp_path):
    from infantpose.cli import main
    from infantpose.examples import hopper_image
    from infantpose.io.images import write_image

    write_image(tmp_path / "photo.png", hopper_image())
    assert main(["predict", str(tmp_path / "photo.png"), "--out", str(tmp_path / "o"),
                 "--model", "blazepose", "--quiet"]) == 0
    res = json.loads((tmp_path / "o" / "predictions.json").read_text())
    assert [(r["path"], r["rotation"]) for r in res] == [("detector", 0)]
