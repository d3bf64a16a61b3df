"""The ``Poses`` container: keypoints of every instance in every frame, plus where they came from.

Every reader produces a ``Poses``, every estimator emits one, and every writer, filter, metric and
feature consumes one. The array is ``data[frame, instance, keypoint] = (x, y, score)`` in pixels of
the original image or video frame. A missing keypoint is ``x = y = NaN, score = 0``; frames with
fewer instances than the widest frame are padded with missing instances.

Beside the keypoints, typed fields hold the per-frame, per-instance and per-keypoint facts of
how the poses were found (``path``, ``rotation``, ``presence``, ``tracked``, ``views``,
``outcome``, ``interpolated``, ``rejected``; :mod:`infantpose.pose_fields` lists their shapes
and unknown values). Every operation that slices, pads or stacks frames or instances carries
them along. ``meta`` holds provenance only (model, options, source file, counts).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from infantpose import _atomic
from infantpose import _validate as V
from infantpose import pose_fields as PF
from infantpose._jsonfile import read_json
from infantpose.errors import InputError
from infantpose.schemas import Schema, get_mapping, get_schema

__all__ = ["FORMAT_VERSION", "Poses"]

FORMAT_VERSION = 1


def _missing(shape: tuple[int, ...]) -> np.ndarray:
    """A (..., 3) array of missing keypoints (x = y = NaN, score 0): the one padding rule."""
    data = np.full(shape, np.nan)
    data[..., 2] = 0.0
    return data


@dataclass
class Poses:
    """Keypoints (frames × instances × keypoints × (x, y, score)) with schema and source metadata.

    Attributes:
        data: float array of shape (F, N, K, 3).
        schema: the keypoint schema of axis 2.
        source: video path, image folder, or a model/dataset name; free text.
        frame_names: one name per frame (image file names for image collections), or None.
        frame_indices: original frame number of each row (videos skip corrupt frames), or None
            for 0..F-1.
        fps: frames per second for videos, else None.
        frame_size: (width, height) shared by all frames, or None.
        image_sizes: per-frame (width, height) for image collections of mixed sizes, or None.
        meta: free-form JSON-serialisable provenance (model name, options, source file,
            counts, ...): facts about the whole result, never one value per frame or instance.
        path: (F, N) str, the estimator route that produced each pose (BlazePose:
            ``"detector"`` or ``"fallback"``), None where unknown.
        rotation: (F, N) float, the quarter turn (degrees) of the image that found each pose,
            NaN where unknown.
        presence: (F, N) float, the landmark model's pose-presence probability, NaN where
            unknown.
        tracked: (F, N) bool, True where a model's own video mode followed the pose from the
            previous frame.
        views: (F, N) str, the mirror test's verdict (``"both"``, ``"original"``,
            ``"mirrored"``), None where unknown.
        outcome: (F,) str, a video tracker's verdict per frame (``"detected"``,
            ``"tracked"``, ``"redetected"``), None where unknown.
        interpolated / rejected: (F, N, K) bool, points a trajectory filter filled in /
            rejected.

    Each field is None when it was not recorded at all; see :mod:`infantpose.pose_fields`.
    """

    data: np.ndarray
    schema: Schema
    source: str | None = None
    frame_names: list[str] | None = None
    frame_indices: np.ndarray | None = None
    fps: float | None = None
    frame_size: tuple[int, int] | None = None
    image_sizes: list[tuple[int, int]] | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    path: np.ndarray | None = None
    rotation: np.ndarray | None = None
    presence: np.ndarray | None = None
    tracked: np.ndarray | None = None
    views: np.ndarray | None = None
    outcome: np.ndarray | None = None
    interpolated: np.ndarray | None = None
    rejected: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.schema = get_schema(self.schema)
        data = np.asarray(self.data, dtype=float)
        if data.ndim != 4 or data.shape[-1] != 3:
            raise ValueError(f"Poses.data must have shape (F, N, K, 3), got {data.shape}")
        if data.shape[2] != self.schema.num_keypoints:
            raise ValueError(
                f"Poses.data has {data.shape[2]} keypoints but schema {self.schema.name} has "
                f"{self.schema.num_keypoints}")
        self.data = data
        f = data.shape[0]
        if self.frame_names is not None:
            self.frame_names = [str(n) for n in self.frame_names]
            if len(self.frame_names) != f:
                raise ValueError(f"frame_names has {len(self.frame_names)} entries for {f} frames")
        if self.frame_indices is not None:
            self.frame_indices = np.asarray(self.frame_indices, dtype=int).reshape(-1)
            if len(self.frame_indices) != f:
                raise ValueError(f"frame_indices has {len(self.frame_indices)} entries for {f} frames")
        if self.image_sizes is not None:
            self.image_sizes = [(int(w), int(h)) for w, h in self.image_sizes]
            if len(self.image_sizes) != f:
                raise ValueError(f"image_sizes has {len(self.image_sizes)} entries for {f} frames")
        if self.frame_size is not None:
            self.frame_size = (int(self.frame_size[0]), int(self.frame_size[1]))
        for spec in PF.FIELDS:
            value = getattr(self, spec.name)
            if value is not None:
                setattr(self, spec.name, PF.coerce(spec, value, PF.field_shape(spec, data.shape)))

    def fields(self) -> dict[str, np.ndarray]:
        """The recorded typed fields (name -> array), in :data:`infantpose.pose_fields.FIELDS`
        order."""
        return {s.name: getattr(self, s.name) for s in PF.FIELDS
                if getattr(self, s.name) is not None}

    # --- construction ----------------------------------------------------------------------------
    @classmethod
    def empty(cls, schema: Schema | str, n_frames: int = 0, n_instances: int = 0, **kw: Any) -> Poses:
        """All-missing poses of the given shape."""
        s = get_schema(schema)
        return cls(_missing((n_frames, n_instances, s.num_keypoints, 3)), s, **kw)

    @classmethod
    def from_ragged(cls, frames: list[np.ndarray] | tuple[np.ndarray, ...], schema: Schema | str,
                    **kw: Any) -> Poses:
        """Poses from one ``(instances, keypoints, 3)`` array per frame, where frames hold
        different numbers of instances: the rest of each frame is padded as missing (NaN
        coordinates, score 0). ``kw`` are the other fields (``frame_indices``, ``fps``, ...);
        a per-instance field (``rotation=[[90], [0, 180]]``) may be ragged the same way and is
        padded with its unknown value."""
        s = get_schema(schema)
        arrays = []
        for i, f in enumerate(frames):
            a = np.asarray(f, dtype=float)
            if a.size == 0:
                a = a.reshape(0, s.num_keypoints, 3)
            if a.ndim != 3 or a.shape[1:] != (s.num_keypoints, 3):
                raise ValueError(f"Poses.from_ragged: frame {i} has shape {a.shape}, expected "
                                 f"(instances, {s.num_keypoints}, 3) for schema {s.name}")
            arrays.append(a)
        n = max((len(a) for a in arrays), default=0)
        data = _missing((len(arrays), n, s.num_keypoints, 3))
        for i, a in enumerate(arrays):
            data[i, :len(a)] = a
        for spec in PF.FIELDS:
            rows = kw.get(spec.name)
            if spec.axes != "frame" and rows is not None and not isinstance(rows, np.ndarray):
                kw[spec.name] = PF.ragged(spec, rows, [len(a) for a in arrays],
                                          PF.field_shape(spec, data.shape))
        return cls(data, s, **kw)

    @classmethod
    def concat(cls, items: list[Poses], **kw: Any) -> Poses:
        """Stack the frames of several Poses of one schema, padding instances as needed.

        Metadata (source, fps, frame_size) comes from the first item unless given in ``kw``.
        A typed field recorded by some items is kept, with its unknown value in the frames of
        the others.
        """
        if not items:
            raise ValueError("Poses.concat needs at least one Poses")
        schema = items[0].schema
        if any(p.schema.name != schema.name for p in items):
            raise ValueError("Poses.concat: all items must share a schema")
        n = max(p.n_instances for p in items)
        data = np.concatenate([p.pad_instances(n).data for p in items], axis=0)
        names = None
        if all(p.frame_names is not None for p in items):
            names = [x for p in items for x in p.frame_names]  # type: ignore[union-attr]
        idx = None
        if all(p.frame_indices is not None for p in items):
            idx = np.concatenate([p.frame_indices for p in items])  # type: ignore[misc]
        sizes = None
        if all(p.image_sizes is not None or p.frame_size is not None for p in items):
            sizes = [s for p in items for s in (p.image_sizes or [p.frame_size] * p.n_frames)]
        first = items[0]
        args: dict[str, Any] = dict(source=first.source, frame_names=names, frame_indices=idx,
                                    fps=first.fps, frame_size=first.frame_size,
                                    image_sizes=sizes, meta=dict(first.meta))
        for spec in PF.FIELDS:
            if any(getattr(p, spec.name) is not None for p in items):
                args[spec.name] = PF.stack(spec, [getattr(p, spec.name) for p in items],
                                           [p.n_frames for p in items], n, schema.num_keypoints)
        if sizes is not None and len({tuple(s) for s in sizes}) == 1:
            args["frame_size"], args["image_sizes"] = tuple(sizes[0]), None
        elif sizes is not None:
            args["frame_size"] = None
        args.update(kw)
        return cls(data, schema, **args)

    # --- shape and views -------------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        return self.data.shape[0]

    @property
    def n_instances(self) -> int:
        return self.data.shape[1]

    @property
    def n_keypoints(self) -> int:
        return self.data.shape[2]

    def __len__(self) -> int:
        return self.n_frames

    @property
    def xy(self) -> np.ndarray:
        """(F, N, K, 2) coordinates (a view)."""
        return self.data[..., :2]

    @property
    def scores(self) -> np.ndarray:
        """(F, N, K) keypoint scores (a view)."""
        return self.data[..., 2]

    @property
    def visible(self) -> np.ndarray:
        """(F, N, K) True where a keypoint has coordinates."""
        return ~np.isnan(self.data[..., :2]).any(axis=-1)

    @property
    def present(self) -> np.ndarray:
        """(F, N) True where an instance has at least one keypoint."""
        return self.visible.any(axis=-1)

    @property
    def times(self) -> np.ndarray:
        """Time of each frame in seconds (frame index / fps), or NaN without fps."""
        idx = self.frame_indices if self.frame_indices is not None else np.arange(self.n_frames)
        if not self.fps:
            return np.full(self.n_frames, np.nan)
        return idx / float(self.fps)

    def sizes(self) -> list[tuple[int, int]] | None:
        """(width, height) of every frame, from ``image_sizes`` or ``frame_size``; None if unknown."""
        if self.image_sizes is not None:
            return list(self.image_sizes)
        if self.frame_size is not None:
            return [self.frame_size] * self.n_frames
        return None

    def frame_index_array(self) -> np.ndarray:
        return self.frame_indices if self.frame_indices is not None else np.arange(self.n_frames)

    def pad_instances(self, n: int) -> Poses:
        """A copy with exactly ``n`` instance slots (extra slots are missing; never truncates)."""
        if n < self.n_instances:
            raise ValueError(f"cannot pad {self.n_instances} instances down to {n}")
        if n == self.n_instances:
            return self
        pad = _missing((self.n_frames, n - self.n_instances, self.n_keypoints, 3))
        fields = {name: PF.pad_instances(PF.spec(name), v, n) for name, v in self.fields().items()}
        return replace(self, data=np.concatenate([self.data, pad], axis=1), **fields)

    def take_frames(self, indices: list[int] | np.ndarray) -> Poses:
        """A copy holding the frames at ``indices`` (in that order), with their names, numbers,
        sizes and typed fields."""
        idx = np.asarray(indices, dtype=int).reshape(-1)
        fields = {name: v[idx].copy() for name, v in self.fields().items()}
        return replace(
            self, data=self.data[idx].copy(),
            frame_names=[self.frame_names[i] for i in idx] if self.frame_names is not None
            else None,
            frame_indices=self.frame_indices[idx] if self.frame_indices is not None else None,
            image_sizes=[self.image_sizes[i] for i in idx] if self.image_sizes is not None
            else None,
            meta=dict(self.meta), **fields)

    def convert(self, schema: Schema | str) -> Poses:
        """The same poses in another schema, via the registered mapping (missing never guessed)."""
        mapping = get_mapping(self.schema, schema)
        meta = dict(self.meta)
        if mapping.missing:
            meta["missing_keypoints"] = mapping.missing
        # a point flagged by a filter flags every target point made from it
        made_from = np.zeros((self.n_keypoints, mapping.target.num_keypoints), dtype=bool)
        for t, srcs in enumerate(mapping.sources):
            for name in srcs:
                made_from[self.schema.index(name), t] = True
        flags = {s.name: np.einsum("fns,st->fnt", getattr(self, s.name), made_from) > 0
                 for s in PF.FIELDS if s.axes == "keypoint" and getattr(self, s.name) is not None}
        return replace(self, data=mapping.apply(self.data), schema=mapping.target, meta=meta,
                       **flags)

    def drop_keypoints(self, names: list[str] | tuple[str, ...]) -> Poses:
        """A copy with the named keypoints set missing (e.g. facial keypoints for privacy)."""
        data = self.data.copy()
        for n in names:
            i = self.schema.index(n)
            data[:, :, i, :2] = np.nan
            data[:, :, i, 2] = 0.0
        return replace(self, data=data)

    # --- JSON ------------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; NaN becomes null. ``from_dict`` inverts it exactly."""
        def enc(v: float) -> float | None:
            return None if math.isnan(v) else float(v)

        return {
            "format": "infantpose.poses",
            "version": FORMAT_VERSION,
            "schema": self.schema.name,
            "keypoint_names": list(self.schema.keypoints),
            "source": self.source,
            "fps": self.fps,
            "frame_size": list(self.frame_size) if self.frame_size else None,
            "image_sizes": [list(s) for s in self.image_sizes] if self.image_sizes else None,
            "frame_names": self.frame_names,
            "frame_indices": self.frame_indices.tolist() if self.frame_indices is not None else None,
            "shape": list(self.data.shape),
            "data": [[[[enc(v) for v in kp] for kp in inst] for inst in frame]
                     for frame in self.data.tolist()],
            "meta": self.meta,
            "fields": {name: PF.encode(PF.spec(name), v) for name, v in self.fields().items()},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: str | os.PathLike | None = None) -> Poses:
        """Build Poses from ``to_dict`` output; raises InputError naming ``path`` on bad content.

        Every field is checked for its type and a sane range (:mod:`infantpose._validate`):
        coordinates and scores are JSON numbers or null (never strings or booleans), finite and
        within 1e6 px; ``fps`` is a positive number; sizes are positive whole numbers; frame
        indices are increasing whole numbers; the typed fields have their shapes and kinds.
        A file without ``"fields"`` (written before they existed) has its old per-instance /
        per-frame ``meta`` keys (``path``, ``rotation``, ...) read into the fields.
        """

        if not isinstance(d, dict) or d.get("format") != "infantpose.poses":
            raise InputError(path, "not an infantpose poses JSON (missing \"format\": "
                                   "\"infantpose.poses\")")
        try:
            if not isinstance(d.get("schema"), str):
                raise InputError(path, "\"schema\" must be a schema name")
            schema = get_schema(d["schema"])
            names = d.get("keypoint_names")
            if names is not None and (not isinstance(names, list)
                                      or list(names) != list(schema.keypoints)):
                raise InputError(path, f"keypoint_names do not match schema {schema.name}")
            raw_shape = d.get("shape")
            if not isinstance(raw_shape, list) or len(raw_shape) != 4:
                raise InputError(path, "\"shape\" must be [frames, instances, keypoints, 3]")
            shape = tuple(int(V.number(x, path, "shape", 0, 10_000_000, integer=True))
                          for x in raw_shape)
            if not isinstance(d.get("data"), list):
                raise InputError(path, "\"data\" must be a list of frames")
            arr = V.number_array(d["data"], path, "data", allow_null=True) if d["data"] \
                else np.zeros((0,), float)
            if arr.size == 0:
                arr = arr.reshape(shape)
            if arr.shape != shape:
                raise InputError(path, f"data has shape {arr.shape}, header says {shape}")
            fps = d.get("fps")
            if fps is not None:
                fps = V.number(fps, path, "fps", 0, 10_000)
                if fps <= 0:
                    raise InputError(path, f"fps: {fps} must be positive")
            frame_size = V.check_size(d["frame_size"], path, "frame_size") \
                if d.get("frame_size") is not None else None
            sizes = d.get("image_sizes")
            if sizes is not None:
                if not isinstance(sizes, list):
                    raise InputError(path, "image_sizes must be a list of [width, height]")
                sizes = [V.check_size(v, path, f"image_sizes[{i}]") for i, v in enumerate(sizes)]
            idx = d.get("frame_indices")
            if idx is not None:
                if not isinstance(idx, list):
                    raise InputError(path, "frame_indices must be a list of frame numbers")
                idx = [int(V.number(v, path, f"frame_indices[{i}]", 0, 1e9, integer=True))
                       for i, v in enumerate(idx)]
                if any(b <= a for a, b in zip(idx, idx[1:])):
                    raise InputError(path, "frame_indices must be increasing")
            fnames = d.get("frame_names")
            if fnames is not None and (not isinstance(fnames, list)
                                       or not all(isinstance(n, str) for n in fnames)):
                raise InputError(path, "frame_names must be a list of strings")
            source = d.get("source")
            if source is not None and not isinstance(source, str):
                raise InputError(path, "source must be a string")
            meta = d.get("meta") or {}
            if not isinstance(meta, dict):
                raise InputError(path, "meta must be an object")
            fields = d.get("fields")
            if fields is None:
                fields, meta = PF.from_legacy_meta(meta, shape)
            else:
                try:
                    fields = PF.decode_all(fields, shape)
                except ValueError as e:
                    raise InputError(path, str(e)) from None
            return cls(arr, schema, source=source, frame_names=fnames, frame_indices=idx,
                       fps=fps, frame_size=frame_size, image_sizes=sizes or None, meta=meta,
                       **fields)
        except InputError:
            raise
        except (KeyError, TypeError, ValueError) as e:
            raise InputError(path, f"malformed poses JSON ({type(e).__name__}: {e})") from None

    def save_json(self, path: str | os.PathLike) -> Path:
        """Write atomically as JSON (lossless: ``Poses.load_json`` returns an equal object)."""
        return _atomic.write_text(path, json.dumps(self.to_dict(), allow_nan=False))

    @classmethod
    def load_json(cls, path: str | os.PathLike) -> Poses:
        """Read a file written by :meth:`save_json` (InputError naming the file if it is not one)."""
        p = Path(path)
        return cls.from_dict(read_json(p), p)

    # --- tables ----------------------------------------------------------------------------------
    def to_dataframe(self, include_missing: bool = True):
        """Tidy long table: frame, time, instance, keypoint, x, y, score (+ frame_name if known).

        ``frame`` is the original frame index; missing keypoints appear with empty x/y unless
        ``include_missing`` is False.
        """
        # imported here: pandas (about 1 s) loads only when a table is asked for
        import pandas as pd

        f, n, k, _ = self.data.shape
        frame = np.repeat(self.frame_index_array(), n * k)
        cols: dict[str, Any] = {"frame": frame, "time": np.repeat(self.times, n * k)}
        if self.frame_names is not None:
            cols["frame_name"] = np.repeat(np.asarray(self.frame_names, dtype=object), n * k)
        cols["instance"] = np.tile(np.repeat(np.arange(n), k), f)
        cols["keypoint"] = np.tile(np.asarray(self.schema.keypoints, dtype=object), f * n)
        flat = self.data.reshape(-1, 3)
        cols["x"], cols["y"], cols["score"] = flat[:, 0], flat[:, 1], flat[:, 2]
        df = pd.DataFrame(cols)
        if not include_missing:
            df = df[~np.isnan(flat[:, 0])].reset_index(drop=True)
        return df

    def to_csv(self, path: str | os.PathLike) -> Path:
        """Write the tidy table as CSV atomically."""
        df = self.to_dataframe()
        with _atomic.atomic_path(path) as tmp:
            df.to_csv(tmp, index=False, float_format="%.3f")
        return Path(path)

    def to_parquet(self, path: str | os.PathLike) -> Path:
        """Write the tidy table as Parquet atomically (schema and source kept as file metadata)."""
        # imported here: pyarrow loads only when Parquet is written
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(self.to_dataframe(), preserve_index=False)
        extra = {b"infantpose": json.dumps({"schema": self.schema.name, "source": self.source,
                                            "fps": self.fps}).encode()}
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra})
        with _atomic.atomic_path(path) as tmp:
            pq.write_table(table, tmp)
        return Path(path)

    @classmethod
    def from_dataframe(cls, df, schema: Schema | str, **kw: Any) -> Poses:
        """Inverse of ``to_dataframe`` (rows may be in any order; absent rows become missing)."""
        s = get_schema(schema)
        need = {"frame", "instance", "keypoint", "x", "y", "score"}
        if not need <= set(df.columns):
            raise ValueError(f"table lacks columns {sorted(need - set(df.columns))}")
        unknown = set(df["keypoint"]) - set(s.keypoints)
        if unknown:
            raise ValueError(f"keypoints {sorted(unknown)} are not in schema {s.name}")
        frames = np.unique(df["frame"].to_numpy(dtype=int))
        n = int(df["instance"].max()) + 1 if len(df) else 0
        out = cls.empty(s, len(frames), n, **kw)
        fi = np.searchsorted(frames, df["frame"].to_numpy(dtype=int))
        ki = np.array([s.index(k) for k in df["keypoint"]], dtype=int)
        ii = df["instance"].to_numpy(dtype=int)
        out.data[fi, ii, ki, 0] = df["x"].to_numpy(dtype=float)
        out.data[fi, ii, ki, 1] = df["y"].to_numpy(dtype=float)
        out.data[fi, ii, ki, 2] = np.nan_to_num(df["score"].to_numpy(dtype=float))
        out.frame_indices = frames
        if "frame_name" in df.columns and out.frame_names is None:
            names = df.drop_duplicates("frame").set_index("frame")["frame_name"]
            out.frame_names = [str(names[f]) for f in frames]
        return out

    # --- comparison ------------------------------------------------------------------------------
    def allclose(self, other: Poses, atol: float = 1e-9) -> bool:
        """Same schema, shape and values (NaN equal to NaN)."""
        return (self.schema.name == other.schema.name and self.data.shape == other.data.shape
                and bool(np.allclose(self.data, other.data, atol=atol, equal_nan=True)))

