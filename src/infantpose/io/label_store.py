"""The label project's SQLite store: frames, keypoints with per-point versions, edit history.

One file, ``PROJECT/label.sqlite``, holds everything a labelling session produces:

* ``meta``: project settings (schema, model, queue, image folder layout) and the resume cursor;
* ``frames``: one row per frame to label: image path (relative to the project when inside it),
  source video and frame index, size, the queue that chose it and why, review state and the
  seconds a person spent on it;
* ``points``: one row per (frame, keypoint): the current position and visibility, the model's
  proposal and score, a status (``proposed``, ``accepted``, ``corrected``) and a version that
  grows with every write;
* ``edits``: the full edit history of every frame (before/after of one point per edit) that
  undo and redo walk.

Writes change one point at a time (never a whole frame), inside ``BEGIN IMMEDIATE``
transactions, so several browser tabs on one project never overwrite each other's edits of other
points; two writes to the same point are both kept in the history and the later one wins.
Visibility follows COCO: 2 visible, 1 occluded, 0 absent (not labelled).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infantpose._atomic import ensure_writable_dir
from infantpose.errors import InputError

__all__ = ["ABSENT", "ACCEPTED", "CORRECTED", "DB_NAME", "OCCLUDED", "PROPOSED", "VISIBLE",
           "FrameRow", "Store", "is_project"]

DB_NAME = "label.sqlite"
STORE_VERSION = 1
VISIBLE, OCCLUDED, ABSENT = 2, 1, 0
PROPOSED, ACCEPTED, CORRECTED = "proposed", "accepted", "corrected"
_SAME_PX = 0.01  # a point within this many pixels of its proposal is unchanged

_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS frames (
    id INTEGER PRIMARY KEY,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    image TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    frame_index INTEGER,
    time REAL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    queue TEXT NOT NULL,
    reason TEXT NOT NULL,
    priority REAL,
    display TEXT NOT NULL,
    face_found INTEGER NOT NULL DEFAULT 1,
    reviewed INTEGER NOT NULL DEFAULT 0,
    reviewed_at REAL,
    seconds REAL NOT NULL DEFAULT 0,
    rev INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS points (
    frame_id INTEGER NOT NULL REFERENCES frames(id),
    k INTEGER NOT NULL,
    x REAL, y REAL, v INTEGER NOT NULL,
    px REAL, py REAL, pv INTEGER NOT NULL,
    score REAL,
    status TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    updated_at REAL,
    PRIMARY KEY (frame_id, k)
);
CREATE TABLE IF NOT EXISTS edits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    frame_id INTEGER NOT NULL REFERENCES frames(id),
    k INTEGER NOT NULL,
    before TEXT NOT NULL,
    after TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'done',
    client TEXT,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS edits_frame ON edits(frame_id, state, id);
"""


#: The tables every project database holds.
TABLES = ("meta", "frames", "points", "edits")


