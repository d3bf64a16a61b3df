"""Guards of an output folder: infantpose never writes or deletes through a symbolic link, and
only one run at a time writes into a folder (its lock file, :data:`LOCK`).

Split out of :mod:`infantpose.outputs` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: the process id in the file decides (see lock_folder)
    fcntl = None

from infantpose.errors import InputError

__all__ = ["LOCK", "lock_folder", "refuse_link", "refuse_links"]

#: Hidden file that marks an output folder a command is writing to (see :func:`lock_folder`).
LOCK = ".infantpose-lock"


# --- links inside an output folder ---------------------------------------------------------------
def refuse_link(path: str | os.PathLike) -> None:
    """InputError when ``path`` is a symbolic link: infantpose neither writes nor deletes
    through links (a link planted inside ``--out`` would send outputs elsewhere)."""
    p = Path(path)
    if p.is_symlink():
        raise InputError(p, "is a symbolic link; infantpose does not write or delete through "
                            "links (remove it or choose another --out)")


def refuse_links(root: str | os.PathLike, paths: Iterable[str | os.PathLike]) -> None:
    """:func:`refuse_link` for every folder between ``root`` (not included: a ``--out`` that is
    a link the user made is theirs to choose) and each of ``paths`` (files under ``root``),
    before anything is written."""
    base = Path(root)
    seen: set[Path] = set()
    for raw in paths:
        p = Path(raw)
        try:
            parts = p.relative_to(base).parts
        except ValueError:
            continue
        cur = base
        for part in parts[:-1]:
            cur = cur / part
            if cur not in seen:
                seen.add(cur)
                refuse_link(cur)


# --- one run at a time per output folder ---------------------------------------------------------
@contextlib.contextmanager
def lock_folder(folder: str | os.PathLike, command: str):
    """Hold ``folder``'s lock (:data:`LOCK`) for the block: a second run into the same folder
    stops with one error line instead of doing all the work again beside the first.

    The lock is an exclusive ``flock`` on the lock file, which the system releases when its
    process ends however it ends, so a lock left by a killed run (kill -9) is taken over by the
    next; where ``flock`` is unavailable, the process id written in the file decides (a dead
    process's lock is taken over). The file is removed when the block ends.
    """
    d = Path(folder)
    refuse_link(d / LOCK)
    path = d / LOCK
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as e:
        raise InputError(path, f"cannot create the lock file ({e.strerror or e})") from None
    f = os.fdopen(fd, "r+", encoding="utf-8")
    held = False
    try:
        try:
            if fcntl is None:
                raise OSError("no flock")
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InputError(d, f"another infantpose run is writing to this folder "
                                f"({_holder(f)}); wait for it to finish or choose another "
                                "--out") from None
        except OSError:  # no flock here (some network file systems): trust a live pid only
            pid = _pid_in(f)
            if pid and pid != os.getpid() and _alive(pid):
                raise InputError(d, f"another infantpose run is writing to this folder "
                                    f"({_holder(f)}); wait for it to finish or choose another "
                                    "--out") from None
        f.seek(0)
        f.truncate()
        f.write(json.dumps({"pid": os.getpid(), "command": command}))
        f.flush()
        held = True
        yield path
    finally:
        if held:  # a refused run leaves the holder's lock alone
            with contextlib.suppress(OSError):
                path.unlink()
        f.close()


def _pid_in(f) -> int | None:
    try:
        f.seek(0)
        d = json.loads(f.read() or "{}")
        return int(d["pid"]) if isinstance(d, dict) and "pid" in d else None
    except (OSError, ValueError, TypeError, KeyError):
        return None


def _holder(f) -> str:
    try:
        f.seek(0)
        d = json.loads(f.read() or "{}")
        return f"{d.get('command', 'infantpose')}, process {int(d['pid'])}"
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        return "process unknown"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
