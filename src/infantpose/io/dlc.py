"""DeepLabCut CSV files: labels (``CollectedData_<scorer>.csv``) in, predictions in and out.

**Labels.** 
DeepLabCut (Mathis et al., 2018) stores a labelled video folder as a CSV with a three-row column
header (``scorer`` / ``bodyparts`` / ``coords`` with ``x``, ``y`` per body part) and the image path
as the row index: one column (``labeled-data/<video>/img001.png``) in older projects, three columns
(``labeled-data``, ``<video>``, ``img001.png``) in newer ones. An unlabelled body part is an empty
cell (NaN) in both x and y. Multi-animal projects add an ``individuals`` header row; they are
rejected with a clear message (export them per individual first).

Body parts are mapped to keypoints by name (``mapping`` renames them; mapping a body part to
``None`` or ``""`` drops it). DeepLabCut has no occlusion flag, so labelled points are visible (2).

**Predictions** (what ``deeplabcut.analyze_videos`` writes beside a video,
``<video>DLC_<scorer>.csv``): the same header with ``x, y, likelihood`` per body part (and an
``individuals`` row for several animals), one row per video frame numbered from 0.
:func:`write_dlc_predictions` writes a video's :class:`Poses` in that layout *with* the
likelihood (sleap-io's DeepLabCut writer leaves it empty), one row for every frame from 0 to the
last, so tools that count rows (DeepLabCut, ``movement``) keep the time axis: a frame the reader
skipped is a row of empty cells, a frame where nobody was found has empty x, y and likelihood 0.
:func:`read_dlc_predictions` reads such a file back (skipped frames stay skipped).

Coordinates: DeepLabCut (like SLEAP) puts the centre of the top-left pixel at (0, 0);
infantpose at (0.5, 0.5). Readers add 0.5 and the writer subtracts it
(:data:`~infantpose.io.posefiles.PIXEL_CENTRE_SHIFT`), so points sit on the same pixels.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from infantpose import _atomic
from infantpose._validate import MAX_COORD, check_rel_path, frame_span_limit
from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.io.coco import image_size, match_schema
from infantpose.io.labelme import INFANT22_LABELS
from infantpose.poses import Poses
from infantpose.schemas import Schema, get_schema

__all__ = ["DLC_SHIFT", "read_dlc", "is_dlc_csv", "is_dlc_h5", "read_dlc_h5",
           "read_dlc_predictions", "write_dlc_predictions"]

#: infantpose x, y minus this = DeepLabCut x, y (pixel centres on whole numbers there).
DLC_SHIFT = 0.5


def _header_rows(path: Path, n: int = 4) -> list[list[str]]:
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            reader = csv.reader(fh)
            return [row for _, row in zip(range(n), reader)]
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(path, f"cannot read CSV ({e})") from None


def is_dlc_csv(path: str | os.PathLike) -> bool:
    """True if the file starts with DeepLabCut's ``scorer`` header row."""
    rows = _header_rows(Path(path), 1)
    return bool(rows) and bool(rows[0]) and rows[0][0].strip() == "scorer"


def _find_root(path: Path, rel: str) -> Path | None:
    for cand in (path.parent, path.parent.parent, path.parent.parent.parent):
        if (cand / rel).is_file():
            return cand
    return None


