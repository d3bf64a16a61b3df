"""The estimator interface every pose model implements, and the registry that names them.

An estimator turns one RGB image (H×W×3 uint8 numpy array) into a one-frame ``Poses`` in pixel
coordinates of that image. ``boxes`` optionally tells a top-down model where to look (x1, y1, x2, y2
per instance), which is how video tracking feeds the previous frame's box forward; without boxes
the estimator finds people itself (or uses the whole frame).
"""

from __future__ import annotations

import abc
import importlib
from dataclasses import dataclass
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

import numpy as np

from infantpose.errors import InputError
from infantpose.poses import Poses
from infantpose.schemas import Schema

__all__ = ["Estimator", "EstimatorBase", "EstimatorInfo", "as_estimator", "register_estimator",
           "create_estimator", "list_estimators", "predict_batch"]


@runtime_checkable
class Estimator(Protocol):
    """A pose model: ``predict(image) -> Poses`` (one frame) in the estimator's ``schema``."""

    name: str
    schema: Schema

    def predict(self, image: np.ndarray, boxes: np.ndarray | None = None) -> Poses:
        ...


class EstimatorBase(abc.ABC):
    """What every estimator offers: ``predict`` plus the hooks video tracking and the commands
    call. The hooks do nothing here; a model overrides the ones it has a use for, so callers
    call them directly instead of probing for them.

    - ``predict_batch(images, boxes)``: several images at once (batched tensor models).
    - ``set_mode("image" | "video")``: independent images, or consecutive frames of one video
      (models that track across frames, such as the mediapipe runtime, reset their state).
    - ``set_rotation_hint(rotation)``: the quarter turn (0/90/180/270) to try first, the one that
      found the infant on the previous frame; ``accepts_rotation_hint`` says whether the model
      uses it (tracking then passes it back frame by frame instead of switching to video mode).
    - ``tracks_itself``: the model follows a person across frames by itself in video mode (the
      mediapipe runtime: its landmarks of one frame give the next frame's region, the detector
      runs only when the pose is lost); video tracking then only switches it to ``"video"``
      mode and hands it whole frames, instead of passing boxes and rotation hints.
    - ``set_tracking(on)``: calls between ``True`` and ``False`` are frames of one video, so the
      model may follow the previous frame's pose.
    - ``set_frame_time(seconds)``: the time of the next video frame (None: unknown), for models
      that smooth over time (mediapipe's landmark filter would otherwise assume 30 fps).
    - ``close()``: free native resources (graphs, sessions); also called on ``with`` exit.
    """

    name: str = "estimator"
    schema: Schema
    accepts_rotation_hint: bool = False
    tracks_itself: bool = False

    @abc.abstractmethod
    def predict(self, image: np.ndarray, boxes: np.ndarray | None = None) -> Poses:
        """One image (H×W×3 uint8 RGB) -> a one-frame Poses in ``schema``."""

    def predict_batch(self, images: Sequence[np.ndarray],
                      boxes: Sequence[np.ndarray | None] | None = None) -> Poses:
        bxs = boxes if boxes is not None else [None] * len(images)
        return Poses.concat([self.predict(im, b) for im, b in zip(images, bxs)])

    def set_mode(self, mode: str) -> None:
        if mode not in ("image", "video"):
            raise InputError(None, f"estimator mode must be 'image' or 'video', got {mode!r}")

    def set_rotation_hint(self, rotation: int | None) -> None:
        return None

    def set_tracking(self, on: bool) -> None:
        return None

    def set_frame_time(self, seconds: float | None) -> None:
        return None

    def close(self) -> None:
        return None

    def __enter__(self) -> EstimatorBase:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class _Adapted(EstimatorBase):
    """An estimator from a plug-in factory that does not derive from :class:`EstimatorBase`:
    its own hooks are used where it has them, the base's no-ops elsewhere."""

    def __init__(self, inner: Any):
        self.inner = inner
        self.name = str(getattr(inner, "name", type(inner).__name__))
        self.schema = inner.schema
        self.accepts_rotation_hint = (callable(getattr(inner, "set_rotation_hint", None))
                                      or hasattr(inner, "rotation_hint"))
        self.tracks_itself = bool(getattr(inner, "tracks_itself", False))

    def predict(self, image: np.ndarray, boxes: np.ndarray | None = None) -> Poses:
        return self.inner.predict(image, boxes)

    def _hook(self, name: str) -> Callable[..., Any] | None:
        fn = getattr(self.inner, name, None)
        return fn if callable(fn) else None

    def predict_batch(self, images: Sequence[np.ndarray],
                      boxes: Sequence[np.ndarray | None] | None = None) -> Poses:
        own = self._hook("predict_batch")
        return own(images, boxes) if own else super().predict_batch(images, boxes)

    def set_mode(self, mode: str) -> None:
        super().set_mode(mode)
        if (own := self._hook("set_mode")) is not None:
            own(mode)

    def set_rotation_hint(self, rotation: int | None) -> None:
        if (own := self._hook("set_rotation_hint")) is not None:
            own(rotation)
        elif hasattr(self.inner, "rotation_hint"):
            self.inner.rotation_hint = rotation

    def set_tracking(self, on: bool) -> None:
        if (own := self._hook("set_tracking")) is not None:
            own(on)

    def set_frame_time(self, seconds: float | None) -> None:
        if (own := self._hook("set_frame_time")) is not None:
            own(seconds)

    def close(self) -> None:
        if (own := self._hook("close")) is not None:
            own()

    def __getattr__(self, name: str) -> Any:  # anything else the plug-in offers
        if name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


