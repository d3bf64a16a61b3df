"""Scenes and samples: sample an infant, a camera and a room; render; label.

A :class:`Scene` holds everything that stays fixed while the infant moves (body shape, clothes,
camera, mattress, blanket, toys, wires, style); :func:`render_frame` draws one pose of it and
returns the image with exact labels. :func:`generate` and :func:`write_dataset` make image sets;
:mod:`infantpose.synth.clips` makes videos from the same pieces.

Every image ``i`` of seed ``s`` uses its own random stream ``default_rng([s, i])``, so a dataset is
reproducible byte for byte and image ``i`` does not depend on how many images are made.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from infantpose._atomic import ensure_writable_dir
from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.io.coco import write_coco
from infantpose.io import images as image_io  # write_image looked up per call: tests interrupt it
from infantpose.poses import Poses
from infantpose.schemas import Schema, get_schema
from infantpose.synth.body import (
    KEYPOINT_NAMES,
    PART_ID,
    Body,
    BodyShape,
    Pose,
    Primitive,
    pose_body,
    sample_shape,
)
from infantpose.synth.camera import Camera, look_at
from infantpose.synth.labels import mask_box, project_keypoints, visibility
from infantpose.synth.poses import POSTURE_WEIGHTS, POSTURES, ranges_with, sample_pose
from infantpose.synth.render import OCCLUDER_PART, Material, RayBuffers, raycast, shade_body
from infantpose.synth.scene import (
    SKIN_TONES,
    Style,
    apply_shadow,
    blanket_mask,
    camera_artefacts,
    desaturate,
    draw_clutter,
    draw_wires,
    get_style,
    sample_artefacts,
    texture,
)

__all__ = [
    "FRAMINGS",
    "Sample",
    "Scene",
    "check_schema",
    "generate",
    "parse_size",
    "render_frame",
    "render_sample",
    "sample_scene",
    "write_dataset",
]

# Phone and NICU camera framings (width, height), landscape and portrait.
FRAMINGS = ((640, 480), (480, 640), (1280, 720), (720, 1280), (960, 720), (854, 480))


def check_schema(schema: Schema | str) -> Schema:
    """The schema, if every keypoint of it is a point of the synthetic body (else InputError)."""
    try:
        s = get_schema(schema)
    except InputError:
        raise
    except (KeyError, ValueError):
        raise InputError(None, f"unknown schema {schema!r}; use infant22 or coco17") from None
    missing = [k for k in s.keypoints if k not in KEYPOINT_NAMES]
    if missing:
        raise InputError(None, f"schema {s.name} is not supported by the synthetic body "
                               f"(no {', '.join(missing[:3])}); use infant22 or coco17")
    return s


def parse_size(text: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"640x480"`` → (640, 480); None stays None (random phone/NICU framing)."""
    if text is None or isinstance(text, tuple):
        return text
    try:
        w, h = (int(v) for v in str(text).lower().split("x"))
    except ValueError:
        raise InputError(None, f"size {text!r} must look like WIDTHxHEIGHT, e.g. 640x480") from None
    if not (16 <= w <= 8192 and 16 <= h <= 8192):
        raise InputError(None, f"size {text!r} out of range (16..8192 pixels per side)")
    return w, h


@dataclass
class Scene:
    """Everything but the pose: fixed for all frames of a clip."""

    style: Style
    posture: str
    shape: BodyShape
    camera: Camera
    material: Material
    background: np.ndarray  # (H, W, 3) float, shadow not yet applied
    shadow: float
    shadow_offset: tuple[float, float]
    artefacts: dict  # camera settings (scene.sample_artefacts)
    toys: list[tuple[Primitive, np.ndarray]] = field(default_factory=list)
    blanket: tuple[np.ndarray, np.ndarray] | None = None  # (mask, texture)
    wires: tuple[np.ndarray, np.ndarray] | None = None  # (mask, colours)


@dataclass
class Sample:
    """A rendered image and its exact labels (all keypoints of the synthetic body)."""

    image: np.ndarray  # (H, W, 3) uint8 RGB
    names: tuple[str, ...]
    keypoints: np.ndarray  # (K, 2) pixels; NaN where out of frame
    visibility: np.ndarray  # (K,) 0/1/2
    box: np.ndarray  # (4,) x, y, w, h of the body (amodal) mask
    buffers: RayBuffers
    body: Body
    posture: str
    style: str

    @property
    def mask(self) -> np.ndarray:
        """Visible body pixels (after occluders)."""
        return self.buffers.body_mask


