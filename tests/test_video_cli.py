"""The video commands end to end: deidentify, batch, filter, overlay; errors are one line."""

import json

import numpy as np
import pytest

from infantpose.cli import main
from infantpose.io.video import probe_video, read_frames
from infantpose.poses import Poses
from infantpose.video import privacy as pv
import testclips as tc

MARKERS = "testclips:create_marker_estimator"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    path = d / "baby.mp4"
    meta = {"title": "baby jane", "creation_time": "2024-01-01T00:00:00Z"}
    truth, _ = tc.make_clip(path, n_frames=10, metadata=meta)
    noisy = truth.data.copy()
    noisy[..., :2] += np.random.default_rng(0).normal(0, 1.5, noisy[..., :2].shape)
    p = Poses(noisy, truth.schema, source=str(path), fps=15.0, frame_size=truth.frame_size,
              frame_indices=np.arange(10))
    p.save_json(d / "baby.json")
    return path, d / "baby.json", truth


def test_deidentify_command(clip, tmp_path, capsys):
    video, poses, truth = clip
    out = tmp_path / "safe.mp4"
    code = main(["deidentify", str(video), "--out", str(out), "--poses", str(poses),
                 "--no-detector", "--mode", "blur", "-q"])
    assert code == 0
    err = capsys.readouterr().err
    assert "10 frames" in err and "head keypoints in 10" in err
    assert pv.identifying_tags(out) == {} and probe_video(out).n_frames == 10
    # with no way to place the face every frame is blurred whole, and the run says so
    out2 = tmp_path / "safe2.mp4"
    assert main(["deidentify", str(video), "--out", str(out2), "--model", "none", "--no-detector",
                 "-q"]) == 0
    assert "10 frame(s) had no face region" in capsys.readouterr().err


def test_deidentify_errors_are_one_line(clip, tmp_path, capsys):
    video, _, _ = clip
    assert main(["deidentify", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "o.mp4"),
                 "--model", "none"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "missing.mp4" in err and "\n" not in err
    assert main(["deidentify", str(video), "--out", str(tmp_path / "o.mp4"),
                 "--mode", "swirl"]) == 2
    assert not (tmp_path / "o.mp4").exists()


def test_filter_command(clip, tmp_path, capsys):
    _, poses, truth = clip
    out = tmp_path / "f.json"
    assert main(["filter", str(poses), "--out", str(out), "--method", "savgol", "--window", "5",
                 "--drop-facial-keypoints", "--csv", str(tmp_path / "f.csv")]) == 0
    res = Poses.load_json(out)
    assert res.meta["filter"]["method"] == "savgol"
    assert np.isnan(res.data[:, 0, truth.schema.facial_mask, 0]).all()
    assert (tmp_path / "f.csv").is_file()
    assert "left_wrist" in capsys.readouterr().out
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["filter", str(bad), "--out", str(tmp_path / "g.json")]) == 2
    assert main(["filter", str(poses), "--out", str(tmp_path / "g.json"), "--method", "x"]) == 2
    assert not (tmp_path / "g.json").exists()


def test_overlay_command(clip, tmp_path):
    video, poses, _ = clip
    out = tmp_path / "ov.mp4"
    assert main(["overlay", str(video), str(poses), "--out", str(out), "--plot",
                 str(tmp_path / "t.png"), "--deidentify", "mosaic", "-q"]) == 0
    frames, idx = read_frames(out)
    assert len(idx) == 10 and (tmp_path / "t.png").stat().st_size > 1000
    src, _ = read_frames(video)
    assert np.abs(frames[:, :12, :40].astype(int) - src[:, :12, :40]).mean() > 20  # timestamp box


def test_batch_command(clip, tmp_path, capsys):
    video, _, _ = clip
    d = tmp_path / "vids"
    d.mkdir()
    (d / "a.mp4").write_bytes(video.read_bytes())
    (d / "b.mp4").write_bytes(b"")  # empty file: fails, batch goes on
    out = tmp_path / "out"
    code = main(["batch", str(d), "--out", str(out), "--workers", "0", "--model", MARKERS,
                 "--filter", "butterworth", "--deidentify", "mosaic", "--overlay"])
    assert code == 1  # a failure is reported in the exit code, after everything else ran
    err = capsys.readouterr().err
    assert "1 done now" in err and "1 failed" in err
    sub = out / "a"
    names = sorted(p.name for p in sub.iterdir() if not p.name.startswith("."))
    assert names == ["deidentified.mp4", "done.json", "keypoints.csv", "overlay.mp4",
                     "poses.json", "poses_filtered.json", "trajectories.png"]
    p = Poses.load_json(sub / "poses_filtered.json")
    assert np.isnan(p.data[:, :, p.schema.facial_mask, :2]).all()  # facial keypoints dropped
    import pandas as pd
    table = pd.read_csv(sub / "keypoints.csv")
    assert table.loc[table["keypoint"] == "nose", "x"].isna().all()
    assert table.loc[table["keypoint"] == "left_knee", "x"].notna().all()
    for v in ("deidentified.mp4", "overlay.mp4"):
        assert pv.identifying_tags(sub / v) == {}
    done = json.loads((sub / "done.json").read_text())
    assert done["deidentification"]["frames"] == 10
    assert main(["batch", str(tmp_path / "nothing"), "--out", str(out)]) == 2


