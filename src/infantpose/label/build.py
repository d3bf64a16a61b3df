"""Create a label project: choose frames with a queue, pre-fill the model's proposals, and write
the images a person will see (face blurred by default).

Everything is built in a hidden staging folder inside PROJECT and moved into place at the end,
so an interrupted or failed build leaves no half-made project behind.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infantpose import _atomic
from infantpose.errors import InputError
from infantpose.io.images import read_image, write_image
from infantpose.label import queues
from infantpose.label.sources import Candidate, collect_candidates, iter_images
from infantpose.io.label_store import DB_NAME, FrameRow, Store, is_project
from infantpose.label.files import owned_display, servable_image
from infantpose import models  # models.create_estimator looked up per call: tests swap it
from infantpose.progress import bar as progress_bar
from infantpose.schemas import Schema, get_schema
from infantpose.video.face_annotator import FaceAnnotator
from infantpose.video.privacy import Deidentifier

__all__ = ["BuildOptions", "Proposer", "build_project", "display_image", "proposal_list",
           "refresh_display", "render_frames", "select_frames"]

DISPLAY_MAX_SIDE = 1600  # longer side of the JPEG the page shows (coordinates stay in pixels)


@dataclass
class BuildOptions:
    """How to build a project (the ``infantpose label`` options)."""

    schema: str = "infant22"
    queue: str = "uniform"
    n: int = 50
    uncertainty: str = "score"
    max_candidates: int = 1000
    blur: bool = True
    seed: int = 0
    model: str | None = "blazepose"
    weights: str | None = None


class Proposer:
    """The model that proposes keypoints: one (K, 3) prediction per image in ``schema``.

    Wraps any estimator (``predict(rgb) -> Poses``); keeps the instance with the highest mean
    keypoint score. Without an estimator every keypoint is proposed absent.
    """

    def __init__(self, estimator: Any | None, schema: Schema):
        self.estimator = estimator
        self.schema = schema

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        k = self.schema.num_keypoints
        out = np.full((k, 3), np.nan)
        out[:, 2] = 0.0
        if self.estimator is None:
            return out
        poses = self.estimator.predict(rgb)
        if poses.schema.name != self.schema.name:
            poses = poses.convert(self.schema)
        if poses.n_frames == 0 or poses.n_instances == 0:
            return out
        inst = poses.data[0]
        placed = ~np.isnan(inst[..., :2]).any(axis=-1)
        means = [float(inst[i, placed[i], 2].mean()) if placed[i].any() else -1.0
                 for i in range(len(inst))]
        best = inst[int(np.argmax(means))].copy()
        best[~placed[int(np.argmax(means))], 2] = 0.0
        return best

    def mirrored(self, rgb: np.ndarray) -> np.ndarray:
        """The prediction on the mirrored image, mapped back onto the original."""
        pred = self(np.ascontiguousarray(rgb[:, ::-1]))
        return queues.flip_back(pred, rgb.shape[1], self.schema.flip_index)

    def close(self) -> None:
        close = getattr(self.estimator, "close", None)
        if callable(close):
            close()


def _progress(total: int, desc: str, show: bool) -> Any:
    return progress_bar(total, desc, enabled=show, unit="frame", transient=True)


def display_image(rgb: np.ndarray, proposal: np.ndarray, schema: Schema, deid: Any | None,
                  head_by_person: bool = False) -> tuple[np.ndarray, bool]:
    """The frame as the page shows it: the face blurred (from mediapipe's face detector and the
    proposal's head keypoints); when no face can be placed the whole frame is blurred (the
    person can reveal it on the page). A model's skeleton whose head end the face detector
    does not confirm has both its ends blurred; ``head_by_person`` (the head keypoints come from
    a person) blurs the head end only. Returns (image, face_found). The face is hidden by the
    face annotator every command uses (:class:`~infantpose.video.face_annotator.FaceAnnotator`,
    blurring)."""
    if deid is None:
        return rgb, True
    face = FaceAnnotator("blur", deidentifier=deid, confirmed=head_by_person)
    shown = face.annotate(rgb, proposal[None], schema)
    return shown, face.found


def _write_jpeg(path: Path, rgb: np.ndarray, max_side: int | None = None) -> None:
    # imported here: OpenCV loads when a display image is written, not for `label`'s other jobs
    import cv2

    img = rgb
    if max_side is not None and max(rgb.shape[:2]) > max_side:
        s = max_side / max(rgb.shape[:2])
        img = cv2.resize(rgb, (round(rgb.shape[1] * s), round(rgb.shape[0] * s)),
                         interpolation=cv2.INTER_AREA)
    ok, enc = cv2.imencode(".jpg", cv2.cvtColor(img, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise InputError(path, "cannot encode image")
    _atomic.write_bytes(path, enc.tobytes())  # a page may be reading the previous one


def _frame_file_names(chosen: Sequence[Candidate]) -> dict[int, str]:
    """``frames/<video stem>_f<index>.png`` for video frames, unique across videos."""
    stems: dict[Path, str] = {}
    used: set[str] = set()
    out: dict[int, str] = {}
    for i, c in enumerate(chosen):
        if c.index is None:
            continue
        if c.path not in stems:
            stem, n = c.path.stem, 1
            while stem in used:
                n += 1
                stem = f"{c.path.stem}_{n}"
            used.add(stem)
            stems[c.path] = stem
        out[i] = f"frames/{stems[c.path]}_f{c.index:06d}.png"
    return out


def select_frames(cands: list[Candidate], opts: BuildOptions, proposer: Proposer, show: bool
            ) -> tuple[list[queues.Pick], dict[int, np.ndarray]]:
    """Run the queue over the candidates; returns the picks and the predictions made."""
    preds: dict[int, np.ndarray] = {}
    if opts.queue == "uniform":
        return queues.pick_uniform(len(cands), opts.n), preds
    k = proposer.schema.num_keypoints
    feats = np.zeros((len(cands), 32 * 24))
    allp = np.full((len(cands), k, 3), np.nan)
    mirror = np.full((len(cands), k, 3), np.nan)
    desc = {"kmeans": "thumbnails", "uncertain": "scoring frames", "jump": "tracking"}
    with _progress(len(cands), desc[opts.queue], show) as bar:
        for i, rgb in iter_images(cands):
            if opts.queue == "kmeans":
                feats[i] = queues.image_features(rgb)
            else:
                allp[i] = preds[i] = proposer(rgb)
                if opts.queue == "uncertain" and opts.uncertainty == "tta":
                    mirror[i] = proposer.mirrored(rgb)
            bar.update(1)
    if opts.queue == "kmeans":
        return queues.pick_kmeans(feats, opts.n, opts.seed), preds
    if opts.queue == "uncertain":
        u = (queues.score_uncertainty(allp) if opts.uncertainty == "score"
             else queues.tta_uncertainty(allp, mirror))
        return queues.pick_uncertain(u, opts.n, opts.uncertainty), preds
    groups = {p: g for g, p in enumerate(dict.fromkeys(c.path for c in cands))}
    scores, why = queues.jump_scores(allp, [groups[c.path] for c in cands],
                                     proposer.schema.keypoints)
    return queues.pick_jump(scores, why, opts.n), preds


def _check(sources: Sequence[str | os.PathLike], out: Path, opts: BuildOptions) -> None:
    queues.check_queue(opts.queue, opts.uncertainty)
    if opts.n <= 0:
        raise InputError(None, "-n must be at least 1")
    if opts.max_candidates <= 0:
        raise InputError(None, "--candidates must be at least 1")
    if out.exists() and not out.is_dir():
        raise InputError(out, "exists and is not a folder (PROJECT is a folder)")
    if is_project(out):
        raise InputError(out, "already holds a label project")
    for name in ("frames", "display"):  # never mix a project with (or replace) other files
        if (out / name).exists():
            raise InputError(out / name, "already exists; create the project in a new or "
                                         "empty folder")
    if opts.queue in ("uncertain", "jump") and opts.model is None:
        raise InputError(None, f"--queue {opts.queue} needs a model (not --model none)")


def build_project(sources: Sequence[str | os.PathLike], out: str | os.PathLike,
                  opts: BuildOptions | None = None, estimator: Any | None = None,
                  show_progress: bool = True) -> Store:
    """Create the label project ``out`` from SOURCE images/videos; returns its store.

    ``estimator`` (any object with ``predict(rgb) -> Poses``) overrides ``opts.model``.
    """
    opts = opts or BuildOptions()
    out = Path(out)
    schema = get_schema(opts.schema)
    _check(sources, out, opts)
    cands = collect_candidates(sources, opts.max_candidates)
    if opts.queue == "jump":
        cands = [c for c in cands if c.is_video]
        if not cands:
            raise InputError(None, "--queue jump needs videos among the SOURCE arguments")
    if estimator is None and opts.model is not None:
        estimator = models.create_estimator(opts.model, schema=schema, weights=opts.weights)
    proposer = Proposer(estimator, schema)
    created = not out.exists()
    _atomic.ensure_writable_dir(out)
    staging = Path(tempfile.mkdtemp(prefix=".label-build-", dir=out))
    done = False
    try:
        picks, preds = select_frames(cands, opts, proposer, show_progress)
        _fill(staging, cands, picks, preds, proposer, opts, show_progress)
        for name in ("frames", "display", DB_NAME):  # the database last: then it is a project
            if (staging / name).exists():
                os.replace(staging / name, out / name)
        done = True
    finally:
        proposer.close()
        shutil.rmtree(staging, ignore_errors=True)
        if created and not done:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if empty: the folder this build made, and nothing else
    return Store(out)


def project_meta(opts: BuildOptions, proposer: Proposer) -> dict[str, Any]:
    """The settings a new project records."""
    model = (getattr(proposer.estimator, "name", None) or opts.model) \
        if proposer.estimator is not None else None
    return {"schema": proposer.schema.name, "queue": opts.queue, "uncertainty": opts.uncertainty,
            "n": opts.n, "model": model, "weights": opts.weights, "blur": opts.blur,
            "cursor": None}


def _fill(staging: Path, cands: list[Candidate], picks: list[queues.Pick],
          preds: dict[int, np.ndarray], proposer: Proposer, opts: BuildOptions, show: bool
          ) -> None:
    """Write frames, display images and the database of a new project into ``staging``."""
    store = Store.create(staging, project_meta(opts, proposer))
    for row, prop in render_frames(staging, cands, picks, preds, proposer, opts, show):
        store.add_frame(row, proposal_list(prop))


def proposal_list(prop: np.ndarray) -> list[tuple[float | None, float | None, float]]:
    """A (K, 3) proposal as the store takes it (None for a keypoint not placed)."""
    return [(None if np.isnan(x) else float(x), None if np.isnan(y) else float(y), float(sc))
            for x, y, sc in prop]


def render_frames(folder: Path, cands: list[Candidate], picks: list[queues.Pick],
                  preds: dict[int, np.ndarray], proposer: Proposer, opts: BuildOptions,
                  show: bool) -> list[tuple[FrameRow, np.ndarray]]:
    """Write the picked frames (video frames as ``frames/*.png``) and their displayed images
    (``display/*.jpg``) under ``folder``; returns each frame's row and proposal, in the queue's
    order. Paths in the rows are relative to ``folder`` (images stay where they are)."""
    schema = proposer.schema
    chosen = [cands[p.index] for p in picks]
    frame_files = _frame_file_names(chosen)
    (folder / "display").mkdir(exist_ok=True)
    if frame_files:
        (folder / "frames").mkdir(exist_ok=True)
    rows: dict[int, tuple[FrameRow, np.ndarray]] = {}
    deid = None
    if opts.blur:
        deid = Deidentifier(mode="blur", margin=0.3, use_detector=True)
    try:
        with _progress(len(chosen), "proposals", show) as bar:
            for i, rgb in iter_images(chosen):
                pick, cand = picks[i], chosen[i]
                prop = preds.get(pick.index)
                if prop is None:
                    prop = proposer(rgb)
                if i in frame_files:
                    write_image(folder / frame_files[i], rgb)
                    image = frame_files[i]
                else:
                    image = str(cand.path)
                shown, face = display_image(rgb, prop, schema, deid)
                display = f"display/{i + 1:06d}.jpg"
                _write_jpeg(folder / display, shown, DISPLAY_MAX_SIDE)
                rows[i] = (FrameRow(
                    name=cand.label(), image=image, source=str(cand.path),
                    width=rgb.shape[1], height=rgb.shape[0], queue=opts.queue,
                    reason=pick.reason, display=display, frame_index=cand.index,
                    time=cand.time, priority=pick.priority, face_found=face), prop)
                bar.update(1)
    finally:
        if deid is not None:
            deid.close()
    if not rows:
        raise InputError(None, "no frame could be read from the sources")
    return [rows[i] for i in sorted(rows)]  # labelling order = the queue's order


def refresh_display(store: Store, frame_id: int, deid: Any) -> bool:
    """Re-make a reviewed frame's displayed image with the face placed from the person's own
    head keypoints (and the face detector) instead of the model's. False when the frame's image
    is gone, unreadable, or one the project may not read (see :mod:`infantpose.label.files`).
    The old displayed image is deleted only when it is the project's own."""
    f = store.frame(frame_id)
    src = servable_image(store.dir, f["image"], photo=True)
    if src is None:
        return False
    try:
        rgb = read_image(src)
    except InputError:  # damaged since the project was made: keep the shown image
        return False
    schema = get_schema(store.meta()["schema"])
    kp = np.full((schema.num_keypoints, 3), np.nan)
    kp[:, 2] = 0.0
    for p in f["points"]:
        if p["v"] > 0 and p["x"] is not None:
            kp[p["k"]] = (p["x"], p["y"], 1.0)
    shown, face = display_image(rgb, kp, schema, deid, head_by_person=True)
    name = f"display/{frame_id:06d}_r{f['rev']}.jpg"
    _write_jpeg(store.dir / name, shown, DISPLAY_MAX_SIDE)
    store.set_display(frame_id, name, face)
    old = owned_display(store.dir, f["display"]) if f["display"] != name else None
    if old is not None:
        old.unlink(missing_ok=True)
    return True
