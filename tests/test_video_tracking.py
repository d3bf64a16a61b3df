"""Tracking holds the infant across frames; re-detection; rotation kept; background decoding."""

import threading
import time

from dataclasses import replace

import numpy as np
import pytest

from infantpose.errors import InputError
from infantpose.models.tracker import BoxTracker, OwnTracker
import testclips as tc
from infantpose.video import tracking as tr
from infantpose.video.prefetch import Prefetcher


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    truth, frames = tc.make_clip(path, n_frames=30, drift=0.35)
    return path, truth, frames


def test_tracking_holds_the_infant_across_frames(clip):
    path, truth, _ = clip
    est = tc.create_marker_estimator()
    poses = tr.predict_video(est, path)
    assert poses.n_frames == 30 and poses.fps == pytest.approx(15.0)
    assert poses.frame_size == (192, 160)
    assert list(poses.frame_indices) == list(range(30))
    t = poses.meta["tracking"]
    assert t["detected"] == 1 and t["tracked"] == 29 and t["lost"] == 0
    assert est.calls["full"] == 1 and est.calls["box"] == 29  # one detection, then tracking
    err = np.linalg.norm(poses.data[:, 0, :, :2] - truth.data[:, 0, :, :2], axis=-1)
    assert not np.isnan(err).any()  # every keypoint found in every frame although it drifts
    assert np.median(err) < 3.0
    # the search box really followed the body: the whole figure moved by a third of the frame
    assert truth.data[-1, 0, :, 0].mean() - truth.data[0, 0, :, 0].mean() > 50


def test_tracking_off_detects_every_frame(clip):
    path, truth, _ = clip
    est = tc.create_marker_estimator()
    poses = tr.predict_video(est, path, tracking=False, max_frames=10)
    assert poses.n_frames == 10 and est.calls == {"box": 0, "full": 10}
    assert poses.meta["tracking"]["detected"] == 10


def test_redetection_after_the_infant_is_lost(clip):
    _, truth, frames = clip
    frames = frames.copy()
    frames[10:13] = 40  # the infant leaves the view (e.g. a caregiver's arm covers the camera)
    est = tc.create_marker_estimator()
    poses = tr.track_frames(est, enumerate(frames), fps=15.0)
    t = poses.meta["tracking"]
    assert t["redetections"] >= 1 and t["lost"] == 3  # nothing found while it was out of view
    assert (poses.scores[10:13] == 0).all()
    # found again right after it comes back, via a full-frame detection
    err = np.linalg.norm(poses.data[13:, 0, :, :2] - truth.data[13:, 0, :, :2], axis=-1)
    assert np.median(err) < 3.0
    assert est.calls["full"] >= 2


def test_search_box_margin_and_degenerate_boxes():
    cfg = tr.TrackingConfig(margin=0.25, min_keypoints=2, square=False)
    inst = np.array([[10, 20, 0.9], [50, 60, 0.9], [np.nan, np.nan, 0], [30, 30, 0.1]])
    box = tr.search_box(inst, (200, 200), cfg)
    assert np.allclose(box, [0, 10, 60, 70])  # 40 px box grown by 10 px per side, clipped at 0
    tiny = np.array([[10, 10, 0.9], [12, 11, 0.9]])
    assert tr.search_box(tiny, (200, 200), cfg) is None
    assert tr.search_box(inst[2:], (200, 200), cfg) is None


class RotatingFake:
    """Finds the figure only when told the right rotation (as a rotation-retrying model would);
    a plug-in that offers a tracker view taking the tracker's hint."""

    name = "rotfake"

    def __init__(self, schema):
        self.schema = schema
        self.hints = []
        self.inner = tc.create_marker_estimator(schema)

    def predict(self, image, boxes=None):
        return self._predict(image, boxes, None)

    def _predict(self, image, boxes, rotation):
        res = self.inner.predict(image, boxes)
        return replace(res, rotation=np.full((1, res.n_instances),
                                             90 if rotation in (None, 90) else 0))

    def tracker(self, config, following):
        def view(image, boxes, hint):
            self.hints.append(hint.rotation)
            return self._predict(image, boxes, hint.rotation)

        return BoxTracker(self, config, following, view=view)


def test_orientation_is_kept_across_frames(clip):
    _, _, frames = clip
    est = RotatingFake(tc.get_schema("coco17"))
    poses = tr.track_frames(est, enumerate(frames[:6]), fps=15.0)
    assert est.hints[0] is None and all(h == 90 for h in est.hints[1:])
    assert poses.meta["tracking"]["rotations"] == {"90": 6}
    assert poses.meta["tracking"]["rotation_kept"] is True


