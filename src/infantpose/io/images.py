"""Image files: find them in files and folders, read them as RGB uint8 arrays, write them atomically.

Every problem a user can cause (a missing path, a folder with no images, a file that is not an
image or is truncated) raises :class:`~infantpose.errors.InputError` naming the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from infantpose import _atomic
from infantpose.errors import InputError

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS",
    "check_image_header",
    "image_size",
    "is_image_path",
    "list_images",
    "read_image",
    "write_image",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

#: Largest image read (pixels): 180 megapixels, about 14 000 x 13 000. A header claiming more is
#: refused before any pixel is decoded (a "decompression bomb" would otherwise need many GB).
MAX_PIXELS = 180_000_000


def check_image_header(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) from the image header, or None when Pillow cannot parse the header
    (OpenCV may still decode the file). InputError for a missing file or an image whose header
    states an absurd size (zero, or more than :data:`MAX_PIXELS` pixels)."""
    import warnings

    from PIL import Image

    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: judged below
            with Image.open(p) as im:
                w, h = int(im.size[0]), int(im.size[1])
    except Image.DecompressionBombError:
        raise InputError(p, f"image is too large to read (over {MAX_PIXELS // 1_000_000} "
                            "megapixels)") from None
    except Exception:  # not an image Pillow knows: OpenCV decides
        return None
    if w <= 0 or h <= 0:
        raise InputError(p, f"image header states an empty size {w}x{h}")
    if w * h > MAX_PIXELS:
        raise InputError(p, f"image header states {w}x{h} pixels, more than infantpose reads "
                            f"({MAX_PIXELS // 1_000_000} megapixels); downscale it first")
    return w, h


def is_image_path(path: str | os.PathLike) -> bool:
    """True when the file name has an image extension we read (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def list_images(paths: str | os.PathLike | Iterable[str | os.PathLike],
                recursive: bool = False) -> list[Path]:
    """Image files named by ``paths`` (files, or folders searched for image files), sorted.

    Files given explicitly keep their order; the images of each folder are sorted by name
    (hidden files skipped). A missing path, a file that is not an image, or a folder without
    images raises InputError.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            pattern = "**/*" if recursive else "*"
            found = sorted(q for q in p.glob(pattern)
                           if q.is_file() and is_image_path(q) and not q.name.startswith("."))
            if not found:
                raise InputError(p, "folder contains no images "
                                    f"({', '.join(e.lstrip('.') for e in IMAGE_EXTENSIONS)})")
            out.extend(found)
        elif p.is_file():
            if not is_image_path(p):
                raise InputError(p, f"not an image file (expected one of "
                                    f"{', '.join(IMAGE_EXTENSIONS)})")
            out.append(p)
        else:
            raise InputError(p, "no such file or directory")
    return out


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as an H×W×3 RGB uint8 array (grey and alpha images are converted).

    Raises InputError for a missing, unreadable, empty or corrupt file.
    """
    import cv2

    p = Path(path)
    check_image_header(p)
    try:
        buf = np.fromfile(p, dtype=np.uint8)
    except OSError as e:
        raise InputError(p, f"cannot read file ({e.strerror or e})") from None
    if buf.size == 0:
        raise InputError(p, "empty file")
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        raise InputError(p, "corrupt or unsupported image (could not decode)")
    if _truncated(p, buf):
        raise InputError(p, "corrupt image (file is truncated)")
    if img.dtype != np.uint8:
        # 16-bit PNG/TIFF: scale to 8 bits.
        img = (img.astype(np.float64) / np.iinfo(img.dtype).max * 255.0).round().astype(np.uint8) \
            if np.issubdtype(img.dtype, np.integer) else np.clip(img, 0, 255).astype(np.uint8)
    if img.ndim == 2:
        return cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    if img.shape[2] == 4:
        return cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    if img.shape[2] == 1:
        return cv2.cvtColor(img[..., 0], cv2.COLOR_GRAY2RGB)
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def _truncated(path: Path, buf: np.ndarray) -> bool:
    """Detect truncated JPEG/PNG files, which OpenCV decodes silently with grey filler."""
    suffix = path.suffix.lower()
    head = bytes(buf[:8])
    if head[:2] == b"\xff\xd8" or suffix in (".jpg", ".jpeg"):
        # The end-of-image marker; cameras sometimes append a short trailer after it. Inside the
        # entropy-coded data 0xFF is always stuffed, so FF D9 there means a real marker.
        return b"\xff\xd9" not in bytes(buf[-4096:])
    if head == b"\x89PNG\r\n\x1a\n":
        return b"IEND" not in bytes(buf[-16:])
    return False


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of an image file (decodes it)."""
    img = read_image(path)
    return int(img.shape[1]), int(img.shape[0])


def write_image(path: str | os.PathLike, image: np.ndarray, quality: int = 92) -> Path:
    """Write an RGB uint8 image atomically; the format follows the file extension."""
    import cv2

    p = Path(path)
    arr = np.asarray(image)
    if arr.ndim != 3 or arr.shape[2] != 3 or arr.dtype != np.uint8:
        raise ValueError(f"write_image expects H×W×3 uint8 RGB, got {arr.shape} {arr.dtype}")
    ext = p.suffix.lower() or ".png"
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if ext in (".jpg", ".jpeg") else []
    ok, enc = cv2.imencode(ext, cv2.cvtColor(arr, cv2.COLOR_RGB2BGR), params)
    if not ok:
        raise InputError(p, f"cannot encode image as {ext}")
    return _atomic.write_bytes(p, enc.tobytes())
