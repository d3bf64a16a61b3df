"""Everything around the body: styles, mattress/blanket textures, shadows, occluders, camera
artefacts (lighting gradients, blur, sensor noise, JPEG).

A *style* is a domain: ``"home"`` (phone videos at home: patterned blankets, warm light, clothes),
``"nicu"`` (neonatal unit: plain hospital sheets, cool light, small babies in diapers, wires,
noisy and sometimes greyscale infrared cameras) and ``"studio"`` (plain backgrounds, even light,
clean images). Training on one style and testing on another mimics a synthetic→real domain gap.
``"photo"`` is ``home`` fitted to real infant photos (posture mix, joint ranges, proportions,
orientation in the frame, saturation, contrast, sharpness, room clutter) from the statistics of
``benchmarks/synth_vs_real.py``; use it when renders are mixed with real photos for training.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import cv2
import numpy as np

__all__ = [
    "SKIN_TONES",
    "STYLES",
    "Style",
    "apply_shadow",
    "blanket_mask",
    "camera_artefacts",
    "desaturate",
    "draw_clutter",
    "draw_wires",
    "grain_map",
    "get_style",
    "sample_artefacts",
    "texture",
]

# sRGB skin albedos from very light to very dark (Fitzpatrick I–VI), plus newborn pink.
SKIN_TONES = np.array([
    [0.97, 0.82, 0.72], [0.94, 0.76, 0.64], [0.88, 0.68, 0.55], [0.80, 0.60, 0.46],
    [0.70, 0.50, 0.36], [0.56, 0.39, 0.27], [0.42, 0.28, 0.20], [0.96, 0.74, 0.68],
])


@dataclass(frozen=True)
class Style:
    name: str
    bg_colors: tuple[tuple[float, float, float], ...]
    patterns: tuple[str, ...]
    cloth_colors: tuple[tuple[float, float, float], ...]
    clothing: tuple[str, ...]  # onesie_long, onesie_short, sleeveless, diaper
    light: tuple[float, float]  # ambient, diffuse
    tints: tuple[tuple[float, float, float], ...]
    noise: tuple[float, float]
    blur: tuple[float, float]
    jpeg: tuple[int, int]
    p_blanket: float
    p_toy: float
    p_wires: float
    p_gray: float
    scale: tuple[float, float]  # body scale range (NICU: preterm/newborn)
    elevation: tuple[float, float]  # camera elevation for lying postures
    fill: tuple[float, float]  # body extent / min(image side)
    # Optional realism settings (``photo`` style; None/0 keeps the original behaviour and random
    # streams of the other styles byte for byte).
    posture_weights: tuple[float, ...] | None = None  # over poses.POSTURES
    angle_ranges: tuple[tuple[str, str, float, float], ...] = ()  # (posture or "*", angle, lo, hi)
    proportions: tuple[tuple[str, float], ...] = ()  # BodyShape length multipliers
    orientation_bins: tuple[float, ...] | None = None  # image angle of hip→shoulder, 30° bins
    desaturate: float = 0.0  # mix fabric colours towards their grey by this fraction
    grain: float = 0.0  # amplitude of fine fabric weave in the mattress/blanket textures
    clutter: float = 0.0  # probability of furniture/pillow/room shapes in the background
    light_range: tuple[float, float] = (0.0, 0.35)  # light fall-off strength across the frame
    exposure: tuple[float, float] = (0.8, 1.1)


_PASTELS = ((0.95, 0.75, 0.8), (0.7, 0.82, 0.95), (0.95, 0.93, 0.75), (0.75, 0.92, 0.8),
            (0.95, 0.95, 0.95), (0.85, 0.78, 0.95), (0.98, 0.85, 0.7))
_STRONG = ((0.85, 0.2, 0.25), (0.2, 0.35, 0.75), (0.25, 0.6, 0.35), (0.95, 0.75, 0.2),
           (0.55, 0.3, 0.6), (0.3, 0.3, 0.35), (0.9, 0.5, 0.2))

_HOME = Style(
    "home", bg_colors=_PASTELS + _STRONG + ((0.6, 0.45, 0.35), (0.9, 0.88, 0.82)),
    patterns=("plain", "stripes", "checks", "dots", "plain", "checks"),
    cloth_colors=_PASTELS + _STRONG,
    clothing=("onesie_long", "onesie_short", "sleeveless", "diaper", "onesie_short"),
    light=(0.42, 0.7), tints=((1.0, 0.95, 0.85), (1.0, 1.0, 1.0), (1.0, 0.9, 0.78)),
    noise=(0.005, 0.03), blur=(0.0, 1.2), jpeg=(45, 92), p_blanket=0.3, p_toy=0.3,
    p_wires=0.0, p_gray=0.0, scale=(0.95, 1.35), elevation=(55, 90), fill=(0.7, 1.05))


STYLES: dict[str, Style] = {
    "home": _HOME,
    "nicu": Style(
        "nicu", bg_colors=((0.92, 0.93, 0.95), (0.75, 0.85, 0.92), (0.8, 0.9, 0.85),
                           (0.95, 0.95, 0.9), (0.6, 0.72, 0.8)),
        patterns=("plain", "plain", "stripes", "dots"),
        cloth_colors=((0.95, 0.95, 0.95), (0.8, 0.88, 0.95), (0.95, 0.85, 0.88)),
        clothing=("diaper", "diaper", "diaper", "sleeveless", "onesie_short"),
        light=(0.5, 0.55), tints=((0.9, 0.97, 1.0), (0.92, 1.0, 0.95), (1.0, 1.0, 1.0)),
        noise=(0.015, 0.05), blur=(0.4, 1.8), jpeg=(30, 80), p_blanket=0.35, p_toy=0.1,
        p_wires=0.6, p_gray=0.25, scale=(0.8, 1.05), elevation=(60, 90), fill=(0.6, 1.0)),
    "studio": Style(
        "studio", bg_colors=((0.97, 0.97, 0.97), (0.85, 0.85, 0.87), (0.3, 0.3, 0.32),
                             (0.75, 0.85, 0.95), (0.95, 0.9, 0.85)),
        patterns=("plain",),
        cloth_colors=_PASTELS + _STRONG,
        clothing=("onesie_long", "onesie_short", "sleeveless", "diaper"),
        light=(0.45, 0.65), tints=((1.0, 1.0, 1.0),),
        noise=(0.0, 0.01), blur=(0.0, 0.5), jpeg=(85, 97), p_blanket=0.1, p_toy=0.1,
        p_wires=0.0, p_gray=0.0, scale=(0.95, 1.3), elevation=(50, 90), fill=(0.6, 0.95)),
    # Phone photos of infants as in public infant photo sets, fitted to the measured gaps of
    # benchmarks/synth_vs_real.py on the 150 training photos of syrip-train200 (never the
    # validation photos); see docs/synth.md "Matching real photos".
    # The home scenes (backgrounds, clothes, light) with the camera, poses and body fitted.
    "photo": replace(
        _HOME, name="photo",
        noise=(0.01, 0.04), blur=(0.0, 0.3), jpeg=(75, 97), elevation=(40, 90), fill=(0.85, 1.3),
        # Real training photos: prone 0.45, supine 0.35, sitting 0.17, standing 0.03.
        posture_weights=(0.33, 0.38, 0.04, 0.17, 0.08),
        # Joint ranges and segment lengths fitted so the 2D medians and spreads of limb/torso
        # ratios and elbow/knee/hip/shoulder angles match the training photos.
        angle_ranges=(("*", "*_elbow_flex", 0, 100), ("*", "*_shoulder_abd", -10, 60),
                      ("*", "*_knee_flex", 35, 140), ("*", "spine_twist", -25, 25),
                      ("prone", "*_elbow_flex", 10, 120), ("prone", "*_shoulder_abd", 10, 80),
                      ("prone", "*_knee_flex", 25, 130)),
        proportions=(("upper_arm", 1.18), ("forearm", 1.1), ("thigh", 0.95), ("shank", 1.1),
                     ("shoulders", 0.88), ("hips", 1.12)),
        # hip→shoulder axis angle in the image, 30° bins from -180° (counts on the 150 photos:
        # mostly head-up, then head left/right, rarely head-down).
        orientation_bins=(3, 4, 15, 17, 7, 36, 27, 8, 20, 10, 0, 3),
        desaturate=0.45, grain=0.1, clutter=0.6, light_range=(0.0, 0.6),
        exposure=(0.8, 1.2)),
}


def get_style(name: str) -> Style:
    try:
        return STYLES[name]
    except KeyError:
        raise ValueError(f"unknown style {name!r}; choose from {', '.join(STYLES)}") from None


def desaturate(color: np.ndarray, amount: float) -> np.ndarray:
    """Move an RGB colour (or an array of them, last axis 3) towards its own grey by ``amount``
    (0 = unchanged, 1 = grey): real photos are less saturated than pure palette colours."""
    c = np.asarray(color, dtype=np.float32)
    if amount <= 0:
        return c
    grey = c @ np.array([0.299, 0.587, 0.114], np.float32)
    return (c + amount * (grey[..., None] - c)).astype(np.float32)


def grain_map(rng: np.random.Generator, h: int, w: int, amount: float) -> np.ndarray:
    """Multiplicative fine texture (H, W) around 1: knit/weave ripples plus per-pixel fibre
    noise, at full resolution (a real fabric shows detail down to the pixel in a sharp photo)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    th = rng.uniform(0, np.pi)
    period = rng.uniform(2.5, 6.0)
    weave = np.sin((xx * np.cos(th) + yy * np.sin(th)) * (2 * np.pi / period))
    weave *= np.sin((-xx * np.sin(th) + yy * np.cos(th)) * (2 * np.pi / (period * 1.3)))
    fibre = rng.standard_normal((h, w)).astype(np.float32)
    mix = rng.uniform(0.3, 1.0)
    return 1 + amount * rng.uniform(0.3, 1.6) * (mix * weave + (1 - mix) * 0.6 * fibre)


