"""``infantpose predict`` and ``infantpose examples`` end to end, and every bad-input case:
one-line error naming the file, exit code 2, no files left behind."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_video_io import corrupt_packet, zero_frame_avi  # tests/ is on sys.path (rootdir)

from infantpose.cli import main
from infantpose.examples import make_examples
from infantpose.io.images import write_image
from infantpose.io.video import write_video
from infantpose.poses import Poses


@pytest.fixture(scope="module")
def examples(tmp_path_factory):
    d = tmp_path_factory.mktemp("examples")
    make_examples(d, names=["hopper"])
    return d


@pytest.fixture(scope="module")
def short_video(examples, tmp_path_factory):
    """The first 10 frames of the example video, and a copy with a corrupt frame in the middle."""
    from infantpose.io.video import read_frames

    d = tmp_path_factory.mktemp("short")
    frames, _ = read_frames(examples / "hopper.mp4", max_frames=10)
    good = write_video(d / "clip.mp4", list(frames), fps=15)
    bad = corrupt_packet(good, d / "corrupt.mp4", which=5)
    return good, bad


def run(argv, capsys):
    code = main([str(a) for a in argv])
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def files_under(d: Path):
    return sorted(p.relative_to(d).as_posix() for p in d.rglob("*")
                  if p.is_file() and p.name != ".infantpose-outputs.json") if d.exists() else []


def test_examples_command(tmp_path, capsys):
    code, out, err = run(["examples", tmp_path / "ex"], capsys)
    assert code == 0, err
    files = files_under(tmp_path / "ex")
    assert [f for f in files if not f.startswith("infants/images/")] == [
        "examples.json", "hopper.mp4", "images/hopper_rot000.jpg", "images/hopper_rot090.jpg",
        "images/hopper_rot180.jpg", "infant_clip.json", "infant_clip.mp4",
        "infants/annotations.json"]
    assert len([f for f in files if f.startswith("infants/images/")]) == 12
    labels = json.loads((tmp_path / "ex" / "infants" / "annotations.json").read_text())
    assert len(labels["images"]) == 12 and labels["images"][0]["domain"] == "synthetic"


def test_predict_images_folder_coco_results(examples, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run(["predict", examples / "images", "--schema", "coco17", "--out", out,
                        "--overlay", "--quiet"], capsys)
    assert code == 0, err
    assert "frames/s" in err
    assert files_under(out) == ["overlay/hopper_rot000.jpg", "overlay/hopper_rot090.jpg",
                                "overlay/hopper_rot180.jpg", "predictions.json"]
    res = json.loads((out / "predictions.json").read_text())
    assert [r["image_id"] for r in res] == [1, 2, 3]  # a person found in every rotation
    assert [r["file_name"] for r in res] == ["hopper_rot000.jpg", "hopper_rot090.jpg",
                                             "hopper_rot180.jpg"]
    for r in res:
        assert r["category_id"] == 1 and r["schema"] == "coco17"
        assert len(r["keypoints"]) == 17 * 3 and 0 < r["score"] <= 1
        x, y, w, h = r["bbox"]
        assert 0 <= x and 0 <= y and x + w <= 640 and y + h <= 480
    # the 90° scene: the face is left of the shoulders (the person lies on her side)
    kp = np.array(res[1]["keypoints"]).reshape(17, 3)
    assert kp[0, 0] < kp[5:7, 0].mean()
    # loadable by pycocotools as detections against a matching ground truth
    from pycocotools.coco import COCO

    gt = COCO()
    gt.dataset = {"images": [{"id": i, "width": 640, "height": 480} for i in (1, 2, 3)],
                  "annotations": [], "categories": [{"id": 1, "name": "person"}]}
    gt.createIndex()
    dt = gt.loadRes(str(out / "predictions.json"))
    assert len(dt.getAnnIds()) == 3


def test_predict_single_image_infant22_and_missing_as_zero(examples, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run(["predict", examples / "images" / "hopper_rot000.jpg", "--schema",
                        "infant22", "--out", out, "-q"], capsys)
    assert code == 0, err
    (r,) = json.loads((out / "predictions.json").read_text())
    assert r["file_name"] == "hopper_rot000.jpg" and r["schema"] == "infant22"
    kp = np.array(r["keypoints"]).reshape(22, 3)
    assert np.all(kp[0] == 0)  # vertex: BlazePose has none, written as 0, 0, 0
    assert kp[3, 2] > 0.5     # nose


def test_predict_image_without_person(tmp_path, capsys):
    img = np.full((120, 160, 3), 90, np.uint8)
    write_image(tmp_path / "blank.png", img)
    code, _, err = run(["predict", tmp_path / "blank.png", "--out", tmp_path / "o", "-q"],
                       capsys)
    assert code == 0, err
    assert json.loads((tmp_path / "o" / "predictions.json").read_text()) == []
    assert "no person found in 1 of 1 images: blank.png" in " ".join(err.split())


def test_predict_video_json_csv_overlay(short_video, tmp_path, capsys):
    good, _ = short_video
    out = tmp_path / "out"
    code, _, err = run(["predict", good, "--schema", "infant22", "--out", out, "--overlay",
                        "--max-frames", "6", "-q"], capsys)
    assert code == 0, err
    # one folder per video, with the files batch writes too
    assert files_under(out) == ["clip/keypoints.csv", "clip/overlay.mp4", "clip/poses.json"]
    p = Poses.load_json(out / "clip" / "poses.json")
    assert p.schema.name == "infant22" and p.data.shape == (6, 1, 22, 3)
    assert p.fps == pytest.approx(15) and p.frame_size == (640, 480)
    assert list(p.frame_indices) == list(range(6)) and p.source == str(good)
    assert p.present.all() and p.meta["corrupt_frames"] == 0
    assert p.meta["model"] == "blazepose" and p.meta["tracking"]["frames"] == 6
    assert p.rotation.shape == (6, 1)  # per frame: the image rotation that found the infant
    assert "vertex" in p.meta["missing_keypoints"]  # BlazePose has no vertex: never guessed
    df = pd.read_csv(out / "clip" / "keypoints.csv")
    assert list(df.columns) == ["frame", "time", "instance", "keypoint", "x", "y", "score"]
    assert len(df) == 6 * 22
    from infantpose.io.video import probe_video

    info = probe_video(out / "clip" / "overlay.mp4")
    assert info.n_frames == 6 and info.frame_size == (640, 480)


def test_corrupt_frame_in_video_is_skipped_and_counted(short_video, tmp_path, capsys):
    _, bad = short_video
    out = tmp_path / "out"
    code, _, err = run(["predict", bad, "--out", out, "-q"], capsys)
    assert code == 0, err
    p = Poses.load_json(out / "corrupt" / "poses.json")
    n = p.meta["corrupt_frames"]
    assert n >= 1 and p.n_frames == 10 - n
    assert len(set(range(10)) - set(p.frame_indices.tolist())) == n
    assert f"{n} corrupt frame(s) skipped" in " ".join(err.split())


def test_images_and_videos_together(examples, short_video, tmp_path, capsys):
    good, _ = short_video
    out = tmp_path / "out"
    code, _, err = run(["predict", examples / "images" / "hopper_rot090.jpg", good, "--out",
                        out, "--max-frames", "2", "-q"], capsys)
    assert code == 0, err
    assert files_under(out) == ["clip/keypoints.csv", "clip/poses.json", "predictions.json"]


def test_cli_subprocess_error_is_one_line(tmp_path):
    exe = Path(sys.executable).with_name("infantpose")
    r = subprocess.run([str(exe), "predict", str(tmp_path / "nope.jpg"), "--out",
                        str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [f"error: {tmp_path / 'nope.jpg'}: no such file or "
                                             "directory"]
    assert not (tmp_path / "o").exists()


def _bad_inputs(tmp_path, examples, short_video):
    good_img = examples / "images" / "hopper_rot000.jpg"
    cases = {}
    cases["missing path"] = ([tmp_path / "missing.jpg"], "missing.jpg: no such file")
    empty = tmp_path / "emptydir"
    empty.mkdir()
    cases["empty folder"] = ([empty], "emptydir: folder contains no images or videos")
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0garbage" * 10)
    cases["corrupt image"] = ([corrupt], "corrupt.jpg: corrupt")
    trunc_dir = tmp_path / "mixed"
    trunc_dir.mkdir()
    (trunc_dir / "a_good.jpg").write_bytes(good_img.read_bytes())
    (trunc_dir / "b_truncated.jpg").write_bytes(good_img.read_bytes()[:5000])
    cases["truncated image after a good one"] = ([trunc_dir], "b_truncated.jpg: corrupt")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"not a video" * 100)
    cases["unreadable video"] = ([junk], "junk.mp4: cannot open video")
    cases["zero-frame video"] = ([zero_frame_avi(tmp_path / "zero.avi")],
                                 "zero.avi: video has zero frames")
    txt = tmp_path / "notes.txt"
    txt.write_text("hello")
    cases["not an image or video"] = ([txt], "notes.txt: not an image or video file")
    cases["good video then zero-frame video"] = ([short_video[0], tmp_path / "zero.avi"],
                                                 "zero.avi: video has zero frames")
    return cases


@pytest.mark.parametrize("case", ["missing path", "empty folder", "corrupt image",
                                  "truncated image after a good one", "unreadable video",
                                  "zero-frame video", "not an image or video",
                                  "good video then zero-frame video"])
def test_bad_inputs(case, tmp_path, examples, short_video, capsys):
    sources, message = _bad_inputs(tmp_path, examples, short_video)[case]
    out = tmp_path / "out"
    code, _, err = run(["predict", *sources, "--out", out, "--overlay", "-q"], capsys)
    assert code == 2
    lines = [ln for ln in err.splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], err
    assert files_under(out) == []  # nothing half-written, no staging left behind
    assert not out.exists() or not any(out.iterdir())


def test_unknown_schema_and_model(examples, tmp_path, capsys):
    img = examples / "images" / "hopper_rot000.jpg"
    code, _, err = run(["predict", img, "--schema", "horse99", "--out", tmp_path / "o"], capsys)
    assert code == 2 and "'horse99' is not one of 'coco17'" in err  # the choices, listed
    code, _, err = run(["predict", img, "--model", "nope", "--out", tmp_path / "o"], capsys)
    assert code == 2 and "error: unknown model 'nope'" in err
    code, _, err = run(["predict", img, "--weights", tmp_path / "w.pt", "--out", tmp_path / "o"],
                       capsys)
    assert code == 2 and "w.pt: weights file not found" in err
    assert files_under(tmp_path / "o") == []


def test_unwritable_output_directory(examples, tmp_path, capsys):
    img = examples / "images" / "hopper_rot000.jpg"
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, _, err = run(["predict", img, "--out", afile, "-q"], capsys)
    assert code == 2 and f"error: {afile}" in err
    code, _, err = run(["predict", img, "--out", afile / "sub", "-q"], capsys)
    assert code == 2 and "cannot create output directory" in err
    if os.geteuid() != 0:  # root can write anywhere
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o500)
        code, _, err = run(["predict", img, "--out", ro, "-q"], capsys)
        assert code == 2 and "not writable" in err
