"""COCO keypoint JSON: read into and write from a :class:`~infantpose.datasets.LabeledDataset`.

The COCO keypoint format (Lin et al., 2014) is what SyRIP / FiDIP (seed ``003_``) and most infant
pose sets use. One JSON file holds ``images`` (id, file_name, width, height), ``annotations`` (one
per person: ``keypoints`` as a flat ``[x, y, v] * K`` list, ``bbox`` as x, y, width, height) and
``categories`` (the person category declares the ``keypoints`` names and the 1-based ``skeleton``).

infantpose adds two optional fields that other COCO tools ignore: ``schema`` on the category (the
infantpose schema name) and ``domain`` on each image ("real" or "synthetic").

Visibility ``v`` follows COCO: 0 not labelled (x = y = 0), 1 labelled but occluded, 2 labelled and
visible. In a ``LabeledDataset`` an unlabelled keypoint is missing (NaN, score 0).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, UnidentifiedImageError

from infantpose import _atomic
from infantpose._validate import MAX_SIDE, check_id, check_rel_path, is_number, number, number_array
from infantpose.datasets import LabeledDataset
from infantpose.errors import InputError
from infantpose.io.images import exif_orientation, oriented_size
from infantpose.io.jsonfile import read_json
from infantpose.poses import Poses
from infantpose.schemas import SCHEMAS, Schema, get_schema

__all__ = ["check_coco_results", "coco_dict", "coco_image_root", "image_size", "is_coco_json",
           "match_schema", "read_coco", "write_coco"]


# --- schema matching -----------------------------------------------------------------------------
def match_schema(names: list[str], declared: str | None = None,
                 path: str | os.PathLike | None = None) -> Schema:
    """The known schema whose keypoints are ``names`` (any order).

    Preference: the ``declared`` schema if its keypoints are exactly ``names``; any registered
    schema with exactly these names; else the smallest registered schema that contains all of
    them (the keypoints it has beyond ``names`` stay unlabelled). Unknown names raise InputError.
    """
    if len(set(names)) != len(names):
        raise InputError(path, f"duplicate keypoint names in category: {names}")
    wanted = set(names)
    candidates: list[Schema] = []
    if declared:
        try:
            candidates.append(get_schema(declared))
        except InputError:
            pass
    candidates.extend(SCHEMAS.values())
    for s in candidates:
        if set(s.keypoints) == wanted:
            return s
    supersets = [s for s in SCHEMAS.values() if wanted <= set(s.keypoints)]
    if supersets:
        return min(supersets, key=lambda s: s.num_keypoints)
    best = max(SCHEMAS.values(), key=lambda s: len(wanted & set(s.keypoints)))
    unknown = sorted(wanted - set(best.keypoints))
    raise InputError(path, f"keypoint names {unknown} are not in any known schema "
                           f"(closest: {best.name}; known schemas: {', '.join(sorted(SCHEMAS))})")


# --- image sizes ---------------------------------------------------------------------------------
def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of an image file as viewed, reading only its header.

    The EXIF orientation is applied (a phone portrait photo stored landscape is portrait), as
    :func:`~infantpose.io.images.read_image` does, so sizes and pixels agree.
    """
    try:
        with Image.open(path) as im:
            return oriented_size(im.size, exif_orientation(im))
    except FileNotFoundError:
        raise InputError(path, "image not found") from None
    except (UnidentifiedImageError, OSError) as e:
        raise InputError(path, f"cannot read image ({e})") from None


def labelled_size(width: Any, height: Any, image_path: Path, label_file: Path,
                  missing: str) -> tuple[int, int]:
    """The (width, height) a label file states, or the image header's when it states none.

    ``missing`` is the message when neither is available (the image file is absent too).
    """
    if isinstance(width, (int, float)) and isinstance(height, (int, float)) \
            and width > 0 and height > 0:
        return int(width), int(height)
    if not image_path.is_file():
        raise InputError(label_file, missing)
    return image_size(image_path)