@pytest.mark.slow
def test_batch_end_to_end_with_blazepose_on_rendered_infants(tmp_path):
    """The real pipeline: BlazePose + tracking + filter + de-identification + overlay, 2 workers."""
    from infantpose.synth.clips import write_clip

    d = tmp_path / "videos"
    d.mkdir()
    for i in range(2):
        write_clip(d / f"infant{i}.mp4", 1.5, seed=i, fps=10, schema="coco17", size=(320, 240),
                   style="studio")
    out = tmp_path / "out"
    assert main(["batch", str(d), "--out", str(out), "--workers", "2", "--filter", "savgol",
                 "--deidentify", "mosaic", "--overlay"]) == 0
    for i in range(2):
        sub = out / f"infant{i}"
        done = json.loads((sub / "done.json").read_text())
        assert done["frames"] == 15 and done["tracking"]["lost"] == 0
        assert done["deidentification"]["whole_frame_blurred"] < 15
        truth = Poses.load_json(d / f"infant{i}.json")  # the clip's exact labels
        p = Poses.load_json(sub / "poses_filtered.json")
        assert np.isnan(p.data[:, :, p.schema.facial_mask, :2]).all()
        first = truth.data[0, 0]
        body = np.ptp(first[np.isfinite(first[:, 0]), :2], axis=0).max()
        err = np.linalg.norm(p.data[:, 0, 5:, :2] - truth.data[:, 0, 5:, :2], axis=-1)
        assert np.nanmedian(err) < 0.15 * body  # body keypoints within 15 % of the body size
        for v in ("deidentified.mp4", "overlay.mp4"):
            assert pv.identifying_tags(sub / v) == {} and probe_video(sub / v).n_frames == 15


def test_deidentify_default_uses_detector_and_blazepose(tmp_path, capsys):
    from infantpose.synth.clips import write_clip

    video, _ = write_clip(tmp_path / "infant.mp4", 0.5, seed=1, fps=10, schema="coco17",
                          size=(320, 240), style="studio")
    out = tmp_path / "safe.mp4"
    assert main(["deidentify", str(video), "--out", str(out), "-q"]) == 0
    err = capsys.readouterr().err
    assert "5 frames written" in err and "blurred whole" not in err
    assert "by head keypoints in 5" in err  # BlazePose found the head in every frame
    assert pv.identifying_tags(out) == {}


def test_predict_deidentify_hides_faces_in_overlays_and_drops_facial_keypoints(tmp_path, capsys):
    """``infantpose predict --deidentify`` (the privacy option added to issue 4's command)."""
    from infantpose.io.images import write_image
    from infantpose.synth.clips import render_clip, write_clip

    video, labels = write_clip(tmp_path / "in" / "infant.mp4", 0.4, seed=0, fps=10,
                               schema="coco17", size=(320, 240), style="studio")
    frames, _, _ = render_clip(0, 0.1, fps=10, schema="coco17", size=(320, 240), style="studio")
    write_image(tmp_path / "in" / "infant.png", frames[0])
    out = tmp_path / "out"
    assert main(["predict", str(tmp_path / "in"), "--out", str(out), "--overlay",
                 "--deidentify", "mosaic", "-q"]) == 0
    assert "frames blurred whole (no face found): 0" in capsys.readouterr().err
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                  if not p.name.startswith(".")) == [
        "deidentified", "deidentified/infant.png", "infant", "infant/deidentified.mp4",
        "infant/keypoints.csv", "infant/overlay.mp4", "infant/poses.json", "overlay",
        "overlay/infant.png", "predictions.json"]
    p = Poses.load_json(out / "infant" / "poses.json")
    assert p.n_frames == 4 and p.meta["facial_keypoints_dropped"] == list(p.schema.facial)
    assert np.isnan(p.data[:, :, p.schema.facial_mask, :2]).all()
    assert np.isfinite(p.data[:, 0, p.schema.index("left_hip"), :2]).all()
    results = json.loads((out / "predictions.json").read_text())
    assert results and all(r["keypoints"][:15] == [0.0] * 15 for r in results)  # 5 facial × 3
    # the face is hidden: mediapipe's face detector finds the face in the source frames but not
    # in the de-identified overlays or copies, and they carry no metadata
    truth = Poses.load_json(labels)
    src, _ = read_frames(video)
    ov, _ = read_frames(out / "infant" / "overlay.mp4")
    copy, _ = read_frames(out / "infant" / "deidentified.mp4")
    det = pv.FaceDetector()
    checked = 0
    try:
        for f in range(4):
            head = truth.data[f, 0, :5, :2].mean(axis=0)

            def on_head(boxes):
                return any(b[0] <= head[0] <= b[2] and b[1] <= head[1] <= b[3] for b in boxes)

            if on_head(det.detect(src[f])):
                checked += 1
                assert not on_head(det.detect(ov[f])) and not on_head(det.detect(copy[f]))
    finally:
        det.close()
    assert checked >= 2, checked
    for v in ("overlay.mp4", "deidentified.mp4"):
        assert pv.identifying_tags(out / "infant" / v) == {}
