"""Example data the project makes itself, so the quickstart runs offline right after install.

No infant photos ship with infantpose. The one real person photo we use is the portrait of
Grace Hopper that ships inside matplotlib (``mpl-data/sample_data/grace_hopper.jpg``), pasted
at several rotations onto a generated blanket-like background (an infant lying on a blanket
can face any direction), plus a short 640×480 video in which the portrait drifts and turns
slowly. Everything is generated deterministically from a seed.

To add more example data (e.g. synthetic infant renders), write a function
``maker(out_dir: Path, rng: numpy.random.Generator) -> list[Path]`` and register it with
:func:`register_example`; :func:`make_examples` runs every registered maker.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from infantpose import _atomic
from infantpose.errors import InputError
from infantpose.io.images import read_image, write_image
from infantpose.io.video import write_video
from infantpose.synth.clips import write_clip
from infantpose.synth.generate import write_dataset

__all__ = [
    "EXAMPLE_MAKERS",
    "blanket_background",
    "compose",
    "hopper_image",
    "hopper_scene",
    "hopper_video_frames",
    "make_examples",
    "register_example",
    "write_hopper_video",
]

ExampleMaker = Callable[[Path, np.random.Generator], list[Path]]
EXAMPLE_MAKERS: dict[str, ExampleMaker] = {}

FRAME_SIZE = (640, 480)


def register_example(name: str, maker: ExampleMaker) -> ExampleMaker:
    """Add a maker that writes example files under the output folder and returns their paths."""
    EXAMPLE_MAKERS[name] = maker
    return maker


def hopper_image() -> np.ndarray:
    """Matplotlib's Grace Hopper sample photo as RGB uint8 (600×512)."""
    # imported here: matplotlib (about 1 s) loads only for the photo example
    import matplotlib

    path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    if not path.is_file():
        raise InputError(path, "matplotlib sample photo not found (is matplotlib installed?)")
    return read_image(path)


def blanket_background(size: tuple[int, int] = FRAME_SIZE, seed: int = 0) -> np.ndarray:
    """A soft plaid 'blanket' with a knit-like texture and gentle folds, RGB uint8 (h, w, 3)."""
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.array(rng.choice([(225, 200, 210), (200, 215, 235), (235, 225, 190)]),
                    dtype=np.float32)
    stripe = rng.uniform(38, 70)
    plaid = (0.5 + 0.5 * np.sign(np.sin(2 * np.pi * xx / stripe))) * 0.5 \
        + (0.5 + 0.5 * np.sign(np.sin(2 * np.pi * yy / stripe))) * 0.5
    accent = np.array([160, 170, 200], dtype=np.float32) if base[2] < 220 else \
        np.array([170, 140, 160], dtype=np.float32)
    img = base[None, None] * (1 - 0.25 * plaid[..., None]) + accent * 0.25 * plaid[..., None]
    knit = 10 * np.sin(2 * np.pi * xx / 4.0) * np.sin(2 * np.pi * yy / 5.0)
    folds = 18 * np.sin(2 * np.pi * (xx * 0.6 + yy) / rng.uniform(180, 260) + rng.uniform(0, 6))
    noise = cv2.GaussianBlur(rng.normal(0, 12, (h, w)).astype(np.float32), (0, 0), 1.5)
    img = img + (knit + folds + noise)[..., None]
    return np.clip(img, 0, 255).astype(np.uint8)


