"""The ``infantpose synth`` workflow: render synthetic infants (images or clips) into a folder."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from infantpose.errors import InputError
from infantpose.outputs import Outputs, lock_folder, recording_batched, refuse_links
from infantpose.pipelines._paths import coerce_paths
from infantpose.progress import bar
from infantpose.synth import write_clip, write_dataset
from infantpose.synth.generate import check_schema, parse_size

__all__ = ["SynthOptions", "SynthResult", "planned_files", "run_synth"]


@dataclass
class SynthOptions:
    """What ``infantpose synth`` was asked for: ``n`` images (or, with ``clip`` seconds, ``n``
    clips) of ``schema`` keypoints; ``size`` is ``"WxH"`` or None (random framings)."""

    out: Path
    n: int = 100
    schema: str = "infant22"
    seed: int = 0
    size: str | None = None
    style: str = "home"
    clip: float | None = None
    fps: float = 15.0
    movement: str = "normal"
    quality: int = 95
    overwrite: bool = False
    quiet: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class SynthResult:
    """What was rendered: ``images`` images and their ``annotations`` file, or ``clips`` clips
    of ``frames_per_clip`` frames each; ``schema`` is the written keypoint schema."""

    out: Path
    schema: str
    images: int = 0
    annotations: Path | None = None
    clips: int = 0
    frames_per_clip: int = 0


def planned_files(opts: SynthOptions) -> list[str]:
    """The files (relative to ``opts.out``) the run will write."""
    if opts.clip is not None:
        return [f"clip_{i:03d}{ext}" for i in range(opts.n) for ext in (".mp4", ".json")]
    return [f"images/synth_{i:06d}.jpg" for i in range(opts.n)] + ["annotations.json"]


def _check(opts: SynthOptions) -> tuple[int, int] | None:
    """Every option checked; the image size as (width, height), or None."""
    n, clip, fps, quality = opts.n, opts.clip, opts.fps, opts.quality
    if n < 1:
        raise InputError(None, f"--n must be at least 1, got {n}")
    if n > (1000 if clip is not None else 1_000_000):
        raise InputError(None, f"--n {n} is more than one run renders (at most 1000 clips or "
                               "1000000 images); split it into several --out folders")
    if not 1 <= quality <= 100:
        raise InputError(None, f"--quality must be in 1..100, got {quality}")
    check_schema(opts.schema)
    wh = parse_size(opts.size)
    if clip is not None:
        if not (math.isfinite(clip) and 0 < clip <= 3600):
            raise InputError(None, f"--clip must be a number of seconds in (0, 3600], got {clip}")
        if not (math.isfinite(fps) and 0 < fps <= 240):
            raise InputError(None, f"--fps must be in (0, 240], got {fps}")
    return wh


def run_synth(opts: SynthOptions) -> SynthResult:
    """Check the options and the output files, then render. Files are recorded in the ledger
    as they are written (in batches, and whenever the run ends), so a run stopped by Ctrl-C
    leaves only files the rerun knows to be its own."""
    wh = _check(opts)
    out = opts.out
    guard = Outputs("synth", overwrite=opts.overwrite)
    guard.folder(out, create=False)
    planned = planned_files(opts)
    refuse_links(out, [Path(out) / rel for rel in planned])  # out/images: never a link
    for rel in planned:
        guard.file(Path(out) / rel, create_parent=False)
    guard.folder(out)
    with lock_folder(out, "synth"), recording_batched("synth"):
        return _render(opts, wh, guard, planned)


def _render(opts: SynthOptions, wh: tuple[int, int] | None, guard: Outputs,
            planned: list[str]) -> SynthResult:
    """Render the images (or clips) into ``opts.out`` once every check has passed."""
    out, n, clip, fps = Path(opts.out), opts.n, opts.clip, opts.fps
    if clip is not None:
        frames_per = max(1, round(clip * fps))
        with bar(n * frames_per, "rendering clips", enabled=not opts.quiet, transient=True) as b:
            for i in range(n):
                guard.record(*write_clip(out / f"clip_{i:03d}.mp4", clip, seed=opts.seed + i,
                                         fps=fps, schema=opts.schema, size=wh or (640, 480),
                                         style=opts.style, progress=b.update,
                                         movement=opts.movement))
        return SynthResult(opts.out, opts.schema, clips=n, frames_per_clip=frames_per)
    with bar(n, "rendering images", enabled=not opts.quiet, unit="image", transient=True) as b:
        ds = write_dataset(out, n, schema=opts.schema, seed=opts.seed, size=wh, style=opts.style,
                           quality=opts.quality, progress=b.update)
    guard.record(*(out / rel for rel in planned))
    return SynthResult(opts.out, ds.schema.name, images=len(ds),
                       annotations=out / "annotations.json")
