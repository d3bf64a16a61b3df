"""The labelling page in a real Chromium (Playwright), served by uvicorn on 127.0.0.1.

Drag a point and see it stored; V twice then Ctrl+Z; reload resumes; Enter marks the frame
reviewed; two tabs do not lose each other's edits; the export is read back by the COCO reader;
a screenshot shows the skeleton. Skipped when /usr/bin/chromium or playwright is missing
(``.ci/ensure_chromium.sh``, run by ``make test``, installs Chromium where it can).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from test_label_api import FakeEstimator, write_images  # tests/ is on sys.path (rootdir)

from infantpose.label.build import BuildOptions, build_project
from infantpose.label.store import Store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]

pytestmark = [
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} not installed (apt-get install chromium)"),
    pytest.mark.filterwarnings("ignore:Using `httpx`"),
]


from infantpose.label.server import serve_in_thread as serving  # noqa: E402


def wait_for(cond: Callable[[], object], timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    pw = sync_api.sync_playwright().start()
    profile = tmp_path_factory.mktemp("chromium-profile")
    ctx = pw.chromium.launch_persistent_context(
        str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        viewport={"width": 1100, "height": 700})
    yield ctx
    ctx.close()
    pw.stop()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture()
def project(tmp_path) -> Store:
    write_images(tmp_path / "src", [70, 100, 130, 160, 190])
    return build_project([tmp_path / "src"], tmp_path / "proj",
                         BuildOptions(n=5, blur=False), estimator=FakeEstimator(),
                         show_progress=False)


@pytest.fixture()
def page(browser, project):
    with serving(project.dir) as url:
        pg = browser.new_page()
        pg.goto(url)
        ready(pg)
        yield pg
        pg.close()


def ready(pg, frame_id: int | None = None) -> None:
    """Wait until the page shows a frame (``frame_id`` if given) with its image drawn."""
    if frame_id is None:
        pg.wait_for_selector("body[data-ready='1']", timeout=10000)
    else:
        pg.wait_for_selector(f"body[data-ready='1'][data-frame='{frame_id}']", timeout=10000)


def select_point(pg, k: int) -> None:
    pg.click(f"#points li[data-k='{k}']")
    assert pg.evaluate("labelApp.sel") == k


def drag(pg, k: int, dx: float, dy: float) -> None:
    at = pg.evaluate(f"labelApp.screenOf({k})")
    pg.mouse.move(at["x"], at["y"])
    pg.mouse.down()
    pg.mouse.move(at["x"] + dx / 2, at["y"] + dy / 2, steps=3)
    pg.mouse.move(at["x"] + dx, at["y"] + dy, steps=3)
    pg.mouse.up()


def saved(pg) -> None:
    pg.wait_for_function("labelApp.saving === 0")
    assert pg.inner_text("#save-state") == "saved"


def test_drag_point_is_stored_and_exported(page, project, tmp_path):
    from infantpose.cli import main
    from infantpose.io.coco import read_coco

    fid = project.frame_ids()[0]
    before = project.frame(fid)["points"][3]
    scale = page.evaluate("labelApp.view.s")
    drag(page, 3, 40, 25)
    saved(page)
    after = wait_for(lambda: (p := project.frame(fid)["points"][3])["version"] == 1 and p)
    assert after["x"] == pytest.approx(before["x"] + 40 / scale, abs=1.5 / scale)
    assert after["y"] == pytest.approx(before["y"] + 25 / scale, abs=1.5 / scale)
    assert after["status"] == "corrected"
    page.keyboard.press("Enter")
    wait_for(lambda: project.frame(fid)["reviewed"])
    out = tmp_path / "export" / "labels.json"
    assert main(["label", "export", str(project.dir), "--to", "coco", "--out", str(out),
                 "--only-reviewed"]) == 0
    ds = read_coco(out)
    assert len(ds) == 1
    assert ds.poses.data[0, 0, 3, :2] == pytest.approx([after["x"], after["y"]], abs=1e-3)


def test_zoom_pan_then_click_places_selected_point(page, project):
    fid = project.frame_ids()[0]
    s0 = page.evaluate("labelApp.view.s")
    at = page.evaluate("labelApp.screenOfImage(10, 60)")  # no keypoints left of x = 20
    page.mouse.move(at["x"], at["y"])
    page.mouse.wheel(0, -200)  # zoom in around the cursor
    page.wait_for_function(f"labelApp.view.s > {s0} * 1.2")
    after = page.evaluate("labelApp.screenOfImage(10, 60)")
    assert abs(after["x"] - at["x"]) < 2 and abs(after["y"] - at["y"]) < 2  # point stays put
    page.mouse.down()  # on empty space: a drag pans
    page.mouse.move(at["x"] + 60, at["y"] + 100, steps=4)
    page.mouse.up()
    moved = page.evaluate("labelApp.screenOfImage(10, 60)")
    assert (moved["x"], moved["y"]) == (pytest.approx(at["x"] + 60, abs=1),
                                        pytest.approx(at["y"] + 100, abs=1))
    assert project.frame(fid)["points"][0]["v"] == 0  # panning placed nothing
    select_point(page, 0)  # the model did not place keypoint 0
    at = page.evaluate("labelApp.screenOfImage(20, 15)")
    page.mouse.click(at["x"], at["y"])
    saved(page)
    p = wait_for(lambda: (q := project.frame(fid)["points"][0])["v"] == 2 and q)
    assert (p["x"], p["y"]) == (pytest.approx(20, abs=0.5), pytest.approx(15, abs=0.5))
    page.keyboard.press("0")  # fit again
    assert page.evaluate("labelApp.view.s") == pytest.approx(s0)


def test_v_twice_then_undo_and_redo(page, project):
    fid = project.frame_ids()[0]
    select_point(page, 5)
    page.keyboard.press("v")
    page.keyboard.press("v")
    saved(page)
    assert wait_for(lambda: project.frame(fid)["points"][5]["v"] == 0)
    assert page.get_attribute("#points li[data-k='5']", "data-v") == "0"
    page.keyboard.press("Control+z")
    saved(page)
    assert project.frame(fid)["points"][5]["v"] == 1
    assert page.get_attribute("#points li[data-k='5']", "data-v") == "1"
    page.keyboard.press("Control+Shift+z")
    saved(page)
    assert project.frame(fid)["points"][5]["v"] == 0
    page.keyboard.press("Tab")
    assert page.evaluate("labelApp.sel") == 6
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("labelApp.sel") == 4


def test_reload_resumes_and_enter_marks_reviewed(page, project):
    ids = project.frame_ids()
    page.keyboard.press("ArrowRight")
    ready(page, ids[1])
    page.keyboard.press("ArrowRight")
    ready(page, ids[2])
    page.keyboard.press("ArrowLeft")
    ready(page, ids[1])
    select_point(page, 7)
    page.keyboard.press("v")
    saved(page)
    page.reload()
    ready(page, ids[1])  # back on the frame the person was on
    assert page.evaluate("labelApp.frame.points[7].v") == 1
    page.keyboard.press("Enter")
    ready(page, ids[2])  # accepted: on to the next frame
    f = wait_for(lambda: (g := project.frame(ids[1]))["reviewed"] and g)
    assert {p["status"] for p in f["points"]} == {"accepted", "corrected"}
    assert page.inner_text("#progress") == "1 reviewed"
    page.keyboard.press("ArrowLeft")
    ready(page, ids[1])
    assert page.is_visible("#reviewed")


def test_two_tabs_keep_each_others_edits(browser, project):
    fid = project.frame_ids()[0]
    with serving(project.dir) as url:
        a, b = browser.new_page(), browser.new_page()
        try:
            for pg in (a, b):
                pg.goto(url)
                ready(pg, fid)
            a.bring_to_front()  # input to a background tab is throttled
            drag(a, 3, 30, 0)
            saved(a)
            b.bring_to_front()
            select_point(b, 5)  # tab b has not reloaded: its copy of point 3 is stale
            b.keyboard.press("v")
            saved(b)
            f = project.frame(fid)
            assert f["points"][3]["version"] == 1 and f["points"][5]["v"] == 1
            moved_x = f["points"][3]["x"]
            # tab b shows tab a's edit (it saw that the frame's revision moved on)
            b.wait_for_function(f"Math.abs(labelApp.frame.points[3].x - {moved_x}) < 1e-6",
                                timeout=6000)
        finally:
            a.close()
            b.close()


def test_screenshot_shows_skeleton_and_help(page, tmp_path):
    from PIL import Image

    shot = tmp_path / "page.png"
    page.screenshot(path=str(shot))
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    from infantpose.draw import Palette

    left, right = np.array(Palette().left), np.array(Palette().right)  # as images are drawn
    box = page.evaluate("(() => { const r = canvas.getBoundingClientRect(); "
                        "return [r.left, r.top, r.right, r.bottom]; })()")
    x0, y0, x1, y1 = (int(round(v)) for v in box)
    canvas = img[y0:y1, x0:x1]  # the frame is grey: colours there are the drawn skeleton
    for color in (left, right):
        assert (np.abs(canvas - color).sum(axis=-1) < 40).sum() > 150
    assert (np.abs(canvas - [0xFF, 0x3B, 0x3B]).sum(axis=-1) < 40).sum() > 20  # low scores
    page.keyboard.press("?")
    assert page.is_visible("#help")
    page.keyboard.press("Escape")
    assert not page.is_visible("#help")
    assert page.evaluate("labelApp.lastSwitchMs") < 2000
