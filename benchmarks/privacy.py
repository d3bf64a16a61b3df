"""Privacy benchmark: after de-identification, can the face still be found?

For every test image the full ``infantpose deidentify`` path runs — BlazePose keypoints (the
mediapipe runtime) plus mediapipe's face detector, then the face regions of
:mod:`infantpose.video.face_region` are mosaicked or blurred — and two attackers look at the
result inside the *true* face box:

* **detector**: mediapipe's BlazeFace (full-range and short-range models, all four quarter turns,
  confidence >= 0.3, lower than infantpose itself uses) finds a face whose centre lies in the
  true face box and whose size is 0.4-2.5 times the true face's (a detection many times larger
  than the face, centred on a hidden block by chance, finds nothing);
* **crop correlation**: the grey true-face crop of the output, resized to 24x24, correlates with
  the original's at r >= 0.9 (the issue's recognisable faces had r = 0.99).

The goal is 0 % for both. Where face points are labelled (renders, the rendered clip, the real
photos), a third, objective check: **face point unhidden** counts images in which the pixel of
a labelled nose, eye, ear or lip point is left unchanged, i.e. outside every hidden region (a
hidden region changes every pixel). The baseline column is the detector's hit rate on the *original*
images (how often the attacker can find these faces at all). The "both ends" column is the share
of images in which the head end of the skeleton was not confirmed by the face detector, so the
far end of the body (the feet, for a skeleton the right way up) was hidden too.

Test images (generated; no real infant photo ships with infantpose):

* rendered infants (``infantpose.synth``) at image sizes 100-1000 px, every style and posture;
* rendered infants in profile (exactly one eye visible);
* matplotlib's Grace Hopper photo on a blanket (a real face) at 100-1000 px and 0/90/180 deg;
* the example clips (``infantpose examples``): the rendered infant clip and the Hopper video,
  de-identified as videos (one stream: the head end can be confirmed along the track);
* with ``--photos DIR`` (a COCO keypoint folder, e.g. ``../shared/data/syrip-train200``, the
  default when it exists; research use only, never copied into the project): real infant
  photos, the true face box placed from the labelled nose, eyes and ears.

A second table reports how often the both-ends fallback fires on the files ``infantpose
examples`` writes (each video through ``deidentify``'s path: BlazePose poses of the video, then
:func:`infantpose.video.pipeline.deidentify_video`; each image through ``predict --overlay
--deidentify``'s path) and on the real photos.

True face boxes: for renders, the square around the eyes, nose and lips, 2.2 x their spread
(at least 2.5 x the eye-to-mouth distance); for Hopper, the face detector's box on the upright
photo mapped through the same affine transform that places the photo in the scene.

Run: ``.venv/bin/python benchmarks/privacy.py [--quick] [--photos DIR | --no-photos]
[--out benchmarks/results/privacy.md]`` (about 4 minutes on 2 cores without photos, --quick
about 1; the 200 SyRIP photos add about 5).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

CORR_THRESHOLD = 0.9


@dataclass
class Case:
    image: np.ndarray
    face: np.ndarray  # true face box x1, y1, x2, y2
    stream: str | None = None  # frames of one video share a stream (the head-end track)
    points: np.ndarray | None = None  # (P, 2) labelled face points visible in the image, if known


@dataclass
class Tally:
    n: int = 0
    baseline: int = 0
    det: dict[str, int] = field(default_factory=lambda: {"mosaic": 0, "blur": 0})
    corr: dict[str, int] = field(default_factory=lambda: {"mosaic": 0, "blur": 0})
    r: dict[str, list[float]] = field(default_factory=lambda: {"mosaic": [], "blur": []})
    face_px: list[float] = field(default_factory=list)
    both_ends: int = 0  # images where the far end was hidden too (head end not confirmed)
    pointed: int = 0  # images with labelled face points
    unhidden: dict[str, int] = field(default_factory=lambda: {"mosaic": 0, "blur": 0})
    report: dict = field(default_factory=dict)  # the mosaic Deidentifier's DeidReport


# --- attackers -----------------------------------------------------------------------------------
class Attacker:
    """BlazeFace full- and short-range, every quarter turn, low confidence."""

    def __init__(self) -> None:
        from infantpose.video.privacy import FaceDetector

        self.dets = [FaceDetector(min_confidence=0.3, full_range=True),
                     FaceDetector(min_confidence=0.3, full_range=False)]

    def finds(self, rgb: np.ndarray, face: np.ndarray) -> bool:
        side = max(face[2] - face[0], face[3] - face[1])
        for d in self.dets:
            for rot in (0, 90, 180, 270):
                for b in d._run(rgb, rot):
                    cx, cy = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
                    size = max(b[2] - b[0], b[3] - b[1])
                    if face[0] <= cx <= face[2] and face[1] <= cy <= face[3] \
                            and 0.4 * side <= size <= 2.5 * side:
                        return True
        return False

    def close(self) -> None:
        for d in self.dets:
            d.close()


def crop_corr(a: np.ndarray, b: np.ndarray, face: np.ndarray) -> float:
    """Pearson r of the grey face crops of ``a`` and ``b`` at 24x24."""
    import cv2

    h, w = a.shape[:2]
    x1, y1 = int(max(0, np.floor(face[0]))), int(max(0, np.floor(face[1])))
    x2, y2 = int(min(w, np.ceil(face[2]))), int(min(h, np.ceil(face[3])))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return float("nan")

    def prep(img: np.ndarray) -> np.ndarray:
        g = cv2.cvtColor(img[y1:y2, x1:x2], cv2.COLOR_RGB2GRAY).astype(np.float64)
        return cv2.resize(g, (24, 24), interpolation=cv2.INTER_AREA).ravel()

    pa, pb = prep(a), prep(b)
    if pa.std() < 1e-6 or pb.std() < 1e-6:
        return 0.0
    return float(np.corrcoef(pa, pb)[0, 1])


# --- test images ---------------------------------------------------------------------------------
def _render_face(kps: np.ndarray, names: tuple[str, ...]) -> np.ndarray | None:
    idx = [names.index(n) for n in ("left_eye", "right_eye", "nose", "upper_lip", "lower_lip")]
    pts = kps[idx]
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < 2:
        return None
    spread = float(np.ptp(pts, axis=0).max())
    eyes = kps[[names.index("left_eye"), names.index("right_eye")]]
    mouth = kps[[names.index("upper_lip"), names.index("lower_lip")]]
    em = 0.0
    if np.isfinite(eyes).all(axis=1).any() and np.isfinite(mouth).all(axis=1).any():
        em = float(np.hypot(*(np.nanmean(eyes, 0) - np.nanmean(mouth, 0))))
    side = max(2.2 * spread, 2.5 * em)
    c = pts.mean(axis=0)
    return np.array([c[0] - side / 2, c[1] - side / 2, c[0] + side / 2, c[1] + side / 2])


_FACE_POINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "upper_lip",
                "lower_lip")


def _face_points(kps: np.ndarray, names: tuple[str, ...], visibility: np.ndarray
                 ) -> np.ndarray | None:
    """The labelled face points (nose, eyes, ears, lips) marked visible, or None if none."""
    idx = [names.index(n) for n in _FACE_POINTS if n in names]
    pts = np.asarray(kps, float)[idx]
    keep = np.isfinite(pts).all(axis=1) & (np.asarray(visibility)[idx] > 0)
    return pts[keep] if keep.any() else None


def unhidden_point(before: np.ndarray, after: np.ndarray, points: np.ndarray | None) -> bool:
    """Whether a labelled face point's pixel (3x3 around it) is unchanged in ``after``.

    Inside a hidden region no pixel keeps its source value (``privacy._ensure_changed``), so an
    unchanged pixel at a face point means that point was left outside every hidden region:
    part of the face is visible, whatever an attacker makes of it."""
    if points is None:
        return False
    h, w = before.shape[:2]
    for x, y in points:
        xi, yi = int(round(x)), int(round(y))
        if not (0 <= xi < w and 0 <= yi < h):
            continue
        sl = np.s_[max(0, yi - 1):yi + 2, max(0, xi - 1):xi + 2]
        if (before[sl] == after[sl]).all(axis=-1).any():
            return True
    return False


def rendered(size: int, n: int, seed: int) -> Iterator[Case]:
    from infantpose.synth.generate import render_sample

    styles = ("home", "nicu", "studio")
    i = 0
    made = 0
    while made < n and i < 20 * n:
        s = render_sample(seed, i, "infant22", size=(size, int(round(size * 0.75))),
                          style=styles[i % 3])
        i += 1
        face = _render_face(s.keypoints, s.names)
        if face is None:
            continue
        made += 1
        yield Case(s.image, face, points=_face_points(s.keypoints, s.names, s.visibility))


def profiles(size: int, n: int, seed: int) -> Iterator[Case]:
    from infantpose.synth.generate import render_sample

    made, i = 0, 0
    while made < n and i < 60 * n:
        s = render_sample(seed, i, "infant22", size=(size, int(round(size * 0.75))),
                          style=("home", "nicu", "studio")[i % 3])
        i += 1
        vis = {nm: v for nm, v in zip(s.names, s.visibility)}
        if (vis["left_eye"] == 2) == (vis["right_eye"] == 2) or vis["nose"] == 0:
            continue  # not a profile: both eyes or neither visible
        face = _render_face(s.keypoints, s.names)
        if face is None:
            continue
        made += 1
        yield Case(s.image, face, points=_face_points(s.keypoints, s.names, s.visibility))


_HOPPER_FACE: np.ndarray | None = None


def _hopper_face() -> np.ndarray:
    """Face box on the upright Hopper photo (detector, full range)."""
    global _HOPPER_FACE
    if _HOPPER_FACE is None:
        from infantpose.examples import hopper_image
        from infantpose.video.privacy import FaceDetector

        d = FaceDetector(min_confidence=0.5, rotations=(0,))
        boxes = d.detect(hopper_image())
        d.close()
        _HOPPER_FACE = boxes[0, :4]
    return _HOPPER_FACE


def _hopper_box(size: tuple[int, int], angle: float, center: tuple[float, float]) -> np.ndarray:
    import cv2

    from infantpose.examples import hopper_image

    person = hopper_image()
    w, h = size
    ph, pw = person.shape[:2]
    scale = 0.72 * min(w, h) / max(person.shape[:2])
    m = cv2.getRotationMatrix2D(((pw - 1) / 2, (ph - 1) / 2), angle, scale)
    m[:, 2] += np.array(center) - np.array([(pw - 1) / 2, (ph - 1) / 2])
    x1, y1, x2, y2 = _hopper_face()
    corners = np.array([[x1, y1, 1], [x2, y1, 1], [x1, y2, 1], [x2, y2, 1]]) @ m.T
    return np.array([*corners.min(0), *corners.max(0)])


def hopper(size: int, seed: int) -> Iterator[Case]:
    from infantpose.examples import hopper_scene

    wh = (size, int(round(size * 0.75)))
    for rot in (0, 90, 180):
        img = hopper_scene(rot, size=wh, seed=seed)
        yield Case(img, _hopper_box(wh, rot, (wh[0] / 2, wh[1] / 2)))


def infant_clip(seconds: float) -> Iterator[Case]:
    from infantpose.synth.clips import render_clip

    frames, poses, vis = render_clip(0, seconds, fps=10, schema="infant22", size=(640, 480),
                                     style="home")
    names = poses.schema.keypoints
    for f, rgb in enumerate(frames):
        face = _render_face(poses.data[f, 0, :, :2], names)
        if face is not None:
            yield Case(rgb, face, "infant clip",
                       _face_points(poses.data[f, 0, :, :2], names, vis[f]))


def hopper_clip(seconds: float) -> Iterator[Case]:
    from infantpose.examples import FRAME_SIZE, hopper_video_frames

    w, h = FRAME_SIZE
    fps = 15.0
    for i, rgb in enumerate(hopper_video_frames(seconds * 4 / 4, fps, FRAME_SIZE, seed=0)):
        t = i / fps
        phase = 2 * np.pi * t / max(seconds, 1e-6)
        center = (w / 2 + 40 * np.sin(phase), h / 2 + 15 * np.sin(2 * phase))
        yield Case(rgb, _hopper_box((w, h), 15 * np.sin(phase), center), "hopper clip")


def photo_face(kps: np.ndarray, names: tuple[str, ...]) -> np.ndarray | None:
    """True face box of a labelled photo: the square around the labelled nose, eyes and ears,
    2.0 x their spread and at least 3.5 x the eye distance (a face seen from the front, where
    the ears are hidden, is about that wide), or None when fewer than two of them are
    labelled (no face to find)."""
    idx = [names.index(n) for n in ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
           if n in names]
    pts = kps[idx]
    pts = pts[np.isfinite(pts).all(axis=1)]
    if len(pts) < 2:
        return None
    spread = float(np.ptp(pts, axis=0).max())
    eyes = kps[[names.index("left_eye"), names.index("right_eye")]]
    eye_d = float(np.hypot(*(eyes[0] - eyes[1]))) if np.isfinite(eyes).all() else 0.0
    side = max(2.0 * spread, 3.5 * eye_d)
    c = pts.mean(axis=0)
    return np.array([c[0] - side / 2, c[1] - side / 2, c[0] + side / 2, c[1] + side / 2])


def photos(folder: Path) -> Iterator[Case]:
    """Real photos of a COCO keypoint folder (first labelled person of each image)."""
    from infantpose.io.coco import read_coco
    from infantpose.io.images import read_image

    ds = read_coco(folder / "annotations.json")
    names = ds.poses.schema.keypoints
    for f, name in enumerate(ds.poses.frame_names):
        face = photo_face(ds.poses.data[f, 0, :, :2], names)
        if face is not None:
            yield Case(read_image(ds.root / name), face,
                       points=_face_points(ds.poses.data[f, 0, :, :2], names,
                                           ds.visibility[f, 0]))


# --- the run -------------------------------------------------------------------------------------
def evaluate(cases: Iterator[Case], est, deids: dict, attacker: Attacker) -> Tally:
    """Every case through ``deidentify``'s path (as ``predict --overlay --deidentify`` does:
    the pose's ``path`` field marks guessed poses), then the attackers."""
    from infantpose.video.privacy import guessed_instances

    t = Tally()
    for c in cases:
        t.n += 1
        t.face_px.append(float(max(c.face[2] - c.face[0], c.face[3] - c.face[1])))
        t.baseline += int(attacker.finds(c.image, c.face))
        poses = est.predict(c.image)
        t.pointed += int(c.points is not None)
        for mode, deid in deids.items():
            out = deid(c.image, poses.data[0], poses.schema, stream=c.stream,
                       guessed=guessed_instances(None if poses.path is None
                                                 else poses.path[0]))
            t.unhidden[mode] += int(unhidden_point(c.image, out, c.points))
            if mode == "mosaic":
                t.both_ends += int("both ends" in deid.last_verdicts)
            t.det[mode] += int(attacker.finds(out, c.face))
            r = crop_corr(c.image, out, c.face)
            t.r[mode].append(r)
            t.corr[mode] += int(np.isfinite(r) and r >= CORR_THRESHOLD)
    t.report = deids["mosaic"].report.to_dict()
    return t


