"""The estimator interface every pose model implements, and the registry that names them.

An estimator turns one RGB image (H×W×3 uint8 numpy array) into a one-frame ``Poses`` in pixel
coordinates of that image: ``predict(image, boxes=None) -> Poses``, and nothing else. ``boxes``
optionally tells a top-down model where to look (x1, y1, x2, y2 per instance); without boxes
the estimator finds people itself (or uses the whole frame). Every call stands on its own: an
estimator keeps no state from one call to the next (caches and counters aside), so the same
image gives the same poses whatever came before. Following an infant through a video is a
:class:`~infantpose.models.tracker.Tracker`'s job, which wraps any estimator.

A plug-in estimator is any object with ``name``, ``schema`` and that ``predict``; its factory
(``"package.module:function"``, called as ``factory(schema=..., weights=..., **options)``) is
passed to :func:`create_estimator` or registered with :func:`register_estimator`. It may also
offer ``close()`` (free native resources) and ``tracker(config, following)`` (a tracker of its
own, :func:`~infantpose.models.tracker.make_tracker`).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from infantpose.errors import InputError
from infantpose.models.catalogue import BUILTIN
from infantpose.poses import Poses
from infantpose.schemas import Schema

__all__ = ["Estimator", "EstimatorInfo", "PluginEstimator", "register_estimator",
           "create_estimator", "list_estimators"]


@runtime_checkable
class Estimator(Protocol):
    """A pose model: ``predict(image, boxes=None) -> Poses`` (one frame) in ``schema``.

    Built-in estimators are also context managers whose ``close()`` frees native resources
    (graphs, sessions); :func:`create_estimator` gives plug-ins the same.
    """

    name: str
    schema: Schema

    def predict(self, image: np.ndarray, boxes: np.ndarray | None = None) -> Poses:
        ...


class PluginEstimator:
    """A plug-in factory's estimator with ``close()`` and ``with`` support added (where it has
    no ``close`` of its own, closing does nothing); every attribute is the plug-in's.

    :func:`create_estimator` wraps plug-ins that lack ``close``; anything else passes as is.
    """

    def __init__(self, inner: Any):
        self.inner = inner
        self.name = str(getattr(inner, "name", type(inner).__name__))
        self.schema = inner.schema

    def predict(self, image: np.ndarray, boxes: np.ndarray | None = None) -> Poses:
        return self.inner.predict(image, boxes)

    def close(self) -> None:
        own = getattr(self.inner, "close", None)
        if callable(own):
            own()

    def __enter__(self) -> PluginEstimator:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:  # anything else the plug-in offers (e.g. tracker)
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


def _checked(estimator: Any, name: str) -> Any:
    """``estimator`` from a factory: refused unless it has ``schema`` and ``predict``; wrapped
    in :class:`PluginEstimator` when it cannot be closed or used in ``with``."""
    if not callable(getattr(estimator, "predict", None)) or not hasattr(estimator, "schema"):
        raise InputError(None, f"model {name!r}: its factory returned {type(estimator).__name__}, "
                               "which has no predict(image, boxes=None) and schema")
    if all(callable(getattr(estimator, m, None)) for m in ("close", "__enter__", "__exit__")):
        return estimator
    return PluginEstimator(estimator)


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
    """Every registered estimator (built-in and plug-in), by name, with its description.

    Most names name a network (``movenet``, ``blazepose``, ``pose-resnet``); ``onnx`` names a
    runtime instead: it runs a model file of one's own (``--weights MODEL.onnx``).
    """
    return sorted(_REGISTRY.values(), key=lambda i: i.name)


for _entry in BUILTIN:
    register_estimator(*_entry)


def create_estimator(name: str, schema: str | Schema | None = None, weights: str | None = None,
                     **options: Any) -> Estimator:
    """Build the estimator registered as ``name``, emitting poses in ``schema``.

    ``name`` may also be a factory ``"package.module:function"`` of one's own (a plug-in model),
    called the same way as the registered ones.
    """
    if ":" in name and name not in _REGISTRY:
        module, func = name.split(":", 1)
        try:
            factory = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError, ValueError) as e:
            raise InputError(None, f"cannot load model factory {name!r} ({e})") from None
        return _checked(_call_plugin(name, factory, schema=schema, weights=weights,
                                     **options), name)
    info = _REGISTRY.get(name)
    if info is None:
        known = ", ".join(i.name for i in list_estimators())
        raise InputError(None, f"unknown model {name!r}; known models: {known}")
    if info.needs_weights and not weights:
        raise InputError(None, f"model {name!r} needs --weights FILE")
    module, func = info.factory.split(":")
    factory = getattr(importlib.import_module(module), func)
    return _checked(factory(schema=schema, weights=weights, **options), name)


def _call_plugin(name: str, factory: Any, **kwargs: Any) -> Any:
    """Call a plug-in factory ``module:function``: a spec that names no function, or a function
    that cannot be called as ``factory(schema=..., weights=...)`` (``os:getcwd``), is
    InputError, not an internal error."""
    if not callable(factory):
        raise InputError(None, f"model factory {name!r} is not a function")
    try:
        return factory(**kwargs)
    except TypeError as e:
        raise InputError(None, f"model factory {name!r} cannot be called as "
                               f"factory(schema=..., weights=...) ({e})") from None
