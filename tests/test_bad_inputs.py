"""Issue 11 (3): every bad input gives one line ``error: <file>: <problem>``, exit code 2, no
traceback and no output left behind.

Each case builds its inputs in a fresh folder, runs the command in-process through
``infantpose.cli.main`` and checks: exit code 2; stderr is exactly one line starting with
``error:`` that contains the expected text (usually the offending file's name); nothing new
appeared anywhere in the folder.
"""

from __future__ import annotations

import json
import os
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from infantpose.cli import main
import testclips as tc

MARKERS = "testclips:create_marker_estimator"


# --- input builders ------------------------------------------------------------------------------
def poses_doc(frames: int = 3, **over) -> dict:
    from infantpose.poses import Poses

    rng = np.random.default_rng(0)
    data = np.concatenate([rng.uniform(10, 50, (frames, 1, 17, 2)), np.ones((frames, 1, 17, 1))],
                          -1)
    d = Poses(data, "coco17", fps=15.0, frame_size=(64, 64)).to_dict()
    d.update(over)
    return d


def write_json(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc))
    return path


def bad_poses(d: Path, mutate: Callable[[dict], None]) -> Path:
    doc = poses_doc()
    mutate(doc)
    return write_json(d / "poses.json", doc)


def clip(d: Path) -> Path:
    v = d / "clip.mp4"
    tc.make_clip(v, n_frames=4, size=(64, 64), seed=0)
    return v


def image(d: Path, name: str = "img.png") -> Path:
    from PIL import Image

    (d / "imgs").mkdir(exist_ok=True)
    p = d / "imgs" / name
    Image.fromarray(np.zeros((32, 48, 3), np.uint8)).save(p)
    return p


def coco(d: Path, image_id=1, file_name="img.png", kp=None, ann_image_id=None) -> Path:
    image(d)
    k = kp if kp is not None else [10, 10, 2] * 17
    doc = {"images": [{"id": image_id, "file_name": file_name, "width": 48, "height": 32}],
           "annotations": [{"id": 1, "image_id": image_id if ann_image_id is None
                            else ann_image_id, "category_id": 1, "keypoints": k}],
           "categories": [{"id": 1, "name": "person",
                           "keypoints": ["nose", "left_eye", "right_eye", "left_ear",
                                         "right_ear", "left_shoulder", "right_shoulder",
                                         "left_elbow", "right_elbow", "left_wrist",
                                         "right_wrist", "left_hip", "right_hip", "left_knee",
                                         "right_knee", "left_ankle", "right_ankle"]}]}
    return write_json(d / "imgs" / "labels.json", doc)


def labelme(d: Path, group_id=None, point=(5.0, 5.0)) -> Path:
    image(d)
    doc = {"version": "5.4.1", "imagePath": "img.png", "imageWidth": 48, "imageHeight": 32,
           "shapes": [{"label": "nose", "points": [list(point)], "group_id": group_id,
                       "shape_type": "point", "flags": {}}]}
    return write_json(d / "imgs" / "img.json", doc)


def dlc(d: Path, row: list[str]) -> Path:
    from PIL import Image

    vid = d / "labeled-data" / "baby1"
    vid.mkdir(parents=True)
    Image.fromarray(np.zeros((32, 48, 3), np.uint8)).save(vid / "img000.png")
    lines = ["scorer,,,ann,ann", "bodyparts,,,nose,nose", "coords,,,x,y",
             ",".join(["labeled-data", "baby1", "img000.png"] + row)]
    p = vid / "CollectedData_ann.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


