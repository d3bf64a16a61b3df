"""Issue 11: a skeleton placed upside down must not leave the face visible.

The region at the skeleton's far end (beyond its legs) is hidden too unless the face detector
confirms the head end: in the frame, in an upright cut-out of each end, or along a video's track.
The detector is replaced by a stand-in that "finds a face" wherever a pure-green marker is, so
every case is decided by data the test draws itself; one test uses a synthetic render.
"""

from __future__ import annotations

import numpy as np
import pytest

from infantpose.schemas import get_schema
from infantpose.video import face_region as fr
from infantpose.video import privacy as pv
from infantpose.video.pipeline import deidentify_video

COCO = get_schema("coco17")
GREEN = (0, 255, 0)


def upright_infant(center: tuple[float, float] = (320, 110), scale: float = 1.0,
                   angle: float = 0.0) -> np.ndarray:
    """A (K, 3) COCO instance lying head up (head at ``center``), turned by ``angle`` degrees
    about the head, ``scale`` x a 40 px head."""
    pts = {"nose": (0, 0), "left_eye": (8, -8), "right_eye": (-8, -8), "left_ear": (18, -4),
           "right_ear": (-18, -4), "left_shoulder": (35, 45), "right_shoulder": (-35, 45),
           "left_elbow": (55, 95), "right_elbow": (-55, 95), "left_wrist": (50, 140),
           "right_wrist": (-50, 140), "left_hip": (25, 150), "right_hip": (-25, 150),
           "left_knee": (35, 215), "right_knee": (-35, 215), "left_ankle": (30, 280),
           "right_ankle": (-30, 280)}
    a = np.deg2rad(angle)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    inst = np.zeros((COCO.num_keypoints, 3))
    for name, (x, y) in pts.items():
        inst[COCO.index(name)] = (*(np.asarray(center) + scale * rot @ np.array([x, y])), 0.95)
    return inst


def scene(size: tuple[int, int] = (640, 520)) -> np.ndarray:
    """A noisy background: every pixel differs, so a hidden region is visible pixel by pixel."""
    w, h = size
    return np.random.default_rng(3).integers(40, 200, (h, w, 3), dtype=np.uint8)


def mark(rgb: np.ndarray, xy: np.ndarray, r: int = 10) -> np.ndarray:
    """Draw the stand-in detector's 'face' (a green disc) at ``xy``."""
    import cv2

    out = rgb.copy()
    cv2.circle(out, (int(round(xy[0])), int(round(xy[1]))), r, GREEN, -1)
    return out


class GreenFaces:
    """A stand-in for :class:`FaceDetector`: a face box around every pure-green blob. The
    whole-frame detector (``full_range=True``) sees faces only when ``WHOLE`` is set, so the
    upright cut-outs (short-range) decide otherwise."""

    WHOLE = False
    calls: list[tuple[int, int]] = []

    def __init__(self, min_confidence: float = 0.5, full_range: bool = True,
                 rotations=(0, 90, 270, 180)):
        self.full_range = full_range

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        import cv2

        GreenFaces.calls.append(rgb.shape[:2])
        if self.full_range and not GreenFaces.WHOLE:
            return np.zeros((0, 5))
        m = ((rgb[..., 1] > 200) & (rgb[..., 0] < 60) & (rgb[..., 2] < 60)).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(m)
        out = [[x - w, y - h, x + 2 * w, y + 2 * h, 0.9]  # a face box ~3x the marker
               for x, y, w, h, area in stats[1:] if area >= 6]
        return np.asarray(out, float).reshape(-1, 5)

    def close(self) -> None:
        pass


@pytest.fixture
def green(monkeypatch):
    GreenFaces.WHOLE = False
    GreenFaces.calls = []
    monkeypatch.setattr(pv, "FaceDetector", GreenFaces)
    return GreenFaces


