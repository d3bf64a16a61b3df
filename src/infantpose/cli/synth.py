"""``infantpose synth``: render synthetic infants with exact labels (images + COCO JSON, or a clip)."""

from __future__ import annotations

from pathlib import Path

import typer

from infantpose.cli import app
from infantpose.cli._options import (
    Choice,
    SynthStyle,
    out_option,
    overwrite_option,
    quiet_option,
    seed_option,
    value,
)


class SynthSchema(Choice):
    """The schemas whose every keypoint is a point of the synthetic body."""

    infant22 = "infant22"
    coco17 = "coco17"


class Movement(Choice):
    """Movement styles of synthetic clips (``infantpose.synth.clips.MOVEMENTS``)."""

    normal = "normal"
    cramped = "cramped"
    poor = "poor"


@app.command("synth")
def synth_cmd(
    out: Path = out_option("Output folder (images/ + annotations.json)."),
    n: int = typer.Option(100, "--n", "-n", help="Number of images (or clips with --clip)."),
    schema: SynthSchema = typer.Option(SynthSchema.infant22, "--schema", "-s",
                                       help="Keypoint schema.", case_sensitive=False),
    seed: int = seed_option(0, "Random seed (same seed, same bytes)."),
    size: str = typer.Option(None, "--size",
                             help="Image size WxH, e.g. 640x480 (default: random phone/NICU "
                                  "framings for images, 640x480 for clips)."),
    style: SynthStyle = typer.Option(SynthStyle.home, "--style", case_sensitive=False,
                                     help="Scene style (photo: home fitted to real infant "
                                          "photos)."),
    clip: float = typer.Option(None, "--clip",
                               help="Write N video clips of this many seconds instead of images "
                                    "(clip_000.mp4 + clip_000.json labels)."),
    fps: float = typer.Option(15.0, "--fps", help="Frames per second of clips."),
    movement: Movement = typer.Option(Movement.normal, "--movement", case_sensitive=False,
                                      help="Movement style of clips: normal (varied, fluent), "
                                           "cramped (rigid, synchronised) or poor (monotonous, "
                                           "small)."),
    quality: int = typer.Option(95, "--quality", help="JPEG quality of written images."),
    overwrite: bool = overwrite_option(),
    quiet: bool = quiet_option(),
) -> None:
    """Render N synthetic infant images with exact keypoint labels into OUT.

    Writes OUT/images/synth_000000.jpg, ... and OUT/annotations.json (COCO keypoints; every image
    has domain "synthetic", its posture and style). With --clip SECONDS, writes N clips instead.
    """
    # imported here, not at the top: `infantpose --help` stays fast
    from infantpose.pipelines.synth import SynthOptions, run_synth

    opts = SynthOptions(out=out, n=n, schema=value(schema), seed=seed, size=size,
                        style=value(style), clip=clip, fps=fps, movement=value(movement),
                        quality=quality, overwrite=overwrite, quiet=quiet)
    done = run_synth(opts)
    if done.clips:
        typer.echo(f"wrote {done.clips} clip(s) of {done.frames_per_clip} frames to {out}")
    else:
        typer.echo(f"wrote {done.images} images and {done.annotations} "
                   f"({done.schema}, style {opts.style}, seed {seed})")
