"""``infantpose adapt``: fine-tune on your own footage without labelling it."""

from __future__ import annotations

from pathlib import Path

import typer

from infantpose.adapt.run import LABELS
from infantpose.cli import app
from infantpose.cli._options import (
    Preset,
    SchemaName,
    model_option,
    out_option,
    overwrite_option,
    quiet_option,
    schema_option,
    value,
)


@app.command("adapt")
def adapt_cmd(
    sources: list[Path] = typer.Argument(
        ..., help="Photos, videos, or folders of them (your own footage; no labels needed)."),
    out: Path = out_option("Run folder: model.pt, pseudo_labels.json, frames/, "
                           "adapt_report.json, ..."),
    model: str = model_option("blazepose", help="Model that makes the pseudo-labels (default: "
                                                "the mediapipe runtime)."),
    weights: Path | None = typer.Option(
        None, "--weights", "-w", help="Start training from this infantpose checkpoint (and make "
                                      "the pseudo-labels with it when --model is blazepose-torch)."),
    schema: SchemaName = schema_option("coco17", help="Keypoint schema to train."),
    preset: Preset = typer.Option(Preset.quick, "--preset", help="Training preset.",
                                  case_sensitive=False),
    val: list[Path] | None = typer.Option(
        None, "--val", help="Labelled images to select the model on (default: hold out part of "
                            "the pseudo-labels)."),
    frames_per_video: int = typer.Option(40, "--frames-per-video",
                                         help="Frames sampled from each video."),
    min_views: int = typer.Option(5, "--min-views",
                                  help="Views (of 8) that must agree to keep a keypoint."),
    tolerance: float = typer.Option(
        0.05, "--tolerance", help="Agreement radius as a fraction of the body's box diagonal."),
    min_score: float = typer.Option(0.5, "--min-score", help="Lowest keypoint score a view "
                                                             "may count with."),
    max_steps: int | None = typer.Option(None, "--max-steps", min=1,
                                         help="Stop training after S steps (default: the preset's)."),
    fresh: bool = typer.Option(False, "--fresh", help="Make new pseudo-labels and restart "
                                                      "training (default: resume)."),
    overwrite: bool = overwrite_option(),
    quiet: bool = quiet_option(),
) -> None:
    """Adapt a pose model to your own infants without labels.

    The model labels your frames itself, in 8 views each (quarter turns, mirrored); only
    keypoints the views agree on (and, in videos, that do not jump between neighbouring frames)
    are kept; then the `train` recipe fine-tunes on them and writes OUT/model.pt, which
    `predict --weights OUT/model.pt` uses. OUT/adapt_report.json says how many keypoints were
    kept. Re-running the same command resumes.
    """
    from infantpose.adapt.frames import collect_sources
    from infantpose.adapt.run import FRAMES, REPORT, AdaptOptions
    from infantpose.errors import InputError
    from infantpose.outputs import Outputs, lock_folder, remove_owned
    from infantpose.schemas import get_schema

    opts = AdaptOptions(tol=tolerance, min_views=min_views, min_score=min_score,
                        per_video=frames_per_video)
    opts.check()
    preset = value(preset)
    sch = get_schema(value(schema))
    photos, videos = collect_sources(sources)
    if weights is not None and not weights.is_file():
        raise InputError(weights, "no such checkpoint file")
    from infantpose.io.images import check_image_header
    from infantpose.io.video import probe_video

    for p in photos:  # every source checked before anything is written
        check_image_header(p)
    for v in videos:
        probe_video(v)
    if val:
        from infantpose.io.labels import read_labels

        for v in val:
            read_labels(v)
    if weights is not None:
        from infantpose.models.topdown import checkpoint_model

        checkpoint_model(weights)  # a file that is not an infantpose checkpoint fails here
    guard = Outputs("adapt", [*sources, *photos, *videos, *(val or []),
                              *([weights] if weights else [])], overwrite)
    made = [p for p in (out, out / FRAMES) if not p.exists()]
    out_dir = guard.folder(out)
    frames_dir = guard.folder(out_dir / FRAMES)
    train_names = ("model.pt", "last.pt", "metrics.csv", "curves.png", "config.yaml")
    if fresh:
        remove_owned(out_dir, [LABELS, REPORT, *[n for n in train_names if n != "config.yaml"]])
        remove_owned(frames_dir)
    guard.files([out_dir / n for n in (LABELS, REPORT, *train_names)])

    try:
        with lock_folder(out_dir, "adapt"):
            if not fresh:  # a killed run's temporary files (.last.*.tmp.pt) go
                remove_owned(out_dir, [])
                remove_owned(frames_dir, [])
            _run(out_dir, frames_dir, photos, videos, model, weights, sch, preset, val,
                 max_steps, opts, guard, fresh, quiet)
    except BaseException:
        for p in reversed(made):  # folders this run created and left empty
            if p.is_dir() and not any(p.iterdir()):
                p.rmdir()
        raise


def _run(out_dir: Path, frames_dir: Path, photos: list[Path], videos: list[Path], model: str,
         weights: Path | None, sch, preset: str, val: list[Path] | None, max_steps: int | None,
         opts, guard, fresh: bool, quiet: bool) -> None:
    """Pseudo-label (unless this folder already holds infantpose's pseudo-labels), then train."""
    from infantpose.adapt.frames import iter_frames
    from infantpose.adapt.run import REPORT, pseudo_label, training_values
    from infantpose.errors import InputError
    from infantpose.models import create_estimator
    from infantpose.outputs import is_owned, recording
    from infantpose.train.config import config_from_dict

    frames_per_video = opts.per_video
    labels = out_dir / LABELS
    # (the 8 views already include the mirror images: no test-time mirroring inside each)
    options = ({"rotations": (), "min_score": 0.0, "mirror_test": False}
               if model == "blazepose" else {})
    with recording("adapt"):
        if labels.is_file() and is_owned(labels):
            typer.echo(f"reusing pseudo-labels in {labels} (--fresh makes new ones)", err=True)
        else:
            est = create_estimator(model, schema=sch, weights=str(weights) if weights else None,
                                   **options)
            if est.schema.name != sch.name:
                raise InputError(None, f"model {model!r} emits {est.schema.name}, not {sch.name}")
            from infantpose.progress import bar

            total = len(photos) + len(videos) * frames_per_video
            with bar(total, "pseudo-labelling (8 views per frame)", enabled=not quiet,
                     transient=True) as b:
                labels, report = pseudo_label(
                    est, iter_frames(photos, videos, frames_per_video, opts.radius), sch, out_dir,
                    opts, claim=guard.file, progress=lambda f: b.update(1))
            est.close()
            typer.echo(f"pseudo-labels: {report.frames_used} of {report.frames} frames used, "
                       f"{report.kept_fraction:.0%} of keypoints kept ({out_dir / REPORT})",
                       err=True)
        values = training_values(labels, sch, out_dir, weights, val or [])
        if max_steps is not None:
            values["optim"] = {"max_steps": max_steps}
        cfg = config_from_dict(values, None, preset)
        from infantpose.train.loop import train

        model_path = train(cfg, resume=not fresh, progress=not quiet)
    typer.echo(str(model_path))