# --- how often both ends are hidden ---------------------------------------------------------------
def fallback_on_examples(est) -> list[tuple[str, dict]]:
    """De-identify the files ``infantpose examples`` writes, as the commands do: every video
    through ``deidentify`` (BlazePose poses of the whole video, then ``deidentify_video``: one
    stream), every image through ``predict --overlay --deidentify`` (one Deidentifier, no
    stream). Returns (name, report dict) rows."""
    from infantpose.examples import make_examples
    from infantpose.io.images import read_image
    from infantpose.video.pipeline import deidentify_video
    from infantpose.video.privacy import Deidentifier, guessed_instances
    from infantpose.video.tracking import predict_video

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        files = make_examples(Path(tmp) / "examples")
        root = Path(tmp) / "examples"
        for v in sorted(f for f in files if f.suffix == ".mp4"):
            poses = predict_video(est, v)
            rep = deidentify_video(v, Path(tmp) / f"deid_{v.name}", poses=poses)
            rows.append((f"`{v.relative_to(root)}` (video, deidentify)", rep.to_dict()))
        images = sorted(p for p in root.rglob("*") if p.suffix in (".jpg", ".png"))
        for group in sorted({p.parent for p in images}):
            deid = Deidentifier("mosaic")
            try:
                for p in (q for q in images if q.parent == group):
                    img = read_image(p)
                    res = est.predict(img)
                    deid(img, res.data[0], est.schema,
                         guessed=guessed_instances(None if res.path is None
                                                   else res.path[0]))
            finally:
                deid.close()
            n = sum(q.parent == group for q in images)
            rows.append((f"`{group.relative_to(root)}/` ({n} images, predict --overlay "
                         f"--deidentify)", deid.report.to_dict()))
    return rows