def read_dlc(path: str | os.PathLike, schema: str | Schema | None = None,
             mapping: dict[str, str | None] | None = None,
             images_root: str | os.PathLike | None = None,
             check_images: bool = True) -> LabeledDataset:
    """Read a single-animal DeepLabCut ``CollectedData`` CSV.

    ``schema`` defaults to the known schema whose keypoints are the (mapped) body part names.
    Image paths are relative to ``images_root``, by default the DeepLabCut project folder (found
    by looking for the first image next to the CSV and up to two folders above). Bad files (not
    a DeepLabCut header, multi-animal, unknown body parts, an x without a y, non-numeric or
    infinite values, images not found) raise InputError naming the file.
    """
    # imported here: pandas (about 1 s) loads only when a DeepLabCut file is read or written
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise InputError(p, "file not found")
    rows = _header_rows(p)
    if len(rows) < 3 or not rows[0] or rows[0][0].strip() != "scorer":
        raise InputError(p, "not a DeepLabCut CSV (first header row must start with 'scorer')")
    if rows[1] and rows[1][0].strip() == "individuals":
        raise InputError(p, "multi-animal DeepLabCut CSV is not supported (one individual only)")
    if not (rows[1] and rows[1][0].strip() == "bodyparts" and rows[2]
            and rows[2][0].strip() == "coords"):
        raise InputError(p, "DeepLabCut header must have rows scorer / bodyparts / coords")
    n_index = sum(1 for v in rows[2] if v.strip() in ("coords", ""))
    n_index = max(1, min(n_index, 3))
    try:
        df = pd.read_csv(p, header=[0, 1, 2], index_col=list(range(n_index)))
        coords = list(df.columns.get_level_values(2))
        parts_all = list(df.columns.get_level_values(1))
    except (ValueError, IndexError, KeyError, TypeError) as e:  # pandas' refusals of odd CSV
        raise InputError(p, f"cannot parse DeepLabCut CSV ({' '.join(str(e).split())})") \
            from None
    if set(coords) - {"x", "y", "likelihood"}:
        raise InputError(p, f"unexpected coords {sorted(set(coords) - {'x', 'y', 'likelihood'})}")
    bodyparts = list(dict.fromkeys(parts_all))
    mapping = dict(mapping or {})
    kept = {bp: (mapping[bp] if bp in mapping else INFANT22_LABELS.get(bp, bp)) for bp in bodyparts}
    kept = {bp: kp for bp, kp in kept.items() if kp}
    if schema is None:
        sch = match_schema(sorted(set(kept.values())), None, p)
    else:
        sch = get_schema(schema)
        unknown = sorted(bp for bp, kp in kept.items() if kp not in sch.keypoints)
        if unknown:
            raise InputError(p, f"body parts {unknown} are not keypoints of schema {sch.name}; "
                                f"map them with --mapping/mapping= or drop them")
    if len(set(kept.values())) != len(kept):
        raise InputError(p, "two body parts map to the same keypoint")

    if n_index == 1:
        names = [str(v).replace("\\", "/") for v in df.index]
    else:
        names = ["/".join(str(x) for x in tup) for tup in df.index]
    if not names:
        raise InputError(p, "no labelled images in the CSV")

    for i, nm in enumerate(names):
        check_rel_path(nm, p, f"row {i + 1} image")
    if images_root is not None:
        root = Path(images_root)
    else:
        root = _find_root(p, names[0]) or p.parent
    if check_images:
        for nm in names:
            if not (root / nm).is_file():
                raise InputError(p, f"image not found: {root / nm}")

    f, k = len(names), sch.num_keypoints
    data = np.full((f, 1, k, 3), np.nan)
    data[..., 2] = 0.0
    vis = np.zeros((f, 1, k), dtype=int)
    for bp, kp in kept.items():
        try:
            cols = [df.xs((bp, c), axis=1, level=(1, 2)).iloc[:, 0] for c in ("x", "y")]
            if any(c.dtype == bool or c.dtype == object and c.map(
                    lambda v: isinstance(v, bool)).any() for c in cols):
                raise InputError(p, f"body part {bp!r} has true/false instead of coordinates")
            x, y = (c.to_numpy(dtype=float) for c in cols)
        except (KeyError, IndexError):
            raise InputError(p, f"body part {bp!r} lacks an x or y column") from None
        except (TypeError, ValueError):
            raise InputError(p, f"body part {bp!r} has non-numeric coordinates") from None
        except OverflowError:  # a whole number too large for a float
            raise InputError(p, f"body part {bp!r} has absurd coordinates (beyond "
                                f"{MAX_COORD:g} px)") from None
        if (np.isnan(x) != np.isnan(y)).any():
            row = int(np.flatnonzero(np.isnan(x) != np.isnan(y))[0])
            raise InputError(p, f"{names[row]}: body part {bp!r} has only one of x, y")
        if np.isinf(x).any() or np.isinf(y).any():
            raise InputError(p, f"body part {bp!r} has infinite coordinates")
        if (np.abs(np.nan_to_num(x)) > MAX_COORD).any() or (np.abs(np.nan_to_num(y)) >
                                                             MAX_COORD).any():
            raise InputError(p, f"body part {bp!r} has absurd coordinates (beyond "
                                f"{MAX_COORD:g} px)")
        i = sch.index(kp)
        lab = ~np.isnan(x)
        data[lab, 0, i] = np.stack([x[lab] + DLC_SHIFT, y[lab] + DLC_SHIFT, np.ones(lab.sum())],
                                    axis=-1)
        vis[lab, 0, i] = 2
    boxes = np.full((f, 1, 4), np.nan)
    for j in range(f):
        xy = data[j, 0, vis[j, 0] > 0, :2]
        if len(xy):
            boxes[j, 0] = [*xy.min(0), *(xy.max(0) - xy.min(0))]
    sizes = [image_size(root / nm) if (root / nm).is_file() else (0, 0) for nm in names]
    same = len(set(sizes)) == 1
    poses = Poses(data, sch, source=str(p), frame_names=names,
                  frame_size=sizes[0] if same else None, image_sizes=None if same else sizes)
    meta = {"source_file": str(p), "format": "deeplabcut", "scorer": rows[0][n_index]
            if len(rows[0]) > n_index else "", "bodyparts": bodyparts}
    return LabeledDataset(poses, vis, boxes, root, ["real"] * f, meta)


