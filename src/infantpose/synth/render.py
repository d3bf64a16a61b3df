"""Pure-numpy ray casting of ellipsoids with a z-buffer, and shading of skin, clothes and face.

Every pixel's ray is intersected analytically with each ellipsoid inside that ellipsoid's projected
bounding box (vectorised over the box), so the cost grows with the body's area in pixels, not with
a mesh. The result keeps, per pixel, the depth, the primitive and body part that won, the surface
normal and the hit point in the primitive's own unit-sphere coordinates — the last one gives
clothing patterns and facial features that move with the body.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from infantpose.synth.body import FACE_DIRS, PART_ID, Primitive
from infantpose.synth.camera import Camera

__all__ = ["OCCLUDER_PART", "Material", "RayBuffers", "raycast", "shade_body"]

OCCLUDER_PART = 100  # part id of toys and blankets drawn over the infant


@dataclass
class RayBuffers:
    """Per-pixel results of ray casting (H, W): depth (inf = nothing), primitive index, part id
    (-1 = background), normal (H, W, 3) in camera coordinates, hit point in unit-sphere space."""

    depth: np.ndarray
    prim: np.ndarray
    part: np.ndarray
    normal: np.ndarray
    local: np.ndarray

    @property
    def body_mask(self) -> np.ndarray:
        return (self.part >= 0) & (self.part < OCCLUDER_PART)


def raycast(prims: list[Primitive], cam: Camera, near: float = 1.0) -> RayBuffers:
    """Intersect every pixel ray with every ellipsoid; keep the nearest hit per pixel."""
    H, W = cam.height, cam.width
    depth = np.full((H, W), np.inf, dtype=np.float32)
    prim_idx = np.full((H, W), -1, dtype=np.int32)
    part = np.full((H, W), -1, dtype=np.int32)
    normal = np.zeros((H, W, 3), dtype=np.float32)
    local = np.zeros((H, W, 3), dtype=np.float32)
    signs = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)
    for i, p in enumerate(prims):
        c = cam.R @ (p.center - cam.C)
        Rc = cam.R @ p.R
        corners = c + (signs * p.radii) @ Rc.T
        if np.any(corners[:, 2] <= near):
            continue
        u = cam.f * corners[:, 0] / corners[:, 2] + cam.cx
        v = cam.f * corners[:, 1] / corners[:, 2] + cam.cy
        x0, x1 = max(int(np.floor(u.min())), 0), min(int(np.ceil(u.max())) + 1, W)
        y0, y1 = max(int(np.floor(v.min())), 0), min(int(np.ceil(v.max())) + 1, H)
        if x0 >= x1 or y0 >= y1:
            continue
        xs = (np.arange(x0, x1, dtype=np.float64) + 0.5 - cam.cx) / cam.f
        ys = (np.arange(y0, y1, dtype=np.float64) + 0.5 - cam.cy) / cam.f
        # Ray directions d = (x, y, 1); in unit-sphere space d' = x·dx + y·dy + dz with
        # dx, dy, dz the rows of R^T / r, and o' = -(R^T c) / r. The quadratic's coefficients
        # a = d'·d' and b = d'·o' are polynomials in (x, y): evaluate them from 1-D pieces.
        inv = 1.0 / p.radii
        o = -(Rc.T @ c) * inv
        dx = Rc[0] * inv
        dy = Rc[1] * inv
        dz = Rc[2] * inv
        X, Y = xs[None, :], ys[:, None]
        a = (X * X * (dx @ dx) + 2 * X * (dx @ dz) + (dz @ dz)) \
            + Y * (Y * (dy @ dy) + 2 * (dy @ dz)) + 2 * (dx @ dy) * (X * Y)
        b = X * (dx @ o) + (Y * (dy @ o) + dz @ o)
        cc = o @ o - 1.0
        disc = b * b - a * cc
        hit = disc > 0
        if not hit.any():
            continue
        t = np.full(disc.shape, np.inf)
        t[hit] = (-b[hit] - np.sqrt(disc[hit])) / a[hit]
        sub = depth[y0:y1, x0:x1]
        win = hit & (t > near) & (t < sub)
        if not win.any():
            continue
        iy, ix = np.nonzero(win)
        d = xs[ix, None] * dx + ys[iy, None] * dy + dz
        tw = t[win]
        q = o + tw[:, None] * d  # hit points, unit-sphere space
        n = (q * inv) @ Rc.T  # gradient of the implicit function, in camera space
        n /= np.linalg.norm(n, axis=-1, keepdims=True)
        sub[win] = tw
        prim_idx[y0:y1, x0:x1][win] = i
        part[y0:y1, x0:x1][win] = p.part
        normal[y0:y1, x0:x1][win] = n
        local[y0:y1, x0:x1][win] = q
    return RayBuffers(depth, prim_idx, part, normal, local)


@dataclass
class Material:
    """How the body is dressed and lit."""

    skin: np.ndarray  # RGB in [0, 1]
    cloth: np.ndarray
    cloth2: np.ndarray  # pattern colour
    pattern: str  # "plain", "stripes", "dots"
    pattern_freq: float
    clothed_parts: frozenset[int]
    diaper_parts: frozenset[int]
    hair: np.ndarray | None
    eyes_open: bool
    light_dir: np.ndarray  # towards the light, camera coordinates
    ambient: float
    diffuse: float
    tint: np.ndarray  # light colour


_HEAD, _NOSE = PART_ID["head"], PART_ID["nose"]


def _face(albedo: np.ndarray, q: np.ndarray, mat: Material, skin: np.ndarray) -> None:
    """Paint eyes, brows, mouth, cheeks and hair onto head pixels (q: unit-sphere points)."""
    qn = q / np.maximum(np.linalg.norm(q, axis=-1, keepdims=True), 1e-6)
    x, y, z = qn[..., 0], qn[..., 1], qn[..., 2]
    for side in ("left_eye", "right_eye"):
        e = FACE_DIRS[side] / np.linalg.norm(FACE_DIRS[side])
        dxy = (x - e[0]) / 0.13, (y - e[1]) / (0.075 if mat.eyes_open else 0.03)
        r2 = dxy[0] ** 2 + dxy[1] ** 2
        front = z > 0.5
        if mat.eyes_open:
            albedo[front & (r2 < 1.0)] = (0.93, 0.92, 0.9)
            iris = ((x - e[0]) / 0.07) ** 2 + ((y - e[1]) / 0.07) ** 2
            albedo[front & (iris < 1.0) & (r2 < 1.0)] = (0.12, 0.08, 0.06)
        else:
            albedo[front & (r2 < 1.0)] = skin * 0.45
        # Eyebrow: a faint arc above the eye.
        b = ((x - e[0]) / 0.15) ** 2 + ((y - e[1] - 0.16) / 0.03) ** 2
        albedo[front & (b < 1.0)] = albedo[front & (b < 1.0)] * 0.72
        cheek = ((x - e[0] * 1.35) / 0.16) ** 2 + ((y + 0.28) / 0.13) ** 2
        m = front & (cheek < 1.0)
        albedo[m] = albedo[m] * np.array([1.02, 0.9, 0.9])
    mth = FACE_DIRS["mouth"] / np.linalg.norm(FACE_DIRS["mouth"])
    r2 = ((x - mth[0]) / 0.17) ** 2 + ((y - mth[1]) / 0.045) ** 2
    albedo[(z > 0.5) & (r2 < 1.0)] = skin * np.array([0.85, 0.45, 0.45])
    if mat.hair is not None:
        h = (y > 0.35 - 0.4 * np.clip(-z, 0, 1)) & (z < 0.72)
        albedo[h] = mat.hair


def shade_body(buf: RayBuffers, prims: list[Primitive], mat: Material) -> np.ndarray:
    """RGB float image (H, W, 3) of the body pixels (zeros elsewhere)."""
    H, W = buf.depth.shape
    out = np.zeros((H, W, 3), dtype=np.float32)
    m = buf.body_mask
    if not m.any():
        return out
    part = buf.part[m]
    q = buf.local[m].astype(np.float64)
    n = buf.normal[m].astype(np.float64)
    albedo = np.tile(mat.skin, (len(part), 1))
    clothed = np.isin(part, list(mat.clothed_parts))
    if clothed.any():
        c = np.tile(mat.cloth, (int(clothed.sum()), 1))
        qc = q[clothed]
        if mat.pattern == "stripes":
            s = np.sin(qc[:, 1] * mat.pattern_freq) > 0.3
            c[s] = mat.cloth2
        elif mat.pattern == "dots":
            g = np.sin(qc * mat.pattern_freq)
            s = (g[:, 0] * g[:, 1] * g[:, 2]) > 0.25
            c[s] = mat.cloth2
        albedo[clothed] = c
    diaper = np.isin(part, list(mat.diaper_parts)) & ~clothed
    albedo[diaper] = (0.93, 0.93, 0.9)
    head = part == _HEAD
    if head.any():
        sub = albedo[head]
        _face(sub, q[head], mat, mat.skin)
        albedo[head] = sub
    L = mat.light_dir / np.linalg.norm(mat.light_dir)
    ndl = n @ L
    wrap = 0.35
    diff = np.clip((ndl + wrap) / (1 + wrap), 0, 1)
    facing = np.clip(-n[:, 2], 0, 1)
    rim = 0.72 + 0.28 * np.sqrt(facing)
    skinlike = ~(clothed | diaper)
    # Skin: warm subsurface-like tone in the shadowed side, a soft highlight on the lit side.
    shade = (mat.ambient + mat.diffuse * diff)[:, None] * rim[:, None]
    col = albedo * shade
    col[skinlike] *= (1 + 0.06 * (1 - diff[skinlike]))[:, None] * np.array([1.0, 0.96, 0.95])
    hv = L + np.array([0, 0, -1.0])
    hv /= np.linalg.norm(hv)
    spec = np.clip(n @ hv, 0, 1) ** 24 * np.where(skinlike, 0.12, 0.03)
    col += spec[:, None]
    out[m] = (col * mat.tint).astype(np.float32)
    return out
