"""Derive mKS's lambda from the published tables of seed 004 (infant 22-keypoint dataset).

The seed defines mKS = mean exp(-d^2 / (2 S^2 lambda)) but does not print lambda. Its tables give,
for 14 model/loss settings, PCKsh at beta = 0.02 ... 0.1 *and* mKS. The PCKsh values are points of
the cumulative distribution of the normalised error d/S, so for any lambda we can predict mKS:
inside each beta bin the error is spread uniformly in d^2 (2-D errors), and the errors beyond
0.1 S (gross mistakes) sit at ``tail`` S. Solving predicted mKS = published mKS per row gives one
lambda per row; this script prints them as a markdown table.

Run: ``.venv/bin/python benchmarks/mks_lambda_fit.py``
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

# (PCK@0.1, @0.08, @0.06, @0.04, @0.02, mKS), first value of each cell, seed 004 tables
ROWS = {
    "SimpleBaseline MSE": (0.893, 0.850, 0.770, 0.591, 0.214, 0.822),
    "SimpleBaseline BCE": (0.919, 0.881, 0.804, 0.628, 0.230, 0.848),
    "SimpleBaseline KCE": (0.937, 0.903, 0.841, 0.708, 0.416, 0.879),
    "Hourglass MSE": (0.804, 0.750, 0.667, 0.527, 0.280, 0.752),
    "Hourglass BCE": (0.836, 0.791, 0.716, 0.555, 0.216, 0.776),
    "Hourglass KCE": (0.837, 0.790, 0.713, 0.560, 0.317, 0.784),
    "ResUnet MSE": (0.889, 0.855, 0.788, 0.635, 0.274, 0.829),
    "ResUnet BCE": (0.912, 0.880, 0.817, 0.658, 0.277, 0.851),
    "ResUnet KCE": (0.929, 0.898, 0.837, 0.709, 0.427, 0.874),
    "face vis/vis pres.": (0.919, 0.877, 0.799, 0.636, 0.308, 0.851),
    "face vis/vis omit.": (0.921, 0.877, 0.798, 0.627, 0.292, 0.848),
    "face vis/occ omit.": (0.911, 0.866, 0.783, 0.611, 0.283, 0.841),
    "face occ/vis omit.": (0.911, 0.869, 0.785, 0.616, 0.289, 0.841),
    "face occ/occ omit.": (0.917, 0.875, 0.796, 0.630, 0.301, 0.849),
}
EDGES = np.array([0.0, 0.02, 0.04, 0.06, 0.08, 0.1])


def predicted_mks(lam: float, pck_desc: tuple[float, ...], tail: float) -> float:
    cdf = np.concatenate([[0.0], np.asarray(pck_desc[::-1])])  # at EDGES
    total = 0.0
    for i in range(5):
        d2 = np.linspace(EDGES[i] ** 2, EDGES[i + 1] ** 2, 401)
        total += (cdf[i + 1] - cdf[i]) * float(np.mean(np.exp(-d2 / (2 * lam))))
    return total + (1 - cdf[-1]) * float(np.exp(-tail ** 2 / (2 * lam)))


def main() -> None:
    tails = (0.15, 0.3, 1.0)
    fits = {t: [] for t in tails}
    print("| setting | published mKS | " + " | ".join(f"lambda (tail {t} S)" for t in tails) + " |")
    print("|---|---|" + "---|" * len(tails))
    for name, row in ROWS.items():
        lams = []
        for t in tails:
            lam = brentq(lambda x, r=row, t=t: predicted_mks(x, r[:5], t) - r[5], 1e-6, 1.0)
            fits[t].append(lam)
            lams.append(lam)
        print(f"| {name} | {row[5]:.3f} | " + " | ".join(f"{x:.4f}" for x in lams) + " |")
    print("| **median** | | " + " | ".join(f"**{np.median(fits[t]):.4f}**" for t in tails) + " |")


if __name__ == "__main__":
    main()
