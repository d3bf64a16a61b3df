"""``infantpose examples DIR``: write the project's own example images and video."""

from __future__ import annotations

from pathlib import Path

import typer

from infantpose.cli import app


@app.command("examples")
def examples_cmd(
    out_dir: Path = typer.Argument(..., help="Folder to write the example data into."),
    seed: int = typer.Option(0, help="Random seed for the generated backgrounds."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace existing files that infantpose did not write."),
) -> None:
    """Write example images and videos for the quickstart (generated: no photos of real infants)."""
    from rich.console import Console

    from infantpose.examples import make_examples
    from infantpose.outputs import Outputs

    guard = Outputs("examples", overwrite=overwrite)
    guard.folder(out_dir, create=False)
    for rel in EXAMPLE_FILES:
        guard.file(out_dir / rel, create_parent=False)
    console = Console()
    with console.status("generating examples"):
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
