"""Issue 23: every command under hostile input, a full disk, links planted inside ``--out``,
a second run into a busy folder and the leftovers of interrupted runs.

One row per (command, hostile input). Each row builds its inputs in a fresh folder, runs the
command in-process (``infantpose.cli.main``) and checks the promise of the README:

* exit code 2, and stderr is exactly one line, starting ``error:``, that names the file (or the
  option) the row expects, with no traceback;
* nothing new anywhere in the folder (no output, no temporary file, no ledger, no lock), and
  every file that was there has the same bytes (inputs unchanged: hashed before and after).

Rows marked ``FULL_DISK`` run with the disk reported full (:func:`infantpose._atomic.free_bytes`
returns 0), so every writer meets the one disk-full path; a real, tiny, full file system is
used by :func:`test_a_real_full_file_system` where the machine lets an unprivileged user make
one. Rows whose command takes more than a few seconds are marked slow. The other tests below
cover what a single run cannot show: a rerun after Ctrl-C / kill -9, and a lock held by a live
process.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import testclips as tc
from infantpose.cli import main
from test_bad_inputs import afile, clip, coco, image, poses_doc, write_json

MARKERS = "testclips:create_marker_estimator"
FULL_DISK = "full disk"
SLOW = "slow"


# --- input builders ------------------------------------------------------------------------------
def poses(d: Path, name: str = "poses.json", **over) -> Path:
    return write_json(d / name, poses_doc(**over))


def far_frames(d: Path) -> Path:
    """20 frames whose frame numbers reach ~1e9 (a grid over them would need 15 GB)."""
    doc = poses_doc(frames=20)
    doc["frame_indices"] = [int(i * 5e7) for i in range(20)]
    return write_json(d / "far.json", doc)


def features_csv(d: Path, bad: str | None = None, name: str = "feat.csv") -> Path:
    import pandas as pd

    rng = np.random.default_rng(0)
    n = 12
    df = pd.DataFrame({"video": [f"v{i}" for i in range(n)], "window": "all",
                       "f1": rng.normal(size=n), "f2": rng.normal(size=n), "qc_flag": "ok"})
    if bad == "text":
        df["f1"] = df["f1"].astype(object)
        df.loc[3, "f1"] = "abc"
    elif bad == "inf":
        df.loc[:, "f1"] = np.inf
    df.to_csv(d / name, index=False)
    return d / name


def labels_csv(d: Path) -> Path:
    (d / "labels.csv").write_text("video,label\n" + "".join(f"v{i},{i % 2}\n"
                                                            for i in range(12)))
    return d / "labels.csv"


def risk_model(d: Path) -> Path:
    """A trained risk model folder (built once per test: ~2 s)."""
    code = main(["risk", "train", str(features_csv(d, name="train.csv")), "--labels",
                 str(labels_csv(d)), "--out", str(d / "model"), "-q"])
    assert code == 0
    return d / "model"


def videos(d: Path) -> Path:
    v = d / "vids"
    v.mkdir(exist_ok=True)
    tc.make_clip(v / "clip.mp4", n_frames=4, size=(64, 64), seed=0)
    return v


def config(d: Path, text: str) -> Path:
    p = d / "train.yaml"
    p.write_text(text)
    return p


def synth_labels(d: Path) -> Path:
    assert main(["synth", "--n", "2", "--size", "96x96", "--out", str(d / "syn"), "-q"]) == 0
    return d / "syn" / "annotations.json"


def linked(d: Path, out: str, rel: str) -> Path:
    """``d/out`` holding ``rel`` as a symbolic link to a folder outside it."""
    (d / "elsewhere").mkdir(exist_ok=True)
    o = d / out
    (o / rel).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(d / "elsewhere", o / rel)
    return o


_HELD: list = []


def busy(d: Path, out: str = "o") -> Path:
    """An output folder whose lock a live run holds (this process, on another descriptor)."""
    o = d / out
    o.mkdir(exist_ok=True)
    f = open(o / ".infantpose-lock", "w")  # noqa: SIM115 - held until the row ends
    fcntl.flock(f.fileno(), fcntl.LOCK_EX)
    f.write('{"pid": 99999, "command": "predict"}')
    f.flush()
    _HELD.append(f)
    return o


def labelme_src(d: Path) -> Path:
    return coco(d)  # d/imgs/labels.json beside d/imgs/img.png


# --- the table -----------------------------------------------------------------------------------
# id -> (builder returning argv, text the error line must contain, flags)
Row = tuple[Callable[[Path], list], str, tuple[str, ...]]
CASES: dict[str, Row] = {
    # class 0: outputs beside their source
    "convert --to labelme into SRC's folder": (
        lambda d: ["convert", labelme_src(d), d / "imgs", "--to", "labelme"], "imgs", ()),
    # class 1: allocation checked first
    "features frame_indices reach 1e9": (
        lambda d: ["features", far_frames(d), "-o", d / "f.csv", "-q"], "far.json", ()),
    "convert --to dlc frame_indices reach 1e9": (
        lambda d: ["convert", far_frames(d), d / "o.csv", "--to", "dlc"], "o.csv", ()),
    # class 2: a full disk, every writer
    "filter, disk full": (lambda d: ["filter", poses(d), "-o", d / "f.json"], "f.json",
                          (FULL_DISK,)),
    "features, disk full": (lambda d: ["features", poses(d), "-o", d / "f.csv", "-q"],
                            "f.csv", (FULL_DISK,)),
    **{f"convert --to {fmt}, disk full": (
        lambda d, fmt=fmt, ext=ext: ["convert", poses(d), d / f"o{ext}", "--to", fmt],
        f"o{ext}", (FULL_DISK,))
       for fmt, ext in [("json", ".json"), ("csv", ".csv"), ("nwb", ".nwb"), ("slp", ".slp"),
                        ("movement", ".nc"), ("dlc", ".csv")]},
    "convert --to coco, disk full": (
        lambda d: ["convert", coco(d), d / "o.json", "--to", "coco"], "o.json", (FULL_DISK,)),
    "convert --to labelme, disk full": (
        lambda d: ["convert", coco(d), d / "lm", "--to", "labelme"], "lm", (FULL_DISK,)),
    "synth, disk full": (lambda d: ["synth", "--n", "2", "--size", "64x64", "--out", d / "s",
                                    "-q"], "s", (FULL_DISK,)),
    "synth --clip, disk full": (lambda d: ["synth", "--n", "1", "--clip", "0.2", "--size",
                                           "64x64", "--out", d / "s", "-q"], "clip_000",
                                (FULL_DISK,)),
    "examples, disk full": (lambda d: ["examples", "--out", d / "e", "-q"], "e",
                            (FULL_DISK, SLOW)),
    "predict image, disk full": (lambda d: ["predict", image(d), "--out", d / "o", "-m",
                                            MARKERS, "-q"], "o", (FULL_DISK,)),
    "predict video -f nwb, disk full": (
        lambda d: ["predict", clip(d), "--out", d / "o", "-m", MARKERS, "-q", "-f", "nwb"],
        "o", (FULL_DISK,)),
    "overlay, disk full": (lambda d: ["overlay", clip(d), poses(d, frame_size=(64, 64)),
                                      "--out", d / "o.mp4", "-q"], "o.mp4", (FULL_DISK,)),
    "deidentify, disk full": (lambda d: ["deidentify", clip(d), "--out", d / "o.mp4",
                                         "--no-detector", "-m", "none", "-q"], "o.mp4",
                              (FULL_DISK,)),
    "evaluate, disk full": (lambda d: ["evaluate", "--gt", coco(d), "--pred",
                                       write_json(d / "p.json", []), "--out", d / "r"], "r",
                            (FULL_DISK,)),
    "risk train, disk full": (lambda d: ["risk", "train", features_csv(d), "--labels",
                                         labels_csv(d), "--out", d / "r", "-q"], "r",
                              (FULL_DISK,)),
    "batch, disk full": (lambda d: ["batch", videos(d), "--out", d / "b", "--workers", "0",
                                    "-m", MARKERS, "-q"], "manifest.csv", (FULL_DISK,)),
    # class 3: links planted inside --out
    "predict through a linked out/<video>": (
        lambda d: ["predict", clip(d), "--out", linked(d, "o", "clip"), "-m", MARKERS, "-q"],
        "o/clip", ()),
    "predict through a linked out/overlay": (
        lambda d: ["predict", image(d), "--out", linked(d, "o", "overlay"), "-m", MARKERS,
                   "-q", "--overlay"], "o/overlay", ()),
    "synth through a linked out/images": (
        lambda d: ["synth", "--n", "1", "--out", linked(d, "s", "images"), "-q"], "s/images",
        ()),
    # class 4: checked before any work
    "adapt --max-steps -1": (lambda d: ["adapt", image(d), "--out", d / "a", "--max-steps",
                                        "-1", "-q"], "--max-steps", ()),
    "batch unreachable --scheduler": (
        lambda d: ["batch", videos(d), "--out", d / "b", "--scheduler", "tcp://127.0.0.1:9",
                   "-q"], "127.0.0.1:9", (SLOW,)),
    # class 5: no internal errors
    "synth --seed -1": (lambda d: ["synth", "--n", "1", "--seed", "-1", "--out", d / "s"],
                        "--seed", ()),
    "examples --seed -1": (lambda d: ["examples", "--out", d / "e", "--seed", "-1"], "--seed",
                           ()),
    "risk train --seed -1": (lambda d: ["risk", "train", features_csv(d), "--labels",
                                        labels_csv(d), "--out", d / "r", "--seed", "-1"],
                             "--seed", ()),
    "train data: [123]": (lambda d: ["train", config(d, "data: [123]\nout: o\n")],
                          "train.yaml: data[0]", ()),
    "train data: [[1, 2]]": (lambda d: ["train", config(d, "data: [[1, 2]]\nout: o\n")],
                             "train.yaml: data[0]", ()),
    "train --lr -1": (lambda d: ["train", "--data", synth_labels(d), "--out", d / "t",
                                 "--lr", "-1", "-q"], "--lr", ()),
    "features --fps 1e-300": (lambda d: ["features", poses(d), "-o", d / "f.csv", "--fps",
                                         "1e-300", "-q"], "--fps", ()),
    "features poses fps 1e-300": (lambda d: ["features", poses(d, fps=1e-300), "-o",
                                             d / "f.csv", "-q"], "poses.json: frame rate", ()),
    "filter poses fps 1e-300": (lambda d: ["filter", poses(d, fps=1e-300), "-o",
                                           d / "f.json"], "poses.json: frame rate", ()),
    "risk train text in a numeric column": (
        lambda d: ["risk", "train", features_csv(d, "text"), "--labels", labels_csv(d),
                   "--out", d / "r", "-q"], "feat.csv: column 'f1'", ()),
    "risk predict text in a numeric column": (
        lambda d: ["risk", "predict", risk_model(d), features_csv(d, "text"), "--out",
                   d / "s.csv"], "feat.csv: column 'f1'", ()),
    "predict --model os:getcwd": (lambda d: ["predict", image(d), "--out", d / "o", "-m",
                                             "os:getcwd", "-q"], "os:getcwd", ()),
    "deidentify --model os:sep": (lambda d: ["deidentify", clip(d), "--out", d / "o.mp4", "-m",
                                             "os:sep", "-q"], "os:sep", ()),
    # class 9: quieter wrongs
    "risk train inf in a features column": (
        lambda d: ["risk", "train", features_csv(d, "inf"), "--labels", labels_csv(d),
                   "--out", d / "r", "-q"], "feat.csv: column 'f1'", ()),
    "predict into a busy --out": (lambda d: ["predict", image(d), "--out", busy(d), "-m",
                                             MARKERS, "-q"], "another infantpose run", ()),
    "synth into a busy --out": (lambda d: ["synth", "--n", "1", "--out", busy(d), "-q"],
                                "another infantpose run", ()),
    "batch into a busy --out": (lambda d: ["batch", videos(d), "--out", busy(d), "--workers",
                                           "0", "-m", MARKERS, "-q"], "another infantpose run",
                                ()),
    "train into a busy --out": (lambda d: ["train", "--data", synth_labels(d), "--out",
                                           busy(d), "-q"], "another infantpose run", ()),
    # every other command, one hostile input each
    "schemas unknown": (lambda d: ["schemas", "nope"], "nope", ()),
    "models fetch unknown": (lambda d: ["models", "fetch", "nope"], "nope", ()),
    "label export no project": (lambda d: ["label", "export", d / "none", "--to", "coco",
                                           "--out", d / "o.json"], "none", ()),
    "label stats not a project": (lambda d: ["label", "stats", afile(d)], "afile", ()),
    "overlay poses of 1e9 frames": (lambda d: ["overlay", clip(d), far_frames(d), "--out",
                                               d / "o.mp4", "-q"], "far.json", ()),
    "filter --csv under a file": (lambda d: ["filter", poses(d), "-o", d / "f.json", "--csv",
                                             afile(d) / "t.csv"], "afile", ()),
    "evaluate gt is a folder": (lambda d: ["evaluate", "--gt", d, "--pred",
                                           write_json(d / "p.json", []), "--out", d / "r"],
                                str, ()),
}


def snapshot(d: Path) -> dict[str, str]:
    """Every path under ``d`` with a hash of its bytes (folders and links marked)."""
    out = {}
    for p in sorted(d.rglob("*")):
        rel = str(p.relative_to(d))
        if p.is_symlink():
            out[rel] = "link:" + os.readlink(p)
        elif p.is_dir():
            out[rel] = "dir"
        else:
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def _params():
    for case, (_, _, flags) in CASES.items():
        marks = [pytest.mark.slow] if SLOW in flags else []
        yield pytest.param(case, id=case, marks=marks)


@pytest.fixture
def disk_full(monkeypatch):
    from infantpose import _atomic

    def set_full(on: bool) -> None:
        if on:
            monkeypatch.setattr(_atomic, "free_bytes", lambda path: 0)
    return set_full


@pytest.mark.parametrize("case", list(_params()))
def test_hostile_input_gives_one_error_line(case, tmp_path, capsys, disk_full):
    build, expected, flags = CASES[case]
    work = tmp_path / "w"
    work.mkdir()
    argv = [str(a) for a in build(work)]
    if expected is str:  # the row's error names its folder
        expected = str(work)
    disk_full(FULL_DISK in flags)
    before = snapshot(work)
    capsys.readouterr()
    try:
        code = main(argv)
    finally:
        while _HELD:
            _HELD.pop().close()
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert code == 2, (case, code, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected in lines[0], lines[0]
    if FULL_DISK in flags:
        assert "no space left on device" in lines[0], lines[0]
    assert "Traceback" not in err + out
    assert snapshot(work) == before, "output left behind or an input changed"


# --- what one run cannot show ---------------------------------------------------------------------
def test_synth_interrupted_then_rerun(tmp_path, monkeypatch, capsys):
    """Ctrl-C during synth leaves only images the ledger records: the rerun replaces them."""
    import infantpose.io.images as images

    real = images.write_image
    calls = {"n": 0}

    def interrupt_on_third(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(images, "write_image", interrupt_on_third)
    argv = ["synth", "--n", "6", "--size", "64x64", "--out", str(tmp_path / "s"), "-q"]
    assert main(argv) == 130
    left = sorted(p.name for p in (tmp_path / "s" / "images").glob("*.jpg"))
    assert left == ["synth_000000.jpg", "synth_000001.jpg"]
    monkeypatch.setattr(images, "write_image", real)
    capsys.readouterr()
    assert main(argv) == 0, capsys.readouterr().err
    assert len(list((tmp_path / "s" / "images").glob("*.jpg"))) == 6
    assert not (tmp_path / "s" / ".infantpose-lock").exists()


def test_predict_removes_a_killed_runs_staging(tmp_path, capsys):
    out = tmp_path / "o"
    (out / ".predict-staging-k9").mkdir(parents=True)
    (out / ".predict-staging-k9" / "poses.json").write_text("{}")
    (out / ".predict-staging-link").symlink_to(tmp_path)
    assert main(["predict", str(image(tmp_path)), "--out", str(out), "-m", MARKERS, "-q"]) == 0
    assert sorted(p.name for p in out.iterdir() if p.name.startswith(".predict")) == \
        [".predict-staging-link"]  # a link of that name is not followed, not removed
    assert not (out / ".infantpose-lock").exists()


def test_a_stale_lock_of_a_dead_run_is_taken_over(tmp_path, capsys):
    out = tmp_path / "o"
    out.mkdir()
    (out / ".infantpose-lock").write_text('{"pid": 99999999, "command": "predict"}')
    assert main(["predict", str(image(tmp_path)), "--out", str(out), "-m", MARKERS, "-q"]) == 0
    assert not (out / ".infantpose-lock").exists()


def test_named_outputs_leave_no_ledger_beside_them(tmp_path, capsys):
    """filter/convert/features write the named file only; a rerun still replaces its own."""
    src = tmp_path / "in"
    src.mkdir()
    p = poses(src)
    runs = [["filter", p, "-o", tmp_path / "f.json"],
            ["convert", p, tmp_path / "c.csv", "--to", "csv"],
            ["features", p, "-o", tmp_path / "feat.csv", "-q"]]
    for _ in range(2):
        for argv in runs:
            assert main([str(a) for a in argv]) == 0, capsys.readouterr().err
    assert sorted(q.name for q in tmp_path.iterdir()) == ["c.csv", "f.json", "feat.csv", "in"]


def test_batch_leaves_no_folder_for_a_failed_video(tmp_path, capsys):
    vids = videos(tmp_path)
    (vids / "bad.mp4").write_bytes(b"\0" * 100)
    code = main(["batch", str(vids), "--out", str(tmp_path / "b"), "--workers", "0", "-m",
                 MARKERS, "--no-plot", "-q"])
    assert code == 1  # one video failed
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == [
        ".infantpose-outputs.json", "clip", "manifest.csv"]


def test_a_non_utf8_image_name_is_escaped_in_predictions(tmp_path, capsys):
    from PIL import Image

    d = tmp_path / "imgs"
    d.mkdir()
    frame = tc.render_frame(tc.clip_trajectories("coco17", 1, (96, 96))[0], "coco17", (96, 96))
    Image.fromarray(frame).save(d / os.fsdecode(b"a\xff.png"))
    assert main(["predict", str(d), "--out", str(tmp_path / "o"), "-m", MARKERS, "-q"]) == 0
    text = (tmp_path / "o" / "predictions.json").read_text(encoding="utf-8")
    names = {e["file_name"] for e in json.loads(text)}
    assert names == {"a\\xff.png"}


def test_a_video_whose_frame_size_changes_is_deidentified(tmp_path, capsys):
    import av

    def encode(path: Path, w: int, h: int) -> bytes:
        c = av.open(str(path), "w", format="h264")
        s = c.add_stream("libx264", rate=15)
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        for i in range(3):
            f = av.VideoFrame.from_ndarray(np.full((h, w, 3), 40 * i, np.uint8), format="rgb24")
            for pkt in s.encode(f):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
        c.close()
        return path.read_bytes()

    v = tmp_path / "sizes.h264"
    v.write_bytes(encode(tmp_path / "a.h264", 64, 64) + encode(tmp_path / "b.h264", 96, 48))
    code = main(["deidentify", str(v), "--out", str(tmp_path / "d.mp4"), "--no-detector",
                 "-m", "none", "-q"])
    assert code == 0, capsys.readouterr().err
    from infantpose.io.video import probe_video

    assert probe_video(tmp_path / "d.mp4").frame_size == (64, 64)


@pytest.mark.slow
def test_train_resume_removes_a_killed_runs_temp_file(tmp_path, capsys):
    data = synth_labels(tmp_path)
    out = tmp_path / "t"
    out.mkdir()
    (out / ".last.abcd1234.tmp.pt").write_bytes(b"\0" * 1000)  # what kill -9 leaves
    assert main(["train", "--data", str(data), "--out", str(out), "--max-steps", "1",
                 "--batch-size", "2", "-q"]) == 0, capsys.readouterr().err
    assert not (out / ".last.abcd1234.tmp.pt").exists()
    # a truncated own last.pt is called changed/damaged, not foreign
    last = out / "last.pt"
    last.write_bytes(last.read_bytes()[:100])
    capsys.readouterr()
    assert main(["train", "--data", str(data), "--out", str(out), "--max-steps", "1",
                 "-q"]) == 2
    err = capsys.readouterr().err
    assert "changed since" in err and "not written by infantpose" not in err


def _can_mount_tmpfs() -> bool:
    if not shutil.which("unshare") or sys.platform != "linux":
        return False
    r = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=64k none /mnt"],
                       capture_output=True)
    return r.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _can_mount_tmpfs(), reason="cannot mount a tmpfs in a user namespace")
@pytest.mark.parametrize("fmt,ext,size_kb", [("nwb", ".nwb", 2000), ("json", ".json", 2000),
                                             ("slp", ".slp", 2000), ("csv", ".csv", 16)])
def test_a_real_full_file_system(tmp_path, fmt, ext, size_kb):
    """A real tmpfs too small for the output: one line naming it, exit 2, nothing left."""
    from infantpose.poses import Poses

    n = 20000
    rng = np.random.default_rng(0)
    data = np.concatenate([rng.uniform(10, 50, (n, 1, 17, 2)), np.ones((n, 1, 17, 1))], -1)
    Poses(data, "coco17", fps=15.0, frame_size=(64, 64)).save_json(tmp_path / "big.json")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = (f"mount -t tmpfs -o size={size_kb}k none {mnt} && "
              f"{sys.executable} -m infantpose convert {tmp_path / 'big.json'} "
              f"{mnt / ('o' + ext)} --to {fmt}; echo \"code=$?\"; ls -A {mnt}")
    r = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True,
                       timeout=300)
    lines = r.stderr.strip().splitlines()
    assert "code=2" in r.stdout, (r.stdout, r.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and f"o{ext}" in lines[0] \
        and "no space left on device" in lines[0], r.stderr
    assert r.stdout.strip().splitlines()[-1] == "code=2", r.stdout  # ls printed nothing


def test_lock_without_flock_trusts_a_live_pid_only(tmp_path, monkeypatch):
    """Where flock is unavailable (some network file systems) the pid in the lock decides."""
    from infantpose.errors import InputError
    from infantpose.outputs import LOCK, lock_folder

    def no_flock(*a, **k):
        raise OSError("flock not supported")

    monkeypatch.setattr(fcntl, "flock", no_flock)
    (tmp_path / LOCK).write_text(json.dumps({"pid": os.getppid(), "command": "batch"}))
    with pytest.raises(InputError, match="another infantpose run"):
        with lock_folder(tmp_path, "predict"):
            pass
    assert (tmp_path / LOCK).exists()  # the live holder's lock is left alone
    (tmp_path / LOCK).write_text(json.dumps({"pid": 99999999, "command": "batch"}))
    with lock_folder(tmp_path, "predict"):
        assert json.loads((tmp_path / LOCK).read_text())["pid"] == os.getpid()
    assert not (tmp_path / LOCK).exists()
