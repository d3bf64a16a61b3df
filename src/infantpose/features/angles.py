"""Joint angles, circular statistics and left-right coordination (seed ``000_``, Chambers et al. 2020).

Angles follow the definitions of Chambers et al. (2020) as used by seed ``000_``:

* elbow: at the elbow between shoulder and wrist; knee: at the knee between hip and ankle. Unsigned,
  0-180 degrees (flexion/extension only).
* shoulder: at the shoulder between the shoulder centre (the seed's "neck") and the elbow;
  hip: at the hip between the other hip and the knee. Signed and mapped to 0-360 degrees, with the
  left side's sign flipped so mirror-image postures give equal angles.

Features per angle: circular mean and circular standard deviation, both in degrees (the seed's
"standard deviation" was the square root of the circular variance converted to degrees, which mixes
units; here sd = sqrt(-2 ln R) in degrees), entropy of the angle in 1-degree bins, median absolute
angular velocity, IQR of angular velocity and of angular acceleration (degrees/s, degrees/s^2).
"""

from __future__ import annotations

import numpy as np

from infantpose.features.kinematics import entropy, iqr, median_abs

__all__ = ["angle_features", "angular_acceleration", "angular_velocity", "circular_mean", "circular_sd", "joint_angle",
           "lr_correlation"]


def joint_angle(a: np.ndarray, vertex: np.ndarray, b: np.ndarray, signed: bool = False) -> np.ndarray:
    """Angle (degrees) at ``vertex`` from ray vertex->a to ray vertex->b, for (T, 2) points.

    Unsigned: 0..180. Signed: counter-clockwise in the x-right/y-up body frame, mapped to 0..360.
    """
    u = np.asarray(a, float) - vertex
    v = np.asarray(b, float) - vertex
    dot = u[:, 0] * v[:, 0] + u[:, 1] * v[:, 1]
    det = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    ang = np.degrees(np.arctan2(det, dot))
    if not signed:
        return np.abs(ang)
    return np.mod(ang, 360.0)


def _resultant(deg: np.ndarray) -> tuple[float, float, float]:
    r = np.radians(np.asarray(deg, float))
    r = r[np.isfinite(r)]
    if r.size == 0:
        return float("nan"), float("nan"), 0
    return float(np.mean(np.cos(r))), float(np.mean(np.sin(r))), r.size


def circular_mean(deg: np.ndarray) -> float:
    """Circular mean in degrees, 0..360 (NaN if no finite values)."""
    c, s, n = _resultant(deg)
    if n == 0:
        return float("nan")
    return float(np.mod(np.degrees(np.arctan2(s, c)), 360.0))


def circular_sd(deg: np.ndarray) -> float:
    """Circular standard deviation sqrt(-2 ln R) in degrees (R: mean resultant length)."""
    c, s, n = _resultant(deg)
    if n == 0:
        return float("nan")
    r = min(1.0, float(np.hypot(c, s)))
    return float(np.degrees(np.sqrt(-2.0 * np.log(r)))) if r > 0 else float("inf")


def angular_velocity(deg: np.ndarray, dt: float) -> np.ndarray:
    """Angular velocity (degrees/s) by central differences of the shortest angular displacement
    (wrap-safe at 0/360); one-sided at the ends; NaN next to gaps."""
    a = np.asarray(deg, float)
    out = np.full_like(a, np.nan)
    if a.size < 2:
        return out

    def wrap(d: np.ndarray) -> np.ndarray:
        return (d + 180.0) % 360.0 - 180.0

    out[1:-1] = wrap(a[2:] - a[:-2]) / (2 * dt)
    out[0] = wrap(a[1] - a[0]) / dt
    out[-1] = wrap(a[-1] - a[-2]) / dt
    return out


def angular_acceleration(deg: np.ndarray, dt: float) -> np.ndarray:
    """Angular acceleration (degrees/s^2) by the 3-point second difference of wrapped
    displacements; ends copy their neighbours; NaN next to gaps."""
    a = np.asarray(deg, float)
    out = np.full_like(a, np.nan)
    if a.size < 3:
        return out
    d = (np.diff(a) + 180.0) % 360.0 - 180.0
    out[1:-1] = (d[1:] - d[:-1]) / (dt * dt)
    out[0], out[-1] = out[1], out[-2]
    return out


def angle_features(deg: np.ndarray, dt: float, prefix: str,
                   vel: np.ndarray | None = None, acc: np.ndarray | None = None) -> dict[str, float]:
    """The six angle features of one joint from its (T,) angle series in degrees.

    ``vel``/``acc`` may be passed when computed on a longer series (windows); else derived here.
    """
    if vel is None:
        vel = angular_velocity(deg, dt)
    if acc is None:
        acc = angular_acceleration(deg, dt)
    return {
        f"{prefix}_mean": circular_mean(deg),
        f"{prefix}_sd": circular_sd(deg),
        f"{prefix}_entropy": entropy(deg, 1.0),
        f"{prefix}_vel_median_abs": median_abs(vel),
        f"{prefix}_vel_iqr": iqr(vel),
        f"{prefix}_acc_iqr": iqr(acc),
    }


def lr_correlation(left: np.ndarray, right: np.ndarray) -> float:
    """Pearson correlation of two (T,) series over the samples where both are finite.

    NaN with fewer than 3 joint samples or a constant series.
    """
    a, b = np.asarray(left, float), np.asarray(right, float)
    ok = np.isfinite(a) & np.isfinite(b)
    if ok.sum() < 3:
        return float("nan")
    a, b = a[ok] - a[ok].mean(), b[ok] - b[ok].mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    if den <= 1e-12 * max(1.0, float(np.abs(a).max() * np.abs(b).max())) * len(a):
        return float("nan")
    return float((a * b).sum() / den)
