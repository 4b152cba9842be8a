"""Covariance and correlation estimators for a panel of returns (rows = periods).

Each estimator takes simple returns as a 2-D numpy array or a DataFrame (a 1-D input is one
series) and returns the matrix in the same kind: a DataFrame labelled by the columns, or an
ndarray. Every period must be observed for every series: a NaN or infinite value raises
:class:`~quantdesk.core.errors.ValidationError` naming the column and row (align or drop the
rows first), and so does a panel with fewer than two periods.

Estimators
----------
- :func:`sample_covariance`: the unbiased sample covariance (ddof=1), as ``DataFrame.cov``.
- :func:`ewma_covariance`: RiskMetrics (J.P. Morgan, 1996) exponentially weighted
  covariance, ``S_t = decay * S_(t-1) + (1 - decay) * r_t r_t'`` with zero mean by default.
  Initialisation: the recursion starts from zero and the result is divided by the weight mass
  ``1 - decay**n``, i.e. weights ``(1 - decay) * decay**(n - 1 - t) / (1 - decay**n)`` that sum
  to one. Nothing depends on an arbitrary seed window, and once ``decay**n`` is negligible
  (about 300 daily periods at 0.94) this equals the recursion started from any value.
  ``demean=True`` subtracts each series' sample mean first.
- :func:`ledoit_wolf`: Ledoit-Wolf (2004) shrinkage towards a scaled identity, by
  ``sklearn.covariance.ledoit_wolf``; like scikit-learn it centres the data and shrinks the
  maximum-likelihood covariance (divided by n, not n - 1).
- :func:`correlation_from_covariance`: ``D^-1 S D^-1`` with ``D = sqrt(diag(S))``, diagonal
  exactly 1.

``annualize=True`` multiplies a covariance by ``periods_per_year`` (252 for daily returns).
"""

from __future__ import annotations

import math
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd

from quantdesk.core.errors import Issue, ValidationError

FloatArray = npt.NDArray[np.float64]
#: A returns panel: periods along axis 0, one column per series.
Panel: TypeAlias = "pd.DataFrame | pd.Series[Any] | npt.ArrayLike"
#: A covariance or correlation matrix, in the input's kind.
Matrix: TypeAlias = "pd.DataFrame | FloatArray"


