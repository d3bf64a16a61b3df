"""A Tracker wraps any estimator and holds the video's state; the estimator keeps none."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

import testclips as tc
from infantpose.models.tracker import (BoxTracker, Hint, OwnTracker, TrackingConfig,
                                       make_tracker)
from infantpose.poses import Poses


@pytest.fixture(scope="module")
def frames():
    _, frames = tc.make_clip(None, n_frames=8, drift=0.3)
    return frames


class Plain:
    """A plug-in with nothing but ``predict`` (no tracker of its own)."""

    name = "plain"

    def __init__(self):
        self.inner = tc.create_marker_estimator("coco17")
        self.schema = self.inner.schema
        self.boxes = []

    def predict(self, image, boxes=None):
        self.boxes.append(None if boxes is None else np.asarray(boxes).copy())
        return self.inner.predict(image, boxes)


def test_any_estimator_is_tracked_with_the_previous_frames_box(frames):
    est = Plain()
    trk = make_tracker(est, TrackingConfig())
    assert isinstance(trk, BoxTracker) and trk.method == "box"
    steps = [trk.step(f) for f in frames]
    assert [s.outcome for s in steps] == ["detected"] + ["tracked"] * (len(frames) - 1)
    assert est.boxes[0] is None and all(b is not None and b.shape == (1, 4)
                                        for b in est.boxes[1:])
    # the box given on frame t is the one the pose of frame t-1 gave
    assert trk.box is not None
    assert all(s.instance is not None and s.confidence > 0.3 for s in steps)
    # tracking off: a fresh search on every frame
    off = make_tracker(Plain(), TrackingConfig(), following=False)
    assert off.method == "off"
    assert {off.step(f).outcome for f in frames} == {"detected"}
    assert all(b is None for b in off.estimator.boxes)


def test_the_estimator_keeps_no_state_between_calls(frames):
    """Predicting a frame gives the same poses before and after a tracker followed a video
    with the estimator: the state (box, rotation, previous pose) was the tracker's."""
    from test_movenet import MarkerNet, estimator as movenet, marker_image
    from test_topdown import _blob_image, _estimator as torch_estimator

    cases = [(Plain(), frames[0], list(frames)),
             (movenet(net=MarkerNet(score=0.9)), marker_image(),
              [marker_image(x0=140 - 4 * i) for i in range(5)]),
             (torch_estimator(), _blob_image(200, 150, [(70.3, 60.8)]),
              [_blob_image(200, 150, [(70.3 + 2 * i, 60.8)]) for i in range(5)])]
    for est, photo, video in cases:
        before = est.predict(photo, np.array([[20.0, 10.0, 190.0, 140.0]]))
        trk = make_tracker(est, TrackingConfig(min_keypoints=1))
        for f in video:
            trk.step(f, 0.0)
        trk.close()
        after = est.predict(photo, np.array([[20.0, 10.0, 190.0, 140.0]]))
        np.testing.assert_array_equal(after.data, before.data)
        assert after.meta == before.meta, est.name
        assert after.fields().keys() == before.fields().keys(), est.name
        for name, value in before.fields().items():
            np.testing.assert_array_equal(getattr(after, name), value, err_msg=est.name)


def test_the_rotation_hint_is_the_trackers_and_goes_to_a_models_view(frames):
    seen = []

    class Hinted(Plain):
        def tracker(self, config, following):
            def view(image, boxes, hint):
                seen.append(hint)
                return replace(self.predict(image, boxes), rotation=[[180]])

            return BoxTracker(self, config, following, view=view)

    trk = make_tracker(Hinted(), TrackingConfig())
    for i, f in enumerate(frames[:3]):
        trk.step(f, i / 10)
    assert [h.rotation for h in seen] == [None, 180, 180]
    assert [h.time for h in seen] == [0.0, 0.1, 0.2] and all(h.following for h in seen)
    assert trk.rotation == 180 and trk.keeps_rotation
    trk.close()
    assert trk.rotation is None and trk.box is None


def test_a_lost_track_is_searched_for_afresh(frames):
    est = Plain()
    trk = BoxTracker(est, TrackingConfig())
    trk.step(frames[0])
    blank = np.full_like(frames[1], 40)
    lost = trk.step(blank)
    assert lost.outcome == "redetected" and lost.instance is None and trk.box is None
    assert est.boxes[-1] is None and est.boxes[-2] is not None  # the box, then the whole frame
    assert trk.step(frames[2]).outcome == "detected"


def test_own_tracker_counts_what_the_runner_says():
    class Runner:
        def __init__(self):
            self.schema = tc.get_schema("coco17")
            self.found = [True, True, False, True]
            self.followed = [False, True, False, False]
            self.times, self.closed = [], False

        def predict(self, image, boxes=None):
            i = len(self.times) - 1
            data = np.full((1, 1, 17, 3), np.nan)
            data[..., 2] = 0.0
            if self.found[i]:
                data[0, 0] = [10.0, 10.0, 0.9]
            return Poses(data, self.schema, tracked=[[self.followed[i]]],
                         rotation=[[90 if self.found[i] else None]])

        def close(self):
            self.closed = True

    runner = Runner()
    trk = OwnTracker(runner, at_time=runner.times.append)
    img = np.zeros((4, 4, 3), np.uint8)
    out = [trk.step(img, t) for t in (0.0, 0.5, 1.0, 1.5)]
    assert [s.outcome for s in out] == ["detected", "tracked", "redetected", "detected"]
    assert runner.times == [0.0, 0.5, 1.0, 1.5] and out[0].rotation == 90
    trk.close()
    assert runner.closed


def test_hint_defaults():
    assert Hint() == Hint(None, True, None)
