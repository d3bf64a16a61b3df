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

The goal is 0 % for both. The baseline column is the detector's hit rate on the *original*
images (how often the attacker can find these faces at all).

Test images (generated; no real infant photo ships with infantpose):

* rendered infants (``infantpose.synth``) at image sizes 100-1000 px, every style and posture;
* rendered infants in profile (exactly one eye visible);
* matplotlib's Grace Hopper photo on a blanket (a real face) at 100-1000 px and 0/90/180 deg;
* the example clips (``infantpose examples``): the rendered infant clip and the Hopper video.

True face boxes: for renders, the square around the eyes, nose and lips, 2.2 x their spread
(at least 2.5 x the eye-to-mouth distance); for Hopper, the face detector's box on the upright
photo mapped through the same affine transform that places the photo in the scene.

Run: ``.venv/bin/python benchmarks/privacy.py [--quick]`` (about 4 minutes on 2 cores; --quick
about 1).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("OMP_NUM_THREADS", "2")

CORR_THRESHOLD = 0.9


@dataclass
class Case:
    image: np.ndarray
    face: np.ndarray  # true face box x1, y1, x2, y2


@dataclass
class Tally:
    n: int = 0
    baseline: int = 0
    det: dict[str, int] = field(default_factory=lambda: {"mosaic": 0, "blur": 0})
    corr: dict[str, int] = field(default_factory=lambda: {"mosaic": 0, "blur": 0})
    r: dict[str, list[float]] = field(default_factory=lambda: {"mosaic": [], "blur": []})
    face_px: list[float] = field(default_factory=list)


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
        yield Case(s.image, face)


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
        yield Case(s.image, face)


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

    frames, poses, _ = render_clip(0, seconds, fps=10, schema="infant22", size=(640, 480),
                                   style="home")
    names = poses.schema.keypoints
    for f, rgb in enumerate(frames):
        face = _render_face(poses.data[f, 0, :, :2], names)
        if face is not None:
            yield Case(rgb, face)


def hopper_clip(seconds: float) -> Iterator[Case]:
    from infantpose.examples import FRAME_SIZE, hopper_video_frames

    w, h = FRAME_SIZE
    fps = 15.0
    for i, rgb in enumerate(hopper_video_frames(seconds * 4 / 4, fps, FRAME_SIZE, seed=0)):
        t = i / fps
        phase = 2 * np.pi * t / max(seconds, 1e-6)
        center = (w / 2 + 40 * np.sin(phase), h / 2 + 15 * np.sin(2 * phase))
        yield Case(rgb, _hopper_box((w, h), 15 * np.sin(phase), center))


# --- the run -------------------------------------------------------------------------------------
def evaluate(cases: Iterator[Case], est, deids: dict, attacker: Attacker) -> Tally:
    t = Tally()
    for c in cases:
        t.n += 1
        t.face_px.append(float(max(c.face[2] - c.face[0], c.face[3] - c.face[1])))
        t.baseline += int(attacker.finds(c.image, c.face))
        poses = est.predict(c.image)
        for mode, deid in deids.items():
            out = deid(c.image, poses.data[0], poses.schema)
            t.det[mode] += int(attacker.finds(out, c.face))
            r = crop_corr(c.image, out, c.face)
            t.r[mode].append(r)
            t.corr[mode] += int(np.isfinite(r) and r >= CORR_THRESHOLD)
    return t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer images per row")
    args = ap.parse_args(argv)
    from infantpose.models import create_estimator
    from infantpose.video.privacy import Deidentifier

    n = 4 if args.quick else 10
    est = create_estimator("blazepose")
    deids = {m: Deidentifier(m) for m in ("mosaic", "blur")}
    attacker = Attacker()
    rows: list[tuple[str, Tally]] = []
    t0 = time.perf_counter()
    sizes = (100, 200, 400, 700, 1000)
    try:
        for s in sizes:
            rows.append((f"rendered infants, {s} px", evaluate(rendered(s, n, seed=s), est,
                                                               deids, attacker)))
        for s in (200, 640):
            rows.append((f"rendered infants in profile, {s} px",
                         evaluate(profiles(s, n, seed=7 + s), est, deids, attacker)))
        for s in sizes:
            rows.append((f"Hopper photo, {s} px, 0/90/180 deg",
                         evaluate(hopper(s, seed=s), est, deids, attacker)))
        secs = 1.0 if args.quick else 3.0
        rows.append(("example clip: rendered infant, 640x480",
                     evaluate(infant_clip(secs), est, deids, attacker)))
        rows.append(("example clip: Hopper video, 640x480",
                     evaluate(hopper_clip(secs), est, deids, attacker)))
    finally:
        attacker.close()
        for d in deids.values():
            d.close()
        close = getattr(est, "close", None)
        if callable(close):
            close()

    def pct(k: int, total: int) -> str:
        return f"{100.0 * k / total:5.1f} %" if total else "    -"

    head = (f"{'images':<40} {'n':>4} {'face px':>9} {'found before':>13} "
            f"{'det mosaic':>11} {'det blur':>9} {'corr mosaic':>12} {'corr blur':>10} "
            f"{'max r mosaic':>13} {'max r blur':>11}")
    print(head)
    print("-" * len(head))
    tot = Tally()
    for name, t in rows:
        fp = f"{np.median(t.face_px):.0f}" if t.face_px else "-"
        rm = np.nanmax(t.r["mosaic"]) if t.r["mosaic"] else float("nan")
        rb = np.nanmax(t.r["blur"]) if t.r["blur"] else float("nan")
        print(f"{name:<40} {t.n:>4} {fp:>9} {pct(t.baseline, t.n):>13} "
              f"{pct(t.det['mosaic'], t.n):>11} {pct(t.det['blur'], t.n):>9} "
              f"{pct(t.corr['mosaic'], t.n):>12} {pct(t.corr['blur'], t.n):>10} "
              f"{rm:>13.2f} {rb:>11.2f}")
        tot.n += t.n
        tot.baseline += t.baseline
        for m in ("mosaic", "blur"):
            tot.det[m] += t.det[m]
            tot.corr[m] += t.corr[m]
            tot.r[m] += t.r[m]
    print("-" * len(head))
    print(f"{'all':<40} {tot.n:>4} {'':>9} {pct(tot.baseline, tot.n):>13} "
          f"{pct(tot.det['mosaic'], tot.n):>11} {pct(tot.det['blur'], tot.n):>9} "
          f"{pct(tot.corr['mosaic'], tot.n):>12} {pct(tot.corr['blur'], tot.n):>10} "
          f"{np.nanmax(tot.r['mosaic']):>13.2f} {np.nanmax(tot.r['blur']):>11.2f}")
    print(f"\nface found after de-identification = detector hit inside the true face box, or "
          f"crop correlation r >= {CORR_THRESHOLD}; {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
