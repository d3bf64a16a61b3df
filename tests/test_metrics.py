import contextlib
import io
import json

import numpy as np
import pytest

from infantpose.datasets import LabeledDataset
from infantpose.evaluate import (MKS_LAMBDA, evaluate_predictions, load_predictions, oks,
                                 predictions_from_poses, standardized_length)
from infantpose.io.coco import write_coco
from infantpose.poses import Poses
from infantpose.schemas import COCO17, INFANT22

THRESHOLDS = np.linspace(0.5, 0.95, 10)


def _person(schema, offset=(0.0, 0.0), seed=0):
    rng = np.random.default_rng(seed)
    xy = np.round(rng.uniform(10, 110, (schema.num_keypoints, 2)), 2) + np.asarray(offset)
    return np.concatenate([xy, np.ones((schema.num_keypoints, 1))], axis=1)


def _gt(people, schema, box=None, names=None):
    """people: list (per image) of list of (K,3) arrays."""
    f, n = len(people), max(len(p) for p in people)
    data = np.full((f, n, schema.num_keypoints, 3), np.nan)
    data[..., 2] = 0
    vis = np.zeros((f, n, schema.num_keypoints), int)
    boxes = np.full((f, n, 4), np.nan)
    for i, ps in enumerate(people):
        for j, kp in enumerate(ps):
            data[i, j] = kp
            vis[i, j] = np.where(np.isnan(kp[:, 0]), 0, 2)
            xy = kp[~np.isnan(kp[:, 0]), :2]
            boxes[i, j] = box if box is not None else [*xy.min(0), *(xy.max(0) - xy.min(0))]
    names = names or [f"im{i}.png" for i in range(f)]
    return LabeledDataset(Poses(data, schema, frame_names=names, frame_size=(400, 300)),
                          vis, boxes, "/nonexistent", ["real"] * f)


def _preds(gt, data, scores=None):
    poses = Poses(data, gt.schema if data.shape[2] == gt.schema.num_keypoints else COCO17,
                  frame_names=gt.image_names)
    p = predictions_from_poses(poses, gt)
    if scores is not None:
        p.instance_scores = np.asarray(scores, float)
    return p


def test_perfect_prediction_scores_one():
    gt = _gt([[_person(COCO17)], [_person(COCO17, seed=1), _person(COCO17, (200, 100), 2)]],
             COCO17)
    r = evaluate_predictions(gt, _preds(gt, gt.poses.data.copy()))
    for key in ("AP", "AP50", "AP75", "AR", "PCKsh@0.02", "PCKsh@0.1", "mKS", "PCK@0.05bbox"):
        assert r.metrics[key] == pytest.approx(1.0), key
    assert r.counts["matched_people"] == 3
    assert len(r.scored) == 17


def test_known_shift_gives_hand_computed_oks_and_ap(tmp_path):
    kp = _person(COCO17)
    gt = _gt([[kp]], COCO17, box=[0, 0, 100, 100])  # area 10000
    shift = 4.0
    pred = gt.poses.data.copy()
    pred[..., 0] += shift
    sig = COCO17.sigma_array
    expected = np.mean(np.exp(-shift ** 2 / ((2 * sig) ** 2) / 10000 / 2))
    got = oks(gt.poses.xy[0, 0], np.ones(17, bool), pred[0, 0, :, :2], 10000, sig)
    assert got == pytest.approx(expected, abs=1e-12)
    r = evaluate_predictions(gt, _preds(gt, pred))
    assert r.metrics["AP"] == pytest.approx(np.mean(expected >= THRESHOLDS - 1e-12))
    assert 0 < r.metrics["AP"] < 1

    # the same case run through pycocotools directly from files
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    gt_file = write_coco(gt, tmp_path / "gt.json")
    res = [{"image_id": 1, "category_id": 1, "score": 1.0,
            "keypoints": pred[0, 0].ravel().tolist()}]
    (tmp_path / "res.json").write_text(json.dumps(res))
    with contextlib.redirect_stdout(io.StringIO()):
        cg = COCO(str(gt_file))
        cd = cg.loadRes(str(tmp_path / "res.json"))
        ev = COCOeval(cg, cd, "keypoints")
        ev.params.kpt_oks_sigmas = sig
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    assert ev.ious[(1, 1)][0, 0] == pytest.approx(expected, abs=1e-9)
    assert r.metrics["AP"] == pytest.approx(ev.stats[0])
    assert r.metrics["AR"] == pytest.approx(ev.stats[5])


