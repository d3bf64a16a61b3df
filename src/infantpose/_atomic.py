"""Atomic file output: write to a temporary name beside the target, rename on success.

Every writer in infantpose goes through here so that a crash or a bad input never leaves a
half-written file under the final name. It is also the one place that handles a full disk
(issue 23): a folder with less than :data:`RESERVE_BYTES` free (plus what the caller says it
needs) is refused *before* anything is written, and a write that runs out of space anyway
(whatever library raised it: an OSError, h5py's RuntimeError) removes its temporary file and
raises :class:`~infantpose.errors.OutputError` ``<file>: no space left on device``.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Iterator

from infantpose.errors import InputError, OutputError

#: The error text of a full disk, as every command prints it after the file's name.
NO_SPACE = "no space left on device"
#: A folder with less free space than this is full: nothing is started there. (HDF5 writers
#: crash the interpreter when the disk fills under them, so "a little space" is not enough.)
RESERVE_BYTES = 1 << 20


def is_disk_full(exc: BaseException) -> bool:
    """True when ``exc`` says the disk (or the user's quota) is full, whichever library raised
    it: OSError ENOSPC/EDQUOT, or a RuntimeError/other error whose text carries the C library's
    message (h5py, netCDF, FFmpeg)."""
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return NO_SPACE in text or "errno = 28" in text or "disk quota exceeded" in text


def free_bytes(path: str | os.PathLike) -> int | None:
    """Free bytes on the file system that holds ``path`` (its nearest existing folder); None
    when it cannot be told."""
    p = Path(os.path.abspath(path))
    for folder in (p, *p.parents):
        if folder.is_dir():
            try:
                return int(shutil.disk_usage(folder).free)
            except OSError:
                return None
    return None


def check_free_space(path: str | os.PathLike, need_bytes: int = 0) -> None:
    """OutputError naming ``path`` when its folder has less than ``need_bytes`` plus
    :data:`RESERVE_BYTES` free: a command stops before writing instead of half-way through."""
    free = free_bytes(Path(path).parent if not Path(path).is_dir() else Path(path))
    need = int(max(0, need_bytes)) + RESERVE_BYTES
    if free is not None and free < need:
        raise OutputError(path, f"{NO_SPACE} ({_size(free)} free, at least {_size(need)} "
                                "needed)")


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n} bytes"


@contextlib.contextmanager
def disk_full_names(path: str | os.PathLike) -> Iterator[None]:
    """Within this block a full-disk error of any kind becomes OutputError
    ``<path>: no space left on device`` (for writers that do not go through
    :func:`atomic_path`: video encoders, a folder's worth of files)."""
    try:
        yield
    except OutputError:
        raise
    except Exception as e:
        if is_disk_full(e):
            raise OutputError(path, NO_SPACE) from None
        raise


#: Folders this process created for outputs (see :func:`make_dirs`), so that a command that
#: fails can remove those it left empty (:func:`remove_created_dirs`).
CREATED_DIRS: list[Path] = []


def make_dirs(path: str | os.PathLike) -> Path:
    """``mkdir -p path``, noting each folder it creates in :data:`CREATED_DIRS`."""
    p = Path(path)
    missing = []
    for q in (p, *p.parents):
        if q.exists() or q.is_symlink():
            break
        missing.append(q)
    p.mkdir(parents=True, exist_ok=True)
    CREATED_DIRS.extend(reversed(missing))
    return p


def remove_created_dirs() -> list[Path]:
    """Remove the folders :func:`make_dirs` created that are empty now, deepest first (a failed
    command leaves no empty output folder behind); forget them all. Returns those removed."""
    removed = []
    for d in sorted(set(CREATED_DIRS), key=lambda q: len(q.parts), reverse=True):
        with contextlib.suppress(OSError):
            if d.is_dir() and not d.is_symlink() and not any(d.iterdir()):
                d.rmdir()
                removed.append(d)
    CREATED_DIRS.clear()
    return removed


def ensure_writable_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents) if needed and check that files can be written there."""
    p = Path(path)
    try:
        make_dirs(p)
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
def atomic_path(path: str | os.PathLike, need_bytes: int = 0) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix); rename it to ``path`` on success.

    On an exception the temporary file is removed and nothing appears under ``path``. The
    folder must have ``need_bytes`` (the caller's estimate of the file's size) plus
    :data:`RESERVE_BYTES` free; a full disk, before or during the write, raises OutputError
    ``<path>: no space left on device``.
    """
    target = Path(path)
    try:
        make_dirs(target.parent)
    except OSError as e:
        if is_disk_full(e):
            raise OutputError(target, NO_SPACE) from None
        raise
    check_free_space(target, need_bytes)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}",
                                   dir=target.parent)
    except OSError as e:
        if is_disk_full(e):
            raise OutputError(target, NO_SPACE) from None
        raise
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
    except BaseException as e:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        if isinstance(e, Exception) and is_disk_full(e):
            raise OutputError(target, NO_SPACE) from None
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
