"""``infantpose synth``: render synthetic infants with exact labels (images + COCO JSON, or a clip)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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
    from infantpose.errors import InputError
    from infantpose.outputs import Outputs, lock_folder, recording_batched, refuse_links
    from infantpose.synth.generate import check_schema, parse_size

    schema, style, movement = value(schema), value(style), value(movement)

    if n < 1:
        raise InputError(None, f"--n must be at least 1, got {n}")
    if n > (1000 if clip is not None else 1_000_000):
        raise InputError(None, f"--n {n} is more than one run renders (at most 1000 clips or "
                               "1000000 images); split it into several --out folders")
    if not 1 <= quality <= 100:
        raise InputError(None, f"--quality must be in 1..100, got {quality}")
    check_schema(schema)
    wh = parse_size(size)
    if clip is not None:
        import math

        if not (math.isfinite(clip) and 0 < clip <= 3600):
            raise InputError(None, f"--clip must be a number of seconds in (0, 3600], got {clip}")
        if not (math.isfinite(fps) and 0 < fps <= 240):
            raise InputError(None, f"--fps must be in (0, 240], got {fps}")
    guard = Outputs("synth", overwrite=overwrite)
    guard.folder(out, create=False)
    planned = ([f"clip_{i:03d}{ext}" for i in range(n) for ext in (".mp4", ".json")]
               if clip is not None else
               [f"images/synth_{i:06d}.jpg" for i in range(n)] + ["annotations.json"])
    refuse_links(out, [Path(out) / rel for rel in planned])  # out/images: never a link
    for rel in planned:
        guard.file(Path(out) / rel, create_parent=False)
    guard.folder(out)
    # Files are recorded in the ledger as they are written (in batches, and whenever the run
    # ends), so a run stopped by Ctrl-C leaves only files the rerun knows to be its own.
    with lock_folder(out, "synth"), recording_batched("synth"):
        _render(out, n, schema, seed, wh, style, clip, fps, movement, quality, quiet, guard,
                planned)


def _render(out: Path, n: int, schema: str, seed: int, wh: tuple[int, int] | None, style: str,
            clip: float | None, fps: float, movement: str, quality: int, quiet: bool,
            guard: Any, planned: list[str]) -> None:
    """Render the images (or clips) into ``out`` once every check has passed."""
    from infantpose.progress import bar
    from infantpose.synth import write_clip, write_dataset

    if clip is not None:
        frames_per = max(1, round(clip * fps))
        with bar(n * frames_per, "rendering clips", enabled=not quiet, transient=True) as b:
            for i in range(n):
                guard.record(*write_clip(Path(out) / f"clip_{i:03d}.mp4", clip, seed=seed + i,
                                         fps=fps, schema=schema, size=wh or (640, 480),
                                         style=style, progress=b.update, movement=movement))
        typer.echo(f"wrote {n} clip(s) of {frames_per} frames to {out}")
        return
    with bar(n, "rendering images", enabled=not quiet, unit="image", transient=True) as b:
        ds = write_dataset(out, n, schema=schema, seed=seed, size=wh, style=style,
                           quality=quality, progress=b.update)
    guard.record(*(Path(out) / rel for rel in planned))
    typer.echo(f"wrote {len(ds)} images and {Path(out) / 'annotations.json'} "
               f"({ds.schema.name}, style {style}, seed {seed})")
