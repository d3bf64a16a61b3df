"""The labelling web app: a FastAPI application over one project's store.

Routes (all JSON unless noted):

* ``GET /`` the page; ``GET /static/...`` its script and style;
* ``GET /api/project``: schema (keypoints, edges, sides, side colours), frame list, resume
  cursor;
* ``GET /api/frames/{id}``: one frame with its points; ``GET /api/frames/{id}/rev``: its
  revision (tabs poll it to see each other's edits);
* ``GET /api/frames/{id}/image`` (JPEG): the frame as shown, face blurred;
  ``?raw=1`` the unblurred frame, for a person who reveals it on purpose (other query
  parameters only name the version, for the browser's cache); when a person accepts a frame
  whose head keypoints they corrected, the shown frame is re-made with the face placed from
  their keypoints;
* ``PUT /api/frames/{id}/points/{k}``: change one point (x, y, v), saved at once;
* ``POST /api/frames/{id}/undo`` | ``/redo`` | ``/accept`` | ``/time``; ``PUT /api/cursor``;
* ``GET /api/stats``.

Hostile requests get a 4xx answer, never a 500: ids beyond SQLite's 64-bit integers and numbers
out of range (``1e999``) are refused with 422, request bodies over :data:`MAX_BODY` bytes with
413, and an image is served only from a path :func:`infantpose.label.files.servable_image`
allows (inside the project folder, or the user's own photo), never a file named by an edited
database (``../../etc/passwd``).

Served on a loopback address (the default), only requests addressed to localhost are answered,
so a web page elsewhere cannot reach the project through the browser (DNS rebinding). With
``--host`` set to another address the page is meant to be reached from other machines, by any
name.
"""

from __future__ import annotations

import math
import threading
from importlib import resources
from pathlib import Path
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Body, FastAPI, HTTPException
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.middleware.trustedhost import TrustedHostMiddleware

from infantpose.draw import Palette, body_side
from infantpose.io.label_store import Store
from infantpose.label.build import refresh_display
from infantpose.label.files import servable_image
from infantpose.label.stats import project_stats
from infantpose.schemas import get_schema
from infantpose.video.privacy import Deidentifier

__all__ = ["MAX_BODY", "create_app", "static_dir"]

LOW_SCORE = 0.5  # proposals scoring below this are highlighted on the page
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
#: Largest request body accepted (bytes); the page's requests are a few hundred bytes.
MAX_BODY = 1024 * 1024
#: SQLite stores integers in 64 bits: an id outside this range names no frame, and binding it
#: would fail inside the database driver.
SQL_INT = {"ge": -(2**63), "le": 2**63 - 1}
DbInt = Annotated[int, Field(**SQL_INT)]


class PointEdit(BaseModel):
    """A change to one point: a position (x and y), a visibility, or both."""

    x: float | None = None
    y: float | None = None
    v: int | None = Field(default=None, ge=0, le=2)
    base_version: DbInt | None = None
    client: str | None = Field(default=None, max_length=64)


class Seconds(BaseModel):
    seconds: float = Field(default=0.0, ge=0, le=3600)


class Cursor(BaseModel):
    frame_id: DbInt


def static_dir() -> Path:
    return Path(str(resources.files("infantpose.label") / "static"))


def _schema_info(name: str) -> dict[str, Any]:
    """The schema as the page needs it: keypoints, edges, each keypoint's body side and the
    side colours (``draw.Palette``, so the page draws left and right as images do)."""
    s = get_schema(name)
    return {"name": s.name, "keypoints": list(s.keypoints),
            "edges": [[int(a), int(b)] for a, b in s.edge_index],
            "sides": [body_side(n) for n in s.keypoints], "colours": Palette().hex(),
            "regions": list(s.regions)}


