"""Generated test clips with known keypoints, and a cheap image-based estimator that reads them.

Tests, benchmarks and the docs need videos whose true keypoint trajectories are known, that run
in milliseconds per frame, and that contain a "face" to hide. :func:`make_clip` draws a moving
stick figure: every keypoint is a disk of its own saturated hue, limbs are thin grey lines, and
the head carries a grey random-noise texture (a stand-in face, so that de-identification can be
checked pixel by pixel). :class:`MarkerEstimator` finds those coloured disks in an image (only
inside the given boxes, if any), so it behaves like a real top-down estimator: it sees only what
is in the box, reports low scores when a marker is missing, and costs more on the whole frame
than on a box. It is importable in worker processes as
``testclips:create_marker_estimator`` (``infantpose batch --model ...``) with this folder on
``PYTHONPATH`` (tests/conftest.py puts it there for subprocesses and Dask workers).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from infantpose.poses import Poses
from infantpose.schemas import Schema, get_schema

__all__ = ["marker_hues", "clip_trajectories", "render_frame", "face_box", "make_clip",
           "write_video_with_metadata", "MarkerEstimator", "create_marker_estimator"]


def marker_hues(k: int) -> np.ndarray:
    """K hues (OpenCV units, 0..180) evenly spaced around the colour wheel."""
    return (np.arange(k) * 180.0 / k).astype(float)


def _template(schema: Schema) -> np.ndarray:
    """A lying-infant stick figure in unit coordinates (K, 2), from keypoint names."""
    base = {"nose": (0.0, -0.62), "vertex": (0.0, -0.82), "upper_lip": (0.0, -0.56),
            "lower_lip": (0.0, -0.52), "eye": (0.06, -0.68), "ear": (0.12, -0.64),
            "shoulder": (0.2, -0.4), "elbow": (0.38, -0.2), "wrist": (0.45, 0.0),
            "palm": (0.5, 0.06), "hip": (0.14, 0.1), "knee": (0.26, 0.4),
            "ankle": (0.28, 0.7), "sole": (0.3, 0.8)}
    out = []
    for name in schema.keypoints:
        side = -1.0 if name.startswith("right_") else 1.0
        part = name.replace("left_", "").replace("right_", "")
        key = next((b for b in sorted(base, key=len, reverse=True) if b in part), None)
        x, y = base.get(key, (0.0, 0.0)) if key else (0.0, 0.0)
        out.append((side * x if name.startswith(("left_", "right_")) else x, y))
    return np.asarray(out, float)


def clip_trajectories(schema: Schema | str = "coco17", n_frames: int = 30,
                      size: tuple[int, int] = (192, 160), fps: float = 15.0, seed: int = 0,
                      drift: float = 0.25) -> np.ndarray:
    """True keypoint positions (F, K, 2) in pixels: a figure that drifts and kicks its limbs.

    The whole body drifts by ``drift`` × frame width over the clip (so a fixed box would lose it),
    and wrists/ankles swing at 0.5–1.5 Hz, like infant general movements.
    """
    s = get_schema(schema)
    rng = np.random.default_rng(seed)
    w, h = size
    tmpl = _template(s)
    t = np.arange(n_frames) / fps
    scale = 0.32 * min(w, h)
    cx = w * 0.5 + drift * w * (np.linspace(-0.5, 0.5, n_frames))
    cy = h * 0.5 + 0.05 * h * np.sin(2 * np.pi * 0.3 * t)
    pts = np.empty((n_frames, s.num_keypoints, 2))
    freq = rng.uniform(0.5, 1.5, s.num_keypoints)
    phase = rng.uniform(0, 2 * np.pi, s.num_keypoints)
    amp = np.array([0.12 if any(p in n for p in ("wrist", "palm", "ankle", "sole")) else
                    0.05 if any(p in n for p in ("elbow", "knee")) else 0.0 for n in s.keypoints])
    for f in range(n_frames):
        wob = amp[:, None] * np.stack([np.sin(2 * np.pi * freq * t[f] + phase),
                                       np.cos(2 * np.pi * freq * t[f] + phase)], -1)
        pts[f] = (tmpl + wob) * scale + [cx[f], cy[f]]
    return pts


def face_box(points: np.ndarray, schema: Schema | str) -> np.ndarray:
    """The drawn face rectangle (x1, y1, x2, y2) for one frame's (K, 2) true points."""
    s = get_schema(schema)
    head = [i for i, r in enumerate(s.regions) if r == "head"]
    xy = points[head]
    c = xy.mean(axis=0)
    span = np.ptp(points[:, 1]) if len(points) > 1 else 40.0
    half = max(6.0, 0.14 * span)
    return np.array([c[0] - half, c[1] - half, c[0] + half, c[1] + half])


def render_frame(points: np.ndarray, schema: Schema | str, size: tuple[int, int],
                 rng: np.random.Generator | None = None, face: bool = True,
                 radius: int = 4) -> np.ndarray:
    """Draw one frame (H×W×3 RGB uint8): grey limbs, a noise-textured face, coloured markers."""
    import cv2

    s = get_schema(schema)
    w, h = size
    img = np.full((h, w, 3), 40, np.uint8)
    for a, b in s.edge_index:
        pa, pb = points[a], points[b]
        cv2.line(img, (int(pa[0]), int(pa[1])), (int(pb[0]), int(pb[1])), (150, 150, 150), 2)
    if face:
        x1, y1, x2, y2 = np.round(face_box(points, s)).astype(int)
        x1, y1 = max(x1, 0), max(y1, 0)
        x2, y2 = min(x2, w), min(y2, h)
        if x2 > x1 and y2 > y1:
            rng = rng or np.random.default_rng(0)
            tex = rng.integers(60, 230, size=(y2 - y1, x2 - x1, 1)).repeat(3, axis=2)
            img[y1:y2, x1:x2] = tex.astype(np.uint8)
    hsv = np.zeros((1, s.num_keypoints, 3), np.uint8)
    hsv[0, :, 0] = marker_hues(s.num_keypoints).astype(np.uint8)
    hsv[0, :, 1:] = 255
    colors = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0]
    for k, (x, y) in enumerate(points):
        if np.isfinite(x) and np.isfinite(y):
            cv2.circle(img, (int(round(x)), int(round(y))), radius,
                       tuple(int(c) for c in colors[k]), -1)
    return img


