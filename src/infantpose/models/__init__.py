"""Pose estimators behind one interface (see :mod:`infantpose.models.base`).

The built-in estimators are listed in :mod:`infantpose.models.catalogue`; registering them costs
nothing at import time: a model's module is imported only when ``create_estimator`` builds it.
"""

from infantpose.models.base import (Estimator, EstimatorInfo, PluginEstimator, create_estimator,
                                    list_estimators, register_estimator)

__all__ = ["Estimator", "EstimatorInfo", "PluginEstimator", "create_estimator",
           "list_estimators", "register_estimator"]
