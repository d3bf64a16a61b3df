"""Evaluation with the field's metrics: COCO OKS AP/AR, PCKsh, mKS, bbox PCK, per keypoint/region.

Typical use::

    from infantpose.io.labels import read_labels
    from infantpose.evaluate import load_predictions, evaluate_predictions
    gt = read_labels("labels.json")
    result = evaluate_predictions(gt, load_predictions("predictions.json", gt), name="blazepose")
    print(result.metrics["AP"], result.metrics["PCKsh@0.1"], result.scored)
"""

from infantpose.evaluate.core import EvalResult, evaluate_predictions, scored_keypoints
from infantpose.evaluate.metrics import (BBOX_ALPHAS, MKS_LAMBDA, PCKSH_BETAS, match_instances,
                                         mks, oks, pck, standardized_length)
from infantpose.evaluate.predictions import Predictions, load_predictions, predictions_from_poses

__all__ = ["EvalResult", "evaluate_predictions", "scored_keypoints", "Predictions",
           "load_predictions", "predictions_from_poses", "oks", "match_instances", "pck", "mks",
           "standardized_length", "MKS_LAMBDA", "PCKSH_BETAS", "BBOX_ALPHAS"]