def _panel(returns: Panel, minimum: int = 2) -> tuple[FloatArray, pd.Index | None]:
    labels: pd.Index | None = None
    rows: pd.Index | None = None
    if isinstance(returns, pd.Series):
        returns = returns.to_frame()
    if isinstance(returns, pd.DataFrame):
        labels, rows, values = returns.columns, returns.index, returns.to_numpy(np.float64)
    else:
        try:
            values = np.asarray(returns, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValidationError(
                "returns must be numeric", [Issue("returns", f"cannot read as numbers: {error}")]
            ) from None
        if values.ndim == 1:
            values = values[:, None]
    if values.ndim != 2 or values.shape[1] == 0:
        raise ValidationError(
            "returns must be a 2-D panel",
            [Issue("returns", f"got shape {values.shape}; pass periods x series")],
        )
    if values.shape[0] < minimum:
        raise ValidationError(
            "too few observations",
            [Issue("returns", f"has {values.shape[0]} period(s), needs at least {minimum}")],
        )
    bad = ~np.isfinite(values)
    if bad.any():
        issues = []
        for j in np.flatnonzero(bad.any(axis=0)):
            row = int(np.argmax(bad[:, j]))
            where = rows[row] if rows is not None else row
            column = str(labels[int(j)]) if labels is not None else str(j)
            issues.append(
                Issue(
                    "returns",
                    f"value at {where!s} is {values[row, j]}; covariance needs "
                    "every period observed: drop or fill the row",
                    field=column,
                    row=row,
                )
            )
        raise ValidationError("returns contain missing or infinite values", issues)
    return values, labels


def _periods(periods_per_year: float) -> float:
    if not (math.isfinite(periods_per_year) and periods_per_year > 0):
        raise ValidationError(
            "periods_per_year must be positive",
            [Issue("periods_per_year", f"got {periods_per_year}; e.g. 252 for daily data")],
        )
    return float(periods_per_year)


def _sklearn_ledoit_wolf(values: FloatArray) -> tuple[FloatArray, float]:
    # Imported on use: scikit-learn takes about a second to import.
    from sklearn.covariance import ledoit_wolf as estimate

    matrix, shrinkage = estimate(values)
    return np.asarray(matrix, dtype=np.float64), float(shrinkage)


def _wrap(matrix: FloatArray, labels: pd.Index | None) -> Matrix:
    if labels is None:
        return matrix
    return pd.DataFrame(matrix, index=labels, columns=labels)


def sample_covariance(
    returns: Panel, *, annualize: bool = False, periods_per_year: float = 252
) -> Matrix:
    """Return the sample covariance matrix (ddof=1) of the columns of ``returns``.

    Parameters
    ----------
    returns
        Simple returns, periods x series (DataFrame or 2-D array); no missing values.
    annualize
        Multiply by ``periods_per_year``.
    periods_per_year
        Periods in a year (252 daily).

    Returns
    -------
    Matrix
        A DataFrame labelled by the columns, or an ndarray for array input.

    Raises
    ------
    ValidationError
        If there are fewer than 2 periods or a value is NaN or infinite.
    """
    scale = _periods(periods_per_year) if annualize else 1.0
    values, labels = _panel(returns)
    centred = values - values.mean(axis=0)
    matrix = centred.T @ centred / (values.shape[0] - 1)
    return _wrap(matrix * scale, labels)


def ewma_covariance(
    returns: Panel,
    *,
    decay: float = 0.94,
    demean: bool = False,
    annualize: bool = False,
    periods_per_year: float = 252,
) -> Matrix:
    """Return the RiskMetrics exponentially weighted covariance at the last period.

    Parameters
    ----------
    returns
        Simple returns, periods x series, oldest first; no missing values.
    decay
        RiskMetrics' lambda in (0, 1): the weight of each older period relative to the next
        (0.94 daily, 0.97 monthly in RiskMetrics).
    demean
        Subtract each series' sample mean first (RiskMetrics assumes a zero mean).
    annualize, periods_per_year
        As in :func:`sample_covariance`.

    Returns
    -------
    Matrix
        Weighted ``sum(w_t r_t r_t')`` with weights ``(1 - decay) decay**(n-1-t)``
        normalised to sum to one (see the module docstring for the initialisation).

    Raises
    ------
    ValidationError
        If ``decay`` is outside (0, 1), there are fewer than 2 periods or a value is missing.
    """
    if not (math.isfinite(decay) and 0.0 < decay < 1.0):
        raise ValidationError(
            "decay must lie strictly between 0 and 1",
            [Issue("decay", f"got {decay}; RiskMetrics uses 0.94 for daily data")],
        )
    scale = _periods(periods_per_year) if annualize else 1.0
    values, labels = _panel(returns)
    if demean:
        values = values - values.mean(axis=0)
    n = values.shape[0]
    # Weights from the newest period backwards, computed in logs so long panels cannot
    # underflow into a zero weight mass.
    powers = np.exp(np.arange(n - 1, -1, -1, dtype=np.float64) * math.log(decay))
    weights = powers * ((1.0 - decay) / -math.expm1(n * math.log(decay)))
    matrix = (values * weights[:, None]).T @ values
    return _wrap(matrix * scale, labels)


def ledoit_wolf(
    returns: Panel, *, annualize: bool = False, periods_per_year: float = 252
) -> Matrix:
    """Return the Ledoit-Wolf shrunk covariance (``sklearn.covariance.ledoit_wolf``).

    Shrinks the maximum-likelihood covariance of the centred returns towards
    ``mean(variances) * I`` by the Ledoit-Wolf (2004) optimal intensity (see
    :func:`ledoit_wolf_shrinkage`). Parameters, returns and errors as in
    :func:`sample_covariance`.
    """
    scale = _periods(periods_per_year) if annualize else 1.0
    values, labels = _panel(returns)
    matrix, _ = _sklearn_ledoit_wolf(values)
    return _wrap(matrix * scale, labels)


def ledoit_wolf_shrinkage(returns: Panel) -> float:
    """Return the Ledoit-Wolf shrinkage intensity in [0, 1] that :func:`ledoit_wolf` uses.

    Raises
    ------
    ValidationError
        If there are fewer than 2 periods or a value is NaN or infinite.
    """
    values, _ = _panel(returns)
    return _sklearn_ledoit_wolf(values)[1]


def correlation_from_covariance(covariance: pd.DataFrame | npt.ArrayLike) -> Matrix:
    """Return the correlation matrix ``D^-1 S D^-1`` of a covariance matrix ``S``.

    Parameters
    ----------
    covariance
        A square, symmetric covariance matrix (DataFrame or array) with positive diagonal.

    Returns
    -------
    Matrix
        Same kind and labels as the input; the diagonal is exactly 1.

    Raises
    ------
    ValidationError
        If the matrix is not square or symmetric, or a variance is not positive and finite.
    """
    labels = covariance.columns if isinstance(covariance, pd.DataFrame) else None
    matrix = np.asarray(covariance, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.size == 0:
        raise ValidationError(
            "covariance must be a square matrix",
            [Issue("covariance", f"got shape {matrix.shape}")],
        )
    if not np.isfinite(matrix).all() or not np.allclose(matrix, matrix.T, rtol=1e-10, atol=0):
        raise ValidationError(
            "covariance must be finite and symmetric",
            [Issue("covariance", "pass a covariance matrix, e.g. from sample_covariance")],
        )
    variances = np.diag(matrix)
    if (variances <= 0).any():
        names = labels if labels is not None else range(matrix.shape[0])
        issues = [
            Issue(
                "covariance",
                f"variance {v} is not positive; a constant series has no correlation",
                field=str(name),
            )
            for name, v in zip(names, variances, strict=True)
            if v <= 0
        ]
        raise ValidationError("covariance has a non-positive variance", issues)
    inverse = 1.0 / np.sqrt(variances)
    correlation = matrix * inverse[:, None] * inverse[None, :]
    np.fill_diagonal(correlation, 1.0)
    return _wrap(correlation, labels)
