"""``infantpose examples --out DIR``: write the project's own example images and video."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from infantpose.cli import app
from infantpose.cli._options import out_option, overwrite_option, quiet_option, seed_option
from infantpose.errors import InputError


@app.command("examples")
def examples_cmd(
    out: Optional[Path] = out_option("Folder to write the example data into.", required=False),
    out_dir: Optional[Path] = typer.Argument(None, hidden=True),  # the old spelling: DIR
    seed: int = seed_option(0, "Random seed for the generated backgrounds."),
    overwrite: bool = overwrite_option(),
    quiet: bool = quiet_option(),
) -> None:
    """Write example images and videos for the quickstart (generated: no photos of real infants)."""
    from rich.console import Console

    # imported here, not at the top: `infantpose --help` stays fast
    from infantpose.pipelines.examples import ExamplesOptions, run_examples

    if out is not None and out_dir is not None and out != out_dir:
        raise InputError(out_dir, f"two output folders (--out {out}); give one")
    out_dir = out if out is not None else out_dir
    if out_dir is None:
        raise InputError(None, "give --out DIR, the folder to write the examples into")
    console = Console()
    for f in run_examples(ExamplesOptions(out_dir, seed, overwrite, quiet)):
        console.print(f"wrote {f}")
