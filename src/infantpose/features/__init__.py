"""Movement features from keypoint trajectories, and risk models on them (issue 15, seed ``000_``).

:mod:`.normalise` (per-frame body coordinates), :mod:`.qc` (time grid, gaps, quality numbers),
:mod:`.kinematics` (limb-end position, velocity, acceleration, entropy), :mod:`.angles` (joint
angles, circular statistics, left-right correlation) and :mod:`.table` (one row per recording or
window). The risk models live in :mod:`infantpose.risk`.
"""

from infantpose.features.table import (BODY_KEYPOINTS, FeatureConfig, feature_rows,
                                       features_table, summarise)

__all__ = ["BODY_KEYPOINTS", "FeatureConfig", "feature_rows", "features_table", "summarise"]
