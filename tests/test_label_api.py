"""``infantpose label``: project building, queues, the store and its HTTP API (FastAPI's test
client), exports read back by the existing readers, statistics, and every bad input.

A fake estimator stands in for the model (fast, deterministic): its keypoints depend on the
image's brightness and its scores equal it, so darker frames are "less certain".
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import pytest

from infantpose.cli import main
from infantpose.label.build import BuildOptions, build_project
from infantpose.label.store import Store
from infantpose.poses import Poses
from infantpose.schemas import get_schema

W, H = 96, 72
# starlette's test client asks for httpx2; httpx (declared) works the same.
pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")


class FakeEstimator:
    """Keypoints on a body-like layout shifted by brightness; score = brightness; no vertex."""

    name = "fake"

    def __init__(self, schema: str = "infant22"):
        self.schema = get_schema(schema)
        self.calls = 0

    def predict(self, rgb: np.ndarray, boxes=None) -> Poses:
        self.calls += 1
        h, w = rgb.shape[:2]
        k = self.schema.num_keypoints
        b = float(rgb.mean()) / 255.0
        d = np.zeros((1, 1, k, 3))
        d[0, 0, :, 0] = (0.25 + 0.5 * np.arange(k) / (k - 1) + 0.1 * b) * w
        d[0, 0, :, 1] = (0.5 + 0.3 * np.sin(np.arange(k))) * h
        d[0, 0, :, 2] = np.clip(b + 0.05 * (np.arange(k) % 3), 0, 1)
        d[0, 0, 0] = (np.nan, np.nan, 0.0)  # the model does not place keypoint 0
        return Poses(d, self.schema)


def write_images(folder: Path, levels: list[int], noise: int = 8, seed: int = 0) -> list[Path]:
    """One image per brightness level (plus noise)."""
    from infantpose.io.images import write_image

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, lv in enumerate(levels):
        img = np.clip(lv + rng.integers(-noise, noise + 1, (H, W, 3)), 0, 255).astype(np.uint8)
        p = folder / f"img_{i:02d}.png"
        write_image(p, img)
        paths.append(p)
    return paths


def make_project(tmp: Path, n_images: int = 6, n: int = 4, queue: str = "uniform",
                 blur: bool = False, levels: list[int] | None = None, **kw) -> Store:
    levels = levels or [40 + 30 * i for i in range(n_images)]
    write_images(tmp / "src", levels)
    opts = BuildOptions(n=n, queue=queue, blur=blur, **kw)
    return build_project([tmp / "src"], tmp / "proj", opts, estimator=FakeEstimator(),
                         show_progress=False)


@pytest.fixture()
def project(tmp_path) -> Store:
    return make_project(tmp_path)


@pytest.fixture()
def client(project):
    from fastapi.testclient import TestClient

    from infantpose.label.app import create_app

    return TestClient(create_app(project.dir))


# --- building ------------------------------------------------------------------------------------
def test_build_stores_frames_reasons_and_proposals(project):
    frames = project.frames()
    assert len(frames) == 4
    assert all(f["queue"] == "uniform" and f["reason"].startswith("uniform") for f in frames)
    assert [f["position"] for f in frames] == [0, 1, 2, 3]
    f = project.frame(frames[0]["id"])
    assert (f["width"], f["height"]) == (W, H)
    pts = f["points"]
    assert len(pts) == 22
    assert pts[0]["v"] == 0 and pts[0]["x"] is None  # not placed by the model: absent
    assert all(p["status"] == "proposed" for p in pts)
    assert all(p["v"] == 2 and p["score"] is not None for p in pts[1:])
    assert (project.dir / f["display"]).is_file()
    assert not list(project.dir.glob(".label-build-*"))  # staging folder gone


def test_uncertain_queue_picks_the_least_certain_frames_first(tmp_path):
    levels = [200, 40, 160, 80, 120, 20]
    store = make_project(tmp_path, queue="uncertain", n=3, levels=levels)
    names = [Path(f["image"]).name for f in store.frames()]
    assert names == ["img_05.png", "img_01.png", "img_03.png"]  # darkest = lowest score first
    assert "rank 1 of 6" in store.frames()[0]["reason"]


def test_kmeans_queue_picks_one_frame_per_look(tmp_path):
    levels = [30, 32, 34, 200, 202, 204]
    store = make_project(tmp_path, queue="kmeans", n=2, levels=levels)
    picked = sorted(int(Path(f["image"]).stem[-2:]) for f in store.frames())
    assert len(picked) == 2 and picked[0] < 3 <= picked[1]
    assert all("cluster" in f["reason"] for f in store.frames())


def test_tta_uncertainty_and_flip_back():
    from infantpose.label.queues import flip_back, tta_uncertainty

    schema = get_schema("coco17")
    k = schema.num_keypoints
    pred = np.zeros((k, 3))
    pred[:, 0] = np.linspace(10, 50, k)
    pred[:, 1] = np.linspace(5, 60, k)
    mirrored = pred[schema.flip_index].copy()
    mirrored[:, 0] = 100 - mirrored[:, 0]
    assert np.allclose(flip_back(mirrored, 100, schema.flip_index), pred)
    shaky = pred.copy()
    shaky[:, 0] += 20
    u = tta_uncertainty(np.stack([pred, pred]), np.stack([pred, shaky]))
    assert u[0] == pytest.approx(0.0) and u[1] > 0.2


def _write_video(path: Path, levels: list[int]) -> None:
    from infantpose.io.video import write_video

    write_video(path, [np.full((H, W, 3), lv, np.uint8) for lv in levels], fps=10)


def test_video_frames_and_jump_queue(tmp_path):
    levels = [60] * 12 + [220] * 12  # the fake's keypoints jump where brightness does
    _write_video(tmp_path / "clip.mp4", levels)
    store = build_project([tmp_path / "clip.mp4"], tmp_path / "proj",
                          BuildOptions(queue="jump", n=2, blur=False), estimator=FakeEstimator(),
                          show_progress=False)
    first = store.frames()[0]
    assert first["frame_index"] == 12 and "moved" in first["reason"]
    assert first["image"].startswith("frames/clip_f000012") and first["time"] == pytest.approx(1.2)
    assert (store.dir / first["image"]).is_file()


class HeadTopLeft(FakeEstimator):
    """Face keypoints close together near the top-left corner, the body to the right."""

    def predict(self, rgb, boxes=None):
        poses = super().predict(rgb, boxes)
        d = poses.data
        d[0, 0, 1:6, 0] = [30, 40, 35, 35, 35]
        d[0, 0, 1:6, 1] = [25, 25, 30, 35, 38]
        d[0, 0, 6:, 0] = np.linspace(120, 190, d.shape[2] - 6)
        d[0, 0, 6:, 1] = np.linspace(60, 140, d.shape[2] - 6)
        d[0, 0, :, 2] = 0.9
        d[0, 0, 0] = (np.nan, np.nan, 0.0)
        return poses


def test_face_is_blurred_in_displayed_frame_only(tmp_path):
    import cv2

    from infantpose.io.images import read_image, write_image

    rng = np.random.default_rng(1)
    src = tmp_path / "noise.png"
    blocks = rng.integers(0, 256, (30, 40, 1), dtype=np.uint8)  # grey squares: JPEG keeps them
    write_image(src, np.kron(blocks, np.ones((5, 5, 3), np.uint8)))
    store = build_project([src], tmp_path / "proj", BuildOptions(n=1, blur=True),
                          estimator=HeadTopLeft(), show_progress=False)
    f = store.frame(store.frame_ids()[0])
    assert f["face_found"]
    original = read_image(f["image"]).astype(float)
    shown = cv2.cvtColor(cv2.imread(str(store.dir / f["display"])), cv2.COLOR_BGR2RGB)
    diff = np.abs(shown.astype(float) - original).mean(axis=-1)
    # nothing confirms which body end is the head (no face detector hit in noise), so the far
    # end (bottom right) is hidden too (issue 11); the rest of the frame is as it was
    face, rest = diff[25:38, 30:40].mean(), diff[105:, :120].mean()
    assert face > 40 and rest < face / 4  # face blurred away; the rest as it was (up to JPEG)
    assert read_image(src).shape == (150, 200, 3)  # the source image itself is untouched


# --- the store: edits, history, tabs --------------------------------------------------------------
def test_edits_history_and_two_tabs(project):
    fid = project.frame_ids()[0]
    a = project.edit_point(fid, 3, x=10, y=12, base_version=0, client="A")
    b = project.edit_point(fid, 5, v=1, base_version=0, client="B")  # another point: no conflict
    assert not a["conflict"] and not b["conflict"]
    f = project.frame(fid)
    assert (f["points"][3]["x"], f["points"][3]["y"]) == (10, 12)
    assert f["points"][5]["v"] == 1 and f["points"][3]["status"] == "corrected"
    c = project.edit_point(fid, 3, x=30, y=31, base_version=0, client="B")  # stale version
    assert c["conflict"] and c["point"]["x"] == 30  # last write wins for this point ...
    f = project.undo(fid)
    assert f["points"][3]["x"] == 10  # ... and the overwritten edit is still in the history
    f = project.undo(fid)
    assert f["points"][5]["v"] == 2
    f = project.undo(fid)
    assert f["points"][3]["x"] == pytest.approx(f["points"][3]["px"])
    assert f["points"][3]["status"] == "proposed" and not f["can_undo"] and f["can_redo"]
    f = project.redo(fid)
    assert f["points"][3]["x"] == 10
    project.edit_point(fid, 7, v=0)  # a new edit drops the redo branch
    assert not project.frame(fid)["can_redo"]


def test_absent_point_needs_a_position(project):
    fid = project.frame_ids()[0]
    with pytest.raises(ValueError):
        project.edit_point(fid, 0, v=2)  # keypoint 0 was never placed
    out = project.edit_point(fid, 0, x=5, y=6)  # placing it makes it visible
    assert out["point"]["v"] == 2 and out["point"]["status"] == "corrected"


# --- the HTTP API ---------------------------------------------------------------------------------
def test_api_project_frame_image(client, project):
    r = client.get("/api/project")
    assert r.status_code == 200
    d = r.json()
    assert d["schema"]["name"] == "infant22" and len(d["schema"]["keypoints"]) == 22
    assert len(d["frames"]) == 4 and d["cursor"] is None
    fid = d["frames"][0]["id"]
    img = client.get(f"/api/frames/{fid}/image")
    assert img.status_code == 200 and img.headers["content-type"] == "image/jpeg"
    assert client.get(f"/api/frames/{fid}/image?raw=1").status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "label.js" in page.text
    assert client.get("/static/label.js").status_code == 200
    assert client.get("/api/frames/9999").status_code == 404


def test_api_edit_undo_redo_accept_cursor(client, project):
    fid = project.frame_ids()[1]
    r = client.put(f"/api/frames/{fid}/points/4", json={"x": 20.5, "y": 30.25,
                                                         "base_version": 0})
    assert r.status_code == 200 and r.json()["point"]["status"] == "corrected"
    assert project.frame(fid)["points"][4]["x"] == 20.5  # saved at once
    for v in (1, 0):
        assert client.put(f"/api/frames/{fid}/points/4", json={"v": v}).status_code == 200
    f = client.post(f"/api/frames/{fid}/undo").json()
    assert f["points"][4]["v"] == 1
    f = client.post(f"/api/frames/{fid}/redo").json()
    assert f["points"][4]["v"] == 0
    assert client.get(f"/api/frames/{fid}/rev").json()["rev"] == 5
    f = client.post(f"/api/frames/{fid}/accept", json={"seconds": 7.5}).json()
    assert f["reviewed"] and f["seconds"] == 7.5
    assert {p["status"] for p in f["points"]} == {"accepted", "corrected"}
    assert client.put("/api/cursor", json={"frame_id": fid}).status_code == 200
    assert client.get("/api/project").json()["cursor"] == fid
    assert client.post(f"/api/frames/{fid}/time", json={"seconds": 2}).status_code == 200
    assert project.frame(fid)["seconds"] == 9.5


def test_api_rejects_bad_edits_and_foreign_hosts(client, project):
    fid = project.frame_ids()[0]
    url = f"/api/frames/{fid}/points/2"
    assert client.put(url, json={"x": W + 50, "y": 3}).status_code == 422  # outside the image
    assert client.put(url, json={"x": 3}).status_code == 422  # x without y
    assert client.put(url, json={}).status_code == 422
    assert client.put(url, json={"v": 3}).status_code == 422
    assert client.put(f"/api/frames/{fid}/points/99", json={"v": 1}).status_code == 404
    assert client.put(f"/api/frames/{fid}/points/0", json={"v": 2}).status_code == 409
    evil = client.get("/api/project", headers={"host": "evil.example"})
    assert evil.status_code == 400


def test_api_on_a_lan_address_answers_any_host_name(project):
    from fastapi.testclient import TestClient

    from infantpose.label.app import create_app

    lan = TestClient(create_app(project.dir, host="0.0.0.0"))
    assert lan.get("/api/project", headers={"host": "labpc.local:8765"}).status_code == 200


# --- export, read back, statistics ---------------------------------------------------------------
def _label_two_frames(store: Store) -> list[int]:
    ids = store.frame_ids()
    store.edit_point(ids[0], 3, x=11.5, y=22.25)
    store.edit_point(ids[0], 4, v=1)
    store.edit_point(ids[0], 0, x=40, y=9)
    store.accept(ids[0], 10)
    store.accept(ids[1], 20)
    return ids


def test_export_coco_and_labelme_read_back(project, tmp_path):
    from infantpose.io.coco import read_coco
    from infantpose.io.labelme import read_labelme
    from infantpose.io.labels import read_labels

    ids = _label_two_frames(project)
    out = tmp_path / "elsewhere" / "labels.json"
    assert main(["label", "export", str(project.dir), "--to", "coco", "--out", str(out),
                 "--only-reviewed"]) == 0
    ds = read_coco(out)  # checks that the images exist from the JSON's folder
    assert len(ds) == 2 and ds.schema.name == "infant22"
    f0 = project.frame(ids[0])
    assert ds.poses.data[0, 0, 3, :2].tolist() == [11.5, 22.25]
    assert ds.visibility[0, 0, 4] == 1 and ds.visibility[0, 0, 0] == 2
    assert ds.poses.data[0, 0, 0, :2].tolist() == [40, 9]
    assert ds.poses.frame_size == (W, H) and f0["width"] == W
    assert ds.meta["image_fields"][0]["label_queue"] == "uniform"
    box = ds.boxes[0, 0]
    assert box[0] >= 0 and box[2] > 0
    assert main(["label", "export", str(project.dir), "--to", "coco", "--out",
                 str(tmp_path / "all.json")]) == 0
    assert len(read_coco(tmp_path / "all.json")) == 4
    assert main(["label", "export", str(project.dir), "--to", "labelme", "--out",
                 str(tmp_path / "lm"), "--only-reviewed"]) == 0
    lm = read_labelme(tmp_path / "lm")
    assert len(lm) == 2 and np.array_equal(lm.visibility, ds.visibility)
    assert np.allclose(lm.poses.data[..., :2], ds.poses.data[..., :2], atol=1e-3, equal_nan=True)
    labels = read_labels(project.dir)  # the project itself, as train/evaluate read it
    assert len(labels) == 2 and np.array_equal(labels.visibility, ds.visibility)
    conv = read_labels(project.dir, schema="coco17")
    assert conv.schema.name == "coco17"


def test_project_to_coco_default_path(project):
    from infantpose.io.coco import read_coco
    from infantpose.label.export import project_to_coco

    _label_two_frames(project)
    path = project_to_coco(project.dir)
    assert path == project.dir / "export" / "labels.json" and len(read_coco(path)) == 2


def test_stats(project, capsys):
    from infantpose.label.stats import project_stats

    _label_two_frames(project)
    s = project_stats(project.dir)
    assert (s.frames, s.reviewed) == (4, 2)
    assert s.points == 2 * 21 + 1 and s.placed == 1 and s.moved == 1
    assert s.accepted_unchanged == 2 * 21 - 2 and s.visibility_changed == 1
    assert s.seconds_per_frame == 15
    assert main(["label", "stats", str(project.dir)]) == 0
    text = capsys.readouterr().out
    assert "frames reviewed              2 of 4" in text and "seconds per reviewed frame   15.0" in text


# --- bad inputs: one line, exit code 2, nothing half-made ------------------------------------------
def _err(capsys) -> str:
    """The last line on stderr (a progress bar may come before it)."""
    return capsys.readouterr().err.strip().replace("\r", "\n").splitlines()[-1].strip()


def test_missing_source(tmp_path, capsys):
    assert main(["label", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "p"),
                 "--no-serve"]) == 2
    err = _err(capsys)
    assert err.startswith("error: ") and "nope.mp4: no such file" in err and "\n" not in err
    assert not (tmp_path / "p" / "label.sqlite").exists()


def test_unreadable_image_and_video(tmp_path, capsys, monkeypatch):
    import infantpose.models as models

    monkeypatch.setattr(models, "create_estimator", lambda *a, **k: FakeEstimator())
    write_images(tmp_path / "src", [100, 120])
    (tmp_path / "src" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert main(["label", str(tmp_path / "src"), "--out", str(tmp_path / "p"), "--no-serve",
                 "--no-blur"]) == 2
    err = _err(capsys)
    assert err.startswith("error: ") and "broken.png" in err
    assert not (tmp_path / "p").exists()  # the folder the failed build made is gone too
    (tmp_path / "bad.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 definitely not a video")
    assert main(["label", str(tmp_path / "bad.mp4"), "--out", str(tmp_path / "q"),
                 "--no-serve"]) == 2
    assert "bad.mp4" in _err(capsys)


def test_bad_project_dirs(tmp_path, capsys):
    (tmp_path / "file.txt").write_text("x")
    write_images(tmp_path / "src", [100])
    assert main(["label", str(tmp_path / "src"), "--out", str(tmp_path / "file.txt"),
                 "--no-serve"]) == 2
    assert "file.txt: exists and is not a folder" in _err(capsys)
    (tmp_path / "mine" / "frames").mkdir(parents=True)  # a folder of the user's: never replaced
    (tmp_path / "mine" / "frames" / "keep.txt").write_text("mine")
    assert main(["label", str(tmp_path / "src"), "--out", str(tmp_path / "mine"),
                 "--no-serve"]) == 2
    assert "frames: already exists" in _err(capsys)
    assert (tmp_path / "mine" / "frames" / "keep.txt").read_text() == "mine"
    assert main(["label", "--out", str(tmp_path / "empty"), "--no-serve"]) == 2
    assert "empty: no such project" in _err(capsys)
    for cmd in (["label", "export", str(tmp_path)], ["label", "stats", str(tmp_path)]):
        assert main(cmd) == 2
        assert "not an infantpose label project" in _err(capsys)
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "label.sqlite").write_bytes(b"garbage" * 100)
    assert main(["label", "stats", str(tmp_path / "broken")]) == 2
    assert "label.sqlite: cannot read label database" in _err(capsys)


def test_bad_options_and_empty_export(project, tmp_path, capsys):
    src = tmp_path / "src"
    assert main(["label", str(src), "--out", str(tmp_path / "p2"), "--queue", "random",
                 "--no-serve"]) == 2
    assert "'--queue'" in _err(capsys)
    assert main(["label", str(src), "--out", str(tmp_path / "p3"), "--queue", "jump",
                 "--model", "none", "--no-serve"]) == 2
    assert "needs a model" in _err(capsys)
    assert main(["label", "export", str(project.dir), "--only-reviewed"]) == 2
    assert "no reviewed frames" in _err(capsys)
    assert main(["label", "export", str(project.dir), "--to", "coco", "--out",
                 str(tmp_path / "x.txt")]) == 2
    assert "writes a .json" in _err(capsys)


def test_port_in_use(project, capsys):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert main(["label", "--out", str(project.dir), "--port", str(port)]) == 2
    err = _err(capsys)
    assert err == f"error: 127.0.0.1:{port}: port already in use (another server is running " \
                  "there; choose another with --port)"


def test_reopen_existing_project_without_sources(project, capsys):
    assert main(["label", "--out", str(project.dir), "--no-serve"]) == 0


def test_cli_serves_the_page_until_interrupted(project):
    import os
    import signal
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "infantpose", "label", "--out",
                             str(project.dir), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/api/project", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.communicate()[1]
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert r.status_code == 200 and len(r.json()["frames"]) == 4
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in err


def test_accept_re_blurs_the_face_where_the_person_put_the_head(tmp_path):
    import cv2
    from fastapi.testclient import TestClient

    from infantpose.io.images import write_image
    from infantpose.label.app import create_app

    rng = np.random.default_rng(2)
    blocks = rng.integers(0, 256, (30, 40, 1), dtype=np.uint8)
    src = tmp_path / "noise.png"
    write_image(src, np.kron(blocks, np.ones((5, 5, 3), np.uint8)))
    store = build_project([src], tmp_path / "proj", BuildOptions(n=1, blur=True),
                          estimator=HeadTopLeft(), show_progress=False)
    fid = store.frame_ids()[0]
    before = store.frame(fid)
    client = TestClient(create_app(store.dir))
    for k, (x, y) in zip(range(1, 6), [(150, 110), (160, 110), (155, 115), (155, 120),
                                       (155, 123)]):  # the person moves the face points
        assert client.put(f"/api/frames/{fid}/points/{k}", json={"x": x, "y": y}).status_code \
            == 200
    after = client.post(f"/api/frames/{fid}/accept").json()
    assert after["display"] != before["display"] and after["face_found"]
    assert not (store.dir / before["display"]).exists()
    assert client.get("/api/project").json()["frames"][0]["display"] == after["display"]
    original = np.kron(blocks, np.ones((5, 5, 3), np.uint8)).astype(float)
    shown = cv2.cvtColor(cv2.imread(str(store.dir / after["display"])), cv2.COLOR_BGR2RGB)
    diff = np.abs(shown.astype(float) - original).mean(axis=-1)
    assert diff[110:123, 150:160].mean() > 40  # blurred where the person put the face
    r = client.get(f"/api/frames/{fid}/image?d=anything")
    assert r.status_code == 200 and r.content == (store.dir / after["display"]).read_bytes()


def test_real_model_on_a_video_with_every_queue_option(tmp_path, capsys):
    """The whole command with BlazePose (weights from the mediapipe wheel) on a short clip."""
    from infantpose.examples import write_hopper_video

    video = tmp_path / "clip.mp4"
    write_hopper_video(video, seconds=1.0, fps=8)
    out = tmp_path / "proj"
    assert main(["label", str(video), "--out", str(out), "--queue", "uncertain",
                 "--uncertainty", "tta", "-n", "3", "--schema", "coco17", "--no-serve"]) == 0
    assert "3 frames to label (queue uncertain)" in capsys.readouterr().err
    store = Store.open(out)
    frames = store.frames()
    assert [f["queue"] for f in frames] == ["uncertain"] * 3
    assert "mirror disagreement" in frames[0]["reason"]
    pts = store.frame(frames[0]["id"])["points"]
    assert sum(p["v"] == 2 for p in pts) >= 10  # BlazePose found the person
    assert store.meta()["model"] == "blazepose"


def test_add_frames_to_an_existing_project(tmp_path, capsys, monkeypatch):
    import infantpose.models as models

    monkeypatch.setattr(models, "create_estimator", lambda *a, **k: FakeEstimator())
    _write_video(tmp_path / "clip.mp4", [60 + 5 * i for i in range(24)])
    out = tmp_path / "proj"
    args = ["label", str(tmp_path / "clip.mp4"), "--out", str(out), "--no-serve", "--no-blur"]
    assert main(args + ["-n", "4"]) == 0
    store = Store.open(out)
    first = store.frames()
    store.edit_point(first[0]["id"], 3, x=5, y=5)
    assert main(args + ["-n", "5", "--queue", "uncertain"]) == 0
    assert "added 5 frames" in capsys.readouterr().err
    frames = store.frames()
    assert len(frames) == 9 and frames[:4] == store.frames()[:4]
    keys = [(f["source"], f["frame_index"]) for f in frames]
    assert len(set(keys)) == 9  # nothing chosen twice
    assert [f["queue"] for f in frames] == ["uniform"] * 4 + ["uncertain"] * 5
    assert all((out / f["image"]).is_file() and (out / f["display"]).is_file() for f in frames)
    assert len({f["display"] for f in frames}) == 9
    assert store.frame(first[0]["id"])["points"][3]["x"] == 5  # earlier work untouched
    assert not list(out.glob(".label-add-*"))
    assert main(args + ["-n", "50"]) == 0  # the remaining 15 frames
    assert len(store.frames()) == 24
    assert main(args + ["-n", "5"]) == 2
    assert "already in the project" in _err(capsys)
    assert main(args + ["--schema", "coco17"]) == 2
    assert "this project labels infant22, not coco17" in _err(capsys)


def test_label_from_scratch_without_a_model(tmp_path, capsys):
    write_images(tmp_path / "src", [90, 120, 150])
    out = tmp_path / "proj"
    assert main(["label", str(tmp_path / "src"), "--out", str(out), "--model", "none",
                 "--queue", "kmeans", "-n", "2", "--no-serve", "--no-blur"]) == 0
    store = Store.open(out)
    assert store.meta()["model"] is None
    f = store.frame(store.frame_ids()[0])
    assert all(p["v"] == 0 and p["x"] is None and p["score"] == 0 for p in f["points"])
    store.edit_point(f["id"], 2, x=10, y=20)
    store.accept(f["id"], 4)
    assert main(["label", "stats", str(out), "--json"]) == 0
    import json

    d = json.loads(capsys.readouterr().out)
    assert d["placed"] == 1 and d["points"] == 1 and d["mean_correction_px"] is None
    assert main(["label", "export", str(out)]) == 0  # default: PROJECT/export/labels.json
    from infantpose.io.coco import read_coco

    assert len(read_coco(out / "export" / "labels.json")) == 2


def test_weights_alone_select_the_checkpoints_model(tmp_path, capsys, monkeypatch):
    """``label --weights FILE`` runs the model the checkpoint holds (as predict/evaluate do)."""
    import torch

    import infantpose.models as models
    from infantpose.models.checkpoint import save_checkpoint
    from infantpose.models.pose_resnet import PoseResNet

    made = []

    def fake(name, **kw):
        made.append((name, kw.get("weights")))
        return FakeEstimator("coco17")

    monkeypatch.setattr(models, "create_estimator", fake)
    ckpt = save_checkpoint(tmp_path / "pr.pt",
                           PoseResNet(17, 18, (64, 64), deconv_channels=16), "coco17")
    torch.set_num_threads(1)
    write_images(tmp_path / "src", [90, 120])
    base = ["label", str(tmp_path / "src"), "-s", "coco17", "--no-serve", "--no-blur", "-q"]
    assert main([*base, "-o", str(tmp_path / "p1"), "-w", str(ckpt)]) == 0
    assert made == [("pose-resnet", str(ckpt))]
    assert Store.open(tmp_path / "p1").meta()["weights"] == str(ckpt)
    assert main([*base, "-o", str(tmp_path / "p2"), "-m", "blazepose-torch", "-w",
                 str(ckpt)]) == 2
    assert "--model pose-resnet runs" in _err(capsys)
    assert main([*base, "-o", str(tmp_path / "p3"), "-m", "none", "-w", str(ckpt)]) == 2
    assert "needs a model" in _err(capsys)
    assert main([*base, "-o", str(tmp_path / "p4"), "-w", str(tmp_path / "nope.pt")]) == 2
    assert "nope.pt: weights file not found" in _err(capsys)
    assert not any((tmp_path / p).exists() for p in ("p2", "p3", "p4"))


class UprightBody(FakeEstimator):
    """An upright skeleton: face points at the top, the body straight down to the feet."""

    def predict(self, rgb, boxes=None):
        poses = super().predict(rgb, boxes)
        d = poses.data
        d[0, 0, 1:6, 0] = [95, 105, 100, 100, 100]
        d[0, 0, 1:6, 1] = [35, 35, 40, 45, 48]
        d[0, 0, 6:, 0] = 100.0
        d[0, 0, 6:, 1] = np.linspace(70, 250, d.shape[2] - 6)
        d[0, 0, :, 2] = 0.9
        d[0, 0, 0] = (np.nan, np.nan, 0.0)
        return poses


def test_accept_after_the_person_placed_the_head_unblurs_the_far_end(tmp_path):
    """With no face found, the model's skeleton has both ends blurred (the head could be at
    either); once the person has placed the head points, only the head end stays blurred."""
    import cv2
    from fastapi.testclient import TestClient

    from infantpose.io.images import write_image
    from infantpose.label.app import create_app

    rng = np.random.default_rng(3)
    blocks = rng.integers(0, 256, (60, 40, 1), dtype=np.uint8)
    original = np.kron(blocks, np.ones((5, 5, 3), np.uint8))
    src = tmp_path / "noise.png"
    write_image(src, original)
    store = build_project([src], tmp_path / "proj", BuildOptions(n=1, blur=True),
                          estimator=UprightBody(), show_progress=False)
    fid = store.frame_ids()[0]

    def blurred(frame, rows):
        shown = cv2.cvtColor(cv2.imread(str(store.dir / frame["display"])), cv2.COLOR_BGR2RGB)
        return np.abs(shown.astype(float) - original).mean(axis=-1)[rows, 80:120].mean()

    feet, face = slice(262, 292), slice(30, 50)
    before = store.frame(fid)
    assert blurred(before, feet) > 30 and blurred(before, face) > 30  # both ends hidden
    client = TestClient(create_app(store.dir))
    assert client.put(f"/api/frames/{fid}/points/3", json={"x": 101, "y": 41}).status_code == 200
    after = client.post(f"/api/frames/{fid}/accept").json()
    assert blurred(after, face) > 30 and blurred(after, feet) < 10  # the head end only
