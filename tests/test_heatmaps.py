"""Gaussian targets and heatmap decoders (argmax, WA, DARK)."""

import numpy as np
import pytest
import torch

from infantpose.models.heatmaps import (
    decode_argmax,
    decode_dark,
    decode_heatmaps,
    decode_wa,
    gaussian_targets,
)


def _known(n=40, sigma=2.0, size=(64, 48), seed=1):
    rng = np.random.default_rng(seed)
    kp = np.stack([rng.uniform(6, size[1] - 7, n), rng.uniform(6, size[0] - 7, n)], -1)[:, None]
    t, w = gaussian_targets(kp, None, size, sigma)
    return kp, t, w


def test_targets_peak_at_subpixel_centre_and_weights():
    kp = np.array([[[10.3, 20.7], [np.nan, np.nan], [-50.0, 3.0], [5.0, 5.0]]])
    t, w = gaussian_targets(kp, np.array([[1, 1, 1, 0]]), (32, 24), sigma=2.0)
    assert t.shape == (1, 4, 32, 24) and t.dtype == np.float32
    assert w.tolist() == [[1, 0, 0, 0]]  # missing, far outside, and zero-weight keypoints
    assert np.all(t[0, 1:] == 0)
    # integer-pixel neighbours of the sub-pixel centre carry the exact Gaussian values
    assert t[0, 0, 20, 10] == pytest.approx(np.exp(-(0.3**2 + 0.7**2) / 8), rel=1e-6)
    assert np.unravel_index(t[0, 0].argmax(), t[0, 0].shape) == (21, 10)
    tn, _ = gaussian_targets(kp[:, :1], None, (32, 24), sigma=2.0, normalize=True)
    assert tn.sum() == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("sigma", [1.5, 2.0])
def test_wa_and_dark_recover_subpixel_location(sigma):
    kp, t, _ = _known(sigma=sigma)
    for decode in (decode_wa, lambda h: decode_dark(h, sigma=sigma)):
        xy, score = decode(t)
        assert xy.shape == kp.shape and score.shape == kp.shape[:-1]
        assert np.abs(xy - kp).max() < 0.1
    xy, _ = decode_argmax(t)
    assert np.abs(xy - kp).max() <= 0.5 + 1e-9  # argmax+quarter is coarse by design


def test_decoders_robust_to_noise_and_torch_input():
    kp, t, _ = _known(n=10, sigma=2.0)
    rng = np.random.default_rng(0)
    noisy = t + rng.normal(0, 0.01, t.shape)
    for method in ("wa", "dark", "argmax", "weighted-average"):
        xy, _ = decode_heatmaps(torch.from_numpy(noisy), method, sigma=2.0)
        assert np.abs(xy - kp).max() < 0.6


def test_decoders_handle_border_and_flat_maps():
    hm = np.zeros((2, 1, 16, 16))
    hm[0, 0, 0, 0] = 1.0  # peak in the corner
    for method in ("wa", "dark", "argmax"):
        xy, score = decode_heatmaps(hm, method)
        assert np.isfinite(xy).all()
        assert xy[0, 0].tolist() == pytest.approx([0.0, 0.0], abs=0.3)
        assert score[0, 0] == 1.0 and score[1, 0] == 0.0
    with pytest.raises(ValueError):
        decode_heatmaps(hm, "softargmax")
