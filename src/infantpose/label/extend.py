"""Add frames to an existing label project: the next round of labelling.

A typical loop: label 50 frames, fine-tune, then ask the fine-tuned model which frames of the
same videos it is least sure of (``infantpose label visits/ --out PROJECT --queue uncertain
--model blazepose-torch --weights runs/x/model.pt``). Frames already in the project are never
chosen again; new frames go after the existing ones, with the project's schema and blur setting.
Files are rendered in a hidden folder inside the project and each frame is moved into place
just before its database row is written, so an interruption leaves the project consistent.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from infantpose.errors import InputError
from infantpose.label import queues
from infantpose.label.build import (BuildOptions, Proposer, proposal_list, render_frames,
                                    select_frames)
from infantpose.label.sources import collect_candidates
from infantpose.io.label_store import Store
from infantpose import models  # models.create_estimator looked up per call: tests swap it
from infantpose.schemas import get_schema

__all__ = ["add_to_project"]


def _free_name(project: Path, rel: str) -> str:
    """``rel`` (e.g. ``frames/clip_f000012.png``), or ``..._2.png`` etc. when it is taken."""
    p = Path(rel)
    name, n = rel, 1
    while (project / name).exists():
        n += 1
        name = (p.parent / f"{p.stem}_{n}{p.suffix}").as_posix()
    return name


def add_to_project(sources: Sequence[str | os.PathLike], project: str | os.PathLike,
                   opts: BuildOptions, estimator: Any | None = None,
                   show_progress: bool = True) -> list[int]:
    """Choose ``opts.n`` new frames from ``sources`` with ``opts.queue`` and add them to
    ``project`` (its schema and blur setting win over ``opts``); returns the new frame ids."""
    store = Store.open(project)
    meta = store.meta()
    schema = get_schema(meta["schema"])
    opts = replace(opts, schema=schema.name, blur=bool(meta.get("blur", True)))
    queues.check_queue(opts.queue, opts.uncertainty)
    if opts.n <= 0:
        raise InputError(None, "-n must be at least 1")
    if opts.queue in ("uncertain", "jump") and opts.model is None and estimator is None:
        raise InputError(None, f"--queue {opts.queue} needs a model (not --model none)")
    have = {(f["source"], f["frame_index"]) for f in store.frames()}
    cands = [c for c in collect_candidates(sources, opts.max_candidates)
             if (str(c.path), c.index) not in have]
    if opts.queue == "jump":
        cands = [c for c in cands if c.is_video]
    if not cands:
        raise InputError(store.dir, "every frame these sources offer is already in the project")
    if estimator is None and opts.model is not None:
        estimator = models.create_estimator(opts.model, schema=schema, weights=opts.weights)
    proposer = Proposer(estimator, schema)
    model = getattr(estimator, "name", None) or opts.model
    note = f" [proposals: {model}]" if estimator is not None and model != meta.get("model") \
        else ""
    staging = Path(tempfile.mkdtemp(prefix=".label-add-", dir=store.dir))
    added: list[int] = []
    try:
        picks, preds = select_frames(cands, opts, proposer, show_progress)
        rows = render_frames(staging, cands, picks, preds, proposer, opts, show_progress)
        for d in ("frames", "display"):
            (store.dir / d).mkdir(exist_ok=True)
        for row, prop in rows:
            image = row.image
            if not Path(image).is_absolute():  # a frame taken from a video
                image = _free_name(store.dir, row.image)
                os.replace(staging / row.image, store.dir / image)
            display = _free_name(store.dir, row.display)
            os.replace(staging / row.display, store.dir / display)
            added.append(store.add_frame(replace(row, image=image, display=display,
                                                 reason=row.reason + note),
                                         proposal_list(prop)))
    finally:
        proposer.close()
        shutil.rmtree(staging, ignore_errors=True)
    return added