def test_prefetcher_runs_ahead_and_propagates_errors():
    produced = []

    def slow_source():
        for i in range(5):
            produced.append(i)
            yield i

    with Prefetcher(slow_source(), maxsize=2) as p:
        it = iter(p)
        assert next(it) == 0
        deadline = time.time() + 5
        while len(produced) < 3 and time.time() < deadline:
            time.sleep(0.01)
        assert len(produced) >= 3  # decoded ahead while the consumer was busy
        time.sleep(0.05)
        assert len(produced) <= 4  # but no further than the bounded queue allows
        assert list(it) == [1, 2, 3, 4]

    def broken():
        yield 1
        raise InputError("x.mp4", "no decodable frames in video")

    with pytest.raises(InputError, match="x.mp4"):
        list(Prefetcher(broken()))

    def endless():
        i = 0
        while True:
            yield i
            i += 1

    before = threading.active_count()
    p = Prefetcher(endless(), maxsize=2)
    for i in p:
        if i == 3:
            break
    p.close()
    assert threading.active_count() <= before


def test_missing_video_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="nope.mp4"):
        tr.predict_video(tc.create_marker_estimator(), tmp_path / "nope.mp4")


def test_real_blazepose_tracks_a_synthetic_infant_video(tmp_path):
    """Integration: the shipped BlazePose model, tracking a rendered infant through a video file."""
    from infantpose.io.video import write_video
    from infantpose.models import create_estimator
    from infantpose.synth.clips import render_clip

    frames, truth, _ = render_clip(3, 1.0, fps=10, schema="coco17", size=(320, 240),
                                   style="studio")
    path = write_video(tmp_path / "synth.mp4", frames, fps=10)
    est = create_estimator("blazepose", schema="coco17")
    try:
        poses = tr.predict_video(est, path)
    finally:
        est.close()
    t = poses.meta["tracking"]
    assert poses.n_frames == 10 and t["lost"] == 0
    assert t["tracked"] >= 8  # found once, then followed through the box
    assert t["rotation_kept"] is True
    gt = truth.data[:, 0, :, :2]
    span = np.nanmax(gt, axis=1) - np.nanmin(gt, axis=1)
    body = np.hypot(span[:, 0], span[:, 1])[:, None]
    err = np.linalg.norm(poses.data[:, 0, :, :2] - gt, axis=-1) / body
    assert np.nanmedian(err) < 0.1  # within a tenth of the body size


def test_box_is_held_while_the_infant_stays_inside():
    cfg = tr.TrackingConfig(margin=0.25, min_keypoints=2, square=False, hold=0.1)
    inst = np.array([[100, 100, 0.9], [140, 140, 0.9]], float)
    first = tr._next_box(None, inst, (400, 400), cfg)
    assert np.allclose(first, [90, 90, 150, 150])
    jitter = inst + [[1.5, -1, 0], [-1, 1.5, 0]]  # keypoint noise: same crop
    assert tr._next_box(first, jitter, (400, 400), cfg) is first
    moved = inst + [[30, 0, 0], [30, 0, 0]]  # the infant moved: the box follows
    assert np.allclose(tr._next_box(first, moved, (400, 400), cfg), [120, 90, 180, 150])
    no_hold = tr.TrackingConfig(margin=0.25, min_keypoints=2, square=False, hold=0)
    assert not np.allclose(tr._next_box(first, jitter, (400, 400), no_hold), first)


class SelfTrackingFake:
    """Follows the figure by itself in a video-mode twin, as the mediapipe runtime does: a
    search when it had no pose on the previous frame, else it says it followed
    (the ``tracked`` field). Like BlazePose it offers its own tracker, and the box tracker with
    its rotation hint when own tracking is off."""

    name = "selftracking"

    def __init__(self, schema, mode="image", log=None):
        self.schema = schema
        self.inner = tc.create_marker_estimator(schema)
        self.mode = mode
        self.log = [] if log is None else log  # (mode, boxes) per call, the twin's too
        self.hints = []
        self._had = False

    def tracker(self, config, following):
        if following and config.own_tracking:
            return OwnTracker(SelfTrackingFake(self.schema, "video", self.log))

        def view(image, boxes, hint):
            self.hints.append(hint.rotation)
            return self.predict(image, boxes)

        return BoxTracker(self, config, following, view=view)

    def predict(self, image, boxes=None):
        self.log.append((self.mode, boxes))
        res = self.inner.predict(image, boxes)
        found = bool(np.isfinite(res.data[0, 0, :, :2]).any())
        res = replace(res, tracked=[[self.mode == "video" and self._had and found]],
                      rotation=[[90 if found else None]], path=[["detector" if found else None]])
        self._had = found
        return res


