"""LabelMe point JSON (one file per image): read into and write from a ``LabeledDataset``.

LabelMe (Wada, labelme) stores each image's annotations in ``<image>.json``: ``imagePath``
(relative to the JSON file), ``imageWidth``/``imageHeight`` and a list of ``shapes``, each with a
``label``, ``points`` and a ``shape_type``. Keypoints are ``point`` shapes; people are told apart
by ``group_id``; a ``rectangle`` shape gives a person's box. The infant 22-keypoint dataset of seed
``004_`` uses the labels in :data:`INFANT22_LABELS`, built in here.

LabelMe has no occlusion flag; infantpose writes ``"flags": {"occluded": true}`` on a point
labelled but occluded (COCO visibility 1) and reads it back; other points are visible (2). The
image's domain ("real"/"synthetic") is kept in an extra top-level ``domain`` key and other
per-image fields of a COCO source in ``image_info`` (LabelMe keeps unknown keys when it saves).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from infantpose import _atomic
from infantpose._validate import MAX_SIDE, check_id, check_name_length, number, number_array
from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.io.coco import image_size, labelled_size, match_schema
from infantpose.io.jsonfile import read_json
from infantpose.poses import Poses
from infantpose.schemas import Schema, get_schema

__all__ = ["INFANT22_LABELS", "is_labelme_json", "labelme_files", "labelme_output_names",
           "read_labelme", "write_labelme"]

#: LabelMe labels of the infant-22 dataset (seed 004) -> infantpose ``infant22`` keypoint names.
INFANT22_LABELS: dict[str, str] = {
    "Head": "vertex", "Eye_L": "left_eye", "Eye_R": "right_eye", "Nose": "nose",
    "Upper_Lip": "upper_lip", "Lower_Lip": "lower_lip",
    "Shoulder_R": "right_shoulder", "Shoulder_L": "left_shoulder",
    "Elbow_R": "right_elbow", "Elbow_L": "left_elbow",
    "Wrist_R": "right_wrist", "Wrist_L": "left_wrist",
    "MP_joint_R": "right_palm", "MP_joint_L": "left_palm",
    "Hip_R": "right_hip", "Hip_L": "left_hip",
    "Knee_R": "right_knee", "Knee_L": "left_knee",
    "Ankle_R": "right_ankle", "Ankle_L": "left_ankle",
    "MTP_joint_R": "right_sole", "MTP_joint_L": "left_sole",
}

BOX_LABEL = "person"


def is_labelme_json(d: Any) -> bool:
    return isinstance(d, dict) and isinstance(d.get("shapes"), list) and "imagePath" in d


def labelme_files(path: str | os.PathLike) -> list[Path]:
    """The LabelMe JSON files of a folder (sorted), or the one file given."""
    p = Path(path)
    if p.is_file():
        return [p]
    if not p.is_dir():
        raise InputError(p, "not found")
    files = sorted(q for q in p.glob("*.json") if not q.name.startswith("."))
    if not files:
        raise InputError(p, "folder has no LabelMe .json files")
    return files


def _label_map(schema: Schema, label_map: dict[str, str] | None) -> dict[str, str]:
    """label -> keypoint name: the user's map, the infant-22 labels, and the keypoint names."""
    out = {k: k for k in schema.keypoints}
    if schema.name == "infant22":
        out.update(INFANT22_LABELS)
    if label_map:
        out.update(label_map)
    for label, kp in list(out.items()):
        if not kp:
            continue  # mapped to nothing: points with this label are ignored
        if kp not in schema.keypoints:
            raise InputError(None, f"label {label!r} maps to {kp!r}, which is not a keypoint of "
                                   f"schema {schema.name}")
    return out


def _guess_schema(labels: set[str], label_map: dict[str, str] | None, path: Path) -> Schema:
    if label_map:
        labels = {label_map.get(lb, lb) for lb in labels} - {"", None}
    if labels and labels <= set(INFANT22_LABELS) | set(INFANT22_LABELS.values()):
        return get_schema("infant22")
    return match_schema(sorted(labels), None, path)


def _load(path: Path) -> dict:
    d = read_json(path)
    if not isinstance(d, dict):
        raise InputError(path, "LabelMe JSON must be an object")
    for key in ("shapes", "imagePath"):
        if key not in d:
            raise InputError(path, f"missing key {key!r}")
    if not isinstance(d["shapes"], list):
        raise InputError(path, "'shapes' must be a list")
    return d


