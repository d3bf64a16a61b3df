"""The ``infantpose train`` workflow: options -> training config -> a trained run folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infantpose.errors import InputError
from infantpose.outputs import Outputs, lock_folder, recording, remove_owned
from infantpose.pipelines._paths import coerce_paths
from infantpose.train import loop
from infantpose.train.config import TrainConfig, config_from_dict, read_config_values

__all__ = ["RUN_FILES", "TrainOptions", "TrainResult", "run_train", "train_config"]

#: The files a training run writes into its folder.
RUN_FILES = ("model.pt", "last.pt", "metrics.csv", "curves.png", "config.yaml")


@dataclass
class TrainOptions:
    """What ``infantpose train`` was asked for. None means "the config's (or preset's) value";
    choices are plain strings (``"kce"``, ``"upright"``, ...)."""

    config: Path | None = None
    data: list[Path] = field(default_factory=list)
    images: Path | None = None
    synthetic_data: list[Path] = field(default_factory=list)
    val: list[Path] = field(default_factory=list)
    synthetic: int | None = None
    synthetic_style: str | None = None
    schema: str | None = None
    preset: str | None = None
    epochs: int | None = None
    max_steps: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    loss: str | None = None
    crop: str | None = None
    weights: Path | None = None
    arch: str | None = None
    head: str | None = None
    landmark_model: str | None = None
    val_every: int | None = None
    domain_adaptation: bool | None = None
    memory_replay: bool | None = None
    seed: int | None = None
    threads: int | None = None
    out: Path | None = None
    fresh: bool = False
    resume: bool = False
    quiet: bool = False
    overwrite: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


@dataclass
class TrainResult:
    """The trained model (``OUT/model.pt``)."""

    model: Path


def _config_values(opts: TrainOptions) -> dict[str, Any]:
    """The config file's values (if any) with the options laid over them."""
    values: dict[str, Any] = {}
    if opts.config is not None:
        values = read_config_values(opts.config)
    if opts.images is not None and not opts.data:
        raise InputError(opts.images,
                         "--images names the image folder of --data labels; give --data")
    sources = [{"path": str(p), "domain": "real",
                **({"images": str(opts.images)} if opts.images is not None else {})}
               for p in opts.data]
    sources += [{"path": str(p), "domain": "synthetic"} for p in opts.synthetic_data]
    if sources:
        values["data"] = list(values.get("data", [])) + sources
    if opts.val:
        values["val"] = [{"path": str(p)} for p in opts.val]

    def put(section: str | None, key: str, value: Any) -> None:
        if value is None:
            return
        target = values if section is None else values.setdefault(section, {})
        target[key] = value

    put("synthetic", "n", opts.synthetic)
    put("synthetic", "style", opts.synthetic_style)
    put(None, "schema", opts.schema)
    put("optim", "epochs", opts.epochs)
    put("optim", "max_steps", opts.max_steps)
    if opts.epochs is not None and opts.max_steps is None:  # --epochs wins over a preset's steps
        values.setdefault("optim", {})["max_steps"] = None
    put("optim", "batch_size", opts.batch_size)
    put("optim", "lr", opts.lr)
    put(None, "loss", opts.loss)
    put(None, "crop", opts.crop)
    put("model", "weights", str(opts.weights) if opts.weights else None)
    put("model", "arch", opts.arch)
    put("model", "output", opts.head)
    put("model", "landmark_model", opts.landmark_model)
    put("optim", "val_every", opts.val_every)
    put("adapt", "domain_adaptation", opts.domain_adaptation)
    put("adapt", "memory_replay", opts.memory_replay)
    put(None, "seed", opts.seed)
    put(None, "threads", opts.threads)
    put(None, "out", str(opts.out) if opts.out else None)
    if opts.config is None and "out" not in values:
        raise InputError(None, "give --out DIR (or a config file with out:)")
    return values


def train_config(opts: TrainOptions) -> TrainConfig:
    """The checked training config the options describe (the config file, if any, with the
    options over it, then the preset's defaults); InputError for anything wrong."""
    return config_from_dict(_config_values(opts), opts.config, opts.preset)


def run_train(opts: TrainOptions) -> TrainResult:
    """Check the options and the run folder, then train (resuming an interrupted run unless
    ``fresh``). Only files infantpose wrote are ever replaced or removed."""
    cfg = train_config(opts)
    last = Path(cfg.out) / "last.pt"
    if opts.resume and opts.fresh:
        raise InputError(None, "--resume and --fresh exclude each other")
    if opts.resume and not last.is_file():
        raise InputError(last, "nothing to resume")
    inputs = [Path(d.path) for d in [*cfg.data, *cfg.val]]
    inputs += [Path(p) for p in (opts.config, cfg.model.weights) if p]
    guard = Outputs("train", inputs, opts.overwrite)
    out_dir = guard.folder(cfg.out)
    with lock_folder(out_dir, "train"):
        # only what infantpose wrote is deleted (a user's own files are refused below); on
        # resume too, the temporary files (.last.*.tmp.pt) of a killed run go
        remove_owned(out_dir, [n for n in RUN_FILES if n != "config.yaml"] if opts.fresh else [])
        guard.files([out_dir / n for n in RUN_FILES])
        with recording("train"):
            model = loop.train(cfg, resume=not opts.fresh, progress=not opts.quiet)
    return TrainResult(model)
