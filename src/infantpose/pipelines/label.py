"""The ``infantpose label`` workflows: create, extend or reopen a label project, serve its
page, export its labels, count its reviews."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.io.label_store import Store, is_project
from infantpose.label.build import BuildOptions, build_project
from infantpose.label.export import export_project
from infantpose.label.extend import add_to_project
from infantpose.label.server import check_port, serve
from infantpose.label.stats import LabelStats, project_stats
from infantpose.models.resolve import resolve_model
from infantpose.pipelines._paths import coerce_paths
from infantpose.schemas import get_schema

__all__ = ["ExportOptions", "ExportResult", "LabelOptions", "LabelProject", "export_labels",
           "label_stats", "open_project", "serve_project"]


@dataclass
class LabelOptions:
    """What ``infantpose label [start]`` was asked for. ``model`` None: the mediapipe runtime
    (or, with ``weights``, the checkpoint's own model); ``"none"``: no proposals. ``serve``:
    the page will be served on ``host:port`` (checked free before any work)."""

    out: Path
    sources: list[Path] = field(default_factory=list)
    model: str | None = None
    weights: str | None = None
    schema: str | None = None
    queue: str = "uniform"
    n: int = 50
    uncertainty: str = "score"
    candidates: int = 1000
    blur: bool = True
    host: str = "127.0.0.1"
    port: int = 8765
    serve: bool = True
    quiet: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class LabelProject:
    """A project ready to label: its folder, its frames in all, whether this call created it,
    and the frames it added to an existing one (None: none were asked for)."""

    dir: Path
    frames: int
    created: bool
    added: int | None = None


def _proposal_model(opts: LabelOptions) -> str | None:
    """The registered model that proposes keypoints (None: ``--model none``)."""
    model, weights = opts.model, opts.weights
    if model is not None and model.lower() == "none":
        if weights is not None:
            raise InputError(weights, "--weights needs a model (not --model none)")
        return None
    if weights is not None and not Path(weights).is_file():
        raise InputError(weights, "weights file not found")
    # --weights alone: the checkpoint's own model; neither: the mediapipe runtime, whose
    # visibility scores the uncertainty queues were built and measured on
    return resolve_model(model if (model or weights) else "blazepose", weights)


def open_project(opts: LabelOptions) -> LabelProject:
    """Create the project ``opts.out`` from ``opts.sources``, or reopen it (adding frames
    from ``opts.sources`` when given). A busy port and every bad input fail before any work."""
    if opts.serve:
        check_port(opts.host, opts.port)  # before any work: a busy port is known at once
    model = _proposal_model(opts)
    build = BuildOptions(schema=opts.schema or "infant22", queue=opts.queue, n=opts.n,
                         uncertainty=opts.uncertainty, max_candidates=opts.candidates,
                         blur=opts.blur, model=model, weights=opts.weights)
    out, sources = opts.out, opts.sources
    if is_project(out):
        store = Store.open(out)
        added = None
        if sources:
            have = store.meta()["schema"]
            if opts.schema is not None and get_schema(opts.schema).name != have:
                raise InputError(out, f"this project labels {have}, not {opts.schema}")
            added = len(add_to_project(sources, out, build, show_progress=not opts.quiet))
        return LabelProject(store.dir, len(store.frame_ids()), created=False, added=added)
    if not sources:
        if out.exists():
            raise InputError(out, "not a label project; name SOURCE images or videos to "
                                  "create one here")
        raise InputError(out, "no such project; name SOURCE images or videos to create it")
    store = build_project(sources, out, build, show_progress=not opts.quiet)
    return LabelProject(store.dir, len(store.frame_ids()), created=True)


def serve_project(project: LabelProject, host: str, port: int) -> None:
    """Serve the labelling page of ``project`` until interrupted (Ctrl+C)."""
    serve(project.dir, host, port)


@dataclass
class ExportOptions:
    """What ``infantpose label export`` was asked for (``out`` None: inside the project)."""

    project: Path
    to: str = "coco"
    out: Path | None = None
    only_reviewed: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class ExportResult:
    """Where the labels went (the .json file, or the LabelMe folder) and what they hold."""

    where: str | Path
    dataset: LabeledDataset

    @property
    def reviewed(self) -> int:
        """How many of the exported frames a person accepted."""
        return sum(bool(f.get("label_reviewed")) for f in self.dataset.meta["image_fields"])


def export_labels(opts: ExportOptions) -> ExportResult:
    """Write the project's labels as COCO keypoint JSON (``to="coco"``) or LabelMe files."""
    to = opts.to
    dst = opts.out or (opts.project / "export" / ("labels.json" if to == "coco" else "labelme"))
    files, ds = export_project(opts.project, dst, to, opts.only_reviewed)
    return ExportResult(files[0] if to == "coco" else dst, ds)


def label_stats(project: Path) -> LabelStats:
    """Frames reviewed, points accepted unchanged, mean correction, seconds per frame."""
    return project_stats(project)
