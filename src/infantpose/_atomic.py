"""Atomic file output: write to a temporary name beside the target, rename on success.

Every writer in infantpose goes through here so that a crash or a bad input never leaves a
half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Iterator

from infantpose.errors import InputError


def ensure_writable_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents) if needed and check that files can be written there."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(p, f"cannot create output directory ({e.strerror or e})") from None
    if not p.is_dir():
        raise InputError(p, "output path exists and is not a directory")
    if not os.access(p, os.W_OK | os.X_OK):
        raise InputError(p, "output directory is not writable")
    return p


#: Called as ``hook(tmp, target)`` just before each rename (set by
#: :func:`infantpose.outputs.recording`, which records the file as infantpose's own first, so a
#: crash between the rename and the record cannot leave an output that looks foreign).
BEFORE_RENAME: contextvars.ContextVar[Callable[[Path, Path], None] | None] = \
    contextvars.ContextVar("infantpose_before_rename", default=None)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it to ``path`` on success.

    On an exception the temporary file is removed and nothing appears under ``path``.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}",
                               dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    # mkstemp makes 0600 files; give outputs the permissions a plain open() would (umask).
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)
    try:
        yield tmp_path
        hook = BEFORE_RENAME.get()
        if hook is not None:
            hook(tmp_path, target)
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