def create_app(project_dir: str | Path, host: str = "127.0.0.1") -> Any:
    """The FastAPI app serving ``project_dir`` (which must hold a project)."""
    store = Store.open(project_dir)
    meta = store.meta()
    schema = _schema_info(meta["schema"])
    n_kp = len(schema["keypoints"])
    project_id = str(int(meta.get("created", 0) * 1000))

    app = FastAPI(title="infantpose label", docs_url=None, redoc_url=None, openapi_url=None,
                  max_body_size=MAX_BODY)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Any, exc: RequestValidationError) -> JSONResponse:
        """422 naming what was wrong; the offending input is left out of the answer (an input
        such as ``1e999`` is infinity, which JSON cannot carry: echoing it failed with 500)."""
        detail = [{"loc": [str(part) for part in e.get("loc", ())], "msg": str(e.get("msg", "")),
                   "type": str(e.get("type", ""))} for e in exc.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    if host in LOOPBACK:  # only this machine: refuse requests addressed to any other name
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=sorted(LOOPBACK | {"testserver"}))
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")

    def frame_or_404(fid: int, fn: Callable[..., Any] | None = None, *args: Any) -> Any:
        """``fn(fid, *args)`` (default: the frame), or a 404 for an unknown frame."""
        try:
            return (fn or store.frame)(fid, *args)
        except KeyError:
            raise HTTPException(404, f"no frame {fid}") from None

    @app.get("/", include_in_schema=False, response_model=None)
    def index() -> FileResponse:
        return FileResponse(static_dir() / "index.html", headers={"Cache-Control": "no-cache"})

    @app.get("/api/project")
    def project() -> dict[str, Any]:
        m = store.meta()
        frames = [{"id": f["id"], "name": f["name"], "reviewed": bool(f["reviewed"]),
                   "corrected": f["n_corrected"], "reason": f["reason"],
                   "display": f["display"]}
                  for f in store.frames()]
        return {"id": project_id, "name": store.dir.resolve().name, "schema": schema,
                "queue": m.get("queue"), "model": m.get("model"), "blur": m.get("blur", True),
                "low_score": LOW_SCORE, "frames": frames, "cursor": m.get("cursor")}

    @app.get("/api/frames/{fid}")
    def frame(fid: DbInt) -> dict[str, Any]:
        return frame_or_404(fid)

    @app.get("/api/frames/{fid}/rev")
    def rev(fid: DbInt) -> dict[str, int]:
        return {"rev": frame_or_404(fid, store.rev)}

    @app.get("/api/frames/{fid}/image", response_model=None,
             responses={200: {"content": {"image/jpeg": {}}}})
    def image(fid: DbInt, raw: int = 0) -> FileResponse:
        f = frame_or_404(fid)
        path = servable_image(store.dir, f["image"] if raw else f["display"], photo=bool(raw))
        if path is None:
            raise HTTPException(404, f"no image of frame {fid} to serve (missing, not an "
                                     "image, or outside the project folder)")
        return FileResponse(path, headers={"Cache-Control": "private, max-age=86400"})

    @app.put("/api/frames/{fid}/points/{k}")
    def edit(fid: DbInt, k: DbInt, body: PointEdit = Body(...)) -> dict[str, Any]:
        if not 0 <= k < n_kp:
            raise HTTPException(404, f"no keypoint {k}")
        if (body.x is None) != (body.y is None):
            raise HTTPException(422, "give both x and y, or neither")
        if body.x is None and body.v is None:
            raise HTTPException(422, "nothing to change: give x and y, or v")
        f = frame_or_404(fid, store.frame)
        if body.x is not None:
            if not (math.isfinite(body.x) and math.isfinite(body.y)):
                raise HTTPException(422, "x and y must be finite numbers")
            if not (0 <= body.x <= f["width"] and 0 <= body.y <= f["height"]):
                raise HTTPException(422, "point outside the image")
        try:
            return store.edit_point(fid, k, body.x, body.y, body.v, body.base_version,
                                    body.client)
        except ValueError as e:
            raise HTTPException(409, str(e)) from None

    @app.post("/api/frames/{fid}/undo")
    def undo(fid: DbInt) -> dict[str, Any]:
        return frame_or_404(fid, store.undo)

    @app.post("/api/frames/{fid}/redo")
    def redo(fid: DbInt) -> dict[str, Any]:
        return frame_or_404(fid, store.redo)

    head = [r == "head" for r in schema["regions"]]
    deid: dict[str, Any] = {}
    deid_lock = threading.Lock()

    @app.post("/api/frames/{fid}/accept")
    def accept(fid: DbInt, body: Seconds | None = None) -> dict[str, Any]:
        f = frame_or_404(fid, store.accept, body.seconds if body else 0.0)
        if meta.get("blur", True) and any(head[p["k"]] and p["status"] == "corrected"
                                          for p in f["points"]):
            # The person placed the head: hide the face where they put it from now on.
            with deid_lock:
                if "d" not in deid:
                    deid["d"] = Deidentifier(mode="blur", margin=0.3)
                if refresh_display(store, fid, deid["d"]):
                    f = store.frame(fid)
        return f

    @app.post("/api/frames/{fid}/time")
    def add_time(fid: DbInt, body: Seconds) -> dict[str, bool]:
        frame_or_404(fid, store.add_seconds, body.seconds)
        return {"ok": True}

    @app.put("/api/cursor")
    def cursor(body: Cursor) -> dict[str, int]:
        frame_or_404(body.frame_id, store.rev)
        store.set_meta(cursor=body.frame_id)
        return {"cursor": body.frame_id}

    @app.get("/api/stats", response_model=None)
    def stats() -> JSONResponse:
        d = project_stats(store.dir).to_dict()
        return JSONResponse({k: (None if isinstance(v, float) and math.isnan(v) else v)
                             for k, v in d.items()})

    return app
