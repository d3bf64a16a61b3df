"""How jittery a trajectory is, before and after filtering: mean acceleration, power above a
cut-off frequency, a before/after table, and the lag a filter adds (in frames).

Split out of ``video/filters.py`` (which re-exports these names); behaviour unchanged.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from infantpose.gaps import true_runs
from infantpose.video.frame_grid import _flat, _valid, on_frame_grid

__all__ = ["high_frequency_power", "jitter_table", "lag_frames", "mean_abs_acceleration"]


# --- jitter metrics ------------------------------------------------------------------------------
def mean_abs_acceleration(data: np.ndarray, fps: float, frame_indices: Any = None
                          ) -> np.ndarray:
    """Mean magnitude of the second difference per trajectory, in pixels / s².

    Jitter shows as frame-to-frame acceleration; a smooth trajectory of real movement has little.
    Only triples of consecutive valid frames count (consecutive video frames when
    ``frame_indices`` gives the frame number of each row). Returns shape ``data.shape[1:-1]``
    (NaN where no triple exists).
    """
    if frame_indices is not None:
        data = on_frame_grid(data, frame_indices, max_step=2)[0]
    arr, shape = _flat(data)
    xy = arr[..., :2]
    acc = np.linalg.norm(xy[2:] - 2 * xy[1:-1] + xy[:-2], axis=-1) * fps ** 2
    out = np.full(arr.shape[1], np.nan)
    for m in range(arr.shape[1]):
        a = acc[:, m][np.isfinite(acc[:, m])]
        if a.size:
            out[m] = a.mean()
    return out.reshape(shape[1:-1])


def high_frequency_power(data: np.ndarray, fps: float, cutoff_hz: float = 6.0,
                         min_run: int = 16, frame_indices: Any = None) -> np.ndarray:
    """Mean power (pixels²) of the trajectory above ``cutoff_hz``, per trajectory.

    Each valid run of at least ``min_run`` frames gets a Welch power spectrum (Hann window,
    linear detrend, ``scipy.signal.welch``) of x and y; the spectral density above the cutoff is
    integrated and pooled over runs, weighted by run length. Infant limb movement lives mostly
    below ~5 Hz, so power above a few hertz is largely estimation jitter. With ``frame_indices``
    (frame number of each row) a skipped frame ends a run.
    """
    # imported here: scipy.signal loads only when jitter is measured
    from scipy.signal import welch

    if frame_indices is not None:
        data = on_frame_grid(data, frame_indices, max_step=2)[0]
    arr, shape = _flat(data)
    valid = _valid(arr)
    out = np.full(arr.shape[1], np.nan)
    for m in range(arr.shape[1]):
        total, count = 0.0, 0
        for start, stop in true_runs(valid[:, m]):
            n = stop - start
            if n < min_run:
                continue
            freqs, psd = welch(arr[start:stop, m, :2], fs=fps, nperseg=min(n, 64),
                               detrend="linear", axis=0)
            hf = freqs > cutoff_hz
            df = freqs[1] - freqs[0]
            total += float(psd[hf].sum()) * df * n
            count += n
        if count:
            out[m] = total / count
    return out.reshape(shape[1:-1])


def jitter_table(before: np.ndarray, after: np.ndarray, fps: float, names: list[str] | None = None,
                 cutoff_hz: float = 6.0, frame_indices: Any = None):
    """Per-trajectory jitter before and after filtering as a pandas DataFrame.

    ``before`` and ``after`` are (T, K, 3) (one instance); ``frame_indices`` their frame numbers
    (None: consecutive). Columns: keypoint, acc_before, acc_after (px/s²), hf_before, hf_after
    (px²), and the ratios after/before.
    """
    # imported here: pandas (about 1 s) loads only when the table is built
    import pandas as pd

    fi = frame_indices
    acc_b = mean_abs_acceleration(before, fps, frame_indices=fi)
    acc_a = mean_abs_acceleration(after, fps, frame_indices=fi)
    hf_b = high_frequency_power(before, fps, cutoff_hz, frame_indices=fi)
    hf_a = high_frequency_power(after, fps, cutoff_hz, frame_indices=fi)
    k = acc_b.reshape(-1).size
    names = names or [str(i) for i in range(k)]
    with np.errstate(all="ignore"):
        return pd.DataFrame({
            "keypoint": names,
            "acc_before": acc_b.reshape(-1), "acc_after": acc_a.reshape(-1),
            "acc_ratio": (acc_a / acc_b).reshape(-1),
            "hf_before": hf_b.reshape(-1), "hf_after": hf_a.reshape(-1),
            "hf_ratio": (hf_a / hf_b).reshape(-1),
        })


def lag_frames(reference: np.ndarray, signal: np.ndarray, max_lag: int = 15) -> int:
    """The shift (frames) that best aligns ``signal`` with ``reference`` (positive: it lags).

    Both are 1-D and NaN-free. Found by maximising the correlation of the mean-removed series over
    shifts in ``[-max_lag, max_lag]``; used to check that a filter does not delay movement.
    """
    r = np.asarray(reference, float) - np.mean(reference)
    s = np.asarray(signal, float) - np.mean(signal)
    best, best_c = 0, -np.inf
    n = len(r)
    for lag in range(-max_lag, max_lag + 1):
        if lag >= 0:
            c = float(np.dot(r[:n - lag], s[lag:])) / max(n - lag, 1)
        else:
            c = float(np.dot(r[-lag:], s[:n + lag])) / max(n + lag, 1)
        if c > best_c:
            best, best_c = lag, c
    return best