# --- predictions ---------------------------------------------------------------------------------
def write_dlc_predictions(poses: Poses, path: str | os.PathLike, scorer: str | None = None
                          ) -> Path:
    """Write a video's ``poses`` as a DeepLabCut predictions CSV (atomically).

    One row per frame from 0 to the last recorded frame; per keypoint ``x, y, likelihood``
    (likelihood = the keypoint score). One instance slot gives the single-animal layout, several
    the multi-animal one (individuals ``instance_<n>``). ``scorer`` defaults to
    ``infantpose_<model>``.
    """
    # imported here: pandas (about 1 s) loads only when a DeepLabCut file is read or written
    import pandas as pd

    idx = poses.frame_index_array().astype(int)
    if len(idx) > 1 and np.any(np.diff(idx) <= 0):
        raise InputError(path, "frame numbers must be strictly increasing to write a "
                               "DeepLabCut file")
    if len(idx) and idx[0] < 0:
        raise InputError(path, "negative frame numbers cannot be written as DeepLabCut rows")
    scorer = scorer or f"infantpose_{poses.meta.get('model') or 'model'}"
    n_rows = int(idx[-1]) + 1 if len(idx) else 0
    if n_rows > frame_span_limit(len(idx)):
        raise InputError(path, f"poses reach frame {n_rows - 1} with only {len(idx)} recorded "
                               f"frames: {n_rows:,} DeepLabCut rows (one per frame) is over "
                               f"the limit of {frame_span_limit(len(idx)):,}; are the "
                               "frame numbers right?")
    f, n, k, _ = poses.data.shape
    table = np.full((n_rows, n, k, 3), np.nan)
    d = poses.data
    present = np.isfinite(d[..., 0]) & np.isfinite(d[..., 1])
    table[idx, ..., 0] = np.where(present, d[..., 0] - DLC_SHIFT, np.nan)
    table[idx, ..., 1] = np.where(present, d[..., 1] - DLC_SHIFT, np.nan)
    table[idx, ..., 2] = np.where(present, np.nan_to_num(d[..., 2]), 0.0)
    parts = list(poses.schema.keypoints)
    coords = ["x", "y", "likelihood"]
    if n == 1:
        columns = pd.MultiIndex.from_product([[scorer], parts, coords],
                                             names=["scorer", "bodyparts", "coords"])
    else:
        columns = pd.MultiIndex.from_product(
            [[scorer], [f"instance_{i}" for i in range(n)], parts, coords],
            names=["scorer", "individuals", "bodyparts", "coords"])
    df = pd.DataFrame(table.reshape(n_rows, n * k * 3), columns=columns)
    with _atomic.atomic_path(path) as tmp:
        df.to_csv(tmp)  # full float precision (pandas writes the shortest exact repr)
    return Path(path)


def read_dlc_predictions(path: str | os.PathLike, fps: float | None = None,
                         schema: str | Schema | None = None) -> Poses:
    """Read a DeepLabCut predictions CSV (single- or multi-animal) into a video :class:`Poses`.

    Body part names pick the schema (as for labels) unless ``schema`` is given. Every row is a
    frame, except in infantpose's own files (scorer ``infantpose_...``), where a row whose
    likelihoods are all empty is a frame that was not analysed (left out of
    ``frame_indices``); individuals become instance slots in file order. DeepLabCut files carry no frame rate: pass ``fps`` to keep
    the time axis.
    """
    # imported here: pandas (about 1 s) loads only when a DeepLabCut file is read or written
    import pandas as pd

    p = Path(path)
    if not p.is_file():
        raise InputError(p, "no such file")
    rows = _header_rows(p)
    if len(rows) < 3 or not rows[0] or rows[0][0].strip() != "scorer":
        raise InputError(p, "not a DeepLabCut CSV (first header row must start with 'scorer')")
    multi = bool(rows[1]) and rows[1][0].strip() == "individuals"
    levels = 4 if multi else 3
    if len(rows) < levels or rows[levels - 1][0].strip() != "coords":
        raise InputError(p, "DeepLabCut header must have rows scorer / [individuals /] "
                            "bodyparts / coords")
    if "likelihood" not in rows[levels - 1]:
        raise InputError(p, "a DeepLabCut labels file (no likelihood column), not predictions; "
                            "read it as labels (infantpose convert --to coco)")
    try:
        df = pd.read_csv(p, header=list(range(levels)), index_col=0)
    except (ValueError, TypeError, pd.errors.ParserError) as e:
        raise InputError(p, f"cannot parse DeepLabCut predictions ({e})") from None
    return _predictions_from_frame(df, p, multi, fps, schema)


