"""The typed per-frame, per-instance and per-keypoint fields of :class:`~infantpose.poses.Poses`.

A pose comes with facts beside its keypoints: which route of the estimator found it, the
quarter turn of the image that found it, the landmark model's presence score, whether a tracker
followed it from the previous frame, which points a filter filled in. They used to travel as
``Poses.meta`` keys whose shape depended on where the poses came from (a list over an image's
instances, a list over a video's frames), so every reader had to guess. Here each fact has one
name, one shape and one "unknown" value:

============  ==========  ========  ======================================================
field         shape       unknown   meaning
============  ==========  ========  ======================================================
path          (F, N) str  None      the estimator route that produced the pose
                                    (BlazePose: ``"detector"`` or ``"fallback"``, the
                                    landmark-only guess no person detector found)
rotation      (F, N) f    NaN       the quarter turn (0/90/180/270 degrees) of the image in
                                    which the pose was found
presence      (F, N) f    NaN       the landmark model's pose-presence probability
tracked       (F, N) b    False     followed from the previous frame's pose (a model's own
                                    video mode) rather than searched for
views         (F, N) str  None      the mirror test's verdict: ``"both"`` (averaged),
                                    ``"original"`` or ``"mirrored"`` (one view kept)
outcome       (F,) str    None      a video tracker's verdict on the frame: ``"detected"``,
                                    ``"tracked"`` or ``"redetected"``
interpolated  (F, N, K) b False     the point was filled in by a trajectory filter
rejected      (F, N, K) b False     the point was rejected by a trajectory filter
============  ==========  ========  ======================================================

A field that is None on a ``Poses`` was not recorded at all (the model does not report it); a
recorded field holds the unknown value wherever one entry is not known (an instance with no
pose has no path). This module holds the table and the array functions that check, pad, slice
and (de)serialise the fields; :mod:`infantpose.poses` applies them in every operation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["FIELDS", "FieldSpec", "LEGACY_META_KEYS", "blank", "coerce", "decode", "decode_all",
           "encode", "field_shape", "from_legacy_meta", "pad_instances", "ragged", "spec", "stack"]


@dataclass(frozen=True)
class FieldSpec:
    """One typed field: its name, the axes it runs over and the kind of its values.

    ``axes`` is ``"frame"`` (shape (F,)), ``"instance"`` (F, N) or ``"keypoint"`` (F, N, K);
    ``kind`` is ``"str"`` (object array of str, unknown None), ``"float"`` (unknown NaN) or
    ``"bool"`` (unknown False).
    """

    name: str
    axes: str
    kind: str

    @property
    def unknown(self) -> Any:
        """The value of an entry that is not known."""
        return {"str": None, "float": math.nan, "bool": False}[self.kind]

    @property
    def dtype(self) -> Any:
        return {"str": object, "float": float, "bool": bool}[self.kind]


#: Every typed field, in the order of the dataclass.
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("path", "instance", "str"),
    FieldSpec("rotation", "instance", "float"),
    FieldSpec("presence", "instance", "float"),
    FieldSpec("tracked", "instance", "bool"),
    FieldSpec("views", "instance", "str"),
    FieldSpec("outcome", "frame", "str"),
    FieldSpec("interpolated", "keypoint", "bool"),
    FieldSpec("rejected", "keypoint", "bool"),
)
_BY_NAME = {f.name: f for f in FIELDS}

#: ``Poses.meta`` keys of files written before the fields existed, read into the fields.
LEGACY_META_KEYS = tuple(f.name for f in FIELDS if f.name != "outcome")


def spec(name: str) -> FieldSpec:
    """The spec of field ``name`` (KeyError for an unknown name)."""
    return _BY_NAME[name]


def field_shape(s: FieldSpec, data_shape: tuple[int, ...]) -> tuple[int, ...]:
    """The shape field ``s`` must have beside a (F, N, K, 3) keypoint array."""
    f, n, k = data_shape[:3]
    return {"frame": (f,), "instance": (f, n), "keypoint": (f, n, k)}[s.axes]


def blank(s: FieldSpec, shape: tuple[int, ...]) -> np.ndarray:
    """An array of ``shape`` holding the unknown value of ``s``."""
    return np.full(shape, s.unknown, dtype=s.dtype)


def _axes_words(s: FieldSpec) -> str:
    return {"frame": "(frames,)", "instance": "(frames, instances)",
            "keypoint": "(frames, instances, keypoints)"}[s.axes]


def coerce(s: FieldSpec, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as field ``s``'s array of ``shape``; ValueError naming the field otherwise.

    Strings are str or None (never numbers), floats are numbers or None/NaN (never strings,
    booleans or infinities), booleans are booleans.
    """
    where = f"Poses.{s.name}"
    if s.kind == "str":
        try:
            arr = value if isinstance(value, np.ndarray) and value.dtype == object \
                else np.asarray(value, dtype=object)
        except ValueError as e:  # ragged nesting
            raise ValueError(f"{where} must have shape {shape} {_axes_words(s)}: {e}") from None
        if arr.size == 0 and math.prod(shape) == 0:
            arr = arr.reshape(shape)  # JSON's [] for no frames or no instances
        if arr.shape != shape:
            raise ValueError(f"{where} must have shape {shape} {_axes_words(s)}, "
                             f"got {arr.shape}")
        for v in arr.flat:
            if v is not None and not isinstance(v, str):
                raise ValueError(f"{where} must hold strings or None, got {v!r}")
        return arr
    raw = value if isinstance(value, np.ndarray) else np.asarray(value, dtype=object)
    if raw.size == 0 and math.prod(shape) == 0:
        raw = raw.reshape(shape)
    if raw.shape != shape:
        raise ValueError(f"{where} must have shape {shape} {_axes_words(s)}, got {raw.shape}")
    if s.kind == "bool":
        if raw.dtype != bool and not all(isinstance(v, (bool, np.bool_)) for v in raw.flat):
            raise ValueError(f"{where} must hold booleans")
        return raw.astype(bool)
    if raw.dtype.kind not in "fiu":
        bad = [v for v in raw.flat if v is not None and (
            isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.number)))]
        if bad:
            raise ValueError(f"{where} must hold numbers or None, got {bad[0]!r}")
        raw = np.array([math.nan if v is None else float(v) for v in raw.flat],
                       dtype=float).reshape(shape)
    arr = raw.astype(float)
    if np.isinf(arr).any():
        raise ValueError(f"{where} must hold finite numbers or NaN")
    return arr


