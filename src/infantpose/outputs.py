"""Where a command may write, replace and delete: one rule for every infantpose command.

The rule (issue 11):

1. **An output never replaces an input.** A file output that is (or is the same file as) an input,
   or an output folder that is an input folder, is refused with one error line, even with
   ``--overwrite``.
2. **An existing file is replaced only when infantpose wrote it**, or with ``--overwrite``.
   "infantpose wrote it" means the folder's ledger (:data:`LEDGER`, a hidden JSON file kept
   beside the outputs) records the file under its name *with its current size and modification
   time*; a file the user edited, replaced or put there is not ours any more. The ledger lives
   only in output folders a command owns (``--out DIR``): a single named output file
   (``filter -o clean.json``) sits in the user's folder, so its record goes to infantpose's own
   state folder instead (:func:`named_ledger_path`; keyed by a hash of the path, no names).
3. **Nothing is deleted except what infantpose created**: files recorded in the ledger (checked
   with ``lstat``: a symbolic link is never followed, never deleted through) and infantpose's own
   temporary files (:func:`infantpose._atomic.atomic_path` names). Folders are never removed
   recursively, except a staging folder the same process created.
4. Output paths are checked *before* any work starts: a folder that cannot be created (it would
   sit under a file), a file target that is a folder, a read-only folder — each is one error
   naming the path, and no output is left behind.

:class:`Outputs` applies the rule for one command run; every command builds one from its inputs
and its ``--overwrite`` flag, asks it for each output path (:meth:`Outputs.folder`,
:meth:`Outputs.file`) and records what it wrote (:meth:`Outputs.record`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import stat
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: no lock (a lost entry only costs a later --overwrite)
    fcntl = None

from infantpose import _atomic
from infantpose.errors import InputError, OutputError
# the link and lock guards live in infantpose._output_guards (re-exported here: callers and
# tests import them from this module)
from infantpose._output_guards import (LOCK, _alive, _holder, _pid_in,  # noqa: F401
                                       lock_folder, refuse_link, refuse_links)

__all__ = ["LEDGER", "LOCK", "Outputs", "is_owned", "ledger", "lock_folder", "record",
           "named_ledger_path", "record_named", "recording", "recording_batched", "refuse_link", "refuse_links", "remove_owned", "same_path"]

#: Hidden file in every output folder listing the files infantpose wrote there.
LEDGER = ".infantpose-outputs.json"
_FORMAT = "infantpose.outputs"
# Temporary names made by infantpose._atomic.atomic_path: ".<stem>.<random>.tmp<suffix>".
_TMP = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp(\.[^/]*)?$")


def _stamp(st: os.stat_result) -> dict[str, int]:
    return {"size": int(st.st_size), "mtime_ns": int(st.st_mtime_ns)}


def ledger(folder: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """The files recorded in ``folder``'s ledger: name -> {size, mtime_ns, command}.

    A missing, unreadable or malformed ledger records nothing (so nothing is treated as ours).
    """
    return ledger_file(Path(folder) / LEDGER)


def _write_ledger(folder: Path, files: dict[str, dict[str, Any]]) -> None:
    text = json.dumps({"format": _FORMAT, "version": 1, "files": files}, indent=1,
                      sort_keys=True)
    _atomic.write_text(folder / LEDGER, text)


def is_owned(path: str | os.PathLike) -> bool:
    """True when ``path`` is a regular file (not a link) that its folder's ledger (or, for a
    single named output file, infantpose's own record of those) records as written by
    infantpose, with the same size and modification time."""
    p = Path(path)
    try:
        st = p.lstat()
    except OSError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return False
    rec = ledger(p.parent).get(p.name) or _named_ledger().get(_named_key(p))
    return rec is not None and _matches(rec, st)


# --- single named output files: recorded in infantpose's own state folder ------------------------
#: Entries kept in the named-file record (the oldest go first).
_NAMED_MAX = 20_000


def named_ledger_path() -> Path:
    """Where single named output files are recorded: ``$INFANTPOSE_STATE_DIR``, else
    ``$XDG_STATE_HOME/infantpose``, else ``~/.local/state/infantpose``; file
    ``named-outputs.json``."""
    base = os.environ.get("INFANTPOSE_STATE_DIR")
    if not base:
        xdg = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"),
                                                                ".local", "state")
        base = os.path.join(xdg, "infantpose")
    return Path(base) / "named-outputs.json"


def _named_key(p: Path) -> str:
    """A hash of the file's absolute path (its folder's links resolved): no names stored."""
    full = os.path.join(os.path.realpath(p.parent), p.name)
    return hashlib.sha256(os.fsencode(full)).hexdigest()


def _named_ledger() -> dict[str, dict[str, Any]]:
    return ledger_file(named_ledger_path())


def ledger_file(p: Path) -> dict[str, dict[str, Any]]:
    """The entries of a ledger file ``p`` (nothing when missing or malformed)."""
    try:
        st = p.lstat()
        if not stat.S_ISREG(st.st_mode):
            return {}
        d = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(d, dict) or d.get("format") != _FORMAT or not isinstance(d.get("files"), dict):
        return {}
    return {k: v for k, v in d["files"].items() if isinstance(k, str) and isinstance(v, dict)}


def record_named(paths: Iterable[str | os.PathLike], command: str) -> None:
    """Record single named output files in infantpose's state folder (see
    :func:`named_ledger_path`), under a lock so that concurrent commands lose no entry. A state
    folder that cannot be written only costs the record (the next run asks for --overwrite),
    except a full disk, which is raised."""
    paths = list(paths)
    if not paths:
        return
    target = named_ledger_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target.parent / "named-outputs.lock", "a") as lk:
            if fcntl is not None:
                fcntl.flock(lk.fileno(), fcntl.LOCK_EX)
            files = ledger_file(target)
            for raw in paths:
                p = Path(raw)
                try:
                    st = p.lstat()
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    files[_named_key(p)] = {**_stamp(st), "command": command,
                                            "t": int(time.time())}
            if len(files) > _NAMED_MAX:
                keep = sorted(files, key=lambda k: files[k].get("t", 0))[-_NAMED_MAX:]
                files = {k: files[k] for k in keep}
            text = json.dumps({"format": _FORMAT, "version": 1, "files": files})
            fd, tmp = tempfile.mkstemp(prefix=".named-outputs.", dir=target.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    f.write(text)
                os.replace(tmp, target)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
    except OSError as e:
        if _atomic.is_disk_full(e):
            raise


def _matches(rec: dict[str, Any], st: os.stat_result) -> bool:
    """``st`` is the file ``rec`` records, or the one it replaced (a run killed between writing
    the ledger and renaming the new file into place leaves the previous, also infantpose's)."""
    return any(r.get("size") == st.st_size and r.get("mtime_ns") == st.st_mtime_ns
               for r in (rec, rec.get("previous") or {}))


def record(paths: Iterable[str | os.PathLike], command: str) -> None:
    """Record files just written by ``command`` in their folders' ledgers (one write per folder)."""
    by_dir: dict[Path, list[Path]] = {}
    for raw in paths:
        p = Path(raw)
        by_dir.setdefault(p.parent, []).append(p)
    for folder, items in by_dir.items():
        files = ledger(folder)
        for p in items:
            try:
                st = p.lstat()
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                files[p.name] = {**_stamp(st), "command": command}
        # Forget entries whose files are gone or were changed by someone else.
        files = {n: r for n, r in files.items() if is_owned_rec(folder / n, r)}
        _write_ledger(folder, files)


@contextlib.contextmanager
def recording_batched(command: str, every: int = 256):
    """Like :func:`recording`, for commands that write thousands of files (``synth``): each
    atomic write is noted as it is renamed into place and the ledger is written once per
    ``every`` files and when the block ends, *however* it ends (Ctrl-C included), so an
    interrupted run leaves no file its rerun would call foreign, without rewriting the ledger
    for every file."""
    pending: list[Path] = []

    def flush() -> None:
        if pending:
            record(list(pending), command)
            pending.clear()

    def hook(tmp: Path, target: Path) -> None:
        if target.name == LEDGER:
            return
        if len(pending) >= every:
            flush()
        pending.append(target)  # renamed right after this returns

    token = _atomic.BEFORE_RENAME.set(hook)
    try:
        yield
    finally:
        _atomic.BEFORE_RENAME.reset(token)
        flush()


@contextlib.contextmanager
def recording(command: str):
    """Within this block every atomic write (:func:`infantpose._atomic.atomic_path`) records its
    file in the folder's ledger *before* renaming it into place: a run killed at any moment
    leaves only files the next run knows to be infantpose's."""
    def hook(tmp: Path, target: Path) -> None:
        if target.name == LEDGER:
            return
        st = tmp.lstat()
        files = ledger(target.parent)
        new: dict[str, Any] = {**_stamp(st), "command": command}
        old = files.get(target.name)
        if old is not None and is_owned_rec(target, old):  # until the rename, the old one stays
            new["previous"] = _stamp(target.lstat())
        files[target.name] = new
        _write_ledger(target.parent, files)

    token = _atomic.BEFORE_RENAME.set(hook)
    try:
        yield
    finally:
        _atomic.BEFORE_RENAME.reset(token)


def is_owned_rec(path: Path, rec: dict[str, Any]) -> bool:
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and _matches(rec, st)


def remove_owned(folder: str | os.PathLike, names: Iterable[str] | None = None) -> list[Path]:
    """Delete files in ``folder`` that infantpose wrote (all of them, or only ``names``) and
    infantpose's leftover temporary files; return what was deleted.

    Never follows a symbolic link (``folder`` itself included), never descends into sub-folders,
    never deletes a file that the ledger does not record or that changed since it was recorded.
    """
    d = Path(folder)
    try:
        if not stat.S_ISDIR(d.lstat().st_mode):
            return []
    except OSError:
        return []
    files = ledger(d)
    wanted = set(files) if names is None else set(names) & set(files)
    removed: list[Path] = []
    for name in sorted(wanted):
        p = d / name
        if os.sep in name or name in (".", "..") or not is_owned_rec(p, files[name]):
            continue
        with contextlib.suppress(OSError):
            p.unlink()
            removed.append(p)
            del files[name]
    for p in d.iterdir():
        if _TMP.match(p.name) and stat.S_ISREG(p.lstat().st_mode):
            with contextlib.suppress(OSError):
                p.unlink()
                removed.append(p)
    if removed and (d / LEDGER).is_file():
        if files:
            _write_ledger(d, files)
        else:
            with contextlib.suppress(OSError):
                (d / LEDGER).unlink()
    return removed


def same_path(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file or folder (links and ``..`` resolved)."""
    pa, pb = Path(a), Path(b)
    with contextlib.suppress(OSError):
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    return os.path.abspath(os.path.realpath(pa)) == os.path.abspath(os.path.realpath(pb))


def _check_dir(p: Path, create: bool) -> Path:
    """``p`` is (or can become) a writable folder; create it when ``create``."""
    if p.exists() and not p.is_dir():
        raise InputError(p, "output path exists and is not a folder")
    for parent in p.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise InputError(p, f"cannot create output directory: {parent} is a file")
            if not p.exists() and not os.access(parent, os.W_OK | os.X_OK):
                raise InputError(p, f"cannot create output directory: {parent} is not writable")
            break
    if p.is_dir() and not os.access(p, os.W_OK | os.X_OK):
        raise InputError(p, "output folder is not writable")
    if create:
        _atomic.ensure_writable_dir(p)
    return p


class Outputs:
    """The output rule for one command run.

    Args:
        command: the command's name (recorded in ledgers).
        inputs: every file or folder the command reads.
        overwrite: ``--overwrite``: existing files that infantpose did not write may be replaced
            (inputs never).
    """

    def __init__(self, command: str, inputs: Iterable[str | os.PathLike] = (),
                 overwrite: bool = False):
        self.command = command
        self.inputs = [Path(p) for p in inputs]
        self.overwrite = bool(overwrite)
        self.written: list[Path] = []
        self._owned_folders: list[str] = []

    # --- checks -----------------------------------------------------------------------------------
    def _index(self) -> tuple[set[tuple[int, int]], set[str]]:
        """(device, inode) of every existing input and the resolved path of every input."""
        key = tuple(self.inputs)
        if getattr(self, "_indexed", None) != key:
            ids: set[tuple[int, int]] = set()
            real: set[str] = set()
            for i in self.inputs:
                real.add(os.path.abspath(os.path.realpath(i)))
                with contextlib.suppress(OSError):
                    st = os.stat(i)
                    ids.add((st.st_dev, st.st_ino))
            self._ids, self._real, self._indexed = ids, real, key
        return self._ids, self._real

    def _input_clash(self, path: Path) -> bool:
        """True when ``path`` is one of the inputs (same file or folder, links resolved)."""
        ids, real = self._index()
        try:
            st = os.stat(path)
            if (st.st_dev, st.st_ino) in ids:
                return True
        except OSError:
            pass
        return os.path.abspath(os.path.realpath(path)) in real

    def folder(self, path: str | os.PathLike, create: bool = True, own: bool = True) -> Path:
        """Check (and create) an output folder: not an input folder, not under a file, writable.

        ``own``: the folder is the command's output folder (``--out DIR``), so the ledger of
        the files written into it is kept there; False for the folder of a single named output
        file, which is the user's (its files are recorded in infantpose's state folder)."""
        p = Path(path)
        if self._input_clash(p):
            raise InputError(p, "output folder is the input folder; choose another --out "
                                "(outputs never go over inputs)")
        if own:
            self._owned_folders.append(os.path.abspath(os.path.realpath(p)))
        return _check_dir(p, create)

    def _in_owned_folder(self, p: Path) -> bool:
        parent = os.path.abspath(os.path.realpath(p.parent))
        return any(parent == f or parent.startswith(f.rstrip(os.sep) + os.sep)
                   for f in self._owned_folders)

    def file(self, path: str | os.PathLike, create_parent: bool = True) -> Path:
        """Check one output file before anything is written; returns ``path``.

        Refused: an input (always), a folder, a path under a file, an existing file that
        infantpose did not write (unless ``--overwrite``), an unwritable folder. With
        ``create_parent`` False nothing is created (a missing folder is fine if it can be made).
        """
        p = Path(path)
        if self._input_clash(p):
            raise InputError(p, "output would overwrite an input file; choose another output "
                                "path")
        if p.is_symlink() or p.exists():
            if p.is_dir() and not p.is_symlink():
                raise InputError(p, "output path is a folder; give a file name")
            if not self.overwrite and not is_owned(p):
                if p.name in ledger(p.parent) and not p.is_symlink():
                    raise InputError(p, "was written by infantpose but has changed since "
                                        "(truncated, damaged or edited); pass --overwrite to "
                                        "replace it, or choose another output path")
                raise InputError(p, "file exists and was not written by infantpose; pass "
                                    "--overwrite to replace it, or choose another output path")
        _check_dir(p.parent if str(p.parent) else Path("."), create_parent)
        return p

    def files(self, paths: Iterable[str | os.PathLike]) -> list[Path]:
        """:meth:`file` for each of ``paths`` (all checked before anything is written)."""
        return [self.file(p) for p in paths]

    # --- after writing ----------------------------------------------------------------------------
    def record(self, *paths: str | os.PathLike) -> None:
        """Mark files this run wrote as infantpose's (so a rerun may replace them)."""
        ps = [Path(p) for p in paths]
        try:
            record([p for p in ps if self._in_owned_folder(p)], self.command)
            record_named([p for p in ps if not self._in_owned_folder(p)], self.command)
        except Exception as e:
            if not _atomic.is_disk_full(e):
                raise
            # The ledger could not be written: files it does not record would look foreign to
            # the next run, so this run's own files go (nothing is left behind).
            for p in ps:
                with contextlib.suppress(OSError):
                    if p.is_file() and not p.is_symlink():
                        p.unlink()
            raise OutputError(ps[0] if ps else None, _atomic.NO_SPACE) from None
        self.written.extend(ps)