def test_self_tracking_estimator_runs_in_its_own_video_mode(clip):
    _, truth, frames = clip
    frames = frames.copy()
    frames[10:13] = 40  # out of view for three frames
    keep = [i for i in range(30) if i not in (4, 5, 20)]  # corrupt frames, skipped by the decoder
    est = SelfTrackingFake(tc.get_schema("coco17"))
    poses = tr.track_frames(est, ((i, frames[i]) for i in keep), fps=15.0)
    t = poses.meta["tracking"]
    assert t["method"] == "own" and t["rotation_kept"] is True
    # whole frames in video mode (the tracker's twin), no boxes and no rotation hints; the
    # estimator itself never left image mode
    assert est.log == [("video", None)] * len(keep) and est.hints == [] and est.mode == "image"
    assert list(poses.frame_indices) == keep and poses.n_frames == len(keep)
    # searches: the first frame, the frame the infant left (a re-detection), the two frames
    # it stayed away and the one it came back; followed on every other frame
    assert (t["detected"], t["redetections"], t["lost"]) == (4, 1, 3)
    assert t["tracked"] == len(keep) - 5
    assert t["rotations"] == {"90": len(keep) - 3}
    assert poses.path[9, 0] is None and poses.path[0, 0] == "detector"
    err = np.linalg.norm(poses.data[:, 0, :, :2] - truth.data[keep, 0, :, :2], axis=-1)
    lost = np.isin(keep, [10, 11, 12])
    assert np.isnan(err[lost]).all() and np.median(err[~lost]) < 3.0
    # own_tracking=False: the box and the rotation hint, frame by frame, in image mode
    est = SelfTrackingFake(tc.get_schema("coco17"))
    poses = tr.track_frames(est, ((i, frames[i]) for i in keep), fps=15.0,
                            config=tr.TrackingConfig(own_tracking=False))
    t_box = poses.meta["tracking"]
    assert t_box["method"] == "box"
    assert [t_box[k] for k in ("detected", "tracked", "redetections", "lost")] == \
        [t[k] for k in ("detected", "tracked", "redetections", "lost")]  # the same counting
    assert {m for m, _ in est.log} == {"image"} and est.log[0][1] is None
    assert est.log[1][1] is not None and est.hints[:2] == [None, 90]  # 1st frame, 2nd
    # tracking off: a search on every frame, in image mode
    est = SelfTrackingFake(tc.get_schema("coco17"))
    poses = tr.track_frames(est, ((i, frames[i]) for i in keep[:5]), fps=15.0, tracking=False)
    assert poses.meta["tracking"]["method"] == "off" and est.log == [("image", None)] * 5


def test_real_blazepose_follows_in_mediapipe_video_mode():
    """The shipped BlazePose model follows a rendered infant in mediapipe's own video mode: one
    mediapipe pass per frame, the person detector only on the first, steadier than crops."""
    from infantpose.models import create_estimator
    from infantpose.synth.clips import render_clip
    from infantpose.video.filters import mean_abs_acceleration

    frames, truth, _ = render_clip(3, 1.5, fps=10, schema="coco17", size=(320, 240),
                                   style="studio")
    from infantpose.models import blazepose as bp

    est = create_estimator("blazepose", schema="coco17")
    modes, runners = [], []
    predict, make_runner = bp.BlazePose.predict, est._video_runner

    def spy(self, image, boxes=None):
        modes.append((self.mode, boxes))
        return predict(self, image, boxes)

    def runner():
        runners.append(make_runner())
        return runners[-1]

    est._video_runner = runner
    try:
        bp.BlazePose.predict = spy
        poses = tr.track_frames(est, enumerate(frames), fps=10.0)
    finally:
        bp.BlazePose.predict = predict
        est.close()
    t = poses.meta["tracking"]
    assert t["method"] == "own" and t["lost"] == 0
    # a runner of the tracker's own ran the frames in video mode; the estimator stayed as it was
    assert modes == [("video", None)] * len(frames) and est.mode == "image" and est.calls == 0
    assert len(runners) == 1 and runners[0]._trackers == {}  # closed with the tracker
    assert runners[0].calls == len(frames)  # no rotation retries, no landmark-only fallback
    # mediapipe's detector ran on the first frame only (its detection stream says so)
    assert t["detected"] == 1 and t["tracked"] == len(frames) - 1
    gt = truth.data[:, 0, :, :2]
    span = np.nanmax(gt, axis=1) - np.nanmin(gt, axis=1)
    body = np.hypot(span[:, 0], span[:, 1])[:, None]
    err = np.linalg.norm(poses.data[:, 0, :, :2] - gt, axis=-1) / body
    assert np.nanmedian(err) < 0.06  # 0.038 measured (0.034 with boxes, image mode)
    # mediapipe smooths its landmarks: 800 px/s² measured (1047 unsmoothed, 1437 with boxes in
    # image mode, 355 the truth's own)
    assert np.nanmean(mean_abs_acceleration(poses.data[:, 0], 10.0)) < 950