def draw_clutter(bg: np.ndarray, rng: np.random.Generator, style: Style) -> np.ndarray:
    """Paint room objects over a mattress texture: 1–3 large shapes entering from the image
    edges (cot sides and bars, a parent's lap or arm, furniture, pillows), in colours from very
    dark to very light. Real photos rarely show only a flat blanket; these raise the
    background's contrast and edge content to what photos show.
    """
    h, w = bg.shape[:2]
    out = bg.copy()
    palette = ((0.18, 0.13, 0.1), (0.35, 0.25, 0.18), (0.55, 0.42, 0.3), (0.25, 0.25, 0.27),
               (0.6, 0.6, 0.62), (0.92, 0.92, 0.9), (0.8, 0.72, 0.62), (0.12, 0.12, 0.14),
               (0.7, 0.55, 0.45), (0.45, 0.5, 0.6))
    for _ in range(int(rng.integers(1, 4))):
        col = desaturate(np.array(palette[rng.integers(len(palette))], np.float32)
                         * rng.uniform(0.85, 1.15), style.desaturate * 0.5)
        mask = np.zeros((h, w), np.uint8)
        kind = rng.integers(3)
        edge = rng.integers(4)
        depth = rng.uniform(0.08, 0.3) * (h if edge % 2 == 0 else w)
        if kind == 0:  # a band along one edge (cot side, furniture, floor)
            pts = np.array([[0, 0], [w, 0], [w, depth], [0, depth]], np.float32)
            pts[2:, 1] += rng.uniform(-0.1, 0.1, 2) * h
        elif kind == 1:  # bars along one edge
            pts = None
            gap = rng.uniform(0.05, 0.12) * w
            bw = max(2, int(gap * rng.uniform(0.15, 0.35)))
            for x in np.arange(rng.uniform(0, gap), w, gap):
                cv2.rectangle(mask, (int(x), 0), (int(x) + bw, int(depth)), 255, -1)
            cv2.rectangle(mask, (0, int(depth)), (w, int(depth) + bw), 255, -1)
        else:  # a big rounded shape (pillow, arm, lap) cut by the edge
            pts = None
            c = (int(rng.uniform(0, w)), int(rng.uniform(-0.1, 0.15) * h))
            ax = (int(rng.uniform(0.15, 0.45) * w), int(rng.uniform(0.1, 0.3) * h))
            cv2.ellipse(mask, c, ax, rng.uniform(-30, 30), 0, 360, 255, -1, cv2.LINE_AA)
        if pts is not None:
            cv2.fillPoly(mask, [pts.astype(np.int32)], 255, cv2.LINE_AA)
        mask = np.rot90(mask, int(edge))  # from the top, right, bottom or left edge
        mask = cv2.resize(np.ascontiguousarray(mask), (w, h), interpolation=cv2.INTER_NEAREST)
        m = mask.astype(np.float32)[..., None] / 255
        shade = 1 + rng.uniform(0.05, 0.25) * _lowfreq(rng, h, w, 3)[..., None]
        out = out * (1 - m) + (col * shade) * m
    return np.clip(out, 0, 1).astype(np.float32)


