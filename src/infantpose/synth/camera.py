"""A pinhole camera looking at the infant (phone held above the cot, NICU camera on a stand)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Camera", "look_at"]


@dataclass
class Camera:
    """World→camera rotation ``R`` (rows: image right, image down, forward), centre ``C``,
    focal length ``f`` in pixels, principal point ``(cx, cy)``, image ``width`` × ``height``."""

    R: np.ndarray
    C: np.ndarray
    f: float
    cx: float
    cy: float
    width: int
    height: int

    def to_camera(self, pts: np.ndarray) -> np.ndarray:
        """World points (..., 3) → camera coordinates (..., 3); z is the depth."""
        return (np.asarray(pts, float) - self.C) @ self.R.T

    def project(self, pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points (..., 3) → pixel coordinates (..., 2) and depths (...)."""
        pc = self.to_camera(pts)
        z = pc[..., 2]
        uv = np.stack([self.f * pc[..., 0] / z + self.cx, self.f * pc[..., 1] / z + self.cy], -1)
        return uv, z


def look_at(target: np.ndarray, elevation_deg: float, azimuth_deg: float, distance: float,
            roll_deg: float, hfov_deg: float, width: int, height: int) -> Camera:
    """Camera at ``distance`` from ``target``, ``elevation`` above the mattress plane (90° =
    straight down), rotated by ``roll`` about its viewing axis."""
    el, az = np.deg2rad(elevation_deg), np.deg2rad(azimuth_deg)
    C = np.asarray(target, float) + distance * np.array(
        [np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)])
    fwd = np.asarray(target, float) - C
    fwd /= np.linalg.norm(fwd)
    up = np.array([0, 0, 1.0])
    if abs(fwd @ up) > 0.98:  # looking straight down: "up" in the image is the azimuth direction
        up = -np.array([np.cos(az), np.sin(az), 0.0])
    right = np.cross(fwd, up)
    right /= np.linalg.norm(right)
    down = np.cross(fwd, right)
    r = np.deg2rad(roll_deg)
    right, down = np.cos(r) * right + np.sin(r) * down, -np.sin(r) * right + np.cos(r) * down
    R = np.stack([right, down, fwd])
    f = (width / 2) / np.tan(np.deg2rad(hfov_deg) / 2)
    return Camera(R=R, C=C, f=float(f), cx=width / 2, cy=height / 2, width=width, height=height)
