"""Which files a label project may serve or delete, given the paths its database stores.

The database names each frame's images: the displayed (face-blurred) image, always written by
infantpose under the project folder (``display/000001.jpg``), and the unblurred frame, either
under the project folder too (``frames/...png``, a video frame) or the user's own photo, stored
by its absolute path. A database is an input like any other: it can be edited, or come from
someone else. So a stored path is followed only when

* it resolves (symbolic links followed) inside the project folder, or, for an unblurred
  photo only, it is an absolute path to a photo outside it; and
* the file it names is an image by its content (its first bytes), never the database itself,
  ``/etc/passwd`` or a private key.

A displayed image is deleted (when a person's correction re-makes it) only when it lies in the
project's own ``display/`` folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from infantpose.io.images import IMAGE_EXTENSIONS, image_format

__all__ = ["DISPLAY_DIR", "is_inside", "owned_display", "servable_image"]

DISPLAY_DIR = "display"


def is_inside(path: Path, folder: Path) -> bool:
    """True when ``path`` (already resolved) is ``folder`` (resolved) or lies below it."""
    return path == folder or folder in path.parents


def _resolve(project_dir: Path, stored: str) -> Path | None:
    if not isinstance(stored, str) or not stored or "\0" in stored:
        return None
    try:
        return (project_dir / stored).resolve()
    except (OSError, RuntimeError, ValueError):  # a link loop, a name the OS refuses
        return None


def _is_image_file(path: Path) -> bool:
    """A regular file with an image extension whose first bytes are an image format's."""
    if path.suffix.lower() not in IMAGE_EXTENSIONS:
        return False
    try:
        if not path.is_file():
            return False
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        return False
    return image_format(head) is not None


def servable_image(project_dir: str | os.PathLike, stored: str, photo: bool = False
                   ) -> Path | None:
    """The resolved file to serve for a path stored in the project's database, or None when it
    must not be served (outside the project, not an image, missing).

    ``photo``: the stored path is a frame's unblurred image, which may be the user's photo
    outside the project (stored by its absolute path, as ``infantpose label`` writes it)."""
    root = Path(project_dir).resolve()
    path = _resolve(root, stored)
    if path is None:
        return None
    outside_ok = photo and os.path.isabs(stored)
    if not (is_inside(path, root) or outside_ok):
        return None
    return path if _is_image_file(path) else None


def owned_display(project_dir: str | os.PathLike, stored: str) -> Path | None:
    """The displayed image a database path names, when infantpose may delete it: a file directly
    in the project's ``display/`` folder (after links are followed); otherwise None."""
    root = Path(project_dir).resolve()
    path = _resolve(root, stored)
    if path is None or path.parent != root / DISPLAY_DIR:
        return None
    return path
