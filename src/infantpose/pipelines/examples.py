"""The ``infantpose examples`` workflow: write the project's own example images and videos
(generated: no photos of real infants) into a folder, never over a user's files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from infantpose.examples import make_examples
from infantpose.outputs import Outputs
from infantpose.pipelines._paths import coerce_paths
from infantpose.progress import bar

__all__ = ["EXAMPLE_FILES", "ExamplesOptions", "run_examples"]

#: Every file ``make_examples`` writes (checked before, recorded after).
EXAMPLE_FILES = ([f"images/hopper_rot{r:03d}.jpg" for r in (0, 90, 180)]
                 + ["hopper.mp4", "infants/annotations.json", "infant_clip.mp4",
                    "infant_clip.json", "examples.json"]
                 + [f"infants/images/synth_{i:06d}.jpg" for i in range(12)])


@dataclass
class ExamplesOptions:
    """What ``infantpose examples`` was asked for."""

    out: Path
    seed: int = 0
    overwrite: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


def run_examples(opts: ExamplesOptions) -> list[Path]:
    """Write the examples into ``opts.out``; the files written, in :data:`EXAMPLE_FILES`
    order."""
    out_dir = opts.out
    guard = Outputs("examples", overwrite=opts.overwrite)
    guard.folder(out_dir, create=False)
    for rel in EXAMPLE_FILES:
        guard.file(out_dir / rel, create_parent=False)
    with bar(None, "generating examples", enabled=not opts.quiet, unit="set", transient=True):
        make_examples(out_dir, seed=opts.seed)
    written = [out_dir / rel for rel in EXAMPLE_FILES if (out_dir / rel).is_file()]
    guard.record(*written)
    return written