def is_dlc_h5(path: str | os.PathLike) -> bool:
    """True for an HDF5 file holding a pandas table under DeepLabCut's key
    ``df_with_missing`` (DeepLabCut's own predictions, or movement's ``to_dlc_file``)."""
    # imported here: h5py loads only when an .h5 file is looked at
    import h5py

    try:
        with h5py.File(path, "r") as f:
            return "df_with_missing" in f
    except OSError:
        return False


def read_dlc_h5(path: str | os.PathLike, fps: float | None = None,
                schema: str | Schema | None = None) -> Poses:
    """Read DeepLabCut predictions saved as ``.h5`` (pandas' HDF5, which needs PyTables:
    ``pip install tables``); otherwise as :func:`read_dlc_predictions`."""
    # imported here: pandas (about 1 s) loads only when a DeepLabCut file is read or written
    import pandas as pd

    p = Path(path)
    try:
        df = pd.read_hdf(p, key="df_with_missing")
    except ImportError:
        raise InputError(p, "a DeepLabCut .h5 needs PyTables to read (pip install tables), or "
                            "save the predictions as .csv") from None
    except (ValueError, TypeError, KeyError, OSError) as e:
        raise InputError(p, f"cannot read DeepLabCut .h5 ({type(e).__name__}: {e})") from None
    if not isinstance(df, pd.DataFrame) or df.columns.nlevels not in (3, 4):
        raise InputError(p, "not a DeepLabCut predictions table")
    return _predictions_from_frame(df, p, df.columns.nlevels == 4, fps, schema)


def _predictions_from_frame(df, p: Path, multi: bool, fps: float | None,
                            schema: str | Schema | None) -> Poses:
    """The :class:`Poses` of a DeepLabCut predictions table (columns scorer / [individuals /]
    bodyparts / coords, one row per frame)."""
    try:
        frames = df.index.to_numpy(dtype=int)
        values = df.to_numpy(dtype=float)
    except (ValueError, TypeError) as e:
        raise InputError(p, f"cannot parse DeepLabCut predictions ({e})") from None
    cols = list(df.columns)
    coords = [c[-1] for c in cols]
    if set(coords) - {"x", "y", "likelihood"}:
        raise InputError(p, f"unexpected coords {sorted(set(coords) - {'x', 'y', 'likelihood'})}")
    if "likelihood" not in coords:
        raise InputError(p, "a DeepLabCut labels table (no likelihood column), not predictions")
    individuals = list(dict.fromkeys(c[1] for c in cols)) if multi else [None]
    parts = list(dict.fromkeys(c[-2] for c in cols))
    sch = get_schema(schema) if schema is not None else match_schema(parts, None, p)
    unknown = [b for b in parts if b not in sch.keypoints]
    if unknown:
        raise InputError(p, f"body parts {unknown} are not keypoints of schema {sch.name}")
    if np.isinf(values).any():
        raise InputError(p, "infinite values")
    pos = {c: j for j, c in enumerate(cols)}
    data = np.full((len(frames), len(individuals), sch.num_keypoints, 3), np.nan)
    data[..., 2] = 0.0
    analysed = np.zeros(len(frames), dtype=bool)
    for n, ind in enumerate(individuals):
        for bp in parts:
            prefix = (cols[0][0], ind) if multi else (cols[0][0],)
            try:
                x, y, lk = (values[:, pos[(*prefix, bp, c)]] for c in ("x", "y", "likelihood"))
            except KeyError:
                raise InputError(p, f"body part {bp!r} lacks an x, y or likelihood column") \
                    from None
            if (np.isnan(x) != np.isnan(y)).any():
                raise InputError(p, f"body part {bp!r} has only one of x, y in a row")
            analysed |= ~np.isnan(lk)
            ok = ~np.isnan(x)
            i = sch.index(bp)
            data[ok, n, i, 0] = x[ok] + DLC_SHIFT
            data[ok, n, i, 1] = y[ok] + DLC_SHIFT
            data[ok, n, i, 2] = np.nan_to_num(lk[ok], nan=1.0)
    if not str(cols[0][0] if cols else "").startswith("infantpose"):
        analysed[:] = True  # only infantpose marks frames it never analysed by empty rows
    return Poses(data[analysed], sch, source=None, frame_indices=frames[analysed],
                 fps=float(fps) if fps else None,
                 meta={"format": "deeplabcut", "source_file": str(p),
                       "scorer": str(cols[0][0]) if cols else ""})
