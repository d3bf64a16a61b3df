"""``infantpose train``: fine-tune a pose model on a few labelled images (plus synthetic ones)."""

from __future__ import annotations

from pathlib import Path

import typer

from infantpose.cli import app
from infantpose.cli._options import (
    Choice,
    Preset,
    SchemaName,
    SynthStyle,
    overwrite_option,
    quiet_option,
    seed_option,
    schema_option,
    value,
)
from infantpose.errors import InputError


class Loss(Choice):
    """Heatmap losses (config ``loss``)."""

    mse = "mse"
    bce = "bce"
    kce = "kce"


class Crop(Choice):
    """Training crops (config ``crop``)."""

    upright = "upright"
    box = "box"


class Arch(Choice):
    """Architectures to train (config ``model.arch``)."""

    blazepose = "blazepose"
    pose_resnet = "pose-resnet"
    movenet = "movenet"
    movenet_lightning = "movenet-lightning"


class LandmarkModel(Choice):
    """The pretrained BlazePose network to start from (config ``model.landmark_model``)."""

    full = "full"
    heavy = "heavy"


class Head(Choice):
    """The BlazePose head fine-tuned (config ``model.output``)."""

    landmarks = "landmarks"
    heatmap = "heatmap"


@app.command("train")
def train_cmd(
    config: Path | None = typer.Argument(
        None, help="Training config YAML (see docs/training.md). Options below override it."),
    data: list[Path] | None = typer.Option(
        None, "--data", help="Labelled images (repeatable): a COCO .json, or a folder of LabelMe "
                             ".json + images (domain 'real')."),
    images: Path | None = typer.Option(
        None, "--images", help="Folder of the --data images (COCO, DeepLabCut; default: beside "
                               "the labels, or an images/ folder there)."),
    synthetic_data: list[Path] | None = typer.Option(
        None, "--synthetic-data", help="Labelled synthetic images already on disk (repeatable; "
                                       "domain 'synthetic'), e.g. from `infantpose synth`."),
    val: list[Path] | None = typer.Option(
        None, "--val", help="Validation labels (repeatable; default: hold out part of --data)."),
    synthetic: int | None = typer.Option(
        None, "--synthetic", help="Render N synthetic infants to train on as well."),
    synthetic_style: SynthStyle | None = typer.Option(
        None, "--synthetic-style", case_sensitive=False,
        help="Style of the rendered infants (default photo: fitted to real infant photos)."),
    schema: SchemaName | None = schema_option(None, help="Keypoint schema to train."),
    preset: Preset | None = typer.Option(
        None, "--preset", help="quick (≤10 min on 2 CPU cores) or full.", case_sensitive=False),
    epochs: int | None = typer.Option(None, "--epochs", help="Number of epochs."),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Stop after S steps."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Images per step."),
    lr: float | None = typer.Option(None, "--lr", help="Learning rate."),
    loss: Loss | None = typer.Option(None, "--loss", help="Heatmap loss (default kce).",
                                     case_sensitive=False),
    crop: Crop | None = typer.Option(
        None, "--crop", case_sensitive=False,
        help="upright (default: crops aligned on the body, as BlazePose was trained) or box "
             "(the person box, any orientation)."),
    weights: Path | None = typer.Option(
        None, "--weights", "-w",
        help="Start from this checkpoint instead of the mediapipe weights."),
    arch: Arch | None = typer.Option(None, "--arch", help="Architecture to train (default "
                                                          "blazepose; movenet: MoveNet Thunder "
                                                          "from the model store, COCO-17).", case_sensitive=False),
    head: Head | None = typer.Option(
        None, "--head", case_sensitive=False,
        help="blazepose: fine-tune its regressed landmarks (default) or its heatmap head."),
    head_alias: Head | None = typer.Option(None, "--output", hidden=True, case_sensitive=False),
    landmark_model: LandmarkModel | None = typer.Option(
        None, "--landmark-model", case_sensitive=False,
        help="blazepose: the pretrained network to start from, full (default; in the mediapipe "
             "wheel) or heavy (pose_landmark_heavy: more accurate, about 4x slower; with "
             "--weights, the checkpoint's own)."),
    val_every: int | None = typer.Option(
        None, "--val-every", help="Validate every N steps (default: the preset's; 0 = every epoch)."),
    domain_adaptation: bool | None = typer.Option(
        None, "--domain-adaptation/--no-domain-adaptation",
        help="FiDIP domain confusion between synthetic and real images."),
    memory_replay: bool | None = typer.Option(
        None, "--memory-replay/--no-memory-replay",
        help="Keep the pretrained BlazePose keypoints as soft targets."),
    seed: int | None = seed_option(None, "Random seed."),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads (default 2)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Run folder (model.pt, ...)."),
    fresh: bool = typer.Option(
        False, "--fresh", help="Start over even if OUT holds an interrupted run (default: resume)."),
    resume: bool = typer.Option(
        False, "--resume", help="Require OUT/last.pt and resume from it."),
    quiet: bool = quiet_option(),
    progress: bool | None = typer.Option(None, "--progress/--no-progress", hidden=True),
    overwrite: bool = overwrite_option(),
) -> None:
    """Fine-tune a pose model (BlazePose weights from mediapipe by default) on labelled images.

    Writes OUT/model.pt (use it with `infantpose predict --weights OUT/model.pt`; the checkpoint
    selects its model), OUT/last.pt (resume point), OUT/metrics.csv, OUT/curves.png and
    OUT/config.yaml. Re-running the same command after an interruption resumes.
    """
    # imported here, not at the top: `infantpose --help` stays fast without torch
    from infantpose.pipelines.train import TrainOptions, run_train

    if head is not None and head_alias is not None and head != head_alias:
        raise InputError(None, "--head and --output (its old name) disagree; give --head")
    opts = TrainOptions(
        config=config, data=list(data or []), images=images,
        synthetic_data=list(synthetic_data or []), val=list(val or []), synthetic=synthetic,
        synthetic_style=value(synthetic_style), schema=value(schema), preset=value(preset),
        epochs=epochs, max_steps=max_steps, batch_size=batch_size, lr=lr, loss=value(loss),
        crop=value(crop), weights=weights, arch=value(arch),
        head=value(head if head is not None else head_alias),
        landmark_model=value(landmark_model), val_every=val_every,
        domain_adaptation=domain_adaptation, memory_replay=memory_replay, seed=seed,
        threads=threads, out=out, fresh=fresh, resume=resume,
        quiet=quiet or progress is False,  # --no-progress: the old spelling of --quiet
        overwrite=overwrite)
    typer.echo(str(run_train(opts).model))
