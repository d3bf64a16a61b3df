"""``infantpose examples DIR``: write the project's own example images and video."""

from __future__ import annotations

from pathlib import Path

import typer

from infantpose.cli import app


@app.command("examples")
def examples_cmd(
    out_dir: Path = typer.Argument(..., help="Folder to write the example data into."),
    seed: int = typer.Option(0, help="Random seed for the generated backgrounds."),
) -> None:
    """Write example images and videos for the quickstart (generated: no photos of real infants)."""
    from rich.console import Console

    from infantpose.examples import make_examples

    console = Console()
    with console.status("generating examples"):
        files = make_examples(out_dir, seed=seed)
    for f in files:
        console.print(f"wrote {f}")