def _feather_mask(h: int, w: int) -> np.ndarray:
    """An elliptical mask in [0, 1] with soft edges, so a pasted photo blends into the blanket."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = ((xx - (w - 1) / 2) / (w / 2)) ** 2 + ((yy - (h - 1) / 2) / (h / 2)) ** 2
    return np.clip((1.0 - d) / 0.25, 0.0, 1.0)


def compose(background: np.ndarray, person: np.ndarray,
            centre: tuple[float, float] | None = None, angle: float = 0.0, scale: float = 1.0,
            *, center: tuple[float, float] | None = None) -> np.ndarray:
    """Paste ``person`` onto ``background`` rotated by ``angle`` degrees (counter-clockwise),
    scaled, centred at ``centre`` (x, y), with a feathered elliptical edge. ``center`` is the
    old spelling of ``centre``, still accepted."""
    if (centre is None) == (center is None):
        raise TypeError("compose() needs centre (x, y), given once")
    centre = centre if centre is not None else center

    h, w = background.shape[:2]
    ph, pw = person.shape[:2]
    m = cv2.getRotationMatrix2D(((pw - 1) / 2, (ph - 1) / 2), angle, scale)
    m[:, 2] += np.array(centre) - np.array([(pw - 1) / 2, (ph - 1) / 2])
    warped = cv2.warpAffine(person, m, (w, h), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpAffine(_feather_mask(ph, pw), m, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    out = alpha * warped.astype(np.float32) + (1 - alpha) * background.astype(np.float32)
    return np.clip(out.round(), 0, 255).astype(np.uint8)


def hopper_scene(rotation: int = 0, size: tuple[int, int] = FRAME_SIZE, seed: int = 0,
                 offset: tuple[float, float] = (0.0, 0.0), angle: float = 0.0) -> np.ndarray:
    """Grace Hopper on a blanket, turned by ``rotation`` + ``angle`` degrees, RGB (h, w, 3)."""
    bg = blanket_background(size, seed)
    person = hopper_image()
    w, h = size
    scale = 0.72 * min(w, h) / max(person.shape[:2])
    centre = (w / 2 + offset[0], h / 2 + offset[1])
    return compose(bg, person, centre, angle=rotation + angle, scale=scale)


def hopper_video_frames(seconds: float = 4.0, fps: float = 15.0, size: tuple[int, int] = FRAME_SIZE,
                        seed: int = 0):
    """Yield RGB frames of the portrait drifting and turning slowly (±15°) over the blanket."""
    bg = blanket_background(size, seed)
    person = hopper_image()
    w, h = size
    scale = 0.72 * min(w, h) / max(person.shape[:2])
    n = max(1, int(round(seconds * fps)))
    for i in range(n):
        t = i / fps
        phase = 2 * np.pi * t / max(seconds, 1e-6)
        centre = (w / 2 + 40 * np.sin(phase), h / 2 + 15 * np.sin(2 * phase))
        yield compose(bg, person, centre, angle=15 * np.sin(phase), scale=scale)


def write_hopper_video(path: str | os.PathLike, seconds: float = 4.0, fps: float = 15.0,
                       size: tuple[int, int] = FRAME_SIZE, seed: int = 0) -> Path:
    """Write :func:`hopper_video_frames` to ``path`` (mp4/avi) atomically."""
    return write_video(path, hopper_video_frames(seconds, fps, size, seed), fps=fps)


def _hopper_examples(out_dir: Path, rng: np.random.Generator) -> list[Path]:
    paths = []
    for i, rot in enumerate((0, 90, 180)):
        img = hopper_scene(rot, seed=int(rng.integers(1 << 16)) + i)
        paths.append(write_image(out_dir / "images" / f"hopper_rot{rot:03d}.jpg", img))
    paths.append(write_hopper_video(out_dir / "hopper.mp4", seconds=4.0, fps=15.0,
                                    seed=int(rng.integers(1 << 16))))
    return paths


register_example("hopper", _hopper_examples)


def _infant_examples(out_dir: Path, rng: np.random.Generator) -> list[Path]:
    """Twelve labelled synthetic infants (COCO json, infant-22) and a 4 s synthetic infant clip."""
    seed = int(rng.integers(1 << 16))
    write_dataset(out_dir / "infants", n=12, schema="infant22", seed=seed, size=(640, 480),
                  style="home")
    video, labels = write_clip(out_dir / "infant_clip.mp4", seconds=4.0, seed=seed, fps=15.0,
                               schema="infant22", size=(640, 480), style="home")
    return [out_dir / "infants" / "annotations.json", video, labels]


register_example("infants", _infant_examples)


def make_examples(out_dir: str | os.PathLike, names: list[str] | None = None,
                  seed: int = 0) -> list[Path]:
    """Run the registered example makers (all, or ``names``) into ``out_dir``; return the files.

    Also writes ``out_dir/examples.json`` listing what was made and from what.
    """
    out = _atomic.ensure_writable_dir(out_dir)
    chosen = list(EXAMPLE_MAKERS) if names is None else names
    for n in chosen:
        if n not in EXAMPLE_MAKERS:
            raise InputError(None, f"unknown example set {n!r}; known: {', '.join(EXAMPLE_MAKERS)}")
    files: list[Path] = []
    manifest = {}
    for n in chosen:
        made = EXAMPLE_MAKERS[n](out, np.random.default_rng(seed))
        files.extend(made)
        manifest[n] = [str(p.relative_to(out)) for p in made]
    _atomic.write_text(out / "examples.json", json.dumps(
        {"generated_by": "infantpose examples", "seed": seed, "sets": manifest,
         "note": "Generated data: matplotlib's Grace Hopper sample photo on a synthetic "
                 "blanket texture, and rendered synthetic infants (infantpose.synth); no "
                 "photos of real infants."}, indent=2))
    return files