def _material(style: Style, rng: np.random.Generator) -> Material:
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.94, 1.04) \
        + rng.normal(0, 0.015, 3)
    if style.desaturate > 0:  # photographed skin reads paler than its albedo
        skin = desaturate(skin, 0.5 * style.desaturate).astype(float)
    cloth = desaturate(np.array(style.cloth_colors[rng.integers(len(style.cloth_colors))]),
                       style.desaturate)
    cloth2 = desaturate(np.array(style.cloth_colors[rng.integers(len(style.cloth_colors))]),
                        style.desaturate)
    kind = style.clothing[rng.integers(len(style.clothing))]
    P = PART_ID
    sides = ("left", "right")
    clothed = {P["trunk"], P["pelvis"]}
    if kind == "onesie_long":
        clothed |= {P[f"{s}_{p}"] for s in sides for p in ("upper_arm", "forearm", "thigh", "shank")}
        if rng.random() < 0.4:
            clothed |= {P["left_foot"], P["right_foot"]}
    elif kind == "onesie_short":
        clothed |= {P[f"{s}_{p}"] for s in sides for p in ("upper_arm", "thigh")}
    elif kind == "diaper":
        clothed = set()
    hair = None
    if rng.random() < 0.6:
        hair = np.array([0.12, 0.08, 0.05]) * rng.uniform(0.6, 2.5)
        if rng.random() < 0.2:
            hair = np.array([0.75, 0.6, 0.35])
    light = np.array([rng.uniform(-0.8, 0.8), rng.uniform(-0.8, 0.8), -1.0])
    amb, dif = style.light
    return Material(
        skin=np.clip(skin, 0, 1), cloth=cloth, cloth2=cloth2,
        pattern=("plain", "stripes", "dots")[rng.integers(3)],
        pattern_freq=float(rng.uniform(6, 16)), clothed_parts=frozenset(clothed),
        diaper_parts=frozenset({P["pelvis"]}), hair=hair, eyes_open=bool(rng.random() < 0.6),
        light_dir=light, ambient=amb * rng.uniform(0.85, 1.15), diffuse=dif * rng.uniform(0.8, 1.2),
        tint=np.array(style.tints[rng.integers(len(style.tints))]))


def _frame_camera(body: Body, posture: str, style: Style, size: tuple[int, int],
                  rng: np.random.Generator) -> Camera:
    """Camera above the cot with the infant filling a random share of the frame."""
    w, h = size
    if posture == "sitting":
        el = rng.uniform(25, 65)
    elif posture == "crawling":
        el = rng.uniform(20, 70)
    else:
        el = rng.uniform(*style.elevation)
    az = rng.uniform(0, 360)
    roll = rng.uniform(0, 360) if el > 70 else rng.normal(0, 8)
    hfov = rng.uniform(50, 72)
    pts = body.keypoint_array(KEYPOINT_NAMES)
    center = (pts.min(axis=0) + pts.max(axis=0)) / 2
    if style.orientation_bins is not None and posture not in ("sitting", "crawling"):
        roll = _roll_for_orientation(body, center, el, az, roll, hfov, size, style, rng)
    fill = rng.uniform(*style.fill)
    dist = 100.0
    for _ in range(3):  # perspective is not linear in distance when the body has depth
        cam = look_at(center, el, az, dist, roll, hfov, w, h)
        uv, z = cam.project(pts)
        ext = max(np.ptp(uv[:, 0]) / w, np.ptp(uv[:, 1]) / h) * 1.15  # margin: limb widths
        new = dist * ext / fill
        # A phone or camera stays >= ~40 cm from the nearest body point.
        dist = max(new, dist - z.min() + 40.0 * body.scale)
    cam = look_at(center, el, az, dist, roll, hfov, w, h)
    uv, _ = cam.project(pts)
    mid = (uv.min(axis=0) + uv.max(axis=0)) / 2
    span = np.ptp(uv, axis=0)
    # Random placement; now and then the infant is partly out of the frame.
    slack = np.maximum(np.array([w, h]) - span * 1.15, 0) / 2
    if rng.random() < 0.08:
        slack = slack + span * 0.3
    want = np.array([w, h]) / 2 + rng.uniform(-1, 1, 2) * slack
    shift_px = want - mid
    # Move the target so the image content moves by -shift (pinhole at the body's depth).
    shift_world = -(shift_px[0] * cam.R[0] + shift_px[1] * cam.R[1]) * dist / cam.f
    return look_at(center + shift_world, el, az, dist, roll, hfov, w, h)


