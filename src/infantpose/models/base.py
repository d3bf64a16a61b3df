"""The estimator interface every pose model implements, and the registry that names them.

An estimator turns one RGB image (H×W×3 uint8 numpy array) into a one-frame ``Poses`` in pixel
coordinates of that image. ``boxes`` optionally tells a top-down model where to look (x1, y1, x2, y2
per instance), which is how video tracking feeds the previous frame's box forward; without boxes
the estimator finds people itself (or uses the whole frame).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from infantpose.errors import InputError
from infantpose.poses import Poses
from infantpose.schemas import Schema

__all__ = ["Estimator", "EstimatorInfo", "register_estimator", "create_estimator",
           "list_estimators", "predict_batch"]


@runtime_checkable
class Estimator(Protocol):
    """A pose model: ``predict(image) -> Poses`` (one frame) in the estimator's ``schema``."""

    name: str
    schema: Schema

    def predict(self, image: np.ndarray, boxes: np.ndarray | None = None) -> Poses:
        ...


def predict_batch(estimator: Estimator, images: Sequence[np.ndarray],
                  boxes: Sequence[np.ndarray | None] | None = None) -> Poses:
    """Run ``estimator`` on several images and stack the results as frames.

    Uses the estimator's own ``predict_batch`` when it has one (batched tensor models), otherwise
    calls ``predict`` per image.
    """
    own = getattr(estimator, "predict_batch", None)
    if callable(own):
        return own(images, boxes)
    bxs = boxes if boxes is not None else [None] * len(images)
    return Poses.concat([estimator.predict(im, b) for im, b in zip(images, bxs)])


@dataclass(frozen=True)
class EstimatorInfo:
    """A registered estimator: its factory as ``module:function`` (imported on first use)."""

    name: str
    factory: str
    description: str
    needs_weights: bool = False


_REGISTRY: dict[str, EstimatorInfo] = {}


def register_estimator(name: str, factory: str, description: str, needs_weights: bool = False) -> None:
    """Register a factory ``"package.module:function"`` that returns an Estimator.

    The factory is called as ``factory(schema=..., weights=..., **options)``.
    """
    _REGISTRY[name] = EstimatorInfo(name, factory, description, needs_weights)


def list_estimators() -> list[EstimatorInfo]:
    return sorted(_REGISTRY.values(), key=lambda i: i.name)


def create_estimator(name: str, schema: str | Schema | None = None, weights: str | None = None,
                     **options: Any) -> Estimator:
    """Build the estimator registered as ``name``, emitting poses in ``schema``."""
    from infantpose import models  # noqa: F401  (fills the registry)

    info = _REGISTRY.get(name)
    if info is None:
        known = ", ".join(i.name for i in list_estimators())
        raise InputError(None, f"unknown model {name!r}; known models: {known}")
    if info.needs_weights and not weights:
        raise InputError(None, f"model {name!r} needs --weights FILE")
    module, func = info.factory.split(":")
    factory: Callable[..., Estimator] = getattr(importlib.import_module(module), func)
    return factory(schema=schema, weights=weights, **options)
