"""``infantpose synth``: render synthetic infants with exact labels (images + COCO JSON, or a clip)."""

from __future__ import annotations

from pathlib import Path

import typer

from infantpose.cli import app


@app.command("synth")
def synth_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="Output folder (images/ + annotations.json)."),
    n: int = typer.Option(100, "--n", "-n", help="Number of images (or clips with --clip)."),
    schema: str = typer.Option("infant22", "--schema", help="Keypoint schema: infant22 or coco17."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same bytes)."),
    size: str = typer.Option(None, "--size",
                             help="Image size WxH, e.g. 640x480 (default: random phone/NICU "
                                  "framings for images, 640x480 for clips)."),
    style: str = typer.Option("home", "--style", help="Scene style: home, nicu or studio."),
    clip: float = typer.Option(None, "--clip",
                               help="Write N video clips of this many seconds instead of images "
                                    "(clip_000.mp4 + clip_000.json labels)."),
    fps: float = typer.Option(15.0, "--fps", help="Frames per second of clips."),
    movement: str = typer.Option("normal", "--movement",
                                 help="Movement style of clips: normal (varied, fluent), cramped "
                                      "(rigid, synchronised) or poor (monotonous, small)."),
    quality: int = typer.Option(95, "--quality", help="JPEG quality of written images."),
    overwrite: bool = typer.Option(False, "--overwrite",
                                   help="Replace existing files that infantpose did not write."),
) -> None:
    """Render N synthetic infant images with exact keypoint labels into OUT.

    Writes OUT/images/synth_000000.jpg, ... and OUT/annotations.json (COCO keypoints; every image
    has domain "synthetic", its posture and style). With --clip SECONDS, writes N clips instead.
    """
    from rich.progress import Progress

    from infantpose.errors import InputError
    from infantpose.outputs import Outputs
    from infantpose.synth import STYLES, write_clip, write_dataset
    from infantpose.synth.generate import check_schema, parse_size

    if n < 1:
        raise InputError(None, f"--n must be at least 1, got {n}")
    if n > (1000 if clip is not None else 1_000_000):
        raise InputError(None, f"--n {n} is more than one run renders (at most 1000 clips or "
                               "1000000 images); split it into several --out folders")
    if style not in STYLES:
        raise InputError(None, f"unknown style {style!r}; choose from {', '.join(STYLES)}")
    if not 1 <= quality <= 100:
        raise InputError(None, f"--quality must be in 1..100, got {quality}")
    check_schema(schema)
    wh = parse_size(size)
    from infantpose.synth.clips import MOVEMENTS
    if movement not in MOVEMENTS:
        raise InputError(None, f"unknown movement {movement!r}; choose from {', '.join(MOVEMENTS)}")
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
    for rel in planned:
        guard.file(Path(out) / rel, create_parent=False)
    guard.folder(out)
    with Progress(transient=True) as bar:
        if clip is not None:
            frames_per = max(1, round(clip * fps))
            task = bar.add_task("rendering clips", total=n * frames_per)
            for i in range(n):
                guard.record(*write_clip(Path(out) / f"clip_{i:03d}.mp4", clip, seed=seed + i,
                                         fps=fps, schema=schema, size=wh or (640, 480),
                                         style=style, progress=lambda k: bar.advance(task, k),
                                         movement=movement))
            typer.echo(f"wrote {n} clip(s) of {frames_per} frames to {out}")
            return
        task = bar.add_task("rendering images", total=n)
        ds = write_dataset(out, n, schema=schema, seed=seed, size=wh, style=style,
                           quality=quality, progress=lambda k: bar.advance(task, k))
    guard.record(*(Path(out) / rel for rel in planned))
    typer.echo(f"wrote {len(ds)} images and {Path(out) / 'annotations.json'} "
               f"({ds.schema.name}, style {style}, seed {seed})")
