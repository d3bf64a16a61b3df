"""Agreement between two measurements of the same recordings: the intraclass correlation.

Used to ask whether pose quality is good enough for an analysis: compute features once from
reference trajectories (labels, or a better model) and once from the model you plan to use, then
look at the per-feature ICC. Conventional reading (Koo & Li 2016): < 0.5 poor, 0.5-0.75 moderate,
0.75-0.9 good, > 0.9 excellent.
"""

from __future__ import annotations

import numpy as np

__all__ = ["icc_a1", "icc_table"]


def icc_a1(ratings: np.ndarray) -> float:
    """ICC(A,1) of an (n subjects, k raters) array: two-way random effects, absolute agreement,
    single measurement (McGraw & Wong 1996; Shrout & Fleiss ICC(2,1)).

    Subjects with any non-finite rating are dropped; NaN with fewer than 3 subjects or no
    variance at all.
    """
    y = np.asarray(ratings, float)
    y = y[np.isfinite(y).all(axis=1)]
    n, k = y.shape
    if n < 3 or k < 2:
        return float("nan")
    m = y.mean()
    r = y.mean(axis=1)
    c = y.mean(axis=0)
    msr = k * ((r - m) ** 2).sum() / (n - 1)
    msc = n * ((c - m) ** 2).sum() / (k - 1)
    mse = ((y - r[:, None] - c[None, :] + m) ** 2).sum() / ((n - 1) * (k - 1))
    den = msr + (k - 1) * mse + k * (msc - mse) / n
    if den <= 0:
        return float("nan")
    return float((msr - mse) / den)


def icc_table(reference, test, columns: list[str]) -> dict[str, float]:
    """ICC(A,1) per column between two tables aligned row by row (same recordings, same order)."""
    return {c: icc_a1(np.column_stack([np.asarray(reference[c], float),
                                       np.asarray(test[c], float)])) for c in columns}
