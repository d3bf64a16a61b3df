"""``infantpose label``: AI-human co-labelling in the browser.

* ``infantpose label SOURCE... --out PROJECT [options]`` creates PROJECT (frames chosen by a
  queue, the model's proposals, blurred display images) and serves the labelling page;
  ``infantpose label --out PROJECT`` reopens an existing project, and with SOURCE arguments adds
  new frames to it first;
* ``infantpose label export PROJECT --to coco|labelme --out DST [--only-reviewed]``;
* ``infantpose label stats PROJECT``.

``label`` is a group whose default command is ``start``: anything that is not ``export``,
``stats`` or ``start`` is read as the arguments of ``start``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Optional

import click
import typer
from typer.core import TyperGroup

from infantpose.cli import app
from infantpose.cli._options import (
    Choice,
    SchemaName,
    model_option,
    quiet_option,
    schema_option,
    value,
    weights_option,
)


class Queue(Choice):
    """How frames are chosen (``infantpose.label.queues.QUEUES``)."""

    uniform = "uniform"
    kmeans = "kmeans"
    uncertain = "uncertain"
    jump = "jump"


class Uncertainty(Choice):
    """What ``--queue uncertain`` ranks by (``infantpose.label.queues.UNCERTAINTY``)."""

    score = "score"
    tta = "tta"


class ExportFormat(Choice):
    """What ``label export`` writes."""

    coco = "coco"
    labelme = "labelme"


class _StartByDefault(TyperGroup):
    """A group whose first argument, when it is not a sub-command, starts ``start``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["start", *args]
        return super().parse_args(ctx, args)


label_app = typer.Typer(
    cls=_StartByDefault, no_args_is_help=True, add_completion=False,
    help="Label frames in the browser with the model's help (AI-human co-labelling).\n\n"
         "infantpose label SOURCE... --out PROJECT  creates a project and opens the page;\n"
         "infantpose label --out PROJECT  reopens it; see also `label export` and `label stats`.\n\n"
         "Options for creating and serving (queue, model, port, ...): infantpose label start --help")
app.add_typer(label_app, name="label")


@label_app.command("start")
def start_cmd(
    sources: Optional[list[Path]] = typer.Argument(
        None, help="Images, videos, or folders of them (none: reopen PROJECT; with an existing "
                   "PROJECT: add -n new frames from them)."),
    out: Path = typer.Option(..., "--out", "-o", help="The project folder (created if new)."),
    model: Optional[str] = model_option(
        None, help="Model that proposes keypoints: blazepose (default), blazepose-torch, "
                   "pose-resnet, onnx, a factory package.module:function, or none; with "
                   "--weights alone, the model the checkpoint holds."),
    weights: Optional[str] = weights_option(),
    schema: Optional[SchemaName] = schema_option(
        None, help="Keypoints to label (new project; default infant22)."),
    queue: Queue = typer.Option(Queue.uniform, "--queue", case_sensitive=False,
                                help="Which frames: evenly spaced, varied looks (kmeans), the "
                                     "model least sure (uncertain) or jumps in videos."),
    n: int = typer.Option(50, "-n", help="How many frames to label."),
    uncertainty: Uncertainty = typer.Option(
        Uncertainty.score, "--uncertainty", case_sensitive=False,
        help="For --queue uncertain: model scores, or image vs mirror (tta)."),
    candidates: int = typer.Option(1000, "--candidates", help="Video frames considered "
                                   "(sampled evenly) before a queue picks -n of them."),
    no_blur: bool = typer.Option(
        False, "--no-blur", help="Show faces unblurred on the labelling page (the page shows "
                                 "them blurred by default; the labels keep every keypoint, "
                                 "so this is not --deidentify)."),
    port: int = typer.Option(8765, "--port", help="Port of the local web page."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (keep "
                             "127.0.0.1 unless others on your network must reach the page)."),
    no_serve: bool = typer.Option(False, "--no-serve", help="Only create the project."),
    quiet: bool = quiet_option(),
) -> None:
    """Create a label project from SOURCE (or reopen PROJECT) and serve the labelling page."""
    from rich.console import Console

    # imported here, not at the top: `infantpose --help` stays fast
    from infantpose.pipelines.label import LabelOptions, open_project, serve_project

    console = Console(stderr=True, soft_wrap=True)  # paths are never wrapped
    opts = LabelOptions(out=out, sources=list(sources or []), model=model, weights=weights,
                        schema=value(schema), queue=value(queue), n=n,
                        uncertainty=value(uncertainty), candidates=candidates, blur=not no_blur,
                        host=host, port=port, serve=not no_serve, quiet=quiet)
    project = open_project(opts)
    if project.created:
        console.print(f"created {out}: {project.frames} frames to label (queue {opts.queue})")
    elif project.added is not None:
        console.print(f"added {project.added} frames to {out} (queue {opts.queue}); "
                      f"{project.frames} in all")
    if no_serve:
        return
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    console.print(f"labelling page: {url}  (Ctrl+C to stop; every edit is already saved)")
    serve_project(project, host, port)


@label_app.command("export")
def export_cmd(
    project: Path = typer.Argument(..., help="The label project folder."),
    to: ExportFormat = typer.Option(ExportFormat.coco, "--to", case_sensitive=False,
                                    help="coco (one .json file) or labelme (a folder)."),
    out: Optional[Path] = typer.Option(
        None, "--out", "-o", help="Output .json (coco) or folder (labelme); default "
                                  "PROJECT/export/labels.json or PROJECT/export/labelme."),
    only_reviewed: bool = typer.Option(False, "--only-reviewed",
                                       help="Only frames a person accepted (Enter)."),
) -> None:
    """Write the project's labels as COCO keypoint JSON or LabelMe files."""
    from rich.console import Console

    from infantpose.pipelines.label import ExportOptions, export_labels

    done = export_labels(ExportOptions(project, value(to), out, only_reviewed))
    ds = done.dataset
    Console(soft_wrap=True).print(f"wrote {done.where}: {len(ds)} frames ({done.reviewed} "
                                  f"reviewed), schema {ds.schema.name}")


@label_app.command("stats")
def stats_cmd(
    project: Path = typer.Argument(..., help="The label project folder."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
) -> None:
    """Frames reviewed, share of points accepted unchanged, mean correction, seconds per frame."""
    from infantpose.label.stats import format_stats
    from infantpose.pipelines.label import label_stats

    s = label_stats(project)
    if as_json:
        d = {k: (None if isinstance(v, float) and math.isnan(v) else v)
             for k, v in s.to_dict().items()}
        print(json.dumps(d, indent=1))
    else:
        print(format_stats(s))