def _md_table(head: list[str], rows: list[list[str]]) -> str:
    align = ["---"] + ["---:"] * (len(head) - 1)
    return "\n".join(["| " + " | ".join(head) + " |", "| " + " | ".join(align) + " |"]
                     + ["| " + " | ".join(r) + " |" for r in rows])


def _pct(k: int, total: int) -> str:
    return f"{100.0 * k / total:.1f} %" if total else "-"


def leak_table(rows: list[tuple[str, Tally]]) -> str:
    """The leak table (markdown): per row and in all, the share of images where an attacker
    still finds the face, and where both ends were hidden."""
    head = ["images", "n", "face px", "found before", "det mosaic", "det blur", "corr mosaic",
            "corr blur", "max r mosaic", "max r blur", "face point unhidden", "both ends"]
    out = []
    tot = Tally()
    for name, t in rows:
        fp = f"{np.median(t.face_px):.0f}" if t.face_px else "-"
        rm = f"{np.nanmax(t.r['mosaic']):.2f}" if t.r["mosaic"] else "-"
        rb = f"{np.nanmax(t.r['blur']):.2f}" if t.r["blur"] else "-"
        out.append([name, str(t.n), fp, _pct(t.baseline, t.n), _pct(t.det["mosaic"], t.n),
                    _pct(t.det["blur"], t.n), _pct(t.corr["mosaic"], t.n),
                    _pct(t.corr["blur"], t.n), rm, rb, _unhidden(t), _pct(t.both_ends, t.n)])
        tot.n += t.n
        tot.baseline += t.baseline
        tot.both_ends += t.both_ends
        tot.pointed += t.pointed
        for m in ("mosaic", "blur"):
            tot.det[m] += t.det[m]
            tot.corr[m] += t.corr[m]
            tot.r[m] += t.r[m]
            tot.unhidden[m] += t.unhidden[m]
    out.append(["**all**", f"**{tot.n}**", "", _pct(tot.baseline, tot.n),
                f"**{_pct(tot.det['mosaic'], tot.n)}**", f"**{_pct(tot.det['blur'], tot.n)}**",
                f"**{_pct(tot.corr['mosaic'], tot.n)}**", f"**{_pct(tot.corr['blur'], tot.n)}**",
                f"{np.nanmax(tot.r['mosaic']):.2f}", f"{np.nanmax(tot.r['blur']):.2f}",
                f"**{_unhidden(tot)}**", _pct(tot.both_ends, tot.n)])
    return _md_table(head, out)