def _lowfreq(rng: np.random.Generator, h: int, w: int, cells: int) -> np.ndarray:
    """Smooth random field in [-1, 1] (bicubic upsampling of a coarse random grid)."""
    g = rng.uniform(-1, 1, size=(cells, cells)).astype(np.float32)
    return cv2.resize(g, (w, h), interpolation=cv2.INTER_CUBIC)


def texture(rng: np.random.Generator, h: int, w: int, style: Style) -> np.ndarray:
    """A fabric texture (H, W, 3) float32 in [0, 1]: base colour, pattern and folds.

    Drawn at half resolution and upsampled (fabric has no pixel-sharp detail after the camera's
    blur anyway), which keeps large framings cheap.
    """
    hs, ws = max(8, (h + 1) // 2), max(8, (w + 1) // 2)
    base = np.array(style.bg_colors[rng.integers(len(style.bg_colors))], dtype=np.float32)
    base = np.clip(base * rng.uniform(0.9, 1.05) + rng.normal(0, 0.02, 3), 0, 1).astype(np.float32)
    other = np.array(style.bg_colors[rng.integers(len(style.bg_colors))], dtype=np.float32)
    base, other = desaturate(base, style.desaturate), desaturate(other, style.desaturate)
    pattern = style.patterns[rng.integers(len(style.patterns))]
    img = np.empty((hs, ws, 3), dtype=np.float32)
    img[:] = base
    th = rng.uniform(0, np.pi)
    period = rng.uniform(0.04, 0.15) * max(hs, ws)
    if pattern != "plain":
        yy, xx = np.mgrid[0:hs, 0:ws].astype(np.float32)
        u = (xx * np.cos(th) + yy * np.sin(th)) / period
        v = (-xx * np.sin(th) + yy * np.cos(th)) / period
        if pattern == "stripes":
            m = (u % 1.0) < rng.uniform(0.2, 0.5)
            img[m] = other
        elif pattern == "checks":
            a = ((u % 1.0) < 0.5).astype(np.float32)
            b = ((v % 1.0) < 0.5).astype(np.float32)
            mix = (a + b)[..., None] / 2
            img = img * (1 - 0.6 * mix) + other * (0.6 * mix)
        elif pattern == "dots":
            du, dv = (u % 1.0) - 0.5, (v % 1.0) - 0.5
            m = du * du + dv * dv < rng.uniform(0.01, 0.04)
            img[m] = other
    folds = _lowfreq(rng, hs, ws, int(rng.integers(3, 7)))
    img *= (1 + rng.uniform(0.04, 0.12) * folds)[..., None]
    img = cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR)
    if style.grain > 0:
        img *= grain_map(rng, h, w, style.grain)[..., None]
    return np.clip(img, 0, 1)


