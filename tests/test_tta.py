"""Test-time augmentation written once: the quarter-turn search and the mirror test."""

from __future__ import annotations

import numpy as np
import pytest

from infantpose.models import tta
from infantpose.schemas import COCO17


def test_turn_order_puts_the_hint_first():
    assert tta.turn_order(None) == [0, 90, 180, 270]
    assert tta.turn_order(180) == [180, 0, 90, 270]
    assert tta.turn_order(90, (0, 90, 270, 180)) == [90, 0, 270, 180]
    assert tta.turn_order(0, ()) == [0]


def test_search_keeps_the_best_and_stops_when_good():
    scores = {0: 0.1, 90: 0.5, 180: 0.9, 270: 0.95}
    tried = []

    def attempt(turn):
        tried.append(turn)
        return scores[turn]

    found = tta.search_turns(attempt, [0, 90, 180, 270], float)
    assert (found.best, found.turn, found.tries, found.stopped) == (0.95, 270, 4, False)
    tried.clear()
    found = tta.search_turns(attempt, [0, 90, 180, 270], float, good=lambda s: s >= 0.8)
    assert tried == [0, 90, 180] and found.turn == 180 and found.stopped
    # not greedy: a good first turn ends the search, else every other turn is tried
    tried.clear()
    found = tta.search_turns(attempt, [0, 90, 180, 270], float, good=lambda s: s >= 0.8,
                             greedy=False)
    assert tried == [0, 90, 180, 270] and found.turn == 270 and not found.stopped
    found = tta.search_turns(attempt, [180, 0], float, good=lambda s: s >= 0.8, greedy=False)
    assert found.tries == 1 and found.stopped


def test_search_skips_nothing_found_and_keeps_the_first_of_ties():
    found = tta.search_turns(lambda t: None if t < 180 else 1.0, [0, 90, 180, 270], float)
    assert found.turn == 180 and found.tries == 4
    nothing = tta.search_turns(lambda t: None, [0, 90], float, good=lambda s: True)
    assert nothing.best is None and nothing.turn is None and nothing.tries == 2


def test_most_confident_counts_missing_scores_as_zero():
    k = np.zeros((3, 4, 3))
    k[0, :, 2] = 0.5
    k[1, :, 2] = [1.0, 1.0, np.nan, np.nan]  # mean 0.5 with NaN as 0: not above row 0
    k[2, :, 2] = 0.6
    assert tta.most_confident(k) == 2
    assert tta.most_confident(k[:2]) == 0


def test_mirror_back_undoes_a_left_right_mirror():
    rng = np.random.default_rng(0)
    w = 64
    kp = np.concatenate([rng.uniform(0, w, (17, 2)), rng.uniform(0, 1, (17, 1))], 1)
    fi = COCO17.flip_index
    # what a perfect model predicts on the mirror image: x mirrored, left and right swapped
    on_mirror = kp[fi].copy()
    on_mirror[:, 0] = w - on_mirror[:, 0]
    np.testing.assert_allclose(tta.mirror_back(on_mirror, w, fi), kp)
    batch = np.stack([on_mirror, on_mirror]).astype(np.float32)
    back = tta.mirror_back(batch, w, fi)
    assert back.dtype == np.float32 and back.shape == (2, 17, 3)
    np.testing.assert_allclose(back[1], kp, atol=1e-4)


def test_average_flipped_maps():
    rng = np.random.default_rng(1)
    fi = COCO17.flip_index
    hm = rng.random((2, 17, 8, 6))
    # the mirrored crop's maps of a perfectly mirror-symmetric model
    flipped = hm[:, fi, :, ::-1]
    np.testing.assert_allclose(tta.average_flipped(hm, flipped, fi), hm)
    sy = rng.random((2, 17, 10))
    np.testing.assert_allclose(tta.average_flipped(sy, sy[:, fi], fi, axis=None), sy)
    other = rng.random((2, 17, 8, 6))
    np.testing.assert_allclose(tta.average_flipped(hm, other, fi),
                               (hm + other[:, fi, :, ::-1]) / 2)


def test_combine_views_averages_agreeing_views_and_keeps_the_surer_one_otherwise():
    a = np.array([[10.0, 10.0, 0.8], [50.0, 50.0, 0.6]])
    b = a + [[1.0, 0.0, 0.1], [-1.0, 0.0, 0.1]]
    out, which = tta.combine_views(a, b)
    assert which == "both"
    np.testing.assert_allclose(out, (a + b) / 2)
    far = a.copy()
    far[:, 0] += 40.0
    far[:, 2] = 0.95
    out, which = tta.combine_views(a, far)
    assert which == "mirrored" and np.array_equal(out, far)
    none = np.full_like(a, np.nan)
    assert tta.combine_views(a, none)[1] == "original"
    assert tta.combine_views(none, none)[1] is None


@pytest.mark.parametrize("module", ["infantpose.models.blazepose"])
def test_the_mirror_rule_is_the_one_in_tta(module):
    import importlib

    m = importlib.import_module(module)
    assert m.combine_views is tta.combine_views and m.MIRROR_TOL == tta.MIRROR_TOL
