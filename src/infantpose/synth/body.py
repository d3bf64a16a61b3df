"""An articulated 3D infant body built from ellipsoids.

The SMIL infant body model used by FiDIP (seed ``003_``, §4.2) is not available here, so the
generator poses its own body: a kinematic tree (pelvis → waist → chest → neck → head, shoulders →
elbows → wrists → hands, hips → knees → ankles → feet) with infant proportions — the head is about a
quarter of the body length, limbs are short and chubby, the trunk is round — dressed in smooth
ellipsoid primitives. Every keypoint of the ``infant22`` and ``coco17`` schemas is a point of this
body (a joint centre or a point on the head surface), so labels are exact by construction.

Body frame (as in SMPL-style models): x = the infant's left, y = towards the head, z = anterior
(the way the face looks). Lengths are in centimetres. Joint angles are in degrees, one flat vector
(:data:`ANGLE_NAMES`) so poses can be sampled, clipped to :data:`ANGLE_LIMITS` and interpolated.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "ANGLE_LIMITS",
    "ANGLE_NAMES",
    "KEYPOINT_NAMES",
    "KEYPOINT_PARTS",
    "PARTS",
    "PART_ID",
    "Body",
    "BodyShape",
    "Pose",
    "Primitive",
    "pose_body",
    "rest_angles",
    "rotation_from_axes",
    "sample_shape",
]

# Joint angles (degrees) and their anatomical limits, loosely after infant ranges of motion
# (infants are more flexible than adults: hips flex past 120°, knees past 140°).
_ANGLES: list[tuple[str, float, float]] = [
    ("spine_flex", -25, 40), ("spine_lat", -25, 25), ("spine_twist", -30, 30),
    ("neck_flex", -45, 40), ("neck_lat", -30, 30), ("neck_turn", -80, 80),
]
for _side in ("left", "right"):
    _ANGLES += [
        (f"{_side}_shoulder_abd", -20, 160), (f"{_side}_shoulder_flex", -50, 170),
        (f"{_side}_shoulder_twist", -70, 80), (f"{_side}_elbow_flex", 0, 145),
        (f"{_side}_wrist_flex", -60, 70),
        (f"{_side}_hip_abd", -15, 70), (f"{_side}_hip_flex", -20, 140),
        (f"{_side}_hip_twist", -40, 60), (f"{_side}_knee_flex", 0, 150),
        (f"{_side}_ankle_flex", -40, 40),
    ]
ANGLE_NAMES: tuple[str, ...] = tuple(a[0] for a in _ANGLES)
ANGLE_LIMITS: np.ndarray = np.array([[a[1], a[2]] for a in _ANGLES], dtype=float)
_AI = {n: i for i, n in enumerate(ANGLE_NAMES)}

PARTS: tuple[str, ...] = (
    "head", "neck", "trunk", "pelvis",
    "left_upper_arm", "right_upper_arm", "left_forearm", "right_forearm",
    "left_hand", "right_hand", "left_thigh", "right_thigh", "left_shank", "right_shank",
    "left_foot", "right_foot", "nose", "left_ear", "right_ear",
)
PART_ID = {p: i for i, p in enumerate(PARTS)}

KEYPOINT_NAMES: tuple[str, ...] = (
    "vertex", "left_eye", "right_eye", "nose", "upper_lip", "lower_lip", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_palm", "right_palm", "left_hip", "right_hip", "left_knee", "right_knee",
    "left_ankle", "right_ankle", "left_sole", "right_sole",
)


def _kp_parts() -> dict[str, tuple[tuple[str, ...], float]]:
    """Per keypoint: body parts whose surface may show it, and the depth tolerance (cm at scale 1).

    A keypoint is visible when the front-most surface at its pixel belongs to one of these parts
    and lies no further in front of the keypoint than the tolerance (≈ the radius of the limb
    around an interior joint centre; small for points on the skin).
    """
    out: dict[str, tuple[tuple[str, ...], float]] = {
        "vertex": (("head",), 0.8), "left_eye": (("head",), 0.6), "right_eye": (("head",), 0.6),
        "nose": (("nose", "head"), 0.6), "upper_lip": (("head", "nose"), 0.6),
        "lower_lip": (("head",), 0.6),
    }
    for s in ("left", "right"):
        out[f"{s}_ear"] = ((f"{s}_ear", "head"), 1.2)
        out[f"{s}_shoulder"] = (("trunk", f"{s}_upper_arm", "neck"), 5.6)
        out[f"{s}_elbow"] = ((f"{s}_upper_arm", f"{s}_forearm"), 3.0)
        out[f"{s}_wrist"] = ((f"{s}_forearm", f"{s}_hand"), 2.6)
        out[f"{s}_palm"] = ((f"{s}_hand",), 1.8)
        out[f"{s}_hip"] = (("pelvis", f"{s}_thigh", "trunk"), 5.8)
        out[f"{s}_knee"] = ((f"{s}_thigh", f"{s}_shank"), 3.6)
        out[f"{s}_ankle"] = ((f"{s}_shank", f"{s}_foot"), 2.8)
        out[f"{s}_sole"] = ((f"{s}_foot",), 2.0)
    return out


KEYPOINT_PARTS = _kp_parts()


def _rx(deg: float) -> np.ndarray:
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1.0, 0, 0], [0, c, -s], [0, s, c]])


def _ry(deg: float) -> np.ndarray:
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1.0, 0], [-s, 0, c]])


def _rz(deg: float) -> np.ndarray:
    a = np.deg2rad(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


def rotation_from_axes(superior: np.ndarray, anterior: np.ndarray) -> np.ndarray:
    """Body-to-world rotation whose y column is ``superior`` and z column ``anterior``.

    ``anterior`` is orthogonalised against ``superior``; x (the infant's left) completes a
    right-handed frame.
    """
    y = np.asarray(superior, float)
    y = y / np.linalg.norm(y)
    z = np.asarray(anterior, float)
    z = z - y * (z @ y)
    z = z / np.linalg.norm(z)
    x = np.cross(y, z)
    return np.stack([x, y, z], axis=1)


@dataclass(frozen=True)
class BodyShape:
    """Per-infant shape: overall size, chubbiness of limbs/trunk, relative head size, and
    per-segment length multipliers (1.0 = the built-in proportions).

    ``torso`` scales the hip-centre → shoulder-centre height, ``upper_arm``/``forearm``/
    ``thigh``/``shank`` the bone lengths and ``shoulders``/``hips`` the joint spacing. A style
    sets them to match the 2D proportions measured on real photos
    (``benchmarks/synth_vs_real.py``); the default styles keep them at 1.
    """

    scale: float = 1.0
    chub: float = 1.0
    head: float = 1.0
    limb: float = 1.0
    torso: float = 1.0
    upper_arm: float = 1.0
    forearm: float = 1.0
    thigh: float = 1.0
    shank: float = 1.0
    shoulders: float = 1.0
    hips: float = 1.0


def sample_shape(rng: np.random.Generator) -> BodyShape:
    """A random infant shape (newborn to ~1 year: length ≈ 48–75 cm)."""
    return BodyShape(scale=float(rng.uniform(0.9, 1.35)), chub=float(rng.uniform(0.9, 1.2)),
                     head=float(rng.uniform(0.95, 1.1)), limb=float(rng.uniform(0.92, 1.1)))


@dataclass
class Pose:
    """Joint angles (degrees, :data:`ANGLE_NAMES` order) and the pelvis placement in the world."""

    angles: np.ndarray
    root_R: np.ndarray
    root_t: np.ndarray

    def angle(self, name: str) -> float:
        return float(self.angles[_AI[name]])


def rest_angles() -> np.ndarray:
    """All-zero angles: standing straight, arms hanging (a reference, not an infant posture)."""
    return np.zeros(len(ANGLE_NAMES))


@dataclass
class Primitive:
    """One ellipsoid: centre (3,), rotation (3, 3) whose columns are its axes, radii (3,)."""

    center: np.ndarray
    R: np.ndarray
    radii: np.ndarray
    part: int
    material: str  # "skin" or "cloth" candidates; the renderer decides the clothing per part


@dataclass
class Body:
    """A posed body: named 3D joints/keypoints, its primitives and the head frame."""

    keypoints: dict[str, np.ndarray]
    primitives: list[Primitive]
    head_center: np.ndarray
    head_R: np.ndarray
    head_radii: np.ndarray
    scale: float

    def keypoint_array(self, names: tuple[str, ...] | list[str]) -> np.ndarray:
        """(K, 3) world positions of the named keypoints (KeyError for names the body lacks)."""
        return np.stack([self.keypoints[n] for n in names])


def _ellipsoid_surface(radii: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Point where the ray from the centre along ``direction`` meets the ellipsoid surface."""
    d = np.asarray(direction, float)
    d = d / np.linalg.norm(d)
    return d / np.sqrt(np.sum((d / radii) ** 2))


def _segment(a: np.ndarray, b: np.ndarray, R: np.ndarray, r: float, part: str,
             overlap: float = 0.35) -> Primitive:
    """Ellipsoid from joint ``a`` to joint ``b``; R's y column is along the bone."""
    half = np.linalg.norm(b - a) / 2
    return Primitive((a + b) / 2, R, np.array([r, half + overlap * r, r * 0.92]), PART_ID[part],
                     "skin")


# Face feature directions in the head frame (unit-sphere space of the head ellipsoid).
FACE_DIRS = {
    "left_eye": np.array([0.36, 0.10, 0.93]), "right_eye": np.array([-0.36, 0.10, 0.93]),
    "upper_lip": np.array([0.0, -0.40, 0.92]), "lower_lip": np.array([0.0, -0.53, 0.85]),
    "mouth": np.array([0.0, -0.465, 0.885]), "nose": np.array([0.0, -0.13, 1.0]),
    "vertex": np.array([0.0, 1.0, -0.18]),
}


def pose_body(shape: BodyShape, pose: Pose) -> Body:
    """Forward kinematics: joint angles + root placement → keypoints and ellipsoid primitives.

    Angles are clipped to :data:`ANGLE_LIMITS` first, so any sampled or interpolated vector gives
    an anatomically possible body.
    """
    ang = np.clip(np.asarray(pose.angles, float), ANGLE_LIMITS[:, 0], ANGLE_LIMITS[:, 1])

    def A(n: str) -> float:
        return float(ang[_AI[n]])

    s = shape.scale
    sl = s * shape.limb
    ch = shape.chub
    hs = s * shape.head
    R0, t0 = np.asarray(pose.root_R, float), np.asarray(pose.root_t, float)
    kp: dict[str, np.ndarray] = {}
    prims: list[Primitive] = []

    def at(R: np.ndarray, origin: np.ndarray, v) -> np.ndarray:
        return origin + R @ (np.asarray(v, float))

    st = s * shape.torso  # vertical trunk lengths
    # Trunk.
    waist = at(R0, t0, [0, 5.0 * st, 0])
    Rc = R0 @ _rz(A("spine_lat")) @ _rx(A("spine_flex")) @ _ry(A("spine_twist"))
    sw, hw = shape.shoulders, shape.hips
    prims.append(Primitive(at(R0, t0, [0, 2.2 * st, 0.2 * s]), R0,
                           np.array([6.6 * hw, 5.0 * shape.torso, 4.9]) * s * ch,
                           PART_ID["pelvis"], "skin"))
    prims.append(Primitive(at(Rc, waist, [0, 5.2 * st, 0.3 * s]), Rc,
                           np.array([7.0 * sw, 8.0 * shape.torso, 5.4]) * s * ch,
                           PART_ID["trunk"], "skin"))
    neck_base = at(Rc, waist, [0, 11.8 * st, -0.6 * s])
    Rh = Rc @ _rz(A("neck_lat")) @ _rx(A("neck_flex")) @ _ry(A("neck_turn"))
    head_joint = at(Rc, neck_base, [0, 2.0 * s, 0])
    prims.append(Primitive((neck_base + head_joint) / 2 + Rc @ np.array([0, 0.5, 0.4]) * s, Rc,
                           np.array([3.6, 2.6, 3.3]) * s * ch, PART_ID["neck"], "skin"))
    head_radii = np.array([5.5, 6.5, 6.2]) * hs
    head_c = at(Rh, head_joint, np.array([0, 5.0, 1.0]) * hs)
    prims.append(Primitive(head_c, Rh, head_radii, PART_ID["head"], "skin"))
    for name in ("left_eye", "right_eye", "upper_lip", "lower_lip", "vertex"):
        kp[name] = head_c + Rh @ _ellipsoid_surface(head_radii, FACE_DIRS[name] * head_radii)
    nose_base = head_c + Rh @ _ellipsoid_surface(head_radii, FACE_DIRS["nose"] * head_radii)
    nose_r = np.array([0.95, 0.8, 0.75]) * hs
    nose_c = nose_base + Rh @ np.array([0, 0, 0.15 * hs])
    prims.append(Primitive(nose_c, Rh, nose_r, PART_ID["nose"], "skin"))
    kp["nose"] = nose_c + Rh @ np.array([0, 0, nose_r[2]])
    for side, sg in (("left", 1.0), ("right", -1.0)):
        ear = head_c + Rh @ _ellipsoid_surface(head_radii, np.array([sg, -0.02, -0.12]) * head_radii)
        ear_c = ear + Rh @ np.array([0.15 * sg * hs, 0, 0])
        prims.append(Primitive(ear_c, Rh, np.array([0.55, 1.7, 1.15]) * hs,
                               PART_ID[f"{side}_ear"], "skin"))
        kp[f"{side}_ear"] = ear_c

    for side, sg in (("left", 1.0), ("right", -1.0)):
        # Arm.
        sh = at(Rc, waist, [sg * 6.0 * s * sw, 10.6 * st, -0.6 * s])
        Rs = Rc @ _rz(sg * A(f"{side}_shoulder_abd")) @ _rx(-A(f"{side}_shoulder_flex")) \
            @ _ry(sg * A(f"{side}_shoulder_twist"))
        el = at(Rs, sh, [0, -7.6 * sl * shape.upper_arm, 0])
        Re = Rs @ _rx(-A(f"{side}_elbow_flex"))
        wr = at(Re, el, [0, -6.6 * sl * shape.forearm, 0])
        Rw = Re @ _rx(-A(f"{side}_wrist_flex"))
        palm = at(Rw, wr, [0, -2.6 * sl, 0.2 * sl])
        kp[f"{side}_shoulder"], kp[f"{side}_elbow"], kp[f"{side}_wrist"] = sh, el, wr
        kp[f"{side}_palm"] = palm
        prims.append(_segment(sh, el, Rs, 2.45 * s * ch, f"{side}_upper_arm", 0.45))
        prims.append(_segment(el, wr, Re, 2.05 * s * ch, f"{side}_forearm", 0.45))
        prims.append(Primitive(el, Re, np.full(3, 2.1 * s * ch), PART_ID[f"{side}_forearm"],
                               "skin"))
        prims.append(Primitive(at(Rw, wr, [0, -2.5 * sl, 0.1 * sl]), Rw,
                               np.array([1.15, 2.75, 1.9]) * s * ch ** 0.5,
                               PART_ID[f"{side}_hand"], "skin"))
        # Thumb as a small ellipsoid on the anterior side of the hand.
        prims.append(Primitive(at(Rw, wr, [0, -1.9 * sl, 1.7 * sl]), Rw @ _rx(-35),
                               np.array([0.6, 1.2, 0.6]) * s, PART_ID[f"{side}_hand"], "skin"))
        # Leg.
        hip = at(R0, t0, [sg * 3.7 * s * hw, 0, 0])
        Rl = R0 @ _rz(sg * A(f"{side}_hip_abd")) @ _rx(-A(f"{side}_hip_flex")) \
            @ _ry(sg * A(f"{side}_hip_twist"))
        kn = at(Rl, hip, [0, -9.6 * sl * shape.thigh, 0])
        Rk = Rl @ _rx(A(f"{side}_knee_flex"))
        an = at(Rk, kn, [0, -8.6 * sl * shape.shank, 0])
        Ra = Rk @ _rx(-A(f"{side}_ankle_flex"))
        sole = at(Ra, an, [0, -1.7 * sl, 4.6 * sl])
        kp[f"{side}_hip"], kp[f"{side}_knee"], kp[f"{side}_ankle"] = hip, kn, an
        kp[f"{side}_sole"] = sole
        prims.append(_segment(hip, kn, Rl, 3.35 * s * ch, f"{side}_thigh", 0.45))
        prims.append(_segment(kn, an, Rk, 2.5 * s * ch, f"{side}_shank", 0.4))
        prims.append(Primitive(kn, Rk, np.full(3, 2.65 * s * ch), PART_ID[f"{side}_shank"],
                               "skin"))
        prims.append(Primitive(at(Ra, an, [0, -1.3 * sl, 2.3 * sl]), Ra,
                               np.array([1.95, 1.4, 3.9]) * s * ch ** 0.5,
                               PART_ID[f"{side}_foot"], "skin"))
    return Body(keypoints=kp, primitives=prims, head_center=head_c, head_R=Rh,
                head_radii=head_radii, scale=s)


def lowest_point(body: Body, up: np.ndarray | None = None) -> float:
    """Smallest height (along ``up``, default world z) reached by any primitive's surface."""
    u = np.array([0, 0, 1.0]) if up is None else np.asarray(up, float)
    lows = []
    for p in body.primitives:
        ext = np.sqrt(np.sum((p.R.T @ u) ** 2 * p.radii ** 2))
        lows.append(float(p.center @ u) - ext)
    return min(lows)
