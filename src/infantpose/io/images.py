"""Image files: find them in files and folders, read them as RGB uint8 arrays, write them atomically.

Images are read the way people see them: a phone photo taken in portrait is stored landscape with
an EXIF ``Orientation`` tag (6 = turn 90° clockwise to view), and image viewers, browsers and
LabelMe apply that tag. :func:`read_image` applies it too, and :func:`check_image_header` and
:func:`oriented_size` report the size after it, so keypoints labelled on such a photo line up with
the pixels a model sees (training, evaluation, prediction and labelling all read images here).

Every problem a user can cause (a missing path, a folder with no images, a file that is not an
image or is truncated) raises :class:`~infantpose.errors.InputError` naming the file.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from infantpose import _atomic
from infantpose._validate import IMAGE_EXTENSIONS
from infantpose.errors import InputError

__all__ = [
    "IMAGE_EXTENSIONS",
    "MAX_PIXELS",
    "check_image_header",
    "apply_orientation",
    "exif_orientation",
    "image_format",
    "image_size",
    "is_image_path",
    "list_images",
    "oriented_size",
    "read_image",
    "write_image",
]

#: Largest image read (pixels): 180 megapixels, about 14 000 x 13 000. A header claiming more is
#: refused before any pixel is decoded (a "decompression bomb" would otherwise need many GB).
MAX_PIXELS = 180_000_000


#: The EXIF tag that says how to turn the stored pixels for viewing (values 1-8).
ORIENTATION_TAG = 0x0112


def exif_orientation(image: Any) -> int:
    """The EXIF Orientation (1-8) of an open Pillow image; 1 when absent or not a valid value."""
    try:
        value = image.getexif().get(ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block is treated as no orientation
        return 1
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else 1


def oriented_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    """(width, height) of a stored ``size`` once ``orientation`` is applied (5-8 swap the sides)."""
    w, h = int(size[0]), int(size[1])
    return (h, w) if orientation in (5, 6, 7, 8) else (w, h)


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn/mirror stored pixels (H×W×C) as EXIF ``orientation`` says, giving the viewed image.

    1 unchanged, 2 mirrored left-right, 3 turned 180°, 4 mirrored top-bottom, 5 transposed,
    6 turned 90° clockwise, 7 transverse (transposed and turned 180°), 8 turned 90°
    anticlockwise: the same as Pillow's ``ImageOps.exif_transpose``.
    """
    ops = {
        1: lambda a: a,
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    return np.ascontiguousarray(ops.get(int(orientation), ops[1])(image))


def _probe(p: Path) -> tuple[int, int, int] | None:
    """(stored width, stored height, EXIF orientation) from the header, or None when Pillow
    cannot parse it. InputError for a missing file or an absurd stated size."""
    if not p.is_file():
        raise InputError(p, "no such file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: judged below
            with Image.open(p) as im:
                w, h = int(im.size[0]), int(im.size[1])
                orientation = exif_orientation(im)
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
    return w, h, orientation


def check_image_header(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) as viewed (EXIF orientation applied) from the image header, or None when
    Pillow cannot parse the header (OpenCV may still decode the file). InputError for a missing
    file or an image whose header states an absurd size (zero, or more than :data:`MAX_PIXELS`
    pixels)."""
    found = _probe(Path(path))
    return None if found is None else oriented_size(found[:2], found[2])


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


def image_format(head: bytes) -> str | None:
    """The image format that a file's first bytes announce (``jpeg``, ``png``, ``bmp``, ``tiff``,
    ``webp``, ``gif``), whatever the file is named; None for anything else."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"BM") and len(head) >= 14:
        return "bmp"
    return None


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as an H×W×3 RGB uint8 array (grey and alpha images are converted),
    turned upright as its EXIF Orientation tag says (a phone portrait photo comes out portrait).

    The format is judged by the file's content, not its name (a PNG named ``.jpg`` is read as
    the PNG it is), and bytes after a JPEG's or PNG's end (a phone's appended trailer) are
    ignored. OpenCV decodes; what it refuses, Pillow is asked to read.
    Raises InputError for a missing, unreadable, empty, truncated or corrupt file.
    """
    # imported here: OpenCV loads when pixels are decoded or encoded, not at start-up
    import cv2

    p = Path(path)
    found = _probe(p)
    orientation = found[2] if found is not None else 1
    try:
        buf = np.fromfile(p, dtype=np.uint8)
    except OSError as e:
        raise InputError(p, f"cannot read file ({e.strerror or e})") from None
    if buf.size == 0:
        raise InputError(p, "empty file")
    data = buf.tobytes()
    if _truncated(data):  # judged before decoding: decoders fill a cut-off image with grey
        raise InputError(p, "corrupt image (truncated or damaged: its data stops before the "
                            "image's end)")
    img = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    if img is None or img.size == 0:
        img = _pillow_decode(p)
        if img is None:
            raise InputError(p, "corrupt or unsupported image (could not decode)")
    if img.dtype != np.uint8:
        # 16-bit PNG/TIFF: scale to 8 bits.
        img = (img.astype(np.float64) / np.iinfo(img.dtype).max * 255.0).round().astype(np.uint8) \
            if np.issubdtype(img.dtype, np.integer) else np.clip(img, 0, 255).astype(np.uint8)
    # IMREAD_UNCHANGED keeps the stored pixel order (OpenCV would apply the tag only for
    # IMREAD_COLOR): the orientation is applied once, here, for every format Pillow reads.
    if img.ndim == 2:
        rgb = cv2.cvtColor(img, cv2.COLOR_GRAY2RGB)
    elif img.shape[2] == 4:
        rgb = cv2.cvtColor(img, cv2.COLOR_BGRA2RGB)
    elif img.shape[2] == 1:
        rgb = cv2.cvtColor(img[..., 0], cv2.COLOR_GRAY2RGB)
    elif img.shape[2] == 3:
        rgb = cv2.cvtColor(img, cv2.COLOR_BGR2RGB)
    else:
        raise InputError(p, f"unsupported image ({img.shape[2]} channels)")
    return apply_orientation(rgb, orientation)


def _pillow_decode(path: Path) -> np.ndarray | None:
    """The pixels as OpenCV would give them (BGR), read by Pillow; None when Pillow cannot."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as im:
                rgb = np.asarray(im.convert("RGB"))
    except Exception:  # noqa: BLE001 - any refusal means: not an image we can read
        return None
    return np.ascontiguousarray(rgb[..., ::-1]) if rgb.size else None


#: A JPEG marker in entropy-coded data: 0xFF not followed by a stuffed 0x00, a restart marker
#: (0xD0-0xD7) or another fill byte.
_JPEG_MARKER = re.compile(rb"\xff+[^\x00\xd0-\xd7\xff]")


def _jpeg_complete(data: bytes) -> bool:
    """True when the JPEG's segments lead to its end-of-image marker (bytes after it ignored).

    Walks the marker segments by their lengths (an EXIF thumbnail's own end marker inside APP1 is
    skipped) and, after each start-of-scan, to the first real marker in the coded data."""
    n, pos = len(data), 2
    while pos < n:
        j = data.find(b"\xff", pos)
        if j < 0:
            return False
        while j < n and data[j] == 0xFF:
            j += 1
        if j >= n:
            return False
        marker, pos = data[j], j + 1
        if marker == 0xD9:  # end of image
            return True
        if marker in (0x00, 0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # no length field
            continue
        if pos + 2 > n:
            return False
        pos += int.from_bytes(data[pos:pos + 2], "big")
        if pos > n:
            return False
        if marker == 0xDA:  # start of scan: coded data runs to the next marker
            found = _JPEG_MARKER.search(data, pos)
            if found is None:
                return False
            pos = found.start()
    return False


def _png_complete(data: bytes) -> bool:
    """True when the PNG's chunks lead to its IEND chunk (bytes after it ignored)."""
    n, pos = len(data), 8
    while pos + 8 <= n:
        length = int.from_bytes(data[pos:pos + 4], "big")
        end = pos + 12 + length
        if end > n:
            return False
        if data[pos + 4:pos + 8] == b"IEND":
            return True
        pos = end
    return False


def _truncated(data: bytes) -> bool:
    """True for a JPEG or PNG (judged by content) that ends before its end marker: OpenCV would
    decode it silently with grey filler. Other formats are left to the decoders."""
    kind = image_format(data[:16])
    if kind == "jpeg":
        return not _jpeg_complete(data)
    if kind == "png":
        return not _png_complete(data)
    return False


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of an image file as viewed (decodes it; EXIF orientation applied)."""
    img = read_image(path)
    return int(img.shape[1]), int(img.shape[0])


def write_image(path: str | os.PathLike, image: np.ndarray, quality: int = 92) -> Path:
    """Write an RGB uint8 image atomically; the format follows the file extension."""
    # imported here: OpenCV loads when pixels are decoded or encoded, not at start-up
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