def write_video_with_metadata(path: str | os.PathLike, frames, fps: float,
                              metadata: dict[str, str] | None = None) -> Path:
    """Write frames with PyAV keeping the given container/stream metadata (like a phone does).

    Used to check that infantpose's outputs do *not* carry such tags. Nearly lossless H.264
    (mpeg4 if no H.264 encoder) so colours survive.
    """
    import av

    frames = list(frames)
    h, w = frames[0].shape[:2]
    p = Path(path)
    with av.open(str(p), mode="w") as c:
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        s = c.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        s.width, s.height, s.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
            s.codec_context.options = {"crf": "4", "preset": "veryfast"}
        else:
            s.codec_context.bit_rate = 8_000_000
        for k, v in (metadata or {}).items():
            c.metadata[k] = v
            s.metadata[k] = v
        for f in frames:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            for pkt in s.encode(vf):
                c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return p


def make_clip(path: str | os.PathLike | None, schema: Schema | str = "coco17", n_frames: int = 30,
              size: tuple[int, int] = (192, 160), fps: float = 15.0, seed: int = 0,
              face: bool = True, drift: float = 0.25,
              metadata: dict[str, str] | None = None) -> tuple[Poses, np.ndarray]:
    """Generate a clip; write it to ``path`` (unless None) and return (true Poses, frames).

    ``metadata`` (e.g. ``{"creation_time": ..., "location": ...}``) is embedded in the file.
    """
    s = get_schema(schema)
    pts = clip_trajectories(s, n_frames, size, fps, seed, drift)
    rng = np.random.default_rng(seed + 1)
    frames = np.stack([render_frame(p, s, size, rng, face) for p in pts])
    if path is not None:
        write_video_with_metadata(path, frames, fps, metadata)
    data = np.concatenate([pts, np.ones(pts.shape[:-1] + (1,))], -1)[:, None]
    truth = Poses(data, s, source=None if path is None else str(path), fps=fps, frame_size=size,
                  frame_indices=np.arange(n_frames))
    return truth, frames


@dataclass
class MarkerEstimator:
    """Finds :func:`make_clip`'s coloured keypoint markers; an Estimator for tests and benchmarks.

    With ``boxes`` it searches only inside them (one instance per box), without it the whole
    image. ``delay`` adds seconds per full-frame search scaled by searched area, to mimic a model
    whose cost grows with the image it looks at.
    """

    schema: Schema
    name: str = "markers"
    delay: float = 0.0
    min_pixels: int = 3

    def __post_init__(self) -> None:
        self.schema = get_schema(self.schema)
        self.calls = {"box": 0, "full": 0}

    def _find(self, rgb: np.ndarray, off: tuple[int, int]) -> np.ndarray:
        import cv2

        k = self.schema.num_keypoints
        out = np.full((k, 3), np.nan)
        out[:, 2] = 0.0
        if rgb.size == 0:
            return out
        hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV).astype(float)
        sat = (hsv[..., 1] > 120) & (hsv[..., 2] > 100)
        ys, xs = np.nonzero(sat)
        if xs.size == 0:
            return out
        hue = hsv[ys, xs, 0]
        hues = marker_hues(k)
        d = np.abs(hue[:, None] - hues[None, :])
        d = np.minimum(d, 180 - d)
        nearest = d.argmin(axis=1)
        close = d[np.arange(len(d)), nearest] < (90.0 / k)
        for j in range(k):
            sel = close & (nearest == j)
            n = int(sel.sum())
            if n >= self.min_pixels:
                out[j, 0] = xs[sel].mean() + off[0]
                out[j, 1] = ys[sel].mean() + off[1]
                out[j, 2] = min(1.0, n / 20.0)
        return out

    def predict(self, image: np.ndarray, boxes: np.ndarray | None = None) -> Poses:
        import time

        h, w = image.shape[:2]
        insts = []
        if boxes is None or len(boxes) == 0:
            self.calls["full"] += 1
            if self.delay:
                time.sleep(self.delay)
            insts.append(self._find(image, (0, 0)))
        else:
            for b in np.asarray(boxes, float).reshape(-1, 4):
                self.calls["box"] += 1
                x1, y1 = int(max(0, np.floor(b[0]))), int(max(0, np.floor(b[1])))
                x2, y2 = int(min(w, np.ceil(b[2]))), int(min(h, np.ceil(b[3])))
                if self.delay:
                    time.sleep(self.delay * max(0, (x2 - x1) * (y2 - y1)) / (w * h))
                insts.append(self._find(image[y1:y2, x1:x2], (x1, y1)))
        return Poses(np.stack(insts)[None], self.schema, frame_size=(w, h))


def create_marker_estimator(schema: Any = None, weights: Any = None, **options: Any
                            ) -> MarkerEstimator:
    """Factory in the estimator-registry form (``schema`` defaults to coco17; no weights)."""
    return MarkerEstimator(get_schema(schema or "coco17"), **options)