def test_real_blazepose_own_tracking_recovers_after_losing_the_infant():
    """Two blank frames (a blanket over the camera): mediapipe's tracker loses the infant, the
    landmark-only fallback refuses to invent one, and the detector finds it on the next frame."""
    from infantpose.models import create_estimator
    from infantpose.synth.clips import render_clip

    frames, truth, _ = render_clip(3, 1.2, fps=10, schema="coco17", size=(320, 240),
                                   style="studio")
    frames = list(frames)
    frames[5] = frames[6] = np.full_like(frames[0], 200)
    with create_estimator("blazepose", schema="coco17") as est:
        poses = tr.track_frames(est, enumerate(frames), fps=10.0)
    t = poses.meta["tracking"]
    assert t["method"] == "own" and t["lost"] == 2 and t["redetections"] == 1
    assert poses.path[5, 0] is None and poses.path[6, 0] is None
    assert (poses.scores[5:7] == 0).all()
    gt = truth.data[:, 0, :, :2]
    span = np.nanmax(gt, axis=1) - np.nanmin(gt, axis=1)
    body = np.hypot(span[:, 0], span[:, 1])[:, None]
    err = np.linalg.norm(poses.data[:, 0, :, :2] - gt, axis=-1) / body
    assert np.nanmedian(err[7:]) < 0.06  # found again right away
    assert np.nanmedian(err[:5]) < 0.06


def test_frame_times_reach_the_estimator_with_their_gaps(clip):
    """Models that smooth over time get each frame's real time (frame number / fps), so skipped
    frames leave a gap; without an fps nothing is claimed."""
    _, _, frames = clip

    class Timed:
        name = "timed"

        def __init__(self):
            self.inner = tc.create_marker_estimator("coco17")
            self.schema = self.inner.schema
            self.times = []

        def predict(self, image, boxes=None):
            return self.inner.predict(image, boxes)

        def tracker(self, config, following):
            def view(image, boxes, hint):
                self.times.append(hint.time)
                return self.predict(image, boxes)

            return BoxTracker(self, config, following, view=view)

    est = Timed()
    tr.track_frames(est, [(0, frames[0]), (1, frames[1]), (4, frames[2])], fps=10.0)
    assert est.times == [0.0, 0.1, 0.4]
    est.times.clear()
    tr.track_frames(est, [(0, frames[0]), (1, frames[1])], fps=None)
    assert est.times == [None, None]


def test_real_blazepose_smooths_on_the_video_clock(monkeypatch):
    """mediapipe's tracker is stamped with the frames' real times, not its 30 fps clock."""
    from infantpose.models import blazepose as bp
    from infantpose.models import create_estimator
    from infantpose.synth.clips import render_clip

    stamps = []
    process = bp._Tracker.process

    def spy(self, image):
        res = process(self, image)
        stamps.append(self.graph._simulated_timestamp)
        return res

    monkeypatch.setattr(bp._Tracker, "process", spy)
    frames, _, _ = render_clip(3, 0.5, fps=10, schema="coco17", size=(320, 240),
                               style="studio")
    est = create_estimator("blazepose", schema="coco17")
    try:
        tr.track_frames(est, [(0, frames[0]), (1, frames[1]), (5, frames[2])], fps=10.0)
    finally:
        est.close()
    # frame 5 at 10 fps is 0.5 s (mediapipe's own clock would say 0.1 s); frame 0 is stamped 1 us
    # after the graph's start
    assert stamps[-1] == 500000 and stamps[-2] == 100000
