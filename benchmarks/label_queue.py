"""``infantpose label``: does the ``uncertain`` queue find the frames worth a person's time, and is
the page fast enough to label with?

Run from the repository root::

    .venv/bin/python benchmarks/label_queue.py                 # both parts
    .venv/bin/python benchmarks/label_queue.py --part queue    # needs ../shared/data/syrip-train200
    .venv/bin/python benchmarks/label_queue.py --part switch   # 500-frame project, synthetic
    .venv/bin/python benchmarks/label_queue.py --screenshot docs/label_screenshot.png

**queue** (real infant photos; the labels stand in for the person): BlazePose proposes COCO-17
keypoints on every image of ``../shared/data/syrip-train200``; a keypoint is *off* when it is
missing or further than 0.1 × the labelled box's longer side from its label. The images are
ranked by the ``uncertain`` queue (model scores, mirror disagreement, and both) and by the
``uniform`` queue; the table gives the share of off keypoints in the top 10 % of each ranking
against the base rate over all images. Target: at least 2× the base rate. Images are read in
place and nothing is written into the project (no copy of the photos anywhere).

**review** (real photos again): projects of 20 photos chosen by the ``uniform`` and by the
``uncertain`` queue are reviewed by a simulated person who moves every keypoint that is off to
its label and sets visibility as labelled; ``label stats`` of each project is printed (how much
of the model's proposal a person keeps, and how far the corrections go).

**switch** (synthetic infants, nothing real): a 500-frame project is built from a video of
rendered infants (BlazePose proposals, face blur on); the time to switch frames is measured in
the API (frame JSON + image, no cache) and in Chromium (key press to the new frame drawn:
next-frame presses with prefetch, and jumps to random frames). Target: under 300 ms.

**--screenshot PATH**: the page on a project of rendered infants (for the README).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "syrip-train200"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
OFF = 0.1  # a keypoint further than this fraction of the box's longer side is off


# --- part 1: the uncertain queue on real photos ----------------------------------------------------
def keypoint_errors(preds: np.ndarray, gt) -> tuple[np.ndarray, np.ndarray]:
    """(off, labelled): (F, K) booleans; the first labelled person of each image."""
    vis = gt.visibility[:, 0] > 0
    xy = gt.poses.data[:, 0, :, :2]
    size = np.nanmax(gt.boxes[:, 0, 2:], axis=1)
    dist = np.linalg.norm(preds[..., :2] - xy, axis=-1) / size[:, None]
    off = vis & (np.isnan(dist) | (dist > OFF))
    return off, vis


def queue_part(data: Path, limit: int | None) -> None:
    from infantpose.io.coco import read_coco
    from infantpose.label import queues
    from infantpose.label.build import Proposer
    from infantpose.label.sources import Candidate, iter_images
    from infantpose.models import create_estimator
    from infantpose.progress import bar as progress_bar

    if not (data / "annotations.json").is_file():
        print(f"queue: skipped: {data} is not here (real SyRIP photos are not shipped; "
              "the benchmark needs ../shared/data/syrip-train200)")
        return
    gt = read_coco(data / "annotations.json")
    if limit:
        gt = gt.subset(list(range(min(limit, len(gt)))))
    proposer = Proposer(create_estimator("blazepose", schema=gt.schema), gt.schema)
    cands = [Candidate(p) for p in gt.image_paths]
    k = gt.schema.num_keypoints
    preds = np.full((len(cands), k, 3), np.nan)
    mirror = np.full((len(cands), k, 3), np.nan)
    t0 = time.perf_counter()
    with progress_bar(len(cands), "proposals (image + mirror)", transient=True) as bar:
        for i, rgb in iter_images(cands):
            preds[i] = proposer(rgb)
            mirror[i] = proposer.mirrored(rgb)
            bar.update(1)
    secs = time.perf_counter() - t0
    proposer.close()
    off, lab = keypoint_errors(preds, gt)
    n = len(cands)
    top = max(1, round(0.1 * n))
    base = off.sum() / lab.sum()
    u_score = queues.score_uncertainty(preds)
    u_tta = queues.tta_uncertainty(preds, mirror)
    ranks = (np.argsort(np.argsort(u_score)) + np.argsort(np.argsort(u_tta))).astype(float)
    rankings = {
        "uniform": [p.index for p in queues.pick_uniform(n, top)],
        "uncertain, score": [p.index for p in queues.pick_uncertain(u_score, top)],
        "uncertain, tta": [p.index for p in queues.pick_uncertain(u_tta, top, "tta")],
        "uncertain, score + tta (mean rank)": [p.index for p in queues.pick_uncertain(ranks, top)],
    }
    print(f"\n### uncertain queue on {n} real infant photos ({data.name}), BlazePose, COCO-17\n")
    print(f"A keypoint is off when missing or > {OFF} x the box's longer side from its label. "
          f"Base rate over all {n} images: {100 * base:.1f} % of {int(lab.sum())} labelled "
          f"keypoints. Proposals: {secs:.0f} s for image + mirror.\n")
    print("| ranking | top 10 % (frames) | off keypoints in top 10 % | x base rate | "
          "share of all off keypoints found |")
    print("|---|---:|---:|---:|---:|")
    for name, idx in rankings.items():
        idx = np.asarray(idx)
        rate = off[idx].sum() / max(1, lab[idx].sum())
        found = off[idx].sum() / max(1, off.sum())
        print(f"| {name} | {len(idx)} | {100 * rate:.1f} % | {rate / base:.2f} | "
              f"{100 * found:.1f} % |")


def simulate_person(store, gt) -> None:
    """Review every frame of ``store`` as a person would with ``gt`` in mind: keypoints off by
    more than OFF are moved to their label, visibility set as labelled (occluded / absent),
    keypoints the label lacks marked absent; then the frame is accepted."""
    index = {p.resolve(): i for i, p in enumerate(gt.image_paths)}
    for f in store.frames():
        i = index[Path(f["image"]).resolve()]
        vis = gt.visibility[i, 0]
        xy = gt.poses.data[i, 0, :, :2]
        size = float(np.nanmax(gt.boxes[i, 0, 2:]))
        for p in store.frame(f["id"])["points"]:
            k = p["k"]
            if vis[k] == 0:
                if p["v"] != 0:
                    store.edit_point(f["id"], k, v=0)
                continue
            if p["x"] is None or np.hypot(p["x"] - xy[k, 0], p["y"] - xy[k, 1]) > OFF * size:
                store.edit_point(f["id"], k, x=float(xy[k, 0]), y=float(xy[k, 1]))
            if store.frame(f["id"])["points"][k]["v"] != int(vis[k]):
                store.edit_point(f["id"], k, v=int(vis[k]))
        store.accept(f["id"])


def review_part(data: Path, n: int) -> None:
    """What `label stats` reports after a simulated person reviewed ``n`` photos chosen by the
    uniform and by the uncertain queue."""
    from infantpose.io.coco import read_coco
    from infantpose.label.build import BuildOptions, build_project
    from infantpose.label.stats import project_stats

    if not (data / "annotations.json").is_file():
        return
    gt = read_coco(data / "annotations.json")
    print(f"\n### a simulated person reviews {n} of the photos (labels as the person's answers)\n")
    print("A keypoint more than 0.1 x box from its label is moved there; visibility is set as "
          "labelled. Printed from `infantpose label stats` of each project.\n")
    print("| queue | frames | points decided | accepted unchanged | moved | placed | "
          "marked absent | visibility changed | mean correction px (median) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    tmp = Path(tempfile.mkdtemp(prefix="label-bench-review-"))
    try:
        for queue in ("uniform", "uncertain"):
            store = build_project([data / "images"], tmp / queue, BuildOptions(
                schema=gt.schema.name, queue=queue, n=n, blur=False))
            simulate_person(store, gt)
            st = project_stats(store.dir)
            print(f"| {queue} | {st.reviewed} | {st.points} | {st.accepted_unchanged} "
                  f"({100 * st.share_accepted:.0f} %) | {st.moved} | {st.placed} | {st.removed} "
                  f"| {st.visibility_changed} | {st.mean_correction_px:.0f} "
                  f"({st.median_correction_px:.0f}) |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # display copies of the photos: never kept


# --- part 2: frame switch on a 500-frame project ---------------------------------------------------
def synthetic_video(path: Path, frames: int, n_infants: int = 25) -> None:
    """``frames`` frames of rendered infants (each held for a few frames, drifting slightly)."""
    from infantpose.io.video import write_video
    from infantpose.synth.generate import generate

    images, _ = generate(n_infants, schema="infant22", seed=11, size=(640, 480), style="home")
    hold = max(1, frames // n_infants)

    def gen() -> Iterator[np.ndarray]:
        for i in range(frames):
            img = images[min(len(images) - 1, i // hold)]
            yield np.roll(img, i % hold, axis=1)

    write_video(path, gen(), fps=15)


from infantpose.label.server import serve_in_thread as serving  # noqa: E402


@contextlib.contextmanager
def chromium(viewport: tuple[int, int] = (1280, 800)):
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="label-bench-chromium-")
    pw = sync_playwright().start()
    ctx = pw.chromium.launch_persistent_context(
        profile, executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
        viewport={"width": viewport[0], "height": viewport[1]})
    try:
        yield ctx
    finally:
        ctx.close()
        pw.stop()
        shutil.rmtree(profile, ignore_errors=True)


def _summary(ms: list[float]) -> str:
    q = np.percentile(ms, [50, 95])
    return f"{len(ms)} | {q[0]:.0f} | {q[1]:.0f} | {max(ms):.0f}"


def switch_part(frames: int, model: str) -> None:
    import httpx

    from infantpose.label.build import BuildOptions, build_project

    tmp = Path(tempfile.mkdtemp(prefix="label-bench-"))
    try:
        video = tmp / "infants.mp4"
        synthetic_video(video, frames)
        t0 = time.perf_counter()
        store = build_project([video], tmp / "proj", BuildOptions(
            n=frames, max_candidates=frames, queue="uniform", blur=True,
            model=None if model == "none" else model))
        build_s = time.perf_counter() - t0
        ids = store.frame_ids()
        rng = np.random.default_rng(0)
        print(f"\n### frame switch on a {len(ids)}-frame project (rendered infants, 640x480, "
              f"{model} proposals, face blur)\n")
        print(f"Building the project: {build_s:.0f} s ({1000 * build_s / len(ids):.0f} ms per "
              "frame: decode, proposals, face detection and blur, frame PNG, display JPEG).\n")
        print("| what | switches | median ms | p95 ms | max ms |")
        print("|---|---:|---:|---:|---:|")
        with serving(store.dir) as url:
            api_ms = []
            with httpx.Client(base_url=url) as client:
                for fid in rng.choice(ids, min(100, len(ids)), replace=False):
                    t = time.perf_counter()
                    client.get(f"/api/frames/{fid}").raise_for_status()
                    client.get(f"/api/frames/{fid}/image").raise_for_status()
                    api_ms.append(1000 * (time.perf_counter() - t))
            print(f"| API: frame JSON + image, random frames | {_summary(api_ms)} |")
            if not Path(CHROMIUM).exists():
                print(f"| page: skipped ({CHROMIUM} not installed) | | | | |")
                return
            with chromium() as ctx:
                page = ctx.new_page()
                page.goto(url)
                page.wait_for_selector("body[data-ready='1']")
                nxt = []
                for i in range(1, min(101, len(ids))):
                    page.keyboard.press("ArrowRight")
                    page.wait_for_selector(f"body[data-ready='1'][data-frame='{ids[i]}']")
                    nxt.append(page.evaluate("labelApp.lastSwitchMs"))
                jumps = []
                pool = np.arange(min(150, len(ids) // 2), len(ids))  # beyond the prefetched
                for j in rng.choice(pool, min(50, len(pool)), replace=False):
                    page.evaluate(f"labelApp.goTo({int(j)})")
                    page.wait_for_selector(f"body[data-ready='1'][data-frame='{ids[j]}']")
                    jumps.append(page.evaluate("labelApp.lastSwitchMs"))
            print(f"| page: next frame (→, prefetched) | {_summary(nxt)} |")
            print(f"| page: jump to a random frame (not cached) | {_summary(jumps)} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- the README screenshot ---------------------------------------------------------------------------
def screenshot(path: Path) -> None:
    from infantpose.io.images import write_image
    from infantpose.label.build import BuildOptions, build_project
    from infantpose.synth.generate import generate

    tmp = Path(tempfile.mkdtemp(prefix="label-shot-"))
    try:
        # Renders of seed 21 on which mediapipe's face detector finds the face and BlazePose
        # places most keypoints (picked by their exact labels); the first, shown, has a few
        # low-score proposals.
        images, _ = generate(36, schema="infant22", seed=21, size=(640, 480), style="home")
        for i, j in enumerate((16, 35, 15, 7, 10, 19)):
            write_image(tmp / "infants" / f"infant_{i}.jpg", images[j])
        store = build_project([tmp / "infants"], tmp / "demo-project",
                              BuildOptions(n=6, queue="uniform", blur=True))
        with serving(store.dir) as url, chromium((1280, 760)) as ctx:
            page = ctx.new_page()
            page.goto(url)
            page.wait_for_selector("body[data-ready='1']")
            frame = page.evaluate("labelApp.frame")
            placed = [p["k"] for p in frame["points"] if p["v"] > 0]
            if placed:  # show a correction in progress: move one point a little
                k = placed[len(placed) // 2]
                page.click(f"#points li[data-k='{k}']")
                at = page.evaluate(f"labelApp.screenOf({k})")
                page.mouse.move(at["x"], at["y"])
                page.mouse.down()
                page.mouse.move(at["x"] + 14, at["y"] + 9, steps=4)
                page.mouse.up()
                page.wait_for_function("labelApp.saving === 0")
            path.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(path))
        print(f"wrote {path}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--part", choices=("queue", "review", "switch", "all"), default="all")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--limit", type=int, default=None, help="only the first N photos")
    ap.add_argument("--frames", type=int, default=500)
    ap.add_argument("--review", type=int, default=20, help="photos per queue for --part review")
    ap.add_argument("--model", default="blazepose", help="proposals for --part switch")
    ap.add_argument("--screenshot", type=Path, default=None)
    args = ap.parse_args()
    if args.screenshot is not None:
        screenshot(args.screenshot)
        return
    if args.part in ("queue", "all"):
        queue_part(args.data, args.limit)
    if args.part in ("review", "all"):
        review_part(args.data, args.review)
    if args.part in ("switch", "all"):
        switch_part(args.frames, args.model)


if __name__ == "__main__":
    main()
