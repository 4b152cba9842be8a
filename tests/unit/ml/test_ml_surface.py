"""The public surface of ``quantdesk.ml`` and ``quantdesk.ml.models``."""

from __future__ import annotations

import pickle

import quantdesk.ml as ml
import quantdesk.ml.models as models

EXPECTED_ML = [
    "DEFAULT_INDICATORS",
    "PRIMARY_METRICS",
    "AlwaysUp",
    "DataGap",
    "DirectionForecaster",
    "EvaluationReport",
    "EwmaVolatility",
    "FeatureSet",
    "FeatureSpec",
    "Fold",
    "FoldResult",
    "ForecastModel",
    "GarchVolatility",
    "HarRvVolatility",
    "HistoricalMean",
    "IndicatorFeature",
    "LastReturnSign",
    "LightGBMDirection",
    "LightGBMReturn",
    "LightGBMSettings",
    "LinearReturn",
    "MajorityClass",
    "RollingVolatility",
    "Task",
    "ZeroReturn",
    "build_features",
    "default_baselines",
    "detect_gaps",
    "ewma_variance",
    "forward_direction",
    "forward_realized_variance",
    "forward_return",
    "forward_sum",
    "forward_volatility",
    "make_labels",
    "purged_kfold_splits",
    "read_bars",
    "realized_variance",
    "walk_forward_evaluate",
    "walk_forward_splits",
]

EXPECTED_MODELS = [
    "TASKS",
    "DirectionForecaster",
    "ForecastModel",
    "GarchKind",
    "GarchVolatility",
    "HarRvVolatility",
    "LightGBMDirection",
    "LightGBMReturn",
    "LightGBMSettings",
    "LinearReturn",
    "Task",
    "check_training",
    "realized_variance",
]


def test_public_surface_is_pinned() -> None:
    assert ml.__all__ == EXPECTED_ML
    assert models.__all__ == EXPECTED_MODELS
    for name in ml.__all__:
        assert getattr(ml, name) is not None
    for name in models.__all__:
        assert getattr(models, name) is not None


def test_every_model_and_baseline_satisfies_the_interface() -> None:
    import numpy as np
    import pandas as pd

    returns = pd.Series(np.zeros(10), index=pd.bdate_range("2020-01-01", periods=10))
    rv = returns + 1e-4
    instances = [
        ml.LightGBMDirection(),
        ml.LightGBMReturn(),
        ml.LinearReturn(),
        ml.GarchVolatility(returns, 1),
        ml.HarRvVolatility(rv, 1),
        ml.AlwaysUp(),
        ml.MajorityClass(),
        ml.LastReturnSign(),
        ml.ZeroReturn(),
        ml.HistoricalMean(),
        ml.EwmaVolatility(returns, 1),
        ml.RollingVolatility(returns, 1),
    ]
    for instance in instances:
        assert isinstance(instance, ml.ForecastModel), instance
        assert pickle.loads(pickle.dumps(instance)).params == instance.params
        assert instance.task in models.TASKS
        if instance.task == "direction":
            assert isinstance(instance, ml.DirectionForecaster)