def read_labelme(path: str | os.PathLike | list[str | os.PathLike],
                 schema: str | Schema | None = None,
                 label_map: dict[str, str] | None = None, check_images: bool = True
                 ) -> LabeledDataset:
    """Read a folder of LabelMe JSON files (or one file, or a list of files).

    ``schema`` defaults to infant-22 when the labels are the seed-004 labels, else the schema
    whose keypoint names are the labels. ``label_map`` maps extra labels to keypoint names (a
    label mapped to ``""`` is ignored).
    Point shapes with one ``group_id`` (or none) form one person. The dataset root is the folder
    of the (first) JSON file; image paths are stored relative to it. Malformed files (missing
    keys, unknown labels, a point with other than one (x, y), NaN coordinates, duplicate labels
    within one person, images not found) raise InputError naming the file.
    """
    files = ([Path(p) for p in path] if isinstance(path, (list, tuple)) else labelme_files(path))
    if not files:
        raise InputError(None, "no LabelMe files given")
    docs = [(f, _load(f)) for f in files]
    if schema is None:
        labels = {str(s.get("label")) for f, d in docs for s in d["shapes"]
                  if isinstance(s, dict) and s.get("shape_type", "point") == "point"}
        sch = _guess_schema(labels, label_map, files[0])
    else:
        sch = get_schema(schema)
    lmap = _label_map(sch, label_map)
    k = sch.num_keypoints
    root = files[0].parent

    per_image: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = []
    names: list[str] = []
    sizes: list[tuple[int, int]] = []
    domains: list[str] = []
    image_fields: list[dict] = []

    for f, d in docs:
        if not isinstance(d["imagePath"], str) or not d["imagePath"].strip():
            raise InputError(f, "'imagePath' must be a file name")
        check_name_length(d["imagePath"], f, "imagePath")
        for key in ("imageWidth", "imageHeight"):
            if d.get(key) is not None:
                number(d[key], f, key, 1, MAX_SIDE, integer=True)
        ipath = (f.parent / str(d["imagePath"]))
        if check_images and not ipath.is_file():
            raise InputError(f, f"image not found: {ipath}")
        names.append(os.path.relpath(ipath, root).replace(os.sep, "/"))
        sizes.append(labelled_size(d.get("imageWidth"), d.get("imageHeight"), ipath, f,
                                   f"no imageWidth/imageHeight and image not found: {ipath}"))
        domains.append(str(d.get("domain", "real")))
        info = d.get("image_info")
        image_fields.append(dict(info) if isinstance(info, dict) else {})
        groups: dict[Any, dict[str, Any]] = {}
        for j, s in enumerate(d["shapes"]):
            if not isinstance(s, dict) or "label" not in s or "points" not in s:
                raise InputError(f, f"shapes[{j}] lacks 'label' or 'points'")
            if not isinstance(s["label"], str):
                raise InputError(f, f"shapes[{j}].label must be a string")
            stype = s.get("shape_type", "point") or "point"
            if not isinstance(stype, str):
                raise InputError(f, f"shapes[{j}].shape_type must be a string")
            if s.get("group_id") is not None:
                check_id(s["group_id"], f, f"shapes[{j}].group_id")
            g = groups.setdefault(s.get("group_id"), {"kp": {}, "box": None})
            if not isinstance(s["points"], list):
                raise InputError(f, f"shapes[{j}] ({s['label']}): 'points' must be a list")
            pts = number_array(s["points"], f, f"shapes[{j}] ({s['label']}) points")
            if stype == "rectangle":
                if pts.shape != (2, 2) or not np.isfinite(pts).all():
                    raise InputError(f, f"shapes[{j}]: a rectangle needs two finite corners")
                x0, y0 = pts.min(0)
                x1, y1 = pts.max(0)
                g["box"] = np.array([x0, y0, x1 - x0, y1 - y0])
                continue
            if stype != "point":
                continue  # polygons, lines, ...: not keypoints
            label = str(s["label"])
            if label not in lmap:
                raise InputError(f, f"unknown label {label!r} for schema {sch.name} (known: "
                                    f"{', '.join(sorted(lmap))})")
            if pts.shape != (1, 2):
                raise InputError(f, f"point {label!r} has {pts.size // 2 if pts.ndim else 0} "
                                    f"points, expected 1")
            if not np.isfinite(pts).all():
                raise InputError(f, f"point {label!r} has NaN or infinite coordinates")
            kp = lmap[label]
            if not kp:
                continue
            if kp in g["kp"]:
                raise InputError(f, f"label {label!r} appears twice for one person "
                                    f"(group_id {s.get('group_id')})")
            occluded = bool((s.get("flags") or {}).get("occluded", False)) if isinstance(
                s.get("flags"), dict) else False
            g["kp"][kp] = (pts[0], 1 if occluded else 2)
        inst = []
        for gid in sorted(groups, key=lambda x: (x is not None, str(x))):
            g = groups[gid]
            if not g["kp"] and g["box"] is None:
                continue
            xyv = np.full((k, 3), np.nan)
            xyv[:, 2] = 0.0
            vis = np.zeros(k, dtype=int)
            for kp, (xy, v) in g["kp"].items():
                i = sch.index(kp)
                xyv[i] = (xy[0], xy[1], 1.0)
                vis[i] = v
            box = g["box"]
            if box is None:
                xy = xyv[vis > 0, :2]
                box = np.array([*xy.min(0), *(xy.max(0) - xy.min(0))])
            inst.append((xyv, vis, box))
        per_image.append(inst)

    n = max((len(a) for a in per_image), default=0)
    nf = len(files)
    data = np.full((nf, n, k, 3), np.nan)
    data[..., 2] = 0.0
    visibility = np.zeros((nf, n, k), dtype=int)
    boxes = np.full((nf, n, 4), np.nan)
    for i, inst in enumerate(per_image):
        for m, (xyv, vis, box) in enumerate(inst):
            data[i, m], visibility[i, m], boxes[i, m] = xyv, vis, box
    same = len(set(sizes)) == 1
    poses = Poses(data, sch, source=str(root), frame_names=names,
                  frame_size=sizes[0] if same else None, image_sizes=None if same else sizes)
    meta = {"source_file": str(files[0] if len(files) == 1 else root), "format": "labelme",
            "labelme_files": [str(f) for f in files]}
    if any(image_fields):
        meta["image_fields"] = image_fields
    return LabeledDataset(poses, visibility, boxes, root, domains, meta)