def image_orientation(body: Body, cam: Camera) -> float:
    """Angle (degrees, (-180, 180]) of the hip-centre → shoulder-centre axis in the image:
    0 = head up, 90 = head to the right (the ``orientation`` of :mod:`infantpose.synth.stats`)."""
    uv, _ = cam.project(body.keypoint_array(("left_shoulder", "right_shoulder", "left_hip",
                                             "right_hip")))
    ax = (uv[0] + uv[1]) / 2 - (uv[2] + uv[3]) / 2
    return float(np.degrees(np.arctan2(ax[0], -ax[1])))


def _roll_for_orientation(body: Body, center: np.ndarray, el: float, az: float, roll: float,
                          hfov: float, size: tuple[int, int], style: Style,
                          rng: np.random.Generator) -> float:
    """Camera roll that puts the body axis at an image angle drawn from the style's histogram
    (``orientation_bins``: weights of 30° bins from -180°; photos are mostly head-up).

    Rolling the camera turns the image rigidly, so the axis angle moves by the roll change; the
    sign is read off one trial projection rather than assumed.
    """
    w = np.asarray(style.orientation_bins, float)
    k = int(rng.choice(len(w), p=w / w.sum()))
    width = 360.0 / len(w)
    target = -180.0 + width * (k + rng.uniform(0, 1))
    w_, h_ = size
    a0 = image_orientation(body, look_at(center, el, az, 100.0, roll, hfov, w_, h_))
    a1 = image_orientation(body, look_at(center, el, az, 100.0, roll + 10.0, hfov, w_, h_))
    sign = 1.0 if ((a1 - a0 + 180) % 360 - 180) > 0 else -1.0
    return float(roll + sign * ((target - a0 + 180) % 360 - 180))


def style_shape(style: Style, rng: np.random.Generator) -> BodyShape:
    """A random infant shape for ``style``: size from the style's range, the style's segment
    proportions (each jittered ±6 % per infant when the style sets them)."""
    shape = sample_shape(rng)
    extra = {}
    for name, val in style.proportions:
        extra[name] = float(val * rng.uniform(0.94, 1.06))
    return BodyShape(scale=float(rng.uniform(*style.scale)), chub=shape.chub, head=shape.head,
                     limb=shape.limb, **extra)


