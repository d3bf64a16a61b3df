"""``infantpose examples --out DIR``: write the project's own example images and video."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from infantpose.cli import app
from infantpose.cli._options import out_option, overwrite_option, quiet_option, seed_option


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

    from infantpose.errors import InputError
    from infantpose.examples import make_examples
    from infantpose.outputs import Outputs
    from infantpose.progress import bar

    if out is not None and out_dir is not None and out != out_dir:
        raise InputError(out_dir, f"two output folders (--out {out}); give one")
    out_dir = out if out is not None else out_dir
    if out_dir is None:
        raise InputError(None, "give --out DIR, the folder to write the examples into")
    guard = Outputs("examples", overwrite=overwrite)
    guard.folder(out_dir, create=False)
    for rel in EXAMPLE_FILES:
        guard.file(out_dir / rel, create_parent=False)
    console = Console()
    with bar(None, "generating examples", enabled=not quiet, unit="set", transient=True):
        make_examples(out_dir, seed=seed)
    written = [out_dir / rel for rel in EXAMPLE_FILES if (out_dir / rel).is_file()]
    guard.record(*written)
    for f in written:
        console.print(f"wrote {f}")


#: Every file ``make_examples`` writes (checked before, recorded after).
EXAMPLE_FILES = ([f"images/hopper_rot{r:03d}.jpg" for r in (0, 90, 180)]
                 + ["hopper.mp4", "infants/annotations.json", "infant_clip.mp4",
                    "infant_clip.json", "examples.json"]
                 + [f"infants/images/synth_{i:06d}.jpg" for i in range(12)])