def _infant(vertex=True):
    kp = np.zeros((22, 3))
    kp[:, 2] = 1
    kp[:, :2] = np.arange(44).reshape(22, 2) + 50  # filler positions
    s = INFANT22
    kp[s.index("left_shoulder"), :2] = (0, 0)
    kp[s.index("right_shoulder"), :2] = (30, 0)
    kp[s.index("vertex"), :2] = (15, -40)
    kp[s.index("left_eye"), :2] = (10, -16)
    kp[s.index("right_eye"), :2] = (20, -16)
    kp[s.index("left_hip"), :2] = (5, 80)
    kp[s.index("right_hip"), :2] = (25, 80)
    if not vertex:
        kp[s.index("vertex")] = (np.nan, np.nan, 0)
    return kp


def test_standardized_length_and_head_fallback():
    s_v = standardized_length(_infant()[None, :, :2], np.ones((1, 22), bool), INFANT22)
    assert s_v[0] == pytest.approx(np.sqrt(30 * 120))
    kp = _infant(vertex=False)
    s_e = standardized_length(kp[None, :, :2], ~np.isnan(kp[None, :, 0]), INFANT22)
    assert s_e[0] == pytest.approx(np.sqrt(30 * 96))  # eye midpoint (15, -16) to (15, 80)


def test_pcksh_and_mks_hand_computed():
    gt = _gt([[_infant()]], INFANT22)
    pred = gt.poses.data.copy()
    errs = np.zeros(22)
    errs[[0, 3, 8, 12, 16, 21]] = [1.0, 2.0, 3.0, 4.0, 5.0, 7.0]
    pred[0, 0, :, 1] += errs
    r = evaluate_predictions(gt, _preds(gt, pred))
    S = 60.0  # sqrt(30 * 120)
    for beta in (0.02, 0.04, 0.06, 0.08, 0.1):
        assert r.metrics[f"PCKsh@{beta:g}"] == pytest.approx(np.mean(errs < beta * S))
    assert [r.metrics[f"PCKsh@{b:g}"] * 22 for b in (0.02, 0.04, 0.06, 0.08, 0.1)] == \
        pytest.approx([17, 18, 19, 20, 21])
    expected_mks = np.mean(np.exp(-errs ** 2 / (2 * S ** 2 * MKS_LAMBDA)))
    assert r.metrics["mKS"] == pytest.approx(expected_mks)
    assert r.per_keypoint.set_index("keypoint").loc["left_sole", "PCKsh@0.1"] == 0.0
    regions = r.per_region.set_index("region")
    assert regions.loc["sole", "PCKsh@0.1"] == pytest.approx(0.5)


def test_matching_multiple_people_and_misses():
    a, b = _person(COCO17), _person(COCO17, (250, 150), 3)
    gt = _gt([[a, b]], COCO17)
    pred = np.stack([b, a])[None]  # predictions in the other order
    r = evaluate_predictions(gt, _preds(gt, pred, scores=[[0.9, 0.8]]))
    assert r.metrics["PCK@0.05bbox"] == 1.0 and r.counts["matched_people"] == 2
    r1 = evaluate_predictions(gt, _preds(gt, pred[:, :1]))  # only person b predicted
    assert r1.metrics["PCK@0.05bbox"] == pytest.approx(0.5)
    assert r1.metrics["AR"] == pytest.approx(0.5)


def test_coco17_model_on_infant22_labels_scores_shared_keypoints(tmp_path):
    gt = _gt([[_infant()]], INFANT22)
    pred = gt.poses.convert("coco17")
    results = [{"file_name": "im0.png", "image_id": 7, "category_id": 1, "schema": "coco17",
                "score": 0.9, "bbox": [0, 0, 1, 1],
                "keypoints": np.nan_to_num(pred.data[0, 0]).ravel().tolist()}]
    (tmp_path / "predictions.json").write_text(json.dumps(results))
    p = load_predictions(tmp_path / "predictions.json", gt)
    assert p.schema.name == "coco17"
    r = evaluate_predictions(gt, p)
    assert len(r.scored) == 15 and "vertex" not in r.scored and "left_palm" in r.not_scored
    assert r.metrics["PCKsh@0.02"] == 1.0 and r.metrics["AP"] == pytest.approx(1.0)


def test_keypoints_never_predicted_are_not_scored():
    gt = _gt([[_infant()]], INFANT22)
    pred = gt.poses.data.copy()
    pred[..., INFANT22.index("vertex"), :] = (np.nan, np.nan, 0)
    r = evaluate_predictions(gt, _preds(gt, pred))
    assert "vertex" not in r.scored and r.not_scored["vertex"] == "the model never predicted it"
    assert r.metrics["PCKsh@0.02"] == 1.0
