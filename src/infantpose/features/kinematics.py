"""Derivatives and summary statistics of limb-end trajectories (seed ``000_``, Chambers et al. 2020).

For each wrist and ankle, in body coordinates (trunk lengths, see :mod:`.normalise`), the features
of Chambers et al. (2020) as used by seed ``000_``: median and interquartile range (IQR) of x and
y position, median absolute velocity and IQR of velocity per axis, IQR of acceleration per axis,
and the entropy of position. Velocities are trunk lengths per second, computed against the
video's own clock, so the same movement filmed at 25 or 50 fps gives the same numbers.
"""

from __future__ import annotations

import numpy as np

__all__ = ["derivative", "entropy", "iqr", "median_abs", "position_features", "second_derivative"]


def derivative(x: np.ndarray, dt: float) -> np.ndarray:
    """d/dt along axis 0 of samples every ``dt`` seconds: central differences, one-sided at the
    ends; a NaN neighbour gives NaN (no derivative across a gap)."""
    x = np.asarray(x, float)
    if x.shape[0] < 2:
        return np.full_like(x, np.nan)
    return np.gradient(x, float(dt), axis=0)


def second_derivative(x: np.ndarray, dt: float) -> np.ndarray:
    """d2/dt2 along axis 0 by the 3-point second difference (x[t+1] - 2 x[t] + x[t-1]) / dt^2.

    Twice the central first difference would span 5 samples and damp a 1 Hz movement at 25 fps
    by 6 %; the 3-point form damps it by 1.6 %, so accelerations agree across frame rates. The end
    samples copy their neighbours; a NaN neighbour gives NaN.
    """
    x = np.asarray(x, float)
    out = np.full_like(x, np.nan)
    if x.shape[0] < 3:
        return out
    out[1:-1] = (x[2:] - 2 * x[1:-1] + x[:-2]) / (float(dt) ** 2)
    out[0], out[-1] = out[1], out[-2]
    return out


def iqr(x: np.ndarray) -> float:
    """Interquartile range of the finite values (NaN if none)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if x.size == 0:
        return float("nan")
    q75, q25 = np.percentile(x, [75, 25])
    return float(q75 - q25)


def median_abs(x: np.ndarray) -> float:
    """Median of |x| over the finite values (NaN if none)."""
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    return float(np.median(np.abs(x))) if x.size else float("nan")


def entropy(x: np.ndarray, bin_width: float) -> float:
    """Shannon entropy (nats) of the values binned at ``bin_width``, Miller-Madow corrected.

    Seed ``000_`` rounds positions to 0.01 and angles to 1 degree and takes the plug-in entropy of
    the rounded values; the plug-in estimate grows with the number of frames, so the
    (m - 1) / 2n correction (m occupied bins, n samples) is added to make clips of different
    lengths comparable. Values within 1e-6 bin widths of a bin edge count as on the edge, so
    floating-point noise (e.g. from rotating the image) cannot move a sample between bins.
    """
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return float("nan")
    _, counts = np.unique(np.floor(np.round(x / bin_width, 6)).astype(np.int64), return_counts=True)
    p = counts / n
    return float(-(p * np.log(p)).sum() + (len(counts) - 1) / (2 * n))


def position_features(pos: np.ndarray, vel: np.ndarray, acc: np.ndarray, prefix: str,
                      bin_width: float = 0.02) -> dict[str, float]:
    """Features of one limb end from (T, 2) position, velocity and acceleration (body coords).

    Names: ``{prefix}_{x|y}_median``, ``_iqr``, ``{prefix}_v{x|y}_median_abs``, ``_iqr``,
    ``{prefix}_a{x|y}_iqr`` and ``{prefix}_entropy`` (mean of the x and y entropies, like the
    seed's ``meanent``).
    """
    out: dict[str, float] = {}
    for a, axis in enumerate("xy"):
        p, v, ac = pos[:, a], vel[:, a], acc[:, a]
        finite = p[np.isfinite(p)]
        out[f"{prefix}_{axis}_median"] = float(np.median(finite)) if finite.size else float("nan")
        out[f"{prefix}_{axis}_iqr"] = iqr(p)
        out[f"{prefix}_v{axis}_median_abs"] = median_abs(v)
        out[f"{prefix}_v{axis}_iqr"] = iqr(v)
        out[f"{prefix}_a{axis}_iqr"] = iqr(ac)
    ents = [entropy(pos[:, a], bin_width) for a in range(2)]
    out[f"{prefix}_entropy"] = float(np.mean(ents))
    return out