def is_project(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder holding a label project database."""
    return (Path(path) / DB_NAME).is_file()


@dataclass
class FrameRow:
    """A frame to insert: where its image is, where it came from and why it was chosen."""

    name: str
    image: str
    source: str
    width: int
    height: int
    queue: str
    reason: str
    display: str
    frame_index: int | None = None
    time: float | None = None
    priority: float | None = None
    face_found: bool = True


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return f if math.isfinite(f) else None


def _status(x: float | None, y: float | None, v: int, px: float | None, py: float | None,
            pv: int, reviewed: bool) -> str:
    """``corrected`` when a point differs from its proposal, else proposed/accepted."""
    same = v == pv and (v == ABSENT or (
        x is not None and px is not None and y is not None and py is not None
        and abs(x - px) <= _SAME_PX and abs(y - py) <= _SAME_PX))
    if not same:
        return CORRECTED
    return ACCEPTED if reviewed else PROPOSED


class Store:
    """Access to one project's database; every method opens a short-lived connection."""

    def __init__(self, project_dir: str | os.PathLike):
        self.dir = Path(project_dir)
        self.path = self.dir / DB_NAME

    # --- opening ---------------------------------------------------------------------------------
    @classmethod
    def create(cls, project_dir: str | os.PathLike, meta: dict[str, Any]) -> Store:
        """A new, empty project in ``project_dir`` (which must not hold one yet)."""
        d = ensure_writable_dir(project_dir)
        if (d / DB_NAME).exists():
            raise InputError(d, "already holds a label project")
        store = cls(d)
        con = sqlite3.connect(store.path)
        try:
            con.executescript(_TABLES)  # its own transaction
        finally:
            con.close()
        with store.connect() as con:
            items = {**meta, "store_version": STORE_VERSION, "created": time.time()}
            con.executemany("INSERT INTO meta VALUES (?, ?)",
                            [(k, json.dumps(v)) for k, v in items.items()])
        return store

    @classmethod
    def open(cls, project_dir: str | os.PathLike) -> Store:
        """An existing project; InputError when the folder holds none or it cannot be read."""
        d = Path(project_dir)
        if not d.exists():
            raise InputError(d, "no such project folder")
        if not d.is_dir():
            raise InputError(d, "not a folder (a label project is a folder)")
        if not is_project(d):
            raise InputError(d, f"not an infantpose label project (no {DB_NAME}; create one "
                                "with `infantpose label SOURCE... --out PROJECT`)")
        store = cls(d)
        store.check()
        try:
            version = store.meta().get("store_version")
        except (json.JSONDecodeError, RecursionError, ValueError):
            raise InputError(store.path, "cannot read label database (damaged settings)") \
                from None
        if version != STORE_VERSION:
            raise InputError(store.path, f"label database version {version} is not supported "
                                         f"(this infantpose reads version {STORE_VERSION})")
        return store

    def check(self) -> None:
        """InputError naming the database unless it is an SQLite file holding every table of a
        project. Reads only: a zero-byte or damaged file is reported, never rewritten."""
        try:
            with open(self.path, "rb") as f:
                head = f.read(100)
        except OSError as e:
            raise InputError(self.path, f"cannot read label database ({e.strerror or e})") \
                from None
        if not head:
            raise InputError(self.path, "cannot read label database (an empty file, 0 bytes)")
        if len(head) < 100 or not head.startswith(b"SQLite format 3\0"):
            raise InputError(self.path, "cannot read label database (not an SQLite database)")
        with self.connect(write=False) as con:
            have = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE "
                                               "type = 'table'")}
        missing = [t for t in TABLES if t not in have]
        if missing:
            raise InputError(self.path, f"cannot read label database (damaged: no table {missing[0]!r})")

    @contextlib.contextmanager
    def connect(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A connection in one transaction (``BEGIN IMMEDIATE`` for writes), committed on exit.

        Only a writing connection sets the journal mode (WAL, which changes the file): reading
        never modifies the database. A database SQLite finds damaged, or one locked by another
        program for longer than 30 s, raises InputError naming it."""
        try:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as e:
            raise InputError(self.path, f"cannot open label database ({e})") from None
        try:
            con.row_factory = sqlite3.Row
            if write:
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA synchronous=NORMAL")
            con.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield con
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        except sqlite3.DatabaseError as e:
            raise InputError(self.path, f"cannot read label database ({e})") from None
        finally:
            con.close()

    # --- metadata --------------------------------------------------------------------------------
    def meta(self) -> dict[str, Any]:
        with self.connect(write=False) as con:
            return {r["key"]: json.loads(r["value"]) for r in con.execute("SELECT * FROM meta")}

    def set_meta(self, **items: Any) -> None:
        with self.connect() as con:
            con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                            [(k, json.dumps(v)) for k, v in items.items()])

    # --- building --------------------------------------------------------------------------------
    def add_frame(self, row: FrameRow, proposal: list[tuple[float | None, float | None, float]]
                  ) -> int:
        """Insert a frame and the model's proposal (x, y, score per keypoint; None x = missing)."""
        with self.connect() as con:
            pos = con.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM frames").fetchone()[0]
            cur = con.execute(
                "INSERT INTO frames (position, name, image, source, frame_index, time, width, "
                "height, queue, reason, priority, display, face_found) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (pos, row.name, row.image, row.source, row.frame_index, _num(row.time),
                 int(row.width), int(row.height), row.queue, row.reason, _num(row.priority),
                 row.display, int(bool(row.face_found))))
            fid = int(cur.lastrowid)
            now = time.time()
            rows = []
            for k, (x, y, score) in enumerate(proposal):
                x, y = _num(x), _num(y)
                v = VISIBLE if x is not None and y is not None else ABSENT
                if v == ABSENT:
                    x = y = None
                rows.append((fid, k, x, y, v, x, y, v, _num(score), PROPOSED, 0, now))
            con.executemany("INSERT INTO points VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            rows)
        return fid

    def has_image(self, image: str) -> bool:
        with self.connect(write=False) as con:
            return con.execute("SELECT 1 FROM frames WHERE image = ?", (image,)).fetchone() \
                is not None

    # --- reading ---------------------------------------------------------------------------------
    def frame_ids(self) -> list[int]:
        """Frame ids in labelling order."""
        with self.connect(write=False) as con:
            return [r[0] for r in con.execute("SELECT id FROM frames ORDER BY position")]

    def frames(self) -> list[dict[str, Any]]:
        """Every frame's summary (no points), in labelling order."""
        with self.connect(write=False) as con:
            rows = con.execute(
                "SELECT f.*, (SELECT COUNT(*) FROM points p WHERE p.frame_id = f.id "
                "AND p.status = 'corrected') AS n_corrected FROM frames f ORDER BY position")
            return [dict(r) for r in rows]

    def frame(self, frame_id: int) -> dict[str, Any]:
        """One frame with its points and undo/redo availability; KeyError if unknown."""
        with self.connect(write=False) as con:
            return self._frame(con, frame_id)

    def _frame(self, con: sqlite3.Connection, frame_id: int) -> dict[str, Any]:
        row = con.execute("SELECT * FROM frames WHERE id = ?", (frame_id,)).fetchone()
        if row is None:
            raise KeyError(frame_id)
        out = dict(row)
        out["reviewed"] = bool(out["reviewed"])
        out["face_found"] = bool(out["face_found"])
        out["points"] = [self._point(r) for r in con.execute(
            "SELECT * FROM points WHERE frame_id = ? ORDER BY k", (frame_id,))]
        counts = dict(con.execute("SELECT state, COUNT(*) FROM edits WHERE frame_id = ? "
                                  "GROUP BY state", (frame_id,)).fetchall())
        out["can_undo"] = counts.get("done", 0) > 0
        out["can_redo"] = counts.get("undone", 0) > 0
        return out

    @staticmethod
    def _point(r: sqlite3.Row) -> dict[str, Any]:
        return {"k": r["k"], "x": r["x"], "y": r["y"], "v": r["v"], "status": r["status"],
                "score": r["score"], "px": r["px"], "py": r["py"], "pv": r["pv"],
                "version": r["version"]}

    def rev(self, frame_id: int) -> int:
        with self.connect(write=False) as con:
            row = con.execute("SELECT rev FROM frames WHERE id = ?", (frame_id,)).fetchone()
        if row is None:
            raise KeyError(frame_id)
        return int(row[0])

    def points_table(self) -> list[dict[str, Any]]:
        """Every point joined with its frame's review state (for exports and statistics)."""
        with self.connect(write=False) as con:
            rows = con.execute("SELECT p.*, f.reviewed FROM points p JOIN frames f "
                               "ON f.id = p.frame_id ORDER BY f.position, p.k")
            return [dict(r) for r in rows]

    # --- editing ---------------------------------------------------------------------------------
    def edit_point(self, frame_id: int, k: int, x: float | None = None, y: float | None = None,
                   v: int | None = None, base_version: int | None = None,
                   client: str | None = None) -> dict[str, Any]:
        """Change one point (only the fields given) and record the edit for undo.

        Placing a point (x, y given) that is absent makes it visible; setting ``v`` to absent
        keeps the last position in the history only. Returns ``{"point", "rev", "conflict"}``;
        ``conflict`` is True when ``base_version`` is older than the stored version (another tab
        wrote this point since): the write still wins, and the overwritten state stays in the
        history.
        """
        with self.connect() as con:
            frame = con.execute("SELECT reviewed, width, height FROM frames WHERE id = ?",
                                (frame_id,)).fetchone()
            if frame is None:
                raise KeyError(frame_id)
            cur = con.execute("SELECT * FROM points WHERE frame_id = ? AND k = ?",
                              (frame_id, k)).fetchone()
            if cur is None:
                raise KeyError((frame_id, k))
            before = {"x": cur["x"], "y": cur["y"], "v": cur["v"]}
            after = dict(before)
            if x is not None and y is not None:
                after["x"], after["y"] = float(x), float(y)
                if after["v"] == ABSENT:
                    after["v"] = VISIBLE
            if v is not None:
                after["v"] = int(v)
            if after["v"] != ABSENT and (after["x"] is None or after["y"] is None):
                raise ValueError("a visible or occluded point needs a position: place it first")
            conflict = base_version is not None and int(base_version) != cur["version"]
            if after == before:
                return {"point": self._point(cur), "rev": self._rev(con, frame_id),
                        "conflict": conflict}
            con.execute("UPDATE edits SET state = 'dropped' WHERE frame_id = ? AND "
                        "state = 'undone'", (frame_id,))
            con.execute("INSERT INTO edits (frame_id, k, before, after, client, at) "
                        "VALUES (?, ?, ?, ?, ?, ?)",
                        (frame_id, k, json.dumps(before), json.dumps(after), client, time.time()))
            point = self._write(con, frame_id, k, after, bool(frame["reviewed"]))
            return {"point": point, "rev": self._rev(con, frame_id), "conflict": conflict}

    def _write(self, con: sqlite3.Connection, frame_id: int, k: int, state: dict[str, Any],
               reviewed: bool) -> dict[str, Any]:
        cur = con.execute("SELECT px, py, pv FROM points WHERE frame_id = ? AND k = ?",
                          (frame_id, k)).fetchone()
        status = _status(state["x"], state["y"], state["v"], cur["px"], cur["py"], cur["pv"],
                         reviewed)
        con.execute("UPDATE points SET x = ?, y = ?, v = ?, status = ?, version = version + 1, "
                    "updated_at = ? WHERE frame_id = ? AND k = ?",
                    (state["x"], state["y"], state["v"], status, time.time(), frame_id, k))
        con.execute("UPDATE frames SET rev = rev + 1 WHERE id = ?", (frame_id,))
        row = con.execute("SELECT * FROM points WHERE frame_id = ? AND k = ?",
                          (frame_id, k)).fetchone()
        return self._point(row)

    @staticmethod
    def _rev(con: sqlite3.Connection, frame_id: int) -> int:
        return int(con.execute("SELECT rev FROM frames WHERE id = ?", (frame_id,)).fetchone()[0])

    def undo(self, frame_id: int) -> dict[str, Any]:
        """Undo the frame's latest edit (if any); returns the frame."""
        return self._step(frame_id, "done", "undone", "before", "DESC")

    def redo(self, frame_id: int) -> dict[str, Any]:
        """Redo the frame's most recently undone edit (if any); returns the frame."""
        return self._step(frame_id, "undone", "done", "after", "ASC")

    def _step(self, frame_id: int, from_state: str, to_state: str, side: str, order: str
              ) -> dict[str, Any]:
        with self.connect() as con:
            frame = con.execute("SELECT reviewed FROM frames WHERE id = ?", (frame_id,)).fetchone()
            if frame is None:
                raise KeyError(frame_id)
            edit = con.execute(f"SELECT * FROM edits WHERE frame_id = ? AND state = ? "
                               f"ORDER BY id {order} LIMIT 1", (frame_id, from_state)).fetchone()
            if edit is not None:
                self._write(con, frame_id, edit["k"], json.loads(edit[side]),
                            bool(frame["reviewed"]))
                con.execute("UPDATE edits SET state = ? WHERE id = ?", (to_state, edit["id"]))
            return self._frame(con, frame_id)

    def accept(self, frame_id: int, seconds: float = 0.0) -> dict[str, Any]:
        """Mark a frame reviewed: unchanged proposals become ``accepted``; adds time spent."""
        with self.connect() as con:
            if con.execute("SELECT 1 FROM frames WHERE id = ?", (frame_id,)).fetchone() is None:
                raise KeyError(frame_id)
            con.execute("UPDATE frames SET reviewed = 1, reviewed_at = COALESCE(reviewed_at, ?), "
                        "seconds = seconds + ?, rev = rev + 1 WHERE id = ?",
                        (time.time(), max(0.0, float(seconds)), frame_id))
            con.execute("UPDATE points SET status = 'accepted' WHERE frame_id = ? AND "
                        "status = 'proposed'", (frame_id,))
            return self._frame(con, frame_id)

    def set_display(self, frame_id: int, display: str, face_found: bool) -> None:
        """Point a frame at a new displayed image (after its face region was re-placed)."""
        with self.connect() as con:
            cur = con.execute("UPDATE frames SET display = ?, face_found = ?, rev = rev + 1 "
                              "WHERE id = ?", (display, int(bool(face_found)), frame_id))
            if cur.rowcount == 0:
                raise KeyError(frame_id)

    def add_seconds(self, frame_id: int, seconds: float) -> None:
        """Add time a person spent on a frame (without accepting it)."""
        with self.connect() as con:
            cur = con.execute("UPDATE frames SET seconds = seconds + ? WHERE id = ?",
                              (max(0.0, float(seconds)), frame_id))
            if cur.rowcount == 0:
                raise KeyError(frame_id)
