"""Each codec's encode -> decode returns the keypoints to within a fraction of a pixel."""

from __future__ import annotations

import numpy as np
import pytest

from infantpose.models.codecs import HeatmapCodec, RegressionCodec, SimCCCodec
from infantpose.models.heatmaps import gaussian_targets, input_to_heatmap


def _keypoints(n=17, size=(192, 256), seed=0):
    rng = np.random.default_rng(seed)
    # well inside the crop, so that no Gaussian is cut by its edge
    return np.stack([rng.uniform(16, size[0] - 16, n), rng.uniform(16, size[1] - 16, n)], -1)


# (median, largest) error in crop pixels (4 per heatmap pixel); measured 1e-5 / 0.64 (dark,
# whose blur shifts a peak near a heatmap pixel's edge), 0.015 / 0.041 (wa), 0.77 / 0.995
# (argmax: a quarter heatmap pixel's step)
@pytest.mark.parametrize("decoder,median,largest", [("dark", 0.01, 1.0), ("wa", 0.03, 0.1),
                                                    ("argmax", 1.0, 1.0)])
def test_heatmap_round_trip(decoder, median, largest):
    codec = HeatmapCodec((192, 256), stride=4, sigma=2.0, decoder=decoder)
    xy = _keypoints()
    maps, w = codec.encode(xy, np.ones(17))
    assert maps.shape == (17, 64, 48) and codec.heatmap_size == (64, 48) and (w == 1).all()
    back, score = codec.decode(maps[None].astype(np.float64))
    err = np.abs(back[0] - xy).max(-1)
    assert np.median(err) < median and err.max() < largest
    assert (score > 0.75).all() and (score <= 1).all()


def test_heatmap_codec_is_what_training_targets_were():
    codec = HeatmapCodec((192, 256), stride=4, sigma=2.0)
    xy = _keypoints()
    xy[3] = np.nan
    w = np.ones(17)
    t, tw = codec.encode(xy, w)
    t0, w0 = gaussian_targets(input_to_heatmap(xy, 4), w, (64, 48), 2.0)
    np.testing.assert_array_equal(t, t0)
    np.testing.assert_array_equal(tw, w0)
    assert tw[3] == 0 and not t[3].any()


def test_heatmap_softmax_score_and_mmpose_centres():
    codec = HeatmapCodec((64, 64), stride=4, sigma=1.5, decoder="dark", activation="softmax",
                         normalize=True)
    xy = np.array([[20.3, 40.7]])
    maps, _ = codec.encode(xy, None)
    assert maps.sum() == pytest.approx(1.0, abs=1e-5)  # a unit-mass map (the KCE target)
    back, score = codec.decode(maps[None].astype(np.float64))
    np.testing.assert_allclose(back[0], xy, atol=0.05)
    assert 0.85 < score[0, 0] <= 1.0  # about the peak of a unit-mass Gaussian, sampled
    mm = HeatmapCodec((64, 64), stride=None, sigma=1.5, pixel_centers="integer")
    maps, _ = HeatmapCodec((64, 64), stride=4, sigma=1.5, pixel_centers="integer").encode(xy)
    np.testing.assert_allclose(mm.decode(maps[None].astype(np.float64))[0][0], xy, atol=0.05)
    with pytest.raises(ValueError):
        HeatmapCodec((64, 64), pixel_centers="corner")


@pytest.mark.parametrize("centres", ["half", "integer"])
def test_simcc_round_trip(centres):
    codec = SimCCCodec((192, 256), split_ratio=2.0, sigma=4.0, pixel_centers=centres)
    xy = _keypoints()
    (tx, ty), w = codec.encode(xy, np.ones(17))
    assert tx.shape == (17, 384) and ty.shape == (17, 512) and (w == 1).all()
    back, score = codec.decode((tx[None], ty[None]))
    assert np.abs(back[0] - xy).max() <= 0.25 + 1e-9  # half a bin of 0.5 px
    assert (score > 0.9).all()
    # the split ratio told by the outputs, as for an ONNX model without a sidecar value
    told = SimCCCodec((192, 256), split_ratio=None, pixel_centers=centres)
    np.testing.assert_allclose(told.decode((tx[None], ty[None]))[0], back)


def test_simcc_missing_and_outside_keypoints_get_no_weight():
    codec = SimCCCodec((64, 64), split_ratio=2.0)
    xy = np.array([[10.0, 10.0], [np.nan, np.nan], [80.0, 10.0]])
    (tx, ty), w = codec.encode(xy, np.array([1.0, 1.0, 1.0]))
    assert list(w) == [1.0, 0.0, 0.0] and not tx[1:].any() and not ty[1:].any()


def test_regression_round_trip_and_reach():
    codec = RegressionCodec((256, 256))
    xy = np.array([[10.5, 200.25], [300.0, 100.0], [np.nan, np.nan], [600.0, 10.0]])
    t, w = codec.encode(xy, np.array([1.0, 0.5, 1.0, 1.0]))
    assert list(w) == [1.0, 0.5, 0.0, 0.0]  # 600 px is beyond one crop from the centre
    assert t.dtype == np.float32 and (t[2:] == 0).all()
    out = np.concatenate([t, np.full((4, 1), 0.7)], -1)
    back, score = codec.decode(out[None])
    np.testing.assert_allclose(back[0, :2], xy[:2])
    np.testing.assert_allclose(score, 0.7)


@pytest.mark.parametrize("kind", ["heatmap", "simcc", "regression"])
@pytest.mark.parametrize("one_pass", [True, False])
def test_crop_keypoints_flip_test_mirrors_back(kind, one_pass):
    """A runner that reads a bright dot in each crop: with the flip test the mirrored crop's
    answer comes back to the same place, whatever the codec, in one batch or two calls."""
    from infantpose.models.crop_keypoints import crop_keypoints
    from infantpose.schemas import COCO17

    size = (64, 64)
    codec = {"heatmap": HeatmapCodec(size, 4, 1.5, "dark"),
             "simcc": SimCCCodec(size, 2.0, sigma=2.0),
             "regression": RegressionCodec(size)}[kind]
    calls = []

    def run(crops):
        calls.append(len(crops))
        ys, xs = np.nonzero(crops[..., 0] > 0)[1:]
        xy = np.stack([xs + 0.5, ys + 0.5], -1)[:, None].repeat(17, 1)  # pixel centres
        if kind == "regression":
            return [np.concatenate([xy, np.full((len(crops), 17, 1), 0.9)], -1)]
        t, _ = codec.encode(xy)
        return list(t) if kind == "simcc" else [t.astype(np.float64)]

    crops = np.zeros((2, 64, 64, 3), np.uint8)
    crops[0, 28, 24] = crops[1, 36, 40] = 255  # away from the edges (whole Gaussians)
    plain = crop_keypoints(run, crops, codec, COCO17.flip_index)
    flipped = crop_keypoints(run, crops, codec, COCO17.flip_index, True, one_pass)
    np.testing.assert_allclose(plain[:, 0, :2], [[24.5, 28.5], [40.5, 36.5]], atol=0.3)
    np.testing.assert_allclose(flipped, plain, atol=1e-6)
    assert calls == [2, 4] if one_pass else calls == [2, 2, 2]