def pad_instances(s: FieldSpec, arr: np.ndarray, n: int) -> np.ndarray:
    """Field array ``arr`` widened to ``n`` instances with the unknown value (frame fields are
    returned as they are)."""
    if s.axes == "frame" or arr.shape[1] == n:
        return arr
    shape = (arr.shape[0], n - arr.shape[1]) + arr.shape[2:]
    return np.concatenate([arr, blank(s, shape)], axis=1)


def ragged(s: FieldSpec, rows: Any, counts: list[int], shape: tuple[int, ...]) -> np.ndarray:
    """A per-instance (or per-keypoint) field given as one list per frame, frame ``i`` holding
    ``counts[i]`` instances (or none: unknown), padded to ``shape`` with the unknown value."""
    if len(rows) != len(counts):
        raise ValueError(f"Poses.{s.name} has {len(rows)} frames for {len(counts)}")
    full = blank(s, shape)
    for i, row in enumerate(rows):
        part = coerce(s, row, (len(row),) + tuple(shape[2:]))
        if len(part) not in (0, counts[i]):
            raise ValueError(f"Poses.{s.name} of frame {i} has {len(part)} entries for "
                             f"{counts[i]} instances")
        full[i, :len(part)] = part
    return full


def stack(s: FieldSpec, parts: list[np.ndarray | None], frames: list[int], n: int, k: int
          ) -> np.ndarray:
    """Field ``s`` of several Poses stacked along the frames, each widened to ``n`` instances;
    a part that is None (not recorded there) is its ``frames`` of unknown values."""
    return np.concatenate([pad_instances(s, a, n) if a is not None
                           else blank(s, field_shape(s, (f, n, k)))
                           for a, f in zip(parts, frames)], axis=0)


# --- JSON -----------------------------------------------------------------------------------------

def encode(s: FieldSpec, arr: np.ndarray) -> list:
    """Field array as JSON: nested lists with unknown floats as null; a keypoint flag as the
    list of ``[frame, instance, keypoint]`` where it is set (sparse: few points are flagged)."""
    if s.axes == "keypoint":
        return np.argwhere(arr).tolist()
    if s.kind == "float":
        return np.where(np.isnan(arr), None, arr).tolist()
    return arr.tolist()


def decode(s: FieldSpec, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Inverse of :func:`encode` (ValueError naming the field on bad content)."""
    if s.axes != "keypoint":
        return coerce(s, value, shape)
    arr = blank(s, shape)
    if not isinstance(value, list):
        raise ValueError(f"Poses.{s.name} must be a list of [frame, instance, keypoint]")
    for item in value:
        ok = (isinstance(item, list) and len(item) == 3
              and all(isinstance(v, int) and not isinstance(v, bool) for v in item)
              and all(0 <= v < m for v, m in zip(item, shape)))
        if not ok:
            raise ValueError(f"Poses.{s.name}: {item!r} is not a [frame, instance, keypoint] "
                             f"within shape {list(shape)}")
        arr[tuple(item)] = True
    return arr


def decode_all(raw: Any, data_shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    """A poses JSON's ``"fields"`` object as arrays (ValueError naming the field)."""
    if not isinstance(raw, dict):
        raise ValueError("fields must be an object")
    out = {}
    for name, value in raw.items():
        if name not in _BY_NAME:
            raise ValueError(f"fields: unknown field {name!r}")
        s = _BY_NAME[name]
        try:
            out[name] = decode(s, value, field_shape(s, data_shape))
        except ValueError as e:
            raise ValueError(f"fields.{name}: {e}") from None
    return out


def from_legacy_meta(meta: dict[str, Any], data_shape: tuple[int, ...]
                     ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The fields held in a version-1 file's ``meta`` (written before the fields existed), and
    the meta without them.

    The old keys had two shapes: a list over the instances of a one-frame result (an image)
    or a list over the frames of a video (one value per frame, for all its instances); the
    filter's ``interpolated`` / ``rejected`` were ``[frame, instance, keypoint]`` lists. A key
    whose value fits neither shape is left in ``meta`` untouched.
    """
    f, n = data_shape[:2]
    fields: dict[str, np.ndarray] = {}
    rest = dict(meta)
    for name in LEGACY_META_KEYS:
        if name not in meta:
            continue
        s, val = spec(name), meta[name]
        try:
            if s.axes == "keypoint":
                fields[name] = decode(s, val, tuple(data_shape[:3]))
            elif not isinstance(val, list) or any(isinstance(v, (list, dict)) for v in val):
                continue
            elif f == 1 and len(val) == n:  # an image's instances
                fields[name] = coerce(s, [val], (f, n))
            elif len(val) == f:  # a video's frames, each value for all instances
                fields[name] = coerce(s, [[v] * n for v in val], (f, n))
            else:
                continue
        except ValueError:
            continue
        del rest[name]
    return fields, rest