def apply_shadow(bg: np.ndarray, mask: np.ndarray, offset: tuple[float, float], strength: float
                 ) -> np.ndarray:
    """Darken the background under and beside the body (soft drop shadow shifted by ``offset``
    pixels)."""
    h, w = mask.shape
    k = max(3, int(0.03 * max(h, w)) | 1)
    dx, dy = offset
    M = np.float32([[1, 0, dx], [0, 1, dy]])
    sh = cv2.warpAffine(mask.astype(np.float32), M, (w, h))
    sh = cv2.GaussianBlur(sh, (k, k), 0)
    return bg * (1 - strength * sh)[..., None]


def blanket_mask(h: int, w: int, start: np.ndarray, toward: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """Pixels of a blanket covering the half-plane beyond ``start`` in direction ``toward``,
    with a wavy edge (e.g. over the legs, edge across the belly or thighs)."""
    d = np.asarray(toward, float)
    nrm = np.linalg.norm(d)
    d = d / nrm if nrm > 0 else np.array([0.0, 1.0])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    along = (xx - start[0]) * d[0] + (yy - start[1]) * d[1]
    across = -(xx - start[0]) * d[1] + (yy - start[1]) * d[0]
    amp = rng.uniform(0.005, 0.015) * max(h, w)
    per = rng.uniform(0.2, 0.5) * max(h, w)
    ph = rng.uniform(0, 6.28, 2)
    edge = amp * (np.sin(across / per * 2 * np.pi + ph[0])
                  + 0.5 * np.sin(across / per * 5.1 * np.pi + ph[1]))
    return along > edge


def draw_wires(h: int, w: int, rng: np.random.Generator, count: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """NICU leads and tubes: smooth curves; returns (mask (H, W) bool, colours (H, W, 3))."""
    canvas = np.zeros((h, w, 3), dtype=np.uint8)
    mask = np.zeros((h, w), dtype=np.uint8)
    colors = ((240, 240, 240), (220, 60, 60), (60, 60, 220), (240, 220, 90), (200, 200, 200))
    for _ in range(count):
        p0 = rng.uniform([0, 0], [w, h])
        p1 = rng.uniform([0, 0], [w, h])
        c = p0 + rng.normal(0, 0.3, 2) * np.array([w, h])
        t = np.linspace(0, 1, 40)[:, None]
        pts = ((1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t ** 2 * p1).astype(np.int32)
        th = max(1, int(rng.uniform(0.004, 0.012) * max(h, w)))
        col = colors[rng.integers(len(colors))]
        cv2.polylines(canvas, [pts], False, col, th, cv2.LINE_AA)
        cv2.polylines(mask, [pts], False, 255, th, cv2.LINE_AA)
    return mask > 127, canvas.astype(np.float32) / 255


def sample_artefacts(rng: np.random.Generator, style: Style, h: int, w: int) -> dict:
    """Camera settings that stay fixed over a clip: light fall-off, vignette, exposure, blur,
    motion blur kernel, noise level, greyscale, JPEG quality."""
    p: dict = {
        "grad_theta": rng.uniform(0, 2 * np.pi), "grad": rng.uniform(*style.light_range),
        "vignette": rng.uniform(0, 0.35), "exposure": rng.uniform(*style.exposure),
        "sigma": rng.uniform(*style.blur) * max(h, w) / 640, "motion": None,
        "noise": rng.uniform(*style.noise), "gray": bool(rng.random() < style.p_gray),
        "jpeg": int(rng.integers(style.jpeg[0], style.jpeg[1] + 1)),
    }
    if rng.random() < 0.15:
        k = int(rng.integers(3, 3 + max(3, max(h, w) // 100)))
        ker = np.zeros((k, k), np.float32)
        ker[k // 2] = 1.0 / k
        M = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(0, 180), 1)
        ker = cv2.warpAffine(ker, M, (k, k))
        p["motion"] = ker / max(float(ker.sum()), 1e-6)
    return p


def camera_artefacts(img: np.ndarray, params: dict, rng: np.random.Generator) -> np.ndarray:
    """Apply light fall-off, blur, sensor noise (drawn from ``rng``), optional greyscale and a JPEG
    round trip to a float RGB image → uint8 RGB."""
    h, w = img.shape[:2]
    # Smooth gain map (light fall-off × vignette × exposure) at low resolution, upsampled.
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32) / 31 - 0.5
    th = params["grad_theta"]
    gain = ((1 + params["grad"] * (xx * np.cos(th) + yy * np.sin(th)))
            * (1 - params["vignette"] * (xx ** 2 + yy ** 2)) * params["exposure"])
    gain = cv2.resize(gain.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    img = img * gain[..., None]
    if params["sigma"] > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), params["sigma"])
    if params["motion"] is not None:
        img = cv2.filter2D(img, -1, params["motion"])
    img = img + rng.standard_normal(img.shape, dtype=np.float32) * np.float32(params["noise"])
    if params["gray"]:
        gray = img @ np.array([0.299, 0.587, 0.114], np.float32)
        img = np.repeat(gray[..., None], 3, axis=2)
    u8 = np.clip(img * 255 + 0.5, 0, 255).astype(np.uint8)
    ok, enc = cv2.imencode(".jpg", u8[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, params["jpeg"]])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid uint8 image
        return u8
    return cv2.imdecode(enc, cv2.IMREAD_COLOR)[..., ::-1].copy()