def huge_png(d: Path) -> Path:
    def chunk(t: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + t + data + struct.pack(
            ">I", zlib.crc32(t + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", 60000, 60000, 8, 2, 0, 0, 0)
    p = d / "huge.png"
    p.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                  + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return p


def afile(d: Path) -> Path:
    p = d / "afile"
    p.write_text("not a folder")
    return p


# --- the table: id -> (builder returning argv, text the error line must contain) ----------------
def _set_data(doc: dict, value) -> None:
    doc["data"][0][0][0][0] = value


CASES: dict[str, tuple[Callable[[Path], list], str]] = {
    # predict
    "predict huge png header": (lambda d: ["predict", huge_png(d), "--out", d / "o", "-q"],
                                "huge.png: image"),
    "predict --max-frames abc": (lambda d: ["predict", image(d), "--out", d / "o",
                                            "--max-frames", "abc"], "--max-frames"),
    "predict --max-frames 0": (lambda d: ["predict", image(d), "--out", d / "o",
                                          "--max-frames", "0"], "--max-frames"),
    "predict --schema foo": (lambda d: ["predict", image(d), "--out", d / "o", "--schema",
                                        "foo"], "'foo' is not one of 'coco17'"),
    "predict --deidentify pixelate": (lambda d: ["predict", image(d), "--out", d / "o",
                                                 "--deidentify", "pixelate"], "--deidentify"),
    "predict out under a file": (lambda d: ["predict", image(d), "--out", afile(d) / "o"],
                                 "afile"),
    "predict out = input folder": (lambda d: [
        "predict", image(d).parent, "--out", d / "imgs"], "input folder"),
    "predict unknown model": (lambda d: ["predict", image(d), "--out", d / "o", "-m", "nope"],
                              "unknown model"),
    "predict missing weights": (lambda d: ["predict", image(d), "--out", d / "o", "--weights",
                                           d / "none.pt"], "none.pt"),
    "predict not an image": (lambda d: ["predict", write_json(d / "x.json", {}), "--out",
                                        d / "o"], "x.json"),
    # filter
    "filter fps fast": (lambda d: ["filter", bad_poses(d, lambda x: x.update(fps="fast")),
                                   "--out", d / "f.json"], "poses.json: fps"),
    "filter x is a string": (lambda d: ["filter", bad_poses(d, lambda x: _set_data(x, "12.5")),
                                        "--out", d / "f.json"], "poses.json: data"),
    "filter x is true": (lambda d: ["filter", bad_poses(d, lambda x: _set_data(x, True)),
                                    "--out", d / "f.json"], "poses.json: data"),
    "filter x = 1e30": (lambda d: ["filter", bad_poses(d, lambda x: _set_data(x, 1e30)),
                                   "--out", d / "f.json"], "absurd"),
    "filter frame size list of str": (lambda d: [
        "filter", bad_poses(d, lambda x: x.update(frame_size=["a", "b"])), "--out",
        d / "f.json"], "frame_size"),
    "filter frame_indices decrease": (lambda d: [
        "filter", bad_poses(d, lambda x: x.update(frame_indices=[2, 1, 0])), "--out",
        d / "f.json"], "frame_indices"),
    "filter ragged data": (lambda d: ["filter", bad_poses(
        d, lambda x: x["data"][0][0].pop()), "--out", d / "f.json"], "poses.json"),
    "filter out is a folder": (lambda d: ["filter", bad_poses(d, lambda x: None), "--out", d],
                               "is a folder"),
    "filter out under a file": (lambda d: ["filter", bad_poses(d, lambda x: None), "--out",
                                           afile(d) / "f.json"], "afile"),
    "filter --method nope": (lambda d: ["filter", bad_poses(d, lambda x: None), "--out",
                                        d / "f.json", "--method", "nope"], "--method"),
    "filter --min-score 5": (lambda d: ["filter", bad_poses(d, lambda x: None), "--out",
                                        d / "f.json", "--min-score", "5"], "--min-score"),
    "filter --cutoff nan": (lambda d: ["filter", bad_poses(d, lambda x: None), "--out",
                                       d / "f.json", "--cutoff", "nan"], "--cutoff"),
    "filter --csv not csv": (lambda d: ["filter", bad_poses(d, lambda x: None), "--out",
                                        d / "f.json", "--csv", d / "t.txt"], "t.txt"),
    "filter not poses": (lambda d: ["filter", write_json(d / "x.json", [1, 2]), "--out",
                                    d / "f.json"], "x.json"),
    # overlay
    "overlay fps fast": (lambda d: ["overlay", clip(d), bad_poses(
        d, lambda x: x.update(fps="fast")), "--out", d / "o.mp4", "-q"], "poses.json: fps"),
    "overlay x = 1e30": (lambda d: ["overlay", clip(d), bad_poses(
        d, lambda x: _set_data(x, 1e30)), "--out", d / "o.mp4", "-q"], "absurd"),
    "overlay plot under a file": (lambda d: ["overlay", clip(d), bad_poses(d, lambda x: None),
                                             "--out", d / "o.mp4", "--plot",
                                             afile(d) / "p.png", "-q"], "afile"),
    "overlay poses of another video": (lambda d: ["overlay", clip(d), bad_poses(
        d, lambda x: x.update(frame_size=[640, 480])), "--out", d / "o.mp4", "-q"],
        "are these its poses"),
    "overlay out .txt": (lambda d: ["overlay", clip(d), bad_poses(d, lambda x: None), "--out",
                                    d / "o.txt", "-q"], "o.txt"),
    "overlay --deidentify bad": (lambda d: ["overlay", clip(d), bad_poses(d, lambda x: None),
                                            "--out", d / "o.mp4", "--deidentify", "x"],
                                 "--deidentify"),
    "overlay out = video": (lambda d: ["overlay", clip(d), bad_poses(d, lambda x: None),
                                       "--out", d / "clip.mp4", "-q"], "input"),
    # deidentify
    "deidentify out is a folder": (lambda d: ["deidentify", clip(d), "--out", d, "-m", "none",
                                              "--no-detector", "-q"], "is a folder"),
    "deidentify out under a file": (lambda d: ["deidentify", clip(d), "--out",
                                               afile(d) / "o.mp4", "-m", "none", "-q"], "afile"),
    "deidentify --mode bad": (lambda d: ["deidentify", clip(d), "--out", d / "o.mp4", "--mode",
                                         "pixel"], "--mode"),
    "deidentify --margin nan": (lambda d: ["deidentify", clip(d), "--out", d / "o.mp4",
                                           "--margin", "nan"], "--margin"),
    "deidentify corrupt video": (lambda d: [
        "deidentify", (d / "bad.mp4").write_bytes(b"\0" * 100) and d / "bad.mp4", "--out",
        d / "o.mp4", "-m", "none", "--no-detector", "-q"], "bad.mp4"),
    "deidentify bad --poses": (lambda d: ["deidentify", clip(d), "--out", d / "o.mp4",
                                          "--poses", bad_poses(d, lambda x: _set_data(x, "a")),
                                          "--no-detector", "-q"], "poses.json"),
    # convert
    "convert COCO image id is a list": (lambda d: ["convert", coco(d, image_id=[1]), d / "o.json",
                                                   "--to", "coco"], "labels.json: images[0].id"),
    "convert COCO file_name traversal": (lambda d: [
        "convert", coco(d, file_name="../../../../etc/passwd"), d / "o.json", "--to", "coco",
        "--no-image-check"], "passwd"),
    "convert COCO absolute file_name": (lambda d: [
        "convert", coco(d, file_name="/etc/x.png"), d / "o.json", "--to", "coco",
        "--no-image-check"], "absolute"),
    "convert COCO keypoint '12.5'": (lambda d: [
        "convert", coco(d, kp=["12.5", 10, 2] + [10, 10, 2] * 16), d / "o.json", "--to", "coco"],
        "labels.json: annotations[0]"),
    "convert COCO keypoint true": (lambda d: [
        "convert", coco(d, kp=[True, 10, 2] + [10, 10, 2] * 16), d / "o.json", "--to", "coco"],
        "labels.json: annotations[0]"),
    "convert COCO ann image_id list": (lambda d: [
        "convert", coco(d, ann_image_id=[1]), d / "o.json", "--to", "coco"], "image_id"),
    "convert LabelMe group_id [1]": (lambda d: ["convert", labelme(d, group_id=[1]),
                                                d / "o.json", "--to", "coco"], "group_id"),
    "convert LabelMe point '12.5'": (lambda d: ["convert", labelme(d, point=("12.5", 3)),
                                                d / "o.json", "--to", "coco"], "img.json"),
    "convert DLC true as coordinate": (lambda d: ["convert", dlc(d, ["True", "True"]),
                                                  d / "o.json", "--to", "coco"], "true/false"),
    "convert DLC 1e30": (lambda d: ["convert", dlc(d, ["1e30", "3"]), d / "o.json", "--to",
                                    "coco"], "absurd"),
    "convert DLC text": (lambda d: ["convert", dlc(d, ["abc", "3"]), d / "o.json", "--to",
                                    "coco"], "non-numeric"),
    "convert --to bad": (lambda d: ["convert", coco(d), d / "o.json", "--to", "yaml"], "--to"),
    "convert coco to .txt": (lambda d: ["convert", coco(d), d / "o.txt", "--to", "coco"],
                             "o.txt"),
    "convert --map without =": (lambda d: ["convert", coco(d), d / "o.json", "--to", "coco",
                                           "--map", "x"], "--map"),
    "convert JSON list": (lambda d: ["convert", write_json(d / "l.json", [1]), d / "o.json",
                                     "--to", "coco"], "l.json"),
    "convert in place": (lambda d: ["convert", coco(d), d / "imgs" / "labels.json", "--to",
                                    "coco", "--overwrite"], "input"),
    # evaluate
    "evaluate --pred-schema foo": (lambda d: ["evaluate", "--gt", coco(d), "--pred",
                                              write_json(d / "p.json", []), "--pred-schema",
                                              "foo", "--out", d / "r"], "--pred-schema"),
    "evaluate COCO id list": (lambda d: ["evaluate", "--gt", coco(d, image_id=[1]), "--pred",
                                         write_json(d / "p.json", []), "--out", d / "r"],
                              "images[0].id"),
    "evaluate pred keypoint '12.5'": (lambda d: [
        "evaluate", "--gt", coco(d), "--pred", write_json(d / "p.json", [
            {"image_id": 1, "category_id": 1, "keypoints": ["12.5"] * 51, "score": 1.0}]),
        "--out", d / "r"], "p.json: result [0].keypoints"),
    "evaluate pred score str": (lambda d: [
        "evaluate", "--gt", coco(d), "--pred", write_json(d / "p.json", [
            {"image_id": 1, "category_id": 1, "keypoints": [1.0] * 51, "score": "high"}]),
        "--out", d / "r"], "p.json: result [0].score"),
    "evaluate --mks-lambda 0": (lambda d: ["evaluate", "--gt", coco(d), "--pred",
                                           write_json(d / "p.json", []), "--mks-lambda", "0",
                                           "--out", d / "r"], "--mks-lambda"),
    "evaluate out under a file": (lambda d: ["evaluate", "--gt", coco(d), "--pred",
                                             write_json(d / "p.json", []), "--out",
                                             afile(d) / "r"], "afile"),
    # batch
    "batch --scheduler notaurl": (lambda d: ["batch", clip(d).parent, "--out", d / "b",
                                             "--scheduler", "notaurl"], "--scheduler"),
    "batch --workers -1": (lambda d: ["batch", clip(d).parent, "--out", d / "b", "--workers",
                                      "-1"], "--workers"),
    "batch --dashboard bad": (lambda d: ["batch", clip(d).parent, "--out", d / "b",
                                         "--dashboard", "nope"], "--dashboard"),
    "batch --filter bad": (lambda d: ["batch", clip(d).parent, "--out", d / "b", "--filter",
                                      "wow"], "--filter"),
    "batch out under a file": (lambda d: ["batch", clip(d).parent, "--out", afile(d) / "b"],
                               "afile"),
    "batch out = video folder": (lambda d: ["batch", clip(d).parent, "--out", d], "input"),
    "batch no videos": (lambda d: ["batch", d, "--out", d / "b"], "no video files"),
    # synth / examples / schemas
    "synth --n 0": (lambda d: ["synth", "--n", "0", "--out", d / "s"], "--n"),
    "synth --n huge": (lambda d: ["synth", "--n", "999999999", "--out", d / "s"], "--n"),
    "deidentify poses of another video": (lambda d: [
        "deidentify", clip(d), "--out", d / "o.mp4", "--no-detector", "-q", "--poses",
        bad_poses(d, lambda x: x.update(frame_size=[320, 240]))], "are these its poses"),
    "synth --size 10x": (lambda d: ["synth", "--n", "1", "--size", "10x", "--out", d / "s"],
                         "size"),
    "synth --clip -1": (lambda d: ["synth", "--n", "1", "--clip", "-1", "--out", d / "s"],
                        "--clip"),
    "synth --fps nan": (lambda d: ["synth", "--n", "1", "--clip", "1", "--fps", "nan", "--out",
                                   d / "s"], "--fps"),
    "synth --style bad": (lambda d: ["synth", "--n", "1", "--style", "x", "--out", d / "s"],
                          "style"),
    "synth out under a file": (lambda d: ["synth", "--n", "1", "--out", afile(d) / "s"],
                               "afile"),
    "examples out under a file": (lambda d: ["examples", afile(d) / "e"], "afile"),
    "schemas unknown": (lambda d: ["schemas", "foo"], "foo"),
}


def snapshot(d: Path) -> dict[str, int]:
    return {str(p.relative_to(d)): (p.stat().st_size if p.is_file() else -1)
            for p in d.rglob("*")}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_gives_one_error_line(case, tmp_path, capsys):
    build, expected = CASES[case]
    argv = [str(a) for a in build(tmp_path)]
    before = snapshot(tmp_path)
    capsys.readouterr()
    code = main(argv)
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (case, code, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected in lines[0], lines[0]
    assert "Traceback" not in err + out
    assert snapshot(tmp_path) == before, "output left behind"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into read-only folders")
def test_read_only_output_folder(tmp_path, capsys):
    doc = write_json(tmp_path / "poses.json", poses_doc())
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        code = main(["filter", str(doc), "--out", str(ro / "f.json")])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1 and "not writable" in err
    finally:
        ro.chmod(0o755)


def test_a_non_utf8_video_name_does_not_stop_the_batch(tmp_path, capsys):
    vids = tmp_path / "v"
    vids.mkdir()
    tc.make_clip(vids / "good.mp4", n_frames=3, size=(64, 64))
    odd = os.fsdecode(b"b\xff\xfe.mp4")
    tc.make_clip(vids / odd, n_frames=3, size=(64, 64))
    code = main(["batch", str(vids), "--out", str(tmp_path / "o"), "--workers", "0", "-m",
                 MARKERS, "--no-plot"])
    assert code == 0, capsys.readouterr().err
    text = (tmp_path / "o" / "manifest.csv").read_text(encoding="utf-8")
    assert "b\\xff\\xfe.mp4" in text and "good.mp4" in text
    assert text.count(",ok,") == 2


def test_library_noise_does_not_precede_an_error(tmp_path, capfd):
    """A subprocess run (so native mediapipe logging could reach fd 2): one line only."""
    import subprocess
    import sys

    img = image(tmp_path)
    bad = tmp_path / "imgs" / "trunc.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0" + b"\0" * 200)
    r = subprocess.run([sys.executable, "-m", "infantpose", "predict", str(img), str(bad),
                        "--out", str(tmp_path / "o"), "-q"], capture_output=True, text=True,
                       timeout=300, env={**os.environ, "GLOG_minloglevel": "0",
                                         "TF_CPP_MIN_LOG_LEVEL": "0"})
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "trunc.jpg" in lines[0], \
        r.stderr
    assert not (tmp_path / "o").exists()
