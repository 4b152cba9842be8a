"""The interface every forecaster and baseline shares, so evaluation treats them alike.

A model is fitted on a feature frame and its labels (rows = bars, index = bar times) and
predicts one value per feature row:

- ``"direction"``: :meth:`predict` gives +1.0 / -1.0 and ``predict_proba`` gives P(up)
  (:class:`DirectionForecaster`); labels are +1 / -1 (anything > 0 counts as up).
- ``"return"``: :meth:`predict` gives the forecast of the label (a forward log return).
- ``"volatility"``: :meth:`predict` gives the forecast of the label (forward realised
  variance over the horizon), always > 0.

Models that forecast from a series they hold (GARCH on returns, HAR on realised variance,
the EWMA baseline) use the frame's index to know the dates, and only data up to each date.
Every model is a plain picklable object (no open handles, no lambdas): the training service
stores fitted models as artifacts.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError

__all__ = [
    "TASKS",
    "DirectionForecaster",
    "ForecastModel",
    "Task",
    "check_training",
    "prediction_dates",
    "up_labels",
]

FloatArray = npt.NDArray[np.float64]
Task = Literal["direction", "return", "volatility"]
#: The forecasting tasks.
TASKS: tuple[Task, ...] = ("direction", "return", "volatility")


@runtime_checkable
class ForecastModel(Protocol):
    """A forecaster: ``fit`` on features and labels, ``predict`` one value per row."""

    @property
    def name(self) -> str:
        """Short identifier, e.g. ``"lightgbm_direction"``."""
        ...

    @property
    def task(self) -> Task:
        """The task the model forecasts."""
        ...

    @property
    def params(self) -> dict[str, Any]:
        """Hyper-parameters (and fitted parameters where small), JSON-compatible."""
        ...

    def fit(self, features: pd.DataFrame, labels: pd.Series[float]) -> ForecastModel:
        """Fit on rows of ``features`` with finite ``labels``; return ``self``."""
        ...

    def predict(self, features: pd.DataFrame) -> FloatArray:
        """Return one forecast per row of ``features``."""
        ...


@runtime_checkable
class DirectionForecaster(ForecastModel, Protocol):
    """A direction model that also gives P(up)."""

    def predict_proba(self, features: pd.DataFrame) -> FloatArray:
        """Return P(up) per row of ``features``, in [0, 1]."""
        ...


def check_training(
    features: pd.DataFrame, labels: pd.Series[float], name: str
) -> tuple[pd.DataFrame, FloatArray]:
    """Return the features and labels as fit inputs, or raise ``ValidationError``.

    Parameters
    ----------
    features
        Training features, one row per label.
    labels
        Training labels, same length and order; all finite.
    name
        The model's name, for messages.

    Returns
    -------
    tuple[pandas.DataFrame, numpy.ndarray]
        The features and the labels as float64.

    Raises
    ------
    ValidationError
        If the lengths differ, a label is not finite or there are no rows.
    """
    if len(features) != len(labels):
        raise ValidationError(
            f"{name}: features and labels differ in length",
            [Issue("labels", f"{len(labels)} labels for {len(features)} feature rows")],
        )
    if len(features) == 0:
        raise ValidationError(f"{name}: nothing to fit", [Issue("features", "has no rows")])
    values = np.asarray(labels, dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        row = int(np.argmax(bad))
        raise ValidationError(
            f"{name}: labels must be finite",
            [Issue("labels", f"value {values[row]} at row {row}; drop unlabelled rows", row=row)],
        )
    return features, values


def up_labels(labels: FloatArray) -> npt.NDArray[np.int64]:
    """Return 1 where a direction label is up (> 0), else 0."""
    return (labels > 0).astype(np.int64)


def prediction_dates(
    features: pd.DataFrame, series: pd.Series[float], name: str
) -> npt.NDArray[np.int64]:
    """Return the positions in ``series`` of the dates of ``features``' rows.

    Raises
    ------
    ValidationError
        If a row's date is not in ``series`` (the issue names the first such date).
    """
    positions = series.index.get_indexer(features.index)
    missing = positions < 0
    if missing.any():
        row = int(np.argmax(missing))
        raise ValidationError(
            f"{name}: no data for a feature date",
            [
                Issue(
                    "features",
                    f"date {features.index[row]} is not in the model's series; build the "
                    "model on the same bars as the features",
                    row=row,
                )
            ],
        )
    return positions.astype(np.int64)