def _sizes(dataset: LabeledDataset) -> list[tuple[int, int]]:
    known = dataset.poses.sizes()
    if known is not None:
        return known
    return [image_size(path) if path.is_file() else (0, 0) for path in dataset.image_paths]


# --- writing -------------------------------------------------------------------------------------
_IMAGE_KEYS = ("id", "file_name", "width", "height", "domain")


def _img_id(v: Any) -> Any:
    return int(v) if isinstance(v, (int, np.integer)) else v


def _num(v: float) -> float | int:
    """JSON-friendly number: integers stay integers, floats are rounded to 1/1000 pixel."""
    r = round(float(v), 3)
    return int(r) if r == int(r) else r


def coco_dict(dataset: LabeledDataset, extra_image_fields: list[dict] | None = None,
              category_name: str = "person", base: str | os.PathLike | None = None
              ) -> dict[str, Any]:
    """The COCO keypoint dict of ``dataset`` (see :func:`write_coco`).

    ``file_name`` is each image path relative to ``base`` (default ``dataset.root``).
    """
    rebase = base is not None and Path(base).resolve() != dataset.root.resolve()
    if extra_image_fields is not None and len(extra_image_fields) != len(dataset):
        raise ValueError(f"extra_image_fields has {len(extra_image_fields)} entries for "
                         f"{len(dataset)} images")
    schema = dataset.schema
    sizes = _sizes(dataset)
    data, vis, boxes = dataset.poses.data, dataset.visibility, dataset.boxes
    ids = dataset.meta.get("coco_image_ids")
    if not (isinstance(ids, list) and len(ids) == len(dataset) and len(set(ids)) == len(ids)):
        ids = list(range(1, len(dataset) + 1))
    areas = dataset.meta.get("areas")
    if not (isinstance(areas, list) and len(areas) == len(dataset)
            and all(isinstance(r, list) and len(r) == data.shape[1] for r in areas)):
        areas = None
    kept_fields = dataset.meta.get("image_fields")
    if not (isinstance(kept_fields, list) and len(kept_fields) == len(dataset)):
        kept_fields = None
    images, annotations = [], []
    ann_id = 1
    for f, name in enumerate(dataset.image_names):
        w, h = sizes[f]
        if rebase:
            name = os.path.relpath(dataset.root / name, base).replace(os.sep, "/")
        img: dict[str, Any] = {"id": _img_id(ids[f]), "file_name": name, "width": int(w),
                               "height": int(h), "domain": dataset.domains[f]}
        if kept_fields is not None and isinstance(kept_fields[f], dict):
            img.update({key: v for key, v in kept_fields[f].items() if key not in _IMAGE_KEYS})
        if extra_image_fields is not None:
            img.update(extra_image_fields[f])
        images.append(img)
        for n in range(data.shape[1]):
            labelled = (vis[f, n] > 0) & ~np.isnan(data[f, n, :, :2]).any(axis=-1)
            has_box = not np.isnan(boxes[f, n]).any()
            if not labelled.any() and not has_box:
                continue  # a padding slot
            kps: list[float | int] = []
            for k in range(schema.num_keypoints):
                if labelled[k]:
                    kps += [_num(data[f, n, k, 0]), _num(data[f, n, k, 1]), int(vis[f, n, k])]
                else:
                    kps += [0, 0, 0]
            if has_box:
                bbox = [float(b) for b in boxes[f, n]]
            else:
                xy = data[f, n, labelled, :2]
                x0, y0 = xy.min(axis=0)
                x1, y1 = xy.max(axis=0)
                bbox = [float(x0), float(y0), float(x1 - x0), float(y1 - y0)]
            annotations.append({
                "id": ann_id, "image_id": _img_id(ids[f]), "category_id": 1,
                "keypoints": kps, "num_keypoints": int(labelled.sum()),
                "bbox": [_num(b) for b in bbox], "iscrowd": 0,
                "area": _num(areas[f][n] if areas is not None and areas[f][n] is not None
                             else bbox[2] * bbox[3]),
            })
            ann_id += 1
    category = {
        "id": 1, "name": category_name, "supercategory": "person",
        "keypoints": list(schema.keypoints),
        "skeleton": [[int(a) + 1, int(b) + 1] for a, b in schema.edge_index],
        "schema": schema.name,
    }
    info = {"description": "written by infantpose", "schema": schema.name}
    return {"info": info, "images": images, "annotations": annotations, "categories": [category]}


