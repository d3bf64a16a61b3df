"""Batch: every video once, atomic outputs, crash-safe resume, failures recorded, Dask workers."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infantpose.errors import InputError
from infantpose.poses import Poses
from infantpose.video import batch as B
import testclips as tc

MARKERS = "testclips:create_marker_estimator"


def _videos(d: Path, n: int = 3, frames: int = 8, corrupt: bool = True) -> Path:
    d.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        tc.make_clip(d / f"infant{i}.mp4", n_frames=frames, seed=i, size=(128, 112))
    if corrupt:
        (d / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom" + os.urandom(3000))
    return d


@pytest.fixture(scope="module")
def vids(tmp_path_factory):
    return _videos(tmp_path_factory.mktemp("vids"))


def _opts(**kw):
    return B.BatchOptions(model=MARKERS, plot=False, **kw)


def test_batch_processes_each_video_and_records_the_corrupt_one(vids, tmp_path):
    out = tmp_path / "out"
    rows = B.run_batch(vids, out, _opts(filter="savgol", filter_options={"options": {"window": 5}}),
                       workers=0)
    by = {r["video"]: r for r in rows}
    assert by["broken.mp4"]["status"] == "failed" and "broken.mp4" in by["broken.mp4"]["error"]
    for i in range(3):
        r = by[f"infant{i}.mp4"]
        assert r["status"] == "ok" and r["frames"] == 8 and r["fps"] == 15.0
        assert r["dropped_frames"] == 0 and r["error"] == ""
        sub = out / f"infant{i}"
        assert (sub / B.DONE_MARKER).is_file()
        p = Poses.load_json(sub / "poses.json")
        assert p.n_frames == 8 and p.fps == 15.0
        assert Poses.load_json(sub / "poses_filtered.json").meta["filter"]["method"] == "savgol"
        jit = json.loads((sub / B.DONE_MARKER).read_text())["jitter"]
        assert jit["acc_after"] < jit["acc_before"]
        assert (sub / "keypoints.csv").is_file()
        assert not [f for f in sub.iterdir() if ".tmp" in f.name]
    man = B.read_manifest(out / "manifest.csv")
    assert [m["video"] for m in man] == ["broken.mp4", "infant0.mp4", "infant1.mp4", "infant2.mp4"]
    assert {m["status"] for m in man} == {"failed", "ok"}
    assert set(B.MANIFEST_COLUMNS) <= set(man[0])
    assert not (out / "broken" / B.DONE_MARKER).exists()

    # a second run with the same options redoes nothing complete and retries only the failure
    opts = _opts(filter="savgol", filter_options={"options": {"window": 5}})
    marks = {i: (out / f"infant{i}" / B.DONE_MARKER).stat().st_mtime_ns for i in range(3)}
    rows2 = B.run_batch(vids, out, opts, workers=0)
    assert [r["status"] for r in rows2] == ["failed", "skipped", "skipped", "skipped"]
    assert all(r["frames"] in (8, "8") for r in rows2[1:])
    assert marks == {i: (out / f"infant{i}" / B.DONE_MARKER).stat().st_mtime_ns for i in range(3)}
    # other options (no filter): the done-marker does not match, so every video is redone and
    # the old filtered output (infantpose's own) is removed
    rows3 = B.run_batch(vids, out, _opts(), workers=0)
    assert [r["status"] for r in rows3] == ["failed", "ok", "ok", "ok"]
    assert not (out / "infant0" / "poses_filtered.json").exists()


def test_preseeded_partial_state_is_redone(vids, tmp_path):
    out = tmp_path / "out"
    B.run_batch(vids, out, _opts(), workers=0)
    # infant0: killed after writing poses.json but before the marker (plus a stale temp file)
    (out / "infant0" / B.DONE_MARKER).unlink()
    (out / "infant0" / ".poses.abc12345.tmp.json").write_text("{half")
    # infant1: marker present but an output it lists is gone -> not complete
    (out / "infant1" / "keypoints.csv").unlink()
    before = (out / "infant2" / B.DONE_MARKER).stat().st_mtime_ns
    rows = {r["video"]: r["status"] for r in B.run_batch(vids, out, _opts(), workers=0)}
    assert rows == {"broken.mp4": "failed", "infant0.mp4": "ok", "infant1.mp4": "ok",
                    "infant2.mp4": "skipped"}
    assert Poses.load_json(out / "infant0" / "poses.json").n_frames == 8
    assert not (out / "infant0" / ".poses.abc12345.tmp.json").exists()
    assert (out / "infant1" / "keypoints.csv").is_file()
    assert (out / "infant2" / B.DONE_MARKER).stat().st_mtime_ns == before


def test_resume_after_a_killed_run(tmp_path):
    vids = _videos(tmp_path / "vids", n=4, frames=10, corrupt=False)
    out = tmp_path / "out"
    code = (
        "from infantpose.video.batch import BatchOptions, run_batch\n"
        f"run_batch({str(vids)!r}, {str(out)!r}, BatchOptions(model={MARKERS!r}, plot=False, "
        "model_options={'delay': 0.15}), workers=0)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not (out / "infant0" / B.DONE_MARKER).exists():
            time.sleep(0.05)
        assert (out / "infant0" / B.DONE_MARKER).exists(), "first video never finished"
        os.kill(proc.pid, signal.SIGKILL)  # crash mid-batch (second video in flight)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    finished = sorted(p.parent.name for p in out.glob(f"*/{B.DONE_MARKER}"))
    assert "infant0" in finished and len(finished) < 4
    mtimes = {n: (out / n / B.DONE_MARKER).stat().st_mtime_ns for n in finished}
    rows = B.run_batch(vids, out, _opts(model_options={"delay": 0.15}), workers=0)
    status = {r["output"]: r["status"] for r in rows}
    assert all(status[n] == "skipped" for n in finished)  # nothing complete is redone
    assert all(status[n] == "ok" for n in status if n not in finished)  # the rest finished
    assert mtimes == {n: (out / n / B.DONE_MARKER).stat().st_mtime_ns for n in finished}
    for n in status:
        assert Poses.load_json(out / n / "poses.json").n_frames == 10


def test_batch_on_a_local_cluster_with_two_workers(vids, tmp_path):
    out = tmp_path / "out"
    rows = B.run_batch(vids, out, _opts(), workers=2)
    assert [r["status"] for r in rows] == ["failed", "ok", "ok", "ok"]
    done = [json.loads((out / f"infant{i}" / B.DONE_MARKER).read_text()) for i in range(3)]
    assert all(d["tracking"]["frames"] == 8 for d in done)


def test_batch_bad_inputs(tmp_path):
    with pytest.raises(InputError, match="no such directory"):
        B.run_batch(tmp_path / "none", tmp_path / "o", _opts(), workers=0)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no video files"):
        B.run_batch(tmp_path / "empty", tmp_path / "o", _opts(), workers=0)
    rows = B.run_batch(_videos(tmp_path / "v", n=1, frames=4, corrupt=False), tmp_path / "o",
                       B.BatchOptions(model="no.such.module:factory", plot=False), workers=0)
    assert rows[0]["status"] == "failed" and "no.such.module" in rows[0]["error"]


def test_output_names_do_not_collide(tmp_path):
    names = B.output_dir_names([tmp_path / "a.mp4", tmp_path / "a.avi", tmp_path / "b.mp4"])
    assert sorted(names.values()) == ["a_avi", "a_mp4", "b"]


def test_batch_on_an_existing_cluster_via_scheduler_address(vids, tmp_path):
    import logging

    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None,
                      silence_logs=logging.CRITICAL) as cluster:
        rows = B.run_batch(vids, tmp_path / "out", _opts(), scheduler=cluster.scheduler_address)
    assert [r["status"] for r in rows] == ["failed", "ok", "ok", "ok"]


def test_a_failure_mid_video_leaves_no_partial_outputs(tmp_path, monkeypatch):
    vids = _videos(tmp_path / "v", n=1, frames=4, corrupt=False)

    def broken_plot(*a, **k):
        raise RuntimeError("disk full")

    import infantpose.video.plots as plots
    monkeypatch.setattr(plots, "plot_trajectories", broken_plot)
    rows = B.run_batch(vids, tmp_path / "o", B.BatchOptions(model=MARKERS), workers=0)
    assert rows[0]["status"] == "failed" and rows[0]["error"] == "RuntimeError: disk full"
    assert sorted(p.name for p in (tmp_path / "o" / "infant0").iterdir()
                  if not p.name.startswith(".")) == ["error.txt"]
