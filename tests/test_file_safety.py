"""Issue 11 (1): no command replaces an input or a file it did not write, or deletes outside
what it created; symbolic links are never followed for deletion."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from infantpose import outputs as O
from infantpose.cli import main
from infantpose.errors import InputError
from infantpose.poses import Poses
from infantpose.video import batch as B
import testclips as tc

MARKERS = "testclips:create_marker_estimator"


def run(argv, capsys):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("clip")
    v = d / "clip.mp4"
    truth, _ = tc.make_clip(v, n_frames=6, seed=0, size=(96, 80))
    truth.save_json(d / "clip.json")
    return v


# --- the ledger -----------------------------------------------------------------------------------
def test_owned_files_are_recorded_with_size_and_mtime(tmp_path):
    f = tmp_path / "a.json"
    f.write_text("{}")
    assert not O.is_owned(f)
    O.record([f], "test")
    assert O.is_owned(f)
    f.write_text('{"edited": 1}')  # the user edited it: not ours any more
    assert not O.is_owned(f)


def test_a_run_killed_between_ledger_and_rename_leaves_a_file_still_ours(tmp_path, monkeypatch):
    """Rewriting a file records the new one before the rename; a kill in between leaves the
    previous version in place, which must still count as infantpose's (batch's manifest)."""
    from infantpose import _atomic

    f = tmp_path / "manifest.csv"
    with O.recording("batch"):
        _atomic.write_text(f, "a\n1\n")
    assert O.is_owned(f)

    real = os.replace

    def killed(src, dst):
        if Path(dst).name == O.LEDGER:
            return real(src, dst)
        raise KeyboardInterrupt  # stands in for SIGKILL after the ledger was written

    monkeypatch.setattr(_atomic.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt), O.recording("batch"):
        _atomic.write_text(f, "a\n1\n2\n")
    monkeypatch.undo()
    assert f.read_text() == "a\n1\n" and O.is_owned(f)
    O.Outputs("batch").file(f)  # the next run may replace it
    with O.recording("batch"):
        _atomic.write_text(f, "a\n1\n2\n3\n")
    assert O.is_owned(f)
    f.write_text("mine\n")  # a user's edit is never ours
    assert not O.is_owned(f)


def test_remove_owned_never_follows_links_or_touches_other_files(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep")
    d = tmp_path / "d"
    d.mkdir()
    (d / "mine.json").write_text("{}")
    O.record([d / "mine.json"], "test")
    (d / "notes.txt").write_text("user")
    (d / "link").symlink_to(outside)
    (d / ".x.abcd1234.tmp.json").write_text("half")
    removed = O.remove_owned(d)
    assert sorted(p.name for p in removed) == [".x.abcd1234.tmp.json", "mine.json"]
    assert (d / "notes.txt").read_text() == "user"
    assert (outside / "precious.txt").read_text() == "keep"
    # a symbolic link to a folder is not entered either
    (outside / "y.json").write_text("{}")
    O.record([outside / "y.json"], "test")
    assert O.remove_owned(tmp_path / "d" / "link") == []
    assert (outside / "y.json").exists()


def test_outputs_rule(tmp_path):
    src = tmp_path / "in.json"
    src.write_text("{}")
    g = O.Outputs("t", [src])
    with pytest.raises(InputError, match="overwrite an input"):
        g.file(src)
    with pytest.raises(InputError, match="overwrite an input"):
        O.Outputs("t", [src], overwrite=True).file(tmp_path / "." / "in.json")
    hard = tmp_path / "hard.json"
    os.link(src, hard)
    with pytest.raises(InputError, match="overwrite an input"):
        g.file(hard)
    with pytest.raises(InputError, match="input folder"):
        O.Outputs("t", [tmp_path]).folder(tmp_path)
    other = tmp_path / "other.json"
    other.write_text("user's")
    with pytest.raises(InputError, match="not written by infantpose"):
        g.file(other)
    assert O.Outputs("t", [src], overwrite=True).file(other) == other
    with pytest.raises(InputError, match="is a folder"):
        g.file(tmp_path)
    with pytest.raises(InputError, match="is a file"):
        g.file(src / "x" / "y.json")


# --- the four reported losses --------------------------------------------------------------------
def test_batch_out_equal_to_the_video_folder_is_refused(tmp_path, capsys):
    s = tmp_path / "s"
    s.mkdir()
    tc.make_clip(s / "visit.mp4", n_frames=4, seed=0, size=(64, 64))
    (s / "visit").mkdir()
    (s / "visit" / "notes.txt").write_text("mine")
    code, _, err = run(["batch", s, "--out", s, "--workers", "0", "-m", MARKERS], capsys)
    assert code == 2 and "input folder" in err and err.count("\n") == 1
    assert (s / "visit" / "notes.txt").read_text() == "mine"


def test_batch_keeps_user_files_and_never_deletes_through_a_link(tmp_path):
    vids = tmp_path / "v"
    vids.mkdir()
    tc.make_clip(vids / "visit.mp4", n_frames=4, seed=0, size=(64, 64))
    tc.make_clip(vids / "other.mp4", n_frames=4, seed=1, size=(64, 64))
    out = tmp_path / "out"
    (out / "visit").mkdir(parents=True)
    (out / "visit" / "notes.txt").write_text("mine")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data.csv").write_text("precious")
    (out / "other").symlink_to(elsewhere)
    rows = {r["video"]: r for r in B.run_batch(vids, out, B.BatchOptions(model=MARKERS,
                                                                          plot=False), workers=0)}
    assert rows["visit.mp4"]["status"] == "ok"
    assert (out / "visit" / "notes.txt").read_text() == "mine"
    assert rows["other.mp4"]["status"] == "failed" and "symbolic link" in rows["other.mp4"]["error"]
    assert sorted(p.name for p in elsewhere.iterdir()) == ["data.csv"]
    # a file with an output's name that infantpose did not write fails the video, untouched
    (out / "visit" / B.DONE_MARKER).unlink()
    (out / "visit" / "poses.json").write_text("my own poses")
    rows = B.run_batch(vids, out, B.BatchOptions(model=MARKERS, plot=False), workers=0)
    assert rows[1]["status"] == "failed" and "has changed since" in rows[1]["error"]
    assert (out / "visit" / "poses.json").read_text() == "my own poses"
    assert (out / "visit" / "notes.txt").read_text() == "mine"
    rows = B.run_batch(vids, out, B.BatchOptions(model=MARKERS, plot=False), workers=0,
                       overwrite=True)
    assert rows[1]["status"] == "ok" and Poses.load_json(out / "visit" / "poses.json").n_frames == 4


def test_batch_done_marker_records_options(tmp_path):
    vids = tmp_path / "v"
    vids.mkdir()
    tc.make_clip(vids / "a.mp4", n_frames=4, seed=0, size=(64, 64))
    out = tmp_path / "out"
    B.run_batch(vids, out, B.BatchOptions(model=MARKERS, plot=False), workers=0)
    rows = B.run_batch(vids, out, B.BatchOptions(model=MARKERS, plot=False, deidentify="mosaic",
                                                 overlay=True), workers=0)
    assert rows[0]["status"] == "ok"  # redone, not "already done"
    assert (out / "a" / "deidentified.mp4").is_file() and (out / "a" / "overlay.mp4").is_file()
    rec = json.loads((out / "a" / B.DONE_MARKER).read_text())
    assert rec["options"]["deidentify"] == "mosaic"


def test_overlay_and_deidentify_refuse_to_replace_the_source(clip, capsys):
    before = clip.read_bytes()
    code, _, err = run(["overlay", clip, clip.with_suffix(".json"), "--out", clip, "-q"], capsys)
    assert code == 2 and "overwrite an input" in err
    code, _, err = run(["overlay", clip, clip.with_suffix(".json"), "--out", clip, "-q",
                        "--overwrite"], capsys)
    assert code == 2 and "overwrite an input" in err
    code, _, err = run(["deidentify", clip, "--out", clip, "-q", "--model", "none"], capsys)
    assert code == 2 and "overwrite an input" in err
    code, _, err = run(["filter", clip.with_suffix(".json"), "--out", clip.with_suffix(".json"),
                        "--method", "savgol"], capsys)
    assert code == 2 and "overwrite an input" in err
    assert clip.read_bytes() == before


def test_overlay_replaces_its_own_output_but_not_a_users_file(clip, tmp_path, capsys):
    out = tmp_path / "ov.mp4"
    args = ["overlay", clip, clip.with_suffix(".json"), "--out", out, "-q"]
    assert run(args, capsys)[0] == 0
    assert run(args, capsys)[0] == 0  # its own output: replaced on a rerun
    user = tmp_path / "user.mp4"
    user.write_bytes(b"my video")
    code, _, err = run(args[:-3] + ["--out", user, "-q"], capsys)
    assert code == 2 and "not written by infantpose" in err and user.read_bytes() == b"my video"


def test_convert_in_place_is_refused(tmp_path, capsys):
    from helpers_labels import make_dataset

    from infantpose.io.coco import write_coco

    coco = tmp_path / "labels.json"
    write_coco(make_dataset(tmp_path, schema="infant22"), coco)
    lm = tmp_path / "lm"
    assert run(["convert", coco, lm, "--to", "labelme"], capsys)[0] == 0
    before = {p.name: p.read_bytes() for p in lm.glob("*.json")}
    code, _, err = run(["convert", lm, lm, "--to", "labelme", "--schema", "coco17"], capsys)
    assert code == 2 and "input folder" in err
    code, _, err = run(["convert", coco, coco, "--to", "coco", "--schema", "coco17"], capsys)
    assert code == 2 and "overwrite an input" in err
    one = sorted(p for p in lm.glob("*.json") if not p.name.startswith("."))[0]
    code, _, err = run(["convert", one, lm, "--to", "labelme", "--overwrite"], capsys)
    assert code == 2 and "overwrite an input" in err
    assert {p.name: p.read_bytes() for p in lm.glob("*.json")} == before


def test_predict_never_replaces_ground_truth_beside_the_video(tmp_path, capsys):
    pin = tmp_path / "pin"
    pin.mkdir()
    tc.make_clip(pin / "clip_001.mp4", n_frames=3, seed=0, size=(64, 64))
    (pin / "clip_001.json").write_text('{"ground": "truth"}')
    code, _, err = run(["predict", pin, "--out", pin, "-q", "-m", MARKERS], capsys)
    assert code == 2 and "input folder" in err
    # a video's outputs go in a folder of its own (pin/clip_001/), beside the ground truth
    code, _, err = run(["predict", pin / "clip_001.mp4", "--out", pin, "-q", "-m", MARKERS],
                       capsys)
    assert code == 0, err
    assert (pin / "clip_001.json").read_text() == '{"ground": "truth"}'
    assert sorted(p.name for p in pin.iterdir()) == ["clip_001", "clip_001.json", "clip_001.mp4"]
    # and a file of the user's with an output's name there is never replaced
    (pin / "clip_001" / "keypoints.csv").write_text("my table")
    code, _, err = run(["predict", pin / "clip_001.mp4", "--out", pin, "-q", "-m", MARKERS],
                       capsys)
    assert code == 2 and "changed since" in err and "keypoints.csv" in err
    assert (pin / "clip_001" / "keypoints.csv").read_text() == "my table"
