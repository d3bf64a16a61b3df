"""MoveNet's codec: its four output heads decoded as the graph decodes them, and labelled
keypoints encoded as the heatmaps, offsets and regressions the heads are taught, in the pretrained
network's own conventions (see :mod:`infantpose.train.movenet`).

The fourth codec beside :mod:`infantpose.models.codecs`' heatmap, SimCC and regression codecs
(CenterNet-style: a person-centre heatmap, keypoint heatmaps, regression from the centre and
sub-cell offsets; Zhou et al. 2019, "Objects as Points"), kept in models/ for the same reason:
training encodes with the codec whose decoding inference uses. (It lived in ``train/``;
``infantpose.train.movenet_codec`` and ``train/movenet.py`` re-export these names.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from infantpose.models.movenet_graph import STRIDE

__all__ = ["CENTRE_BIAS", "MoveNetCodec", "collate", "decode_heads", "make_targets",
           "person_centre", "targets_to_heads"]


#: MoveNet's in-graph distance offset (``add_5/y``, 1.8 stored as fp16): weights are
#: ``1 / (distance in cells + 1.8)`` for the centre pick and for each keypoint's heatmap.
CENTRE_BIAS = 1.7998046875
K = 17


# --- decoding (the graph's own logic, on torch tensors) ----------------------------------------

def _grid(s: int, device: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
    yy, xx = torch.meshgrid(torch.arange(s, dtype=torch.float32, device=device),
                            torch.arange(s, dtype=torch.float32, device=device), indexing="ij")
    return yy, xx


def decode_heads(heads: dict[str, torch.Tensor], probabilities: bool = False) -> torch.Tensor:
    """(B, 17, 3) keypoints (y, x, score), normalised to the input, from the four heads
    ((B, C, S, S) logits, as :func:`~infantpose.models.movenet.movenet_heads` gives them),
    exactly as MoveNet's graph decodes them (module docstring). ``probabilities``: the two
    heatmaps are already sigmoids (e.g. targets)."""
    centre, heat = heads["centre"][:, 0], heads["heatmaps"]
    if not probabilities:
        centre, heat = torch.sigmoid(centre), torch.sigmoid(heat)
    b, k, s, _ = heat.shape
    yy, xx = _grid(s, heat.device)
    cw = 1.0 / (torch.sqrt((yy - s // 2) ** 2 + (xx - s // 2) ** 2) + CENTRE_BIAS)
    ci = (centre * cw).reshape(b, -1).argmax(-1)
    cy, cx = ci // s, ci % s
    ar = torch.arange(b, device=heat.device)
    reg = heads["regression"][ar, :, cy, cx].reshape(b, k, 2)
    ry = cy[:, None].float() + reg[..., 0]
    rx = cx[:, None].float() + reg[..., 1]
    d = torch.sqrt((yy - ry[..., None, None]) ** 2 + (xx - rx[..., None, None]) ** 2)
    ki = (heat / (d + CENTRE_BIAS)).reshape(b, k, -1).argmax(-1)
    ky, kx = ki // s, ki % s
    off = heads["offsets"].reshape(b, k, 2, s, s)
    kk = torch.arange(k, device=heat.device)
    oy = off[ar[:, None], kk[None], 0, ky, kx]
    ox = off[ar[:, None], kk[None], 1, ky, kx]
    score = heat[ar[:, None], kk[None], ky, kx]
    return torch.stack([(ky.float() + oy) / s, (kx.float() + ox) / s, score], -1)


# --- targets -----------------------------------------------------------------------------------

def person_centre(xy: np.ndarray, labelled: np.ndarray) -> np.ndarray:
    """The person's centre (x, y) in input pixels: the mean of its labelled keypoints (where
    the pretrained MoveNet puts it; module docstring)."""
    return xy[labelled].mean(0)


def _gaussian(s: int, cy: float, cx: float, sigma: float) -> np.ndarray:
    yy, xx = np.mgrid[:s, :s].astype(np.float32)
    g = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2.0 * sigma ** 2)).astype(np.float32)
    g[int(cy), int(cx)] = 1.0  # the peak cell is exactly 1 (the focal loss's positive)
    return g


def _window(s: int, cy: int, cx: int, r: int) -> tuple[slice, slice]:
    return slice(max(0, cy - r), min(s, cy + r + 1)), slice(max(0, cx - r), min(s, cx + r + 1))


def make_targets(xy: np.ndarray, labelled: np.ndarray, input_size: int, sigma: float = 1.5,
                 centre_sigma: float = 2.0, offset_window: int = 1, regression_window: int = 2
                 ) -> dict[str, np.ndarray]:
    """Training targets of the four heads for one person in one crop (dense (C, S, S) maps).

    Args:
        xy: (17, 2) keypoints (x, y) in continuous input pixels (NaN where not labelled).
        labelled: (17,) bool.
        input_size: N (the grid is S = N / 4 cells).
        sigma, centre_sigma: Gaussian widths in cells.
        offset_window, regression_window: offsets are taught on the (2r+1)² cells around each
            keypoint's peak cell and the regression on those around the centre cell (each cell
            its own displacement), not on the peak alone as in CenterNet: the decoding's
            distance weighting can pick a neighbour of the peak, and then reads the right value.

    Returns: ``heatmaps`` (17, S, S) and ``heat_mask`` (17,) (1: labelled and inside the grid,
    the only channels taught), ``centre`` (1, S, S) and ``centre_ok`` () (a labelled keypoint
    exists), ``offsets`` (34, S, S) (dy, dx per keypoint) and ``offset_mask`` (17, S, S),
    ``regression`` (34, S, S) and ``regression_mask`` (17, S, S).
    """
    s = input_size // STRIDE
    lab = np.asarray(labelled, bool) & np.isfinite(xy).all(-1)
    u = np.where(lab[:, None], np.nan_to_num(xy)[:, ::-1] / STRIDE, 0.0)  # (y, x) in cells
    cell = np.floor(u).astype(np.int64)
    inside = lab & (cell >= 0).all(-1) & (cell < s).all(-1)
    yy, xx = np.mgrid[:s, :s].astype(np.float32)
    out = {"heatmaps": np.zeros((K, s, s), np.float32), "heat_mask": inside.astype(np.float32),
           "centre": np.zeros((1, s, s), np.float32), "centre_ok": np.float32(lab.any()),
           "offsets": np.zeros((2 * K, s, s), np.float32),
           "offset_mask": np.zeros((K, s, s), np.float32),
           "regression": np.zeros((2 * K, s, s), np.float32),
           "regression_mask": np.zeros((K, s, s), np.float32)}
    for k in np.flatnonzero(inside):
        out["heatmaps"][k] = _gaussian(s, cell[k, 0], cell[k, 1], sigma)
        wy, wx = _window(s, cell[k, 0], cell[k, 1], offset_window)
        out["offsets"][2 * k, wy, wx] = u[k, 0] - yy[wy, wx]
        out["offsets"][2 * k + 1, wy, wx] = u[k, 1] - xx[wy, wx]
        out["offset_mask"][k, wy, wx] = 1.0
    if lab.any():
        c = person_centre(xy, lab)[::-1] / STRIDE  # (y, x) cells
        cc = np.clip(np.floor(c).astype(np.int64), 0, s - 1)
        out["centre"][0] = _gaussian(s, cc[0], cc[1], centre_sigma)
        wy, wx = _window(s, cc[0], cc[1], regression_window)
        for k in np.flatnonzero(lab):
            out["regression"][2 * k, wy, wx] = u[k, 0] - yy[wy, wx]
            out["regression"][2 * k + 1, wy, wx] = u[k, 1] - xx[wy, wx]
            out["regression_mask"][k, wy, wx] = 1.0
    return out


def targets_to_heads(t: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """The target maps as a batch of one set of heads (sigmoid heatmaps), which
    :func:`decode_heads` (``probabilities=True``) reads back into the labels (round trip)."""
    return {k: torch.from_numpy(np.ascontiguousarray(t[k]))[None]
            for k in ("centre", "heatmaps", "offsets", "regression")}


def collate(targets: Sequence[dict[str, np.ndarray]]) -> dict[str, torch.Tensor]:
    return {k: torch.from_numpy(np.stack([t[k] for t in targets])) for k in targets[0]}


@dataclass(frozen=True)
class MoveNetCodec:
    """One MoveNet codec: ``encode`` a person's labelled keypoints (input pixels) as the targets
    of the four heads, ``decode`` the heads (a batch of logits) into keypoints; the same
    conventions both ways, as :class:`~infantpose.models.codecs.HeatmapCodec` is for heatmap
    networks."""

    input_size: int = 256
    sigma: float = 1.5
    centre_sigma: float = 2.0

    def encode(self, xy: np.ndarray, labelled: np.ndarray) -> dict[str, np.ndarray]:
        """:func:`make_targets` with this codec's sizes."""
        return make_targets(xy, labelled, self.input_size, self.sigma, self.centre_sigma)

    def decode(self, heads: dict[str, torch.Tensor], probabilities: bool = False
               ) -> torch.Tensor:
        """(B, 17, 3) keypoints (y, x, score) normalised to the input: :func:`decode_heads`."""
        return decode_heads(heads, probabilities)