def sample_scene(rng: np.random.Generator, size: tuple[int, int] | None = None,
                 style: str = "home", posture: str | None = None) -> tuple[Scene, Pose]:
    """A random scene and the initial pose of its infant."""
    st = get_style(style)
    if posture is None:
        pw = POSTURE_WEIGHTS if st.posture_weights is None else np.asarray(st.posture_weights)
        posture = str(rng.choice(POSTURES, p=pw / pw.sum()))
    if size is None:
        size = FRAMINGS[rng.integers(len(FRAMINGS))]
    w, h = size
    shape = style_shape(st, rng)
    ranges = ranges_with(posture, st.angle_ranges) if st.angle_ranges else None
    pose = sample_pose(posture, shape, rng, ranges=ranges)
    body = pose_body(shape, pose)
    cam = _frame_camera(body, posture, st, (w, h), rng)
    mat = _material(st, rng)
    bg = texture(rng, h, w, st)
    if st.clutter > 0 and rng.random() < st.clutter:
        bg = draw_clutter(bg, rng, st)
    if rng.random() < 0.5:  # a second fabric (blanket under the baby, mattress edge)
        other = texture(rng, h, w, st)
        th = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:h, 0:w]
        sel = ((xx - w / 2) * np.cos(th) + (yy - h / 2) * np.sin(th)) > rng.uniform(0.2, 0.5) * max(w, h)
        bg[sel] = other[sel]
    off = rng.uniform(-0.015, 0.015, 2) * max(h, w)
    scene = Scene(style=st, posture=posture, shape=shape, camera=cam, material=mat,
                  background=bg, shadow=float(rng.uniform(0.2, 0.45)),
                  shadow_offset=(float(off[0]), float(off[1])),
                  artefacts=sample_artefacts(rng, st, h, w))
    # Toys lying on/over the infant.
    if rng.random() < st.p_toy:
        for _ in range(int(rng.integers(1, 3))):
            anchor = body.keypoints[KEYPOINT_NAMES[rng.integers(len(KEYPOINT_NAMES))]]
            r = rng.uniform(2.0, 5.0) * shape.scale
            c = anchor + np.array([*rng.normal(0, 4.0, 2), rng.uniform(4, 10)])
            radii = r * np.array([1.0, rng.uniform(0.6, 1.4), rng.uniform(0.6, 1.0)])
            a = rng.uniform(0, 2 * np.pi)
            R = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
            col = np.array([[0.9, 0.2, 0.2], [0.2, 0.5, 0.9], [0.95, 0.8, 0.15],
                            [0.3, 0.75, 0.35], [0.95, 0.55, 0.75]])[rng.integers(5)]
            scene.toys.append((Primitive(c, R, radii, OCCLUDER_PART, "toy"), col))
    if rng.random() < st.p_blanket:
        # A blanket over the lower body: its edge crosses the body axis between the belly and
        # the knees, so the head and usually the arms stay uncovered.
        uv, _ = cam.project(body.keypoint_array(("left_shoulder", "right_shoulder", "left_hip",
                                                 "right_hip")))
        sh, hp = uv[:2].mean(axis=0), uv[2:].mean(axis=0)
        start = hp + (hp - sh) * rng.uniform(-0.35, 0.9)
        scene.blanket = (blanket_mask(h, w, start, hp - sh, rng), texture(rng, h, w, st))
    if rng.random() < st.p_wires:
        scene.wires = draw_wires(h, w, rng, int(rng.integers(1, 4)))
    return scene, pose


def render_frame(scene: Scene, pose: Pose, names: tuple[str, ...], rng: np.random.Generator
                 ) -> Sample:
    """Render one pose of ``scene`` and label the keypoints ``names`` (``rng``: sensor noise)."""
    body = pose_body(scene.shape, pose)
    cam = scene.camera
    prims = list(body.primitives) + [t[0] for t in scene.toys]
    buf = raycast(prims, cam)
    body_mask = buf.body_mask.copy()
    box = mask_box(body_mask)
    img = apply_shadow(scene.background, body_mask | (buf.part == OCCLUDER_PART),
                       scene.shadow_offset, scene.shadow)
    col = shade_body(buf, prims, scene.material)
    img = np.where(body_mask[..., None], col, img)
    if scene.toys:
        L = scene.material.light_dir / np.linalg.norm(scene.material.light_dir)
        for i, (_, c) in enumerate(scene.toys):
            m = buf.prim == len(body.primitives) + i
            if m.any():
                d = np.clip(buf.normal[m] @ L, 0, 1)
                img[m] = c * (0.45 + 0.6 * d)[:, None]
    if scene.blanket is not None:
        bm, tex = scene.blanket
        # A thick blanket: soft shadow just outside its edge, darker rolled edge inside it.
        k = max(3, int(0.02 * max(bm.shape)) | 1)
        soft = cv2.GaussianBlur(bm.astype(np.float32), (k, k), 0)
        img = img * (1 - 0.45 * soft * ~bm)[..., None]
        img = np.where(bm[..., None], tex * (0.75 + 0.25 * soft)[..., None], img)
        buf.part[bm] = OCCLUDER_PART
        buf.depth[bm] = 0.0
    if scene.wires is not None:
        wm, wc = scene.wires
        img = np.where(wm[..., None], wc, img)
        buf.part[wm] = OCCLUDER_PART
        buf.depth[wm] = 0.0
    uv, depth = project_keypoints(body, names, cam)
    vis = visibility(uv, depth, names, buf, body.scale * scene.shape.chub)
    kps = uv.copy()
    kps[vis == 0] = np.nan
    image = camera_artefacts(img.astype(np.float32), scene.artefacts, rng)
    return Sample(image=image, names=tuple(names), keypoints=kps, visibility=vis, box=box,
                  buffers=buf, body=body, posture=scene.posture, style=scene.style.name)