def write_coco(dataset: LabeledDataset, path: str | os.PathLike,
               extra_image_fields: list[dict] | None = None) -> Path:
    """Write ``dataset`` as COCO keypoint JSON at ``path`` (atomically).

    ``file_name`` is the image path relative to the JSON file's folder (the same as relative to
    ``dataset.root`` when the file is written there, so ``read_coco(path)`` finds the images
    either way); each image carries its
    ``domain``; ``extra_image_fields[i]`` (optional) is merged into image i's entry. Unlabelled
    keypoints are written as ``0, 0, 0``; an instance without a box gets the box around its
    labelled keypoints. Image ids are kept when the dataset was read from COCO.
    """
    d = coco_dict(dataset, extra_image_fields, base=Path(path).absolute().parent)
    return _atomic.write_text(path, json.dumps(d, allow_nan=False))


# --- reading -------------------------------------------------------------------------------------
def _load_json(path: Path) -> Any:
    return read_json(path)


def _keypoint_category(d: dict, path: Path) -> dict:
    cats = d.get("categories")
    if not isinstance(cats, list) or not cats:
        raise InputError(path, "missing key 'categories' (a non-empty list)")
    kp_cats = [c for c in cats if isinstance(c, dict) and isinstance(c.get("keypoints"), list)]
    if not kp_cats:
        raise InputError(path, "no category declares 'keypoints' names")
    if "id" not in kp_cats[0]:
        raise InputError(path, "category without 'id'")

    check_id(kp_cats[0]["id"], path, "categories[].id")
    return kp_cats[0]


def _finite(values: list, path: Path, where: str) -> np.ndarray:
    """JSON numbers only (no strings, booleans, null, NaN or absurd values)."""
    if not isinstance(values, list):
        raise InputError(path, f"{where}: expected a list of numbers")
    return number_array(values, path, where).astype(float)


#: Folder names searched beside a COCO file for its images, after the file's own folder.
IMAGE_FOLDERS = ("images",)


def coco_image_root(path: str | os.PathLike, file_names: list[str],
                    images_root: str | os.PathLike | None = None) -> Path:
    """The folder a COCO file's ``file_name`` values are relative to.

    ``images_root`` when given (``--images DIR``; InputError if it is not a folder). Otherwise
    the first of the JSON file's own folder and an ``images/`` folder beside it that holds every
    image; when none holds them all, the one holding the most (the JSON's folder on a tie), so
    the error about a missing image names the likeliest place. Layouts such as
    ``dataset/annotations.json`` + ``dataset/images/*.jpg`` then need no option.
    """
    p = Path(path)
    if images_root is not None:
        root = Path(images_root)
        if not root.is_dir():
            raise InputError(root, "image folder not found (--images must be a folder)")
        return root
    candidates = [p.parent] + [p.parent / f for f in IMAGE_FOLDERS]
    best, best_n = p.parent, -1
    for folder in candidates:
        if not folder.is_dir():
            continue
        n = sum((folder / name).is_file() for name in file_names)
        if n == len(file_names):
            return folder
        if n > best_n:
            best, best_n = folder, n
    return best


