"""Keypoint schemas and the explicit mappings between them.

A :class:`Schema` names the keypoints a model or dataset uses, in order, with the skeleton edges
drawn between them, the left/right pairs swapped by a horizontal flip, the per-keypoint OKS sigmas
used by COCO-style evaluation, and the body region each keypoint belongs to.

A :class:`Mapping` says, for every keypoint of a *target* schema, which keypoints of a *source*
schema provide it: one keypoint (a copy), several (the target is *derived* as their mean, e.g. the
palm from the index and pinky knuckles), or none (the target is *missing*: never guessed). This is
the "generalized data converter" idea of SuperAnimal (Ye et al., 2023, seed ``002_``): datasets and
models labelled with different keypoint sets meet in one keypoint space, and what a source lacks
stays explicitly absent so it can be masked out of training and evaluation.

Missing values follow one convention everywhere in infantpose: x = y = NaN and score = 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from infantpose.errors import InputError

__all__ = [
    "Schema",
    "Mapping",
    "COCO17",
    "INFANT22",
    "BLAZEPOSE33",
    "SCHEMAS",
    "get_schema",
    "register_schema",
    "get_mapping",
    "register_mapping",
    "convert_keypoints",
]


@dataclass(frozen=True)
class Schema:
    """An ordered set of keypoints with skeleton, flip pairs, OKS sigmas and body regions.

    ``edges`` and ``flip_pairs`` are given by keypoint name; ``edge_index`` and ``flip_index`` give
    the integer forms that array code needs.
    """

    name: str
    keypoints: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]
    flip_pairs: tuple[tuple[str, str], ...]
    sigmas: tuple[float, ...]
    regions: tuple[str, ...]
    description: str = ""
    facial: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        k = len(self.keypoints)
        if len(set(self.keypoints)) != k:
            raise ValueError(f"schema {self.name}: duplicate keypoint names")
        if len(self.sigmas) != k or len(self.regions) != k:
            raise ValueError(f"schema {self.name}: sigmas/regions must have one entry per keypoint")
        names = set(self.keypoints)
        for a, b in (*self.edges, *self.flip_pairs):
            if a not in names or b not in names:
                raise ValueError(f"schema {self.name}: unknown keypoint in edge/pair ({a}, {b})")
        for f in self.facial:
            if f not in names:
                raise ValueError(f"schema {self.name}: unknown facial keypoint {f}")

    @property
    def num_keypoints(self) -> int:
        return len(self.keypoints)

    def __len__(self) -> int:
        return len(self.keypoints)

    def index(self, name: str) -> int:
        """Position of keypoint ``name``; raises KeyError naming the schema if absent."""
        try:
            return self._index[name]
        except KeyError:
            raise KeyError(f"keypoint {name!r} is not in schema {self.name}") from None

    @cached_property
    def _index(self) -> dict[str, int]:
        return {n: i for i, n in enumerate(self.keypoints)}

    @cached_property
    def edge_index(self) -> np.ndarray:
        """Skeleton edges as an (E, 2) int array of keypoint indices."""
        return np.array([[self.index(a), self.index(b)] for a, b in self.edges], dtype=int).reshape(-1, 2)

    @cached_property
    def flip_index(self) -> np.ndarray:
        """Permutation that swaps left and right keypoints (apply after mirroring x)."""
        perm = np.arange(self.num_keypoints)
        for a, b in self.flip_pairs:
            ia, ib = self.index(a), self.index(b)
            perm[ia], perm[ib] = ib, ia
        return perm

    @cached_property
    def sigma_array(self) -> np.ndarray:
        return np.asarray(self.sigmas, dtype=float)

    @cached_property
    def facial_mask(self) -> np.ndarray:
        """Boolean mask of keypoints that identify a face (dropped by de-identified exports)."""
        return np.array([k in self.facial for k in self.keypoints], dtype=bool)


def _sides(*names: str) -> list[tuple[str, str]]:
    return [(f"left_{n}", f"right_{n}") for n in names]


# --- COCO-17 -------------------------------------------------------------------------------------
# Keypoint order, skeleton and sigmas as in the COCO keypoint task (Lin et al., 2014).
COCO17 = Schema(
    name="coco17",
    keypoints=(
        "nose", "left_eye", "right_eye", "left_ear", "right_ear",
        "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
        "left_wrist", "right_wrist", "left_hip", "right_hip",
        "left_knee", "right_knee", "left_ankle", "right_ankle",
    ),
    edges=(
        ("left_ankle", "left_knee"), ("left_knee", "left_hip"),
        ("right_ankle", "right_knee"), ("right_knee", "right_hip"),
        ("left_hip", "right_hip"), ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
        ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"),
        ("right_shoulder", "right_elbow"), ("left_elbow", "left_wrist"),
        ("right_elbow", "right_wrist"), ("left_eye", "right_eye"), ("nose", "left_eye"),
        ("nose", "right_eye"), ("left_eye", "left_ear"), ("right_eye", "right_ear"),
        ("left_ear", "left_shoulder"), ("right_ear", "right_shoulder"),
    ),
    flip_pairs=tuple(_sides("eye", "ear", "shoulder", "elbow", "wrist", "hip", "knee", "ankle")),
    sigmas=(0.026, 0.025, 0.025, 0.035, 0.035, 0.079, 0.079, 0.072, 0.072,
            0.062, 0.062, 0.107, 0.107, 0.087, 0.087, 0.089, 0.089),
    regions=("head",) * 5 + ("shoulder",) * 2 + ("elbow",) * 2 + ("wrist",) * 2
    + ("hip",) * 2 + ("knee",) * 2 + ("ankle",) * 2,
    description="COCO keypoint task, 17 keypoints (adult-oriented; used by SyRIP/FiDIP).",
    facial=("nose", "left_eye", "right_eye", "left_ear", "right_ear"),
)

# --- Infant-22 -----------------------------------------------------------------------------------
# The 22-keypoint infant skeleton of seed 004 (vertex, eyes, nose, lips, shoulders, elbows, wrists,
# palms = MCP joints, hips, knees, ankles, soles = MTP joints), in the order of that dataset's
# LabelMe labels (Head, Eye_L, Eye_R, Nose, Upper_Lip, Lower_Lip, then right before left).
#
# OKS sigmas: that dataset defines no OKS sigmas (it reports PCKsh and mKS), so we derive them.
# Keypoints that COCO also has keep COCO's sigma (Ronchi & Perona's annotator spread).
# vertex: 0.035, the COCO ear value, a head-contour point with similar annotator ambiguity.
# upper/lower lip: 0.025, like the eyes: small, sharply visible facial points.
# palm (MCP joints): 0.062, the wrist value: a hand point labelled at the same scale.
# sole (MTP joints): 0.089, the ankle value: a foot point labelled at the same scale.
INFANT22 = Schema(
    name="infant22",
    keypoints=(
        "vertex", "left_eye", "right_eye", "nose", "upper_lip", "lower_lip",
        "right_shoulder", "left_shoulder", "right_elbow", "left_elbow",
        "right_wrist", "left_wrist", "right_palm", "left_palm",
        "right_hip", "left_hip", "right_knee", "left_knee",
        "right_ankle", "left_ankle", "right_sole", "left_sole",
    ),
    edges=(
        ("vertex", "left_eye"), ("vertex", "right_eye"), ("left_eye", "nose"),
        ("right_eye", "nose"), ("nose", "upper_lip"), ("upper_lip", "lower_lip"),
        ("left_shoulder", "right_shoulder"), ("right_shoulder", "right_elbow"),
        ("right_elbow", "right_wrist"), ("right_wrist", "right_palm"),
        ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
        ("left_wrist", "left_palm"), ("right_shoulder", "right_hip"),
        ("left_shoulder", "left_hip"), ("right_hip", "left_hip"), ("right_hip", "right_knee"),
        ("right_knee", "right_ankle"), ("right_ankle", "right_sole"), ("left_hip", "left_knee"),
        ("left_knee", "left_ankle"), ("left_ankle", "left_sole"),
    ),
    flip_pairs=tuple(_sides("eye", "shoulder", "elbow", "wrist", "palm", "hip", "knee",
                            "ankle", "sole")),
    sigmas=(0.035, 0.025, 0.025, 0.026, 0.025, 0.025,
            0.079, 0.079, 0.072, 0.072, 0.062, 0.062, 0.062, 0.062,
            0.107, 0.107, 0.087, 0.087, 0.089, 0.089, 0.089, 0.089),
    regions=("head",) * 6 + ("shoulder",) * 2 + ("elbow",) * 2 + ("wrist",) * 2 + ("palm",) * 2
    + ("hip",) * 2 + ("knee",) * 2 + ("ankle",) * 2 + ("sole",) * 2,
    description="Infant 22-keypoint skeleton (seed 004): adds vertex, lips, palms and soles.",
    facial=("left_eye", "right_eye", "nose", "upper_lip", "lower_lip"),
)

# --- BlazePose-33 --------------------------------------------------------------------------------
# MediaPipe BlazePose landmark order (Bazarevsky et al., 2020). Sigmas: COCO's where COCO has the
# point; the other face points like the eyes (0.025), hand points like the wrist (0.062), heel and
# foot index like the ankle (0.089).
_BP_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_pinky", "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
_BP_SIGMA = {"nose": 0.026, "left_ear": 0.035, "right_ear": 0.035}
for _n in _BP_NAMES:
    if _n in _BP_SIGMA:
        continue
    if "eye" in _n or "mouth" in _n:
        _BP_SIGMA[_n] = 0.025
    elif "shoulder" in _n:
        _BP_SIGMA[_n] = 0.079
    elif "elbow" in _n:
        _BP_SIGMA[_n] = 0.072
    elif any(s in _n for s in ("wrist", "pinky", "index", "thumb")) and "foot" not in _n:
        _BP_SIGMA[_n] = 0.062
    elif "hip" in _n:
        _BP_SIGMA[_n] = 0.107
    elif "knee" in _n:
        _BP_SIGMA[_n] = 0.087
    else:  # ankle, heel, foot_index
        _BP_SIGMA[_n] = 0.089


def _bp_region(n: str) -> str:
    if n == "nose" or "eye" in n or "ear" in n or "mouth" in n:
        return "head"
    for part in ("shoulder", "elbow", "wrist", "hip", "knee", "ankle"):
        if part in n:
            return part
    if "foot" in n or "heel" in n:
        return "foot"
    return "hand"


BLAZEPOSE33 = Schema(
    name="blazepose33",
    keypoints=_BP_NAMES,
    edges=(
        ("nose", "left_eye_inner"), ("left_eye_inner", "left_eye"), ("left_eye", "left_eye_outer"),
        ("left_eye_outer", "left_ear"), ("nose", "right_eye_inner"),
        ("right_eye_inner", "right_eye"), ("right_eye", "right_eye_outer"),
        ("right_eye_outer", "right_ear"), ("mouth_left", "mouth_right"),
        ("left_shoulder", "right_shoulder"), ("left_shoulder", "left_elbow"),
        ("left_elbow", "left_wrist"), ("left_wrist", "left_pinky"), ("left_wrist", "left_index"),
        ("left_wrist", "left_thumb"), ("left_pinky", "left_index"),
        ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
        ("right_wrist", "right_pinky"), ("right_wrist", "right_index"),
        ("right_wrist", "right_thumb"), ("right_pinky", "right_index"),
        ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"), ("left_hip", "right_hip"),
        ("left_hip", "left_knee"), ("left_knee", "left_ankle"), ("left_ankle", "left_heel"),
        ("left_heel", "left_foot_index"), ("left_ankle", "left_foot_index"),
        ("right_hip", "right_knee"), ("right_knee", "right_ankle"), ("right_ankle", "right_heel"),
        ("right_heel", "right_foot_index"), ("right_ankle", "right_foot_index"),
    ),
    flip_pairs=tuple(_sides("eye_inner", "eye", "eye_outer", "ear", "shoulder", "elbow", "wrist",
                            "pinky", "index", "thumb", "hip", "knee", "ankle", "heel",
                            "foot_index")) + (("mouth_left", "mouth_right"),),
    sigmas=tuple(_BP_SIGMA[n] for n in _BP_NAMES),
    regions=tuple(_bp_region(n) for n in _BP_NAMES),
    description="MediaPipe BlazePose 33 landmarks (the pretrained model shipped in mediapipe).",
    facial=_BP_NAMES[:11],
)

SCHEMAS: dict[str, Schema] = {}


def register_schema(schema: Schema) -> Schema:
    """Add a schema to the registry so ``get_schema(schema.name)`` finds it."""
    SCHEMAS[schema.name] = schema
    return schema


for _s in (COCO17, INFANT22, BLAZEPOSE33):
    register_schema(_s)


def get_schema(name: str | Schema) -> Schema:
    """Look up a schema by name (case-insensitive); a Schema passes through unchanged."""
    if isinstance(name, Schema):
        return name
    key = str(name).lower().replace("-", "").replace("_", "")
    for s in SCHEMAS.values():
        if s.name.replace("-", "").replace("_", "") == key:
            return s
    raise InputError(None, f"unknown schema {name!r}; known schemas: {', '.join(sorted(SCHEMAS))}")


# --- Mappings ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mapping:
    """How each target keypoint is obtained from a source schema.

    ``sources[k]`` lists the source keypoint names for target keypoint k: one name is a copy,
    several are averaged (a *derived* keypoint; its score is the lowest of its sources), none means
    the source does not provide it and it stays missing. ``notes`` documents approximations.
    """

    source: Schema
    target: Schema
    sources: tuple[tuple[str, ...], ...]
    notes: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.sources) != self.target.num_keypoints:
            raise ValueError(f"mapping {self.source.name}->{self.target.name}: wrong length")
        for srcs in self.sources:
            for s in srcs:
                self.source.index(s)

    @property
    def provided(self) -> list[str]:
        """Target keypoints the source provides (copied or derived)."""
        return [t for t, s in zip(self.target.keypoints, self.sources) if s]

    @property
    def derived(self) -> list[str]:
        """Target keypoints computed from several source keypoints, or approximated."""
        return [t for t, s in zip(self.target.keypoints, self.sources)
                if len(s) > 1 or t in self.notes]

    @property
    def missing(self) -> list[str]:
        """Target keypoints the source cannot provide; they are always NaN with score 0."""
        return [t for t, s in zip(self.target.keypoints, self.sources) if not s]

    @cached_property
    def _matrix(self) -> np.ndarray:
        m = np.zeros((self.target.num_keypoints, self.source.num_keypoints))
        for t, srcs in enumerate(self.sources):
            for s in srcs:
                m[t, self.source.index(s)] = 1.0 / len(srcs)
        return m

    def apply(self, keypoints: np.ndarray) -> np.ndarray:
        """Map an array (..., K_source, 3) of (x, y, score) to (..., K_target, 3).

        Any NaN source coordinate makes the target missing; derived scores are the minimum of the
        source scores.
        """
        kp = np.asarray(keypoints, dtype=float)
        if kp.shape[-2:] != (self.source.num_keypoints, 3):
            raise ValueError(
                f"expected (..., {self.source.num_keypoints}, 3) keypoints for schema "
                f"{self.source.name}, got shape {kp.shape}")
        out = np.full(kp.shape[:-2] + (self.target.num_keypoints, 3), np.nan)
        out[..., 2] = 0.0
        xy = np.einsum("ts,...sc->...tc", self._matrix, np.nan_to_num(kp[..., :2]))
        for t, srcs in enumerate(self.sources):
            if not srcs:
                continue
            idx = [self.source.index(s) for s in srcs]
            valid = ~np.isnan(kp[..., idx, :2]).any(axis=(-1, -2))
            score = np.nan_to_num(kp[..., idx, 2]).min(axis=-1)
            out[..., t, 0] = np.where(valid, xy[..., t, 0], np.nan)
            out[..., t, 1] = np.where(valid, xy[..., t, 1], np.nan)
            out[..., t, 2] = np.where(valid, score, 0.0)
        return out


_MAPPINGS: dict[tuple[str, str], Mapping] = {}


def register_mapping(mapping: Mapping) -> Mapping:
    _MAPPINGS[(mapping.source.name, mapping.target.name)] = mapping
    return mapping


def _by_name(source: Schema, target: Schema, overrides: dict[str, tuple[str, ...]] | None = None,
             notes: dict[str, str] | None = None) -> Mapping:
    """Map every target keypoint to the same-named source keypoint, with explicit overrides."""
    overrides = overrides or {}
    src = set(source.keypoints)
    sources = tuple(overrides.get(t, (t,) if t in src else ()) for t in target.keypoints)
    return Mapping(source, target, sources, notes or {})


def get_mapping(source: str | Schema, target: str | Schema) -> Mapping:
    """The registered mapping from ``source`` to ``target`` (identity when they are equal)."""
    s, t = get_schema(source), get_schema(target)
    if s.name == t.name:
        return Mapping(s, t, tuple((k,) for k in s.keypoints))
    try:
        return _MAPPINGS[(s.name, t.name)]
    except KeyError:
        raise InputError(None, f"no keypoint mapping from schema {s.name} to {t.name}") from None


def convert_keypoints(keypoints: np.ndarray, source: str | Schema, target: str | Schema) -> np.ndarray:
    """Convert (..., K_source, 3) keypoints to ``target``; missing targets are NaN, score 0."""
    return get_mapping(source, target).apply(keypoints)


register_mapping(_by_name(BLAZEPOSE33, COCO17))
register_mapping(_by_name(COCO17, INFANT22))
register_mapping(_by_name(INFANT22, COCO17))
register_mapping(_by_name(
    BLAZEPOSE33, INFANT22,
    overrides={
        "left_palm": ("left_index", "left_pinky"),
        "right_palm": ("right_index", "right_pinky"),
        "left_sole": ("left_foot_index",),
        "right_sole": ("right_foot_index",),
    },
    notes={
        "left_palm": "mean of BlazePose index and pinky knuckle landmarks (MCP joints)",
        "right_palm": "mean of BlazePose index and pinky knuckle landmarks (MCP joints)",
        "left_sole": "BlazePose foot_index (toe) landmark; the MTP joint lies slightly proximal",
        "right_sole": "BlazePose foot_index (toe) landmark; the MTP joint lies slightly proximal",
    },
))
# COCO-17 networks (MoveNet) asked for BlazePose-33: the 17 same-named landmarks; BlazePose's
# inner/outer eye corners, mouth, hand and foot landmarks stay missing (never guessed).
register_mapping(_by_name(COCO17, BLAZEPOSE33))
# and infant-22 models (fine-tuned checkpoints) asked for BlazePose-33 the same way
register_mapping(_by_name(INFANT22, BLAZEPOSE33))