def render_sample(seed: int, index: int, schema: Schema | str = "infant22",
                  size: tuple[int, int] | None = None, style: str = "home",
                  posture: str | None = None) -> Sample:
    """Image ``index`` of the set made with ``seed`` (independent of the set's size)."""
    s = check_schema(schema)
    rng = np.random.default_rng([int(seed), int(index)])
    scene, pose = sample_scene(rng, size=size, style=style, posture=posture)
    return render_frame(scene, pose, s.keypoints, rng)


def _check_n(n: int) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise InputError(None, f"number of images must be a positive integer, got {n!r}")
    return int(n)


def _dataset(samples_meta: list[tuple[str, tuple[int, int], np.ndarray, np.ndarray, np.ndarray]],
             schema: Schema, root: Path, meta: dict) -> LabeledDataset:
    F, K = len(samples_meta), schema.num_keypoints
    poses = Poses.empty(schema, F, 1, source="infantpose.synth",
                        frame_names=[s[0] for s in samples_meta],
                        image_sizes=[s[1] for s in samples_meta], meta=dict(meta))
    vis = np.zeros((F, 1, K), dtype=int)
    boxes = np.full((F, 1, 4), np.nan)
    for f, (_, _, kps, v, box) in enumerate(samples_meta):
        lab = v > 0
        poses.data[f, 0, lab, :2] = kps[lab]
        poses.data[f, 0, lab, 2] = 1.0
        vis[f, 0] = v
        boxes[f, 0] = box
    return LabeledDataset(poses=poses, visibility=vis, boxes=boxes, root=root,
                          domains=["synthetic"] * F, meta=dict(meta))


def generate(n: int, schema: Schema | str = "infant22", seed: int = 0,
             size: tuple[int, int] | str | None = (640, 480), style: str = "home",
             progress: Callable[[int], None] | None = None):
    """``n`` synthetic images and their labels: ``(images, LabeledDataset)``.

    Images are RGB uint8 arrays; the dataset's image names are ``synth_000000.jpg``, … (what
    :func:`write_dataset` writes), its root the current folder, every domain ``"synthetic"``.
    ``size`` is (width, height), ``"WxH"`` or None for random phone/NICU framings.
    """
    n = _check_n(n)
    s = check_schema(schema)
    size = parse_size(size)
    get_style(style)
    images, rows = [], []
    for i in range(n):
        smp = render_sample(seed, i, s, size=size, style=style)
        images.append(smp.image)
        rows.append((f"synth_{i:06d}.jpg", (smp.image.shape[1], smp.image.shape[0]),
                     smp.keypoints, smp.visibility, smp.box))
        if progress is not None:
            progress(1)
    meta = {"generator": "infantpose.synth", "seed": int(seed), "style": style}
    return images, _dataset(rows, s, Path("."), meta)


def write_dataset(out_dir: str | os.PathLike, n: int, schema: Schema | str = "infant22",
                  seed: int = 0, size: tuple[int, int] | str | None = None,
                  style: str = "home", quality: int = 95,
                  progress: Callable[[int], None] | None = None):
    """Render ``n`` images into ``out_dir/images/`` and write ``out_dir/annotations.json``
    (COCO keypoints, ``domain: "synthetic"`` plus ``posture``/``style`` per image).

    Returns the :class:`~infantpose.datasets.LabeledDataset` (root = ``out_dir``). Images stream
    to disk one at a time, so memory does not grow with ``n``. Each file is written atomically;
    the JSON is written last, so an interrupted run leaves no annotation file.
    """
    n = _check_n(n)
    s = check_schema(schema)
    size = parse_size(size)
    get_style(style)
    out = ensure_writable_dir(out_dir)
    ensure_writable_dir(out / "images")
    rows, extra = [], []
    for i in range(n):
        smp = render_sample(seed, i, s, size=size, style=style)
        name = f"images/synth_{i:06d}.jpg"
        image_io.write_image(out / name, smp.image, quality=quality)
        rows.append((name, (smp.image.shape[1], smp.image.shape[0]), smp.keypoints,
                     smp.visibility, smp.box))
        extra.append({"posture": smp.posture, "style": smp.style})
        if progress is not None:
            progress(1)
    meta = {"generator": "infantpose.synth", "seed": int(seed), "style": style}
    ds = _dataset(rows, s, out, meta)
    write_coco(ds, out / "annotations.json", extra_image_fields=extra)
    return ds