def as_estimator(estimator: Any) -> EstimatorBase:
    """``estimator`` as an :class:`EstimatorBase` (plug-ins that do not derive from it are
    wrapped, so every hook can be called on any estimator)."""
    return estimator if isinstance(estimator, EstimatorBase) else _Adapted(estimator)


def predict_batch(estimator: Estimator, images: Sequence[np.ndarray],
                  boxes: Sequence[np.ndarray | None] | None = None) -> Poses:
    """Run ``estimator`` on several images and stack the results as frames."""
    return as_estimator(estimator).predict_batch(images, boxes)


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
                     **options: Any) -> EstimatorBase:
    """Build the estimator registered as ``name``, emitting poses in ``schema``.

    ``name`` may also be a factory ``"package.module:function"`` of one's own (a plug-in model),
    called the same way as the registered ones.
    """
    from infantpose import models  # noqa: F401  (fills the registry)

    if ":" in name and name not in _REGISTRY:
        module, func = name.split(":", 1)
        try:
            factory = getattr(importlib.import_module(module), func)
        except (ImportError, AttributeError, ValueError) as e:
            raise InputError(None, f"cannot load model factory {name!r} ({e})") from None
        return _plugin(name, factory, schema=schema, weights=weights, **options)
    info = _REGISTRY.get(name)
    if info is None:
        known = ", ".join(i.name for i in list_estimators())
        raise InputError(None, f"unknown model {name!r}; known models: {known}")
    if info.needs_weights and not weights:
        raise InputError(None, f"model {name!r} needs --weights FILE")
    module, func = info.factory.split(":")
    factory = getattr(importlib.import_module(module), func)
    return as_estimator(factory(schema=schema, weights=weights, **options))


def _plugin(name: str, factory: Any, **kwargs: Any) -> EstimatorBase:
    """Call a plug-in factory ``module:function``; a spec that names something else (a
    non-function, a function that does not take ``schema=``/``weights=``, or one that returns
    no estimator: ``os:getcwd``) is InputError, not an internal error."""
    if not callable(factory):
        raise InputError(None, f"model factory {name!r} is not a function")
    try:
        made = factory(**kwargs)
    except TypeError as e:
        raise InputError(None, f"model factory {name!r} cannot be called as "
                               f"factory(schema=..., weights=...) ({e})") from None
    if not callable(getattr(made, "predict", None)):
        raise InputError(None, f"model factory {name!r} returned {type(made).__name__}, not an "
                               "estimator (an object with a predict(image) method)")
    return as_estimator(made)