def _json_names(image_names: list[str]) -> list[str]:
    """``<image stem>.json`` (LabelMe's own convention); folder-qualified if stems collide."""
    stems = [os.path.splitext(os.path.basename(n.replace("\\", "/")))[0] for n in image_names]
    if len(set(stems)) == len(stems):
        return [s + ".json" for s in stems]
    flat = [os.path.splitext(n.replace("\\", "/"))[0].strip("./").replace("/", "__")
            .replace("..", "_") for n in image_names]
    return [s + ".json" for s in flat]


def labelme_output_names(dataset: LabeledDataset) -> list[str]:
    """The file names :func:`write_labelme` writes for ``dataset`` (one per image)."""
    return _json_names(dataset.image_names)


def write_labelme(dataset: LabeledDataset, out_dir: str | os.PathLike,
                  label_map: dict[str, str] | None = None, boxes: bool = True) -> list[Path]:
    """Write one LabelMe JSON per image into ``out_dir``; returns the files written.

    Labels: for infant-22 the seed-004 labels (``Head``, ``Eye_L``, ...), else the keypoint
    names; ``label_map`` (keypoint -> label) overrides. Each person is a ``group_id``; its box
    is a ``person`` rectangle (``boxes=False`` leaves boxes out). ``imagePath`` is relative to
    ``out_dir``. All files are built before any is written, and each is written atomically.
    """
    out = _atomic.ensure_writable_dir(out_dir)
    sch = dataset.schema
    labels = {kp: kp for kp in sch.keypoints}
    if sch.name == "infant22":
        labels.update({v: k for k, v in INFANT22_LABELS.items()})
    if label_map:
        labels.update(label_map)
    sizes = dataset.poses.image_sizes or [dataset.poses.frame_size] * len(dataset)
    docs: list[tuple[Path, dict]] = []
    seen: set[str] = set()
    data, vis, bx = dataset.poses.data, dataset.visibility, dataset.boxes
    kept = dataset.meta.get("image_fields")
    kept = kept if isinstance(kept, list) and len(kept) == len(dataset) else None
    jnames = _json_names(dataset.image_names)
    for f, name in enumerate(dataset.image_names):
        jname = jnames[f]
        if jname in seen:
            raise InputError(out / jname, "two images map to the same LabelMe file name")
        seen.add(jname)
        shapes: list[dict] = []
        for n in range(data.shape[1]):
            lab = (vis[f, n] > 0) & ~np.isnan(data[f, n, :, :2]).any(-1)
            has_box = not np.isnan(bx[f, n]).any()
            if not lab.any() and not has_box:
                continue
            for kidx in np.flatnonzero(lab):
                shape = {"label": labels[sch.keypoints[kidx]],
                         "points": [[float(data[f, n, kidx, 0]), float(data[f, n, kidx, 1])]],
                         "group_id": n, "description": "", "shape_type": "point", "flags": {}}
                if vis[f, n, kidx] == 1:
                    shape["flags"] = {"occluded": True}
                shapes.append(shape)
            if boxes and has_box:
                x, y, w, h = (float(v) for v in bx[f, n])
                shapes.append({"label": BOX_LABEL, "points": [[x, y], [x + w, y + h]],
                               "group_id": n, "description": "", "shape_type": "rectangle",
                               "flags": {}})
        size = sizes[f] if sizes[f] is not None else image_size(dataset.root / name)
        rel = os.path.relpath(dataset.root / name, out).replace(os.sep, "/")
        doc = {"version": "5.4.1", "flags": {}, "shapes": shapes, "domain": dataset.domains[f],
               "imagePath": rel, "imageData": None,
               "imageHeight": int(size[1]), "imageWidth": int(size[0])}
        if kept is not None and isinstance(kept[f], dict) and kept[f]:
            doc["image_info"] = kept[f]  # extra per-image fields (e.g. a render's posture)
        docs.append((out / jname, doc))
    written = []
    for p, d in docs:
        written.append(_atomic.write_text(p, json.dumps(d, indent=1)))
    return written