def _unhidden(t: Tally) -> str:
    """Images (of those with labelled face points) where a face point was left unhidden, in
    either mode: "k / n"."""
    if not t.pointed:
        return "-"
    return f"{max(t.unhidden['mosaic'], t.unhidden['blur'])} / {t.pointed}"


def fallback_table(rows: list[tuple[str, dict]]) -> str:
    """How each frame's head end was decided (markdown), one row per source."""
    head = ["files", "frames", "head confirmed in the frame", "confirmed by the track",
            "**both ends hidden**", "no far end (no skeleton or no legs)", "whole frame blurred"]
    out = []
    for name, r in rows:
        n = r["frames"]
        rest = n - r["head_confirmed_frames"] - r["head_tracked_frames"] \
            - r["both_ends_frames"] - r["whole_frame_blurred"]
        out.append([name, str(n), _pct(r["head_confirmed_frames"], n),
                    _pct(r["head_tracked_frames"], n), f"**{_pct(r['both_ends_frames'], n)}**",
                    _pct(rest, n), _pct(r["whole_frame_blurred"], n)])
    return _md_table(head, out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer images per row")
    ap.add_argument("--photos", type=Path, default=None,
                    help="COCO keypoint folder of real photos (annotations.json + images); "
                         "default ../shared/data/syrip-train200 when it exists")
    ap.add_argument("--no-photos", action="store_true", help="skip the real photos")
    ap.add_argument("--out", type=Path, default=None, help="also write the tables (markdown)")
    args = ap.parse_args(argv)
    from infantpose.models import create_estimator
    from infantpose.video.privacy import Deidentifier

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _syrip import DATA, available

    photo_dir = None if args.no_photos else (args.photos or (DATA if available() else None))
    if photo_dir is not None and not (photo_dir / "annotations.json").is_file():
        print(f"error: {photo_dir}: no annotations.json", file=sys.stderr)
        return 2
    n = 4 if args.quick else 10
    est = create_estimator("blazepose")
    attacker = Attacker()
    rows: list[tuple[str, Tally]] = []
    photo_rows: list[tuple[str, Tally]] = []
    t0 = time.perf_counter()
    sizes = (100, 200, 400, 700, 1000)

    def run(cases: Iterator[Case]) -> Tally:
        deids = {m: Deidentifier(m) for m in ("mosaic", "blur")}  # fresh: no track carried over
        try:
            return evaluate(cases, est, deids, attacker)
        finally:
            for d in deids.values():
                d.close()

    try:
        for s in sizes:
            rows.append((f"rendered infants, {s} px", run(rendered(s, n, seed=s))))
        for s in (200, 640):
            rows.append((f"rendered infants in profile, {s} px", run(profiles(s, n, seed=7 + s))))
        for s in sizes:
            rows.append((f"Hopper photo, {s} px, 0/90/180 deg", run(hopper(s, seed=s))))
        secs = 1.0 if args.quick else 3.0
        rows.append(("example clip: rendered infant, 640x480 (video)", run(infant_clip(secs))))
        rows.append(("example clip: Hopper video, 640x480 (video)", run(hopper_clip(secs))))
        t_gen = time.perf_counter() - t0
        if photo_dir is not None:
            photo_rows.append((f"real infant photos (`{photo_dir.name}`)",
                               run(photos(photo_dir))))
        t_photo = time.perf_counter() - t0 - t_gen
        fb = fallback_on_examples(est)
    finally:
        attacker.close()
        close = getattr(est, "close", None)
        if callable(close):
            close()

    fb += [(f"{name} (predict --overlay --deidentify)", t.report) for name, t in photo_rows]
    parts = [
        "## Is the face still found after de-identification?",
        "",
        leak_table(rows + photo_rows),
        "",
        f"Face found = BlazeFace hit inside the true face box, or crop correlation r >= "
        f"{CORR_THRESHOLD}. Generated images {t_gen:.0f} s"
        + (f", real photos {t_photo:.0f} s" if photo_dir is not None else "") + ".",
        "",
        "## How often are both ends of the body hidden?",
        "",
        fallback_table(fb),
    ]
    text = "\n".join(parts)
    print(text)
    print(f"\n{time.perf_counter() - t0:.0f} s")
    if args.out is not None:
        import datetime

        args.out.parent.mkdir(parents=True, exist_ok=True)
        cmd = "benchmarks/privacy.py " + " ".join(argv if argv is not None else sys.argv[1:])
        args.out.write_text(
            f"# benchmarks/privacy.py ({datetime.date.today()}, 2-core CPU, shared)\n\n"
            f"Command: `.venv/bin/python {cmd.strip()}`\n\n{text}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
