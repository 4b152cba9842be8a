"""Forecasting models behind one interface (:class:`ForecastModel`).

- direction: :class:`LightGBMDirection` (P(up) from a LightGBM classifier);
- return: :class:`LightGBMReturn`, :class:`LinearReturn` (ridge / elastic net);
- volatility: :class:`GarchVolatility` (GARCH(1,1) / GJR-GARCH(1,1,1), Student-t),
  :class:`HarRvVolatility` (HAR-RV on intraday realised variance).

Heavy libraries (LightGBM, scikit-learn, arch) are imported when a model is fitted, so
importing this package stays cheap.
"""

from __future__ import annotations

from quantdesk.ml.models.base import (
    TASKS,
    DirectionForecaster,
    ForecastModel,
    Task,
    check_training,
)
from quantdesk.ml.models.garch import GarchKind, GarchVolatility
from quantdesk.ml.models.gbm import LightGBMDirection, LightGBMReturn, LightGBMSettings
from quantdesk.ml.models.har import HarRvVolatility, realized_variance
from quantdesk.ml.models.linear import LinearReturn

__all__ = [
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