def hidden(before: np.ndarray, after: np.ndarray, box: np.ndarray) -> float:
    """Share of the pixels inside ``box`` that changed."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    x1, y1 = max(x1, 0), max(y1, 0)
    return float((before[y1:y2, x1:x2] != after[y1:y2, x1:x2]).any(axis=-1).mean())


def around(xy: np.ndarray, half: float) -> np.ndarray:
    return np.array([xy[0] - half, xy[1] - half, xy[0] + half, xy[1] + half])


# --- geometry ------------------------------------------------------------------------------------
def test_the_far_end_lies_beyond_the_legs_with_the_head_size():
    inst = upright_infant()
    ends = fr.body_ends(inst, COCO, (640, 520))
    head = fr.keypoint_region(inst, COCO, (640, 520))
    assert ends is not None and np.allclose(ends.head.box, head.box)
    assert np.allclose(ends.axis, [0, 1], atol=0.05)  # head up, legs down
    ankles_y = 110 + 280
    assert ends.far_point[1] > ankles_y and ends.far.face_size == head.face_size
    # the far region holds a whole head beyond the ankles: ~1.6 head sizes past the ankles
    assert ends.far.box[3] >= min(520, ankles_y + 1.5 * head.face_size)
    assert ends.far.source == "far end" and ends.length > 200


def test_no_far_end_without_legs_and_nothing_without_a_head_side():
    legs = [COCO.index(n) for n in COCO.keypoints if COCO.regions[COCO.index(n)] in
            ("hip", "knee", "ankle")]
    inst = upright_infant()
    inst[legs, 2] = 0.0
    assert fr.body_ends(inst, COCO, (640, 520)) is None
    assert fr.keypoint_region(inst, COCO, (640, 520)) is not None  # the head region alone
    empty = np.zeros((COCO.num_keypoints, 3))
    assert fr.body_ends(empty, COCO, (640, 520)) is None


@pytest.mark.parametrize("angle", [0, 35, 90, 150, 180, 250])
def test_upright_crop_turns_the_body_below_the_head(angle):
    """A marker placed one head size 'above' a head (away from its body) appears above the
    cut-out's centre, whatever the body's direction in the image."""
    a = np.deg2rad(angle)
    down = np.array([-np.sin(a), np.cos(a)])  # body direction, turned by angle
    centre = np.array([300.0, 260.0])
    rgb = mark(np.zeros((520, 640, 3), np.uint8), centre - 60 * down, r=8)
    crop, scale = pv.upright_crop(rgb, centre, down, side=300)
    ys, xs = np.nonzero(crop[..., 1] > 200)
    assert abs(scale - pv.CROP_PX / 300) < 1e-9
    assert abs(xs.mean() - pv.CROP_PX / 2) < 3
    assert abs(ys.mean() - (pv.CROP_PX / 2 - 60 * scale)) < 3


def test_upright_crop_of_a_large_photo_is_reduced_without_aliasing_and_off_frame_is_black():
    rgb = np.zeros((2000, 2000, 3), np.uint8)
    rgb[::2] = 255  # one-pixel stripes: aliased if sampled, grey if averaged
    crop, _ = pv.upright_crop(rgb, np.array([1000.0, 1000.0]), np.array([0.0, 1.0]), 1500)
    mid = crop[40:150, 40:150].astype(float)
    assert abs(mid.mean() - 127.5) < 10 and mid.std() < 20
    crop, _ = pv.upright_crop(rgb, np.array([5.0, 5.0]), np.array([0.0, 1.0]), 400)
    assert (crop[:20, :20] == 0).all()  # outside the frame


# --- which end is hidden -------------------------------------------------------------------------
def regions_and_verdict(rgb: np.ndarray, inst: np.ndarray, **kw) -> tuple[list, str]:
    deid = pv.Deidentifier("mosaic", **kw)
    try:
        regs = deid.face_regions(rgb, inst[None], COCO)
        return regs, deid.last_verdicts[0]
    finally:
        deid.close()


def test_a_face_confirmed_at_the_head_end_leaves_the_feet_visible(green):
    inst = upright_infant()
    rgb = mark(scene(), inst[COCO.index("nose"), :2])
    regs, verdict = regions_and_verdict(rgb, inst)
    assert verdict == "detector"
    assert [r.source for r in regs] == ["keypoints"]
    deid = pv.Deidentifier("mosaic")
    out = deid(rgb, inst[None], COCO)
    feet = around(inst[COCO.index("left_ankle"), :2], 15)
    assert hidden(rgb, out, feet) == 0.0
    assert deid.report.head_confirmed_frames == 1 and deid.report.both_ends_frames == 0


@pytest.mark.parametrize("where", ["nowhere", "far end", "both ends"])
def test_without_a_confirmed_head_end_both_ends_are_hidden(green, where):
    """No face found, a face only beyond the legs (the skeleton is upside down), or faces at
    both ends: the far end is hidden too, with a full head-size region."""
    inst = upright_infant()
    ends = fr.body_ends(inst, COCO, (640, 520))
    rgb = scene()
    if where in ("far end", "both ends"):
        rgb = mark(rgb, ends.far_point)
    if where == "both ends":
        rgb = mark(rgb, inst[COCO.index("nose"), :2])
    regs, verdict = regions_and_verdict(rgb, inst)
    assert verdict == "both ends"
    assert sorted(r.source for r in regs) == ["far end", "keypoints"]
    deid = pv.Deidentifier("mosaic")
    out = deid(rgb, inst[None], COCO)
    # a whole head (1.2 head sizes across) beyond the ankles is hidden
    assert hidden(rgb, out, around(ends.far_point, 0.6 * ends.far.face_size)) == 1.0
    assert deid.report.both_ends_frames == 1


@pytest.mark.parametrize("angle", [30, 90, 200, 300])
def test_the_head_end_is_confirmed_in_any_orientation(green, angle):
    inst = upright_infant(center=(320, 260), scale=0.7, angle=angle)
    rgb = mark(scene(), inst[COCO.index("nose"), :2], r=7)
    _, verdict = regions_and_verdict(rgb, inst)
    assert verdict == "detector"


def test_a_whole_frame_detection_confirms_without_cut_outs(green):
    green.WHOLE = True
    inst = upright_infant()
    rgb = mark(scene(), inst[COCO.index("nose"), :2])
    _, verdict = regions_and_verdict(rgb, inst)
    assert verdict == "detector"
    assert all(shape == rgb.shape[:2] for shape in green.calls)  # no cut-out was looked at


def test_a_detection_elsewhere_does_not_confirm(green):
    """A face found away from both ends (another person, a toy) confirms nothing."""
    green.WHOLE = True
    inst = upright_infant()
    rgb = mark(scene(), np.array([600.0, 40.0]))
    regs, verdict = regions_and_verdict(rgb, inst)
    assert verdict == "both ends"
    assert sorted(r.source for r in regs) == ["detector", "far end", "keypoints"]


def test_without_the_detector_both_ends_are_always_hidden():
    inst = upright_infant()
    regs, verdict = regions_and_verdict(scene(), inst, use_detector=False)
    assert verdict == "both ends" and len(regs) == 2


def test_an_upside_down_skeleton_on_a_rendered_infant_still_hides_the_face():
    """A render's true keypoints turned 180 degrees about the body's centre (head keypoints
    on the feet): the region from the head keypoints misses the face, both ends cover it."""
    from infantpose.synth.generate import render_sample

    s = render_sample(11, 0, "coco17", size=(640, 480), style="home", posture="supine")
    names = s.names
    kp = s.keypoints
    ok = np.isfinite(kp).all(axis=1)
    centre = kp[ok].mean(axis=0)
    flipped = np.zeros((len(names), 3))
    flipped[ok, :2] = 2 * centre - kp[ok]
    flipped[ok, 2] = 0.9
    face_pts = kp[[names.index(n) for n in ("nose", "left_eye", "right_eye")]]
    face_pts = face_pts[np.isfinite(face_pts).all(axis=1)]
    c = face_pts.mean(axis=0)
    face = around(c, 0.5 * max(2.2 * float(np.ptp(face_pts, axis=0).max()), 20.0))
    head_only = fr.keypoint_region(flipped, COCO, (640, 480))
    deid = pv.Deidentifier("mosaic", use_detector=False)
    out = deid(s.image, flipped[None], COCO)
    assert hidden(s.image, pv.anonymize_regions(s.image, [head_only]), face) < 0.5
    assert hidden(s.image, out, face) == 1.0
    assert deid.report.both_ends_frames == 1


# --- along a video -------------------------------------------------------------------------------
def test_the_track_trusts_a_head_end_confirmed_at_the_same_place(green):
    inst = upright_infant()
    nose = inst[COCO.index("nose"), :2]
    with_face, without = mark(scene(), nose), scene()
    deid = pv.Deidentifier("mosaic", track_window=10, track_min_frames=3)
    verdicts = []
    for f in range(16):
        rgb = with_face if f < 3 else without
        deid.face_regions(rgb, inst[None], COCO, stream="clip.mp4")
        verdicts += deid.last_verdicts
    # confirmed in frames 0-2; trusted while all three are within the last 10 frames
    assert verdicts[:3] == ["detector"] * 3
    assert verdicts[3:10] == ["track"] * 7 and verdicts[10:] == ["both ends"] * 6
    # a new stream, or no stream, starts without a track
    deid.face_regions(without, inst[None], COCO, stream="other.mp4")
    assert deid.last_verdicts == ["both ends"]
    deid.face_regions(without, inst[None], COCO)
    assert deid.last_verdicts == ["both ends"]


def test_the_track_refuses_a_skeleton_that_flips(green):
    """Confirmed head-up for a few frames, then the skeleton turns upside down (its head
    keypoints where the feet were): the track does not vouch for it."""
    inst = upright_infant()
    nose = inst[COCO.index("nose"), :2]
    deid = pv.Deidentifier("mosaic")
    for _ in range(5):
        deid.face_regions(mark(scene(), nose), inst[None], COCO, stream="clip.mp4")
    centre = inst[:, :2].mean(axis=0)
    flipped = inst.copy()
    flipped[:, :2] = 2 * centre - inst[:, :2]
    regs = deid.face_regions(scene(), flipped[None], COCO, stream="clip.mp4")
    assert deid.last_verdicts == ["both ends"]
    far = next(r for r in regs if r.source == "far end")
    assert pv._inside(nose, far.box)  # the true face is hidden


def test_head_track_needs_enough_agreeing_frames():
    inst = upright_infant()
    ends = fr.body_ends(inst, COCO, (640, 520))
    t = pv.HeadTrack(window=20, min_frames=3, agree=0.8)
    for _ in range(2):
        t.next_frame()
        t.confirm(ends.head_point)
    t.next_frame()
    assert not t.trusts(ends)  # two frames are not enough
    t.confirm(ends.head_point + 5)
    assert t.trusts(ends)
    for _ in range(2):  # confirmations far from this head end (the far end) outvote it
        t.next_frame()
        t.confirm(ends.far_point)
    assert not t.trusts(ends)


def test_deidentify_video_hides_both_ends_without_a_detector(tmp_path):
    """The video path passes a stream; without the detector nothing can be confirmed."""
    from infantpose.io.video import write_video
    from infantpose.poses import Poses

    inst = upright_infant(center=(160, 40), scale=0.4)
    frames = [scene((320, 240)) for _ in range(4)]
    src = write_video(tmp_path / "v.mp4", frames, fps=10)
    poses = Poses(np.repeat(inst[None, None], 4, axis=0), COCO, fps=10.0)
    rep = deidentify_video(src, tmp_path / "out.mp4", poses=poses, use_detector=False)
    assert rep.both_ends_frames == 4 and rep.to_dict()["both_ends_frames"] == 4


# --- guessed poses -------------------------------------------------------------------------------
def test_guessed_instances_reads_one_frames_paths():
    assert pv.guessed_instances(np.array(["fallback"], dtype=object)) == [True]
    assert pv.guessed_instances(np.array(["detector", "fallback", None], dtype=object)) == [
        False, True, False]
    assert pv.guessed_instances(None) == []


def test_an_unconfirmed_guessed_pose_hides_the_whole_frame(green):
    """A pose no person detector found (BlazePose's fallback) can lie anywhere: unless the
    face detector confirms its head end, the whole frame is hidden."""
    inst = upright_infant()
    rgb = scene()
    deid = pv.Deidentifier("mosaic")
    regs = deid.face_regions(rgb, inst[None], COCO, guessed=True)
    assert [r.source for r in regs] == ["whole frame"] and deid.last_verdicts == ["guess"]
    out = deid(rgb, inst[None], COCO, guessed=[True])
    assert deid.report.whole_frame_blurred == 1 and deid.report.guessed_frames == 1
    assert hidden(rgb, out, np.array([0, 0, 640, 520])) > 0.95
    # the same pose, not a guess: both ends only; a guess whose head end is confirmed: the head
    assert sorted(r.source for r in deid.face_regions(rgb, inst[None], COCO, guessed=False)) \
        == ["far end", "keypoints"]
    marked = mark(rgb, inst[COCO.index("nose"), :2])
    regs = deid.face_regions(marked, inst[None], COCO, guessed=True)
    assert [r.source for r in regs] == ["keypoints"] and deid.last_verdicts == ["detector"]


class _GuessingEstimator:
    """Returns one fixed pose per frame, marked as found by the fallback path."""

    name = "guessing"

    def __init__(self, inst: np.ndarray):
        self.schema, self.inst = COCO, inst

    def predict(self, rgb: np.ndarray, boxes=None):
        from infantpose.poses import Poses

        return Poses(self.inst[None, None], COCO, path=[["fallback"]])


def test_tracked_video_poses_keep_the_path_and_deidentify_uses_it(tmp_path):
    from infantpose.io.video import write_video
    from infantpose.video.tracking import predict_video

    inst = upright_infant(center=(160, 40), scale=0.4)
    src = write_video(tmp_path / "v.mp4", [scene((320, 240)) for _ in range(3)], fps=10)
    poses = predict_video(_GuessingEstimator(inst), src)
    assert poses.path[:, 0].tolist() == ["fallback"] * 3
    rep = deidentify_video(src, tmp_path / "out.mp4", poses=poses, use_detector=False)
    assert rep.guessed_frames == 3 and rep.whole_frame_blurred == 3
    # a poses file of the previous version (the path a per-frame list in meta) still marks them
    import json

    from infantpose.poses import Poses

    old = poses.to_dict()
    old["meta"]["path"] = [row[0] for row in old.pop("fields")["path"]]
    (tmp_path / "old.json").write_text(json.dumps(old))
    back = Poses.load_json(tmp_path / "old.json")
    rep = deidentify_video(src, tmp_path / "out2.mp4", poses=back, use_detector=False)
    assert rep.guessed_frames == 3 and rep.whole_frame_blurred == 3


def test_head_placed_by_a_person_hides_the_head_end_only():
    """The label app: once a person has placed the head keypoints the head end is known, so
    the far end (feet) is no longer hidden, even without a face detection or for a guess."""
    inst = upright_infant()
    rgb = scene()
    deid = pv.Deidentifier("mosaic", use_detector=False)
    assert sorted(r.source for r in deid.face_regions(rgb, inst[None], COCO)) \
        == ["far end", "keypoints"]
    regs = deid.face_regions(rgb, inst[None], COCO, confirmed=True)
    assert [r.source for r in regs] == ["keypoints"] and deid.last_verdicts == ["person"]
    regs = deid.face_regions(rgb, inst[None], COCO, guessed=True, confirmed=[True])
    assert [r.source for r in regs] == ["keypoints"]
    # per instance: only the confirmed one loses its far-end region
    two = np.stack([inst, inst])
    regs = deid.face_regions(rgb, two, COCO, confirmed=[False, True])
    assert sorted(r.source for r in regs) == ["far end", "keypoints", "keypoints"]
