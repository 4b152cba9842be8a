"""Machine learning: point-in-time features, labels, purged splits, models and evaluation.

The pure core the training service builds on:

- :func:`build_features` (:mod:`~quantdesk.ml.features`): features of daily bars, each
  value at t computed from data up to t;
- labels (:mod:`~quantdesk.ml.labels`): forward return, direction with a dead zone, forward
  realised variance over h bars (NaN for the last h bars);
- :func:`walk_forward_splits` / :func:`purged_kfold_splits` (:mod:`~quantdesk.ml.splits`):
  folds with purging and embargo;
- models (:mod:`~quantdesk.ml.models`) and naive baselines (:mod:`~quantdesk.ml.baselines`)
  behind one fit/predict interface;
- metrics (:mod:`~quantdesk.ml.metrics`) and :func:`walk_forward_evaluate`
  (:mod:`~quantdesk.ml.evaluation`): the out-of-sample track record of a model next to its
  baselines.
"""

from __future__ import annotations

from quantdesk.ml.baselines import (
    AlwaysUp,
    EwmaVolatility,
    HistoricalMean,
    LastReturnSign,
    MajorityClass,
    RollingVolatility,
    ZeroReturn,
    default_baselines,
    ewma_variance,
)
from quantdesk.ml.evaluation import (
    PRIMARY_METRICS,
    DataGap,
    EvaluationReport,
    FoldResult,
    detect_gaps,
    walk_forward_evaluate,
)
from quantdesk.ml.features import (
    DEFAULT_INDICATORS,
    FeatureSet,
    FeatureSpec,
    IndicatorFeature,
    build_features,
    read_bars,
)
from quantdesk.ml.labels import (
    forward_direction,
    forward_realized_variance,
    forward_return,
    forward_sum,
    forward_volatility,
    make_labels,
)
from quantdesk.ml.models import (
    DirectionForecaster,
    ForecastModel,
    GarchVolatility,
    HarRvVolatility,
    LightGBMDirection,
    LightGBMReturn,
    LightGBMSettings,
    LinearReturn,
    Task,
    realized_variance,
)
from quantdesk.ml.splits import Fold, purged_kfold_splits, walk_forward_splits

__all__ = [
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