def read_coco(path: str | os.PathLike, images_root: str | os.PathLike | None = None,
              check_images: bool = True) -> LabeledDataset:
    """Read a COCO keypoint JSON file into a ``LabeledDataset``.

    The keypoint category's ``keypoints`` names pick the schema (see :func:`match_schema`);
    keypoints in another order are reordered by name. Image paths are relative to
    ``images_root`` (default: the JSON file's folder, or an ``images/`` folder beside it, see
    :func:`coco_image_root`). Images without width/height get them from
    the image file. Crowd annotations (``iscrowd`` = 1) are skipped. With ``check_images`` every
    image must exist. Any malformed content raises one InputError naming the file; nothing is
    returned partially.
    """
    p = Path(path)
    d = _load_json(p)
    if not isinstance(d, dict):
        raise InputError(p, "COCO JSON must be an object with images, annotations, categories")
    for key in ("images", "annotations", "categories"):
        if not isinstance(d.get(key), list):
            raise InputError(p, f"missing key {key!r} (a list)")

    cat = _keypoint_category(d, p)
    if not all(isinstance(n, str) for n in cat["keypoints"]):
        raise InputError(p, "category 'keypoints' must be a list of names (strings)")
    names = [str(n) for n in cat["keypoints"]]
    schema = match_schema(names, cat.get("schema"), p)
    order = np.array([schema.index(n) for n in names], dtype=int)  # file position -> schema index
    k_file, k = len(names), schema.num_keypoints
    images = d["images"]
    id_to_frame: dict[Any, int] = {}
    file_names: list[str] = []
    for i, img in enumerate(images):
        if not isinstance(img, dict) or "id" not in img or "file_name" not in img:
            raise InputError(p, f"images[{i}] lacks 'id' or 'file_name'")
        check_id(img["id"], p, f"images[{i}].id")
        if img["id"] in id_to_frame:
            raise InputError(p, f"duplicate image id {img['id']}")
        id_to_frame[img["id"]] = i
        file_names.append(check_rel_path(img["file_name"], p, f"images[{i}].file_name"))
        for key in ("width", "height"):
            if img.get(key) is not None:
                number(img[key], p, f"images[{i}].{key}", 1, MAX_SIDE, integer=True)
    root = coco_image_root(p, file_names, images_root)
    where = (f"under --images {root}" if images_root is not None else
             f"beside the labels or in {p.parent / 'images'}; name the folder with --images DIR")
    sizes: list[tuple[int, int]] = []
    domains: list[str] = []
    image_fields: list[dict] = []
    for i, (img, name) in enumerate(zip(images, file_names)):
        ipath = root / name
        if check_images and not ipath.is_file():
            raise InputError(p, f"image not found: {name} ({where})")
        sizes.append(labelled_size(img.get("width"), img.get("height"), ipath, p,
                                   f"images[{i}] has no width/height and {ipath} is not found"))
        domains.append(str(img.get("domain", "real")))
        image_fields.append({key: v for key, v in img.items() if key not in _IMAGE_KEYS})

    per_image: list[list[tuple]] = [[] for _ in images]
    skipped_crowd = 0
    for j, ann in enumerate(d["annotations"]):
        if not isinstance(ann, dict):
            raise InputError(p, f"annotations[{j}] is not an object")
        if ann.get("category_id", cat["id"]) != cat["id"]:
            continue
        for key in ("image_id", "keypoints"):
            if key not in ann:
                raise InputError(p, f"annotations[{j}] lacks {key!r}")
        check_id(ann["image_id"], p, f"annotations[{j}].image_id")
        if ann.get("iscrowd", 0) not in (0, 1, False, True, None):
            raise InputError(p, f"annotations[{j}].iscrowd must be 0 or 1")
        if ann.get("iscrowd", 0):
            skipped_crowd += 1
            continue
        if ann["image_id"] not in id_to_frame:
            raise InputError(p, f"annotations[{j}] refers to unknown image_id {ann['image_id']}")
        kp = ann["keypoints"]
        if not isinstance(kp, list) or len(kp) != 3 * k_file:
            n_got = len(kp) if isinstance(kp, list) else "non-list"
            raise InputError(p, f"annotations[{j}] has {n_got} keypoint values, expected "
                                f"{3 * k_file} ({k_file} keypoints x 3)")
        arr = _finite(kp, p, f"annotations[{j}].keypoints").reshape(k_file, 3)
        v_file = arr[:, 2]
        if not np.isin(v_file, (0, 1, 2)).all():
            raise InputError(p, f"annotations[{j}]: visibility flags must be 0, 1 or 2")
        xyv = np.full((k, 3), np.nan)
        xyv[:, 2] = 0.0
        vis = np.zeros(k, dtype=int)
        lab = v_file > 0
        xyv[order[lab], :2] = arr[lab, :2]
        xyv[order[lab], 2] = 1.0
        vis[order[lab]] = v_file[lab].astype(int)
        box = np.full(4, np.nan)
        if "bbox" in ann and ann["bbox"] is not None:
            b = _finite(ann["bbox"], p, f"annotations[{j}].bbox")
            if b.shape != (4,):
                raise InputError(p, f"annotations[{j}].bbox must have 4 numbers")
            box = b
        elif lab.any():
            xy = arr[lab, :2]
            box = np.array([*xy.min(0), *(xy.max(0) - xy.min(0))])
        area = ann.get("area")
        if area is not None and not is_number(area):
            raise InputError(p, f"annotations[{j}].area must be a number")
        area = float(area) if is_number(area) and math.isfinite(area) and area > 0 else None
        per_image[id_to_frame[ann["image_id"]]].append((xyv, vis, box, area))

    n = max((len(a) for a in per_image), default=0)
    f = len(images)
    data = np.full((f, n, k, 3), np.nan)
    data[..., 2] = 0.0
    visibility = np.zeros((f, n, k), dtype=int)
    boxes = np.full((f, n, 4), np.nan)
    areas: list[list[float | None]] = []
    for i, anns in enumerate(per_image):
        areas.append([None] * n)
        for m, (xyv, vis, box, area) in enumerate(anns):
            data[i, m], visibility[i, m], boxes[i, m] = xyv, vis, box
            areas[i][m] = area
    same = len(set(sizes)) == 1
    poses = Poses(data, schema, source=str(p), frame_names=file_names,
                  frame_size=sizes[0] if same and sizes else None,
                  image_sizes=None if same else sizes)
    meta: dict[str, Any] = {"source_file": str(p), "format": "coco",
                            "coco_image_ids": [img["id"] for img in images]}
    if any(image_fields):
        meta["image_fields"] = image_fields  # extra per-image fields, written back by write_coco
    if any(a is not None for row in areas for a in row):
        meta["areas"] = areas  # COCO 'area' per (image, instance), used as the OKS scale
    if skipped_crowd:
        meta["skipped_crowd_annotations"] = skipped_crowd
    missing = [s for s in schema.keypoints if s not in set(names)]
    if missing:
        meta["unlabelled_keypoints"] = missing
    return LabeledDataset(poses, visibility, boxes, root, domains, meta)


def is_coco_json(d: Any) -> bool:
    """True if a loaded JSON value looks like a COCO keypoint file."""
    return isinstance(d, dict) and isinstance(d.get("images"), list) and isinstance(
        d.get("categories"), list) and isinstance(d.get("annotations"), list)


def check_coco_results(path: str | os.PathLike) -> None:
    """Check a COCO keypoint *results* file (a JSON list, e.g. ``predict``'s predictions.json)
    value by value: ids are integers or strings, keypoints and bbox are JSON numbers (no strings,
    booleans, NaN or absurd values), scores are finite numbers. Other files pass untouched."""
    p = Path(path)
    d = read_json(p)
    if not isinstance(d, list):
        return
    for i, r in enumerate(d):
        if not isinstance(r, dict):
            raise InputError(p, f"result [{i}] is not an object")
        if "image_id" in r:
            check_id(r["image_id"], p, f"result [{i}].image_id")
        if r.get("file_name") is not None:
            check_rel_path(r["file_name"], p, f"result [{i}].file_name")
        if "keypoints" in r:
            if not isinstance(r["keypoints"], list):
                raise InputError(p, f"result [{i}].keypoints must be a list of numbers")
            number_array(r["keypoints"], p, f"result [{i}].keypoints")
        if r.get("bbox") is not None:
            number_array(r["bbox"], p, f"result [{i}].bbox")
        if "score" in r:
            number(r["score"], p, f"result [{i}].score")
        if r.get("schema") is not None and not isinstance(r["schema"], str):
            raise InputError(p, f"result [{i}].schema must be a schema name")
